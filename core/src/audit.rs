//! The audit trail: append-only rows in `audit_events`, numbered per org, written in the same
//! transaction as the change they describe.

use rusqlite::{Transaction, params};
use serde::Serialize;
use serde_json::Value;

use crate::ids::{self, Kind};
use crate::{Error, Result, Timestamp};

/// What an event is about, for the indexed columns (payloads carry the full detail).
#[derive(Debug, Default, Clone, Copy)]
pub struct Subject {
    pub thread: Option<i64>,
    pub number: Option<i64>,
    pub message: Option<i64>,
}

/// Appends one event and returns its sequence number within the org.
pub fn append(
    tx: &Transaction,
    org: i64,
    at: Timestamp,
    event_type: &str,
    actor: &str,
    subject: Subject,
    payload: &Value,
) -> Result<i64> {
    Appender::new(tx, org)?.append(at, event_type, actor, subject, payload)
}

/// Appends many events of one org in one transaction, reading the org's last sequence number
/// once (the release job writes thousands of events per run).
pub struct Appender<'t> {
    tx: &'t Transaction<'t>,
    org: i64,
    next_seq: i64,
}

impl<'t> Appender<'t> {
    pub fn new(tx: &'t Transaction<'t>, org: i64) -> Result<Appender<'t>> {
        let next_seq: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events WHERE org_id = ?1")?
            .query_row([org], |r| r.get(0))?;
        Ok(Appender { tx, org, next_seq })
    }

    pub fn append(
        &mut self,
        at: Timestamp,
        event_type: &str,
        actor: &str,
        subject: Subject,
        payload: &Value,
    ) -> Result<i64> {
        let payload = serde_json::to_string(payload).map_err(|e| Error::Corrupt(e.to_string()))?;
        let seq = self.next_seq;
        self.tx
            .prepare_cached(
                "INSERT INTO audit_events (org_id, seq, at, type, actor, thread_id, number_id, message_id, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                self.org,
                seq,
                at,
                event_type,
                actor,
                subject.thread,
                subject.number,
                subject.message,
                payload
            ])?;
        self.next_seq += 1;
        Ok(seq)
    }
}

/// One event as the API and the simulator show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub seq: i64,
    pub at: Timestamp,
    #[serde(rename = "type")]
    pub event_type: String,
    pub actor: String,
    pub thread_id: Option<String>,
    pub payload: Value,
}

/// Which events to list.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub event_type: Option<String>,
    pub thread: Option<i64>,
    pub message: Option<i64>,
    /// Only events with `seq` greater than this.
    pub after_seq: Option<i64>,
    pub limit: Option<i64>,
}

pub fn timeline(tx: &Transaction, org: i64, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
    let mut stmt = tx.prepare_cached(
        "SELECT seq, at, type, actor, thread_id, payload FROM audit_events
         WHERE org_id = ?1
           AND (?2 IS NULL OR type = ?2)
           AND (?3 IS NULL OR thread_id = ?3)
           AND (?4 IS NULL OR message_id = ?4)
           AND seq > COALESCE(?5, 0)
         ORDER BY seq
         LIMIT COALESCE(?6, -1)",
    )?;
    let rows = stmt.query_map(
        params![
            org,
            query.event_type,
            query.thread,
            query.message,
            query.after_seq,
            query.limit
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Timestamp>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, String>(5)?,
            ))
        },
    )?;
    let mut events = Vec::new();
    for row in rows {
        let (seq, at, event_type, actor, thread, payload) = row?;
        let payload = serde_json::from_str(&payload)
            .map_err(|e| Error::Corrupt(format!("audit payload {seq}: {e}")))?;
        events.push(AuditEvent {
            seq,
            at,
            event_type,
            actor,
            thread_id: thread.map(|t| ids::format(Kind::Thread, t)),
            payload,
        });
    }
    Ok(events)
}
