//! `switchboard schema` prints the JSON Schema of the scenario format, and the committed
//! `scenarios/scenario.schema.json` (what editors load) is exactly that output.

use std::path::Path;
use std::process::Command;

#[test]
fn committed_schema_matches_the_command_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("schema")
        .output()
        .expect("run switchboard schema");
    assert!(output.status.success(), "switchboard schema failed");
    let printed = String::from_utf8(output.stdout).expect("UTF-8 schema");
    let committed =
        std::fs::read_to_string(root.join("scenarios/scenario.schema.json")).unwrap_or_default();
    assert!(
        printed == committed,
        "scenarios/scenario.schema.json is stale: run `cargo run -- schema > scenarios/scenario.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).expect("schema is JSON");
    for key in ["name", "start", "numbers", "steps"] {
        assert!(
            schema["properties"].get(key).is_some(),
            "the schema lacks top-level `{key}`"
        );
    }
}
