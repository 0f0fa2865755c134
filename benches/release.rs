//! The release job.
//!
//! (a) `idle/*`: one run of `Engine::run_release_job` over N bound open threads of which none is
//!     due (10k / 100k / 1M), beside the original's scan-everything approach on the same rows.
//! (b) `due_10k/*`: one run that releases 10,000 due threads (a mix of grace, inactivity and
//!     lifetime) with their audit events; each iteration gets a freshly built database
//!     (`iter_batched`, setup untimed), beside the original approach releasing the same 10k.
//!
//! Baseline (the original): in one transaction, select every bound thread with its booking's
//! window end, compute the three deadlines in Rust, and for each due thread unbind it, reset its
//! number's `last_assigned_at` and append an audit row (the original wrote no audit rows; the
//! baseline does, so both sides do the same per-release work).

mod support;

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use criterion::{criterion_group, criterion_main};
use rusqlite::Connection;
use serde_json::json;
use switchboard_core::settings::RotationSettings;
use switchboard_core::time::{DAY, HOUR};

use support::{ACTOR, Spec, T0, World};

const NUMBERS: usize = 10_000;
const CAP: i64 = 128;
const DUE: usize = 10_000;

fn idle_world(threads: usize) -> World {
    support::build(Spec {
        numbers: NUMBERS,
        threads,
        clients: (threads / 10).max(100),
        open_every: 1,
        due: false,
        active_windows: false,
        settings: json!({ "maxConcurrentThreadsPerPoolNumber": CAP }),
    })
}

/// 10,000 due threads: 1,000 clients with 10 threads each on 1,000 numbers.
fn due_world() -> World {
    support::build(Spec {
        numbers: 1_000,
        threads: DUE,
        clients: 1_000,
        open_every: 1,
        due: true,
        active_windows: false,
        settings: json!({ "maxConcurrentThreadsPerPoolNumber": 16 }),
    })
}

/// The original's release run. Returns how many threads it released.
fn baseline_release(conn: &Connection, org: i64, now: i64, settings: &RotationSettings) -> u64 {
    let tx = conn.unchecked_transaction().unwrap();
    type Row = (i64, i64, i64, Option<i64>, Option<i64>);
    let rows: Vec<Row> = tx
        .prepare_cached(
            "SELECT t.id, t.number_id, t.bound_at, t.last_message_at, b.window_end
             FROM threads t LEFT JOIN bookings b ON b.id = t.booking_id
             WHERE t.org_id = ?1 AND t.number_id IS NOT NULL",
        )
        .unwrap()
        .query_map([org], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let release_settings = support::release_settings_json(settings);
    let mut released = 0;
    for (thread, number, bound_at, last_message_at, window_end) in rows {
        let grace = window_end.map(|end| end + settings.post_booking_grace_hours * HOUR);
        let inactivity = (settings.inactivity_release_days > 0).then(|| {
            last_message_at.map_or(bound_at, |m| m.max(bound_at))
                + settings.inactivity_release_days * DAY
        });
        let lifetime = bound_at + settings.max_pool_thread_lifetime_days * DAY;
        // The earliest deadline; ties go to grace, then inactivity, then lifetime.
        let mut earliest: Option<(&str, i64)> = None;
        for (rule, at) in [
            ("postBookingGraceHours", grace),
            ("inactivityReleaseDays", inactivity),
            ("maxPoolThreadLifetimeDays", Some(lifetime)),
        ] {
            if let Some(at) = at
                && earliest.is_none_or(|(_, best)| at < best)
            {
                earliest = Some((rule, at));
            }
        }
        let Some(earliest) = earliest else { continue };
        if earliest.1 > now {
            continue;
        }
        tx.prepare_cached(
            "UPDATE threads SET number_id = NULL, bound_at = NULL, bound_cap = NULL, release_due_at = NULL WHERE id = ?1",
        )
        .unwrap()
        .execute([thread])
        .unwrap();
        tx.prepare_cached("UPDATE message_numbers SET last_assigned_at = NULL WHERE id = ?1")
            .unwrap()
            .execute([number])
            .unwrap();
        support::legacy_audit(
            &tx,
            "audit_events",
            org,
            now,
            "pool.number.released",
            (thread, number),
            &json!({
                "numberId": format!("num_{number}"),
                "threadId": format!("thr_{thread}"),
                "rule": earliest.0,
                "deadline": earliest.1,
                "boundAt": bound_at,
                "settings": release_settings,
            }),
        );
        released += 1;
    }
    tx.commit().unwrap();
    released
}

fn idle(c: &mut Criterion) {
    let mut group = c.benchmark_group("release/idle");
    for threads in support::sizes(&[10_000, 100_000, 1_000_000]) {
        let world = idle_world(threads);
        let size = support::label(threads);
        let stats = world.engine.run_release_job(world.org, ACTOR).unwrap();
        assert_eq!(stats.total_released, 0);
        group.sampling_mode(SamplingMode::Auto);
        group.bench_function(BenchmarkId::new("ours", &size), |b| {
            b.iter(|| world.engine.run_release_job(world.org, ACTOR).unwrap())
        });
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function(BenchmarkId::new("baseline", &size), |b| {
            b.iter(|| {
                let released = world.engine.inspect(|conn| {
                    baseline_release(conn, world.org.rowid(), T0.0, &world.settings)
                });
                assert_eq!(released, 0);
            })
        });
    }
    group.finish();
}

fn due(c: &mut Criterion) {
    let mut group = c.benchmark_group("release/due_10k");
    group.throughput(Throughput::Elements(DUE as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("ours", |b| {
        b.iter_batched(
            due_world,
            |world| {
                let stats = world.engine.run_release_job(world.org, ACTOR).unwrap();
                assert_eq!(stats.total_released, DUE as u64);
                world
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("baseline", |b| {
        b.iter_batched(
            due_world,
            |world| {
                let released = world.engine.inspect(|conn| {
                    baseline_release(conn, world.org.rowid(), T0.0, &world.settings)
                });
                assert_eq!(released, DUE as u64);
                world
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion::Criterion::default().sample_size(10);
    targets = idle, due
}
criterion_main!(benches);
