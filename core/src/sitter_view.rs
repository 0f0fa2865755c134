//! What a sitter may see (DESIGN.md §2): their own threads while an assignment window is active,
//! with the client's first name, the thread's business number, and messages whose bodies,
//! provider errors, routing traces and audit payloads are redacted before serialization.
//!
//! Every sitter response then passes [`crate::Engine::seal_sitter_response`]: the serialized bytes are
//! scanned for every known real phone and email, and a response with a finding is refused
//! (500 + `sitter.response.blocked` audit). A missed redaction is an incident, not a leak.

use rusqlite::{Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::access;
use crate::audit::{self, AuditQuery, EventType, Subject};
use crate::auth::Caller;
use crate::ctx::Ctx;
use crate::ids::{BookingId, MessageId, OrgId, ThreadId};
use crate::leak::{LeakScanner, Scan};
use crate::messaging::Direction;
use crate::pool::ThreadStatus;
use crate::{Error, Result, Timestamp};

/// A thread as its sitter sees it (`GET /api/sitter/threads`, and the `thread` of
/// `GET /api/sitter/threads/{id}/messages`): the client's first name only, the thread's business
/// number (never the client's phone) and the booking's times.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SitterThreadView {
    /// The thread.
    pub id: ThreadId,
    /// Open or closed (archived threads are never shown).
    pub status: ThreadStatus,
    /// The client, by first name only.
    pub client: SitterClientView,
    /// The pool number the thread is bound to; `null` while it has none.
    pub number: Option<BusinessNumberView>,
    /// The booking that gives the sitter access.
    pub booking: SitterBookingView,
    /// When the last message was stored.
    pub last_message_at: Option<Timestamp>,
}

/// The one client detail a sitter sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SitterClientView {
    /// The client's first name.
    pub first_name: String,
}

/// A business number (E.164): never a real contact's phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusinessNumberView {
    /// The business number, E.164.
    pub e164: String,
}

/// The booking behind a sitter's thread, with its assignment window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SitterBookingView {
    /// The booking.
    pub id: BookingId,
    /// Its service.
    pub service: String,
    /// When the visit starts.
    pub start: Timestamp,
    /// When it ends.
    pub end: Timestamp,
    /// When the sitter's access opens.
    pub window_start: Timestamp,
    /// When it closes.
    pub window_end: Timestamp,
}

/// A message of a sitter's thread, before redaction: `delivery` and `metadata` (routing trace,
/// audit events) are free JSON, which is why the whole view is redacted and leak-scanned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SitterMessageView {
    /// The message.
    pub id: MessageId,
    /// Inbound (from the client) or outbound.
    pub direction: Direction,
    /// The text (redacted).
    pub body: String,
    /// When it was stored.
    pub at: Timestamp,
    /// `{status, provider, chaos}` (redacted).
    pub delivery: Value,
    /// `{routing: {trace}, audit: {events}}` (redacted).
    pub metadata: Value,
}

/// A thread as its sitter sees it; `None` unless [`access::sitter_access`] says the caller can
/// read it now (the one rule routing uses too).
fn visible_thread(
    tx: &Transaction,
    caller: &Caller,
    thread: ThreadId,
    now: Timestamp,
) -> Result<Option<SitterThreadView>> {
    let Some(sitter) = caller.sitter else {
        return Ok(None);
    };
    if !access::sitter_access(tx, caller.org, sitter, thread, now)?.is_readable() {
        return Ok(None);
    }
    let mut stmt = tx.prepare_cached(
        "SELECT t.status, c.first_name, n.e164, b.id, b.service, b.start_at, b.end_at, b.window_start,
                b.window_end, t.last_message_at
         FROM threads t
         JOIN clients c ON c.id = t.client_id
         JOIN bookings b ON b.id = t.booking_id
         LEFT JOIN message_numbers n ON n.id = t.number_id
         WHERE t.id = ?1 AND t.org_id = ?2",
    )?;
    let mut rows = stmt.query(params![thread, caller.org])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(SitterThreadView {
        id: thread,
        status: r.get(0)?,
        client: SitterClientView {
            first_name: r.get(1)?,
        },
        number: r
            .get::<_, Option<String>>(2)?
            .map(|e164| BusinessNumberView { e164 }),
        booking: SitterBookingView {
            id: r.get(3)?,
            service: r.get(4)?,
            start: r.get(5)?,
            end: r.get(6)?,
            window_start: r.get(7)?,
            window_end: r.get(8)?,
        },
        last_message_at: r.get(9)?,
    }))
}

/// Replaces every string in `value` (keys included) with its redacted form.
pub(crate) fn redact_value(scanner: &LeakScanner, value: &mut Value) {
    match value {
        Value::String(text) => {
            if let std::borrow::Cow::Owned(redacted) = scanner.redact(text) {
                *text = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(scanner, v)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                redact_value(scanner, &mut v);
                map.insert(scanner.redact(&key).into_owned(), v);
            }
        }
        _ => {}
    }
}

/// The thread's messages (or just `only`), each with its delivery, routing trace and the audit
/// events about it, unredacted (callers redact the whole view).
fn messages_json(
    tx: &Transaction,
    org: OrgId,
    thread: ThreadId,
    only: Option<MessageId>,
) -> Result<Vec<SitterMessageView>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, direction, body, at, delivery, metadata FROM messages
         WHERE thread_id = ?1 AND (?2 IS NULL OR id = ?2) ORDER BY id",
    )?;
    let rows: Vec<(MessageId, Direction, String, Timestamp, String, String)> = stmt
        .query_map(params![thread, only], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let parse =
        |text: &str| serde_json::from_str::<Value>(text).map_err(|e| Error::Corrupt(e.to_string()));
    let mut messages = Vec::with_capacity(rows.len());
    for (id, direction, body, at, delivery, metadata) in rows {
        let mut metadata = parse(&metadata)?;
        let query = AuditQuery {
            message: Some(id),
            ..AuditQuery::default()
        };
        metadata["audit"] = json!({ "events": events_json(tx, org, &query)? });
        messages.push(SitterMessageView {
            id,
            direction,
            body,
            at,
            delivery: parse(&delivery)?,
            metadata,
        });
    }
    Ok(messages)
}

fn events_json(tx: &Transaction, org: OrgId, query: &AuditQuery) -> Result<Value> {
    let events = audit::timeline(tx, org, query)?;
    Ok(serde_json::to_value(events).unwrap_or(Value::Null))
}

/// `GET /api/sitter/threads`, unredacted: every thread the caller can read at `now`.
pub(crate) fn threads(tx: &Transaction, caller: &Caller, now: Timestamp) -> Result<Value> {
    let Some(sitter) = caller.sitter else {
        return Ok(json!({ "threads": [] }));
    };
    let mut visible = Vec::new();
    for id in access::readable_threads(tx, caller.org, sitter, now)? {
        if let Some(view) = visible_thread(tx, caller, id, now)? {
            visible.push(view);
        }
    }
    Ok(json!({ "threads": visible }))
}

/// `GET /api/sitter/threads/{id}/messages`, unredacted; `NotFound` unless readable at `now`.
pub(crate) fn messages(
    tx: &Transaction,
    caller: &Caller,
    thread: ThreadId,
    now: Timestamp,
) -> Result<Value> {
    let thread_view = require_visible(tx, caller, thread, now)?;
    let messages = messages_json(tx, caller.org, thread, None)?;
    let query = AuditQuery {
        thread: Some(thread),
        ..AuditQuery::default()
    };
    Ok(json!({
        "thread": thread_view,
        "messages": messages,
        "audit": { "events": events_json(tx, caller.org, &query)? },
    }))
}

/// The thread as its sitter sees it; `NotFound` unless the caller can read it at `now`.
pub(crate) fn require_visible(
    tx: &Transaction,
    caller: &Caller,
    thread: ThreadId,
    now: Timestamp,
) -> Result<SitterThreadView> {
    visible_thread(tx, caller, thread, now)?.ok_or_else(|| Error::NotFound("thread".into()))
}

/// The answer to `POST /api/sitter/threads/{id}/messages`, unredacted: the sent message as the
/// thread view shows it.
pub(crate) fn sent_message(
    tx: &Transaction,
    caller: &Caller,
    thread: ThreadId,
    message: MessageId,
) -> Result<Value> {
    let message = messages_json(tx, caller.org, thread, Some(message))?;
    Ok(json!({ "message": message.into_iter().next() }))
}

/// Records a refused sitter response (`sitter.response.blocked`, the findings masked).
pub(crate) fn record_blocked(tx: &Transaction, ctx: &Ctx, path: &str, scan: &Scan) -> Result<()> {
    let findings: Vec<Value> = scan
        .findings
        .iter()
        .map(|f| json!({ "pointer": f.pointer, "kind": f.kind, "secret": f.secret_masked }))
        .collect();
    audit::append(
        tx,
        ctx,
        EventType::SitterResponseBlocked,
        Subject::default(),
        &json!({ "path": path, "findings": findings }),
    )?;
    Ok(())
}
