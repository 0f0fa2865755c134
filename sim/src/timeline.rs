//! The audit timeline as humans read it (and as the insta snapshots store it): the world
//! setup's events as one summary line (their count per event type: the world is the scenario
//! file itself, so repeating it event by event only hides what the steps did), then one block
//! per event, with the offset from the scenario start, the instant, the type, the actor and the
//! payload one key per line in sorted order, every id replaced by its symbolic name.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;
use switchboard_core::audit::AuditEvent;

use crate::names::Names;
use crate::scenario::time::format_duration;

/// Renders the timeline of each org; `setup_seq` holds, per org, the sequence number of the last
/// event the world setup wrote (events up to it are summarised).
pub fn render(
    title: &str,
    start: i64,
    orgs: &[(&str, Vec<AuditEvent>)],
    setup_seq: &BTreeMap<&str, i64>,
    names: &Names,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {title}");
    for (org, events) in orgs {
        if events.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## org {org}: {} events", events.len());
        let last_setup = setup_seq.get(org).copied().unwrap_or(0);
        let (setup, steps): (Vec<_>, Vec<_>) = events.iter().partition(|e| e.seq <= last_setup);
        if !setup.is_empty() {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for event in &setup {
                *counts.entry(event.event_type.as_str()).or_default() += 1;
            }
            let counts: Vec<String> = counts.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
            let _ = writeln!(
                out,
                "\n#1-#{last_setup} setup: {} events: {}",
                setup.len(),
                counts.join(", ")
            );
        }
        for event in steps {
            let offset = event.at.0 - start;
            let offset = if offset == 0 {
                "+0s".to_string()
            } else {
                format!("+{}", format_duration(offset))
            };
            let _ = writeln!(
                out,
                "\n#{} {offset} ({}) {} by {}",
                event.seq,
                event.at,
                event.event_type,
                names.actor(&event.actor)
            );
            if let Value::Object(payload) = &event.payload {
                for (key, value) in payload {
                    let _ = writeln!(out, "  {key}: {}", names.symbolize(&value.to_string()));
                }
            }
        }
    }
    out
}
