//! The engine's operations that span several domain modules (settings with their deadlines and
//! alerts, threads with their assignment) and the owner's read views. Each function runs inside
//! the one transaction its [`crate::Engine`] wrapper opened.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::alerts;
use crate::audit::{self, EventType, Subject};
use crate::bookings::{self, Booking, NewBooking};
use crate::ctx::Ctx;
use crate::ids::{AlertId, BookingId, ClientId, MessageId, NumberId, OrgId, SitterId, ThreadId};
use crate::pool::{self, Assignment, ThreadStatus};
use crate::settings::{self, ChaosSettings, RotationSettings};
use crate::world::{NumberClass, NumberStatus};
use crate::{Error, Result, Timestamp};

/// A thread as the owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSummary {
    /// The thread.
    pub id: ThreadId,
    /// Open, closed or archived.
    pub status: ThreadStatus,
    /// Its client.
    pub client_id: ClientId,
    /// Its sitter, if any.
    pub sitter_id: Option<SitterId>,
    /// The booking that opened it, if any.
    pub booking_id: Option<BookingId>,
    /// The pool number it is bound to; `null` while it has none.
    pub number: Option<NumberRef>,
    /// When the current binding started.
    pub bound_at: Option<Timestamp>,
    /// When the last message was stored.
    pub last_message_at: Option<Timestamp>,
    /// The earliest release deadline of the binding (grace, inactivity, lifetime).
    pub release_due_at: Option<Timestamp>,
    /// When it was opened.
    pub created_at: Timestamp,
}

/// A business number by id and E.164.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberRef {
    /// The number.
    pub id: NumberId,
    /// E.164.
    pub e164: String,
}

/// A business number with its current load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberSummary {
    /// The number.
    pub id: NumberId,
    /// E.164.
    pub e164: String,
    /// What it is for.
    pub class: NumberClass,
    /// Its lifecycle status.
    pub status: NumberStatus,
    /// Open threads bound to it now.
    pub open_load: i64,
    /// When it was last bound (LRU).
    pub last_assigned_at: Option<Timestamp>,
    /// When it was added (FIFO).
    pub created_at: Timestamp,
}

/// A client or sitter as staff see it (staff may see contact details; sitters never get this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactSummary {
    /// `cli_3` or `sit_2`.
    pub id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E.164.
    pub phone: String,
    /// Email address.
    pub email: String,
}

/// Which contacts [`crate::Engine::contacts`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    /// Clients (`GET /api/clients`).
    Client,
    /// Sitters (`GET /api/sitters`).
    Sitter,
}

/// A stored message, as the owner sees it (nothing redacted: the owner may see contacts).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    /// The message.
    pub id: MessageId,
    /// Its thread; `null` for inbound that matched none.
    pub thread_id: Option<ThreadId>,
    /// Inbound or outbound.
    pub direction: crate::messaging::Direction,
    /// Who stored it (`provider`, `user:usr_1`).
    pub actor: String,
    /// Sender, E.164.
    pub from: String,
    /// Recipient, E.164.
    pub to: String,
    /// The text.
    pub body: String,
    /// When it was stored.
    pub at: Timestamp,
    /// Where it went.
    pub routed_to: crate::messaging::RoutedTo,
    /// `{status, provider, chaos}`.
    pub delivery: Value,
    /// `{routing: {trace}}`.
    pub metadata: Value,
}

const THREAD_COLUMNS: &str =
    "t.id, t.status, t.client_id, t.sitter_id, t.booking_id, t.number_id, n.e164,
     t.bound_at, t.last_message_at, t.release_due_at, t.created_at
     FROM threads t LEFT JOIN message_numbers n ON n.id = t.number_id";

fn thread_summary(r: &rusqlite::Row) -> rusqlite::Result<ThreadSummary> {
    let number: Option<NumberId> = r.get(5)?;
    let e164: Option<String> = r.get(6)?;
    Ok(ThreadSummary {
        id: r.get(0)?,
        status: r.get(1)?,
        client_id: r.get(2)?,
        sitter_id: r.get(3)?,
        booking_id: r.get(4)?,
        number: number.zip(e164).map(|(id, e164)| NumberRef { id, e164 }),
        bound_at: r.get(7)?,
        last_message_at: r.get(8)?,
        release_due_at: r.get(9)?,
        created_at: r.get(10)?,
    })
}

fn message_view(r: &rusqlite::Row) -> rusqlite::Result<MessageView> {
    let parse = |text: String| serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(MessageView {
        id: r.get(0)?,
        thread_id: r.get(1)?,
        direction: r.get(2)?,
        actor: r.get(3)?,
        from: r.get(4)?,
        to: r.get(5)?,
        body: r.get(6)?,
        at: r.get(7)?,
        routed_to: r.get(8)?,
        delivery: parse(r.get(9)?),
        metadata: parse(r.get(10)?),
    })
}

const MESSAGE_COLUMNS: &str = "id, thread_id, direction, actor, from_e164, to_e164, body, at, routed_to, delivery, metadata FROM messages";

/// Validates and saves a partial update; deadlines and pool alerts follow the new values.
pub(crate) fn update_rotation_settings(
    tx: &Transaction,
    ctx: &Ctx,
    patch: &Value,
) -> Result<RotationSettings> {
    let current = settings::rotation(tx, ctx.org)?;
    let next = current.patched(patch)?;
    settings::save_rotation(tx, ctx.org, &next)?;
    audit::append(
        tx,
        ctx,
        EventType::SettingsRotationUpdated,
        Subject::default(),
        &json!({ "changed": patch, "settings": next.to_json() }),
    )?;
    if next != current {
        // Release deadlines follow through migration 14's trigger (see `Engine::write`).
        pool::refresh_alerts(tx, ctx, &next)?;
    }
    Ok(next)
}

/// Validates and saves a partial chaos update.
pub(crate) fn update_chaos_settings(
    tx: &Transaction,
    ctx: &Ctx,
    patch: &Value,
) -> Result<ChaosSettings> {
    let next = settings::chaos(tx, ctx.org)?.patched(patch)?;
    settings::save_chaos(tx, ctx.org, &next)?;
    audit::append(
        tx,
        ctx,
        EventType::SettingsChaosUpdated,
        Subject::default(),
        &json!({ "changed": patch, "settings": next }),
    )?;
    Ok(next)
}

/// Every org with a binding due at `now` (parameter 1), or with a deadline queued for
/// recomputation by migration 14, in id order. It runs on every scheduler tick, so no step
/// may walk an org's threads: due bindings come from the `threads_due` index, and the queue
/// is read first (`CROSS JOIN` pins that order; a plain join let SQLite walk every thread of
/// the org by `org_id` and probe the queue, a cost that grew with history).
pub(crate) const RELEASE_DUE_ORGS: &str = "SELECT o.id FROM orgs o WHERE EXISTS (
         SELECT 1 FROM threads t INDEXED BY threads_due
         WHERE t.org_id = o.id AND t.number_id IS NOT NULL AND t.release_due_at <= ?1)
       OR EXISTS (
         SELECT 1 FROM deadline_refresh q CROSS JOIN threads t ON t.id = q.thread_id
         WHERE t.org_id = o.id)
     ORDER BY o.id";

/// The orgs of [`RELEASE_DUE_ORGS`] at `now`.
pub(crate) fn orgs_with_release_due(conn: &Connection, now: Timestamp) -> Result<Vec<OrgId>> {
    Ok(conn
        .prepare_cached(RELEASE_DUE_ORGS)?
        .query_map([now], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Every org id, in order.
pub(crate) fn org_ids(tx: &Transaction) -> Result<Vec<OrgId>> {
    Ok(tx
        .prepare_cached("SELECT id FROM orgs ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Creates a booking and returns it as stored.
pub(crate) fn create_booking(tx: &Transaction, ctx: &Ctx, new: &NewBooking) -> Result<Booking> {
    let id = bookings::create(tx, ctx, new)?;
    bookings::get(tx, ctx.org, id)
}

/// Opens a thread for a client (owner action) and assigns it a pool number.
pub(crate) fn open_thread(
    tx: &Transaction,
    ctx: &Ctx,
    client: ClientId,
    sitter: Option<SitterId>,
    booking: Option<BookingId>,
) -> Result<(ThreadId, Assignment)> {
    if let Some(sitter) = sitter {
        crate::world::require_in_org(tx, "sitters", ctx.org, sitter, "sitter")?;
    }
    let thread = pool::open_thread(tx, ctx, client, sitter, booking)?;
    let settings = settings::rotation(tx, ctx.org)?;
    let assignment = pool::assign(tx, ctx, thread, &settings)?;
    Ok((thread, assignment))
}

/// Assigns a pool number to an existing open thread (no-op when it has one).
pub(crate) fn assign_thread(tx: &Transaction, ctx: &Ctx, thread: ThreadId) -> Result<Assignment> {
    let settings = settings::rotation(tx, ctx.org)?;
    pool::assign(tx, ctx, thread, &settings)
}

/// One thread of the org; `NotFound` otherwise.
pub(crate) fn thread(tx: &Transaction, org: OrgId, id: ThreadId) -> Result<ThreadSummary> {
    tx.prepare_cached(&format!(
        "SELECT {THREAD_COLUMNS} WHERE t.id = ?1 AND t.org_id = ?2"
    ))?
    .query_row(params![id, org], thread_summary)
    .optional()?
    .ok_or_else(|| Error::NotFound("thread".into()))
}

/// The org's threads in id order.
pub(crate) fn threads(tx: &Transaction, org: OrgId) -> Result<Vec<ThreadSummary>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {THREAD_COLUMNS} WHERE t.org_id = ?1 ORDER BY t.id"
        ))?
        .query_map([org], thread_summary)?
        .collect::<rusqlite::Result<_>>()?)
}

/// A thread's messages in id order; `NotFound` for a thread outside the org.
pub(crate) fn thread_messages(
    tx: &Transaction,
    org: OrgId,
    thread_id: ThreadId,
) -> Result<Vec<MessageView>> {
    thread(tx, org, thread_id)?;
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} WHERE thread_id = ?1 ORDER BY id"
        ))?
        .query_map([thread_id], message_view)?
        .collect::<rusqlite::Result<_>>()?)
}

/// One message of the org.
pub(crate) fn message(tx: &Transaction, org: OrgId, id: MessageId) -> Result<MessageView> {
    tx.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} WHERE id = ?1 AND org_id = ?2"
    ))?
    .query_row(params![id, org], message_view)
    .optional()?
    .ok_or_else(|| Error::NotFound("message".into()))
}

/// Messages routed to the owner inbox.
pub(crate) fn inbox(tx: &Transaction, org: OrgId) -> Result<Vec<MessageView>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} WHERE org_id = ?1 AND routed_to = 'owner_inbox' ORDER BY id"
        ))?
        .query_map(params![org], message_view)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The org's business numbers in id order.
pub(crate) fn numbers(tx: &Transaction, org: OrgId) -> Result<Vec<NumberSummary>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {NUMBER_COLUMNS} FROM message_numbers WHERE org_id = ?1 ORDER BY id"
        ))?
        .query_map([org], number_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// One business number of the org; `NotFound` otherwise.
pub(crate) fn number(tx: &Transaction, org: OrgId, id: NumberId) -> Result<NumberSummary> {
    tx.prepare_cached(&format!(
        "SELECT {NUMBER_COLUMNS} FROM message_numbers WHERE org_id = ?1 AND id = ?2"
    ))?
    .query_row(params![org, id], number_from_row)
    .optional()?
    .ok_or_else(|| Error::NotFound("number".into()))
}

/// The columns [`number_from_row`] reads.
const NUMBER_COLUMNS: &str = "id, e164, class, status, open_load, last_assigned_at, created_at";

fn number_from_row(r: &rusqlite::Row) -> rusqlite::Result<NumberSummary> {
    Ok(NumberSummary {
        id: r.get(0)?,
        e164: r.get(1)?,
        class: r.get(2)?,
        status: r.get(3)?,
        open_load: r.get(4)?,
        last_assigned_at: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// The org's clients or sitters in id order.
pub(crate) fn contacts(
    tx: &Transaction,
    org: OrgId,
    kind: ContactKind,
) -> Result<Vec<ContactSummary>> {
    let (table, id_kind) = match kind {
        ContactKind::Client => ("clients", ClientId::KIND),
        ContactKind::Sitter => ("sitters", SitterId::KIND),
    };
    Ok(tx
        .prepare_cached(&format!(
            "SELECT id, first_name, last_name, phone, email FROM {table} WHERE org_id = ?1 ORDER BY id"
        ))?
        .query_map([org], |r| {
            Ok(ContactSummary {
                id: crate::ids::format(id_kind, r.get(0)?),
                first_name: r.get(1)?,
                last_name: r.get(2)?,
                phone: r.get(3)?,
                email: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Resolves an open alert by hand; `NotFound` unless it is open and the org's.
pub(crate) fn resolve_alert(tx: &Transaction, ctx: &Ctx, id: AlertId) -> Result<()> {
    if alerts::resolve_by_id(tx, ctx, id)? {
        Ok(())
    } else {
        Err(Error::NotFound("open alert".into()))
    }
}
