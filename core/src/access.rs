//! The one rule for who may read a thread: "can this sitter read this thread now"
//! (DESIGN.md §2, "Roles and routes" and "Inbound and outbound").
//!
//! The sitter views ([`crate::sitter_view`]) show a thread only when [`sitter_access`] says
//! [`SitterAccess::Readable`], and inbound routing delivers to a sitter only then; otherwise the
//! message goes to the owner inbox with the [`SitterAccess::Denied`] reason in its routing trace.
//! One function, so routing and the views cannot disagree: a message is always readable by
//! whoever it is routed to.

use rusqlite::{Connection, OptionalExtension, params};

use crate::bookings::BookingStatus;
use crate::ids::{BookingId, OrgId, SitterId, ThreadId};
use crate::pool::ThreadStatus;
use crate::{Result, Timestamp};

/// Whether a sitter may read a thread at an instant, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SitterAccess {
    /// The sitter may read the thread now.
    Readable,
    /// Not readable; the text says why (ids only, never contact details).
    Denied(String),
}

impl SitterAccess {
    /// True for [`SitterAccess::Readable`].
    pub fn is_readable(&self) -> bool {
        matches!(self, SitterAccess::Readable)
    }
}

/// Sitter `sitter` of org `org` may read thread `thread` at `now` iff the thread is the org's,
/// is assigned to that sitter, is `open` or `closed` (never `archived`), and has a booking that
/// is `confirmed` or `completed` whose assignment window contains `now` (start inclusive, end
/// exclusive). Threads without a booking are readable by no sitter.
pub fn sitter_access(
    conn: &Connection,
    org: OrgId,
    sitter: SitterId,
    thread: ThreadId,
    now: Timestamp,
) -> Result<SitterAccess> {
    type Row = (
        Option<SitterId>,
        ThreadStatus,
        Option<BookingId>,
        Option<BookingStatus>,
        Option<Timestamp>,
        Option<Timestamp>,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT t.sitter_id, t.status, t.booking_id, b.status, b.window_start, b.window_end
             FROM threads t LEFT JOIN bookings b ON b.id = t.booking_id
             WHERE t.id = ?1 AND t.org_id = ?2",
        )?
        .query_row(params![thread, org], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    let denied = |why: String| Ok(SitterAccess::Denied(why));
    let Some((assigned, status, booking, booking_status, start, end)) = row else {
        return denied(format!("thread {thread} is not in this org"));
    };
    if assigned != Some(sitter) {
        return denied(match assigned {
            None => format!("thread {thread} has no sitter"),
            Some(other) => format!("thread {thread} belongs to sitter {other}, not {sitter}"),
        });
    }
    if status == ThreadStatus::Archived {
        return denied(format!("thread {thread} is archived"));
    }
    let (Some(booking), Some(booking_status), Some(start), Some(end)) =
        (booking, booking_status, start, end)
    else {
        return denied(format!("thread {thread} has no booking"));
    };
    if !matches!(
        booking_status,
        BookingStatus::Confirmed | BookingStatus::Completed
    ) {
        return denied(format!("booking {booking} is {booking_status}"));
    }
    if !(start <= now && now < end) {
        return denied(format!(
            "booking {booking}'s assignment window [{}, {}) is not active",
            start.rfc3339(),
            end.rfc3339()
        ));
    }
    Ok(SitterAccess::Readable)
}

/// Every thread the sitter can read at `now`, in id order: the sitter's non-archived threads
/// filtered by [`sitter_access`].
pub fn readable_threads(
    conn: &Connection,
    org: OrgId,
    sitter: SitterId,
    now: Timestamp,
) -> Result<Vec<ThreadId>> {
    let candidates: Vec<ThreadId> = conn
        .prepare_cached(
            "SELECT id FROM threads WHERE org_id = ?1 AND sitter_id = ?2 AND status IN ('open', 'closed')
             ORDER BY id",
        )?
        .query_map(params![org, sitter], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut readable = Vec::with_capacity(candidates.len());
    for thread in candidates {
        if sitter_access(conn, org, sitter, thread, now)?.is_readable() {
            readable.push(thread);
        }
    }
    Ok(readable)
}
