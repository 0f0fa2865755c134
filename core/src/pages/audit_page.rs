//! `GET /audit`: the timeline, newest first, filtered by type and thread, one page at a time;
//! every payload field shown as a dotted path (`capacityCheck.maxConcurrent`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use serde_json::Value;

use super::{AUDIT_PAGE_SIZE, PageQuery, page_result, render, thread_param, user_view, v};
use crate::audit::AuditEvent;
use crate::auth::Caller;
use crate::{Engine, Error};

/// One row of the timeline.
#[derive(Serialize)]
struct EventRow {
    seq: i64,
    at: String,
    #[serde(rename = "type")]
    event_type: String,
    actor: String,
    thread: Option<crate::ids::ThreadId>,
    /// `(dotted path, value)` for every leaf of the payload, in payload order.
    fields: Vec<(String, String)>,
}

/// Every leaf of `value` under `path`: objects by `.key`, arrays by `[i]`; strings unquoted.
pub fn flatten(path: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(&child_path, child, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), child, out);
            }
        }
        Value::String(text) => out.push((path.to_string(), text.clone())),
        other => out.push((path.to_string(), other.to_string())),
    }
}

fn row(event: AuditEvent) -> EventRow {
    let mut fields = Vec::new();
    flatten("", &event.payload, &mut fields);
    EventRow {
        seq: event.seq,
        at: event.at.rfc3339(),
        event_type: event.event_type.to_string(),
        actor: event.actor,
        thread: event.thread_id,
        fields,
    }
}

/// The filter as given, echoed into the form and the paging links.
#[derive(Serialize, Default)]
struct Filter {
    #[serde(rename = "type")]
    event_type: String,
    thread: String,
}

impl Filter {
    fn link(&self, before: Option<i64>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if !self.event_type.is_empty() {
            query.append_pair("type", &self.event_type);
        }
        if !self.thread.is_empty() {
            query.append_pair("thread", &self.thread);
        }
        if let Some(before) = before {
            query.append_pair("before", &before.to_string());
        }
        format!("/audit?{}", query.finish())
    }
}

/// `GET /audit?type=&thread=&before=`.
pub async fn audit_page(
    State(engine): State<Arc<Engine>>,
    Extension(caller): Extension<Caller>,
    super::Query(params): PageQuery,
) -> Response {
    let param = |name: &str| {
        params
            .get(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let filter = Filter {
        event_type: param("type"),
        thread: param("thread"),
    };
    page_result((|| {
        let before = match param("before") {
            text if text.is_empty() => None,
            text => Some(text.parse::<i64>().map_err(|_| {
                Error::invalid("before", format!("must be an event number, got {text:?}"))
            })?),
        };
        let (thread, error) = match thread_param(&filter.thread) {
            Ok(thread) => (thread, None),
            Err(error) => (None, Some(error.to_string())),
        };
        let event_type = Some(filter.event_type.as_str()).filter(|t| !t.is_empty());
        // A bad thread filter shows the error and no events (limit 0), with the type list.
        let limit = if error.is_some() {
            0
        } else {
            AUDIT_PAGE_SIZE + 1
        };
        let (types, mut events) =
            engine.audit_page(caller.org, event_type, thread, before, limit)?;
        let has_older = events.len() as i64 > AUDIT_PAGE_SIZE;
        events.truncate(AUDIT_PAGE_SIZE as usize);
        let older = has_older.then(|| filter.link(events.last().map(|e| e.seq)));
        let newer = before.map(|_| filter.link(None));
        let events: Vec<EventRow> = events.into_iter().map(row).collect();
        Ok(render(
            "audit.html",
            if error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            },
            context! {
                title => "Audit timeline", active => "audit", user => v(&user_view(&caller)),
                types, filter => v(&filter), events => v(&events), older, newer, error, page_size => AUDIT_PAGE_SIZE,
            },
        ))
    })())
}
