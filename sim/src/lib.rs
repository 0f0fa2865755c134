//! switchboard-sim: runs engineer-written scenario files through the real engine on a simulated
//! clock (tokio paused time) and in-memory SQLite, checking expectations and invariants after
//! every step and rendering the audit timeline for snapshots.
//!
//! Entry points: [`scenario::Scenario::load`] to read a file, [`runner::run`] to run it,
//! [`discover`] to find scenario files under a folder.

#![warn(missing_docs)]

pub mod clock;
pub mod explore;
pub mod http;
pub mod invariants;
pub mod leak_oracle;
pub mod names;
pub mod runner;
pub mod scenario;
pub mod simulation;
#[cfg(test)]
mod test_world;
pub mod timeline;
pub mod world;

use std::path::{Path, PathBuf};

/// Every `*.toml` file under `paths` (files as given, folders recursively, skipping `worlds/`
/// folders of base worlds), sorted, without
/// duplicates. Errors name the path that could not be read.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        collect(path, &mut found)?;
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn collect(path: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_file() {
        found.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
        let child = entry.path();
        if child.is_dir() {
            // `worlds/` folders hold base worlds that scenarios extend, not scenarios.
            if child.file_name().is_some_and(|name| name != "worlds") {
                collect(&child, found)?;
            }
        } else if child.extension().is_some_and(|e| e == "toml") {
            found.push(child);
        }
    }
    Ok(())
}
