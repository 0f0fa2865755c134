//! The release task completes a quiet tick (no row changed since the last full tick, nothing
//! due before the next instant anything can be due) from the judge's kept reading instead of
//! running the release job, the delivery and the judge on the database. A run must report
//! exactly what it reports with every tick run in full (`simulation::with_every_tick`): the
//! timeline, every step's status and response body, the tick count and the verdict, with the
//! same violation text at the same step, including the planted bugs only the judge can see.

mod common;

use std::path::Path;

use common::report;
use switchboard_sim::explore;
use switchboard_sim::runner::{self, RunOptions};
use switchboard_sim::scenario::Scenario;
use switchboard_sim::simulation::{quiet_ticks, with_every_tick};

thread_local! {
    /// Quiet ticks skipped by this test's runs with skipping on.
    static SKIPPED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Runs `scenario` with quiet ticks skipped and with every tick in full; the reports must be
/// equal. Returns the report.
fn same_both_ways(scenario: &Scenario, options: &RunOptions) -> String {
    let before = quiet_ticks();
    let skipped = report(&runner::run(scenario, options));
    let skipped_ticks = quiet_ticks() - before;
    let full = with_every_tick(|| report(&runner::run(scenario, options)));
    assert_eq!(
        quiet_ticks(),
        before + skipped_ticks,
        "with every tick in full none is skipped"
    );
    SKIPPED.with(|n| n.set(n.get() + skipped_ticks));
    assert_eq!(skipped, full, "{}", scenario.path().display());
    skipped
}

#[test]
fn explored_cases_report_the_same_with_quiet_ticks_skipped() {
    let options = RunOptions {
        dump: true,
        ..explore::options()
    };
    let mut ticks = 0;
    for case in 0..32 {
        let ops = explore::generate(23, case, 60);
        let source = explore::render(23, &ops);
        let scenario = Scenario::parse(Path::new("explored.toml"), &source).expect("parses");
        let report = same_both_ways(&scenario, &options);
        ticks += report
            .split_whitespace()
            .nth(3)
            .and_then(|n| n.parse::<u64>().ok())
            .expect("a tick count");
    }
    assert!(ticks > 10_000, "the cases crossed many ticks ({ticks})");
    let skipped = SKIPPED.with(std::cell::Cell::get);
    assert!(
        skipped > ticks / 2,
        "most ticks were quiet and skipped ({skipped} of {ticks})"
    );
}

#[test]
fn scenario_files_report_the_same_with_quiet_ticks_skipped() {
    let options = RunOptions {
        dump: true,
        ..RunOptions::default()
    };
    for scenario in common::scenarios() {
        same_both_ways(&scenario, &options);
    }
    assert!(
        SKIPPED.with(std::cell::Cell::get) > 0,
        "some ticks were skipped"
    );
}

use common::PROBE_WORLD as WORLD;

/// Runs the steps with `plant` after step 0, both ways; the run must fail the same way.
fn planted_same_both_ways(steps: &str, plant: &'static str) -> String {
    let source = format!("{WORLD}\n{steps}");
    let scenario = Scenario::parse(Path::new("probe.toml"), &source)
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let options = RunOptions {
        plant: Some(Box::new(move |conn, step| {
            if step.index == 0 {
                conn.execute_batch(plant).expect("planted SQL runs");
            }
        })),
        dump: true,
        ..RunOptions::default()
    };
    same_both_ways(&scenario, &options)
}

#[test]
fn a_deadline_only_the_judge_knows_wakes_the_quiet_ticks() {
    // A stale deadline index: the engine sees nothing due for years, the judge knows alice's
    // thread is due after a day; the overdue violation names the same tick both ways.
    let report = planted_same_both_ways(
        "[[steps]]\nadvance = \"1m\"\n\n[[steps]]\nadvance = \"3d\"\n",
        "UPDATE threads SET release_due_at = 99999999999 WHERE booking_id = 1;",
    );
    assert!(report.contains("[release]"), "{report}");
    assert!(
        SKIPPED.with(std::cell::Cell::get) > 0,
        "some ticks were skipped"
    );
    // An engine deadline earlier than the judge's: the release runs at the engine's tick.
    let report = planted_same_both_ways(
        "[[steps]]\nadvance = \"1m\"\n\n[[steps]]\nadvance = \"1d\"\n",
        "UPDATE threads SET bound_at = bound_at - 2 * 86400, release_due_at = 0 WHERE booking_id = 1;",
    );
    assert!(report.contains("[release]"), "{report}");
}
