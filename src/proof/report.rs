//! What the proof found: requirement → check → artifact → pass/fail, as `proof.json` and
//! `proof.md`.

use std::path::Path;

use serde_json::{Value, json};

/// One check of one requirement.
#[derive(Debug, Clone)]
pub struct Check {
    /// `a`, `b`, ... (the seed's runtime requirements) or a named extra.
    pub requirement: &'static str,
    pub check: String,
    /// The file (under the output folder) that shows it.
    pub artifact: &'static str,
    pub pass: bool,
    /// What was seen (on failure: what was expected and what was there).
    pub detail: String,
}

/// The checks of one run, with the requirement titles.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Why the proof stopped early, if it did.
    pub error: Option<String>,
}

/// The requirements, in report order.
pub const REQUIREMENTS: [(&str, &str); 7] = [
    (
        "a",
        "Rotation settings saved from the page survive a reload",
    ),
    (
        "b",
        "Network log: GET 200 → POST 200 → GET 200 of /api/settings/rotation with the saved values",
    ),
    (
        "c",
        "A thread gets a pool number; the audit page shows pool.number.assigned with its fields",
    ),
    (
        "d",
        "inactivityReleaseDays=1, clock advanced, release job run; the audit page shows pool.number.released",
    ),
    (
        "sitter",
        "A sitter's visit: own thread view served, staff page refused, nothing leaked",
    ),
    ("leaks", "The whole HAR passes the engine's leak scanner"),
    ("pages", "The login and alerts pages render"),
];

impl Report {
    /// Records a check and prints it as progress.
    pub fn check(
        &mut self,
        requirement: &'static str,
        check: impl Into<String>,
        artifact: &'static str,
        pass: bool,
        detail: impl Into<String>,
    ) {
        let check = Check {
            requirement,
            check: check.into(),
            artifact,
            pass,
            detail: detail.into(),
        };
        println!(
            "  [{}] {} {} ({})",
            check.requirement,
            if check.pass { "PASS" } else { "FAIL" },
            check.check,
            check.detail
        );
        self.checks.push(check);
    }

    /// True when there is at least one check for every requirement and all passed.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && REQUIREMENTS
                .iter()
                .all(|(id, _)| self.checks.iter().any(|c| c.requirement == *id))
            && self.checks.iter().all(|c| c.pass)
    }

    pub fn to_json(&self) -> Value {
        let requirements: Vec<Value> = REQUIREMENTS
            .iter()
            .map(|(id, title)| {
                let checks: Vec<&Check> = self.checks.iter().filter(|c| c.requirement == *id).collect();
                json!({
                    "id": id,
                    "title": title,
                    "pass": !checks.is_empty() && checks.iter().all(|c| c.pass),
                    "checks": checks.iter().map(|c| json!({
                        "check": c.check, "artifact": c.artifact, "pass": c.pass, "detail": c.detail,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "pass": self.passed(), "error": self.error, "requirements": requirements })
    }

    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Switchboard runtime proof\n\nResult: **{}**\n\n",
            if self.passed() { "PASS" } else { "FAIL" }
        );
        if let Some(error) = &self.error {
            md.push_str(&format!("Stopped early: {error}\n\n"));
        }
        md.push_str("| requirement | check | artifact | result |\n|---|---|---|---|\n");
        for (id, title) in REQUIREMENTS {
            for c in self.checks.iter().filter(|c| c.requirement == id) {
                md.push_str(&format!(
                    "| {id}. {title} | {} — {} | [{}]({}) | {} |\n",
                    c.check.replace('|', "\\|"),
                    c.detail.replace('|', "\\|"),
                    c.artifact,
                    c.artifact,
                    if c.pass { "pass" } else { "**FAIL**" }
                ));
            }
        }
        md
    }

    /// Writes `proof.json` and `proof.md` into `out`.
    pub fn write(&self, out: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(&self.to_json()).map_err(std::io::Error::other)?;
        std::fs::write(out.join("proof.json"), json)?;
        std::fs::write(out.join("proof.md"), self.to_markdown())
    }
}
