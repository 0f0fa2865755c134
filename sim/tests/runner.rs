//! The runner's own guarantees: the scheduled release job fires at every 5-minute mark, and
//! every invariant catches a planted bug (a raw SQL write that a correct engine never makes).

mod common;

use std::path::Path;

use switchboard_core::SitterViewConfig;
use switchboard_sim::runner::{self, Outcome, RunOptions};
use switchboard_sim::scenario::Scenario;

use common::PROBE_WORLD as WORLD;

fn run(steps: &str, options: RunOptions) -> Outcome {
    let source = format!("{WORLD}\n{steps}");
    let scenario = Scenario::parse(Path::new("probe.toml"), &source)
        .unwrap_or_else(|e| panic!("{}", e.render()));
    runner::run(&scenario, &options)
}

/// Runs `steps` with `plant` applied after step `at`, and requires a failure naming `invariant`
/// at step `at` (or at `caught_at` for bugs that show only later, such as a skipped release).
fn check_caught(invariant: &str, steps: &str, at: usize, plant: &str) {
    check_caught_at(invariant, steps, at, at, plant)
}

fn check_caught_at(invariant: &str, steps: &str, at: usize, caught_at: usize, plant: &str) {
    let clean = run(steps, RunOptions::default());
    assert!(
        clean.passed(),
        "the probe must pass without the planted bug: {}",
        clean.failure.unwrap().report.render()
    );
    let plant = plant.to_string();
    let options = RunOptions {
        plant: Some(Box::new(move |conn, step| {
            if step.index == at {
                conn.execute_batch(&plant).expect("planted SQL runs");
            }
        })),
        ..RunOptions::default()
    };
    let outcome = run(steps, options);
    let failure = outcome
        .failure
        .unwrap_or_else(|| panic!("[{invariant}] did not catch the planted bug"));
    let report = failure.report.render();
    assert!(
        report.contains(&format!("[{invariant}]")),
        "expected a [{invariant}] violation, got:\n{report}"
    );
    assert_eq!(
        failure.step,
        Some(caught_at),
        "the violation names the step"
    );
}

const TWO_STEPS: &str = r#"
[[steps]]
advance = "10m"
booking = { action = "confirm", booking = "walk-bob" }

[[steps]]
advance = "10m"
request = { as = "owner", method = "GET", path = "/api/alerts" }
"#;

#[test]
fn three_days_fire_the_release_job_864_times_in_order() {
    let outcome = run("[[steps]]\nadvance = \"3d\"\n", RunOptions::default());
    assert!(outcome.passed());
    assert_eq!(outcome.ticks, 864);
}

#[test]
fn capacity_catches_a_second_thread_on_a_full_number() {
    // Bind bob's thread to alice's number behind the engine's back (the triggers of migration 12 keep the loads).
    check_caught(
        "capacity",
        TWO_STEPS,
        0,
        "UPDATE threads SET number_id = (SELECT number_id FROM threads WHERE booking_id = 1), bound_cap = 1 WHERE booking_id = 2;",
    );
}

/// The row checks are skipped only while nothing changed since they ran clean: a bug planted
/// after a read-only step (a GET, idle release ticks) that follows a clean step is still caught
/// at that step.
#[test]
fn a_bug_planted_after_a_read_only_step_is_caught_at_that_step() {
    check_caught(
        "capacity",
        TWO_STEPS,
        1,
        "UPDATE threads SET number_id = (SELECT number_id FROM threads WHERE booking_id = 1), bound_cap = 1 WHERE booking_id = 2;",
    );
}

#[test]
fn client_uniqueness_catches_two_open_threads_of_a_client_on_one_number() {
    check_caught(
        "client-uniqueness",
        TWO_STEPS,
        0,
        "UPDATE threads SET client_id = (SELECT client_id FROM threads WHERE booking_id = 1), bound_cap = 5 WHERE booking_id = 2;
         UPDATE threads SET bound_cap = 5;
         UPDATE threads SET number_id = (SELECT number_id FROM threads WHERE booking_id = 1) WHERE booking_id = 2;",
    );
}

#[test]
fn client_uniqueness_counts_clients_sharing_a_phone_as_one() {
    // bob gets alice's phone (a household) and his thread joins hers on her number.
    check_caught(
        "client-uniqueness",
        TWO_STEPS,
        0,
        "UPDATE clients SET phone = '+15550300001' WHERE id = (SELECT client_id FROM threads WHERE booking_id = 2);
         UPDATE threads SET bound_cap = 5;
         UPDATE threads SET number_id = (SELECT number_id FROM threads WHERE booking_id = 1) WHERE booking_id = 2;",
    );
}

#[test]
fn routing_catches_a_message_routed_to_a_sitter_who_cannot_read_its_thread() {
    // bob's walk is days away: sam cannot read that thread now, yet the message says sitter:sam.
    check_caught(
        "routing",
        TWO_STEPS,
        1,
        "INSERT INTO messages (org_id, thread_id, direction, actor, from_e164, to_e164, body, at, routed_to, delivery, metadata)
         SELECT org_id, id, 'inbound', 'provider', '+15550300002', '+15550100002', 'hi', 1772442000, 'sitter:sit_1', '{}', '{}'
         FROM threads WHERE booking_id = 2;",
    );
}

#[test]
fn release_catches_a_thread_the_job_skipped() {
    // A stale deadline index: the job never sees alice's thread, which is due after 1 day.
    let steps = "[[steps]]\nadvance = \"1m\"\n\n[[steps]]\nadvance = \"1d\"\n";
    check_caught_at(
        "release",
        steps,
        0,
        1,
        "UPDATE threads SET release_due_at = 99999999999 WHERE booking_id = 1;",
    );
}

#[test]
fn release_catches_a_thread_released_before_its_deadline() {
    // The thread row forgets when it was bound (the binding rows remember): the engine's next
    // run releases alice's thread a day before its inactivity deadline.
    let steps = "[[steps]]\nadvance = \"1m\"\n\n[[steps]]\nadvance = \"10m\"\n";
    check_caught_at(
        "release",
        steps,
        0,
        1,
        "UPDATE threads SET bound_at = bound_at - 2 * 86400, release_due_at = 0 WHERE booking_id = 1;",
    );
}

/// Plants, in the first step, a `pool.number.released` event with `payload` for alice's thread
/// that no job run wrote: the `release` invariant must catch it in that step.
fn check_planted_release_caught(payload: &str) {
    let plant = format!(
        "INSERT INTO audit_events (org_id, seq, at, type, actor, thread_id, payload)
         SELECT org_id, 1000, 0, 'pool.number.released', 'system', id, '{payload}' FROM threads WHERE booking_id = 1;"
    );
    check_caught("release", TWO_STEPS, 0, &plant);
}

#[test]
fn release_catches_a_rule_release_outside_a_job_run() {
    check_planted_release_caught(r#"{"rule": "inactivityReleaseDays"}"#);
}

#[test]
fn capacity_catches_a_thread_left_bound_to_a_withdrawn_number() {
    // alice's number is quarantined behind the engine's back (the triggers keep the counters), so
    // her thread stays bound to a number that takes no threads.
    check_caught(
        "capacity",
        TWO_STEPS,
        0,
        "UPDATE message_numbers SET status = 'quarantined' WHERE id = (SELECT number_id FROM threads WHERE booking_id = 1);",
    );
}

#[test]
fn release_catches_a_withdrawn_number_release_without_a_status_change() {
    check_planted_release_caught(r#"{"rule": "number_retired", "numberId": "num_1"}"#);
}

#[test]
fn capacity_ranks_by_binding_sequence_not_by_second_or_thread_id() {
    // Bob's thread (the higher id) is bound first, under cap 1; then, in the same second,
    // alice's thread joins the same number: a real breach, whatever the ids say.
    check_caught(
        "capacity",
        TWO_STEPS,
        0,
        "UPDATE number_bindings SET released_at = bound_at WHERE thread_id = (SELECT id FROM threads WHERE booking_id = 1);
         INSERT INTO number_bindings (org_id, thread_id, client_id, number_id, bound_at)
             SELECT org_id, id, client_id, (SELECT number_id FROM threads WHERE booking_id = 2), (SELECT bound_at FROM threads WHERE booking_id = 2) FROM threads WHERE booking_id = 1;
         UPDATE threads SET number_id = (SELECT number_id FROM threads WHERE booking_id = 2), bound_at = (SELECT bound_at FROM threads WHERE booking_id = 2), bound_cap = 1 WHERE booking_id = 1;",
    );
}

#[test]
fn harness_reports_an_audit_event_it_cannot_read() {
    check_caught(
        "harness",
        TWO_STEPS,
        0,
        "UPDATE audit_events SET payload = '{}' WHERE id = (SELECT max(id) FROM audit_events WHERE type = 'pool.number.assigned');",
    );
}

#[test]
fn harness_reports_a_check_query_that_fails() {
    check_caught("harness", TWO_STEPS, 0, "DROP INDEX bindings_released;");
}

#[test]
fn audit_catches_a_binding_without_its_event() {
    check_caught(
        "audit",
        TWO_STEPS,
        0,
        "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events WHERE type = 'pool.number.assigned');",
    );
}

#[test]
fn refused_unchanged_catches_a_write_by_a_refused_call() {
    let steps = r#"
[[steps]]
advance = "1m"
request = { as = "sitter:sam", method = "POST", path = "/api/settings/rotation", body = { minPoolReserve = 5 } }
expect = { status = 403 }
"#;
    check_caught(
        "refused-unchanged",
        steps,
        0,
        "UPDATE rotation_settings SET settings = settings;",
    );
}

#[test]
fn org_isolation_catches_a_message_stored_under_another_org() {
    check_caught(
        "org-isolation",
        TWO_STEPS,
        1,
        "INSERT INTO messages (org_id, thread_id, direction, actor, from_e164, to_e164, body, at, routed_to, delivery, metadata)
         SELECT 2, id, 'inbound', 'provider', '+15550300001', '+15550100001', 'hi', 0, 'owner_inbox', '{}', '{}' FROM threads WHERE booking_id = 2;",
    );
}

#[test]
fn leak_catches_a_sitter_response_with_a_real_phone_when_both_defences_are_off() {
    let steps = r#"
[[steps]]
advance = "1h"
inbound = { from = "alice", to = "pool-1", body = "call me on 555-030-0001 or alice@example.com" }

[[steps]]
advance = "1m"
request = { as = "sitter:sam", method = "GET", path = "/api/sitter/threads/{walk-alice}/messages" }
expect = { status = 200 }
"#;
    assert!(
        run(steps, RunOptions::default()).passed(),
        "with redaction on, the sitter view is clean"
    );
    // Redaction off, leak gate on: the engine refuses to send the response (500).
    let gated = run(
        steps,
        RunOptions {
            sitter_views: SitterViewConfig {
                redact: false,
                leak_gate: true,
            },
            ..RunOptions::default()
        },
    );
    let report = gated
        .failure
        .expect("the gate turns the leak into a 500")
        .report
        .render();
    assert!(report.contains("expected status 200, got 500"), "{report}");
    // Both off: the harness's own scan of the bytes the sitter received catches it.
    let open = run(
        steps,
        RunOptions {
            sitter_views: SitterViewConfig {
                redact: false,
                leak_gate: false,
            },
            ..RunOptions::default()
        },
    );
    let report = open
        .failure
        .expect("the harness scan catches the leak")
        .report
        .render();
    assert!(report.contains("[leak]"), "{report}");
}

/// Each expectation kind fails, at its step, with a message saying what was found.
fn check_expectation_fails(steps: &str, message: &str) {
    let outcome = run(steps, RunOptions::default());
    let report = outcome
        .failure
        .unwrap_or_else(|| panic!("expected a failure containing {message:?}"))
        .report
        .render();
    assert!(
        report.contains(message),
        "expected {message:?} in:\n{report}"
    );
}

#[test]
fn new_expectations_fail_when_they_should() {
    let sitter_view = r#"
[[steps]]
advance = "1h"
inbound = { from = "alice", to = "pool-1", body = "hello there" }

[[steps]]
request = { as = "sitter:sam", method = "GET", path = "/api/sitter/threads/{walk-alice}/messages" }
"#;
    check_expectation_fails(
        &format!("{sitter_view}expect = {{ body_excludes = [\"hello there\"] }}\n"),
        "the response body contains \"hello there\"",
    );
    check_expectation_fails(
        &format!("{sitter_view}expect = {{ body_matches = 'goodbye' }}\n"),
        "the response body does not match /goodbye/",
    );
    check_expectation_fails(
        &format!("{sitter_view}expect = {{ json = {{ json = '{{\"sitterId\": null}}' }} }}\n"),
        "at `/sitterId`: expected null",
    );
    check_expectation_fails(
        "[[steps]]\nsettings = { minPoolReserve = 1 }\nexpect = { org = \"rival\", events = [{ type = \"settings.rotation.updated\" }] }\n",
        "but the step emitted:\n  │   nothing",
    );
    check_expectation_fails(
        "[[steps]]\nsettings = { minPoolReserve = 9 }\nas = \"rival-owner\"\nexpect = { org = \"rival\", alerts = [] }\n",
        "open alerts are [\"pool.reserve.low\"], expected []",
    );
}
