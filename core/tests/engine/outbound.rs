//! Issue 10 points 4–6 end to end: phones reach E.164 before any lookup, production never
//! applies chaos, and outbound calls the provider outside the write transaction.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use switchboard_core::db::Storage;
use switchboard_core::ids::{OrgId, ThreadId};
use switchboard_core::messaging::{Provider, ProviderReceipt};
use switchboard_core::{Engine, EngineConfig};
use tower::ServiceExt;

use crate::support::{Fixture, contact, pool_e164};

fn message_count(fx: &Fixture) -> i64 {
    fx.engine
        .inspect(|c| c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)))
        .unwrap()
}

/// Posts a raw form body to the webhook; returns the status and the JSON answer.
async fn webhook(fx: &Fixture, form: &str) -> (u16, serde_json::Value) {
    let request = Request::post("/api/messages/webhook")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap();
    let response = fx.router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn webhook_numbers_without_their_plus_reach_the_thread() {
    let fx = Fixture::new(1, 1, json!({}));
    let thread = fx.open(0);
    let (from, to) = (contact("client", 0).phone, pool_e164(0));
    // A `+` sent unencoded arrives as a space; some gateways send digits only.
    let forms = [
        format!("From={from}&To={to}&Body=a&MessageSid=SM1"),
        format!("From={}&To={}&Body=b&MessageSid=SM2", &from[1..], &to[1..]),
        format!(
            "From=%2B{}&To=%2B{}&Body=c&MessageSid=SM3",
            &from[1..],
            &to[1..]
        ),
        format!(
            "From=(555)%20000-3000&To={}&Body=d&MessageSid=SM4",
            &to[2..]
        ),
    ];
    for form in &forms {
        let (status, body) = webhook(&fx, form).await;
        assert_eq!(status, 200, "{form}: {body}");
        assert_eq!(body["threadId"], format!("thr_{thread}"), "{form}: {body}");
    }
    let stored: Vec<(String, String)> = fx.engine.inspect(|c| {
        let mut stmt = c
            .prepare("SELECT from_e164, to_e164 FROM messages ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    });
    assert!(
        stored.iter().all(|(f, t)| *f == from && *t == to),
        "{stored:?}"
    );
}

#[tokio::test]
async fn unparseable_phones_are_400_naming_the_field_and_store_nothing() {
    let fx = Fixture::new(1, 1, json!({}));
    fx.open(0);
    let to = &pool_e164(0)[1..];
    for (form, field) in [
        (format!("From=alice&To={to}&Body=x&MessageSid=SM1"), "From"),
        (
            "From=%2B15550003000&To=pool-one&Body=x&MessageSid=SM2".to_string(),
            "To",
        ),
    ] {
        let (status, body) = webhook(&fx, &form).await;
        assert_eq!(status, 400, "{form}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(message_count(&fx), 0);
    // The same holds for every engine input that takes a phone.
    let mut bad = contact("client", 7);
    bad.phone = "call me".into();
    let error = fx.engine.create_client(fx.org, &bad).unwrap_err();
    assert!(format!("{error}").contains("phone"), "{error}");
    let mut loose = contact("client", 8);
    loose.phone = "(555) 000-3008".into();
    let id = fx.engine.create_client(fx.org, &loose).unwrap();
    let phone: String = fx
        .engine
        .inspect(|c| {
            c.query_row("SELECT phone FROM clients WHERE id = ?1", [id], |r| {
                r.get(0)
            })
        })
        .unwrap();
    assert_eq!(phone, "+15550003008");
}

/// A provider that proves it is called outside the engine's write transaction: it tries to take
/// the database's write lock from another connection, without waiting.
struct LockProbe {
    db: PathBuf,
    sends: Mutex<Vec<Result<(), String>>>,
}

impl Provider for LockProbe {
    fn send(&self, _from: &str, _to: &str, _body: &str) -> ProviderReceipt {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        conn.busy_timeout(std::time::Duration::ZERO).unwrap();
        let locked = conn
            .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(|e| e.to_string());
        let mut sends = self.sends.lock().unwrap();
        sends.push(locked);
        ProviderReceipt {
            sid: format!("SMp{}", sends.len()),
            error: None,
        }
    }
}

fn file_engine(db: &std::path::Path, production: bool, provider: Arc<dyn Provider>) -> Arc<Engine> {
    let config = EngineConfig {
        storage: Storage::File(db.to_path_buf()),
        production,
        ..EngineConfig::default()
    };
    let clock = switchboard_core::ManualClock::new(crate::support::start());
    Arc::new(Engine::new(config, Arc::new(clock), provider).unwrap())
}

fn tiny_world(engine: &Engine) -> (OrgId, ThreadId) {
    use switchboard_core::world::{NewNumber, NumberClass, NumberStatus};
    let org = engine.create_org("main").unwrap();
    let client = engine.create_client(org, &contact("client", 0)).unwrap();
    let number = NewNumber {
        e164: pool_e164(0),
        class: NumberClass::Pool,
        status: NumberStatus::Active,
        sitter: None,
        created_at: None,
    };
    engine.create_number(org, &number).unwrap();
    let (thread, _) = engine.open_thread(org, "test", client, None, None).unwrap();
    (org, thread)
}

#[test]
fn the_provider_is_called_outside_the_write_transaction_and_a_duplicate_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sb.db");
    let probe = Arc::new(LockProbe {
        db: db.clone(),
        sends: Mutex::new(Vec::new()),
    });
    let engine = file_engine(&db, false, probe.clone());
    let (org, thread) = tiny_world(&engine);
    let chaos = json!({"enabled": true, "duplicateProbability": 1});
    engine.update_chaos_settings(org, "test", &chaos).unwrap();
    let sent = engine.send(org, "test", thread, "hello").unwrap();
    assert_eq!(sent.status, "sent");
    let sends = probe.sends.lock().unwrap().clone();
    assert_eq!(
        sends,
        vec![Ok(()), Ok(())],
        "two provider calls, each with the write lock free"
    );
    let stored = engine.thread_messages(org, thread).unwrap();
    assert_eq!(stored.len(), 1, "a duplicate is stored once");
    assert_eq!(stored[0].delivery["chaos"]["duplicated"], true);
}

#[tokio::test]
async fn production_never_applies_chaos_saved_before_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sb.db");
    let provider = Arc::new(switchboard_core::messaging::RecordingProvider::default());
    let (org, thread) = {
        let before = file_engine(&db, false, provider.clone());
        let world = tiny_world(&before);
        let chaos = json!({"enabled": true, "failureProbability": 1, "delayProbability": 1, "delayMs": 5000});
        before
            .update_chaos_settings(world.0, "test", &chaos)
            .unwrap();
        assert_eq!(
            before
                .send(world.0, "test", world.1, "under chaos")
                .unwrap()
                .status,
            "failed"
        );
        world
    };
    let production = file_engine(&db, true, provider.clone());
    let sent = production
        .send(org, "test", thread, "in production")
        .unwrap();
    assert_eq!(
        sent.status, "sent",
        "saved chaos must not apply in production"
    );
    assert_eq!(
        provider.sent().len(),
        1,
        "only the production send reached the provider"
    );
    // The chaos route stays closed in production, for the owner too.
    let user = production
        .create_user(org, "owner", switchboard_core::auth::Role::Owner, None)
        .unwrap();
    let token = production.mint_token(user).unwrap();
    let router = switchboard_core::api::router(production.clone());
    let request = Request::get("/api/ops/chaos-mode")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(router.oneshot(request).await.unwrap().status(), 403);
}
