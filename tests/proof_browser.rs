//! `switchboard proof` end to end: the real binary, a real headless Chromium, and the
//! `proof.json` it writes. Skipped (with the reason printed) where no Chromium is installed,
//! except under CI (`CI=true`), where a missing browser fails the test.

use std::path::Path;
use std::process::Command;

const CHROME_NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

fn chromium_on_path() -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| CHROME_NAMES.iter().any(|name| dir.join(name).is_file()))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

#[test]
fn proof_passes_every_requirement_in_a_real_browser() {
    if !chromium_on_path() {
        assert!(
            !in_ci(),
            "CI=true but no Chromium on PATH ({}): .ci/run must install it",
            CHROME_NAMES.join(", ")
        );
        println!(
            "skipped: no Chromium on PATH ({}); install one to run the browser proof",
            CHROME_NAMES.join(", ")
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["proof", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "proof failed ({:?}):\n{stdout}\n{stderr}",
        run.status
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("proof.json")).unwrap()).unwrap();
    assert_eq!(report["pass"], true, "{report:#}");
    let requirements = report["requirements"].as_array().unwrap();
    let ids: Vec<&str> = requirements
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in ["a", "b", "c", "d", "sitter", "leaks"] {
        assert!(ids.contains(&id), "proof.json lacks requirement {id}");
    }
    for requirement in requirements {
        let checks = requirement["checks"].as_array().unwrap();
        assert!(!checks.is_empty(), "{} has no checks", requirement["id"]);
        for check in checks {
            assert_eq!(check["pass"], true, "{check}");
            let artifact = check["artifact"].as_str().unwrap();
            assert!(
                out.path().join(artifact).is_file(),
                "artifact {artifact} missing"
            );
        }
    }
    for png in [
        "a-settings-after-reload.png",
        "b-network-log.png",
        "c-audit-assigned.png",
        "d-audit-released.png",
    ] {
        let bytes = std::fs::read(out.path().join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{png} is a PNG");
    }
    har_has_the_rotation_round_trip(&out.path().join("proof.har"));
}

/// Read independently of the proof's own checks: the HAR holds GET → POST → GET of the
/// settings API, all 200, the last answering the saved values.
fn har_has_the_rotation_round_trip(har: &Path) {
    let har: serde_json::Value = serde_json::from_slice(&std::fs::read(har).unwrap()).unwrap();
    assert_eq!(har["log"]["version"], "1.2");
    let calls: Vec<&serde_json::Value> = har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["request"]["url"]
                .as_str()
                .unwrap()
                .ends_with("/api/settings/rotation")
        })
        .collect();
    let methods: Vec<(&str, i64)> = calls
        .iter()
        .map(|e| {
            (
                e["request"]["method"].as_str().unwrap(),
                e["response"]["status"].as_i64().unwrap(),
            )
        })
        .collect();
    let post = methods
        .iter()
        .position(|m| *m == ("POST", 200))
        .expect("a POST 200");
    assert!(methods[..post].contains(&("GET", 200)), "{methods:?}");
    let after = methods[post + 1..]
        .iter()
        .position(|m| *m == ("GET", 200))
        .expect("a GET 200 after")
        + post
        + 1;
    let body: serde_json::Value = serde_json::from_str(
        calls[after]["response"]["content"]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["maxConcurrentThreadsPerPoolNumber"], 2);
    assert_eq!(body["stickyReuseKey"], "threadId");
}
