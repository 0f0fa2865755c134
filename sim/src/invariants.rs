//! The invariants checked after every step of every scenario. Each reads the engine's rows
//! directly and states the rule in its own words (SQL or a few lines of Rust written from
//! DESIGN.md), so a bug in the engine's logic is not repeated by the check.
//!
//! | invariant | rule |
//! |---|---|
//! | `capacity` | no pool number serves more open threads than the cap in force when each was bound (ranked by binding sequence); `open_load` matches the rows |
//! | `client-uniqueness` | no client (counting clients that share a phone as one) has two open threads on one number |
//! | `routing` | every message routed to a sitter is on a thread that sitter can read at the message's time (by the engine's one access predicate, which the sitter views use) |
//! | `release` | each job run, judged the moment it finished (rows it saw, settings in force): no bound thread past its earliest deadline, no rule release before its deadline; no rule release outside a run |
//! | `harness` | a check that could not run (a query error, an unreadable setting or payload): never a pass |
//! | `audit` | every bind and unbind has exactly one audit event, and every such event matches a binding change; every alert row has its events |
//! | `refused-unchanged` | a refused call (400/401/403/404) changed no row |
//! | `org-isolation` | no row references another org's row; no response names another org's ids |
//! | `leak` | no sitter response contains a real phone or email, by the engine's scanner and by the harness's own oracle ([`crate::leak_oracle`]) |

use std::collections::{BTreeMap, BTreeSet};

mod change_feed;
mod scope;

use change_feed::{ChangeFeed, Changes, RowChanges};
use scope::{AlertCounts, Scope, Shadow};
use switchboard_core::ids::OrgId;

use rusqlite::Connection;
use serde_json::Value;
use switchboard_core::Engine;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name, as in the module table (`capacity`, `release`, ...).
    pub invariant: &'static str,
    /// What was found, naming the rows (external ids) and instants (RFC 3339).
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
    /// Every run of the release job in this step (scheduled ones per org, and explicit
    /// `POST /api/ops/pool-release` runs), in the order they ran, each judged when it finished.
    pub job_runs: Vec<JobRun>,
    /// Responses the step received: (caller's org, whether the caller is a sitter, status, body).
    pub responses: Vec<ResponseFacts>,
    /// Refused calls (status) that nevertheless changed rows (how many).
    pub refused_writes: Vec<(u16, u64)>,
}

/// One response a step received, for the org-isolation and leak checks.
#[derive(Debug)]
pub struct ResponseFacts {
    /// The caller's org (None for anonymous callers and the provider).
    pub org: Option<i64>,
    /// Whether the caller is a sitter (its responses are scanned for leaks).
    pub sitter: bool,
    /// The HTTP status.
    pub status: u16,
    /// The response body, as sent.
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
    /// The database state ([`RowState`]) when the row checks last ran and found nothing.
    clean_at: Option<RowState>,
    /// The engine's change feed (shared with the scheduled judge), when installed.
    feed: Option<ChangeFeed>,
    /// The leak oracle's contacts and the feed's count of contact writes when they were read.
    oracle: Option<(u64, std::rc::Rc<crate::leak_oracle::OracleContacts>)>,
    /// The rows the table-wide checks last read clean (None: read everything next time).
    shadow: Option<Shadow>,
}

/// What tells whether any row or the schema changed: the connection's `total_changes` (every
/// row an INSERT, UPDATE or DELETE touched, triggers included, committed or not), `PRAGMA
/// data_version` (writes by other connections) and `PRAGMA schema_version` (DDL, which
/// `total_changes` does not count).
pub type RowState = (u64, i64, i64);

/// The current [`RowState`] of `conn`.
fn row_state(conn: &Connection) -> rusqlite::Result<RowState> {
    let pragma = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, i64>(0)))
    };
    Ok((
        conn.total_changes(),
        pragma("PRAGMA data_version")?,
        pragma("PRAGMA schema_version")?,
    ))
}

/// The messages after `?1`, in id order, each with the sitter that may read its thread at its
/// time by the harness's own reading of DESIGN §2's access rule, in raw SQL (independent of the
/// engine's `access::sitter_access`): sitter S may read thread T of org O at `at` iff T is
/// assigned to S, is `open` or `closed`, and has a booking that is `confirmed` or `completed`
/// whose window holds `at` (start inclusive, end exclusive). A thread has one row and one
/// booking, so at most one sitter qualifies (NULL: none). One statement for the whole step
/// instead of one per message (the busy year routes about 114 messages an hour).
const ROUTED_MESSAGES: &str = "SELECT m.id, m.org_id, m.thread_id, m.routed_to, m.at,
        (SELECT t.sitter_id FROM threads t JOIN bookings b ON b.id = t.booking_id
         WHERE t.id = m.thread_id AND t.org_id = m.org_id AND t.status IN ('open', 'closed')
           AND b.status IN ('confirmed', 'completed') AND b.window_start <= m.at AND m.at < b.window_end)
 FROM messages m WHERE m.id > ?1 ORDER BY m.id";

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
    /// Every invariant over what the step did (`facts`) and the rows it left; empty when all
    /// hold. A check that could not run is a `harness` violation.
    pub fn check(&mut self, engine: &Engine, facts: &StepFacts) -> Vec<Violation> {
        let mut out = Vec::new();
        engine.inspect(|conn| self.check_rows(conn, facts, &mut out));
        for run in &facts.job_runs {
            out.extend(run.violations.iter().cloned());
        }
        refused_unchanged(facts, &mut out);
        org_isolation_responses(engine, facts, &mut out);
        if facts.responses.iter().any(|r| r.sitter) {
            match self.oracle_contacts(engine) {
                Ok(oracle) => leaks(engine, &oracle, facts, &mut out),
                Err(error) => out.push(violation(
                    "harness",
                    format!("leak oracle: cannot read contacts: {error}"),
                )),
            }
        }
        for error in QUERY_ERRORS.with(|errors| std::mem::take(&mut *errors.borrow_mut())) {
            out.push(violation(
                "harness",
                format!("a check could not run: {error}"),
            ));
        }
        out
    }

    /// A checker and a scheduled judge sharing one change feed on `engine`'s connection (see
    /// [`ScheduledJudge`]); without the feed (it could not be installed) both read afresh.
    pub fn with_judge(engine: &Engine) -> (Checker, ScheduledJudge) {
        let feed = ChangeFeed::attach(engine).ok();
        let checker = Checker {
            feed: feed.clone(),
            ..Checker::default()
        };
        let judge = ScheduledJudge {
            feed,
            ..ScheduledJudge::default()
        };
        (checker, judge)
    }

    /// Every client's and sitter's phone and email for the leak oracle, read again only when
    /// SQLite reported a write to those tables since the last reading (always without a feed).
    fn oracle_contacts(
        &mut self,
        engine: &Engine,
    ) -> rusqlite::Result<std::rc::Rc<crate::leak_oracle::OracleContacts>> {
        let writes = self.feed.as_ref().and_then(ChangeFeed::contact_writes);
        if let (Some(writes), Some((read_at, oracle))) = (writes, &self.oracle)
            && writes == *read_at
        {
            return Ok(oracle.clone());
        }
        let oracle =
            std::rc::Rc::new(engine.inspect(crate::leak_oracle::OracleContacts::from_rows)?);
        self.oracle = writes.map(|writes| (writes, oracle.clone()));
        Ok(oracle)
    }

    /// The checks that read rows. They are skipped, exactly, when no row and no schema changed
    /// since they last ran clean: every one of them is a pure function of the rows and of the
    /// cursors, which that run advanced past every row there was (and `facts.started_at` only
    /// moves forward), so running them again would read the same rows and find nothing.
    /// Otherwise the table-wide ones read only what the change feed says may have changed
    /// ([`scope`]), or everything when it cannot say.
    fn check_rows(&mut self, conn: &Connection, facts: &StepFacts, out: &mut Vec<Violation>) {
        let changes = self.feed.as_ref().map(ChangeFeed::take_rows);
        let state = match row_state(conn) {
            Ok(state) => Some(state),
            Err(error) => {
                out.push(violation(
                    "harness",
                    format!("cannot read the database state: {error}"),
                ));
                None
            }
        };
        let quiet = changes.as_ref().is_none_or(|changes| changes.calls == 0);
        if quiet && state.is_some() && state == self.clean_at {
            return;
        }
        let previous = self.clean_at.take();
        let found_before = out.len();
        let errors_before = QUERY_ERRORS.with(|errors| errors.borrow().len());
        let step_events_after = self.event_cursor;
        let shadow = match (self.shadow.take(), previous, state, changes) {
            (Some(shadow), Some(previous), Some(state), Some(changes))
                if incremental(previous, state, &changes) =>
            {
                Some((shadow, changes))
            }
            _ => None,
        };
        let (scope, shadow) = match shadow {
            Some((mut shadow, changes)) => {
                let scope = shadow.advance(conn, &changes, step_events_after);
                (Some(scope), shadow)
            }
            None => (None, Shadow::read(conn)),
        };
        let tables = |conn: &Connection, scope: &Scope, out: &mut Vec<Violation>| {
            capacity(conn, scope, out);
            client_uniqueness(conn, scope, out);
        };
        cross_checked(conn, scope.as_ref(), tables, out);
        self.routing(conn, out);
        self.audit(conn, facts, out);
        let alerts = shadow.alerts;
        let counts = |conn: &Connection, scope: &Scope, out: &mut Vec<Violation>| {
            let counts = match scope.numbers {
                Some(_) => Some(alerts),
                None => scope::count_alerts(conn),
            };
            alert_events(counts, out);
        };
        cross_checked(conn, scope.as_ref(), counts, out);
        self.org_isolation_rows(conn, step_events_after, out);
        releases_outside_runs(conn, facts, step_events_after, out);
        let clean = out.len() == found_before
            && QUERY_ERRORS.with(|errors| errors.borrow().len()) == errors_before;
        if clean {
            self.clean_at = state;
            self.shadow = Some(shadow);
        }
    }

    /// A message is always readable by whoever it is routed to: each new message routed to
    /// `sitter:sit_N` must be on a thread sitter N can read at the message's time.
    fn routing(&mut self, conn: &Connection, out: &mut Vec<Violation>) {
        type Routed = (i64, Option<i64>, String, i64, Option<i64>);
        let routed: Vec<Routed> = q(conn, ROUTED_MESSAGES, [self.message_cursor], |r| {
            Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        });
        for (message, thread, routed_to, at, reader) in routed {
            self.message_cursor = message;
            let Some(sitter) = ext_id(&Value::from(routed_to.as_str()), "sitter:sit_") else {
                continue;
            };
            let Some(thread) = thread else {
                out.push(violation(
                    "routing",
                    format!("message msg_{message} was routed to sit_{sitter} without a thread"),
                ));
                continue;
            };
            if reader != Some(sitter) {
                out.push(violation(
                    "routing",
                    format!(
                        "message msg_{message} was routed to sit_{sitter}, who cannot read its thread thr_{thread} at its time {at} (not the thread's sitter, the thread archived, or no confirmed or completed booking whose window holds that instant)"
                    ),
                ));
            }
        }
    }

    /// Every bind and unbind since the last check has exactly one audit event, and every such
    /// event matches a binding change; then the alert counts.
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
        let (mut assigned, mut released) = binding_events(conn, self.event_cursor, out);
        expect_events("assigned", &binds, &mut assigned, out);
        expect_events("released", &releases, &mut released, out);
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
    }
}

/// Whether the feed's changes say everything that changed from `previous` to `state`: no write
/// by another connection, no DDL, and as many row changes reported as the connection made (a
/// write the hook did not see, e.g. after the hook was replaced, makes the checks read all).
fn incremental(previous: RowState, state: RowState, changes: &RowChanges) -> bool {
    !changes.full
        && (previous.1, previous.2) == (state.1, state.2)
        && state.0.checked_sub(previous.0) == Some(changes.calls)
}

/// Runs a table-wide `check` over `scope` (every row when None). Debug builds (every test) run
/// it over every row too and report any difference as a `harness` violation, keeping the full
/// verdict, so a change the feed missed cannot hide a fault.
fn cross_checked(
    conn: &Connection,
    scope: Option<&Scope>,
    check: impl Fn(&Connection, &Scope, &mut Vec<Violation>),
    out: &mut Vec<Violation>,
) {
    let Some(scope) = scope else {
        check(conn, &Scope::all(), out);
        return;
    };
    let mut found = Vec::new();
    check(conn, scope, &mut found);
    if cfg!(debug_assertions) {
        let mut full = Vec::new();
        check(conn, &Scope::all(), &mut full);
        let sorted = |found: &[Violation]| {
            let mut details: Vec<String> = found
                .iter()
                .map(|v| format!("[{}] {}", v.invariant, v.detail))
                .collect();
            details.sort();
            details
        };
        let (kept, fresh) = (sorted(&found), sorted(&full));
        if kept != fresh {
            full.push(violation(
                "harness",
                format!("row checks: reading only the changed rows found {kept:?}, reading every row {fresh:?}"),
            ));
            found = full;
        }
    }
    out.extend(found);
}

/// The `pool.number.assigned` and `pool.number.released` events after `event_cursor`, counted
/// per (thread, number, at); an event whose payload cannot be read is a `harness` violation.
fn binding_events(
    conn: &Connection,
    event_cursor: i64,
    out: &mut Vec<Violation>,
) -> (BTreeMap<Key, i64>, BTreeMap<Key, i64>) {
    let events: Vec<(i64, String, String, i64)> = q(
        conn,
        "SELECT id, type, payload, at FROM audit_events WHERE id > ?1 AND +type IN ('pool.number.assigned', 'pool.number.released') ORDER BY id",
        [event_cursor],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    let mut assigned: BTreeMap<Key, i64> = BTreeMap::new();
    let mut released: BTreeMap<Key, i64> = BTreeMap::new();
    for (id, event_type, payload, at) in &events {
        let ids = serde_json::from_str::<Value>(payload)
            .map_err(|e| e.to_string())
            .and_then(|payload| {
                let thread = ext_id(&payload["threadId"], "thr_");
                let number = ext_id(&payload["numberId"], "num_");
                thread
                    .zip(number)
                    .ok_or_else(|| "no threadId or numberId".to_string())
            });
        let (thread, number) = match ids {
            Ok(ids) => ids,
            Err(error) => {
                out.push(violation(
                    "harness",
                    format!("audit: cannot read {event_type} event #{id}: {error}"),
                ));
                continue;
            }
        };
        let map = if event_type == "pool.number.assigned" {
            &mut assigned
        } else {
            &mut released
        };
        *map.entry((thread, number, *at)).or_default() += 1;
    }
    (assigned, released)
}

/// Each binding change of `kind` consumes one matching event; a change without an event, or
/// an event left over, is an `audit` violation.
fn expect_events(
    kind: &str,
    changes: &[(i64, Key)],
    events: &mut BTreeMap<Key, i64>,
    out: &mut Vec<Violation>,
) {
    for (binding, key) in changes {
        match events.get_mut(key) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(violation(
                "audit",
                format!("binding #{binding} (thread thr_{}, number num_{}) was {kind} at {} without a pool.number.{kind} event", key.0, key.1, instant(key.2)),
            )),
        }
    }
    for (key, n) in events.iter() {
        if *n > 0 {
            out.push(violation(
                "audit",
                format!("{n} pool.number.{kind} event(s) for thread thr_{} / number num_{} at {} match no binding change", key.0, key.1, instant(key.2)),
            ));
        }
    }
}

/// Alerts: every row has its opened event, every resolved row its resolved event (the counts
/// of rows and events, read afresh or kept by the [`Shadow`]).
fn alert_events(counts: Option<AlertCounts>, out: &mut Vec<Violation>) {
    if let Some((rows, resolved, opened_events, resolved_events)) = counts
        && (rows != opened_events || resolved != resolved_events)
    {
        out.push(violation(
            "audit",
            format!("{rows} alerts ({resolved} resolved) but {opened_events} alert.opened and {resolved_events} alert.resolved events"),
        ));
    }
}

/// The SQL of a table-wide check restricted to the scope's ids: `$before`, then `$column`
/// restricted to `$ids` (bound as `?1`) or `?1 IS NULL` (always true) for every row, so both
/// forms take the same one parameter; then `$after`. Both forms are literals (no SQL formatted
/// per check; the statement cache looks them up as they are).
macro_rules! within {
    ($ids:expr, $before:literal, $column:literal, $after:literal) => {
        match $ids {
            Some(_) => concat!(
                $before,
                $column,
                " IN (SELECT value FROM json_each(?1))",
                $after
            ),
            None => concat!($before, "?1 IS NULL", $after),
        }
    };
}

/// [`q`] of a table-wide check's `sql` with the scope's `ids` bound as `?1`. An empty id list
/// restricts the query to no row, so it is not run: most steps that write leave one or more of
/// the lists empty, and each skipped statement saves its fixed cost (a few µs).
fn scoped_q<T>(
    conn: &Connection,
    ids: &Option<String>,
    sql: &str,
    row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Vec<T> {
    if ids.as_deref() == Some("[]") {
        return Vec::new();
    }
    q(conn, sql, [ids], row)
}

/// Every capacity rule (see the module table): binding ranks, `open_load`, the per-org
/// counters, and withdrawn numbers or closed threads that still hold a number.
fn capacity(conn: &Connection, scope: &Scope, out: &mut Vec<Violation>) {
    capacity_ranks(conn, scope, out);
    capacity_counters(conn, scope, out);
    withdrawn_holders(conn, scope, out);
}

/// No open thread is beyond its number's cap in force when it was bound.
fn capacity_ranks(conn: &Connection, scope: &Scope, out: &mut Vec<Violation>) {
    // The k-th open thread on a number, in true binding order (the sequence of the binding rows,
    // never the second they were made in), needs a cap of at least k when bound: the k-1 before
    // it have been bound ever since.
    // Ranks are per number, so the numbers in scope are ranked exactly as in a full reading.
    let over: Vec<(i64, i64, i64, i64)> = scoped_q(
        conn,
        &scope.numbers,
        within!(
            &scope.numbers,
            "SELECT id, number_id, bound_cap, rank FROM (
                 SELECT t.id, t.number_id, t.bound_cap,
                        row_number() OVER (PARTITION BY t.number_id ORDER BY nb.id) AS rank
                 FROM threads t JOIN number_bindings nb
                      ON nb.id = (SELECT max(id) FROM number_bindings WHERE thread_id = t.id)
                 WHERE t.number_id IS NOT NULL AND t.status = 'open' AND ",
            "t.number_id",
            ")
             WHERE rank > bound_cap"
        ),
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    for (thread, number, cap, rank) in over {
        out.push(violation("capacity", format!("number num_{number} took thread thr_{thread} as its #{rank} open thread while the cap was {cap}")));
    }
}

/// The engine's derived counters (`open_load` per number, `pool_stats` per org) match the rows.
fn capacity_counters(conn: &Connection, scope: &Scope, out: &mut Vec<Violation>) {
    let drift: Vec<(i64, i64, i64)> = scoped_q(
        conn,
        &scope.numbers,
        within!(
            &scope.numbers,
            "SELECT id, open_load, open FROM (
                 SELECT n.id, n.open_load,
                        (SELECT count(*) FROM threads t
                         WHERE t.number_id = n.id AND t.number_id IS NOT NULL AND t.status = 'open') AS open
                 FROM message_numbers n WHERE ",
            "n.id",
            ")
             WHERE open_load != open ORDER BY id"
        ),
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
    let counters = match &scope.pool_loads {
        Some(pool_loads) => kept_pool_counts(conn, scope, pool_loads),
        None => scoped_q(
            conn,
            &scope.orgs,
            within!(
                &scope.orgs,
                "SELECT s.org_id, s.active_numbers, s.with_room,
                    (SELECT count(*) FROM message_numbers n WHERE n.org_id = s.org_id AND n.class = 'pool' AND n.status = 'active'),
                    (SELECT count(*) FROM message_numbers n WHERE n.org_id = s.org_id AND n.class = 'pool' AND n.status = 'active' AND n.open_load < s.cap)
                 FROM pool_stats s WHERE ",
                "s.org_id",
                ""
            ),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        ),
    };
    for (org, active, with_room, actual_active, actual_with_room) in counters {
        if (active, with_room) != (actual_active, actual_with_room) {
            out.push(violation(
                "capacity",
                format!("org org_{org} counts {active} pool numbers ({with_room} with room) but has {actual_active} ({actual_with_room} with room)"),
            ));
        }
    }
}

/// The scoped orgs' `pool_stats` rows beside the counts of the [`scope::Shadow`]'s kept loads:
/// (org, active numbers, with room, and both as the rows have them). Counting the org's pool
/// in SQL at every step walked all of its numbers (about a tenth of a busy-year check).
fn kept_pool_counts(
    conn: &Connection,
    scope: &Scope,
    pool_loads: &BTreeMap<i64, scope::PoolLoads>,
) -> Vec<(i64, i64, i64, i64, i64)> {
    let stored: Vec<(i64, i64, i64, i64)> = scoped_q(
        conn,
        &scope.orgs,
        "SELECT org_id, active_numbers, with_room, cap FROM pool_stats
         WHERE org_id IN (SELECT value FROM json_each(?1))",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    stored
        .into_iter()
        .map(|(org, active, with_room, cap)| {
            let loads = pool_loads.get(&org);
            let actual_active = loads.map_or(0, |l| l.values().sum());
            let actual_with_room = loads.map_or(0, |l| l.range(..cap).map(|(_, n)| n).sum());
            (org, active, with_room, actual_active, actual_with_room)
        })
        .collect()
}

/// A quarantined or retired number takes no threads and keeps none (its threads are released
/// when it leaves `active`); a thread that is not open holds no number.
fn withdrawn_holders(conn: &Connection, scope: &Scope, out: &mut Vec<Violation>) {
    let withdrawn: Vec<(i64, i64, String)> = scoped_q(
        conn,
        &scope.numbers,
        within!(
            &scope.numbers,
            "SELECT t.id, n.id, n.status FROM threads t JOIN message_numbers n ON n.id = t.number_id
             WHERE n.status != 'active' AND ",
            "n.id",
            " ORDER BY t.id"
        ),
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    );
    for (thread, number, status) in withdrawn {
        out.push(violation(
            "capacity",
            format!("thread thr_{thread} is bound to number num_{number}, which is {status}"),
        ));
    }
    let closed: Vec<i64> = scoped_q(
        conn,
        &scope.threads,
        within!(
            &scope.threads,
            "SELECT id FROM threads WHERE number_id IS NOT NULL AND status != 'open' AND ",
            "id",
            ""
        ),
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
fn client_uniqueness(conn: &Connection, scope: &Scope, out: &mut Vec<Violation>) {
    // Groups are per number, so the numbers in scope group exactly as in a full reading.
    let dup: Vec<(i64, i64, i64)> = scoped_q(
        conn,
        &scope.numbers,
        within!(
            &scope.numbers,
            "SELECT t.number_id, min(t.client_id), count(*) FROM threads t JOIN clients c ON c.id = t.client_id
             WHERE t.number_id IS NOT NULL AND t.status = 'open' AND ",
            "t.number_id",
            "
             GROUP BY t.number_id, c.org_id, c.phone HAVING count(*) > 1"
        ),
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    );
    for (number, client, n) in dup {
        out.push(violation(
            "client-uniqueness",
            format!("client cli_{client} (with any client sharing its phone) has {n} open threads on number num_{number}"),
        ));
    }
}

/// The three release rules in force for an org, read for the oracle. A key that is missing or
/// not an integer is an error (a `[harness]` violation), never a 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseRules {
    /// `postBookingGraceHours`: hours after a booking window's end.
    pub grace_hours: i64,
    /// `inactivityReleaseDays`: days without a message (0 = off).
    pub inactivity_days: i64,
    /// `maxPoolThreadLifetimeDays`: days since binding.
    pub lifetime_days: i64,
}

impl ReleaseRules {
    /// Reads the three keys from a settings object (`GET /api/settings/rotation` shape).
    pub fn from_json(settings: &Value) -> Result<ReleaseRules, String> {
        let int = |key: &str| {
            settings[key].as_i64().ok_or_else(|| {
                format!("rotation setting `{key}` is missing or not an integer in {settings}")
            })
        };
        Ok(ReleaseRules {
            grace_hours: int("postBookingGraceHours")?,
            inactivity_days: int("inactivityReleaseDays")?,
            lifetime_days: int("maxPoolThreadLifetimeDays")?,
        })
    }

    /// The rules of `org` in force now.
    pub fn of_org(engine: &Engine, org: i64) -> Result<ReleaseRules, String> {
        let settings = engine
            .rotation_settings(OrgId(org))
            .map_err(|e| format!("cannot read the rotation settings of org_{org}: {e}"))?;
        ReleaseRules::from_json(&settings.to_json())
    }

    /// The earliest release deadline, from DESIGN.md §2: grace = window end + grace hours;
    /// inactivity = (later of last message and binding) + days, 0 = off; lifetime = binding + days.
    pub fn earliest_deadline(
        &self,
        bound_at: i64,
        last_message: Option<i64>,
        window_end: Option<i64>,
    ) -> i64 {
        let mut deadline = bound_at + self.lifetime_days * 86_400;
        if let Some(end) = window_end {
            deadline = deadline.min(end + self.grace_hours * 3_600);
        }
        if self.inactivity_days > 0 {
            let last = last_message.unwrap_or(bound_at).max(bound_at);
            deadline = deadline.min(last + self.inactivity_days * 86_400);
        }
        deadline
    }
}

/// One run of the release job for one org, judged the moment it finished: against the rows it
/// saw and the settings in force when it ran (not those of the end of the step), so a binding,
/// message or settings change later in the same second cannot make a correct run look wrong.
#[derive(Debug, Clone)]
pub struct JobRun {
    /// The org the run was for (0 when the orgs could not be listed).
    pub org: i64,
    /// The simulated instant of the run.
    pub at: i64,
    /// The rules the oracle read at the run (None when they could not be read).
    pub rules: Option<ReleaseRules>,
    /// Audit event ids the run wrote: `(events_before, events_after]`.
    pub events_before: i64,
    /// The audit cursor right after the run.
    pub events_after: i64,
    /// Threads still bound after the run although due, and releases before their deadline.
    pub violations: Vec<Violation>,
}

impl JobRun {
    /// A run the oracle could not judge: a `[harness]` violation, never a pass.
    pub fn unjudged(org: i64, at: i64, error: String) -> JobRun {
        JobRun {
            org,
            at,
            rules: None,
            events_before: 0,
            events_after: 0,
            violations: vec![violation(
                "harness",
                format!(
                    "release: the job run at {} could not be judged: {error}",
                    instant(at)
                ),
            )],
        }
    }
}

/// The highest audit event id (all orgs): the cursor a job run is measured from.
pub fn audit_cursor(engine: &Engine) -> Result<i64, String> {
    engine.inspect(|conn| {
        conn.prepare_cached("SELECT COALESCE(MAX(id), 0) FROM audit_events")
            .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
            .map_err(|e| format!("cannot read the audit cursor: {e}"))
    })
}

/// Judges the scheduled run (every org) that just finished at `at`; `events_before` is the
/// audit cursor read just before it.
pub fn judge_scheduled_run(engine: &Engine, at: i64, events_before: i64) -> Vec<JobRun> {
    let events_after = match audit_cursor(engine) {
        Ok(cursor) => cursor,
        Err(error) => return vec![JobRun::unjudged(0, at, error)],
    };
    match engine.org_ids() {
        Ok(orgs) => orgs
            .into_iter()
            .map(|org| judge(engine, org.rowid(), at, events_before, events_after))
            .collect(),
        Err(error) => vec![JobRun::unjudged(
            0,
            at,
            format!("cannot list the orgs: {error}"),
        )],
    }
}

/// Judges the scheduled runs of one simulation, one call per run, with the same verdicts as
/// [`judge_scheduled_run`] at O(changes) per run instead of O(bound threads).
///
/// The oracle keeps its own reading: each org's rules and each bound thread's earliest
/// deadline, computed by its own SQL and [`ReleaseRules::earliest_deadline`] from the rows
/// (binding, last message, booking window). Before judging a run it brings that reading up to
/// date from the rows SQLite reports changed since the last run ([`change_feed`]): each thread
/// whose row changed, that got a message, or whose booking changed is read again; an org or
/// settings change, a message update or delete, a booking delete, another connection's write
/// (`PRAGMA data_version`) or DDL (`PRAGMA schema_version`) makes it read everything again.
/// While no row has changed at all ([`RowState`]) and the run wrote no event, the reading is
/// re-judged against the new instant as it is. Every run is still judged.
#[derive(Debug, Default)]
pub struct ScheduledJudge {
    /// The database state ([`RowState`]) the reading is current with (None: read afresh).
    state: Option<RowState>,
    feed: Option<ChangeFeed>,
    /// Each org and its rules (an error when they could not be read), in `org_ids` order.
    orgs: Vec<(i64, Result<ReleaseRules, String>)>,
    /// Each bound thread's earliest deadline, by thread and by (org, deadline).
    bound: BoundDeadlines,
}

/// The judge's reading of the bound threads: each one's (org, earliest deadline) by thread id,
/// and the same entries ordered by (org, deadline, thread), so that a run's overdue threads
/// and the earliest deadline are a range read, not a filter of every bound thread (in the busy
/// year every one of its 105,120 ticks asks both).
#[derive(Debug, Default)]
struct BoundDeadlines {
    by_thread: BTreeMap<i64, (i64, i64)>,
    by_deadline: BTreeSet<(i64, i64, i64)>,
}

impl BoundDeadlines {
    fn insert(&mut self, thread: i64, org: i64, deadline: i64) {
        self.remove(thread);
        self.by_thread.insert(thread, (org, deadline));
        self.by_deadline.insert((org, deadline, thread));
    }

    fn remove(&mut self, thread: i64) {
        if let Some((org, deadline)) = self.by_thread.remove(&thread) {
            self.by_deadline.remove(&(org, deadline, thread));
        }
    }

    fn clear(&mut self) {
        self.by_thread.clear();
        self.by_deadline.clear();
    }

    /// The earliest deadline of any bound thread (None when none is bound): the first entry
    /// of each org present.
    fn earliest(&self) -> Option<i64> {
        let mut earliest: Option<i64> = None;
        let mut next = self.by_deadline.first().copied();
        while let Some((org, deadline, _)) = next {
            earliest = Some(earliest.map_or(deadline, |e| e.min(deadline)));
            next = match org.checked_add(1) {
                Some(after) => self
                    .by_deadline
                    .range((after, i64::MIN, i64::MIN)..)
                    .next()
                    .copied(),
                None => None,
            };
        }
        earliest
    }

    /// `org`'s bound threads whose deadline is at or before `at`, as (thread, deadline) in
    /// thread id order (the order the verdicts have always been listed in).
    fn overdue(&self, org: i64, at: i64) -> Vec<(i64, i64)> {
        let mut overdue: Vec<(i64, i64)> = self
            .by_deadline
            .range((org, i64::MIN, i64::MIN)..=(org, at, i64::MAX))
            .map(|(_, deadline, thread)| (*thread, *deadline))
            .collect();
        overdue.sort_unstable();
        overdue
    }
}

impl ScheduledJudge {
    /// Judges the scheduled run (every org) that just finished at `at`; `events_before` is
    /// the audit cursor read just before it.
    pub fn judge(&mut self, engine: &Engine, at: i64, events_before: i64) -> Vec<JobRun> {
        let events_after = match audit_cursor(engine) {
            Ok(cursor) => cursor,
            Err(error) => return vec![JobRun::unjudged(0, at, error)],
        };
        let state = match db_state(engine) {
            Ok(state) => state,
            Err(error) => return vec![JobRun::unjudged(0, at, error)],
        };
        if self.state != Some(state) || events_after != events_before {
            let previous = self.state.take();
            let errors_before = QUERY_ERRORS.with(|errors| errors.borrow().len());
            if let Err(error) = self.update_reading(engine, previous, state) {
                return vec![JobRun::unjudged(0, at, error)];
            }
            let clean = QUERY_ERRORS.with(|errors| errors.borrow().len()) == errors_before
                && self.orgs.iter().all(|(_, rules)| rules.is_ok());
            self.state = clean.then_some(state);
        }
        let mut runs = self.runs(at, events_before, events_after);
        if events_after > events_before {
            // Judge the releases with the rows the run left; they change no reading.
            runs = runs
                .into_iter()
                .map(|mut run| {
                    if let Some(rules) = run.rules {
                        let mut early = Vec::new();
                        engine.inspect(|conn| early_releases(conn, &run, &rules, &mut early));
                        run.violations.extend(early);
                    }
                    run
                })
                .collect();
        }
        if cfg!(debug_assertions) {
            agree_with_fresh_reading(engine, at, events_before, &mut runs);
        }
        runs
    }

    /// Until when the judge's verdict stays "nothing overdue" with the rows unchanged: the
    /// earliest deadline of a bound thread (`i64::MAX` when none is bound). None when the
    /// reading is not clean (it is read again at every run).
    pub fn quiet_until(&self) -> Option<i64> {
        self.state?;
        Some(self.bound.earliest().unwrap_or(i64::MAX))
    }

    /// What [`judge`](Self::judge) returns for a run at `at` that wrote nothing (the audit
    /// cursor stays at `cursor`) while the rows are those of the last judged run: the runs
    /// from the kept reading, with no database read.
    pub fn quiet_runs(&self, at: i64, cursor: i64) -> Vec<JobRun> {
        self.runs(at, cursor, cursor)
    }

    /// The database state the reading is current with (None when it is not clean).
    pub fn reading_state(&self) -> Option<RowState> {
        self.state
    }

    /// One judged run per org from the reading: each bound thread past its deadline at `at`.
    fn runs(&self, at: i64, events_before: i64, events_after: i64) -> Vec<JobRun> {
        self.orgs
            .iter()
            .map(|(org, rules)| match rules {
                Ok(rules) => {
                    let deadlines = self.bound.overdue(*org, at);
                    JobRun {
                        org: *org,
                        at,
                        rules: Some(*rules),
                        events_before,
                        events_after,
                        violations: overdue_violations(&deadlines, at, rules),
                    }
                }
                Err(error) => JobRun {
                    events_before,
                    events_after,
                    ..JobRun::unjudged(*org, at, error.clone())
                },
            })
            .collect()
    }

    /// Brings the reading up to date with the rows: only the changed threads when the feed
    /// can say which, everything otherwise. `previous` is the state the reading was current
    /// with (None when it was not clean).
    fn update_reading(
        &mut self,
        engine: &Engine,
        previous: Option<RowState>,
        state: RowState,
    ) -> Result<(), String> {
        let feed = match &self.feed {
            Some(feed) => feed,
            None => self.feed.insert(ChangeFeed::attach(engine)?),
        };
        let changes = feed.take();
        let other_writers = previous.is_none_or(|p| (p.1, p.2) != (state.1, state.2));
        if changes.full || other_writers {
            return self.read_everything(engine);
        }
        let dirty = engine.inspect(|conn| dirty_threads(conn, &changes));
        if dirty.is_empty() {
            return Ok(());
        }
        // One statement reads every dirty thread that is still bound (one per thread cost
        // about 2.5 µs each, some five times per tick in the busy year).
        let ids = serde_json::to_string(&dirty).unwrap_or_else(|_| "[]".into());
        let rows = engine.inspect(|conn| q(conn, THREADS_DEADLINE_INPUTS, [ids], deadline_inputs));
        for thread in &dirty {
            self.bound.remove(*thread);
        }
        for (org, thread, bound_at, last_message, window_end) in rows {
            match self.orgs.iter().find(|(of, _)| *of == org) {
                Some((_, Ok(rules))) => {
                    let deadline = rules.earliest_deadline(bound_at, last_message, window_end);
                    self.bound.insert(thread, org, deadline);
                }
                // An org the reading does not know: read everything again.
                _ => return self.read_everything(engine),
            }
        }
        Ok(())
    }

    /// Reads every org's rules and bound threads afresh.
    fn read_everything(&mut self, engine: &Engine) -> Result<(), String> {
        self.orgs.clear();
        self.bound.clear();
        let orgs = engine
            .org_ids()
            .map_err(|error| format!("cannot list the orgs: {error}"))?;
        for org in orgs {
            let org = org.rowid();
            let rules = ReleaseRules::of_org(engine, org);
            if let Ok(rules) = &rules {
                let deadlines = engine.inspect(|conn| bound_deadlines(conn, org, rules));
                for (thread, deadline) in deadlines {
                    self.bound.insert(thread, org, deadline);
                }
            }
            self.orgs.push((org, rules));
        }
        Ok(())
    }
}

/// Debug builds (every test) judge each scheduled run a second time from a fresh reading
/// ([`judge_scheduled_run`]) and report any difference as a `harness` violation, so a change
/// the feed missed cannot go unnoticed.
fn agree_with_fresh_reading(engine: &Engine, at: i64, events_before: i64, runs: &mut [JobRun]) {
    let verdicts = |runs: &[JobRun]| -> Vec<(i64, Vec<String>)> {
        runs.iter()
            .map(|run| {
                let mut found: Vec<String> =
                    run.violations.iter().map(|v| v.detail.clone()).collect();
                found.sort();
                (run.org, found)
            })
            .collect()
    };
    let fresh = verdicts(&judge_scheduled_run(engine, at, events_before));
    let kept = verdicts(runs);
    if fresh != kept
        && let Some(first) = runs.first_mut()
    {
        first.violations.push(violation(
            "harness",
            format!("release: the oracle's kept reading judged the run at {} as {kept:?}, a fresh reading as {fresh:?}", instant(at)),
        ));
    }
}

/// The threads whose deadline inputs may have changed: changed thread rows, threads of new
/// messages, threads of changed bookings.
fn dirty_threads(conn: &Connection, changes: &Changes) -> BTreeSet<i64> {
    let json = |ids: &BTreeSet<i64>| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let mut dirty = changes.threads.clone();
    if !changes.messages.is_empty() {
        dirty.extend(q(
            conn,
            "SELECT thread_id FROM messages WHERE id IN (SELECT value FROM json_each(?1)) AND thread_id IS NOT NULL",
            [json(&changes.messages)],
            |r| r.get::<_, i64>(0),
        ));
    }
    if !changes.bookings.is_empty() {
        dirty.extend(q(
            conn,
            "SELECT id FROM threads WHERE booking_id IN (SELECT value FROM json_each(?1))",
            [json(&changes.bookings)],
            |r| r.get::<_, i64>(0),
        ));
    }
    dirty
}

/// The [`RowState`] of the engine's database, as the scheduled judge needs it.
pub fn db_state(engine: &Engine) -> Result<RowState, String> {
    engine
        .inspect(row_state)
        .map_err(|e| format!("cannot read the database state: {e}"))
}

/// Judges one org's run of the release job that just finished at `at`.
pub fn judge_job_run(engine: &Engine, org: i64, at: i64, events_before: i64) -> JobRun {
    match audit_cursor(engine) {
        Ok(events_after) => judge(engine, org, at, events_before, events_after),
        Err(error) => JobRun::unjudged(org, at, error),
    }
}

/// Judges one org's run, which wrote the audit events `(events_before, events_after]`, from a
/// fresh reading of the org's rules and bound threads.
fn judge(engine: &Engine, org: i64, at: i64, events_before: i64, events_after: i64) -> JobRun {
    let mut run = JobRun {
        org,
        at,
        rules: None,
        events_before,
        events_after,
        violations: Vec::new(),
    };
    let rules = match ReleaseRules::of_org(engine, org) {
        Ok(rules) => rules,
        Err(error) => {
            run.violations
                .push(violation("harness", format!("release: {error}")));
            return run;
        }
    };
    run.rules = Some(rules);
    let deadlines = engine.inspect(|conn| bound_deadlines(conn, org, &rules));
    // After a run no bound thread of the org may be past its earliest deadline.
    let mut out = overdue_violations(&deadlines, at, &rules);
    // A run that wrote no event released nothing.
    if run.events_after > run.events_before {
        engine.inspect(|conn| early_releases(conn, &run, &rules, &mut out));
    }
    run.violations.extend(out);
    run
}

/// The oracle's reading of bound threads' deadline inputs: (org, thread, bound at, last
/// message, booking window end). `?1` is a JSON array of thread ids.
const THREADS_DEADLINE_INPUTS: &str = "SELECT t.org_id, t.id, t.bound_at,
        (SELECT max(m.at) FROM messages m WHERE m.thread_id = t.id),
        b.window_end
 FROM threads t LEFT JOIN bookings b ON b.id = t.booking_id
 WHERE t.id IN (SELECT value FROM json_each(?1)) AND t.number_id IS NOT NULL";

/// The same reading for every bound thread of an org (`?1`).
const ORG_DEADLINE_INPUTS: &str = "SELECT t.org_id, t.id, t.bound_at,
        (SELECT max(m.at) FROM messages m WHERE m.thread_id = t.id),
        b.window_end
 FROM threads t LEFT JOIN bookings b ON b.id = t.booking_id
 WHERE t.org_id = ?1 AND t.number_id IS NOT NULL";

/// (org, thread, bound at, last message, window end)
type DeadlineInputs = (i64, i64, i64, Option<i64>, Option<i64>);

fn deadline_inputs(r: &rusqlite::Row) -> rusqlite::Result<DeadlineInputs> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

/// Each bound thread of `org` with its earliest deadline under `rules`, read from the rows
/// (binding, last message, booking window), in thread id order.
fn bound_deadlines(conn: &Connection, org: i64, rules: &ReleaseRules) -> Vec<(i64, i64)> {
    q(conn, ORG_DEADLINE_INPUTS, [org], deadline_inputs)
        .into_iter()
        .map(|(_, thread, bound_at, last_message, window_end)| {
            let deadline = rules.earliest_deadline(bound_at, last_message, window_end);
            (thread, deadline)
        })
        .collect()
}

/// A violation for each (thread, deadline) already past at `at`.
fn overdue_violations(deadlines: &[(i64, i64)], at: i64, rules: &ReleaseRules) -> Vec<Violation> {
    deadlines
        .iter()
        .filter(|(_, deadline)| *deadline <= at)
        .map(|(thread, deadline)| {
            violation(
                "release",
                format!(
                    "thread thr_{thread} is still bound after the job ran at {}, although its deadline {} had passed (rules in force: {rules})",
                    instant(at),
                    instant(*deadline)
                ),
            )
        })
        .collect()
}

/// Every rule release the run made came at or after the thread's deadline, judged by the rows
/// the run saw (binding, messages, booking window) and the rules in force.
fn early_releases(conn: &Connection, run: &JobRun, rules: &ReleaseRules, out: &mut Vec<Violation>) {
    /// (thread, bound at, last message, window end)
    type Released = (i64, Option<i64>, Option<i64>, Option<i64>);
    let released: Vec<Released> = q(
        conn,
        "SELECT a.thread_id,
                (SELECT nb.bound_at FROM number_bindings nb WHERE nb.thread_id = a.thread_id AND nb.released_at IS NOT NULL ORDER BY nb.id DESC LIMIT 1),
                (SELECT max(m.at) FROM messages m WHERE m.thread_id = a.thread_id),
                (SELECT b.window_end FROM threads t JOIN bookings b ON b.id = t.booking_id WHERE t.id = a.thread_id)
         FROM audit_events a
         WHERE a.id > ?2 AND a.id <= ?3 AND +a.org_id = ?1 AND +a.type = 'pool.number.released'",
        rusqlite::params![run.org, run.events_before, run.events_after],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    for (thread, bound_at, last_message, window_end) in released {
        let Some(bound_at) = bound_at else {
            out.push(violation(
                "release",
                format!(
                    "thread thr_{thread} was released at {} but has no released binding row",
                    instant(run.at)
                ),
            ));
            continue;
        };
        let deadline = rules.earliest_deadline(bound_at, last_message, window_end);
        if run.at < deadline {
            out.push(violation(
                "release",
                format!(
                    "thread thr_{thread} was released by the job run at {}, before its deadline {} (rules in force: {rules})",
                    instant(run.at),
                    instant(deadline)
                ),
            ));
        }
    }
}

impl std::fmt::Display for ReleaseRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "postBookingGraceHours = {}, inactivityReleaseDays = {}, maxPoolThreadLifetimeDays = {}",
            self.grace_hours, self.inactivity_days, self.lifetime_days
        )
    }
}

/// An instant for a violation message: RFC 3339, never unix seconds.
pub fn instant(at: i64) -> String {
    switchboard_core::Timestamp(at).rfc3339()
}

/// Rule releases (not `thread_closed`) this step wrote outside every logged job run: the job is
/// the only thing that may release by rule. A `number_quarantined` / `number_retired` release
/// must follow, in the same step, a `pool.number.status_changed` of its number to that status.
fn releases_outside_runs(
    conn: &Connection,
    facts: &StepFacts,
    events_after: i64,
    out: &mut Vec<Violation>,
) {
    let released: Vec<(i64, Option<i64>, String, i64)> = q(
        conn,
        "SELECT id, thread_id, payload, at FROM audit_events
         WHERE id > ?1 AND +type = 'pool.number.released'",
        [events_after],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    for (id, thread, payload, at) in released {
        let rule = match serde_json::from_str::<Value>(&payload) {
            Ok(payload) => payload["rule"].as_str().map(str::to_string),
            Err(error) => {
                out.push(violation(
                    "harness",
                    format!("release: audit event #{id} has an unreadable payload: {error}"),
                ));
                continue;
            }
        };
        if rule.as_deref() == Some("thread_closed") {
            continue;
        }
        if let Some(to) = rule.as_deref().and_then(|r| r.strip_prefix("number_")) {
            withdrawn_release(conn, events_after, id, thread, &payload, to, at, out);
            continue;
        }
        let in_run = facts
            .job_runs
            .iter()
            .any(|run| run.events_before < id && id <= run.events_after);
        if !in_run {
            out.push(violation(
                "release",
                format!(
                    "thread {} was released by rule {} at {} outside any run of the release job",
                    thread.map_or_else(|| "(none)".to_string(), |t| format!("thr_{t}")),
                    rule.as_deref().unwrap_or("(none)"),
                    instant(at)
                ),
            ));
        }
    }
}

/// A release by `number_{to}` (audit event `id`) is legitimate only after a status change of
/// the same number to `to` earlier in the same step (audit sequence, not seconds).
#[allow(clippy::too_many_arguments)]
fn withdrawn_release(
    conn: &Connection,
    events_after: i64,
    id: i64,
    thread: Option<i64>,
    payload: &str,
    to: &str,
    at: i64,
    out: &mut Vec<Violation>,
) {
    let number = serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|p| p["numberId"].as_str().map(str::to_string))
        .unwrap_or_default();
    let changes: Vec<i64> = q(
        conn,
        "SELECT id FROM audit_events
         WHERE id > ?1 AND id < ?2 AND +type = 'pool.number.status_changed'
           AND json_extract(payload, '$.numberId') = ?3 AND json_extract(payload, '$.to') = ?4",
        rusqlite::params![events_after, id, number, to],
        |r| r.get(0),
    );
    if changes.is_empty() {
        out.push(violation(
            "release",
            format!(
                "thread {} was released from {number} by rule number_{to} at {} although the number did not become {to} in this step",
                thread.map_or_else(|| "(none)".to_string(), |t| format!("thr_{t}")),
                instant(at)
            ),
        ));
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

/// Cross-org references of the threads in `?1` (a JSON array of ids), one column per
/// reference in [`THREAD_REFERENCES`] order: 1 when the referenced row belongs to another org.
/// One query reads each thread once, however many references it checks.
const THREAD_ISOLATION: &str = "SELECT t.id, c.org_id != t.org_id, s.org_id != t.org_id, n.org_id != t.org_id, b.org_id != t.org_id
     FROM threads t LEFT JOIN clients c ON c.id = t.client_id LEFT JOIN sitters s ON s.id = t.sitter_id
          LEFT JOIN message_numbers n ON n.id = t.number_id LEFT JOIN bookings b ON b.id = t.booking_id
     WHERE t.id IN (SELECT value FROM json_each(?1)) ORDER BY t.id";

/// The references [`THREAD_ISOLATION`] checks, in its column order.
const THREAD_REFERENCES: [&str; 4] = [
    "thread's client",
    "thread's sitter",
    "thread's number",
    "thread's booking",
];

/// Cross-org references among the other rows this step added or touched. `?1` is the table's
/// cursor, `?2` a JSON array of ids the step's audit events touched (bookings).
const ISOLATION_CHECKS: [(&str, &str, &str); 5] = [
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
        // events touched (updates do not move the id cursors). Each query uses an index, so
        // the check costs what the step did, not what the database holds.
        let cursor = |table: &str| self.isolation_cursors.get(table).copied().unwrap_or(0);
        // The bookings the step's events name (read once; `instr` spares parsing the payloads
        // of events that name none, and the engine writes the key unescaped).
        let named: Vec<i64> = q(
            conn,
            "SELECT CAST(substr(json_extract(payload, '$.bookingId'), 5) AS INTEGER) FROM audit_events
             WHERE id > ?1 AND instr(payload, '\"bookingId\"') > 0
               AND json_extract(payload, '$.bookingId') IS NOT NULL",
            [events_after],
            |r| r.get(0),
        );
        let named_bookings = serde_json::to_string(&named).unwrap_or_else(|_| "[]".into());
        let ids = |sql: &str, cursor: i64| -> String {
            let mut ids: Vec<i64> = q(
                conn,
                sql,
                rusqlite::params![events_after, cursor, named_bookings],
                |r| r.get(0),
            );
            ids.sort_unstable();
            ids.dedup();
            serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
        };
        let threads = ids(
            "SELECT id FROM threads WHERE id > ?2
             UNION ALL SELECT thread_id FROM audit_events WHERE id > ?1 AND thread_id IS NOT NULL
             UNION ALL SELECT t.id FROM threads t WHERE t.booking_id IN (SELECT value FROM json_each(?3))",
            cursor("threads"),
        );
        let bookings = ids(
            "SELECT id FROM bookings WHERE id > ?2 AND ?1 IS NOT NULL
             UNION ALL SELECT value FROM json_each(?3)",
            cursor("bookings"),
        );
        let flags: Vec<(i64, [Option<bool>; 4])> = q(conn, THREAD_ISOLATION, [&threads], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        });
        for (reference, what) in THREAD_REFERENCES.iter().enumerate() {
            for (id, _) in flags.iter().filter(|(_, f)| f[reference] == Some(true)) {
                out.push(violation(
                    "org-isolation",
                    format!("threads row {id}: the {what} belongs to another org"),
                ));
            }
        }
        for (table, what, sql) in ISOLATION_CHECKS {
            let cursor = self.isolation_cursors.get(table).copied().unwrap_or(0);
            for id in q(conn, sql, rusqlite::params![cursor, &bookings], |r| {
                r.get::<_, i64>(0)
            }) {
                out.push(violation(
                    "org-isolation",
                    format!("{table} row {id}: the {what} belongs to another org"),
                ));
            }
        }
        self.advance_isolation_cursors(conn);
    }

    /// Moves each table's org-isolation cursor to its newest row: rows up to it are checked.
    /// One statement for the five tables (it runs at every step that wrote a row; five
    /// statements, each formatted afresh, cost about five times its fixed overhead).
    fn advance_isolation_cursors(&mut self, conn: &Connection) {
        const TABLES: [&str; 5] = [
            "threads",
            "bookings",
            "messages",
            "number_bindings",
            "audit_events",
        ];
        let max: Vec<[i64; 5]> = q(
            conn,
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM threads),
                    (SELECT COALESCE(MAX(id), 0) FROM bookings),
                    (SELECT COALESCE(MAX(id), 0) FROM messages),
                    (SELECT COALESCE(MAX(id), 0) FROM number_bindings),
                    (SELECT COALESCE(MAX(id), 0) FROM audit_events)",
            [],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
        );
        let max = max.first().copied().unwrap_or([0; 5]);
        for (table, max) in TABLES.into_iter().zip(max) {
            self.isolation_cursors.insert(table, max);
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

/// Two independent checks of every sitter response: the engine's scanner and the harness's own
/// oracle ([`crate::leak_oracle`]), so one blind spot cannot hide a leak from both.
fn leaks(
    engine: &Engine,
    oracle: &crate::leak_oracle::OracleContacts,
    facts: &StepFacts,
    out: &mut Vec<Violation>,
) {
    let sitter_responses: Vec<_> = facts.responses.iter().filter(|r| r.sitter).collect();
    if sitter_responses.is_empty() {
        return;
    }
    let Ok(scanner) = engine.leak_scanner() else {
        out.push(violation("harness", "could not build the leak scanner"));
        return;
    };
    for response in sitter_responses {
        for finding in scanner.scan_json(&response.body).findings {
            out.push(violation(
                "leak",
                format!(
                    "sitter response leaks a {:?} ({}) at {} (engine scanner)",
                    finding.kind, finding.secret_masked, finding.pointer
                ),
            ));
        }
        for finding in oracle.findings(&response.body) {
            out.push(violation(
                "leak",
                format!("sitter response leaks a {finding} (harness oracle)"),
            ));
        }
    }
}

#[cfg(test)]
mod tests;
