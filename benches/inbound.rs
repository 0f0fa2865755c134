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
//! - `bare_rusqlite`: the floor the Router path is compared with: one `BEGIN IMMEDIATE`
//!   transaction on the engine's own connection (same tables, same indexes, same database size)
//!   that inserts the same message row (same columns, delivery and routing-trace JSON) and the
//!   same `message.received` audit row (per-org `MAX(seq) + 1`), with prepared statements.
//!   No HTTP, no form parsing, no normalisation, no routing lookups.
//!
//! No webhook secret is configured, so no signature is computed or checked.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::BodyExt;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
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

/// The bare floor: the message row and the audit row in one immediate transaction.
fn bare_insert(
    conn: &Connection,
    org: i64,
    thread: i64,
    number: i64,
    route: &(String, String),
    sid: &str,
) {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).unwrap();
    let (from, to) = route;
    let routed_to = "sitter:sit_1";
    tx.prepare_cached(
        "INSERT INTO messages (org_id, thread_id, direction, actor, from_e164, to_e164, body, at, provider_sid, routed_to, delivery, metadata)
         VALUES (?1, ?2, 'inbound', 'provider', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .unwrap()
    .execute(params![
        org,
        thread,
        from,
        to,
        "Rex had a great walk, thanks!",
        support::T0.0,
        sid,
        routed_to,
        json!({"status": "received", "provider": null}).to_string(),
        json!({"routing": {"trace": ["to is pool number", "thread matched", "sitter can read"]}}).to_string()
    ])
    .unwrap();
    let message = tx.last_insert_rowid();
    let seq: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events WHERE org_id = ?1")
        .unwrap()
        .query_row([org], |r| r.get(0))
        .unwrap();
    let payload = json!({
        "messageId": format!("msg_{message}"),
        "threadId": format!("thr_{thread}"),
        "numberId": format!("num_{number}"),
        "routedTo": routed_to,
    });
    tx.prepare_cached(
        "INSERT INTO audit_events (org_id, seq, at, type, actor, thread_id, number_id, message_id, payload)
         VALUES (?1, ?2, ?3, 'message.received', 'provider', ?4, ?5, ?6, ?7)",
    )
    .unwrap()
    .execute(params![org, seq, support::T0.0, thread, number, message, payload.to_string()])
    .unwrap();
    tx.commit().unwrap();
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
    let mut bare = 0usize;
    group.bench_function("bare_rusqlite", |b| {
        b.iter(|| {
            bare += 1;
            let i = bare * 7_919 % THREADS;
            // Thread i is bound to the number its route names (support: thread ids from 1).
            let number = world.open_routes[i].1[5..].parse::<i64>().unwrap() + 1;
            world.engine.inspect(|conn| {
                bare_insert(
                    conn,
                    world.org.rowid(),
                    i as i64 + 1,
                    number,
                    &world.open_routes[i],
                    &format!("SMbare{bare}"),
                )
            })
        })
    });
    group.finish();
}

/// The fixed cost of one empty write transaction on the engine's connection (the same 100k
/// world), two ways: rusqlite's `Transaction` (its `BEGIN IMMEDIATE` and `COMMIT` go through
/// `execute_batch`, parsed on every call) and statements from the connection's prepared
/// statement cache. Issue 12 point 2: whether `Engine::write`/`read` should hand out a guard
/// over `&Connection` with cached statements instead of `&Transaction`.
fn transaction_overhead(c: &mut Criterion) {
    let world = world();
    let mut group = c.benchmark_group("transaction/empty_write");
    group.bench_function("parsed_each_time", |b| {
        b.iter(|| {
            world.engine.inspect(|conn| {
                let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).unwrap();
                tx.commit().unwrap();
            })
        })
    });
    group.bench_function("cached_statements", |b| {
        b.iter(|| {
            world.engine.inspect(|conn| {
                conn.prepare_cached("BEGIN IMMEDIATE")
                    .unwrap()
                    .execute([])
                    .unwrap();
                conn.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench, transaction_overhead
}
criterion_main!(benches);
