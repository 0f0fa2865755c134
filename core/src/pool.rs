//! The pool: threads, assignment of pool numbers, the release rules and the pool alerts.
//!
//! Invariants kept here (each write happens in the caller's transaction):
//! - `message_numbers.open_load` = the number of open threads bound to the number, and
//!   `pool_stats` = the org's active pool numbers and those with room: kept by SQLite triggers
//!   (migration 12) on `threads` and `message_numbers`, so no writer can forget them.
//! - A number never receives a new thread while `open_load >= maxConcurrentThreadsPerPoolNumber`,
//!   nor a second open thread of the same client.
//! - `threads.release_due_at` = the earliest release deadline of the current binding, NULL when
//!   unbound; every input of it (binding, messages, booking, settings) refreshes it.
//! - Every bind and unbind writes exactly one audit event (`pool.number.assigned` /
//!   `pool.number.released`) and one `number_bindings` row change.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::alerts::{self, AlertType, Severity};
use crate::audit::{self, EventType, Subject};
use crate::ctx::Ctx;
use crate::hash_ring::{self, Walk};
use crate::ids::{BookingId, ClientId, NumberId, OrgId, SitterId, ThreadId};
use crate::settings::{RotationSettings, StickyKey, Strategy};
use crate::time::{DAY, HOUR};
use crate::world::{NumberClass, NumberStatus, require_in_org};
use crate::{Error, Result, Timestamp};

/// Entity name of the org-wide pool alerts.
const POOL_ENTITY: &str = "pool";

/// A thread's lifecycle: `open` (may hold a number), `closed` (still readable by its sitter in
/// the window), `archived` (readable by no sitter, final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadStatus {
    /// May hold a pool number and receive messages.
    Open,
    /// Ended; readable by its sitter while the booking window lasts.
    Closed,
    /// Ended for good; readable by no sitter.
    Archived,
}

crate::stored_words!(ThreadStatus {
    Open => "open",
    Closed => "closed",
    Archived => "archived",
});

impl ThreadStatus {
    /// The event a thread's end writes (`thread.closed` / `thread.archived`); `None` for open.
    pub fn end_event(self) -> Option<EventType> {
        match self {
            ThreadStatus::Open => None,
            ThreadStatus::Closed => Some(EventType::ThreadClosed),
            ThreadStatus::Archived => Some(EventType::ThreadArchived),
        }
    }
}

/// Opens a thread for the client (no number yet) and audits it. A booking, when given, must be
/// that client's (else `Invalid` naming `bookingId`).
pub fn open_thread(
    tx: &Transaction,
    ctx: &Ctx,
    client: ClientId,
    sitter: Option<SitterId>,
    booking: Option<BookingId>,
) -> Result<ThreadId> {
    require_in_org(tx, "clients", ctx.org, client, "client")?;
    if let Some(booking) = booking {
        require_in_org(tx, "bookings", ctx.org, booking, "booking")?;
        let owner: ClientId = tx
            .prepare_cached("SELECT client_id FROM bookings WHERE id = ?1")?
            .query_row([booking], |r| r.get(0))?;
        if owner != client {
            // Another client's booking would lend this thread its window (and its sitter the
            // thread): refused, whatever the two clients share.
            return Err(Error::invalid(
                "bookingId",
                format!("booking {booking} belongs to client {owner}, not {client}"),
            ));
        }
    }
    tx.prepare_cached(
        "INSERT INTO threads (org_id, client_id, sitter_id, booking_id, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        ctx.org,
        client,
        sitter,
        booking,
        ThreadStatus::Open,
        ctx.now
    ])?;
    let id = ThreadId(tx.last_insert_rowid());
    audit::append(
        tx,
        ctx,
        EventType::ThreadOpened,
        Subject {
            thread: Some(id),
            ..Subject::default()
        },
        &json!({
            "threadId": id,
            "clientId": client,
            "sitterId": sitter,
            "bookingId": booking,
        }),
    )?;
    Ok(id)
}

/// The columns of a thread the pool logic needs.
#[derive(Debug, Clone)]
pub struct ThreadRow {
    /// The thread.
    pub id: ThreadId,
    /// Its org (the caller's, never read from a body).
    pub org: OrgId,
    /// The client the thread is with.
    pub client: ClientId,
    /// The sitter, when the thread has one.
    pub sitter: Option<SitterId>,
    /// The booking that lends the thread its window, if any.
    pub booking: Option<BookingId>,
    /// Lifecycle state.
    pub status: ThreadStatus,
    /// The pool number bound now; None when unbound.
    pub number: Option<NumberId>,
    /// When the current binding began (engine seconds); None when unbound.
    pub bound_at: Option<Timestamp>,
    /// The last message on the thread, either direction.
    pub last_message_at: Option<Timestamp>,
    /// The booking's window end, when the thread has a booking.
    pub window_end: Option<Timestamp>,
}

/// The fields of [`ThreadRow`] over `threads t` and `bookings b` (a macro so that `concat!` can
/// build statements from it at compile time).
macro_rules! thread_fields {
    () => {
        "t.id, t.client_id, t.sitter_id, t.booking_id, t.status, t.number_id, t.bound_at,
        t.last_message_at, b.window_end"
    };
}

/// The columns of [`ThreadRow`], for `SELECT {THREAD_COLUMNS} WHERE ...`.
const THREAD_COLUMNS: &str = concat!(
    thread_fields!(),
    "
     FROM threads t LEFT JOIN bookings b ON b.id = t.booking_id"
);

fn thread_from_row(r: &rusqlite::Row, org: OrgId) -> rusqlite::Result<ThreadRow> {
    thread_from_row_at(r, 0, org)
}

/// A [`ThreadRow`] from the fields of `thread_fields!()` starting at column `first`.
fn thread_from_row_at(r: &rusqlite::Row, first: usize, org: OrgId) -> rusqlite::Result<ThreadRow> {
    Ok(ThreadRow {
        id: r.get(first)?,
        org,
        client: r.get(first + 1)?,
        sitter: r.get(first + 2)?,
        booking: r.get(first + 3)?,
        status: r.get(first + 4)?,
        number: r.get(first + 5)?,
        bound_at: r.get(first + 6)?,
        last_message_at: r.get(first + 7)?,
        window_end: r.get(first + 8)?,
    })
}

/// The thread `id` of `org`; `NotFound` ("thread") for a thread of another org or none.
pub fn thread_row(tx: &Transaction, org: OrgId, id: ThreadId) -> Result<ThreadRow> {
    tx.prepare_cached(&format!(
        "SELECT {THREAD_COLUMNS} WHERE t.id = ?1 AND t.org_id = ?2"
    ))?
    .query_row(params![id, org], |r| thread_from_row(r, org))
    .optional()?
    .ok_or_else(|| Error::NotFound("thread".into()))
}

/// The three release rules, in their tie-break order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Rule {
    /// The booking window ended `postBookingGraceHours` ago.
    #[serde(rename = "postBookingGraceHours")]
    Grace,
    /// No message for `inactivityReleaseDays` since the later of binding and last message.
    #[serde(rename = "inactivityReleaseDays")]
    Inactivity,
    /// Bound for `maxPoolThreadLifetimeDays`.
    #[serde(rename = "maxPoolThreadLifetimeDays")]
    Lifetime,
}

impl Rule {
    /// The rotation setting that sets the rule (its name in release events and binding rows).
    pub fn setting(self) -> &'static str {
        match self {
            Rule::Grace => "postBookingGraceHours",
            Rule::Inactivity => "inactivityReleaseDays",
            Rule::Lifetime => "maxPoolThreadLifetimeDays",
        }
    }

    /// `inactivityReleaseDays (1d) expired`.
    pub fn reason(self, settings: &RotationSettings) -> String {
        let amount = match self {
            Rule::Grace => format!("{}h", settings.post_booking_grace_hours),
            Rule::Inactivity => format!("{}d", settings.inactivity_release_days),
            Rule::Lifetime => format!("{}d", settings.max_pool_thread_lifetime_days),
        };
        format!("{} ({amount}) expired", self.setting())
    }
}

/// The release deadlines of one binding; `None` where the rule is off or does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Window end + grace; None for a thread without a booking.
    pub grace: Option<Timestamp>,
    /// Last activity + inactivity days; None when `inactivityReleaseDays` is 0.
    pub inactivity: Option<Timestamp>,
    /// Binding + lifetime days.
    pub lifetime: Timestamp,
}

impl Deadlines {
    /// grace = booking window end + postBookingGraceHours (whatever the booking's status);
    /// inactivity = the later of the last message and the binding + inactivityReleaseDays (0 = off;
    /// a message from before this binding must not release a fresh binding at once);
    /// lifetime = binding + maxPoolThreadLifetimeDays.
    pub fn of(thread: &ThreadRow, bound_at: Timestamp, settings: &RotationSettings) -> Deadlines {
        let grace = thread
            .window_end
            .map(|end| end.plus(settings.post_booking_grace_hours * HOUR));
        let inactivity = (settings.inactivity_release_days > 0).then(|| {
            let last = thread.last_message_at.map_or(bound_at, |m| m.max(bound_at));
            last.plus(settings.inactivity_release_days * DAY)
        });
        let lifetime = bound_at.plus(settings.max_pool_thread_lifetime_days * DAY);
        Deadlines {
            grace,
            inactivity,
            lifetime,
        }
    }

    fn all(&self) -> [(Rule, Option<Timestamp>); 3] {
        [
            (Rule::Grace, self.grace),
            (Rule::Inactivity, self.inactivity),
            (Rule::Lifetime, Some(self.lifetime)),
        ]
    }

    /// The rule whose deadline comes first; ties go to grace, then inactivity, then lifetime.
    pub fn earliest(&self) -> (Rule, Timestamp) {
        let mut best = (Rule::Lifetime, self.lifetime);
        for (rule, at) in self.all() {
            if let Some(at) = at
                && (at, rule) < (best.1, best.0)
            {
                best = (rule, at);
            }
        }
        best
    }

    /// Rules whose deadline has passed at `now`, in tie-break order.
    pub fn matched(&self, now: Timestamp) -> Vec<Rule> {
        self.all()
            .into_iter()
            .filter_map(|(rule, at)| at.filter(|at| *at <= now).map(|_| rule))
            .collect()
    }
}

/// Stores `release_due_at` of a bound thread from its row (no-op for an unbound one).
fn store_deadline(tx: &Transaction, row: &ThreadRow, settings: &RotationSettings) -> Result<()> {
    if let Some(bound_at) = row.bound_at {
        let (_, due) = Deadlines::of(row, bound_at, settings).earliest();
        tx.prepare_cached("UPDATE threads SET release_due_at = ?1 WHERE id = ?2")?
            .execute(params![due, row.id])?;
    }
    Ok(())
}

/// [`ThreadRow`] of one thread of one org, then its stored `release_due_at` (for
/// [`record_activity`], which writes the deadline only when it moves).
const THREAD_AND_DUE: &str = concat!(
    "SELECT ",
    thread_fields!(),
    ", t.release_due_at
     FROM threads t LEFT JOIN bookings b ON b.id = t.booking_id
     WHERE t.id = ?1 AND t.org_id = ?2"
);

/// A message on the thread at `at`: moves `last_message_at` and, for a bound thread, the release
/// deadline with it, in one statement. The deadline is written only when its value changes: a
/// message moves only the inactivity deadline, so while grace or lifetime comes first the stored
/// earliest stays, and an `UPDATE` naming `release_due_at` would still rewrite the thread's
/// `threads_due` entry (SQLite rewrites an index whose column is in the SET list, changed or
/// not). Either way the row ends with `release_due_at` = [`Deadlines::of`] its current inputs.
pub fn record_activity(
    tx: &Transaction,
    org: OrgId,
    thread: ThreadId,
    at: Timestamp,
    settings: &RotationSettings,
) -> Result<()> {
    let (mut row, stored_due) = tx
        .prepare_cached(THREAD_AND_DUE)?
        .query_row(params![thread, org], |r| {
            Ok((thread_from_row(r, org)?, r.get::<_, Option<Timestamp>>(9)?))
        })
        .optional()?
        .ok_or_else(|| Error::NotFound("thread".into()))?;
    row.last_message_at = Some(at);
    let due = row
        .bound_at
        .map(|bound_at| Deadlines::of(&row, bound_at, settings).earliest().1);
    if due == stored_due {
        tx.prepare_cached("UPDATE threads SET last_message_at = ?1 WHERE id = ?2")?
            .execute(params![at, thread])?;
    } else {
        tx.prepare_cached(
            "UPDATE threads SET last_message_at = ?1, release_due_at = ?2 WHERE id = ?3",
        )?
        .execute(params![at, due, thread])?;
    }
    Ok(())
}

/// Recomputes `release_due_at` of every thread queued in `deadline_refresh` and empties the
/// queue. Migration 14's triggers queue the bound threads of a booking whose window end changed
/// and of an org whose rotation settings changed, whoever wrote them; the engine calls this
/// before every COMMIT (`Engine::write`), so the deadline follows its inputs without any writer
/// remembering to ask, and the rule stays in [`Deadlines::of`]. An empty queue costs one read.
pub(crate) fn apply_deadline_refreshes(tx: &Transaction) -> Result<()> {
    // Almost every write leaves the queue empty: one step over it, and the sorted drain below
    // (a sorter per run) only when there is something to drain.
    let any_queued: bool = tx
        .prepare_cached(QUEUE_NOT_EMPTY)?
        .query_row([], |r| r.get(0))?;
    if !any_queued {
        return Ok(());
    }
    let queued: Vec<(ThreadId, Option<ThreadRow>)> = tx
        .prepare_cached(DRAIN_QUEUE)?
        .query_map([], |r| {
            let row = match r.get::<_, Option<OrgId>>(1)? {
                Some(org) => Some(thread_from_row_at(r, 2, org)?),
                None => None, // deleted since it was queued
            };
            Ok((r.get(0)?, row))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut current: Option<(OrgId, Option<RotationSettings>)> = None;
    for (thread, row) in queued {
        if let Some(row) = row {
            if current.as_ref().is_none_or(|(o, _)| *o != row.org) {
                // An org whose settings cannot be read keeps its threads queued: its own
                // release run reports the error, and the other orgs' writes go on.
                current = Some((row.org, crate::settings::rotation(tx, row.org).ok()));
            }
            let Some((_, Some(settings))) = &current else {
                continue;
            };
            store_deadline(tx, &row, settings)?;
        }
        tx.prepare_cached("DELETE FROM deadline_refresh WHERE thread_id = ?1")?
            .execute([thread])?;
    }
    Ok(())
}

/// Whether [`apply_deadline_refreshes`] has anything to drain.
pub(crate) const QUEUE_NOT_EMPTY: &str = "SELECT EXISTS (SELECT 1 FROM deadline_refresh)";

/// The queue of [`apply_deadline_refreshes`], each thread read once with its booking's window
/// end: (queued id, org or NULL for a thread deleted since, the fields of [`ThreadRow`]). The
/// queue drives the join (a LEFT JOIN keeps it outermost), so an empty queue, the case of
/// almost every write, is one step over an empty table.
const DRAIN_QUEUE: &str = concat!(
    "SELECT q.thread_id, t.org_id, ",
    thread_fields!(),
    "
     FROM deadline_refresh q LEFT JOIN threads t ON t.id = q.thread_id
     LEFT JOIN bookings b ON b.id = t.booking_id
     ORDER BY t.org_id, q.thread_id"
);

/// How an assignment went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    /// The thread got `number` (`e164`), chosen by `selection`.
    Bound {
        /// The number bound.
        number: NumberId,
        /// Its E.164 text.
        e164: String,
        /// Sticky reuse or the strategy.
        selection: Selection,
    },
    /// The thread already had a number; nothing changed.
    AlreadyBound {
        /// The number the thread holds.
        number: NumberId,
    },
    /// No pool number was available; the thread stays without one.
    Exhausted,
}

/// What chose an assigned number (the `selection` of `pool.number.assigned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// The sticky key's previous number, within `stickyReuseDays`.
    Sticky,
    /// `poolSelectionStrategy` (LRU, FIFO or HASH_SHUFFLE).
    Strategy,
}

/// Counts that describe the pool at the moment of an assignment.
#[derive(Debug, Clone, Copy)]
struct PoolCounts {
    total: i64,
    available: i64,
}

/// The filter of a pool number with room: an active pool number of org ?1 whose load is under
/// the cap ?2. Availability to a client is this plus "not held by the client's household"
/// ([`Household::allows`]), checked in memory so that no statement builds a temporary table.
/// The one copy of the rule: every statement that asks for room (the household's numbers, the
/// sticky number, LRU/FIFO, the ring walk and its fallback) embeds it. A macro so that
/// `concat!` can build those statements at compile time.
macro_rules! room {
    () => {
        "n.org_id = ?1 AND n.class = 'pool' AND n.status = 'active' AND n.open_load < ?2"
    };
}

/// [`room!`] as a value, for statements assembled at run time.
const ROOM: &str = room!();

/// The numbers the client's household holds through open threads (DESIGN.md §2, assigning
/// step 4): the client and every client of the org with the same phone (a household sharing a
/// phone: their inbound to one number would be just as ambiguous). A household holds a handful
/// of numbers at most.
struct Household {
    /// Each held number, once, with whether it has room in the active pool.
    held: Vec<(NumberId, bool)>,
}

impl Household {
    /// Reads the household of `client` by keyed lookups only (the join order is pinned: the
    /// planner, without ANALYZE, would otherwise walk every bound thread of the org).
    fn of(tx: &Transaction, org: OrgId, cap: i64, client: ClientId) -> Result<Household> {
        let rows: Vec<(NumberId, bool)> = tx
            .prepare_cached(concat!(
                "SELECT t.number_id, ",
                room!(),
                "
                 FROM clients me CROSS JOIN clients h INDEXED BY clients_org_phone
                 CROSS JOIN threads t INDEXED BY threads_client CROSS JOIN message_numbers n
                 WHERE me.id = ?3 AND h.org_id = ?1 AND h.phone = me.phone AND t.org_id = ?1
                   AND t.client_id = h.id AND t.status = 'open' AND n.id = t.number_id"
            ))?
            .query_map(params![org, cap, client], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut held: Vec<(NumberId, bool)> = Vec::with_capacity(rows.len());
        for row in rows {
            if !held.iter().any(|(n, _)| *n == row.0) {
                held.push(row);
            }
        }
        Ok(Household { held })
    }

    /// Whether a number with room ([`room!`]) is available to this household: none of its
    /// open threads holds it. With [`room!`], the whole availability rule.
    fn allows(&self, number: NumberId) -> bool {
        !self.held.iter().any(|(n, _)| *n == number)
    }

    /// Held numbers that have room (counted in `pool_stats.with_room` yet not available).
    fn held_with_room(&self) -> i64 {
        self.held.iter().filter(|(_, room)| *room).count() as i64
    }
}

/// The org's pool counters for `cap`: (active pool numbers, those with room). Read from
/// `pool_stats` (kept by the triggers of migration 12); counted afresh (and stored) only when
/// the row is missing or was counted for another cap.
pub fn pool_stats(tx: &Transaction, org: OrgId, cap: i64) -> Result<(i64, i64)> {
    let stored: Option<(i64, i64, i64)> = tx
        .prepare_cached("SELECT cap, active_numbers, with_room FROM pool_stats WHERE org_id = ?1")?
        .query_row([org], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match stored {
        Some((stored_cap, active, with_room)) if stored_cap == cap => Ok((active, with_room)),
        _ => recount_pool_stats(tx, org, cap),
    }
}

/// Counts the pool afresh for `cap` and stores the counters (the triggers keep them from then on).
fn recount_pool_stats(tx: &Transaction, org: OrgId, cap: i64) -> Result<(i64, i64)> {
    let (active, with_room): (i64, i64) = tx
        .prepare_cached(
            "SELECT count(*), COALESCE(SUM(open_load < ?2), 0) FROM message_numbers
             WHERE org_id = ?1 AND class = 'pool' AND status = 'active'",
        )?
        .query_row(params![org, cap], |r| Ok((r.get(0)?, r.get(1)?)))?;
    tx.prepare_cached(
        "INSERT INTO pool_stats (org_id, cap, active_numbers, with_room) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (org_id) DO UPDATE SET cap = excluded.cap, active_numbers = excluded.active_numbers,
                                            with_room = excluded.with_room",
    )?
    .execute(params![org, cap, active, with_room])?;
    Ok((active, with_room))
}

fn counts(tx: &Transaction, org: OrgId, cap: i64, household: &Household) -> Result<PoolCounts> {
    let (total, with_room) = pool_stats(tx, org, cap)?;
    Ok(PoolCounts {
        total,
        available: with_room - household.held_with_room(),
    })
}

fn is_available(
    tx: &Transaction,
    org: OrgId,
    cap: i64,
    household: &Household,
    number: NumberId,
) -> Result<bool> {
    if !household.allows(number) {
        return Ok(false);
    }
    Ok(tx
        .prepare_cached(concat!(
            "SELECT 1 FROM message_numbers n WHERE n.id = ?3 AND ",
            room!()
        ))?
        .query_row(params![org, cap, number], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The sticky key's previous number, if it held one within `stickyReuseDays` and it is available.
fn sticky_choice(
    tx: &Transaction,
    ctx: &Ctx,
    thread: &ThreadRow,
    household: &Household,
    settings: &RotationSettings,
) -> Result<Option<NumberId>> {
    if settings.sticky_reuse_days == 0 {
        return Ok(None);
    }
    let since = ctx.now.plus(-settings.sticky_reuse_days * DAY);
    let sql = match settings.sticky_reuse_key {
        StickyKey::Client => {
            "SELECT number_id FROM number_bindings
             WHERE org_id = ?1 AND client_id = ?2 AND (released_at IS NULL OR released_at >= ?3)
             ORDER BY id DESC"
        }
        StickyKey::Thread => {
            "SELECT number_id FROM number_bindings
             WHERE org_id = ?1 AND thread_id = ?2 AND (released_at IS NULL OR released_at >= ?3)
             ORDER BY id DESC"
        }
    };
    let key = match settings.sticky_reuse_key {
        StickyKey::Client => thread.client.rowid(),
        StickyKey::Thread => thread.id.rowid(),
    };
    let held: Vec<NumberId> = tx
        .prepare_cached(sql)?
        .query_map(params![ctx.org, key, since], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let cap = settings.max_concurrent_threads_per_pool_number;
    for number in held {
        if is_available(tx, ctx.org, cap, household, number)? {
            return Ok(Some(number));
        }
    }
    Ok(None)
}

fn strategy_choice(
    tx: &Transaction,
    ctx: &Ctx,
    thread: &ThreadRow,
    household: &Household,
    settings: &RotationSettings,
) -> Result<Option<NumberId>> {
    let cap = settings.max_concurrent_threads_per_pool_number;
    // LRU and FIFO walk their order's index and stop at the first number with room that the
    // household does not hold (so at most one more row than it holds); the index is named so
    // that SQLite does not prefer the room index and sort every number with room. The LIMIT is
    // a literal, not a parameter: SQLite plans with a bound LIMIT's value and so marks the
    // statement expired whenever it is bound again, which re-prepared it on every assignment
    // (a household holds a handful of numbers, so the cache keeps a handful of texts).
    let ordered = |index: &str, order: &str| -> Result<Option<NumberId>> {
        let limit = household.held.len() + 1;
        let rows = tx
            .prepare_cached(&format!(
                "SELECT n.id FROM message_numbers n INDEXED BY {index} WHERE {ROOM} ORDER BY {order} LIMIT {limit}"
            ))?
            .query_map(params![ctx.org, cap], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<NumberId>>>()?;
        Ok(rows.into_iter().find(|n| household.allows(*n)))
    };
    match settings.pool_selection_strategy {
        // NULL (never assigned) sorts first in SQLite.
        Strategy::Lru => ordered("numbers_lru", "n.last_assigned_at, n.created_at, n.id"),
        Strategy::Fifo => ordered("numbers_fifo", "n.created_at, n.id"),
        Strategy::HashShuffle => hash_choice(tx, ctx, thread, household, settings),
    }
}

/// HASH_SHUFFLE: the first available number clockwise from the sticky key on the ring.
fn hash_choice(
    tx: &Transaction,
    ctx: &Ctx,
    thread: &ThreadRow,
    household: &Household,
    settings: &RotationSettings,
) -> Result<Option<NumberId>> {
    let cap = settings.max_concurrent_threads_per_pool_number;
    let key = sticky_key_text(thread, settings);
    let held = |number: i64| !household.allows(NumberId(number));
    match hash_ring::walk(tx, ROOM, (ctx.org.rowid(), cap), &key, &held)? {
        Walk::Found(number) => Ok(Some(NumberId(number))),
        Walk::Nothing => Ok(None),
        // Almost every number is full: the few with room, read through the covering room
        // index, decide in memory (the same choice as the walk).
        Walk::TooLong => {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT n.id, n.e164 FROM message_numbers n INDEXED BY numbers_with_room WHERE {ROOM}"
            ))?;
            let candidates: Vec<(i64, String)> = stmt
                .query_map(params![ctx.org, cap], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let available = candidates.iter().filter(|(id, _)| !held(*id));
            Ok(
                hash_ring::choose(&key, available.map(|(id, e164)| (*id, e164.as_str())))
                    .map(NumberId),
            )
        }
    }
}

fn sticky_key_text(thread: &ThreadRow, settings: &RotationSettings) -> String {
    match settings.sticky_reuse_key {
        StickyKey::Client => thread.client.to_string(),
        StickyKey::Thread => thread.id.to_string(),
    }
}

/// Gives the thread a pool number (DESIGN.md §2 "Assigning a pool number"), in the caller's
/// transaction, so the capacity check and the bind cannot interleave with another writer.
pub fn assign(
    tx: &Transaction,
    ctx: &Ctx,
    thread_id: ThreadId,
    settings: &RotationSettings,
) -> Result<Assignment> {
    let thread = thread_row(tx, ctx.org, thread_id)?;
    if thread.status != ThreadStatus::Open {
        return Err(Error::Conflict(format!("thread is {}", thread.status)));
    }
    if let Some(number) = thread.number {
        return Ok(Assignment::AlreadyBound { number });
    }
    let cap = settings.max_concurrent_threads_per_pool_number;
    let household = Household::of(tx, ctx.org, cap, thread.client)?;
    let counts = counts(tx, ctx.org, cap, &household)?;
    let (number, selection) = match sticky_choice(tx, ctx, &thread, &household, settings)? {
        Some(number) => (Some(number), Selection::Sticky),
        None => (
            strategy_choice(tx, ctx, &thread, &household, settings)?,
            Selection::Strategy,
        ),
    };
    let Some(number) = number else {
        exhausted(tx, ctx, &thread, settings)?;
        return Ok(Assignment::Exhausted);
    };
    let (e164, current): (String, i64) = tx
        .prepare_cached("SELECT e164, open_load FROM message_numbers WHERE id = ?1")?
        .query_row([number], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (_, due) = Deadlines::of(&thread, ctx.now, settings).earliest();
    tx.prepare_cached(
        "UPDATE threads SET number_id = ?1, bound_at = ?2, bound_cap = ?3, release_due_at = ?4,
                            awaiting_number_since = NULL
         WHERE id = ?5",
    )?
    .execute(params![number, ctx.now, cap, due, thread.id])?;
    // open_load, last_assigned_at and pool_stats follow the thread's new number_id (triggers of
    // migration 12).
    tx.prepare_cached(
        "INSERT INTO number_bindings (org_id, thread_id, client_id, number_id, bound_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![ctx.org, thread.id, thread.client, number, ctx.now])?;
    audit::append(
        tx,
        ctx,
        EventType::PoolNumberAssigned,
        Subject {
            thread: Some(thread.id),
            number: Some(number),
            message: None,
        },
        &json!({
            "numberId": number,
            "e164": e164,
            "threadId": thread.id,
            "strategy": settings.pool_selection_strategy.as_str(),
            "selection": selection,
            "capacityCheck": {
                "maxConcurrent": cap,
                "currentCount": current,
                "availableCount": counts.available,
                "totalPoolCount": counts.total,
            },
            "context": {
                "clientId": thread.client,
                "threadId": thread.id,
                "stickyReuseKey": settings.sticky_reuse_key.as_str(),
            },
        }),
    )?;
    refresh_alerts(tx, ctx, settings)?;
    Ok(Assignment::Bound {
        number,
        e164,
        selection,
    })
}

/// Why nothing was available to a thread, and the smallest pool that would have served it.
struct Shortage {
    total: i64,
    bound: i64,
    recommended: i64,
    reason: String,
}

/// DESIGN.md §2 assigning step 5. The open threads on active pool numbers plus this one must fit
/// at `cap` per number, and the threads of one household need distinct numbers, so the smallest
/// pool that serves them all is max(ceil(threads / cap), largest household's thread count).
/// Round-robin over the threads grouped by household achieves it, so it is exact.
fn shortage(tx: &Transaction, org: OrgId, thread: &ThreadRow, cap: i64) -> Result<Shortage> {
    let (total, bound): (i64, i64) = tx
        .prepare_cached(
            "SELECT count(*), COALESCE(SUM(open_load), 0) FROM message_numbers
             WHERE org_id = ?1 AND class = 'pool' AND status = 'active'",
        )?
        .query_row([org], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let per_phone =
        "SELECT c.phone, count(*) AS n FROM threads t JOIN clients c ON c.id = t.client_id
         JOIN message_numbers m ON m.id = t.number_id
         WHERE t.org_id = ?1 AND t.status = 'open' AND m.class = 'pool' AND m.status = 'active'
         GROUP BY c.phone";
    let (own, largest): (i64, i64) = tx
        .prepare_cached(&format!(
            "SELECT COALESCE(MAX(CASE WHEN phone = (SELECT phone FROM clients WHERE id = ?2) THEN n END), 0),
                    COALESCE(MAX(n), 0)
             FROM ({per_phone})"
        ))?
        .query_row(params![org, thread.client], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (_, with_room) = pool_stats(tx, org, cap)?;
    let recommended = ((bound + 1 + cap - 1) / cap).max(own + 1).max(largest);
    let reason = if total == 0 {
        "the pool has no active numbers".to_string()
    } else if with_room > 0 {
        format!(
            "the only numbers with room ({with_room}) already serve this client's other open threads \
             (a client needs one number per open thread, whatever the cap)"
        )
    } else {
        format!("all pool numbers are full ({total} active, cap {cap})")
    };
    Ok(Shortage {
        total,
        bound,
        recommended,
        reason,
    })
}

/// Records that the thread waits for a number, writes `pool.exhausted` and opens the alert.
fn exhausted(
    tx: &Transaction,
    ctx: &Ctx,
    thread: &ThreadRow,
    settings: &RotationSettings,
) -> Result<()> {
    let cap = settings.max_concurrent_threads_per_pool_number;
    tx.prepare_cached(
        "UPDATE threads SET awaiting_number_since = COALESCE(awaiting_number_since, ?1) WHERE id = ?2",
    )?
    .execute(params![ctx.now, thread.id])?;
    let shortage = shortage(tx, ctx.org, thread, cap)?;
    audit::append(
        tx,
        ctx,
        EventType::PoolExhausted,
        Subject {
            thread: Some(thread.id),
            ..Subject::default()
        },
        &json!({
            "threadId": thread.id,
            "totalPoolCount": shortage.total,
            "boundThreadCount": shortage.bound,
            "maxConcurrent": cap,
            "recommendedMinimumPoolSize": shortage.recommended,
            "reason": shortage.reason,
        }),
    )?;
    alerts::open(
        tx,
        ctx,
        AlertType::PoolExhausted,
        Severity::Critical,
        POOL_ENTITY,
        &format!(
            "No pool number for thread {}: {}; at least {} numbers are needed. Inbound goes to the owner inbox",
            thread.id, shortage.reason, shortage.recommended
        ),
    )?;
    Ok(())
}

/// Open threads that asked for a pool number and still have none.
pub fn waiting_threads(tx: &Transaction, org: OrgId) -> Result<i64> {
    Ok(tx
        .prepare_cached(
            "SELECT count(*) FROM threads
             WHERE org_id = ?1 AND awaiting_number_since IS NOT NULL AND status = 'open' AND number_id IS NULL",
        )?
        .query_row([org], |r| r.get(0))?)
}

/// Brings both pool alerts in line with the state: `pool.exhausted` is open exactly while a
/// thread waits for a number ([`waiting_threads`]); `pool.reserve.low` while fewer numbers than
/// `minPoolReserve` have room.
pub fn refresh_alerts(tx: &Transaction, ctx: &Ctx, settings: &RotationSettings) -> Result<()> {
    let (_, with_room) = pool_stats(tx, ctx.org, settings.max_concurrent_threads_per_pool_number)?;
    let waiting = waiting_threads(tx, ctx.org)?;
    if waiting == 0 {
        alerts::resolve(tx, ctx, AlertType::PoolExhausted, POOL_ENTITY)?;
    } else {
        alerts::open(
            tx,
            ctx,
            AlertType::PoolExhausted,
            Severity::Critical,
            POOL_ENTITY,
            &format!(
                "{waiting} open threads wait for a pool number; inbound goes to the owner inbox"
            ),
        )?;
    }
    if with_room < settings.min_pool_reserve {
        alerts::open(
            tx,
            ctx,
            AlertType::PoolReserveLow,
            Severity::Warning,
            POOL_ENTITY,
            &format!(
                "{with_room} pool numbers have room; minPoolReserve is {}",
                settings.min_pool_reserve
            ),
        )?;
    } else {
        alerts::resolve(tx, ctx, AlertType::PoolReserveLow, POOL_ENTITY)?;
    }
    Ok(())
}

/// Why a binding ended.
#[derive(Debug, Clone)]
pub enum Unbind {
    /// The release job: `rule` came first at `deadline`; `matched` lists every rule due.
    Rule {
        /// The rule whose deadline came first (ties: grace, inactivity, lifetime).
        rule: Rule,
        /// Every rule whose deadline has passed, in tie-break order.
        matched: Vec<Rule>,
        /// The deadline of `rule`.
        deadline: Timestamp,
    },
    /// The thread was closed or archived (`status`).
    ThreadClosed {
        /// The status the thread moves to.
        status: ThreadStatus,
    },
    /// The number stopped being active (`number_quarantined` / `number_retired`); the thread
    /// stays open.
    NumberWithdrawn {
        /// The number's new status.
        status: NumberStatus,
    },
}

impl Unbind {
    /// The `rule` of the release event and of the binding row.
    fn rule_name(&self) -> &'static str {
        match self {
            Unbind::Rule { rule, .. } => rule.setting(),
            Unbind::ThreadClosed { .. } => "thread_closed",
            Unbind::NumberWithdrawn {
                status: NumberStatus::Retired,
            } => "number_retired",
            Unbind::NumberWithdrawn { .. } => "number_quarantined",
        }
    }
}

/// Ends bindings: each thread stays (open, or as the caller then sets it), the binding rows
/// close and each release gets its `pool.number.released` event, in the given order. Each
/// number's load (and `last_assigned_at` of a number left without bound threads) and the pool
/// counters follow the threads' `number_id` through the triggers of migration 12.
/// Set-based where it can be (one statement for all threads, one per rule), so the release
/// job's cost per release stays small.
pub fn unbind_all(
    tx: &Transaction,
    ctx: &Ctx,
    releases: &[(ThreadRow, Unbind)],
    settings: &RotationSettings,
) -> Result<()> {
    let releases: Vec<&(ThreadRow, Unbind)> = releases
        .iter()
        .filter(|(t, _)| t.number.is_some() && t.bound_at.is_some())
        .collect();
    if releases.is_empty() {
        return Ok(());
    }
    let e164_of = numbers_e164(tx, &releases)?;
    tx.prepare_cached(
        "UPDATE threads SET number_id = NULL, bound_at = NULL, bound_cap = NULL, release_due_at = NULL
         WHERE id IN (SELECT value FROM json_each(?1))",
    )?
    .execute([thread_ids(&releases, &|_| true)])?;
    close_bindings(tx, ctx, &releases)?;
    let settings_json = settings.release_rules_json();
    let mut audit = audit::Appender::new(tx, ctx.org)?;
    for (thread, why) in releases {
        let number = thread.number.unwrap_or(NumberId(0));
        audit.append(
            ctx,
            EventType::PoolNumberReleased,
            Subject {
                thread: Some(thread.id),
                number: Some(number),
                message: None,
            },
            &release_payload(thread, why, e164_of.get(&number), settings, &settings_json),
        )?;
    }
    Ok(())
}

/// The ids of the released threads whose reason passes `filter`, as a JSON array (for
/// `json_each`, so one statement serves any number of threads).
fn thread_ids(releases: &[&(ThreadRow, Unbind)], filter: &dyn Fn(&Unbind) -> bool) -> String {
    let ids: Vec<i64> = releases
        .iter()
        .filter(|(_, why)| filter(why))
        .map(|(t, _)| t.id.rowid())
        .collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}

/// The E.164 of each number the releases free, read once per number.
fn numbers_e164(
    tx: &Transaction,
    releases: &[&(ThreadRow, Unbind)],
) -> Result<std::collections::BTreeMap<NumberId, String>> {
    let mut e164_of = std::collections::BTreeMap::new();
    let mut stmt = tx.prepare_cached("SELECT e164 FROM message_numbers WHERE id = ?1")?;
    for (thread, _) in releases {
        let number = thread.number.unwrap_or(NumberId(0));
        if let std::collections::btree_map::Entry::Vacant(slot) = e164_of.entry(number) {
            slot.insert(stmt.query_row([number], |r| r.get::<_, String>(0))?);
        }
    }
    Ok(e164_of)
}

/// Closes the open binding rows of the released threads, one statement per rule name.
fn close_bindings(tx: &Transaction, ctx: &Ctx, releases: &[&(ThreadRow, Unbind)]) -> Result<()> {
    let mut names: Vec<&str> = releases.iter().map(|(_, why)| why.rule_name()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        tx.prepare_cached(
            "UPDATE number_bindings SET released_at = ?1, release_rule = ?2
             WHERE thread_id IN (SELECT value FROM json_each(?3)) AND released_at IS NULL",
        )?
        .execute(params![
            ctx.now,
            name,
            thread_ids(releases, &|why| why.rule_name() == name)
        ])?;
    }
    Ok(())
}

/// The payload of one `pool.number.released` event.
fn release_payload(
    thread: &ThreadRow,
    why: &Unbind,
    e164: Option<&String>,
    settings: &RotationSettings,
    settings_json: &Value,
) -> Value {
    let (reason, matched, deadline): (String, Value, Option<Timestamp>) = match why {
        Unbind::Rule {
            rule,
            matched,
            deadline,
        } => (rule.reason(settings), json!(matched), Some(*deadline)),
        Unbind::ThreadClosed { status } => (format!("thread {status}"), json!([]), None),
        Unbind::NumberWithdrawn { status } => (format!("number {status}"), json!([]), None),
    };
    json!({
        "numberId": thread.number.unwrap_or(NumberId(0)),
        "e164": e164,
        "threadId": thread.id,
        "reason": reason,
        "rule": why.rule_name(),
        "matchedRules": matched,
        "deadline": deadline,
        "boundAt": thread.bound_at,
        "settings": settings_json,
    })
}

/// What one run of the release job did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStats {
    /// Releases whose first rule was `postBookingGraceHours`.
    pub released_by_grace_period: u64,
    /// Releases whose first rule was `inactivityReleaseDays`.
    pub released_by_inactivity: u64,
    /// Releases whose first rule was `maxPoolThreadLifetimeDays`.
    pub released_by_max_lifetime: u64,
    /// All releases of the run.
    pub total_released: u64,
    /// Per-org failures of a scheduled run (empty for a single org's run).
    pub errors: Vec<String>,
}

impl std::ops::AddAssign for ReleaseStats {
    /// Adds one org's run to a scheduled run's total.
    fn add_assign(&mut self, run: ReleaseStats) {
        self.released_by_grace_period += run.released_by_grace_period;
        self.released_by_inactivity += run.released_by_inactivity;
        self.released_by_max_lifetime += run.released_by_max_lifetime;
        self.total_released += run.total_released;
        self.errors.extend(run.errors);
    }
}

/// The release job for one org: releases every bound thread whose earliest deadline has come.
/// Reads only due rows (`threads_due` index), so its cost does not grow with threads not due.
pub fn run_release(tx: &Transaction, ctx: &Ctx) -> Result<ReleaseStats> {
    // Deadlines queued by a write that did not go through `Engine::write` (a loader, raw SQL)
    // are made current before the due set is read.
    apply_deadline_refreshes(tx)?;
    let settings = crate::settings::rotation(tx, ctx.org)?;
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {THREAD_COLUMNS} WHERE t.org_id = ?1 AND t.number_id IS NOT NULL AND t.release_due_at <= ?2
         ORDER BY t.release_due_at, t.id"
    ))?;
    let due: Vec<ThreadRow> = stmt
        .query_map(params![ctx.org, ctx.now], |r| thread_from_row(r, ctx.org))?
        .collect::<rusqlite::Result<_>>()?;
    let mut stats = ReleaseStats::default();
    let mut releases = Vec::with_capacity(due.len());
    for thread in due {
        let Some(bound_at) = thread.bound_at else {
            continue;
        };
        let deadlines = Deadlines::of(&thread, bound_at, &settings);
        let (rule, deadline) = deadlines.earliest();
        if deadline > ctx.now {
            // The stored deadline was stale; store the real one and move on.
            store_deadline(tx, &thread, &settings)?;
            continue;
        }
        match rule {
            Rule::Grace => stats.released_by_grace_period += 1,
            Rule::Inactivity => stats.released_by_inactivity += 1,
            Rule::Lifetime => stats.released_by_max_lifetime += 1,
        }
        stats.total_released += 1;
        let why = Unbind::Rule {
            rule,
            matched: deadlines.matched(ctx.now),
            deadline,
        };
        releases.push((thread, why));
    }
    unbind_all(tx, ctx, &releases, &settings)?;
    if stats.total_released > 0 {
        refresh_alerts(tx, ctx, &settings)?;
    }
    Ok(stats)
}

/// Closes or archives a thread; its number is released (`rule: "thread_closed"`).
pub fn end_thread(
    tx: &Transaction,
    ctx: &Ctx,
    thread_id: ThreadId,
    to: ThreadStatus,
) -> Result<()> {
    let thread = thread_row(tx, ctx.org, thread_id)?;
    let Some(event) = to.end_event() else {
        return Err(Error::invalid("status", "use open_thread to open"));
    };
    let status = to;
    if thread.status == status {
        return Ok(());
    }
    if thread.status == ThreadStatus::Archived {
        return Err(Error::Conflict("thread is archived".into()));
    }
    let settings = crate::settings::rotation(tx, ctx.org)?;
    if thread.number.is_some() {
        unbind_all(
            tx,
            ctx,
            &[(thread.clone(), Unbind::ThreadClosed { status })],
            &settings,
        )?;
    }
    tx.prepare_cached("UPDATE threads SET status = ?1 WHERE id = ?2")?
        .execute(params![status, thread_id])?;
    audit::append(
        tx,
        ctx,
        event,
        Subject {
            thread: Some(thread_id),
            ..Subject::default()
        },
        &json!({ "threadId": thread_id }),
    )?;
    refresh_alerts(tx, ctx, &settings)?;
    Ok(())
}

/// Moves a pool number to `to` in the caller's transaction. Leaving `active` releases every
/// thread bound to it (the threads stay open; rule `number_quarantined` / `number_retired`) so
/// no open thread is bound to a number that takes no threads. `retired` is final: any change
/// away from it is a conflict. Setting the current status again changes nothing. The pool
/// counters follow the status (triggers of migration 12); the pool alerts are refreshed.
/// Errors: `NotFound` for a number of another org, `Conflict` for a non-pool number or a
/// retired one.
pub fn set_number_status(
    tx: &Transaction,
    ctx: &Ctx,
    number: NumberId,
    to: NumberStatus,
) -> Result<()> {
    let (e164, class, from): (String, NumberClass, NumberStatus) = tx
        .prepare_cached(
            "SELECT e164, class, status FROM message_numbers WHERE id = ?1 AND org_id = ?2",
        )?
        .query_row(params![number, ctx.org], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?
        .ok_or_else(|| Error::NotFound("number".into()))?;
    if class != NumberClass::Pool {
        return Err(Error::Conflict(format!(
            "number is a {class} number; only pool numbers change status"
        )));
    }
    if from == to {
        return Ok(());
    }
    if from == NumberStatus::Retired {
        return Err(Error::Conflict(format!(
            "number is retired; it cannot become {}",
            to.as_str()
        )));
    }
    let settings = crate::settings::rotation(tx, ctx.org)?;
    tx.prepare_cached("UPDATE message_numbers SET status = ?1 WHERE id = ?2")?
        .execute(params![to, number])?;
    audit::append(
        tx,
        ctx,
        EventType::PoolNumberStatusChanged,
        Subject {
            number: Some(number),
            ..Subject::default()
        },
        &json!({
            "numberId": number,
            "e164": e164,
            "from": from.as_str(),
            "to": to.as_str(),
        }),
    )?;
    if to != NumberStatus::Active {
        let bound: Vec<ThreadRow> = tx
            .prepare_cached(&format!(
                "SELECT {THREAD_COLUMNS} WHERE t.org_id = ?1 AND t.number_id = ?2 ORDER BY t.id"
            ))?
            .query_map(params![ctx.org, number], |r| thread_from_row(r, ctx.org))?
            .collect::<rusqlite::Result<_>>()?;
        let why = Unbind::NumberWithdrawn { status: to };
        let releases: Vec<(ThreadRow, Unbind)> =
            bound.into_iter().map(|t| (t, why.clone())).collect();
        unbind_all(tx, ctx, &releases, &settings)?;
    }
    refresh_alerts(tx, ctx, &settings)?;
    Ok(())
}

#[cfg(test)]
#[path = "pool_derived_tests.rs"]
mod derived_tests;
