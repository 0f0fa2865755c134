//! The invariants checked after every step of every scenario. Each reads the engine's rows
//! directly and states the rule in its own words (SQL or a few lines of Rust written from
//! DESIGN.md), so a bug in the engine's logic is not repeated by the check.
//!
//! | invariant | rule |
//! |---|---|
//! | `capacity` | no pool number serves more open threads than the cap in force when each was bound; `open_load` matches the rows |
//! | `client-uniqueness` | no client (counting clients that share a phone as one) has two open threads on one number |
//! | `routing` | every message routed to a sitter is on a thread that sitter can read at the message's time (by the engine's one access predicate, which the sitter views use) |
//! | `release` | after a job run, no bound thread is past its earliest deadline; no rule release happened before its deadline |
//! | `audit` | every bind and unbind has exactly one audit event, and every such event matches a binding change; every alert row has its events |
//! | `refused-unchanged` | a refused call (400/401/403/404) changed no row |
//! | `org-isolation` | no row references another org's row; no response names another org's ids |
//! | `leak` | no sitter response contains a real phone or email |

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use serde_json::Value;
use switchboard_core::Engine;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

fn violation(invariant: &'static str, detail: impl Into<String>) -> Violation {
    Violation {
        invariant,
        detail: detail.into(),
    }
}

/// What happened in one step, as the checks need it.
#[derive(Debug, Default)]
pub struct StepFacts {
    /// The simulated time the step started (end of the previous step).
    pub started_at: i64,
    /// The simulated time after the step.
    pub now: i64,
    /// The instant of the last scheduled release-job run (all orgs) in this step, if any.
    pub last_job_run: Option<i64>,
    /// Explicit runs for one org (`POST /api/ops/pool-release`): org → instant.
    pub org_job_runs: BTreeMap<i64, i64>,
    /// Responses the step received: (caller's org, whether the caller is a sitter, status, body).
    pub responses: Vec<ResponseFacts>,
    /// Refused calls (status) that nevertheless changed rows (how many).
    pub refused_writes: Vec<(u16, u64)>,
}

#[derive(Debug)]
pub struct ResponseFacts {
    pub org: Option<i64>,
    pub sitter: bool,
    pub status: u16,
    pub body: Vec<u8>,
}

/// Cursors so that each step looks only at what it added or touched: the checks cost what the
/// step did, not what the database holds. (Queries that must walk a rowid range say `+column`
/// to keep SQLite from preferring an index that would visit every older row.)
#[derive(Debug, Default)]
pub struct Checker {
    binding_cursor: i64,
    event_cursor: i64,
    released_seen: BTreeSet<i64>,
    /// Highest message id already checked by the routing invariant.
    message_cursor: i64,
    /// Highest row id already checked for org isolation, per table.
    isolation_cursors: BTreeMap<&'static str, i64>,
}

type Key = (i64, i64, i64); // (thread, number, at)

thread_local! {
    /// Errors of check queries; `Checker::check` turns them into violations, so a check that
    /// cannot run fails the step instead of passing silently.
    static QUERY_ERRORS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn q<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Vec<T> {
    let result = conn.prepare_cached(sql).and_then(|mut stmt| {
        stmt.query_map(params, row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<T>>>())
    });
    result.unwrap_or_else(|error| {
        QUERY_ERRORS.with(|errors| {
            errors.borrow_mut().push(format!(
                "{error} in `{}`",
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ))
        });
        Vec::new()
    })
}

fn ext_id(text: &Value, prefix: &str) -> Option<i64> {
    text.as_str()?.strip_prefix(prefix)?.parse().ok()
}

impl Checker {
    pub fn check(&mut self, engine: &Engine, facts: &StepFacts) -> Vec<Violation> {
        let mut out = Vec::new();
        let step_events_after = self.event_cursor;
        engine.inspect(|conn| {
            capacity(conn, &mut out);
            client_uniqueness(conn, &mut out);
            self.routing(conn, &mut out);
            self.audit(conn, facts, &mut out);
            self.org_isolation_rows(conn, step_events_after, &mut out);
        });
        release(engine, facts, step_events_after, &mut out);
        refused_unchanged(facts, &mut out);
        org_isolation_responses(engine, facts, &mut out);
        leaks(engine, facts, &mut out);
        for error in QUERY_ERRORS.with(|errors| std::mem::take(&mut *errors.borrow_mut())) {
            out.push(violation(
                "harness",
                format!("a check could not run: {error}"),
            ));
        }
        out
    }

    /// A message is always readable by whoever it is routed to: each new message routed to
    /// `sitter:sit_N` must be on a thread sitter N can read at the message's time.
    fn routing(&mut self, conn: &Connection, out: &mut Vec<Violation>) {
        let routed: Vec<(i64, i64, Option<i64>, String, i64)> = q(
            conn,
            "SELECT id, org_id, thread_id, routed_to, at FROM messages WHERE id > ?1 ORDER BY id",
            [self.message_cursor],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        );
        for (message, org, thread, routed_to, at) in routed {
            self.message_cursor = message;
            let Some(sitter) = ext_id(&Value::from(routed_to.as_str()), "sitter:sit_") else {
                continue;
            };
            let access = thread.map(|thread| {
                switchboard_core::access::sitter_access(
                    conn,
                    org,
                    sitter,
                    thread,
                    switchboard_core::Timestamp(at),
                )
            });
            match access {
                Some(Ok(access)) if access.is_readable() => {}
                Some(Ok(denied)) => out.push(violation(
                    "routing",
                    format!("message msg_{message} was routed to sit_{sitter}, who cannot read its thread: {denied:?}"),
                )),
                Some(Err(error)) => out.push(violation("harness", format!("access check failed: {error}"))),
                None => out.push(violation(
                    "routing",
                    format!("message msg_{message} was routed to sit_{sitter} without a thread"),
                )),
            }
        }
    }

    fn audit(&mut self, conn: &Connection, facts: &StepFacts, out: &mut Vec<Violation>) {
        // State changes since the last check.
        let binds: Vec<(i64, Key)> = q(
            conn,
            "SELECT id, thread_id, number_id, bound_at FROM number_bindings WHERE id > ?1 ORDER BY id",
            [self.binding_cursor],
            |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))),
        );
        let releases: Vec<(i64, Key)> = q(
            conn,
            "SELECT id, thread_id, number_id, released_at FROM number_bindings INDEXED BY bindings_released WHERE released_at IS NOT NULL AND released_at >= ?1 ORDER BY id",
            [facts.started_at],
            |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))),
        )
        .into_iter()
        .filter(|(id, _)| !self.released_seen.contains(id))
        .collect();
        // Events since the last check.
        let events: Vec<(i64, String, String, i64)> = q(
            conn,
            "SELECT id, type, payload, at FROM audit_events WHERE id > ?1 AND +type IN ('pool.number.assigned', 'pool.number.released') ORDER BY id",
            [self.event_cursor],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        );
        let mut assigned: BTreeMap<Key, i64> = BTreeMap::new();
        let mut released: BTreeMap<Key, i64> = BTreeMap::new();
        for (_, event_type, payload, at) in &events {
            let payload: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
            let key = (
                ext_id(&payload["threadId"], "thr_").unwrap_or(-1),
                ext_id(&payload["numberId"], "num_").unwrap_or(-1),
                *at,
            );
            let map = if event_type == "pool.number.assigned" {
                &mut assigned
            } else {
                &mut released
            };
            *map.entry(key).or_default() += 1;
        }
        let mut expect = |kind: &str, changes: &[(i64, Key)], events: &mut BTreeMap<Key, i64>| {
            for (binding, key) in changes {
                match events.get_mut(key) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => out.push(violation(
                        "audit",
                        format!("binding #{binding} (thread thr_{}, number num_{}) was {kind} at {} without a pool.number.{kind} event", key.0, key.1, key.2),
                    )),
                }
            }
            for (key, n) in events.iter() {
                if *n > 0 {
                    out.push(violation(
                        "audit",
                        format!("{n} pool.number.{kind} event(s) for thread thr_{} / number num_{} at {} match no binding change", key.0, key.1, key.2),
                    ));
                }
            }
        };
        expect("assigned", &binds, &mut assigned);
        expect("released", &releases, &mut released);
        if let Some((id, _)) = binds.last() {
            self.binding_cursor = *id;
        }
        self.released_seen
            .extend(releases.iter().map(|(id, _)| *id));
        let max_event: Vec<i64> = q(
            conn,
            "SELECT COALESCE(MAX(id), 0) FROM audit_events",
            [],
            |r| r.get(0),
        );
        self.event_cursor = max_event.first().copied().unwrap_or(0);
        // Alerts: every row has its opened event, every resolved row its resolved event.
        let counts: Vec<(i64, i64, i64, i64)> = q(
            conn,
            "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM alerts WHERE status = 'resolved'),
                    (SELECT count(*) FROM audit_events INDEXED BY audit_type WHERE type = 'alert.opened'),
                    (SELECT count(*) FROM audit_events INDEXED BY audit_type WHERE type = 'alert.resolved')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        );
        if let Some(&(rows, resolved, opened_events, resolved_events)) = counts.first()
            && (rows != opened_events || resolved != resolved_events)
        {
            out.push(violation(
                "audit",
                format!("{rows} alerts ({resolved} resolved) but {opened_events} alert.opened and {resolved_events} alert.resolved events"),
            ));
        }
    }
}

fn capacity(conn: &Connection, out: &mut Vec<Violation>) {
    // The k-th thread bound to a number (in binding order) needs a cap of at least k when bound.
    let over: Vec<(i64, i64, i64, i64)> = q(
        conn,
        "SELECT id, number_id, bound_cap, rank FROM (
             SELECT id, number_id, bound_cap,
                    row_number() OVER (PARTITION BY number_id ORDER BY bound_at, id) AS rank
             FROM threads WHERE number_id IS NOT NULL AND status = 'open')
         WHERE rank > bound_cap",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    for (thread, number, cap, rank) in over {
        out.push(violation("capacity", format!("number num_{number} took thread thr_{thread} as its #{rank} open thread while the cap was {cap}")));
    }
    let drift: Vec<(i64, i64, i64)> = q(
        conn,
        "SELECT n.id, n.open_load, COALESCE(c.open, 0) FROM message_numbers n
         LEFT JOIN (SELECT number_id, count(*) AS open FROM threads
                    WHERE number_id IS NOT NULL AND status = 'open' GROUP BY number_id) c ON c.number_id = n.id
         WHERE n.open_load != COALESCE(c.open, 0)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    );
    for (number, stored, actual) in drift {
        out.push(violation(
            "capacity",
            format!(
                "number num_{number} records a load of {stored} but serves {actual} open threads"
            ),
        ));
    }
    // The engine's per-org counters, which assignment and the reserve alert read.
    let counters: Vec<(i64, i64, i64, i64, i64)> = q(
        conn,
        "SELECT s.org_id, s.active_numbers, s.with_room,
                (SELECT count(*) FROM message_numbers n WHERE n.org_id = s.org_id AND n.class = 'pool' AND n.status = 'active'),
                (SELECT count(*) FROM message_numbers n WHERE n.org_id = s.org_id AND n.class = 'pool' AND n.status = 'active' AND n.open_load < s.cap)
         FROM pool_stats s",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    );
    for (org, active, with_room, actual_active, actual_with_room) in counters {
        if (active, with_room) != (actual_active, actual_with_room) {
            out.push(violation(
                "capacity",
                format!("org org_{org} counts {active} pool numbers ({with_room} with room) but has {actual_active} ({actual_with_room} with room)"),
            ));
        }
    }
    let closed: Vec<i64> = q(
        conn,
        "SELECT id FROM threads WHERE number_id IS NOT NULL AND status != 'open'",
        [],
        |r| r.get(0),
    );
    for thread in closed {
        out.push(violation(
            "capacity",
            format!("thread thr_{thread} is not open but still holds a number"),
        ));
    }
}

/// Clients of one org with the same phone are one client here (DESIGN.md §2 assigning step 4):
/// their inbound to a shared number would be ambiguous.
fn client_uniqueness(conn: &Connection, out: &mut Vec<Violation>) {
    let dup: Vec<(i64, i64, i64)> = q(
        conn,
        "SELECT t.number_id, min(t.client_id), count(*) FROM threads t JOIN clients c ON c.id = t.client_id
         WHERE t.number_id IS NOT NULL AND t.status = 'open'
         GROUP BY t.number_id, c.org_id, c.phone HAVING count(*) > 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    );
    for (number, client, n) in dup {
        out.push(violation(
            "client-uniqueness",
            format!("client cli_{client} (with any client sharing its phone) has {n} open threads on number num_{number}"),
        ));
    }
}

/// The earliest release deadline, from DESIGN.md §2: grace = window end + grace hours; inactivity
/// = (later of last message and binding) + days, 0 = off; lifetime = binding + days.
fn earliest_deadline(
    settings: &Value,
    bound_at: i64,
    last_message: Option<i64>,
    window_end: Option<i64>,
) -> i64 {
    let int = |key: &str| settings[key].as_i64().unwrap_or(0);
    let mut deadline = bound_at + int("maxPoolThreadLifetimeDays") * 86_400;
    if let Some(end) = window_end {
        deadline = deadline.min(end + int("postBookingGraceHours") * 3_600);
    }
    if int("inactivityReleaseDays") > 0 {
        let last = last_message.unwrap_or(bound_at).max(bound_at);
        deadline = deadline.min(last + int("inactivityReleaseDays") * 86_400);
    }
    deadline
}

fn release(engine: &Engine, facts: &StepFacts, events_after: i64, out: &mut Vec<Violation>) {
    let orgs = engine.org_ids().unwrap_or_default();
    for org in orgs {
        let Ok(settings) = engine.rotation_settings(org) else {
            continue;
        };
        let settings = settings.to_json();
        engine.inspect(|conn| {
            let run = facts.last_job_run.max(facts.org_job_runs.get(&org).copied());
            if let Some(run) = run {
                let bound: Vec<(i64, i64, Option<i64>, Option<i64>)> = q(
                    conn,
                    "SELECT t.id, t.bound_at,
                            (SELECT m.at FROM messages m WHERE m.thread_id = t.id ORDER BY m.id DESC LIMIT 1),
                            b.window_end
                     FROM threads t LEFT JOIN bookings b ON b.id = t.booking_id
                     WHERE t.org_id = ?1 AND t.number_id IS NOT NULL AND t.bound_at <= ?2",
                    rusqlite::params![org, run],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                );
                for (thread, bound_at, last_message, window_end) in bound {
                    // Messages after the run cannot have been seen by it.
                    let last_seen = last_message.filter(|m| *m <= run);
                    let deadline = earliest_deadline(&settings, bound_at, last_seen, window_end);
                    if deadline <= run {
                        out.push(violation("release", format!("thread thr_{thread} is still bound although its deadline {deadline} passed before the job ran at {run}")));
                    }
                }
            }
            // Every rule release in this step came at or after its deadline.
            let released: Vec<(i64, String)> = q(
                conn,
                "SELECT at, payload FROM audit_events WHERE id > ?2 AND +org_id = ?1 AND +type = 'pool.number.released'",
                rusqlite::params![org, events_after],
                |r| Ok((r.get(0)?, r.get(1)?)),
            );
            for (at, payload) in released {
                let payload: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
                if payload["rule"] == "thread_closed" {
                    continue;
                }
                let thread = ext_id(&payload["threadId"], "thr_").unwrap_or(-1);
                let bound_at = payload["boundAt"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map(|t| t.as_second());
                let Some(bound_at) = bound_at else {
                    out.push(violation("release", format!("release of thread thr_{thread} has no boundAt")));
                    continue;
                };
                let last_message: Vec<Option<i64>> = q(conn, "SELECT max(at) FROM messages WHERE thread_id = ?1 AND at <= ?2", rusqlite::params![thread, at], |r| r.get(0));
                let window_end: Vec<Option<i64>> = q(conn, "SELECT b.window_end FROM threads t JOIN bookings b ON b.id = t.booking_id WHERE t.id = ?1", [thread], |r| r.get(0));
                let deadline = earliest_deadline(&payload["settings"], bound_at, last_message.first().copied().flatten(), window_end.first().copied().flatten());
                if at < deadline {
                    out.push(violation("release", format!("thread thr_{thread} was released at {at}, before its deadline {deadline}")));
                }
            }
        });
    }
}

fn refused_unchanged(facts: &StepFacts, out: &mut Vec<Violation>) {
    for (status, rows) in &facts.refused_writes {
        out.push(violation(
            "refused-unchanged",
            format!("a call refused with {status} changed {rows} row(s)"),
        ));
    }
}

/// Cross-org references among the rows this step added or touched. `?1` is the table's cursor,
/// `?2` a JSON array of ids the step's audit events touched (threads, bookings).
const ISOLATION_CHECKS: [(&str, &str, &str); 9] = [
    (
        "threads",
        "thread's client",
        "SELECT t.id FROM threads t JOIN clients c ON c.id = t.client_id WHERE t.id IN (SELECT value FROM json_each(?2)) AND c.org_id != t.org_id",
    ),
    (
        "threads",
        "thread's sitter",
        "SELECT t.id FROM threads t JOIN sitters s ON s.id = t.sitter_id WHERE t.id IN (SELECT value FROM json_each(?2)) AND s.org_id != t.org_id",
    ),
    (
        "threads",
        "thread's number",
        "SELECT t.id FROM threads t JOIN message_numbers n ON n.id = t.number_id WHERE t.id IN (SELECT value FROM json_each(?2)) AND n.org_id != t.org_id",
    ),
    (
        "threads",
        "thread's booking",
        "SELECT t.id FROM threads t JOIN bookings b ON b.id = t.booking_id WHERE t.id IN (SELECT value FROM json_each(?2)) AND b.org_id != t.org_id",
    ),
    (
        "bookings",
        "booking's client",
        "SELECT b.id FROM bookings b JOIN clients c ON c.id = b.client_id WHERE b.id IN (SELECT value FROM json_each(?2)) AND c.org_id != b.org_id",
    ),
    (
        "bookings",
        "booking's sitter",
        "SELECT b.id FROM bookings b JOIN sitters s ON s.id = b.sitter_id WHERE b.id IN (SELECT value FROM json_each(?2)) AND s.org_id != b.org_id",
    ),
    (
        "messages",
        "message's thread",
        "SELECT m.id FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.id > ?1 AND ?2 IS NOT NULL AND t.org_id != m.org_id",
    ),
    (
        "number_bindings",
        "binding's thread",
        "SELECT nb.id FROM number_bindings nb JOIN threads t ON t.id = nb.thread_id WHERE nb.id > ?1 AND ?2 IS NOT NULL AND t.org_id != nb.org_id",
    ),
    (
        "audit_events",
        "audit event's thread",
        "SELECT a.id FROM audit_events a JOIN threads t ON t.id = a.thread_id WHERE a.id > ?1 AND ?2 IS NOT NULL AND t.org_id != a.org_id",
    ),
];

impl Checker {
    fn org_isolation_rows(
        &mut self,
        conn: &Connection,
        events_after: i64,
        out: &mut Vec<Violation>,
    ) {
        // Candidates: rows added since the last check, and threads and bookings the step's
        // events touched (updates do not move the id cursors). Each query
        // uses an index, so the check costs what the step did, not what the database holds.
        let ids = |sql: &str, cursor: i64| -> String {
            let mut ids: Vec<i64> = q(conn, sql, rusqlite::params![events_after, cursor], |r| {
                r.get(0)
            });
            ids.sort_unstable();
            ids.dedup();
            serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
        };
        let cursor = |table: &str| self.isolation_cursors.get(table).copied().unwrap_or(0);
        let threads = ids(
            "SELECT id FROM threads WHERE id > ?2
             UNION ALL SELECT thread_id FROM audit_events WHERE id > ?1 AND thread_id IS NOT NULL
             UNION ALL SELECT t.id FROM threads t WHERE t.booking_id IN (
                 SELECT CAST(substr(json_extract(payload, '$.bookingId'), 5) AS INTEGER) FROM audit_events
                 WHERE id > ?1 AND json_extract(payload, '$.bookingId') IS NOT NULL)",
            cursor("threads"),
        );
        let bookings = ids(
            "SELECT id FROM bookings WHERE id > ?2
             UNION ALL SELECT CAST(substr(json_extract(payload, '$.bookingId'), 5) AS INTEGER) FROM audit_events
             WHERE id > ?1 AND json_extract(payload, '$.bookingId') IS NOT NULL",
            cursor("bookings"),
        );
        for (table, what, sql) in ISOLATION_CHECKS {
            let cursor = self.isolation_cursors.get(table).copied().unwrap_or(0);
            let ids = if table == "bookings" {
                &bookings
            } else {
                &threads
            };
            for id in q(conn, sql, rusqlite::params![cursor, ids], |r| {
                r.get::<_, i64>(0)
            }) {
                out.push(violation(
                    "org-isolation",
                    format!("{table} row {id}: the {what} belongs to another org"),
                ));
            }
        }
        for table in [
            "threads",
            "bookings",
            "messages",
            "number_bindings",
            "audit_events",
        ] {
            let max: Vec<i64> = q(
                conn,
                &format!("SELECT COALESCE(MAX(id), 0) FROM {table}"),
                [],
                |r| r.get(0),
            );
            self.isolation_cursors
                .insert(table, max.first().copied().unwrap_or(0));
        }
    }
}

fn org_isolation_responses(engine: &Engine, facts: &StepFacts, out: &mut Vec<Violation>) {
    for response in &facts.responses {
        let Some(org) = response.org else { continue };
        let text = String::from_utf8_lossy(&response.body);
        let ids: BTreeSet<&str> = crate::names::external_ids(&text).collect();
        for id in ids {
            let Some((prefix, number)) = id.split_once('_') else {
                continue;
            };
            let table = match prefix {
                "sit" => "sitters",
                "cli" => "clients",
                "bkg" => "bookings",
                "num" => "message_numbers",
                "thr" => "threads",
                "msg" => "messages",
                "alr" => "alerts",
                "usr" => "users",
                _ => continue,
            };
            let owner: Vec<i64> = engine.inspect(|conn| {
                q(
                    conn,
                    &format!("SELECT org_id FROM {table} WHERE id = ?1"),
                    [number],
                    |r| r.get(0),
                )
            });
            if let Some(&other) = owner.first()
                && other != org
            {
                out.push(violation(
                    "org-isolation",
                    format!("a response to org org_{org} names {id} of org org_{other}"),
                ));
            }
        }
    }
}

fn leaks(engine: &Engine, facts: &StepFacts, out: &mut Vec<Violation>) {
    let Ok(scanner) = engine.leak_scanner() else {
        out.push(violation("leak", "could not build the leak scanner"));
        return;
    };
    for response in facts.responses.iter().filter(|r| r.sitter) {
        for finding in scanner.scan_json(&response.body).findings {
            out.push(violation(
                "leak",
                format!(
                    "sitter response leaks a {:?} ({}) at {}",
                    finding.kind, finding.secret_masked, finding.pointer
                ),
            ));
        }
    }
}
