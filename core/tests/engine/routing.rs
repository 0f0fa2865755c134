//! Inbound webhooks: routing, idempotency, unmapped senders, unknown numbers, signatures.

use serde_json::json;
use switchboard_core::ids::ThreadId;
use switchboard_core::{EngineConfig, Error};

use crate::support::{D, Fixture, H, contact, pool_e164};

fn client_phone(i: usize) -> String {
    contact("client", i).phone
}

fn message_count(fx: &Fixture) -> i64 {
    fx.engine.inspect(|c| {
        c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap()
    })
}

#[test]
fn inbound_in_an_active_window_goes_to_the_sitter_else_the_owner_inbox() {
    let fx = Fixture::new(2, 1, json!({}));
    let thread = fx.book(0, Some(1), 2 * H, 1);
    // Window opens 1h before the start: not yet.
    let early = fx
        .inbound(&client_phone(0), &pool_e164(0), "early", "SM1")
        .unwrap();
    assert_eq!(early.routed_to, "owner_inbox");
    assert_eq!(early.thread_id, Some(format!("thr_{thread}")));
    fx.advance(H);
    let inside = fx
        .inbound(&client_phone(0), &pool_e164(0), "inside", "SM2")
        .unwrap();
    assert_eq!(inside.routed_to, format!("sitter:sit_{}", fx.sitters[1]));
}

#[test]
fn a_repeated_message_sid_stores_nothing_new() {
    let fx = Fixture::new(1, 1, json!({}));
    fx.book(0, Some(0), D, 1);
    let first = fx
        .inbound(&client_phone(0), &pool_e164(0), "hi", "SMdup")
        .unwrap();
    let before = fx.dump();
    let again = fx
        .inbound(&client_phone(0), &pool_e164(0), "hi", "SMdup")
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(fx.dump(), before, "a duplicate webhook changed state");
    assert_eq!(message_count(&fx), 1);
}

#[test]
fn unmapped_sender_goes_to_the_owner_inbox_with_audit_and_a_warning_alert() {
    let fx = Fixture::new(1, 2, json!({"minPoolReserve": 0}));
    fx.book(0, Some(0), D, 1);
    let outcome = fx
        .inbound(&client_phone(1), &pool_e164(0), "who is this", "SM9")
        .unwrap();
    assert_eq!(outcome.routed_to, "owner_inbox");
    assert_eq!(outcome.thread_id, None);
    let unmapped = fx.events("routing.unmapped");
    assert_eq!(unmapped.len(), 1);
    assert_eq!(unmapped[0]["e164"], pool_e164(0));
    assert_eq!(fx.open_alerts(), vec!["routing.unmapped"]);
    assert_eq!(fx.engine.inbox(fx.org).unwrap().len(), 1);
}

#[test]
fn unknown_to_is_not_found_and_stores_nothing() {
    let fx = Fixture::new(1, 1, json!({}));
    let before = fx.dump();
    let err = fx
        .inbound(&client_phone(0), "+15559999999", "hi", "SM1")
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(fx.dump(), before);
}

#[tokio::test]
async fn webhook_route_checks_the_signature_when_a_secret_is_configured() {
    let config = EngineConfig {
        webhook_secret: Some("s3cret".into()),
        ..EngineConfig::default()
    };
    let fx = Fixture::with_config(1, 1, json!({}), config);
    let form = format!(
        "From=%2B{}&To=%2B{}&Body=hi&MessageSid=SM1",
        &client_phone(0)[1..],
        &pool_e164(0)[1..]
    );
    let send = |signature: Option<String>| {
        let router = fx.router.clone();
        let form = form.clone();
        async move {
            use tower::ServiceExt;
            let mut request = axum::http::Request::post("/api/messages/webhook")
                .header("content-type", "application/x-www-form-urlencoded");
            if let Some(signature) = signature {
                request = request.header(switchboard_core::api::SIGNATURE_HEADER, signature);
            }
            router
                .oneshot(request.body(axum::body::Body::from(form)).unwrap())
                .await
                .unwrap()
                .status()
        }
    };
    let before = fx.dump();
    assert_eq!(send(None).await, 401);
    assert_eq!(send(Some("00".repeat(32))).await, 401);
    assert_eq!(fx.dump(), before, "a refused webhook changed state");
    let good = switchboard_core::api::sign_webhook("s3cret", form.as_bytes());
    assert_eq!(send(Some(good)).await, 200);
    assert_eq!(message_count(&fx), 1);
}

#[tokio::test]
async fn webhook_names_missing_fields() {
    let fx = Fixture::new(1, 1, json!({}));
    use tower::ServiceExt;
    let request = axum::http::Request::post("/api/messages/webhook")
        .body(axum::body::Body::from("From=%2B15550003000&Body=x"))
        .unwrap();
    let response = fx.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 400);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        body["errors"],
        json!([{"field": "To", "message": "is required"}, {"field": "MessageSid", "message": "is required"}])
    );
}

#[test]
fn outbound_goes_out_from_the_threads_number_and_a_thread_without_one_gets_one() {
    let fx = Fixture::new(
        1,
        2,
        json!({"stickyReuseDays": 0, "minPoolReserve": 0, "inactivityReleaseDays": 1}),
    );
    let thread = fx.book(0, Some(0), 3 * D, 1);
    fx.advance(D);
    fx.release();
    assert_eq!(fx.binding(thread), None);
    let sent = fx
        .engine
        .send(fx.org, "test", ThreadId(thread), "reminder")
        .unwrap();
    assert_eq!(sent.status, "sent");
    assert_eq!(fx.binding(thread), Some(0));
    let messages = fx.engine.thread_messages(fx.org, ThreadId(thread)).unwrap();
    assert_eq!(messages[0].from, pool_e164(0));
    assert_eq!(messages[0].to, client_phone(0));
}

#[test]
fn outbound_on_an_exhausted_pool_is_refused_but_the_exhaustion_is_kept() {
    let fx = Fixture::new(1, 2, json!({"stickyReuseDays": 0, "minPoolReserve": 0}));
    fx.open(0);
    let thread = fx.open(1);
    assert_eq!(fx.events("pool.exhausted").len(), 1);
    let err = fx
        .engine
        .send(fx.org, "test", ThreadId(thread), "hello")
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)));
    assert_eq!(fx.events("pool.exhausted").len(), 2);
}

#[test]
fn chaos_failure_quotes_the_recipient_like_a_real_provider() {
    let fx = Fixture::new(1, 1, json!({}));
    let thread = fx.open(0);
    fx.engine
        .update_chaos_settings(
            fx.org,
            "test",
            &json!({"enabled": true, "failureProbability": 1}),
        )
        .unwrap();
    let sent = fx
        .engine
        .send(fx.org, "test", ThreadId(thread), "hello")
        .unwrap();
    assert_eq!(sent.status, "failed");
    let message = fx
        .engine
        .thread_messages(fx.org, ThreadId(thread))
        .unwrap()
        .remove(0);
    assert!(
        message.delivery["provider"]["error"]
            .as_str()
            .unwrap()
            .contains(&client_phone(0))
    );
    assert_eq!(fx.events("message.send_failed").len(), 1);
}

#[test]
fn two_open_threads_of_one_phone_on_one_number_are_ambiguous_and_go_to_the_owner_inbox() {
    // Assignment never lets a household share a number; state from before that rule might.
    let fx = Fixture::new(2, 1, json!({"maxConcurrentThreadsPerPoolNumber": 2}));
    let mut twin = contact("client", 9);
    twin.phone = client_phone(0);
    let twin = fx.engine.create_client(fx.org, &twin).unwrap();
    let first = fx.open(0);
    let second = fx
        .engine
        .open_thread(fx.org, "test", twin, None, None)
        .unwrap()
        .0
        .rowid();
    assert_ne!(
        fx.binding(first),
        fx.binding(second),
        "a household never shares a number"
    );
    fx.engine.inspect(|c| {
        c.execute_batch(&format!(
            "UPDATE threads SET number_id = (SELECT number_id FROM threads WHERE id = {first}) WHERE id = {second};"
        ))
        .unwrap()
    });
    let outcome = fx
        .inbound(&client_phone(0), &pool_e164(0), "which one?", "SMamb")
        .unwrap();
    assert_eq!(outcome.routed_to, "owner_inbox");
    assert_eq!(outcome.thread_id, None);
    assert_eq!(fx.events("routing.unmapped").len(), 1);
    let inbox = fx.engine.inbox(fx.org).unwrap();
    let trace = inbox[0].metadata["routing"]["trace"].to_string();
    assert!(trace.contains("ambiguous"), "{trace}");
}
