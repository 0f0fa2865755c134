//! Exploration speed: `switchboard explore`'s unit of work, one generated case run with every
//! invariant on, in explored steps per second and cases per second.
//!
//! - `explore/case/60_steps`: `explore::check` on a generated case of 60 operations (render the
//!   scenario TOML, parse it, a fresh engine on in-memory SQLite, build the world, every step
//!   through the Router with every invariant after it; the timeline is not rendered since
//!   `runner::run_verdict`, the explorer never reads it). Criterion's throughput is
//!   in steps (elements) per second; cases per second = steps per second / 60.
//! - `explore/case/0_steps`: the same with no operations: the fixed cost of a case (parse,
//!   engine, schema, world).
//! - `explore/fresh_connection/{60,0}_steps`: the same cases with every engine on a new
//!   connection (a page copy of the migrated template, every statement prepared afresh), the
//!   approach before pooled connections: the in-binary baseline of the two above.
//! - `explore/every_tick/{60,0}_steps`: the same cases with every scheduled tick run in full
//!   (`simulation::with_every_tick`: the release job, the delivery and the judge on the
//!   database at every 5 simulated minutes), the approach before quiet ticks were skipped.
//! - `explore/engine_new`: `Engine::new` alone (open in-memory SQLite and bring the schema to
//!   the current version).
//!
//! Each iteration runs the next case number of seed 1, so iterations see different cases; the
//! cases are generated outside the timing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchboard_core::messaging::RecordingProvider;
use switchboard_core::{Engine, EngineConfig, ManualClock, Timestamp};
use switchboard_sim::explore;
use switchboard_sim::simulation::with_every_tick;

const SEED: u64 = 1;
const CASES: u64 = 64;

fn cases(len: usize) -> Vec<Vec<explore::Op>> {
    (0..CASES)
        .map(|case| explore::generate(SEED, case, len))
        .collect()
}

/// How a case runs: today's way, on fresh connections, or with every tick in full.
#[derive(Clone, Copy)]
enum Way {
    Today,
    FreshConnection,
    EveryTick,
}

fn run_cases(cases: &[Vec<explore::Op>], iters: u64, way: Way) -> Duration {
    let options = explore::options();
    let mut total = Duration::ZERO;
    for i in 0..iters {
        let ops = &cases[(i % CASES) as usize];
        let start = Instant::now();
        let check = || explore::check(SEED, ops, &options);
        let verdict = match way {
            Way::Today => check(),
            Way::FreshConnection => switchboard_core::db::fresh_connections(check),
            Way::EveryTick => with_every_tick(check),
        };
        total += start.elapsed();
        assert!(verdict.is_ok(), "an explored case failed: {verdict:?}");
    }
    total
}

fn explore_bench(c: &mut Criterion) {
    for (name, way) in [
        ("explore/case", Way::Today),
        ("explore/every_tick", Way::EveryTick),
        ("explore/fresh_connection", Way::FreshConnection),
    ] {
        let mut group = c.benchmark_group(name);
        for len in [60usize, 0] {
            let generated = cases(len);
            group.throughput(Throughput::Elements(len.max(1) as u64));
            group.bench_function(format!("{len}_steps"), |b| {
                b.iter_custom(|iters| run_cases(&generated, iters, way))
            });
        }
        group.finish();
    }
    c.bench_function("explore/engine_new", |b| {
        b.iter(|| {
            Engine::new(
                EngineConfig::default(),
                Arc::new(ManualClock::new(Timestamp(1_772_442_000))),
                Arc::new(RecordingProvider::default()),
            )
            .expect("engine")
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = explore_bench
}
criterion_main!(benches);
