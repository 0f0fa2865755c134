//! The engine's public operations: each one is one transaction over the domain modules. The API
//! handlers, the simulator's world builder and the benchmarks all call these.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::alerts::{self, Alert};
use crate::audit::{self, AuditEvent, AuditQuery, EventType, Subject};
use crate::bookings::{self, Booking, BookingStatus, NewBooking};
use crate::ctx::Ctx;
use crate::ids::{AlertId, BookingId, ClientId, MessageId, NumberId, OrgId, SitterId, ThreadId};
use crate::messaging::RoutedTo;
use crate::pool::{self, Assignment, ReleaseStats, ThreadStatus};
use crate::settings::{self, ChaosSettings, RotationSettings};
use crate::world::{NumberClass, NumberStatus};
use crate::{Engine, Error, Result, Timestamp};

/// A thread as the owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSummary {
    pub id: ThreadId,
    pub status: ThreadStatus,
    pub client_id: ClientId,
    pub sitter_id: Option<SitterId>,
    pub booking_id: Option<BookingId>,
    pub number: Option<NumberRef>,
    pub bound_at: Option<Timestamp>,
    pub last_message_at: Option<Timestamp>,
    pub release_due_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberRef {
    pub id: NumberId,
    pub e164: String,
}

/// A business number with its current load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberSummary {
    pub id: NumberId,
    pub e164: String,
    pub class: NumberClass,
    pub status: NumberStatus,
    pub open_load: i64,
    pub last_assigned_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A client or sitter as staff see it (staff may see contact details; sitters never get this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactSummary {
    /// `cli_3` or `sit_2`.
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    /// E.164.
    pub phone: String,
    pub email: String,
}

/// Which contacts [`Engine::contacts`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Client,
    Sitter,
}

/// A stored message, as the owner sees it (nothing redacted: the owner may see contacts).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: MessageId,
    pub thread_id: Option<ThreadId>,
    pub direction: crate::messaging::Direction,
    pub actor: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub at: Timestamp,
    pub routed_to: crate::messaging::RoutedTo,
    pub delivery: Value,
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

impl Engine {
    fn ctx<'a>(&self, org: OrgId, actor: &'a str) -> Ctx<'a> {
        Ctx {
            org,
            now: self.now(),
            actor,
        }
    }

    pub fn rotation_settings(&self, org: OrgId) -> Result<RotationSettings> {
        self.read(|tx| settings::rotation(tx, org))
    }

    /// Validates and saves a partial update; deadlines and pool alerts follow the new values.
    pub fn update_rotation_settings(
        &self,
        org: OrgId,
        actor: &str,
        patch: &Value,
    ) -> Result<RotationSettings> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| {
            let current = settings::rotation(tx, org)?;
            let next = current.patched(patch)?;
            settings::save_rotation(tx, org, &next)?;
            audit::append(
                tx,
                &ctx,
                EventType::SettingsRotationUpdated,
                Subject::default(),
                &json!({ "changed": patch, "settings": next.to_json() }),
            )?;
            if next != current {
                pool::refresh_all_deadlines(tx, org, &next)?;
                pool::refresh_alerts(tx, &ctx, &next)?;
            }
            Ok(next)
        })
    }

    pub fn chaos_settings(&self, org: OrgId) -> Result<ChaosSettings> {
        self.read(|tx| settings::chaos(tx, org))
    }

    pub fn update_chaos_settings(
        &self,
        org: OrgId,
        actor: &str,
        patch: &Value,
    ) -> Result<ChaosSettings> {
        let now = self.now();
        self.write(|tx| {
            let next = settings::chaos(tx, org)?.patched(patch)?;
            settings::save_chaos(tx, org, &next)?;
            audit::append(
                tx,
                &Ctx { org, now, actor },
                EventType::SettingsChaosUpdated,
                Subject::default(),
                &json!({ "changed": patch, "settings": next }),
            )?;
            Ok(next)
        })
    }

    /// Runs the release job for one org now.
    pub fn run_release_job(&self, org: OrgId, actor: &str) -> Result<ReleaseStats> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| pool::run_release(tx, &ctx))
    }

    /// The scheduled release job: every org with a binding due now, in id order. An org with
    /// nothing due is skipped: its run would read the same empty due set and write nothing, so
    /// an idle tick (most of the 105,120 ticks of a simulated year) is one indexed read instead
    /// of one write transaction per org.
    pub fn run_scheduled_release(&self) -> Result<ReleaseStats> {
        let now = self.now();
        let due_orgs: Vec<OrgId> = self.read_one(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT o.id FROM orgs o WHERE EXISTS (
                         SELECT 1 FROM threads t INDEXED BY threads_due
                         WHERE t.org_id = o.id AND t.number_id IS NOT NULL AND t.release_due_at <= ?1)
                     ORDER BY o.id",
                )?
                .query_map([now], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })?;
        let mut total = ReleaseStats::default();
        for org in due_orgs {
            let stats = self.run_release_job(org, "system:release-job")?;
            total.released_by_grace_period += stats.released_by_grace_period;
            total.released_by_inactivity += stats.released_by_inactivity;
            total.released_by_max_lifetime += stats.released_by_max_lifetime;
            total.total_released += stats.total_released;
            total.errors.extend(stats.errors);
        }
        Ok(total)
    }

    pub fn org_ids(&self) -> Result<Vec<OrgId>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT id FROM orgs ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn create_booking(&self, org: OrgId, actor: &str, new: &NewBooking) -> Result<Booking> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| {
            let id = bookings::create(tx, &ctx, new)?;
            bookings::get(tx, org, id)
        })
    }

    pub fn booking(&self, org: OrgId, id: BookingId) -> Result<Booking> {
        self.read(|tx| bookings::get(tx, org, id))
    }

    pub fn transition_booking(
        &self,
        org: OrgId,
        actor: &str,
        id: BookingId,
        to: BookingStatus,
    ) -> Result<Booking> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| bookings::transition(tx, &ctx, id, to))
    }

    pub fn reassign_booking(
        &self,
        org: OrgId,
        actor: &str,
        id: BookingId,
        sitter: Option<SitterId>,
    ) -> Result<Booking> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| bookings::reassign(tx, &ctx, id, sitter))
    }

    /// Changes a booking's times ([`bookings::reschedule`]), one transaction.
    pub fn reschedule_booking(
        &self,
        org: OrgId,
        actor: &str,
        id: BookingId,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Booking> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| bookings::reschedule(tx, &ctx, id, start, end))
    }

    /// Activates, quarantines or retires a pool number ([`pool::set_number_status`]), one
    /// transaction; returns the number as it is afterwards.
    pub fn set_number_status(
        &self,
        org: OrgId,
        actor: &str,
        number: NumberId,
        to: NumberStatus,
    ) -> Result<NumberSummary> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| pool::set_number_status(tx, &ctx, number, to))?;
        self.numbers(org)?
            .into_iter()
            .find(|n| n.id == number)
            .ok_or_else(|| Error::NotFound("number".into()))
    }

    /// Opens a thread for a client (owner action) and assigns it a pool number.
    pub fn open_thread(
        &self,
        org: OrgId,
        actor: &str,
        client: ClientId,
        sitter: Option<SitterId>,
        booking: Option<BookingId>,
    ) -> Result<(ThreadId, Assignment)> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| {
            if let Some(sitter) = sitter {
                crate::world::require_in_org(tx, "sitters", org, sitter, "sitter")?;
            }
            let thread = pool::open_thread(tx, &ctx, client, sitter, booking)?;
            let settings = settings::rotation(tx, org)?;
            let assignment = pool::assign(tx, &ctx, thread, &settings)?;
            Ok((thread, assignment))
        })
    }

    /// Assigns a pool number to an existing open thread (no-op when it has one).
    pub fn assign_thread(&self, org: OrgId, actor: &str, thread: ThreadId) -> Result<Assignment> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| {
            let settings = settings::rotation(tx, org)?;
            pool::assign(tx, &ctx, thread, &settings)
        })
    }

    pub fn end_thread(
        &self,
        org: OrgId,
        actor: &str,
        thread: ThreadId,
        to: ThreadStatus,
    ) -> Result<ThreadSummary> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| pool::end_thread(tx, &ctx, thread, to))?;
        self.thread(org, thread)
    }

    pub fn thread(&self, org: OrgId, id: ThreadId) -> Result<ThreadSummary> {
        self.read(|tx| {
            tx.prepare_cached(&format!(
                "SELECT {THREAD_COLUMNS} WHERE t.id = ?1 AND t.org_id = ?2"
            ))?
            .query_row(params![id, org], thread_summary)
            .optional()?
            .ok_or_else(|| Error::NotFound("thread".into()))
        })
    }

    pub fn threads(&self, org: OrgId) -> Result<Vec<ThreadSummary>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {THREAD_COLUMNS} WHERE t.org_id = ?1 ORDER BY t.id"
                ))?
                .query_map([org], thread_summary)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn thread_messages(&self, org: OrgId, thread: ThreadId) -> Result<Vec<MessageView>> {
        self.thread(org, thread)?;
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE thread_id = ?1 ORDER BY id"
                ))?
                .query_map([thread], message_view)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// One message of the org.
    pub fn message(&self, org: OrgId, id: MessageId) -> Result<MessageView> {
        self.read(|tx| {
            tx.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} WHERE id = ?1 AND org_id = ?2"
            ))?
            .query_row(params![id, org], message_view)
            .optional()?
            .ok_or_else(|| Error::NotFound("message".into()))
        })
    }

    /// Messages routed to the owner inbox.
    pub fn inbox(&self, org: OrgId) -> Result<Vec<MessageView>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE org_id = ?1 AND routed_to = ?2 ORDER BY id"
                ))?
                .query_map(params![org, RoutedTo::OwnerInbox], message_view)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn numbers(&self, org: OrgId) -> Result<Vec<NumberSummary>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT id, e164, class, status, open_load, last_assigned_at, created_at
                     FROM message_numbers WHERE org_id = ?1 ORDER BY id",
                )?
                .query_map([org], |r| {
                    Ok(NumberSummary {
                        id: r.get(0)?,
                        e164: r.get(1)?,
                        class: r.get(2)?,
                        status: r.get(3)?,
                        open_load: r.get(4)?,
                        last_assigned_at: r.get(5)?,
                        created_at: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The org's clients or sitters in id order (`GET /api/clients`, `GET /api/sitters`), so a
    /// caller can find ids without guessing.
    pub fn contacts(&self, org: OrgId, kind: ContactKind) -> Result<Vec<ContactSummary>> {
        let (table, id_kind) = match kind {
            ContactKind::Client => ("clients", ClientId::KIND),
            ContactKind::Sitter => ("sitters", SitterId::KIND),
        };
        self.read(|tx| {
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
        })
    }

    pub fn audit_timeline(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.read(|tx| audit::timeline(tx, org, query))
    }

    pub fn alerts(&self, org: OrgId, open_only: bool) -> Result<Vec<Alert>> {
        self.read(|tx| alerts::list(tx, org, open_only))
    }

    pub fn resolve_alert(&self, org: OrgId, actor: &str, id: AlertId) -> Result<()> {
        let now = self.now();
        let ctx = Ctx { org, now, actor };
        let resolved = self.write(|tx| alerts::resolve_by_id(tx, &ctx, id))?;
        if resolved {
            Ok(())
        } else {
            Err(Error::NotFound("open alert".into()))
        }
    }
}
