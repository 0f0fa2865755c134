//! Every `tests/broken/x.toml` must fail to parse with exactly the report in
//! `tests/broken/x.expected` (as produced by `ScenarioError::render`).
//!
//! Regenerate the expected files with `BLESS=1 cargo test --test
//! broken_scenarios`, then review the diff by eye.

use std::fs;
use std::path::{Path, PathBuf};

use switchboard_sim::scenario::Scenario;

const DIR: &str = "tests/broken";

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    cases
}

/// First differing line, for a readable failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        let (el, al) = (e.get(i), a.get(i));
        if el != al {
            return format!(
                "first difference at line {}:\n  expected: {:?}\n  actual:   {:?}",
                i + 1,
                el.copied().unwrap_or("<end of file>"),
                al.copied().unwrap_or("<end of file>")
            );
        }
    }
    "only trailing whitespace/newlines differ".to_string()
}

#[test]
fn broken_scenarios_report_exact_errors() {
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let cases = cases();
    assert!(cases.len() >= 18, "expected at least 18 broken scenarios");
    let mut failures = Vec::new();
    for file in &cases {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        // A relative path keeps the messages machine-independent.
        let shown = Path::new(DIR).join(format!("{stem}.toml"));
        let source = fs::read_to_string(file).expect("read broken scenario");
        let actual = match Scenario::parse(&shown, &source) {
            Ok(_) => {
                failures.push(format!("{stem}: parsed successfully but should fail"));
                continue;
            }
            Err(e) => {
                let rendered = e.render();
                assert!(
                    !rendered.contains('\u{1b}'),
                    "{stem}: rendered output contains ANSI escapes"
                );
                let one_line = e.one_line();
                assert!(
                    one_line.starts_with(&format!("tests/broken/{stem}.toml:")),
                    "{stem}: one-line form lacks file:line:col: {one_line}"
                );
                assert!(
                    rendered.contains(&format!("[tests/broken/{stem}.toml:")),
                    "{stem}: rendered output lacks [file:line:col]"
                );
                rendered
            }
        };
        let expected_path = file.with_extension("expected");
        if bless {
            fs::write(&expected_path, &actual).expect("write .expected");
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{stem}: rendered error differs from {stem}.expected ({})\n--- expected\n{expected}\n--- actual\n{actual}",
                first_difference(&expected, &actual)
            )),
            Err(_) => failures.push(format!(
                "{stem}: missing {stem}.expected; actual output:\n{actual}"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken scenarios failed (run with BLESS=1 to accept the new output):\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
