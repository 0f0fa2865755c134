//! The derived pool state against a recomputation from the base tables, after every kind of
//! write the engine makes and after raw SQL writes (the triggers of migration 12 must keep
//! `open_load` and `pool_stats` whoever writes).
//!
//! Oracles (independent of the engine's code): a number's load = count of open threads whose
//! `number_id` is it; `pool_stats` = active pool numbers of the org and those whose recounted
//! load is under the row's cap; `release_due_at` = DESIGN.md §2's earliest deadline, computed
//! here from the thread, booking and settings columns.

use std::sync::Arc;

use rusqlite::Connection;
use serde_json::json;

use crate::bookings::{BookingStatus, NewBooking};
use crate::db::Storage;
use crate::ids::{ClientId, NumberId, OrgId, ThreadId};
use crate::messaging::{Inbound, RecordingProvider};
use crate::pool::ThreadStatus;
use crate::settings::RotationSettings;
use crate::world::{NewContact, NewNumber, NumberClass, NumberStatus};
use crate::{Engine, EngineConfig, ManualClock, Timestamp};

const T0: Timestamp = Timestamp(1_772_442_000);

struct World {
    engine: Engine,
    clock: ManualClock,
    org: OrgId,
    clients: Vec<ClientId>,
    numbers: Vec<NumberId>,
}

fn world() -> World {
    let clock = ManualClock::new(T0);
    let engine = Engine::new(
        EngineConfig {
            storage: Storage::Memory,
            ..EngineConfig::default()
        },
        Arc::new(clock.clone()),
        Arc::new(RecordingProvider::default()),
    )
    .unwrap();
    let org = engine.create_org("derived").unwrap();
    let settings = json!({ "maxConcurrentThreadsPerPoolNumber": 2, "inactivityReleaseDays": 2 });
    engine
        .update_rotation_settings(org, "test", &settings)
        .unwrap();
    let clients = (0..4)
        .map(|i| {
            let contact = NewContact {
                first_name: format!("C{i}"),
                last_name: "Test".into(),
                phone: format!("+1555030{i:04}"),
                email: format!("c{i}@example.com"),
            };
            engine.create_client(org, &contact).unwrap()
        })
        .collect();
    let mut world = World {
        engine,
        clock,
        org,
        clients,
        numbers: Vec::new(),
    };
    for i in 0..2 {
        add_number(&mut world, i);
    }
    world
}

fn add_number(world: &mut World, i: usize) {
    let number = NewNumber {
        e164: format!("+1555010{i:04}"),
        class: NumberClass::Pool,
        status: NumberStatus::Active,
        sitter: None,
        created_at: None,
    };
    world
        .numbers
        .push(world.engine.create_number(world.org, &number).unwrap());
}

/// Every derived value against its recomputation; `deadlines` also checks `release_due_at`.
fn check(world: &World, step: &str, deadlines: bool) {
    let settings = world.engine.rotation_settings(world.org).unwrap();
    world.engine.inspect(|c| {
        check_loads(c, step);
        check_pool_stats(c, step);
        if deadlines {
            check_deadlines(c, step, &settings);
        }
    });
}

fn check_loads(c: &Connection, step: &str) {
    let wrong: Vec<(i64, i64, i64)> = c
        .prepare(
            "SELECT n.id, n.open_load, (SELECT count(*) FROM threads t WHERE t.number_id = n.id AND t.status = 'open') AS real
             FROM message_numbers n WHERE n.open_load != real",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        wrong.is_empty(),
        "{step}: (number, open_load, real) {wrong:?}"
    );
    // LRU's order: a number serving no open thread has no `last_assigned_at`; one that serves
    // some was last assigned no earlier than its latest binding.
    let stale: Vec<(i64, Option<i64>)> = c
        .prepare(
            "SELECT n.id, n.last_assigned_at FROM message_numbers n
             WHERE (n.last_assigned_at IS NULL) != (n.open_load = 0)
                OR n.last_assigned_at < (SELECT max(t.bound_at) FROM threads t WHERE t.number_id = n.id)",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        stale.is_empty(),
        "{step}: (number, last_assigned_at) {stale:?}"
    );
}

fn check_pool_stats(c: &Connection, step: &str) {
    let rows: Vec<(i64, i64, i64, i64)> = c
        .prepare(
            "SELECT s.active_numbers, s.with_room,
                    (SELECT count(*) FROM message_numbers n WHERE n.org_id = s.org_id AND n.class = 'pool' AND n.status = 'active'),
                    (SELECT count(*) FROM message_numbers n WHERE n.org_id = s.org_id AND n.class = 'pool' AND n.status = 'active'
                        AND (SELECT count(*) FROM threads t WHERE t.number_id = n.id AND t.status = 'open') < s.cap)
             FROM pool_stats s",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(!rows.is_empty(), "{step}: no pool_stats row");
    for (active, with_room, real_active, real_room) in rows {
        assert_eq!(
            (active, with_room),
            (real_active, real_room),
            "{step}: pool_stats"
        );
    }
}

fn check_deadlines(c: &Connection, step: &str, settings: &RotationSettings) {
    type Row = (i64, Option<i64>, i64, Option<i64>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = c
        .prepare(
            "SELECT t.id, t.release_due_at, t.bound_at, t.last_message_at, b.window_end, t.number_id
             FROM threads t LEFT JOIN bookings b ON b.id = t.booking_id WHERE t.bound_at IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (id, due, bound, last, window_end, _) in rows {
        let mut expected = bound + settings.max_pool_thread_lifetime_days * 86_400;
        if let Some(end) = window_end {
            expected = expected.min(end + settings.post_booking_grace_hours * 3_600);
        }
        if settings.inactivity_release_days > 0 {
            let from = last.unwrap_or(bound).max(bound);
            expected = expected.min(from + settings.inactivity_release_days * 86_400);
        }
        assert_eq!(due, Some(expected), "{step}: release_due_at of thread {id}");
    }
    let stray: i64 = c
        .query_row(
            "SELECT count(*) FROM threads WHERE bound_at IS NULL AND release_due_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stray, 0, "{step}: an unbound thread keeps a deadline");
}

fn open(world: &World, client: usize) -> ThreadId {
    let client = world.clients[client];
    let (thread, _) = world
        .engine
        .open_thread(world.org, "test", client, None, None)
        .unwrap();
    thread
}

/// A confirmed booking of the fourth client (its confirmation opens and assigns a thread).
fn confirmed_booking(w: &World) -> crate::bookings::Booking {
    let new = NewBooking {
        client: w.clients[3],
        sitter: None,
        service: "Walk".into(),
        start: T0.plus(3_600),
        end: T0.plus(7_200),
    };
    let booking = w.engine.create_booking(w.org, "test", &new).unwrap();
    w.engine
        .transition_booking(w.org, "test", booking.id, BookingStatus::Confirmed)
        .unwrap();
    booking
}

#[test]
fn every_engine_write_keeps_the_derived_values() {
    let mut w = world();
    check(&w, "numbers added", true);
    let a = open(&w, 0);
    let b = open(&w, 1);
    let _c = open(&w, 2);
    check(&w, "three threads assigned", true);
    let booking = confirmed_booking(&w);
    check(&w, "booking confirmed (thread opened)", true);
    w.engine
        .reschedule_booking(w.org, "test", booking.id, T0.plus(600), T0.plus(1_200))
        .unwrap();
    check(&w, "booking rescheduled", true);
    let (number_of_a, _) = w.engine.inspect(|c| {
        c.query_row("SELECT number_id, 0 FROM threads WHERE id = ?1", [a], |r| {
            Ok((r.get::<_, NumberId>(0)?, r.get::<_, i64>(1)?))
        })
        .unwrap()
    });
    let to = w.engine.numbers(w.org).unwrap();
    let e164 = to
        .iter()
        .find(|n| n.id == number_of_a)
        .unwrap()
        .e164
        .clone();
    w.clock.advance(60);
    let inbound = Inbound {
        from: "+15550300000".into(),
        to: e164,
        body: "hello".into(),
        message_sid: "SMderived".into(),
    };
    w.engine.receive(&inbound).unwrap();
    check(&w, "inbound message", true);
    w.engine
        .end_thread(w.org, "test", b, ThreadStatus::Closed)
        .unwrap();
    check(&w, "thread closed", true);
    w.engine
        .set_number_status(w.org, "test", number_of_a, NumberStatus::Quarantined)
        .unwrap();
    check(&w, "number quarantined", true);
    add_number(&mut w, 7);
    check(&w, "number added while threads are bound", true);
    w.engine
        .set_number_status(w.org, "test", number_of_a, NumberStatus::Active)
        .unwrap();
    w.engine.assign_thread(w.org, "test", a).unwrap();
    check(&w, "number reactivated, thread reassigned", true);
    let patch = json!({ "maxConcurrentThreadsPerPoolNumber": 1, "inactivityReleaseDays": 5 });
    w.engine
        .update_rotation_settings(w.org, "test", &patch)
        .unwrap();
    check(&w, "cap and inactivity changed", true);
    w.clock.advance(40 * 86_400);
    w.engine.run_release_job(w.org, "test").unwrap();
    check(&w, "release job", true);
    w.engine
        .set_number_status(w.org, "test", w.numbers[1], NumberStatus::Retired)
        .unwrap();
    w.engine
        .end_thread(w.org, "test", a, ThreadStatus::Archived)
        .unwrap();
    check(&w, "number retired, thread archived", true);
}

#[test]
fn raw_sql_writes_keep_the_counters() {
    let w = world();
    let _a = open(&w, 0);
    let _b = open(&w, 1);
    check(&w, "engine writes", false);
    let (org, first, second) = (w.org.rowid(), w.numbers[0].rowid(), w.numbers[1].rowid());
    let steps = [
        (
            "bound thread inserted",
            format!(
                "INSERT INTO threads (org_id, client_id, status, number_id, bound_at, created_at)
                 VALUES ({org}, {}, 'open', {first}, 1, 1)",
                w.clients[2].rowid()
            ),
        ),
        ("thread moved", format!("UPDATE threads SET number_id = {second} WHERE number_id = {first}")),
        ("thread unbound", "UPDATE threads SET number_id = NULL, bound_at = NULL WHERE id = (SELECT max(id) FROM threads)".into()),
        ("number quarantined", format!("UPDATE message_numbers SET status = 'quarantined' WHERE id = {first}")),
        (
            "number inserted",
            format!(
                "INSERT INTO message_numbers (org_id, e164, class, status, created_at) VALUES ({org}, '+15550109999', 'pool', 'active', 0)"
            ),
        ),
        ("threads closed", "UPDATE threads SET number_id = NULL, bound_at = NULL, status = 'closed' WHERE number_id IS NOT NULL AND id % 2 = 0".into()),
        ("threads deleted", "DELETE FROM threads WHERE number_id IS NOT NULL".into()),
        ("number deleted", "DELETE FROM message_numbers WHERE e164 = '+15550109999'".into()),
    ];
    for (step, sql) in steps {
        // Foreign keys off: a raw delete leaves the audit and binding rows behind.
        let batch = format!("PRAGMA foreign_keys = OFF; {sql}; PRAGMA foreign_keys = ON;");
        w.engine.inspect(|c| c.execute_batch(&batch)).unwrap();
        check(&w, step, false);
    }
}

/// Raw SQL changes of the release rule's inputs outside `pool.rs` (a booking's window end, the
/// org's rotation settings) are queued by migration 14's triggers; the next engine write
/// recomputes every queued deadline before it commits and leaves the queue empty.
#[test]
fn raw_sql_writes_of_deadline_inputs_are_followed_by_the_next_engine_write() {
    let w = world();
    let _a = open(&w, 0);
    let booking = confirmed_booking(&w);
    check(&w, "engine writes", true);
    let settings = w.engine.rotation_settings(w.org).unwrap();
    let mut shorter = settings.to_json();
    shorter["postBookingGraceHours"] = json!(1);
    shorter["maxPoolThreadLifetimeDays"] = json!(3);
    let steps = [
        (
            "booking window end moved",
            format!(
                "UPDATE bookings SET window_end = window_end - 1800 WHERE id = {}",
                booking.id.rowid()
            ),
        ),
        (
            "rotation settings rewritten",
            format!(
                "UPDATE rotation_settings SET settings = '{shorter}' WHERE org_id = {}",
                w.org.rowid()
            ),
        ),
        (
            "rotation settings deleted (the defaults apply)",
            format!(
                "DELETE FROM rotation_settings WHERE org_id = {}",
                w.org.rowid()
            ),
        ),
        (
            "thread moved to another booking",
            format!(
                "UPDATE threads SET booking_id = NULL WHERE booking_id = {}",
                booking.id.rowid()
            ),
        ),
    ];
    for (step, sql) in steps {
        w.engine.inspect(|c| c.execute_batch(&sql)).unwrap();
        let queued: i64 = w.engine.inspect(|c| {
            c.query_row("SELECT count(*) FROM deadline_refresh", [], |r| r.get(0))
                .unwrap()
        });
        assert!(queued > 0, "{step}: nothing queued");
        w.engine.create_org(&format!("any write: {step}")).unwrap();
        check(&w, step, true);
        let left: i64 = w.engine.inspect(|c| {
            c.query_row("SELECT count(*) FROM deadline_refresh", [], |r| r.get(0))
                .unwrap()
        });
        assert_eq!(left, 0, "{step}: the queue is drained");
    }
}

/// A deadline input changed by raw SQL, with no engine write after it: the scheduled release job
/// itself recomputes the queued deadline first, so the thread is released when its new deadline
/// has passed.
#[test]
fn the_scheduled_release_job_follows_a_queued_deadline() {
    let w = world();
    let booking = confirmed_booking(&w);
    check(&w, "booking confirmed", true);
    let sql = format!(
        "UPDATE bookings SET window_end = window_end - 400000 WHERE id = {}",
        booking.id.rowid()
    );
    w.engine.inspect(|c| c.execute_batch(&sql)).unwrap();
    let stats = w.engine.run_scheduled_release().unwrap();
    assert_eq!(stats.released_by_grace_period, 1, "{stats:?}");
    check(&w, "scheduled release after a raw window change", true);
}

/// One org's unreadable settings keep only its own threads queued: the other orgs' writes go on.
#[test]
fn an_org_with_unreadable_settings_does_not_stop_other_orgs_writes() {
    let w = world();
    let _a = open(&w, 0);
    let sql = format!(
        "UPDATE rotation_settings SET settings = 'not json' WHERE org_id = {}",
        w.org.rowid()
    );
    w.engine.inspect(|c| c.execute_batch(&sql)).unwrap();
    let other = w.engine.create_org("other").unwrap();
    w.engine
        .update_rotation_settings(other, "test", &json!({ "postBookingGraceHours": 5 }))
        .unwrap();
    let queued: i64 = w.engine.inspect(|c| {
        c.query_row("SELECT count(*) FROM deadline_refresh", [], |r| r.get(0))
            .unwrap()
    });
    assert_eq!(queued, 1, "the unreadable org's bound thread stays queued");
}

/// The rows `deadline_refresh` holds after `sql`, on a world with two bound threads.
fn queued_after(sql: &dyn Fn(&World) -> String) -> i64 {
    let w = world();
    let _a = open(&w, 0);
    let _b = open(&w, 1);
    let sql = sql(&w);
    w.engine.inspect(|c| {
        c.execute_batch(&sql).unwrap();
        c.query_row("SELECT count(*) FROM deadline_refresh", [], |r| r.get(0))
            .unwrap()
    })
}

/// Migration 15: a settings write queues the org's bound threads exactly when an input of the
/// release rule changed (the three settings DESIGN.md §2's deadlines read); text that is not
/// JSON counts as a change. Other settings leave every deadline as it was.
#[test]
fn a_settings_write_queues_deadlines_only_when_a_release_input_changes() {
    fn check(key: &str, value: serde_json::Value, queued: i64) {
        let rewrite = |w: &World| {
            let mut settings = w.engine.rotation_settings(w.org).unwrap().to_json();
            if key.is_empty() {
                settings = value.clone();
            } else {
                settings[key] = value.clone();
            }
            let text = match &settings {
                serde_json::Value::String(raw) => raw.clone(),
                other => other.to_string(),
            };
            format!(
                "UPDATE rotation_settings SET settings = '{text}' WHERE org_id = {}",
                w.org.rowid()
            )
        };
        assert_eq!(queued_after(&rewrite), queued, "{key} = {value}");
    }
    check("postBookingGraceHours", json!(5), 2);
    check("inactivityReleaseDays", json!(0), 2);
    check("maxPoolThreadLifetimeDays", json!(9), 2);
    check("", json!("not json"), 2);
    check("poolSelectionStrategy", json!("FIFO"), 0);
    check("minPoolReserve", json!(0), 0);
    check("stickyReuseDays", json!(1), 0);
    check("maxConcurrentThreadsPerPoolNumber", json!(3), 0);
    check("inactivityReleaseDays", json!(2), 0); // the value it already has
}

/// The drain reads the queue first (every write transaction runs it, almost always on an empty
/// queue), never a scan of `threads`; a queued thread deleted since is dropped from the queue.
/// SQLite's query plan of `sql` (with every parameter NULL), one line per step.
fn plan_of(w: &World, sql: &str) -> Vec<String> {
    w.engine.inspect(|c| {
        let mut statement = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; statement.parameter_count()];
        statement
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    })
}

/// A query that runs on every write or every scheduler tick reaches threads only by primary
/// key or through the `threads_due` index: never by walking them (the kind of fault that made
/// both of these grow with history).
fn assert_threads_reached_by_key(plan: &[String]) {
    let on_threads = plan.iter().filter(|step| step.contains(" t "));
    for step in on_threads {
        assert!(
            step.contains("INTEGER PRIMARY KEY") || step.contains("threads_due"),
            "{step} in {plan:?}"
        );
    }
}

#[test]
fn the_release_tick_reads_due_threads_and_the_queue_by_key() {
    let w = world();
    let plan = plan_of(&w, crate::operations::RELEASE_DUE_ORGS);
    assert!(
        plan.iter().any(|step| step.starts_with("SCAN q")),
        "{plan:?}"
    );
    assert_threads_reached_by_key(&plan);
}

#[test]
fn the_deadline_drain_starts_from_the_queue() {
    let w = world();
    let thread = open(&w, 0);
    let plan = plan_of(&w, super::DRAIN_QUEUE);
    assert!(plan[0].starts_with("SCAN q"), "{plan:?}");
    assert_threads_reached_by_key(&plan);
    let sql = format!(
        "INSERT INTO deadline_refresh (thread_id) VALUES ({0}), (99999);
         PRAGMA foreign_keys = OFF; DELETE FROM threads WHERE id = {0}; PRAGMA foreign_keys = ON;",
        thread.rowid()
    );
    w.engine.inspect(|c| c.execute_batch(&sql)).unwrap();
    w.engine.create_org("any write").unwrap();
    let left: i64 = w.engine.inspect(|c| {
        c.query_row("SELECT count(*) FROM deadline_refresh", [], |r| r.get(0))
            .unwrap()
    });
    assert_eq!(left, 0, "ids of deleted threads leave the queue");
}

/// The SQL of every statement the connection holds prepared (its statement cache), sorted.
fn prepared_statements(c: &Connection) -> Vec<String> {
    let mut sql = Vec::new();
    // SAFETY: the handle is open and the lock is held for the whole walk; `sqlite3_next_stmt`
    // and `sqlite3_sql` only read the connection's list of statements, and each text is copied
    // before the next call.
    unsafe {
        let db = c.handle();
        let mut stmt = rusqlite::ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !stmt.is_null() {
            let text = rusqlite::ffi::sqlite3_sql(stmt);
            if !text.is_null() {
                sql.push(
                    std::ffi::CStr::from_ptr(text)
                        .to_string_lossy()
                        .into_owned(),
                );
            }
            stmt = rusqlite::ffi::sqlite3_next_stmt(db, stmt);
        }
    }
    sql.sort();
    sql.dedup();
    sql
}

/// Steps of a per-write plan that would grow with history: a table walked, or rows sorted or
/// deduplicated in a temporary b-tree. The queue of migration 14 is walked on purpose (one
/// step: it is empty after every write).
fn growing_steps(plan: &[String]) -> Vec<&String> {
    plan.iter()
        .filter(|step| {
            let scan = step.starts_with("SCAN ")
                && !step.starts_with("SCAN CONSTANT ROW")
                && !step.starts_with("SCAN deadline_refresh")
                && !step.starts_with("SCAN json_each");
            scan || step.contains("TEMP B-TREE")
        })
        .collect()
}

/// Fails naming every statement of `statements` whose plan walks a table or builds a temporary
/// b-tree ([`growing_steps`]).
fn assert_none_grows<'a>(w: &World, statements: impl Iterator<Item = &'a String>) {
    let growing: Vec<(&String, Vec<String>)> = statements
        .map(|sql| (sql, plan_of(w, sql)))
        .filter(|(_, plan)| !growing_steps(plan).is_empty())
        .collect();
    assert!(growing.is_empty(), "{growing:#?}");
}

/// Issue 12 point 3: every statement a webhook or a booking's create and confirm runs (thread
/// open, assignment, pool alerts refresh, deadline queue, audit) reaches rows by key: no walk
/// of a table and no temporary b-tree, whose cost grows with the year. The statements are
/// those the writes left in the connection's statement cache, so a new statement on these
/// paths is covered without being listed here.
#[test]
fn the_webhook_and_booking_paths_read_by_key_without_sorting() {
    let w = world();
    w.engine.inspect(|c| c.flush_prepared_statement_cache());
    let booking = confirmed_booking(&w);
    let thread = w
        .engine
        .inspect(|c| {
            c.query_row(
                "SELECT t.id, n.e164 FROM threads t JOIN message_numbers n ON n.id = t.number_id
                 WHERE t.booking_id = ?1",
                [booking.id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
        })
        .unwrap();
    let inbound = Inbound {
        from: "+15550300003".into(),
        to: thread.1,
        body: "hello".into(),
        message_sid: "SMplans".into(),
    };
    let outcome = w.engine.receive(&inbound).unwrap();
    assert_eq!(outcome.thread_id, Some(format!("thr_{}", thread.0)));
    assert!(w.engine.receive(&inbound).unwrap().duplicate);
    let statements = w.engine.inspect(prepared_statements);
    for needed in [
        crate::messaging::THREAD_FOR_SENDER,
        "INSERT INTO messages",
        "INSERT INTO audit_events",
        "INSERT INTO bookings",
        "SELECT id FROM alerts",
        super::QUEUE_NOT_EMPTY,
    ] {
        assert!(
            statements.iter().any(|sql| sql.contains(needed)),
            "{needed} did not run: {statements:#?}"
        );
    }
    assert_none_grows(
        &w,
        statements
            .iter()
            .filter(|sql| !sql.starts_with("BEGIN") && !sql.starts_with("COMMIT")),
    );
}

/// Migration 16 dropped `audit_message` and kept only the owner inbox's
/// messages in `messages_inbox`: the owner inbox still reads by that (partial) index and the
/// audit page, filtered by thread or not, still reads the org's trail by `(org_id, seq)`, with
/// no walk of a table and no temporary b-tree. On the old inbox SQL (`routed_to = ?2`, which a
/// partial index cannot serve) this fails naming `SCAN messages`.
#[test]
fn the_inbox_and_the_audit_page_read_by_key_with_fewer_indexes() {
    let w = world();
    w.engine.inspect(|c| c.flush_prepared_statement_cache());
    assert!(w.engine.inbox(w.org).unwrap().is_empty());
    w.engine.audit_page(w.org, None, None, None, 50).unwrap();
    w.engine
        .audit_page(
            w.org,
            Some("thread.opened"),
            Some(crate::ids::ThreadId(1)),
            Some(10),
            50,
        )
        .unwrap();
    let statements = w.engine.inspect(prepared_statements);
    let inbox = statements
        .iter()
        .find(|sql| sql.contains("'owner_inbox'"))
        .expect("the inbox query ran");
    let plan = plan_of(&w, inbox);
    assert!(
        plan.iter().any(|s| s.contains("messages_inbox")),
        "{plan:?}"
    );
    assert_none_grows(
        &w,
        statements
            .iter()
            .filter(|sql| sql.contains("'owner_inbox'") || sql.contains("ORDER BY seq")),
    );
}
