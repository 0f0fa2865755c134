//! The table-wide row checks read only what the change feed reports, and debug builds catch a
//! feed that misses a write.

use std::sync::Arc;

use switchboard_core::messaging::RecordingProvider;
use switchboard_core::{Engine, EngineConfig, Timestamp};

use super::{Checker, StepFacts, Violation};
use crate::clock::SimClock;
use crate::simulation::block_on_paused;
use crate::world;

/// Builds the world, checks it clean, prepares the feed with `before`, then writes `sql` on
/// the engine's connection and returns what the next check finds.
fn after_write(before: impl FnOnce(&Checker, &Engine), sql: &str) -> Vec<Violation> {
    let scenario = crate::test_world::one_booking();
    block_on_paused(async {
        let engine = Engine::new(
            EngineConfig::default(),
            Arc::new(SimClock::new(Timestamp(scenario.start))),
            Arc::new(RecordingProvider::default()),
        )
        .expect("engine");
        let (mut checker, _judge) = Checker::with_judge(&engine);
        world::build(&engine, &scenario).expect("world");
        let facts = StepFacts::default();
        assert_eq!(
            checker.check(&engine, &facts),
            Vec::new(),
            "the world is clean"
        );
        // A write that breaks no rule is read through the feed, and the checks stay clean.
        engine
            .inspect(|c| c.execute_batch("UPDATE threads SET bound_cap = bound_cap"))
            .expect("a harmless write");
        assert_eq!(checker.check(&engine, &facts), Vec::new(), "still clean");
        before(&checker, &engine);
        engine
            .inspect(|c| c.execute_batch(sql))
            .expect("the write runs");
        checker.check(&engine, &facts)
    })
    .expect("runtime")
}

const DRIFT: &str = "UPDATE message_numbers SET open_load = open_load + 1";

fn invariants(found: &[Violation]) -> Vec<&str> {
    found.iter().map(|v| v.invariant).collect()
}

#[test]
fn a_reported_write_is_checked_through_the_feed() {
    let found = after_write(|_, _| {}, DRIFT);
    assert_eq!(invariants(&found), ["capacity"], "{found:?}");
    assert!(
        found[0].detail.contains("records a load of 2 but serves 1"),
        "{found:?}"
    );
}

#[test]
#[cfg(debug_assertions)]
fn a_write_the_feed_missed_is_a_harness_violation_in_debug_builds() {
    let blind = |checker: &Checker, _: &Engine| checker.feed.as_ref().expect("feed").blind();
    let found = after_write(blind, DRIFT);
    // Blinded, the feed names no number: reading only the changed rows finds nothing, the full
    // reading finds the drift; both are reported, the fault by its own message.
    assert_eq!(invariants(&found), ["capacity", "harness"], "{found:?}");
    assert!(found[0].detail.contains("records a load of 2"), "{found:?}");
    assert!(
        found[1]
            .detail
            .contains("reading only the changed rows found []"),
        "{found:?}"
    );
}

#[test]
fn a_write_the_hook_never_saw_makes_the_checks_read_everything() {
    // Another hook replaces the feed's: the connection's change count no longer matches what
    // the feed reported, so the checks read every row (no harness difference).
    let unhook = |_: &Checker, engine: &Engine| {
        engine
            .inspect(|c| c.update_hook(None::<fn(rusqlite::hooks::Action, &str, &str, i64)>))
            .expect("the hook is removed");
    };
    let found = after_write(unhook, DRIFT);
    assert_eq!(invariants(&found), ["capacity"], "{found:?}");
}

#[test]
fn pool_counters_that_drift_are_caught_from_the_kept_loads() {
    // Only `pool_stats` is written: the feed scopes the check to its org, whose counts come
    // from the shadow's kept loads (and, in debug builds, from a full count too: they agree).
    let found = after_write(|_, _| {}, "UPDATE pool_stats SET with_room = with_room + 1");
    assert_eq!(invariants(&found), ["capacity"], "{found:?}");
    assert!(found[0].detail.contains("pool numbers"), "{found:?}");
}
