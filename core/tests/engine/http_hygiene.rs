//! The HTTP edge (issue 10 point 7): strict JSON bodies, JSON for every error, the Bearer scheme
//! in any case, tokens stored only as digests.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::Fixture;

/// Sends a raw request and returns (status, content type, body as JSON or `null`).
async fn raw(fx: &Fixture, request: Request<Body>) -> (u16, String, Value) {
    let response = fx.router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn authed(fx: &Fixture, method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", fx.owner))
}

/// `request` must give `status` with a JSON body whose `error` (or `errors`) mentions `needle`.
async fn check(fx: &Fixture, request: Request<Body>, status: u16, needle: &str) {
    let (got, content_type, body) = raw(fx, request).await;
    assert_eq!(got, status, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{status}: content type {content_type:?}"
    );
    assert!(
        body.to_string().contains(needle),
        "{status}: {body} lacks {needle:?}"
    );
}

#[tokio::test]
async fn bad_bodies_and_routes_get_json_errors_and_change_nothing() {
    let fx = Fixture::new(1, 1, json!({}));
    let before = fx.dump();
    let settings = "/api/settings/rotation";
    let json_post = |body: &str| {
        authed(&fx, "POST", settings)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    check(
        &fx,
        json_post(r#"{"minPoolReserve": 1, "minPoolReserve": 9}"#),
        400,
        "duplicate key `minPoolReserve`",
    )
    .await;
    check(
        &fx,
        json_post(r#"{"minPoolReserve": 1"#),
        400,
        "not valid JSON",
    )
    .await;
    let text = authed(&fx, "POST", settings)
        .header("content-type", "text/plain")
        .body(Body::from(r#"{"minPoolReserve": 1}"#))
        .unwrap();
    check(&fx, text, 415, "application/json").await;
    let untyped = authed(&fx, "POST", settings)
        .body(Body::from(r#"{"minPoolReserve": 1}"#))
        .unwrap();
    check(&fx, untyped, 415, "application/json").await;
    let huge = format!(r#"{{"x": "{}"}}"#, "a".repeat(3 * 1024 * 1024));
    check(&fx, json_post(&huge), 413, "error").await;
    let wrong_method = authed(&fx, "DELETE", settings).body(Body::empty()).unwrap();
    check(&fx, wrong_method, 405, "Method Not Allowed").await;
    let bad_query = authed(&fx, "GET", "/api/audit?after=soon")
        .body(Body::empty())
        .unwrap();
    check(&fx, bad_query, 400, "after").await;
    let unknown_query = authed(&fx, "GET", "/api/audit?colour=red")
        .body(Body::empty())
        .unwrap();
    check(&fx, unknown_query, 400, "colour").await;
    let no_route = authed(&fx, "GET", "/api/nowhere")
        .body(Body::empty())
        .unwrap();
    check(&fx, no_route, 404, "not found").await;
    assert_eq!(fx.dump(), before, "a refused request changed state");
    // The same body, well formed, is accepted.
    let (status, _, body) = raw(&fx, json_post(r#"{"minPoolReserve": 1}"#)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_nothing_else_authenticates() {
    let fx = Fixture::new(1, 1, json!({}));
    let cases = [
        (format!("Bearer {}", fx.owner), 200),
        (format!("bearer {}", fx.owner), 200),
        (format!("BEARER  {}", fx.owner), 200),
        (format!("Basic {}", fx.owner), 401),
        (fx.owner.clone(), 401),
        (format!("Bearer {}x", fx.owner), 401),
        ("Bearer sb_1_".to_string(), 401),
        ("Bearer ".to_string(), 401),
    ];
    for (header, status) in cases {
        let request = Request::get("/api/alerts")
            .header("authorization", &header)
            .body(Body::empty())
            .unwrap();
        let (got, content_type, _) = raw(&fx, request).await;
        assert_eq!(got, status, "{header:?}");
        assert!(content_type.starts_with("application/json"));
    }
}

#[test]
fn tokens_are_stored_only_as_sha256_digests() {
    let fx = Fixture::new(1, 1, json!({}));
    let dump = fx.dump();
    for token in [&fx.owner, &fx.admin, &fx.sitter_tokens[0]] {
        assert!(!dump.contains(token.as_str()), "plaintext token stored");
    }
    let digests: i64 = fx
        .engine
        .inspect(|c| {
            c.query_row(
                "SELECT count(*) FROM api_token_digests WHERE length(digest) = 32",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(digests, 5, "owner, admin, rival owner and two sitters");
}

#[tokio::test]
async fn staff_list_clients_sitters_and_numbers_with_their_ids() {
    let fx = Fixture::new(2, 2, json!({}));
    for (path, key, count) in [
        ("/api/clients", "clients", 2),
        ("/api/sitters", "sitters", 2),
        ("/api/numbers", "numbers", 2),
    ] {
        let (status, body) = fx.call(Some(&fx.owner), "GET", path, None).await;
        assert_eq!(status, 200, "{path}");
        let items = body[key].as_array().unwrap();
        assert_eq!(items.len(), count, "{path}: {body}");
        assert!(items.iter().all(|i| i["id"].is_string()), "{path}: {body}");
    }
    let (status, _) = fx
        .call(Some(&fx.sitter_tokens[0]), "GET", "/api/clients", None)
        .await;
    assert_eq!(status, 403);
}
