//! Inbound webhooks per second through the real axum Router (`api::router` + tower `oneshot`,
//! tokio current-thread runtime) against a world of 100,000 open threads (10,000 clients with 10
//! open threads each on 10,000 pool numbers, each client's booking in an active window with a
//! sitter, so every message routes to the sitter).
//!
//! - `fresh`: a new `MessageSid` each request, to a different thread each time: the full path
//!   (number lookup, idempotency lookup, thread match, active window, message row,
//!   `last_message_at` + release deadline refresh, audit event).
//! - `repeated`: a `MessageSid` already received (the idempotency path: nothing stored).
//!
//! No webhook secret is configured, so no signature is computed or checked.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::BodyExt;
use serde_json::json;
use switchboard_core::Engine;
use switchboard_core::api::router;
use tower::ServiceExt;

use support::{Spec, World};

const THREADS: usize = 100_000;
const REPEATED: usize = 1_000;

fn world() -> World {
    support::build(Spec {
        numbers: 10_000,
        threads: THREADS,
        clients: 10_000,
        open_every: 1,
        due: false,
        active_windows: true,
        settings: json!({ "maxConcurrentThreadsPerPoolNumber": 128 }),
    })
}

fn form(from: &str, to: &str, sid: &str) -> String {
    form_urlencoded_body(&[
        ("From", from),
        ("To", to),
        ("Body", "Rex had a great walk, thanks!"),
        ("MessageSid", sid),
    ])
}

fn form_urlencoded_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B").replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&")
}

/// POSTs one webhook through the router and returns the response body.
async fn post(app: &axum::Router, body: String) -> (StatusCode, axum::body::Bytes) {
    let request = Request::builder()
        .method("POST")
        .uri("/api/messages/webhook")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes)
}

fn bench(c: &mut Criterion) {
    let world = world();
    let engine: Arc<Engine> = world.engine.clone();
    let app = router(engine);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Check one delivery end to end, then receive the SIDs the `repeated` case will resend.
    let (from, to) = &world.open_routes[0];
    let (status, body) = rt.block_on(post(&app, form(from, to, "SMcheck")));
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let outcome: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        outcome.to_string().contains("sitter:"),
        "not routed to the sitter: {outcome}"
    );
    let repeated: Vec<String> = (0..REPEATED)
        .map(|i| {
            let (from, to) = &world.open_routes[i * 97 % THREADS];
            let body = form(from, to, &format!("SMrepeat{i}"));
            let (status, _) = rt.block_on(post(&app, body.clone()));
            assert_eq!(status, StatusCode::OK);
            body
        })
        .collect();

    let mut group = c.benchmark_group("inbound/100k_open_threads");
    group.throughput(Throughput::Elements(1));
    let mut sent = 0usize;
    group.bench_function("fresh", |b| {
        b.iter(|| {
            sent += 1;
            // Walk the threads in a scattered order.
            let (from, to) = &world.open_routes[sent * 7_919 % THREADS];
            let body = form(from, to, &format!("SMfresh{sent}"));
            let (status, bytes) = rt.block_on(post(&app, body));
            assert_eq!(status, StatusCode::OK);
            bytes
        })
    });
    let mut next = 0usize;
    group.bench_function("repeated", |b| {
        b.iter(|| {
            next = (next + 1) % REPEATED;
            let (status, bytes) = rt.block_on(post(&app, repeated[next].clone()));
            assert_eq!(status, StatusCode::OK);
            assert!(bytes.windows(16).any(|w| w == b"\"duplicate\":true"));
            bytes
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
