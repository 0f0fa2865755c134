//! `switchboard run` as CI sees it: exit codes, `--filter`, `--dump`, `--junit` and GitHub
//! annotations, through the real binary.

use std::path::Path;
use std::process::{Command, Output};

const FAILING: &str = r#"
name = "a failing probe"
start = "2026-03-02T09:00:00Z"

[[numbers]]
name = "pool-1"
e164 = "+15550100001"

[[clients]]
name = "alice"
phone = "+15550300001"
email = "alice@example.com"

[[bookings]]
name = "walk"
client = "alice"
service = "Dog Walking"
start = "+1h"
end = "+2h"

[[steps]]
request = { as = "owner", method = "GET", path = "/api/settings/rotation" }
expect = { status = 201 }
"#;

fn switchboard(args: &[&str], dir: &Path, github: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_ACTIONS");
    if github {
        command.env("GITHUB_ACTIONS", "true");
    }
    command.output().expect("the binary runs")
}

fn check(args: &[&str], github: bool, code: i32, stdout_has: &[&str], junit_has: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("probe.toml"), FAILING).expect("write");
    let output = switchboard(args, dir.path(), github);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(code), "{args:?}:\n{stdout}");
    for text in stdout_has {
        assert!(stdout.contains(text), "{args:?}: no {text:?} in\n{stdout}");
    }
    if !junit_has.is_empty() {
        let xml = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit written");
        for text in junit_has {
            assert!(xml.contains(text), "no {text:?} in\n{xml}");
        }
    }
    if !github {
        assert!(
            !stdout.contains("::error"),
            "annotations only under GITHUB_ACTIONS"
        );
    }
}

#[test]
fn run_reports_for_ci() {
    check(
        &["run", ".", "--filter", "no-such-scenario"],
        false,
        2,
        &["--filter \"no-such-scenario\" matches no scenario"],
        &[],
    );
    check(
        &["run", ".", "--junit", "junit.xml"],
        false,
        1,
        &["FAIL  ./probe.toml"],
        &[
            "tests=\"1\"",
            "failures=\"1\"",
            "name=\"a failing probe\"",
            "expected status 201, got 200",
        ],
    );
    check(
        &["run", "."],
        true,
        1,
        &["::error file=./probe.toml,line=23,col=21::step 1: expected status 201, got 200"],
        &[],
    );
    check(
        &["run", ".", "--dump"],
        false,
        1,
        &[
            "GET /api/settings/rotation as owner",
            "status: 200",
            "response: {\"poolSelectionStrategy\":\"LRU\"",
        ],
        &[],
    );
}

#[test]
fn explore_runs_a_time_budget_on_several_jobs_and_prints_the_seed_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = switchboard(
        &[
            "explore", "--time", "1s", "--jobs", "2", "--seed", "9", "--steps", "5",
        ],
        dir.path(),
        false,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("exploring: seed 9 (2 jobs, 5 steps per case, 1s)"),
        "{stdout}"
    );
    assert!(stdout.contains("every invariant held"), "{stdout}");
}
