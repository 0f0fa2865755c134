//! Shared data generation for the criterion benchmarks.
//!
//! A benchmark world is built once per benchmark group: the org and its settings go through the
//! engine's own API, then the bulk rows (numbers, clients, sitters, bookings, threads, binding
//! history) are written with prepared statements in ONE transaction through
//! [`Engine::inspect`]. The rows keep the engine's invariants:
//!
//! - `message_numbers.open_load` and `pool_stats`: kept by the engine's triggers (migration 12)
//!   as the rows go in, as for every engine write; the loader only checks no number is over the cap;
//! - no number serves two open threads of the same client;
//! - `threads.release_due_at` = the earliest deadline of DESIGN.md §2, computed with the engine's
//!   own [`Deadlines::of`]; `threads.bound_cap` = the cap in force;
//! - one `number_bindings` row per binding (open: `released_at` NULL; closed: released);
//! - `last_assigned_at` = the latest bind of a loaded number, NULL for an empty one (the same
//!   triggers move it on every bind and clear it when a number's last thread is released).
//!
//! Historical audit events are not generated: the audit table is only appended to (by an indexed
//! `MAX(seq)` per org), so its size does not enter any measured path.
//!
//! The "original system" baselines get their own tables (`legacy_*`, see [`build_legacy`]) in the
//! same database, so they never disturb the engine's state.
#![allow(dead_code)] // each bench uses a different part of this module

use std::sync::Arc;
use std::time::Instant;

use rusqlite::{Connection, params};
use serde_json::{Value, json};
use switchboard_core::db::Storage;
use switchboard_core::ids::{BookingId, ClientId, NumberId, OrgId, ThreadId};
use switchboard_core::messaging::RecordingProvider;
use switchboard_core::pool::{Deadlines, ThreadRow, ThreadStatus};
use switchboard_core::settings::RotationSettings;
use switchboard_core::time::{DAY, HOUR, MINUTE};
use switchboard_core::{Engine, EngineConfig, ManualClock, Timestamp};

/// 2026-11-25T00:00:00Z: "now" in every benchmark world.
pub const T0: Timestamp = Timestamp(1_795_564_800);

/// The actor of every benchmark operation.
pub const ACTOR: &str = "user:bench";

/// The shape of a benchmark world.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Active pool numbers.
    pub numbers: usize,
    /// Threads, open and closed.
    pub threads: usize,
    /// Clients the threads belong to (round robin).
    pub clients: usize,
    /// Every `open_every`-th thread is open and bound (1 = all, 10 = 10%); the rest are closed
    /// with one released binding each.
    pub open_every: usize,
    /// Open threads are past their release deadline (a mix of grace, inactivity and lifetime).
    pub due: bool,
    /// Each client's booking has a sitter and an assignment window active at [`T0`] (so inbound
    /// messages route to the sitter).
    pub active_windows: bool,
    /// Rotation settings patch applied through the engine before the rows are written.
    pub settings: Value,
}

/// A built world.
pub struct World {
    pub engine: Arc<Engine>,
    pub clock: ManualClock,
    pub org: OrgId,
    pub spec: Spec,
    pub settings: RotationSettings,
    /// A client with no threads, for assignment benchmarks.
    pub fresh_client: ClientId,
    /// (client phone, number e164) of every open thread, in thread order.
    pub open_routes: Vec<(String, String)>,
}

pub fn number_e164(i: usize) -> String {
    format!("+1800{i:07}")
}

pub fn client_phone(i: usize) -> String {
    format!("+1650{i:07}")
}

/// Builds a world; prints how long the bulk load took (to stderr, outside any measurement).
pub fn build(spec: Spec) -> World {
    let started = Instant::now();
    let clock = ManualClock::new(T0);
    let engine = Arc::new(
        Engine::new(
            EngineConfig {
                storage: Storage::Memory,
                ..EngineConfig::default()
            },
            Arc::new(clock.clone()),
            Arc::new(RecordingProvider::default()),
        )
        .expect("engine"),
    );
    let org = engine.create_org("bench").expect("org");
    let settings = engine
        .update_rotation_settings(org, ACTOR, &spec.settings)
        .expect("settings");
    let cap = settings.max_concurrent_threads_per_pool_number;

    let open_routes = engine.inspect(|conn| write_rows(conn, org.rowid(), &spec, &settings));
    let loads = open_routes.len();
    assert!(
        loads <= spec.numbers * cap as usize,
        "more open threads than the pool can hold"
    );

    let fresh_client = engine
        .create_client(
            org,
            &switchboard_core::world::NewContact {
                first_name: "Fresh".into(),
                last_name: "Client".into(),
                phone: "+14155550100".into(),
                email: "fresh@example.com".into(),
            },
        )
        .expect("fresh client");
    if started.elapsed().as_secs() >= 1 {
        eprintln!(
            "[support] built {} numbers, {} threads ({} open), {} clients in {:.2?}",
            spec.numbers,
            spec.threads,
            open_routes.len(),
            spec.clients,
            started.elapsed()
        );
    }
    World {
        engine,
        clock,
        org,
        spec,
        settings,
        fresh_client,
        open_routes,
    }
}

/// Window end and grace relevant times of client `c`'s booking.
fn booking_times(spec: &Spec, c: usize) -> (i64, i64) {
    if spec.due && c.is_multiple_of(3) {
        // Ended 30 days ago: its grace (72 h) comes before the other two deadlines.
        (T0.0 - 30 * DAY - 2 * HOUR, T0.0 - 30 * DAY)
    } else if spec.active_windows {
        (T0.0 - 30 * MINUTE, T0.0 + 2 * HOUR)
    } else {
        (T0.0 + 10 * DAY, T0.0 + 10 * DAY + 2 * HOUR)
    }
}

/// Writes the bulk rows in one transaction (foreign keys checked afterwards on the smaller
/// worlds). The derived values (`open_load`, `last_assigned_at`, `pool_stats`) are not written here: the engine's
/// triggers (migration 12) keep them as the threads go in, exactly as for the engine's writes.
fn write_rows(
    conn: &Connection,
    org: i64,
    spec: &Spec,
    settings: &RotationSettings,
) -> Vec<(String, String)> {
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    let tx = conn.unchecked_transaction().expect("tx");
    let number_base: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(id), 0) FROM message_numbers",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(number_base, 0, "numbers get ids 1..=n");
    write_sitters(&tx, org);
    write_clients(&tx, org, spec);
    write_numbers(&tx, org, spec);
    let open_routes = write_threads(&tx, org, spec, settings);
    let over: i64 = tx
        .query_row(
            "SELECT count(*) FROM message_numbers WHERE open_load > ?1",
            [settings.max_concurrent_threads_per_pool_number],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(over, 0, "numbers over the cap");
    // The HASH_SHUFFLE ring points of the numbers written above (the engine adds them when it
    // creates a number).
    switchboard_core::hash_ring::add_missing(&tx).unwrap();
    tx.commit().unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    if spec.threads <= 100_000 {
        let broken: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0, "generated rows break a foreign key");
    }
    // No ANALYZE: the engine never runs it, so the planner sees what it sees in production.
    open_routes
}

/// Sitters: a hundred, for bookings with a sitter.
const SITTERS: usize = 100;

fn write_sitters(tx: &Connection, org: i64) {
    let mut stmt = tx
        .prepare("INSERT INTO sitters (id, org_id, first_name, last_name, phone, email) VALUES (?1, ?2, 'Sitter', ?3, ?4, ?5)")
        .unwrap();
    for s in 0..SITTERS {
        stmt.execute(params![
            s as i64 + 1,
            org,
            format!("S{s}"),
            format!("+1415{s:07}"),
            format!("sitter{s}@example.com")
        ])
        .unwrap();
    }
}

/// Clients 1..=clients, each with one booking (booking id = client id).
fn write_clients(tx: &Connection, org: i64, spec: &Spec) {
    let mut client = tx
        .prepare("INSERT INTO clients (id, org_id, first_name, last_name, phone, email) VALUES (?1, ?2, 'Client', ?3, ?4, ?5)")
        .unwrap();
    let mut booking = tx
        .prepare(
            "INSERT INTO bookings (id, org_id, client_id, sitter_id, service, start_at, end_at, status, window_start, window_end)
             VALUES (?1, ?2, ?1, ?3, 'Drop-in', ?4, ?5, 'confirmed', ?6, ?7)",
        )
        .unwrap();
    for c in 0..spec.clients {
        let id = c as i64 + 1;
        let (phone, email) = (client_phone(c), format!("client{c}@example.com"));
        client
            .execute(params![id, org, format!("C{c}"), phone, email])
            .unwrap();
        let (start, end) = booking_times(spec, c);
        let sitter = spec.active_windows.then_some((c % SITTERS) as i64 + 1);
        booking
            .execute(params![
                id,
                org,
                sitter,
                start,
                end,
                start - HOUR,
                end + HOUR
            ])
            .unwrap();
    }
}

/// Numbers: ids 1..=n, created a second apart (FIFO-distinct), load 0 until threads bind them.
fn write_numbers(tx: &Connection, org: i64, spec: &Spec) {
    let mut number = tx
        .prepare(
            "INSERT INTO message_numbers (id, org_id, e164, class, status, created_at)
             VALUES (?1, ?2, ?3, 'pool', 'active', ?4)",
        )
        .unwrap();
    for i in 0..spec.numbers {
        number
            .execute(params![
                i as i64 + 1,
                org,
                number_e164(i),
                T0.0 - 400 * DAY + i as i64
            ])
            .unwrap();
    }
}

/// One generated thread: its row and its binding row.
struct GenThread {
    id: i64,
    client: usize,
    number: usize,
    /// (bound_at, last_message_at) of an open bound thread; None for a closed one.
    open: Option<(i64, i64)>,
}

/// Thread `i`: every `open_every`-th is open and bound (the client's k-th open thread goes k
/// numbers further: distinct numbers per client); the rest are closed with a released binding.
fn gen_thread(spec: &Spec, i: usize) -> GenThread {
    let (n, c_count) = (spec.numbers, spec.clients);
    if !i.is_multiple_of(spec.open_every) {
        return GenThread {
            id: i as i64 + 1,
            client: i % c_count,
            number: i % n,
            open: None,
        };
    }
    let j = i / spec.open_every;
    let c = j % c_count;
    let times = if spec.due {
        let bound = T0.0 - 31 * DAY - (j % 3600) as i64;
        if j.is_multiple_of(2) {
            (bound, bound + HOUR) // inactivity comes first
        } else {
            (bound, T0.0 - HOUR) // lifetime comes first
        }
    } else {
        let bound = T0.0 - (j % (3 * DAY as usize)) as i64 - MINUTE;
        (bound, (bound + MINUTE).min(T0.0))
    };
    GenThread {
        id: i as i64 + 1,
        client: c,
        number: (c + j / c_count) % n,
        open: Some(times),
    }
}

/// The release deadline of an open generated thread, by the engine's own rule.
fn deadline(spec: &Spec, t: &GenThread, settings: &RotationSettings) -> Option<Timestamp> {
    let (bound_at, last_message_at) = t.open?;
    let (_, window_end) = booking_times(spec, t.client);
    let row = ThreadRow {
        id: ThreadId(t.id),
        org: OrgId(0),
        client: ClientId(t.client as i64 + 1),
        sitter: None,
        booking: Some(BookingId(t.client as i64 + 1)),
        status: ThreadStatus::Open,
        number: Some(NumberId(t.number as i64 + 1)),
        bound_at: Some(Timestamp(bound_at)),
        last_message_at: Some(Timestamp(last_message_at)),
        window_end: Some(Timestamp(window_end + HOUR)),
    };
    let (_, due) = Deadlines::of(&row, Timestamp(bound_at), settings).earliest();
    assert_eq!(due <= T0, spec.due, "thread {} due at {due:?}", t.id);
    Some(due)
}

/// (bound_at, released_at) of closed thread `i`'s one binding, 60 days ago for five days.
fn closed_binding(i: usize) -> (i64, i64) {
    let bound_at = T0.0 - 60 * DAY + (i % DAY as usize) as i64;
    (bound_at, bound_at + 5 * DAY)
}

/// Threads and their binding rows; returns (client phone, number) of every open thread.
fn write_threads(
    tx: &Connection,
    org: i64,
    spec: &Spec,
    settings: &RotationSettings,
) -> Vec<(String, String)> {
    let cap = settings.max_concurrent_threads_per_pool_number;
    let mut thread = tx
        .prepare(
            "INSERT INTO threads (id, org_id, client_id, sitter_id, booking_id, status, number_id, bound_at, bound_cap, last_message_at, created_at, release_due_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .unwrap();
    let mut binding = tx
        .prepare(
            "INSERT INTO number_bindings (org_id, thread_id, client_id, number_id, bound_at, released_at, release_rule)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .unwrap();
    let mut open_routes = Vec::new();
    for i in 0..spec.threads {
        let t = gen_thread(spec, i);
        let (client, number) = (t.client as i64 + 1, t.number as i64 + 1);
        if let Some((bound_at, last)) = t.open {
            let due = deadline(spec, &t, settings);
            let sitter = spec
                .active_windows
                .then_some((t.client % SITTERS) as i64 + 1);
            thread
                .execute(params![
                    t.id, org, client, sitter, client, "open", number, bound_at, cap, last,
                    bound_at, due
                ])
                .unwrap();
            binding
                .execute(params![
                    org,
                    t.id,
                    client,
                    number,
                    bound_at,
                    None::<i64>,
                    None::<String>
                ])
                .unwrap();
            open_routes.push((client_phone(t.client), number_e164(t.number)));
        } else {
            let (bound_at, released) = closed_binding(i);
            let none = None::<i64>;
            thread
                .execute(params![
                    t.id,
                    org,
                    client,
                    none,
                    none,
                    "closed",
                    none,
                    none,
                    none,
                    released - HOUR,
                    bound_at,
                    none
                ])
                .unwrap();
            binding
                .execute(params![
                    org,
                    t.id,
                    client,
                    number,
                    bound_at,
                    released,
                    "thread_closed"
                ])
                .unwrap();
        }
    }
    open_routes
}

/// The original system's tables, in the same database as the engine's (so they share page cache
/// and allocator) but separate, so the baselines never disturb the engine's state.
///
/// Emulation: the original's threads kept their number forever (closing a thread did not unbind
/// it), so `legacy_threads.number_id` is each thread's binding from `number_bindings` whatever
/// its status, and the original's capacity count (non-archived threads per number) therefore
/// counts open AND closed threads. The original gets the most favourable index for its
/// `GROUP BY` (covering `(org_id, number_id, status)`), so the baseline is a lower bound on the
/// original's cost. `legacy_numbers` is a copy of the pool; `legacy_audit` has the shape of
/// `audit_events` (the original did not store audit rows at all; the baseline writes one so both
/// sides do the same bind work).
pub fn build_legacy(world: &World) {
    let started = Instant::now();
    world.engine.inspect(|conn| {
        let tx = conn.unchecked_transaction().unwrap();
        tx.execute_batch(
            "CREATE TABLE legacy_numbers (
                 id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, e164 TEXT NOT NULL, class TEXT NOT NULL,
                 status TEXT NOT NULL, last_assigned_at INTEGER, created_at INTEGER NOT NULL);
             INSERT INTO legacy_numbers SELECT id, org_id, e164, class, status, last_assigned_at, created_at
                 FROM message_numbers;
             CREATE INDEX legacy_numbers_org ON legacy_numbers(org_id, class, status);
             CREATE TABLE legacy_threads (
                 id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, client_id INTEGER NOT NULL,
                 number_id INTEGER, status TEXT NOT NULL, bound_at INTEGER, created_at INTEGER NOT NULL);
             INSERT INTO legacy_threads SELECT t.id, t.org_id, t.client_id, b.number_id, t.status, b.bound_at, t.created_at
                 FROM threads t JOIN number_bindings b ON b.thread_id = t.id ORDER BY t.id;
             CREATE INDEX legacy_threads_count ON legacy_threads(org_id, number_id, status);
             CREATE TABLE legacy_audit (
                 id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL,
                 type TEXT NOT NULL, actor TEXT NOT NULL, thread_id INTEGER, number_id INTEGER,
                 payload TEXT NOT NULL, UNIQUE (org_id, seq));",
        )
        .unwrap();
        tx.commit().unwrap();
    });
    eprintln!("[support] built legacy tables in {:.2?}", started.elapsed());
}

/// Appends one audit row the way the engine does (per-org `MAX(seq) + 1`, JSON payload).
pub fn legacy_audit(
    conn: &Connection,
    table: &str,
    org: i64,
    at: i64,
    event_type: &str,
    (thread, number): (i64, i64),
    payload: &Value,
) {
    let seq: i64 = conn
        .prepare_cached(&format!(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM {table} WHERE org_id = ?1"
        ))
        .unwrap()
        .query_row([org], |r| r.get(0))
        .unwrap();
    conn.prepare_cached(&format!(
        "INSERT INTO {table} (org_id, seq, at, type, actor, thread_id, number_id, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))
    .unwrap()
    .execute(params![
        org,
        seq,
        at,
        event_type,
        ACTOR,
        thread,
        number,
        payload.to_string()
    ])
    .unwrap();
}

/// The release settings payload both sides put in release events.
pub fn release_settings_json(settings: &RotationSettings) -> Value {
    json!({
        "postBookingGraceHours": settings.post_booking_grace_hours,
        "inactivityReleaseDays": settings.inactivity_release_days,
        "maxPoolThreadLifetimeDays": settings.max_pool_thread_lifetime_days,
    })
}

/// World sizes to run, from `SWITCHBOARD_BENCH_SIZES=10000,100000` (default: `default`).
pub fn sizes(default: &[usize]) -> Vec<usize> {
    match std::env::var("SWITCHBOARD_BENCH_SIZES") {
        Ok(text) if !text.trim().is_empty() => text
            .split(',')
            .map(|s| s.trim().replace('_', "").parse().expect("size"))
            .collect(),
        _ => default.to_vec(),
    }
}

/// `10k`, `100k`, `1M`.
pub fn label(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}
