//! The role table of DESIGN.md §2 for every route the router declares, and settings over HTTP.

use serde_json::{Value, json};
use switchboard_core::api::{self, CHAOS_SITTER_DENIAL};
use switchboard_core::auth::Access;
use switchboard_core::bookings::NewBooking;
use switchboard_core::db::Storage;
use switchboard_core::ids::{self, ClientId, Kind};
use switchboard_core::{EngineConfig, Timestamp};

use crate::support::{Fixture, H};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Owner,
    Admin,
    Sitter,
    OtherSitter,
    RivalOwner,
    Anonymous,
}

const EVERYONE: [Who; 6] = [
    Who::Owner,
    Who::Admin,
    Who::Sitter,
    Who::OtherSitter,
    Who::RivalOwner,
    Who::Anonymous,
];

/// A world where every route has something to act on: a confirmed booking with an active window
/// (thread T on the only pool number, sitter 0), an exhausted second thread (open alert), and a
/// pending booking.
struct World {
    fx: Fixture,
    thread: i64,
    booking: i64,
    pending: i64,
    alert: i64,
}

fn world() -> World {
    let fx = Fixture::new(1, 2, json!({"minPoolReserve": 0}));
    let thread = fx.book(0, Some(0), 0, 2);
    let booking: i64 = fx.engine.inspect(|c| {
        c.query_row(
            "SELECT booking_id FROM threads WHERE id = ?1",
            [thread],
            |r| r.get(0),
        )
        .unwrap()
    });
    fx.open(1);
    let now = fx.engine.now();
    let pending = fx
        .engine
        .create_booking(
            fx.org,
            "test",
            &NewBooking {
                client: ClientId(fx.clients[1]),
                sitter: None,
                service: "Drop-in".into(),
                start: now.plus(5 * H),
                end: now.plus(6 * H),
            },
        )
        .unwrap();
    let pending = pending.id.rowid();
    let alert = ids::parse(Kind::Alert, &fx.engine.alerts(fx.org, true).unwrap()[0].id).unwrap();
    World {
        fx,
        thread,
        booking,
        pending,
        alert,
    }
}

/// The concrete request for a declared route: path with ids filled in, and a valid body.
fn request(w: &World, method: &str, path: &str) -> (String, Option<Value>) {
    let id = if path.starts_with("/api/alerts/") {
        format!("alr_{}", w.alert)
    } else if path.ends_with("/confirm") {
        format!("bkg_{}", w.pending)
    } else if path.starts_with("/api/numbers/") {
        format!("num_{}", w.fx.numbers[0])
    } else if path.starts_with("/api/bookings/") {
        format!("bkg_{}", w.booking)
    } else {
        format!("thr_{}", w.thread)
    };
    let concrete = path.replace("{id}", &id);
    let body = match (method, path) {
        ("POST", "/api/settings/rotation") => Some(json!({"maxConcurrentThreadsPerPoolNumber": 2})),
        ("POST", "/api/ops/chaos-mode") => Some(json!({"enabled": true, "failureProbability": 0})),
        ("POST", "/api/threads") => Some(json!({"clientId": format!("cli_{}", w.fx.clients[1])})),
        ("POST", "/api/bookings") => Some(
            json!({"clientId": format!("cli_{}", w.fx.clients[1]), "service": "Walk", "start": "2026-03-05T10:00:00Z", "end": "2026-03-05T11:00:00Z"}),
        ),
        ("POST", "/api/bookings/{id}/reschedule") => {
            Some(json!({"start": "2026-03-05T10:00:00Z", "end": "2026-03-05T12:00:00Z"}))
        }
        ("POST", "/api/numbers/{id}/status") => Some(json!({"status": "quarantined"})),
        ("POST", "/api/bookings/{id}/reassign") => {
            Some(json!({"sitterId": format!("sit_{}", w.fx.sitters[1])}))
        }
        ("POST", p) if p.ends_with("/messages") => Some(json!({"body": "On my way"})),
        _ => None,
    };
    (concrete, body)
}

/// What the role table says `who` gets from a route (`None` for "a 2xx").
fn expected(
    spec: &api::RouteSpec,
    who: Who,
    refers_to_main_org: bool,
) -> Option<(u16, Option<&'static str>)> {
    match (spec.access, who) {
        // Pages: no session → redirect to /login; a sitter → a 403 page (HTML, no JSON message).
        (Access::Page, Who::Anonymous) => Some((303, None)),
        (Access::Page, Who::Sitter | Who::OtherSitter) => Some((403, None)),
        (Access::Page, Who::Owner | Who::Admin | Who::RivalOwner) => None,
        (_, Who::Anonymous) if spec.access != Access::Provider => Some((401, None)),
        (Access::Provider, _) => None,
        (Access::Staff { .. }, Who::Owner | Who::Admin) => None,
        (Access::Staff { sitter_denial }, Who::Sitter | Who::OtherSitter) => {
            Some((403, Some(sitter_denial)))
        }
        (Access::Staff { .. }, Who::RivalOwner) if refers_to_main_org => Some((404, None)),
        (Access::Staff { .. }, Who::RivalOwner) => None,
        (Access::Sitter, Who::Sitter) => None,
        (Access::Sitter, Who::OtherSitter) if spec.path.contains("{id}") => Some((404, None)),
        (Access::Sitter, Who::OtherSitter) => None,
        (Access::Sitter, _) => Some((403, None)),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn every_route_enforces_the_role_table_and_refusals_change_nothing() {
    let table = api::route_table();
    assert!(table.len() >= 25, "the table lists every route");
    for spec in &table {
        for who in EVERYONE {
            let w = world();
            let token = match who {
                Who::Owner => Some(w.fx.owner.clone()),
                Who::Admin => Some(w.fx.admin.clone()),
                Who::Sitter => Some(w.fx.sitter_tokens[0].clone()),
                Who::OtherSitter => Some(w.fx.sitter_tokens[1].clone()),
                Who::RivalOwner => Some(w.fx.rival_owner.clone()),
                Who::Anonymous => None,
            };
            let (path, body) = request(&w, spec.method.as_str(), spec.path);
            let refers_to_main_org = spec.path.contains("{id}")
                || matches!(spec.path, "/api/threads" | "/api/bookings") && spec.method == "POST";
            let body = if spec.access == Access::Provider {
                None
            } else {
                body
            };
            if spec.access == Access::Provider {
                continue; // authenticated by signature: see routing::webhook_route_checks_the_signature...
            }
            if spec.access == Access::Public {
                continue; // login form and static files: see pages.rs
            }
            let before = w.fx.dump();
            let (status, response) =
                w.fx.call(token.as_deref(), spec.method.as_str(), &path, body)
                    .await;
            let label = format!("{who:?} {} {}", spec.method, spec.path);
            match expected(spec, who, refers_to_main_org) {
                None => assert!(
                    status.is_success(),
                    "{label}: expected 2xx, got {status} {response}"
                ),
                Some((code, message)) => {
                    assert_eq!(status.as_u16(), code, "{label}: {response}");
                    if let Some(message) = message {
                        assert_eq!(response["error"], message, "{label}");
                    }
                    assert_eq!(w.fx.dump(), before, "{label}: a refused call changed state");
                }
            }
        }
    }
}

#[tokio::test]
async fn chaos_mode_sitter_message_and_production_refusal() {
    let w = world();
    let (status, body) =
        w.fx.call(
            Some(&w.fx.sitter_tokens[0]),
            "POST",
            "/api/ops/chaos-mode",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (403, Some(CHAOS_SITTER_DENIAL))
    );
    let production = Fixture::with_config(
        1,
        1,
        json!({}),
        EngineConfig {
            production: true,
            ..EngineConfig::default()
        },
    );
    let before = production.dump();
    let (status, _) = production
        .call(
            Some(&production.owner),
            "POST",
            "/api/ops/chaos-mode",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status.as_u16(), 403);
    assert_eq!(production.dump(), before);
}

#[tokio::test]
async fn settings_get_and_post_return_all_eight_keys_and_bad_posts_save_nothing() {
    let fx = Fixture::new(1, 1, json!({}));
    let (status, body) = fx
        .call(Some(&fx.owner), "GET", "/api/settings/rotation", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body.as_object().unwrap().len(), 8);
    let (status, body) = fx
        .call(
            Some(&fx.admin),
            "POST",
            "/api/settings/rotation",
            Some(json!({"stickyReuseKey": "threadId", "maxConcurrentThreadsPerPoolNumber": 2})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body.as_object().unwrap().len(), 8);
    assert_eq!(
        (
            body["stickyReuseKey"].as_str(),
            body["maxConcurrentThreadsPerPoolNumber"].as_i64()
        ),
        (Some("threadId"), Some(2))
    );
    let before = fx.dump();
    let (status, body) = fx
        .call(Some(&fx.owner), "POST", "/api/settings/rotation", Some(json!({"minPoolReserve": 1, "maxConcurrentThreadsPerPoolNumber": 0, "colour": "blue"})))
        .await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["colour", "maxConcurrentThreadsPerPoolNumber"]);
    assert_eq!(fx.dump(), before, "an invalid POST saved something");
    let (status, _) = fx
        .call(
            Some(&fx.owner),
            "POST",
            "/api/settings/rotation",
            Some(json!([1, 2])),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = fx
        .call(Some(&fx.owner), "POST", "/api/settings/rotation", None)
        .await;
    assert_eq!(status, 200, "an empty patch changes nothing and succeeds");
}

#[tokio::test]
async fn settings_survive_a_restart_of_a_file_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        storage: Storage::File(dir.path().join("sb.db")),
        ..EngineConfig::default()
    };
    let saved = {
        let fx = Fixture::with_config(1, 1, json!({}), config.clone());
        let patch = json!({"poolSelectionStrategy": "HASH_SHUFFLE", "maxConcurrentThreadsPerPoolNumber": 2, "stickyReuseKey": "threadId",
            "stickyReuseDays": 0, "postBookingGraceHours": 0, "inactivityReleaseDays": 0, "maxPoolThreadLifetimeDays": 9, "minPoolReserve": 0});
        let (status, body) = fx
            .call(
                Some(&fx.owner),
                "POST",
                "/api/settings/rotation",
                Some(patch.clone()),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body, patch);
        (fx.owner.clone(), patch)
    };
    // A new engine on the same file: the token and the settings read back exactly.
    let clock = switchboard_core::ManualClock::new(Timestamp(0));
    let engine = std::sync::Arc::new(
        switchboard_core::Engine::new(
            config,
            std::sync::Arc::new(clock),
            std::sync::Arc::new(switchboard_core::messaging::RecordingProvider::default()),
        )
        .unwrap(),
    );
    let router = api::router(engine);
    use tower::ServiceExt;
    let response = router
        .oneshot(
            axum::http::Request::get("/api/settings/rotation")
                .header("authorization", format!("Bearer {}", saved.0))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), saved.1);
}

#[tokio::test]
async fn the_release_endpoint_ignores_an_org_in_the_body() {
    let fx = Fixture::new(1, 1, json!({"inactivityReleaseDays": 1}));
    fx.book(0, Some(0), 10 * crate::support::D, 1);
    fx.advance(2 * crate::support::D);
    let (status, body) = fx
        .call(
            Some(&fx.rival_owner),
            "POST",
            "/api/ops/pool-release",
            Some(json!({"orgId": fx.org})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["totalReleased"], 0);
    let (_, body) = fx
        .call(Some(&fx.owner), "POST", "/api/ops/pool-release", None)
        .await;
    assert_eq!(
        body,
        json!({"releasedByGracePeriod": 0, "releasedByInactivity": 1, "releasedByMaxLifetime": 0, "totalReleased": 1, "errors": []})
    );
}
