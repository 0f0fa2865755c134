//! The leak scanner's cache is keyed by the `contacts_version` row that SQLite triggers bump
//! (migration 13): a write of contacts by any path, even raw SQL that bypasses the engine, is
//! seen by the next sitter response's gate; nothing else rebuilds the scanner.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;
use switchboard_core::bookings::{BookingStatus, NewBooking};
use switchboard_core::ids::{ClientId, SitterId};
use switchboard_core::{EngineConfig, SitterViewConfig};

use crate::support::{Fixture, H, contact, pool_e164};

/// A phone that is nobody's contact until a test writes it.
const NEW_PHONE: &str = "+15557654321";

/// Redaction off, so only the gate stands between a contact in a body and the sitter.
fn gate_only() -> Fixture {
    let config = EngineConfig {
        sitter_views: SitterViewConfig {
            redact: false,
            leak_gate: true,
        },
        ..EngineConfig::default()
    };
    Fixture::with_config(1, 1, json!({}), config)
}

/// One write of the rebuild table.
type Step = Box<dyn Fn(&Fixture)>;

fn raw_sql(fx: &Fixture, sql: &str) {
    fx.engine.inspect(|c| c.execute(sql, []).unwrap());
}

#[tokio::test]
async fn a_raw_sql_write_of_a_client_phone_is_seen_by_the_next_sitter_responses_gate() {
    let fx = gate_only();
    // The sitter's thread list carries the booking's free-text service, and no contact.
    let booking = fx
        .engine
        .create_booking(
            fx.org,
            "test",
            &NewBooking {
                client: ClientId(fx.clients[0]),
                sitter: Some(SitterId(fx.sitters[0])),
                service: format!("Dog Walking, neighbour {NEW_PHONE}"),
                start: fx.engine.now().plus(H),
                end: fx.engine.now().plus(3 * H),
            },
        )
        .unwrap();
    fx.engine
        .transition_booking(fx.org, "test", booking.id, BookingStatus::Confirmed)
        .unwrap();
    let sitter = Some(fx.sitter_tokens[0].as_str());
    let (status, view) = fx.call(sitter, "GET", "/api/sitter/threads", None).await;
    assert_eq!(status, StatusCode::OK, "not a contact yet: {view}");
    assert!(view.to_string().contains(NEW_PHONE), "{view}");
    assert!(fx.events("sitter.response.blocked").is_empty());

    raw_sql(
        &fx,
        &format!(
            "INSERT INTO clients (org_id, first_name, last_name, phone, email)
             VALUES ({}, 'Nia', 'Raw', '{NEW_PHONE}', 'nia@example.com')",
            fx.org.rowid()
        ),
    );
    let (status, refused) = fx.call(sitter, "GET", "/api/sitter/threads", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{refused}");
    assert!(!refused.to_string().contains(NEW_PHONE), "{refused}");
    assert_eq!(fx.events("sitter.response.blocked").len(), 1);
}

#[test]
fn the_scanner_is_rebuilt_exactly_when_a_contact_row_changes() {
    let fx = gate_only();
    fx.book(0, Some(0), H, 2);
    let mut scanner = fx.engine.leak_scanner().unwrap();
    // (what happens, whether the scanner's inputs changed)
    let steps: Vec<(&str, bool, Step)> = vec![
        ("nothing", false, Box::new(|_| {})),
        (
            "an inbound message",
            false,
            Box::new(|fx| {
                fx.inbound(&contact("client", 0).phone, &pool_e164(0), "hi", "SM9")
                    .unwrap();
            }),
        ),
        ("a release run", false, Box::new(|fx| drop(fx.release()))),
        (
            "a number's load and status",
            false,
            Box::new(|fx| {
                raw_sql(
                    fx,
                    "UPDATE message_numbers SET open_load = open_load, status = status",
                )
            }),
        ),
        (
            "a client's name",
            false,
            Box::new(|fx| raw_sql(fx, "UPDATE clients SET first_name = 'Renamed'")),
        ),
        (
            "a sitter's email",
            true,
            Box::new(|fx| {
                raw_sql(
                    fx,
                    "UPDATE sitters SET email = 'moved@example.com' WHERE id = 1",
                )
            }),
        ),
        (
            "a business number's e164",
            true,
            Box::new(|fx| {
                raw_sql(
                    fx,
                    "UPDATE message_numbers SET e164 = '+15550109999' WHERE id = 1",
                )
            }),
        ),
        (
            "a client created by the engine",
            true,
            Box::new(|fx| {
                fx.engine
                    .create_client(fx.org, &contact("client", 7))
                    .unwrap();
            }),
        ),
        (
            "a client deleted",
            true,
            Box::new(|fx| raw_sql(fx, "DELETE FROM clients WHERE first_name = 'client7'")),
        ),
    ];
    for (what, changed, step) in steps {
        step(&fx);
        let next = fx.engine.leak_scanner().unwrap();
        assert_eq!(!Arc::ptr_eq(&scanner, &next), changed, "after {what}");
        scanner = next;
    }
}
