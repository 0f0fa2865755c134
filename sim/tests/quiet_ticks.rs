//! The release task completes a quiet tick (no row changed since the last full tick, nothing
//! due before the next instant anything can be due) from the judge's kept reading instead of
//! running the release job, the delivery and the judge on the database. A run must report
//! exactly what it reports with every tick run in full (`simulation::with_every_tick`): the
//! timeline, every step's status and response body, the tick count and the verdict, with the
//! same violation text at the same step, including the planted bugs only the judge can see.

use std::path::Path;

use switchboard_sim::explore;
use switchboard_sim::runner::{self, Outcome, RunOptions};
use switchboard_sim::scenario::Scenario;
use switchboard_sim::simulation::{quiet_ticks, with_every_tick};

thread_local! {
    /// Quiet ticks skipped by this test's runs with skipping on.
    static SKIPPED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Everything a run reports, as text.
fn report(outcome: &Outcome) -> String {
    format!(
        "steps {} ticks {} statuses {:?}\nfailure at {:?}:\n{}\ntimeline:\n{}\ndump:\n{}",
        outcome.steps_run,
        outcome.ticks,
        outcome.statuses,
        outcome.failure.as_ref().map(|f| f.step),
        outcome
            .failure
            .as_ref()
            .map(|f| f.report.render())
            .unwrap_or_default(),
        outcome.timeline,
        outcome.dump.join("\n"),
    )
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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a scenario directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() > 5, "the scenario files are there");
    let options = RunOptions {
        dump: true,
        ..RunOptions::default()
    };
    for file in files {
        let source = std::fs::read_to_string(&file).expect("readable");
        if let Ok(scenario) = Scenario::parse(&file, &source) {
            same_both_ways(&scenario, &options);
        }
    }
    assert!(
        SKIPPED.with(std::cell::Cell::get) > 0,
        "some ticks were skipped"
    );
}

const WORLD: &str = r#"
name = "invariant probe"
start = "2026-03-02T09:00:00Z"

[settings]
minPoolReserve = 0
inactivityReleaseDays = 1
maxConcurrentThreadsPerPoolNumber = 1

[[numbers]]
name = "pool-1"
e164 = "+15550100001"

[[numbers]]
name = "pool-2"
e164 = "+15550100002"

[[sitters]]
name = "sam"
phone = "+15550200001"
email = "sam@example.com"

[[clients]]
name = "alice"
phone = "+15550300001"
email = "alice@example.com"

[[clients]]
name = "bob"
phone = "+15550300002"
email = "bob@example.com"

[[clients]]
name = "zed"
phone = "+15550300099"
email = "zed@example.com"
org = "rival"

[[bookings]]
name = "walk-alice"
client = "alice"
sitter = "sam"
service = "Dog Walking"
start = "+1h"
end = "+3h"

[[bookings]]
name = "walk-bob"
client = "bob"
sitter = "sam"
service = "Dog Walking"
start = "+5d"
end = "+5d1h"
status = "pending"
"#;

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
