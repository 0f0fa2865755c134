//! An in-memory engine reuses a pooled connection whose rows were reset to the template
//! (core's `db::open`), so its prepared statements survive from case to case. A case run on a
//! reused connection must give exactly what it gives on a fresh one: the timeline (ids, audit
//! events), every step's status and response body, the release runs and the verdict.

mod common;

use std::path::Path;

use common::report;
use switchboard_core::db::{fresh_connections, reused_connections};
use switchboard_sim::explore;
use switchboard_sim::runner::{self, RunOptions};
use switchboard_sim::scenario::Scenario;

/// Runs `scenario` on reused connections (twice: the second surely reuses the first's) and on
/// a fresh one, and requires the same report from all three.
fn same_both_ways(scenario: &Scenario, options: &RunOptions) {
    let reused_once = report(&runner::run(scenario, options));
    let before = reused_connections();
    let reused_again = report(&runner::run(scenario, options));
    assert_eq!(
        reused_connections(),
        before + 1,
        "the second run reused a connection"
    );
    let fresh = fresh_connections(|| report(&runner::run(scenario, options)));
    assert_eq!(reused_again, fresh, "{}", scenario.path().display());
    assert_eq!(reused_once, fresh, "{}", scenario.path().display());
}

#[test]
fn explored_cases_report_the_same_on_reused_and_fresh_connections() {
    let options = RunOptions {
        dump: true,
        ..explore::options()
    };
    for case in 0..24 {
        let ops = explore::generate(11, case, 40);
        let source = explore::render(11, &ops);
        let scenario = Scenario::parse(Path::new("explored.toml"), &source).expect("parses");
        same_both_ways(&scenario, &options);
    }
}

#[test]
fn scenario_files_report_the_same_on_reused_and_fresh_connections() {
    let options = RunOptions {
        dump: true,
        ..RunOptions::default()
    };
    for scenario in common::scenarios() {
        same_both_ways(&scenario, &options);
    }
}
