//! Alerts: at most one open alert per (org, type, entity), enforced by a unique partial index.
//! Every open and resolve is also an audit event.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, EventType, Subject};
use crate::ctx::Ctx;
use crate::ids::{AlertId, OrgId};
use crate::{Result, Timestamp};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information; nothing is wrong yet.
    Info,
    /// Something needs a look (an unmapped inbound, a low reserve).
    Warning,
    /// Conversations are stalled (the pool is exhausted).
    Critical,
}

crate::stored_words!(Severity {
    Info => "info",
    Warning => "warning",
    Critical => "critical",
});

/// What an alert is about (stored in `alerts.type`, shown as `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlertType {
    /// An open thread waits for a pool number (entity `pool`).
    #[serde(rename = "pool.exhausted")]
    PoolExhausted,
    /// Fewer pool numbers have room than `minPoolReserve` (entity `pool`).
    #[serde(rename = "pool.reserve.low")]
    PoolReserveLow,
    /// Inbound to a pool number matched no open thread (entity: the number).
    #[serde(rename = "routing.unmapped")]
    RoutingUnmapped,
}

crate::stored_words!(AlertType {
    PoolExhausted => "pool.exhausted",
    PoolReserveLow => "pool.reserve.low",
    RoutingUnmapped => "routing.unmapped",
});

/// An alert's lifecycle: `open` until resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// The condition holds (one open alert per org, type and entity).
    Open,
    /// The condition ended, or staff resolved it by hand.
    Resolved,
}

crate::stored_words!(AlertStatus {
    Open => "open",
    Resolved => "resolved",
});

/// Opens the alert unless one is already open for (type, entity). Returns true if it opened.
#[allow(clippy::too_many_arguments)]
pub fn open(
    tx: &Transaction,
    ctx: &Ctx,
    alert_type: AlertType,
    severity: Severity,
    entity: &str,
    message: &str,
) -> Result<bool> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO alerts (org_id, type, severity, entity, status, message, opened_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            ctx.org,
            alert_type,
            severity,
            entity,
            AlertStatus::Open,
            message,
            ctx.now
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    let id = AlertId(tx.last_insert_rowid());
    audit::append(
        tx,
        ctx,
        EventType::AlertOpened,
        Subject::default(),
        &json!({
            "alertId": id,
            "type": alert_type,
            "severity": severity,
            "entity": entity,
            "message": message,
        }),
    )?;
    Ok(true)
}

/// Resolves the open alert for (type, entity), if any. Returns true if one was resolved.
pub fn resolve(tx: &Transaction, ctx: &Ctx, alert_type: AlertType, entity: &str) -> Result<bool> {
    // `status = 'open'` is a literal on purpose: the planner can use the partial index
    // `alerts_one_open` only when the query implies its WHERE, and a bound parameter does not
    // (with `?4` every refresh of the pool alerts walked all alerts ever opened, and SQLite
    // re-prepared the statement on every bind: STAT4 marks parameters a partial index's use
    // depends on).
    debug_assert_eq!(AlertStatus::Open.as_str(), "open");
    let id: Option<AlertId> = tx
        .prepare_cached(
            "SELECT id FROM alerts WHERE org_id = ?1 AND type = ?2 AND entity = ?3 AND status = 'open'",
        )?
        .query_row(params![ctx.org, alert_type, entity], |r| r.get(0))
        .optional()?;
    let Some(id) = id else { return Ok(false) };
    resolve_by_id(tx, ctx, id)
}

/// Resolves one alert by id (owner action). False if it was not open or not the org's.
pub fn resolve_by_id(tx: &Transaction, ctx: &Ctx, id: AlertId) -> Result<bool> {
    let row: Option<(AlertType, String)> = tx
        .prepare_cached(
            "SELECT type, entity FROM alerts WHERE id = ?1 AND org_id = ?2 AND status = ?3",
        )?
        .query_row(params![id, ctx.org, AlertStatus::Open], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((alert_type, entity)) = row else {
        return Ok(false);
    };
    tx.prepare_cached("UPDATE alerts SET status = ?1, resolved_at = ?2 WHERE id = ?3")?
        .execute(params![AlertStatus::Resolved, ctx.now, id])?;
    audit::append(
        tx,
        ctx,
        EventType::AlertResolved,
        Subject::default(),
        &json!({
            "alertId": id,
            "type": alert_type,
            "entity": entity,
        }),
    )?;
    Ok(true)
}

/// An alert as the API and the alerts page show it (a DTO of the HTTP edge: text id).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `alr_3`.
    pub id: String,
    /// What it is about (`type` in JSON).
    #[serde(rename = "type")]
    pub alert_type: AlertType,
    /// How urgent it is.
    pub severity: Severity,
    /// The entity it is about: `pool`, or a number's id (`num_4`).
    pub entity: String,
    /// Open or resolved.
    pub status: AlertStatus,
    /// A human sentence about the condition.
    pub message: String,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// When it was resolved; `null` while open.
    pub resolved_at: Option<Timestamp>,
}

/// Alerts of the org, oldest first; `open_only` filters to open ones.
pub fn list(tx: &Transaction, org: OrgId, open_only: bool) -> Result<Vec<Alert>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, type, severity, entity, status, message, opened_at, resolved_at FROM alerts
         WHERE org_id = ?1 AND (?2 = 0 OR status = ?3) ORDER BY id",
    )?;
    let rows = stmt.query_map(params![org, open_only, AlertStatus::Open], |r| {
        Ok(Alert {
            id: r.get::<_, AlertId>(0)?.to_string(),
            alert_type: r.get(1)?,
            severity: r.get(2)?,
            entity: r.get(3)?,
            status: r.get(4)?,
            message: r.get(5)?,
            opened_at: r.get(6)?,
            resolved_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
