//! Mid-run changes: a booking's times (`POST /api/bookings/{id}/reschedule`) and a pool number's
//! status (`POST /api/numbers/{id}/status`), with the derived state each must keep right.

use serde_json::{Value, json};
use switchboard_core::Timestamp;
use switchboard_core::ids::BookingId;

use crate::support::{Fixture, H};

fn release_due(fx: &Fixture, thread: i64) -> Option<Timestamp> {
    fx.engine.inspect(|c| {
        c.query_row(
            "SELECT release_due_at FROM threads WHERE id = ?1",
            [thread],
            |r| r.get(0),
        )
        .unwrap()
    })
}

fn booking_of(fx: &Fixture, thread: i64) -> i64 {
    fx.engine.inspect(|c| {
        c.query_row(
            "SELECT booking_id FROM threads WHERE id = ?1",
            [thread],
            |r| r.get(0),
        )
        .unwrap()
    })
}

/// (status, error field or message) of a call the engine must refuse without changing anything.
async fn check_refused(fx: &Fixture, path: &str, body: Value, status: u16, field: &str) {
    let before = fx.dump();
    let (got, response) = fx
        .call(Some(&fx.owner), "POST", path, Some(body.clone()))
        .await;
    assert_eq!(got.as_u16(), status, "{path} {body}: {response}");
    assert!(response.to_string().contains(field), "{body}: {response}");
    assert_eq!(
        fx.dump(),
        before,
        "{path} {body}: a refused call changed state"
    );
}

#[tokio::test]
async fn rescheduling_moves_the_window_and_the_grace_deadline() {
    let fx = Fixture::new(1, 1, json!({"postBookingGraceHours": 2}));
    let thread = fx.book(0, None, H, 2);
    let booking = booking_of(&fx, thread);
    let path = format!("/api/bookings/bkg_{booking}/reschedule");
    let before = release_due(&fx, thread).unwrap();
    let now = fx.engine.now();
    let (start, end) = (now.plus(30 * H), now.plus(33 * H));
    let (status, body) = fx
        .call(
            Some(&fx.admin),
            "POST",
            &path,
            Some(json!({"start": start.rfc3339(), "end": end.rfc3339()})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Walk: window end = end + 1h; grace 2h after it.
    assert_eq!(release_due(&fx, thread), Some(end.plus(3 * H)));
    assert_ne!(Some(before), release_due(&fx, thread));
    let events = fx.events("booking.rescheduled");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["to"]["end"], json!(end));
    for (body, status, field) in [
        (json!({"start": "2026-03-05T10:00:00Z"}), 400, "end"),
        (
            json!({"start": "soon", "end": "2026-03-05T10:00:00Z"}),
            400,
            "start",
        ),
        (
            json!({"start": "2026-03-05T10:00:00Z", "end": "2026-03-05T10:00:00Z"}),
            400,
            "end",
        ),
        (
            json!({"start": "2026-03-05T10:00:00Z", "end": "2026-03-05T11:00:00Z", "x": 1}),
            400,
            "x",
        ),
    ] {
        check_refused(&fx, &path, body, status, field).await;
    }
    fx.engine
        .transition_booking(
            fx.org,
            "test",
            BookingId(booking),
            switchboard_core::bookings::BookingStatus::Cancelled,
        )
        .unwrap();
    let valid = json!({"start": "2026-03-05T10:00:00Z", "end": "2026-03-05T11:00:00Z"});
    check_refused(&fx, &path, valid, 409, "cancelled").await;
}

fn load_and_stats(fx: &Fixture) -> (Vec<i64>, (i64, i64)) {
    fx.engine.inspect(|c| {
        let loads = c
            .prepare("SELECT open_load FROM message_numbers WHERE org_id = ?1 AND class = 'pool' ORDER BY id")
            .unwrap()
            .query_map([fx.org], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let stats = c
            .query_row(
                "SELECT active_numbers, with_room FROM pool_stats WHERE org_id = ?1",
                [fx.org],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        (loads, stats)
    })
}

#[tokio::test]
async fn a_withdrawn_number_releases_its_threads_and_takes_no_new_ones() {
    let fx = Fixture::new(
        2,
        3,
        json!({"minPoolReserve": 1, "maxConcurrentThreadsPerPoolNumber": 2}),
    );
    let first = fx.open(0);
    let second = fx.open(1);
    let number = fx.numbers[fx.binding(first).unwrap()];
    let path = format!("/api/numbers/num_{number}/status");
    let (status, body) = fx
        .call(
            Some(&fx.owner),
            "POST",
            &path,
            Some(json!({"status": "quarantined"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "quarantined");
    assert_eq!(body["openLoad"], 0);
    assert_eq!(fx.binding(first), None, "released, still open");
    let released = fx.events("pool.number.released");
    assert!(released.iter().any(|e| e["rule"] == "number_quarantined"));
    let changed = fx.events("pool.number.status_changed");
    assert_eq!(
        (changed[0]["from"].as_str(), changed[0]["to"].as_str()),
        (Some("active"), Some("quarantined"))
    );
    // Only the other number is active: the counters follow, and a new thread goes there.
    let (loads, stats) = load_and_stats(&fx);
    assert_eq!(stats.0, 1);
    let third = fx.open(2);
    let other = fx.numbers.iter().position(|n| *n != number).unwrap();
    assert_eq!(fx.binding(third), Some(other));
    assert!(loads.iter().sum::<i64>() <= 2, "{loads:?} {second}");
    // Back to active, then retired for good.
    for (to, code) in [("active", 200), ("retired", 200)] {
        let (status, body) = fx
            .call(Some(&fx.owner), "POST", &path, Some(json!({"status": to})))
            .await;
        assert_eq!(status.as_u16(), code, "{to}: {body}");
    }
    assert_eq!(load_and_stats(&fx).1.0, 1);
    assert!(fx.open_alerts().contains(&"pool.reserve.low".to_string()));
    check_refused(&fx, &path, json!({"status": "active"}), 409, "retired").await;
    check_refused(&fx, &path, json!({"status": "paused"}), 400, "status").await;
    check_refused(&fx, &path, json!({}), 400, "status").await;
}
