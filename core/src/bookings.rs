//! Bookings, their assignment windows, and the threads that confirmations open.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, EventType, Subject};
use crate::ctx::Ctx;
use crate::ids::{BookingId, ClientId, OrgId, SitterId, ThreadId};
use crate::world::require_in_org;
use crate::{Error, Result, Timestamp, pool, settings};

/// Services whose assignment window is widened by two hours instead of one.
pub const OVERNIGHT_SERVICES: [&str; 3] = ["housesitting", "overnight", "boarding"];

/// How far the assignment window extends before the start and after the end of a booking.
pub fn window_buffer(service: &str) -> i64 {
    let service = service.to_ascii_lowercase();
    if OVERNIGHT_SERVICES.iter().any(|s| service.contains(s)) {
        120 * crate::time::MINUTE
    } else {
        60 * crate::time::MINUTE
    }
}

// A booking's lifecycle: `pending` → `confirmed` (its thread opens) → `completed`, or
// `cancelled` from pending or confirmed. Plain comments, not docs: the scenario schema derives
// from this enum (schemars), and a doc would change `scenarios/scenario.schema.json` (a doc per
// variant turns its `enum` into a `oneOf`).
#[allow(missing_docs)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    Pending,
    Confirmed,
    Completed,
    Cancelled,
}

crate::stored_words!(BookingStatus {
    Pending => "pending",
    Confirmed => "confirmed",
    Completed => "completed",
    Cancelled => "cancelled",
});

impl BookingStatus {
    /// The event a move to this status writes (`booking.confirmed`...); `None` for pending,
    /// which no booking moves to.
    pub fn event(self) -> Option<EventType> {
        match self {
            BookingStatus::Pending => None,
            BookingStatus::Confirmed => Some(EventType::BookingConfirmed),
            BookingStatus::Completed => Some(EventType::BookingCompleted),
            BookingStatus::Cancelled => Some(EventType::BookingCancelled),
        }
    }
}

/// A booking to create (`POST /api/bookings`).
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// The client, of the caller's org.
    pub client: ClientId,
    /// The sitter, of the caller's org; none until assigned.
    pub sitter: Option<SitterId>,
    /// Free text (`Dog Walking`); `overnight` in it widens the window (see [`window_buffer`]).
    pub service: String,
    /// When the visit starts.
    pub start: Timestamp,
    /// When it ends (after `start`).
    pub end: Timestamp,
}

/// A stored booking, as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    /// `bkg_3`.
    pub id: BookingId,
    /// Its client.
    pub client_id: ClientId,
    /// Its sitter, if assigned.
    pub sitter_id: Option<SitterId>,
    /// The service, as given.
    pub service: String,
    /// When the visit starts.
    pub start: Timestamp,
    /// When it ends.
    pub end: Timestamp,
    /// Where it is in its lifecycle.
    pub status: BookingStatus,
    /// Start of the assignment window: `start` minus the buffer (DESIGN.md §1).
    pub window_start: Timestamp,
    /// End of the assignment window: `end` plus the buffer.
    pub window_end: Timestamp,
}

/// One booking of the org; `NotFound` otherwise.
pub fn get(tx: &Transaction, org: OrgId, id: BookingId) -> Result<Booking> {
    tx.prepare_cached(
        "SELECT client_id, sitter_id, service, start_at, end_at, status, window_start, window_end
         FROM bookings WHERE id = ?1 AND org_id = ?2",
    )?
    .query_row(params![id, org], |r| {
        Ok(Booking {
            id,
            client_id: r.get(0)?,
            sitter_id: r.get(1)?,
            service: r.get(2)?,
            start: r.get(3)?,
            end: r.get(4)?,
            status: r.get(5)?,
            window_start: r.get(6)?,
            window_end: r.get(7)?,
        })
    })
    .optional()?
    .ok_or_else(|| Error::NotFound("booking".into()))
}

/// Creates a pending booking.
pub fn create(tx: &Transaction, ctx: &Ctx, new: &NewBooking) -> Result<BookingId> {
    if new.end <= new.start {
        return Err(Error::invalid("end", "must be after start"));
    }
    if new.service.trim().is_empty() {
        return Err(Error::invalid("service", "must not be empty"));
    }
    require_in_org(tx, "clients", ctx.org, new.client, "client")?;
    if let Some(sitter) = new.sitter {
        require_in_org(tx, "sitters", ctx.org, sitter, "sitter")?;
    }
    let buffer = window_buffer(&new.service);
    tx.prepare_cached(
        "INSERT INTO bookings (org_id, client_id, sitter_id, service, start_at, end_at, status, window_start, window_end)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8)",
    )?
    .execute(params![
        ctx.org,
        new.client,
        new.sitter,
        new.service,
        new.start,
        new.end,
        new.start.plus(-buffer),
        new.end.plus(buffer)
    ])?;
    let id = BookingId(tx.last_insert_rowid());
    audit::append(
        tx,
        ctx,
        EventType::BookingCreated,
        Subject::default(),
        &json!({
            "bookingId": id,
            "clientId": new.client,
            "sitterId": new.sitter,
            "service": new.service,
            "start": new.start,
            "end": new.end,
            "windowStart": new.start.plus(-buffer),
            "windowEnd": new.end.plus(buffer),
        }),
    )?;
    Ok(id)
}

/// Moves a booking to `to`. Confirming opens the client's thread for the booking (and assigns it
/// a pool number) unless one is open already.
pub fn transition(
    tx: &Transaction,
    ctx: &Ctx,
    booking: BookingId,
    to: BookingStatus,
) -> Result<Booking> {
    let current = get(tx, ctx.org, booking)?;
    let allowed = matches!(
        (current.status, to),
        (BookingStatus::Pending, BookingStatus::Confirmed)
            | (BookingStatus::Confirmed, BookingStatus::Completed)
            | (
                BookingStatus::Pending | BookingStatus::Confirmed,
                BookingStatus::Cancelled
            )
    );
    if !allowed {
        return Err(Error::Conflict(format!(
            "booking is {}; cannot become {}",
            current.status.as_str(),
            to.as_str()
        )));
    }
    let Some(event) = to.event() else {
        return Err(Error::Conflict("a booking cannot become pending".into()));
    };
    tx.prepare_cached("UPDATE bookings SET status = ?1 WHERE id = ?2")?
        .execute(params![to, booking])?;
    audit::append(
        tx,
        ctx,
        event,
        Subject::default(),
        &json!({ "bookingId": current.id, "from": current.status, "to": to }),
    )?;
    if to == BookingStatus::Confirmed {
        let (client, sitter) = (current.client_id, current.sitter_id);
        let existing: Option<ThreadId> = tx
            .prepare_cached(
                "SELECT id FROM threads WHERE org_id = ?1 AND client_id = ?2 AND booking_id = ?3 AND status = 'open'",
            )?
            .query_row(params![ctx.org, client, booking], |r| r.get(0))
            .optional()?;
        if existing.is_none() {
            let thread = pool::open_thread(tx, ctx, client, sitter, Some(booking))?;
            let settings = settings::rotation(tx, ctx.org)?;
            pool::assign(tx, ctx, thread, &settings)?;
        }
    }
    get(tx, ctx.org, booking)
}

/// Gives the booking (and its threads) another sitter.
pub fn reassign(
    tx: &Transaction,
    ctx: &Ctx,
    booking: BookingId,
    sitter: Option<SitterId>,
) -> Result<Booking> {
    let current = get(tx, ctx.org, booking)?;
    if let Some(sitter) = sitter {
        require_in_org(tx, "sitters", ctx.org, sitter, "sitter")?;
    }
    tx.prepare_cached("UPDATE bookings SET sitter_id = ?1 WHERE id = ?2")?
        .execute(params![sitter, booking])?;
    tx.prepare_cached("UPDATE threads SET sitter_id = ?1 WHERE booking_id = ?2")?
        .execute(params![sitter, booking])?;
    audit::append(
        tx,
        ctx,
        EventType::BookingReassigned,
        Subject::default(),
        &json!({
            "bookingId": current.id,
            "from": current.sitter_id,
            "to": sitter,
        }),
    )?;
    get(tx, ctx.org, booking)
}

/// Moves a pending or confirmed booking to new times (DESIGN.md §2): the assignment window moves
/// with them, and so does the grace deadline of every bound thread of the booking, in the same
/// transaction. Errors: `end` not after `start` (invalid `end`), a completed or cancelled booking
/// (conflict), a booking of another org (not found).
pub fn reschedule(
    tx: &Transaction,
    ctx: &Ctx,
    booking: BookingId,
    start: Timestamp,
    end: Timestamp,
) -> Result<Booking> {
    if end <= start {
        return Err(Error::invalid("end", "must be after start"));
    }
    let current = get(tx, ctx.org, booking)?;
    if matches!(
        current.status,
        BookingStatus::Completed | BookingStatus::Cancelled
    ) {
        return Err(Error::Conflict(format!(
            "booking is {}; its times cannot change",
            current.status.as_str()
        )));
    }
    let buffer = window_buffer(&current.service);
    let (window_start, window_end) = (start.plus(-buffer), end.plus(buffer));
    tx.prepare_cached(
        "UPDATE bookings SET start_at = ?1, end_at = ?2, window_start = ?3, window_end = ?4 WHERE id = ?5",
    )?
    .execute(params![start, end, window_start, window_end, booking])?;
    audit::append(
        tx,
        ctx,
        EventType::BookingRescheduled,
        Subject::default(),
        &json!({
            "bookingId": current.id,
            "from": { "start": current.start, "end": current.end },
            "to": { "start": start, "end": end },
            "windowStart": window_start,
            "windowEnd": window_end,
        }),
    )?;
    // The bound threads' release deadlines follow the new window end through migration 14's
    // trigger and `pool::apply_deadline_refreshes` before COMMIT.
    get(tx, ctx.org, booking)
}
