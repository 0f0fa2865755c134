//! One full assignment (open a thread, assign it a pool number, audit) on a pool of 10,000
//! numbers with 10k / 100k / 1M threads, per strategy, beside the original system's algorithm on
//! the same database.
//!
//! Ours: `Engine::open_thread` (one `BEGIN IMMEDIATE` transaction: insert the thread, audit
//! `thread.opened`, choose a number from `open_load`, bind, `number_bindings` row,
//! `pool.number.assigned` event, reserve alerts). After each measured call the thread is closed
//! outside the timing (`iter_custom`), so every iteration sees the same pool.
//!
//! Baseline: the original algorithm (see `support::build_legacy` for the emulation): in one
//! transaction, insert the thread, `GROUP BY` every non-archived thread per number, read the
//! pool, drop numbers at the cap, order in memory per strategy, bind (thread + number + audit row).
//! The inserted thread is deleted outside the timing.
//!
//! World: 10,000 active pool numbers, cap 128 (`maxConcurrentThreadsPerPoolNumber`), 10% of the
//! threads open and bound (spread evenly: 10 per number at 1M), 90% closed with one released
//! binding each; `stickyReuseDays` = 0 so every assignment runs the strategy.

mod support;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use rusqlite::{Connection, params};
use serde_json::json;
use switchboard_core::hash_ring;
use switchboard_core::pool::{Assignment, ThreadStatus};
use switchboard_core::settings::Strategy;

use support::{ACTOR, Spec, World};

const NUMBERS: usize = 10_000;
const CAP: i64 = 128;
const STRATEGIES: [Strategy; 3] = [Strategy::Lru, Strategy::Fifo, Strategy::HashShuffle];

fn world(threads: usize) -> World {
    let world = support::build(Spec {
        numbers: NUMBERS,
        threads,
        clients: (threads / 20).max(100),
        open_every: 10,
        due: false,
        active_windows: false,
        settings: json!({
            "maxConcurrentThreadsPerPoolNumber": CAP,
            "stickyReuseDays": 0,
        }),
    });
    support::build_legacy(&world);
    world
}

/// Ours: one `open_thread` (thread + assignment + audit) per iteration.
fn ours(world: &World, iters: u64) -> Duration {
    let engine = &world.engine;
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let (thread, assignment) = engine
            .open_thread(world.org, ACTOR, world.fresh_client, None, None)
            .expect("open_thread");
        total += start.elapsed();
        assert!(
            matches!(assignment, Assignment::Bound { .. }),
            "{assignment:?}"
        );
        engine
            .end_thread(world.org, ACTOR, thread, ThreadStatus::Closed)
            .expect("close");
    }
    total
}

/// The original's capacity check: count every non-archived thread of every number.
fn legacy_counts(tx: &Connection, org: i64) -> std::collections::HashMap<i64, i64> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT number_id, count(*) FROM legacy_threads
             WHERE org_id = ?1 AND number_id IS NOT NULL AND status != 'archived'
             GROUP BY number_id",
        )
        .unwrap();
    stmt.query_map([org], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A pool number as the original read it: (id, e164, last_assigned_at, created_at).
type Candidate = (i64, String, Option<i64>, i64);

/// The original's choice among the numbers under the cap, ordered in memory per strategy.
fn legacy_choice(
    candidates: &mut [Candidate],
    strategy: Strategy,
    client: i64,
) -> Option<&Candidate> {
    match strategy {
        Strategy::Lru => {
            candidates.sort_by_key(|c| (c.2, c.3, c.0));
            candidates.first()
        }
        Strategy::Fifo => {
            candidates.sort_by_key(|c| (c.3, c.0));
            candidates.first()
        }
        Strategy::HashShuffle => {
            // The original: hash the key and index the candidate list (ordered here by id, which
            // the original forgot). One hash per call, not one per candidate: a lower bound.
            let key = format!("cli_{client}");
            candidates.sort_by_key(|c| c.0);
            let hash = hash_ring::fmix64(hash_ring::fnv1a64(&[key.as_bytes()]));
            candidates.get((hash % candidates.len().max(1) as u64) as usize)
        }
    }
}

/// The original algorithm, on the legacy tables. Returns (thread, number, the number's previous
/// `last_assigned_at`) so the caller can undo it outside the timing.
fn baseline_assign(
    conn: &Connection,
    org: i64,
    client: i64,
    now: i64,
    strategy: Strategy,
) -> (i64, i64, Option<i64>) {
    let tx = conn.unchecked_transaction().unwrap();
    tx.prepare_cached(
        "INSERT INTO legacy_threads (org_id, client_id, status, created_at) VALUES (?1, ?2, 'open', ?3)",
    )
    .unwrap()
    .execute(params![org, client, now])
    .unwrap();
    let thread = tx.last_insert_rowid();
    let counts = legacy_counts(&tx, org);
    let mut candidates: Vec<Candidate> = tx
        .prepare_cached(
            "SELECT id, e164, last_assigned_at, created_at FROM legacy_numbers
             WHERE org_id = ?1 AND class = 'pool' AND status = 'active'",
        )
        .unwrap()
        .query_map([org], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    candidates.retain(|(id, ..)| counts.get(id).copied().unwrap_or(0) < CAP);
    let chosen = legacy_choice(&mut candidates, strategy, client);
    let (number, e164, previous, _) = chosen.expect("baseline found no number").clone();
    let current = counts.get(&number).copied().unwrap_or(0);
    tx.prepare_cached("UPDATE legacy_threads SET number_id = ?1, bound_at = ?2 WHERE id = ?3")
        .unwrap()
        .execute(params![number, now, thread])
        .unwrap();
    tx.prepare_cached("UPDATE legacy_numbers SET last_assigned_at = ?1 WHERE id = ?2")
        .unwrap()
        .execute(params![now, number])
        .unwrap();
    support::legacy_audit(
        &tx,
        "legacy_audit",
        org,
        now,
        "pool.number.assigned",
        (thread, number),
        &json!({
            "numberId": format!("num_{number}"),
            "e164": e164,
            "threadId": format!("thr_{thread}"),
            "strategy": strategy.as_str(),
            "capacityCheck": {
                "maxConcurrent": CAP,
                "currentCount": current,
                "availableCount": candidates.len(),
                "totalPoolCount": NUMBERS,
            },
        }),
    );
    tx.commit().unwrap();
    (thread, number, previous)
}

fn baseline(world: &World, strategy: Strategy, iters: u64) -> Duration {
    let now = world.engine.now().0;
    world.engine.inspect(|conn| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let (thread, number, previous) = baseline_assign(
                conn,
                world.org.rowid(),
                world.fresh_client.rowid(),
                now,
                strategy,
            );
            total += start.elapsed();
            conn.execute("DELETE FROM legacy_threads WHERE id = ?1", [thread])
                .unwrap();
            conn.execute(
                "UPDATE legacy_numbers SET last_assigned_at = ?1 WHERE id = ?2",
                params![previous, number],
            )
            .unwrap();
        }
        total
    })
}

fn bench(c: &mut Criterion) {
    for threads in support::sizes(&[10_000, 100_000, 1_000_000]) {
        let world = world(threads);
        let size = support::label(threads);
        let mut group = c.benchmark_group("assignment");
        for strategy in STRATEGIES {
            world
                .engine
                .update_rotation_settings(
                    world.org,
                    ACTOR,
                    &json!({ "poolSelectionStrategy": strategy.as_str() }),
                )
                .expect("strategy");
            group.sampling_mode(SamplingMode::Auto);
            group.bench_function(
                BenchmarkId::new(format!("ours/{}", strategy.as_str()), &size),
                |b| b.iter_custom(|iters| ours(&world, iters)),
            );
            // The baseline takes up to a second per call at 1M: one call per sample.
            group.sampling_mode(SamplingMode::Flat);
            group.bench_function(
                BenchmarkId::new(format!("baseline/{}", strategy.as_str()), &size),
                |b| b.iter_custom(|iters| baseline(&world, strategy, iters)),
            );
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
