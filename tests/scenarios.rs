//! Every scenario file under `scenarios/` is its own test (libtest-mimic), named by its path:
//! `cargo test --test scenarios capacity/` or `cargo nextest run -E 'test(lru)'` pick some.
//!
//! Each test runs its scenario twice (the audit timelines must be byte-identical: determinism)
//! and compares the timeline with its insta snapshot in `snapshots/`. One more test fails on
//! pending (`.snap.new`) or unreferenced snapshots.
//!
//! Accept new or changed snapshots with `INSTA_UPDATE=always cargo test --test scenarios`
//! (or `cargo insta review`), then read the diff.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use switchboard_sim::runner::{self, RunOptions};
use switchboard_sim::scenario::Scenario;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `scenarios/capacity/lru.toml` → `capacity/lru`.
fn test_name(file: &Path) -> String {
    let relative = file.strip_prefix(root().join("scenarios")).unwrap_or(file);
    relative
        .with_extension("")
        .to_string_lossy()
        .replace('\\', "/")
}

/// `capacity/lru` → `capacity__lru` (the snapshot file is `snapshots/capacity__lru.snap`).
fn snapshot_name(test: &str) -> String {
    test.replace('/', "__")
}

fn check_scenario(file: &Path, test: &str) -> Result<(), Failed> {
    let relative = file.strip_prefix(root()).unwrap_or(file);
    let source = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let scenario = Scenario::parse(relative, &source).map_err(|e| e.render())?;
    let first = runner::run(&scenario, &RunOptions::default());
    if let Some(failure) = &first.failure {
        return Err(failure.report.render().into());
    }
    let second = runner::run(&scenario, &RunOptions::default());
    if first.timeline != second.timeline {
        let line = first
            .timeline
            .lines()
            .zip(second.timeline.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(format!(
            "not deterministic: two runs of the same file and seed differ at timeline line {}",
            line + 1
        )
        .into());
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(file);
    let name = snapshot_name(test);
    let timeline = first.timeline;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, timeline))
    }))
    .map_err(|_| {
        Failed::from(format!(
            "audit timeline differs from snapshots/{}.snap (see above)",
            snapshot_name(test)
        ))
    })
}

/// A `leaks/` scenario passes only because redaction works: with redaction off, the engine's leak
/// gate refuses the sitter response (500), and with the gate off too, the harness's scan of the
/// bytes the sitter received fails the step.
fn check_fails_without_redaction(file: &Path) -> Result<(), Failed> {
    use switchboard_core::SitterViewConfig;
    let relative = file.strip_prefix(root()).unwrap_or(file);
    let source = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let scenario = Scenario::parse(relative, &source).map_err(|e| e.render())?;
    let run = |redact, leak_gate| {
        let options = RunOptions {
            sitter_views: SitterViewConfig { redact, leak_gate },
            ..RunOptions::default()
        };
        runner::run(&scenario, &options)
            .failure
            .map(|f| f.report.message().to_string())
    };
    let gated = run(false, true).ok_or(
        "with redaction off the scenario still passed: the leak gate let a response through",
    )?;
    if !gated.contains("got 500") {
        return Err(
            format!("with redaction off, expected the leak gate's 500, got:\n{gated}").into(),
        );
    }
    let open = run(false, false).ok_or(
        "with redaction and the gate off the scenario still passed: the harness scan missed a leak",
    )?;
    if !open.contains("[leak]") {
        return Err(format!(
            "with both defences off, expected the harness scan's [leak] violation, got:\n{open}"
        )
        .into());
    }
    Ok(())
}

/// No `.snap.new` files left behind, and every snapshot belongs to a scenario.
fn check_snapshots(tests: &[String]) -> Result<(), Failed> {
    let dir = root().join("snapshots");
    let mut problems = Vec::new();
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = file.strip_suffix(".snap") {
            if !tests.iter().any(|t| snapshot_name(t) == stem) {
                problems.push(format!(
                    "unreferenced snapshot snapshots/{file}: no scenario produces it (delete it)"
                ));
            }
        } else if file.ends_with(".snap.new") || file.ends_with(".pending-snap") {
            problems.push(format!(
                "pending snapshot snapshots/{file}: review it (cargo insta review) or delete it"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let files = switchboard_sim::discover(&[root().join("scenarios")])
        .unwrap_or_else(|e| panic!("cannot list scenarios: {e}"));
    let mut trials = Vec::new();
    let mut names = Vec::new();
    for file in files {
        let name = test_name(&file);
        names.push(name.clone());
        if name.starts_with("leaks/") {
            let file = file.clone();
            trials.push(Trial::test(
                format!("{name}/fails-without-redaction"),
                move || check_fails_without_redaction(&file),
            ));
        }
        trials.push(Trial::test(name.clone(), move || {
            check_scenario(&file, &name)
        }));
    }
    trials.push(Trial::test(
        "snapshots/no-pending-or-unreferenced",
        move || check_snapshots(&names),
    ));
    libtest_mimic::run(&args, trials).exit();
}
