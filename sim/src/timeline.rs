//! The audit timeline as humans read it (and as the insta snapshots store it): one block per
//! event, with the offset from the scenario start, the instant, the type, the actor and the
//! payload one key per line in sorted order, every id replaced by its symbolic name.

use std::fmt::Write;

use serde_json::Value;
use switchboard_core::audit::AuditEvent;

use crate::names::Names;
use crate::scenario::time::format_duration;

pub fn render(title: &str, start: i64, orgs: &[(&str, Vec<AuditEvent>)], names: &Names) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {title}");
    for (org, events) in orgs {
        if events.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## org {org}: {} events", events.len());
        for event in events {
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
