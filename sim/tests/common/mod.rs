//! Fixtures shared by the harness's integration tests (each test crate uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use switchboard_sim::runner::Outcome;
use switchboard_sim::scenario::Scenario;

/// The world the planted-bug and equivalence tests run their steps in: two pool numbers (cap 1),
/// a sitter, two clients of the main org and one of the rival org, a booking in an active window
/// and a pending one.
pub const PROBE_WORLD: &str = r#"
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

/// Every scenario file under `scenarios/`, sorted by path.
pub fn scenario_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")];
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
    files
}

/// Every scenario under `scenarios/` parsed, sorted by path; the base worlds under
/// `scenarios/worlds/` (merged by `extends`, not runnable alone) left out. Panics on any other
/// file that does not parse, so a test over them cannot silently cover fewer.
pub fn scenarios() -> Vec<Scenario> {
    let worlds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/worlds");
    let files = scenario_files()
        .into_iter()
        .filter(|f| !f.starts_with(&worlds));
    let parse = |file: PathBuf| {
        let source = std::fs::read_to_string(&file).expect("readable");
        Scenario::parse(&file, &source).unwrap_or_else(|e| panic!("{}", e.render()))
    };
    files.map(parse).collect()
}

/// Everything a run reports, as text: the equivalence tests compare two runs by it.
pub fn report(outcome: &Outcome) -> String {
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
