//! Which rows the table-wide row checks (capacity, client uniqueness, alert counts) must read
//! after a step: only those reachable from the rows SQLite reported written since their last
//! clean run ([`super::change_feed::RowChanges`]), so their cost follows what the step wrote,
//! not what the database holds.
//!
//! Each of those rules is a statement about one number's open threads (ranks, load, client
//! uniqueness, withdrawn numbers), one thread (a closed thread holds no number), one org's
//! pool counters, or the alert counts. A number's verdict can only change when its row changes
//! or a thread joins or leaves it; a thread's when its row changes; an org's counters when one
//! of its numbers or its `pool_stats` row changes. A thread that leaves a number no longer
//! names it, so the [`Shadow`] keeps each bound thread's number (and each number's org, each
//! alert's status) from the last reading: the number it left is read again too.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::change_feed::RowChanges;
use super::q;

/// The rows a table-wide check reads: JSON arrays of ids, or `None` for every row.
#[derive(Debug, Default)]
pub(super) struct Scope {
    /// Numbers whose open threads are checked.
    pub numbers: Option<String>,
    /// Threads whose own row is checked.
    pub threads: Option<String>,
    /// Orgs whose pool counters are checked.
    pub orgs: Option<String>,
    /// For those orgs, the loads of their active pool numbers as the [`Shadow`] keeps them
    /// (None: count them from the rows).
    pub pool_loads: Option<BTreeMap<i64, PoolLoads>>,
}

impl Scope {
    /// Every row.
    pub fn all() -> Scope {
        Scope::default()
    }
}

/// The alert counts the `audit` rule compares: (alert rows, resolved rows, `alert.opened`
/// events, `alert.resolved` events).
pub(super) type AlertCounts = (i64, i64, i64, i64);

/// An org's active pool numbers by load: how many carry each `open_load`. `pool_stats` counts
/// all of them (`active_numbers`) and those under its cap (`with_room`).
pub(super) type PoolLoads = BTreeMap<i64, i64>;

/// A number as the rules read it: (org, its load when it is an active pool number).
type NumberRow = (i64, Option<i64>);

/// The SQL reading a number's [`NumberRow`] columns (first column the number id).
const NUMBER: &str =
    "SELECT id, org_id, CASE WHEN class = 'pool' AND status = 'active' THEN open_load END
 FROM message_numbers";

fn number_row(r: &rusqlite::Row) -> rusqlite::Result<(i64, NumberRow)> {
    Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))
}

/// What the rules read of a thread that holds a number: (number, open, bound cap, client).
type Held = (i64, bool, Option<i64>, i64);

/// The SQL reading a thread's [`Held`] columns (first column the thread id).
const HELD: &str = "SELECT id, number_id, status = 'open', bound_cap, client_id FROM threads";

fn held(r: &rusqlite::Row) -> rusqlite::Result<(i64, Held)> {
    Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
}

/// The harness's memory of the rows at the last clean reading, kept up to date from the feed.
#[derive(Debug, Default)]
pub(super) struct Shadow {
    /// Each thread that holds a number: what the rules read of it.
    thread_number: BTreeMap<i64, Held>,
    /// Each number: its org, and its load when it is an active pool number.
    number_org: BTreeMap<i64, NumberRow>,
    /// Each org's active pool numbers by load, kept with `number_org`: the pool counters'
    /// rule then costs what changed, not a count of the org's whole pool at every step.
    pool_loads: BTreeMap<i64, PoolLoads>,
    /// Each alert: whether it is resolved.
    alert_resolved: BTreeMap<i64, bool>,
    /// The alert counts, as a full reading would find them.
    pub alerts: AlertCounts,
}

fn json(ids: &BTreeSet<i64>) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// The alert counts read from every row (the rule as first stated).
pub(super) fn count_alerts(conn: &Connection) -> Option<AlertCounts> {
    q(
        conn,
        "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM alerts WHERE status = 'resolved'),
                (SELECT count(*) FROM audit_events INDEXED BY audit_type WHERE type = 'alert.opened'),
                (SELECT count(*) FROM audit_events INDEXED BY audit_type WHERE type = 'alert.resolved')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .first()
    .copied()
}

impl Shadow {
    /// A fresh reading of every row it remembers.
    pub fn read(conn: &Connection) -> Shadow {
        let pairs =
            |sql: &str| -> Vec<(i64, i64)> { q(conn, sql, [], |r| Ok((r.get(0)?, r.get(1)?))) };
        let mut shadow = Shadow {
            thread_number: q(
                conn,
                &format!("{HELD} WHERE number_id IS NOT NULL"),
                [],
                held,
            )
            .into_iter()
            .collect(),
            number_org: BTreeMap::new(),
            pool_loads: BTreeMap::new(),
            alert_resolved: pairs("SELECT id, status = 'resolved' FROM alerts")
                .into_iter()
                .map(|(id, resolved)| (id, resolved != 0))
                .collect(),
            alerts: count_alerts(conn).unwrap_or_default(),
        };
        for (number, row) in q(conn, NUMBER, [], number_row) {
            shadow.set_number(number, row);
        }
        shadow
    }

    /// Records a number's row; returns the org it had before (None if it was unknown).
    fn set_number(&mut self, number: i64, row: NumberRow) -> Option<i64> {
        let before = self.number_org.insert(number, row);
        if let Some((org, Some(load))) = before
            && let Some(loads) = self.pool_loads.get_mut(&org)
            && let Some(count) = loads.get_mut(&load)
        {
            *count -= 1;
            if *count == 0 {
                loads.remove(&load);
            }
        }
        if let (org, Some(load)) = row {
            *self
                .pool_loads
                .entry(org)
                .or_default()
                .entry(load)
                .or_default() += 1;
        }
        before.map(|(org, _)| org)
    }

    /// Brings the shadow up to date with `changes` (the audit events after `events_after` are
    /// the new ones) and returns the rows the checks must read again.
    pub fn advance(&mut self, conn: &Connection, changes: &RowChanges, events_after: i64) -> Scope {
        let mut threads = BTreeSet::new();
        let mut numbers = changes.numbers.clone();
        let mut bound = BTreeSet::new();
        if !changes.bindings.is_empty() {
            // A binding names its thread and its number: both are read again (the thread's
            // latest binding orders it among its number's threads).
            for (thread, number) in q(
                conn,
                "SELECT thread_id, number_id FROM number_bindings WHERE id IN (SELECT value FROM json_each(?1))",
                [json(&changes.bindings)],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            ) {
                bound.insert(thread);
                numbers.insert(number);
            }
        }
        self.move_threads(conn, &changes.threads, &bound, &mut threads, &mut numbers);
        if !changes.clients.is_empty() {
            // A client's phone or org decides which of its open threads collide on a number.
            numbers.extend(q(
                conn,
                "SELECT t.number_id FROM json_each(?1) j CROSS JOIN orgs o CROSS JOIN threads t
                 WHERE t.org_id = o.id AND t.client_id = j.value AND t.number_id IS NOT NULL",
                [json(&changes.clients)],
                |r| r.get::<_, i64>(0),
            ));
        }
        let mut orgs = changes.pool_stats.clone();
        self.move_numbers(conn, &changes.numbers, &mut orgs);
        self.count_new_alerts(conn, &changes.alerts, events_after);
        let pool_loads = orgs
            .iter()
            .map(|org| (*org, self.pool_loads.get(org).cloned().unwrap_or_default()))
            .collect();
        Scope {
            numbers: Some(json(&numbers)),
            threads: Some(json(&threads)),
            orgs: Some(json(&orgs)),
            pool_loads: Some(pool_loads),
        }
    }

    /// Reads what the rules read of each changed thread (`changed`) and each thread of a
    /// changed binding (`bound`). A thread whose number, status, cap and client are as the
    /// shadow has them (or that held no number and holds none) changes no verdict; otherwise it
    /// goes into `threads`, and the number it holds and the one it held into `numbers`. A
    /// thread of a changed binding always puts its number in.
    fn move_threads(
        &mut self,
        conn: &Connection,
        changed: &BTreeSet<i64>,
        bound: &BTreeSet<i64>,
        threads: &mut BTreeSet<i64>,
        numbers: &mut BTreeSet<i64>,
    ) {
        let all: BTreeSet<i64> = changed.union(bound).copied().collect();
        if all.is_empty() {
            return;
        }
        let now: BTreeMap<i64, Held> = q(
            conn,
            &format!(
                "{HELD} WHERE id IN (SELECT value FROM json_each(?1)) AND number_id IS NOT NULL"
            ),
            [json(&all)],
            held,
        )
        .into_iter()
        .collect();
        for thread in &all {
            let current = now.get(thread).copied();
            let before = match current {
                Some(current) => self.thread_number.insert(*thread, current),
                None => self.thread_number.remove(thread),
            };
            if before != current || bound.contains(thread) {
                threads.insert(*thread);
                numbers.extend(before.map(|held| held.0));
                numbers.extend(current.map(|held| held.0));
            }
        }
    }

    /// Reads the org of each changed number; both its org now and its org before go into
    /// `orgs`.
    fn move_numbers(
        &mut self,
        conn: &Connection,
        changed: &BTreeSet<i64>,
        orgs: &mut BTreeSet<i64>,
    ) {
        if changed.is_empty() {
            return;
        }
        for (number, row) in q(
            conn,
            &format!("{NUMBER} WHERE id IN (SELECT value FROM json_each(?1))"),
            [json(changed)],
            number_row,
        ) {
            orgs.extend(self.set_number(number, row));
            orgs.insert(row.0);
        }
    }

    /// Updates the alert counts from the changed alert rows (their status before and now) and
    /// the audit events after `events_after`.
    fn count_new_alerts(&mut self, conn: &Connection, changed: &BTreeSet<i64>, events_after: i64) {
        if !changed.is_empty() {
            for (alert, resolved) in q(
                conn,
                "SELECT id, status = 'resolved' FROM alerts WHERE id IN (SELECT value FROM json_each(?1))",
                [json(changed)],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? != 0)),
            ) {
                match self.alert_resolved.insert(alert, resolved) {
                    Some(before) => self.alerts.1 += i64::from(resolved) - i64::from(before),
                    None => {
                        self.alerts.0 += 1;
                        self.alerts.1 += i64::from(resolved);
                    }
                }
            }
        }
        if let Some(&(opened, resolved)) = q(
            conn,
            "SELECT COALESCE(sum(type = 'alert.opened'), 0), COALESCE(sum(type = 'alert.resolved'), 0)
             FROM audit_events WHERE id > ?1",
            [events_after],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .first()
        {
            self.alerts.2 += opened;
            self.alerts.3 += resolved;
        }
    }
}
