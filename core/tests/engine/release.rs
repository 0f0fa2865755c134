//! The release job: the three rules, their boundaries, 0 semantics, reasons and stats.

use serde_json::json;
use switchboard_core::ids::{BookingId, ThreadId};
use switchboard_core::pool::ThreadStatus;

use crate::support::{D, Fixture, H};

/// Binds one thread at time zero (booking: starts in `start_in`, lasts one hour), then checks
/// that nothing is released one second before `deadline` and that `rule` releases it at it.
fn check(settings: serde_json::Value, start_in: i64, deadline: Option<i64>, rule: &str) {
    let fx = Fixture::new(2, 1, settings.clone());
    let thread = fx.book(0, Some(0), start_in, 1);
    assert_eq!(fx.binding(thread), Some(0), "{settings}");
    let Some(deadline) = deadline else {
        fx.advance(365 * D);
        assert_eq!(fx.release().total_released, 1, "lifetime always applies");
        return;
    };
    fx.advance(deadline - 1);
    let stats = fx.release();
    assert_eq!(
        stats.total_released, 0,
        "{settings}: released one second early"
    );
    assert_eq!(fx.binding(thread), Some(0));
    fx.advance(1);
    let stats = fx.release();
    assert_eq!(
        stats.total_released, 1,
        "{settings}: not released at the deadline"
    );
    assert_eq!(fx.binding(thread), None);
    let released = fx.events("pool.number.released");
    assert_eq!(released.len(), 1);
    assert_eq!(released[0]["rule"], rule, "{settings}");
    // Released once; a second run is a no-op.
    assert_eq!(fx.release().total_released, 0);
}

const WINDOW_BUFFER: i64 = H;

#[test]
fn grace_runs_from_the_window_end() {
    // Booking starts in 1 day, lasts 1h; window ends 1h after; grace 72h.
    check(
        json!({"inactivityReleaseDays": 0}),
        D,
        Some(D + H + WINDOW_BUFFER + 72 * H),
        "postBookingGraceHours",
    );
}

#[test]
fn grace_zero_releases_at_the_window_end() {
    check(
        json!({"inactivityReleaseDays": 0, "postBookingGraceHours": 0}),
        D,
        Some(D + H + WINDOW_BUFFER),
        "postBookingGraceHours",
    );
}

#[test]
fn inactivity_runs_from_the_binding_without_messages() {
    check(
        json!({"inactivityReleaseDays": 1}),
        10 * D,
        Some(D),
        "inactivityReleaseDays",
    );
}

#[test]
fn inactivity_zero_never_releases_and_lifetime_still_does() {
    check(
        json!({"inactivityReleaseDays": 0, "maxPoolThreadLifetimeDays": 2}),
        10 * D,
        Some(2 * D),
        "maxPoolThreadLifetimeDays",
    );
}

#[test]
fn lifetime_is_measured_from_the_binding_not_the_thread() {
    let fx = Fixture::new(
        1,
        2,
        json!({"inactivityReleaseDays": 0, "maxPoolThreadLifetimeDays": 3, "stickyReuseDays": 0, "minPoolReserve": 0}),
    );
    let blocker = fx.open(1);
    let late = fx.open(0); // exhausted: created now, bound later
    assert_eq!(fx.binding(late), None);
    fx.advance(D);
    fx.engine
        .end_thread(fx.org, "test", ThreadId(blocker), ThreadStatus::Closed)
        .unwrap();
    fx.engine
        .assign_thread(fx.org, "test", ThreadId(late))
        .unwrap();
    fx.advance(3 * D - 1);
    assert_eq!(
        fx.release().total_released,
        0,
        "lifetime counted from thread creation"
    );
    fx.advance(1);
    assert_eq!(fx.release().released_by_max_lifetime, 1);
}

#[test]
fn completed_and_cancelled_bookings_still_start_the_grace_period() {
    for action in ["completed", "cancelled"] {
        let fx = Fixture::new(
            1,
            1,
            json!({"inactivityReleaseDays": 0, "postBookingGraceHours": 1}),
        );
        let thread = fx.book(0, Some(0), H, 1);
        let booking: i64 = fx.engine.inspect(|c| {
            c.query_row(
                "SELECT booking_id FROM threads WHERE id = ?1",
                [thread],
                |r| r.get(0),
            )
            .unwrap()
        });
        let to = if action == "completed" {
            switchboard_core::bookings::BookingStatus::Completed
        } else {
            switchboard_core::bookings::BookingStatus::Cancelled
        };
        fx.engine
            .transition_booking(fx.org, "test", BookingId(booking), to)
            .unwrap();
        // window end = start (1h) + 1h + 1h buffer; + 1h grace
        fx.advance(4 * H);
        let stats = fx.release();
        assert_eq!(stats.released_by_grace_period, 1, "{action}");
    }
}

#[test]
fn a_message_moves_the_inactivity_deadline() {
    let fx = Fixture::new(1, 1, json!({"inactivityReleaseDays": 1}));
    let thread = fx.book(0, Some(0), 10 * D, 1);
    fx.advance(12 * H);
    client_writes_to_pool_number_0(&fx);
    fx.advance(12 * H);
    assert_eq!(
        fx.release().total_released,
        0,
        "message did not move the deadline"
    );
    fx.advance(12 * H - 1);
    assert_eq!(fx.release().total_released, 0);
    fx.advance(1);
    assert_eq!(fx.release().released_by_inactivity, 1);
    assert_eq!(fx.binding(thread), None);
}

/// A message while another rule comes first moves `last_message_at` but not the stored
/// deadline (`record_activity` then leaves `release_due_at` out of its UPDATE), and the thread
/// is still released at that rule's deadline.
#[test]
fn a_message_while_grace_comes_first_keeps_the_grace_deadline() {
    let fx = Fixture::new(
        1,
        1,
        json!({"inactivityReleaseDays": 7, "postBookingGraceHours": 2}),
    );
    // Booking starts in 1h and lasts 1h: the walk's window ends 1h later (3h), grace at 5h.
    let thread = fx.book(0, Some(0), H, 1);
    let row = || {
        fx.engine.inspect(|c| {
            c.query_row(
                "SELECT release_due_at, last_message_at FROM threads WHERE id = ?1",
                [thread],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .unwrap()
        })
    };
    let (due, last) = row();
    let start = fx.engine.now().0;
    assert_eq!((due, last), (Some(start + 5 * H), None));
    fx.advance(2 * H);
    client_writes_to_pool_number_0(&fx);
    assert_eq!(row(), (Some(start + 5 * H), Some(start + 2 * H)));
    fx.advance(3 * H - 1);
    assert_eq!(fx.release().total_released, 0);
    fx.advance(1);
    assert_eq!(fx.release().released_by_grace_period, 1);
    assert_eq!(fx.binding(thread), None);
}

#[test]
fn earliest_rule_wins_ties_go_grace_inactivity_lifetime_and_each_thread_counts_once() {
    // All three deadlines at exactly 1 day: grace (window end now + 0h... arranged), inactivity 1d, lifetime 1d.
    let fx = Fixture::new(
        1,
        1,
        json!({"inactivityReleaseDays": 1, "maxPoolThreadLifetimeDays": 1, "postBookingGraceHours": 0}),
    );
    // Booking window ends exactly 1 day after now: start = 1d - 1h(duration) - 1h(buffer).
    fx.book(0, Some(0), D - 2 * H, 1);
    fx.advance(D);
    let stats = fx.release();
    assert_eq!(stats.total_released, 1);
    assert_eq!(stats.released_by_grace_period, 1);
    assert_eq!(
        stats.released_by_inactivity + stats.released_by_max_lifetime,
        0
    );
    let released = &fx.events("pool.number.released")[0];
    assert_eq!(
        released["matchedRules"],
        json!([
            "postBookingGraceHours",
            "inactivityReleaseDays",
            "maxPoolThreadLifetimeDays"
        ])
    );
    assert_eq!(released["reason"], "postBookingGraceHours (0h) expired");
}

#[test]
fn released_payload_carries_reason_settings_and_resets_last_assigned_at() {
    let fx = Fixture::new(1, 1, json!({"inactivityReleaseDays": 1}));
    let thread = fx.book(0, Some(0), 10 * D, 1);
    fx.advance(D);
    fx.release();
    let p = &fx.events("pool.number.released")[0];
    assert_eq!(p["reason"], "inactivityReleaseDays (1d) expired");
    assert_eq!(p["rule"], "inactivityReleaseDays");
    assert_eq!(p["e164"], crate::support::pool_e164(0));
    assert_eq!(p["threadId"], format!("thr_{thread}"));
    assert_eq!(
        p["settings"],
        json!({"postBookingGraceHours": 72, "inactivityReleaseDays": 1, "maxPoolThreadLifetimeDays": 30})
    );
    assert_eq!(p["boundAt"], "2026-03-02T09:00:00Z");
    assert_eq!(p["deadline"], "2026-03-03T09:00:00Z");
    let last: Option<i64> = fx.engine.inspect(|c| {
        c.query_row(
            "SELECT last_assigned_at FROM message_numbers WHERE id = ?1",
            [fx.numbers[0]],
            |r| r.get(0),
        )
        .unwrap()
    });
    assert_eq!(last, None);
    // The thread stays open.
    assert_eq!(
        fx.engine.thread(fx.org, ThreadId(thread)).unwrap().status,
        "open"
    );
}

#[test]
fn settings_changes_move_stored_deadlines() {
    let fx = Fixture::new(1, 1, json!({"inactivityReleaseDays": 0}));
    fx.book(0, Some(0), 10 * D, 1);
    fx.advance(2 * D);
    assert_eq!(fx.release().total_released, 0);
    fx.settings(json!({"inactivityReleaseDays": 1}));
    assert_eq!(
        fx.release().released_by_inactivity,
        1,
        "a shortened rule must apply to bound threads"
    );
}

#[test]
fn the_job_releases_only_the_callers_org() {
    let fx = Fixture::new(1, 1, json!({"inactivityReleaseDays": 1}));
    fx.book(0, Some(0), 10 * D, 1);
    fx.advance(2 * D);
    let rival = fx.engine.run_release_job(fx.rival_org, "test").unwrap();
    assert_eq!(rival.total_released, 0);
    assert_eq!(fx.release().total_released, 1);
}

/// Client 0 writes "hello" (MessageSid `SM1`) to pool number 0.
fn client_writes_to_pool_number_0(fx: &Fixture) {
    let (from, to) = (
        crate::support::contact("client", 0).phone,
        crate::support::pool_e164(0),
    );
    fx.inbound(&from, &to, "hello", "SM1").unwrap();
}
