//! A running simulation: an engine on a simulated clock, the release job (and delivery of
//! delayed messages) as a task every [`RELEASE_INTERVAL`] of simulated time, calls through the real Router, and the invariants.
//!
//! The scenario runner drives one of these from a file; the busy-year benchmark and the explorer
//! drive it from generated input. All of it runs on one paused current-thread runtime
//! ([`block_on_paused`]); nothing here may call `spawn_blocking` (it would stop paused time).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use switchboard_core::requests::Method;

use axum::Router;
use switchboard_core::{Engine, Timestamp, api};

use crate::clock::SimClock;
use crate::http::{self, Call, Exchange};
use crate::invariants::{
    self, Checker, JobRun, ResponseFacts, RowState, ScheduledJudge, StepFacts, Violation,
};

/// How often the release job runs, in simulated seconds.
pub const RELEASE_INTERVAL: i64 = 5 * 60;

/// The route that runs the release job now for the caller's org.
pub const RELEASE_ROUTE: &str = switchboard_core::requests::POOL_RELEASE_PATH;

/// Runs `future` on a current-thread runtime with paused time, inside a `LocalSet` (the release
/// task is a local task). Fails only if the runtime cannot be built.
pub fn block_on_paused<F: Future>(future: F) -> Result<F::Output, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    Ok(runtime.block_on(local.run_until(future)))
}

/// What the release task shares with the simulation.
#[derive(Default)]
struct Ticker {
    runs: Cell<u64>,
    /// The instant of the last completed run.
    done_through: Cell<i64>,
    error: RefCell<Option<String>>,
    /// The run log: each run, judged the moment it finished, until the step takes it.
    log: RefCell<Vec<JobRun>>,
    /// The instant the simulation is advancing to: no call runs before every tick up to it
    /// has completed (see [`Simulation::advance_to`]).
    target: Cell<i64>,
}

thread_local! {
    /// Whether the release task may complete quiet ticks without running them (see
    /// [`Quiet`]); off only inside [`with_every_tick`].
    static SKIP_QUIET_TICKS: Cell<bool> = const { Cell::new(true) };
    /// How many quiet ticks this thread's release tasks completed without running them.
    static QUIET_TICKS: Cell<u64> = const { Cell::new(0) };
}

/// How many ticks this thread's simulations completed as quiet ticks so far (tests use it to
/// show that the equivalence they check covers skipped ticks).
pub fn quiet_ticks() -> u64 {
    QUIET_TICKS.with(Cell::get)
}

/// Runs `f` with every scheduled tick run in full (the release job, the delivery of delayed
/// messages and the judge reading the database), as before quiet ticks were skipped: the
/// reference the equivalence tests and the explore bench compare against.
pub fn with_every_tick<R>(f: impl FnOnce() -> R) -> R {
    let before = SKIP_QUIET_TICKS.with(|skip| skip.replace(false));
    let result = f();
    SKIP_QUIET_TICKS.with(|skip| skip.set(before));
    result
}

/// Who made a call, for the invariants.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallerFacts {
    /// The caller's org (None for anonymous and the provider).
    pub org: Option<i64>,
    /// Whether the caller is a sitter.
    pub sitter: bool,
}

/// A running simulation: the engine on a simulated clock, its Router, the scheduled release
/// task, and the invariant checker that judges each step.
pub struct Simulation {
    /// The engine under test.
    pub engine: Arc<Engine>,
    router: Router,
    clock: SimClock,
    start: i64,
    ticker: Rc<Ticker>,
    checker: Checker,
    step: StepFacts,
}

impl Simulation {
    /// Starts the release task. Call inside [`block_on_paused`], with the engine on `clock`.
    pub fn new(engine: Arc<Engine>, clock: SimClock, start: i64) -> Simulation {
        let ticker = Rc::new(Ticker {
            done_through: Cell::new(start),
            ..Ticker::default()
        });
        let (checker, judge) = Checker::with_judge(&engine);
        tokio::task::spawn_local(release_task(
            engine.clone(),
            clock,
            start,
            ticker.clone(),
            judge,
        ));
        Simulation {
            router: api::router(engine.clone()),
            engine,
            clock,
            start,
            ticker,
            checker,
            step: StepFacts {
                started_at: start,
                ..StepFacts::default()
            },
        }
    }

    /// The simulated instant (unix seconds) the current step has reached.
    pub fn now(&self) -> i64 {
        self.step.now.max(self.start)
    }

    /// How many times the scheduled release job has run.
    pub fn release_runs(&self) -> u64 {
        self.ticker.runs.get()
    }

    /// Moves simulated time to `at` (never back). Every release run due at or before `at` has
    /// completed when this returns.
    pub async fn advance_to(&mut self, at: i64) -> Result<(), String> {
        let at = at.max(self.now());
        self.ticker.target.set(at);
        tokio::time::sleep_until(self.clock.instant_of(Timestamp(at))).await;
        let last_due = self.start + (at - self.start) / RELEASE_INTERVAL * RELEASE_INTERVAL;
        while self.ticker.done_through.get() < last_due {
            tokio::task::yield_now().await;
        }
        self.step.job_runs.append(&mut self.ticker.log.borrow_mut());
        self.step.now = at;
        match self.ticker.error.borrow_mut().take() {
            Some(error) => Err(format!("the scheduled release job failed: {error}")),
            None => Ok(()),
        }
    }

    /// Sends a call through the Router and records what the invariants need.
    pub async fn call(&mut self, caller: CallerFacts, call: Call<'_>) -> Result<Exchange, String> {
        // An explicit run of the release job (the caller's org only) joins the run log, judged
        // right after it ran.
        let release_run = call.method == Method::Post && call.path == RELEASE_ROUTE;
        let events_before = if release_run {
            Some(invariants::audit_cursor(&self.engine))
        } else {
            None
        };
        let before = self.engine.inspect(|c| c.total_changes());
        let exchange = http::send(&self.router, call).await?;
        let after = self.engine.inspect(|c| c.total_changes());
        if let (Some(events_before), Some(org)) = (events_before, caller.org)
            && (200..300).contains(&exchange.status)
        {
            let now = self.now();
            self.step.job_runs.push(match events_before {
                Ok(cursor) => invariants::judge_job_run(&self.engine, org, now, cursor),
                Err(error) => JobRun::unjudged(org, now, error),
            });
        }
        if matches!(exchange.status, 400 | 401 | 403 | 404) && after != before {
            self.step
                .refused_writes
                .push((exchange.status, after - before));
        }
        self.step.responses.push(ResponseFacts {
            org: caller.org,
            sitter: caller.sitter,
            status: exchange.status,
            body: exchange.body.clone(),
        });
        Ok(exchange)
    }

    /// Records a write that happened outside the Router during this step's last call (used by
    /// fault-injection tests to make a refused call "write").
    pub fn note_refused_write(&mut self, status: u16, rows: u64) {
        self.step.refused_writes.push((status, rows));
    }

    /// Ends a step: runs every invariant over what the step did, then starts the next step.
    pub fn finish_step(&mut self) -> Vec<Violation> {
        let now = self.now();
        let facts = std::mem::replace(
            &mut self.step,
            StepFacts {
                started_at: now,
                now,
                ..StepFacts::default()
            },
        );
        self.checker.check(&self.engine, &facts)
    }
}

/// What the last full tick left, when a later tick can be known to do nothing: the rows
/// (their [`RowState`]), the audit cursor, and the first instant at which anything can be
/// due. While the state is unchanged and the tick comes before `until`, the tick's release
/// job finds no org due (no binding due by the `threads_due` rows, no deadline queued for
/// recomputation), its delivery finds no delayed message due, neither writes, and the judge
/// keeps its reading and reports no overdue thread; so the tick's whole effect is the judge's
/// runs from its kept reading ([`ScheduledJudge::quiet_runs`]), which is what a quiet tick
/// records, without a database read beyond the state.
struct Quiet {
    state: RowState,
    cursor: i64,
    until: i64,
}

impl Quiet {
    /// Reads it after a full tick that ran clean; None when anything could not be read, or
    /// when the judge's earliest deadline comes by `next_tick` (the next tick could not be
    /// quiet whatever the rows say, so their reads are spared: in the busy year a deadline
    /// falls due within most five-minute intervals).
    fn read(engine: &Engine, judge: &ScheduledJudge, next_tick: i64) -> Option<Quiet> {
        let judge_until = judge.quiet_until()?;
        if judge_until <= next_tick {
            return None;
        }
        let state = invariants::db_state(engine).ok()?;
        if judge.reading_state() != Some(state) {
            return None;
        }
        let cursor = invariants::audit_cursor(engine).ok()?;
        let engine_until = engine.inspect(first_due).ok()?;
        Some(Quiet {
            state,
            cursor,
            until: judge_until.min(engine_until),
        })
    }
}

/// The first instant at which the engine's scheduled work can find something due with the
/// rows as they are: the earliest `release_due_at` of a bound thread, the earliest
/// `deliver_at` of a delayed message, or now (`i64::MIN`) when a deadline is queued for
/// recomputation (`deadline_refresh`). The conditions mirror `RELEASE_DUE_ORGS` and `any_due`.
fn first_due(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    let one = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, Option<i64>>(0)))
    };
    let [queued, release, deliver] = FIRST_DUE;
    if one(queued)? != Some(0) {
        return Ok(i64::MIN);
    }
    let release = one(release)?;
    let deliver = one(deliver)?;
    Ok(release.unwrap_or(i64::MAX).min(deliver.unwrap_or(i64::MAX)))
}

/// [`first_due`]'s statements: whether a deadline is queued, the earliest release deadline
/// (per org through `threads_due (org_id, release_due_at)`, one index seek each: a plain MIN
/// over bound threads walked every bound thread on every full tick), the earliest delayed
/// delivery (`messages_due`).
const FIRST_DUE: [&str; 3] = [
    "SELECT EXISTS(SELECT 1 FROM deadline_refresh)",
    "SELECT MIN((SELECT MIN(t.release_due_at) FROM threads t
                 WHERE t.org_id = o.id AND t.number_id IS NOT NULL)) FROM orgs o",
    "SELECT MIN(deliver_at) FROM messages WHERE deliver_at IS NOT NULL",
];

/// The scheduled release job: every [`RELEASE_INTERVAL`] of simulated time, forever. A tick
/// that [`Quiet`] shows to do nothing is completed from the judge's kept reading, together
/// with every later quiet tick up to the instant the simulation is advancing to (no call can
/// write before that); its count, its instant and its judged runs are those of a full tick.
async fn release_task(
    engine: Arc<Engine>,
    clock: SimClock,
    start: i64,
    ticker: Rc<Ticker>,
    mut judge: ScheduledJudge,
) {
    let skip = SKIP_QUIET_TICKS.with(Cell::get);
    let mut quiet: Option<Quiet> = None;
    let mut next = start + RELEASE_INTERVAL;
    loop {
        tokio::time::sleep_until(clock.instant_of(Timestamp(next))).await;
        if let Some(q) = &quiet
            && next < q.until
            && invariants::db_state(&engine).ok() == Some(q.state)
        {
            let limit = ticker.target.get().min(q.until - 1);
            let through = next + (limit - next).max(0) / RELEASE_INTERVAL * RELEASE_INTERVAL;
            let mut at = next;
            while at <= through {
                ticker
                    .log
                    .borrow_mut()
                    .extend(judge.quiet_runs(at, q.cursor));
                ticker.runs.set(ticker.runs.get() + 1);
                QUIET_TICKS.with(|n| n.set(n.get() + 1));
                at += RELEASE_INTERVAL;
            }
            ticker.done_through.set(through);
            next = through + RELEASE_INTERVAL;
            continue;
        }
        let events_before = invariants::audit_cursor(&engine);
        // Delayed outbound messages due by now are delivered on the same tick.
        let tick = engine
            .deliver_due()
            .and_then(|_| engine.run_scheduled_release());
        let failed = tick.is_err();
        if let Err(error) = tick {
            *ticker.error.borrow_mut() = Some(error.to_string());
        }
        let runs = match events_before {
            Ok(cursor) => judge.judge(&engine, next, cursor),
            Err(error) => vec![JobRun::unjudged(0, next, error)],
        };
        let clean = !failed && runs.iter().all(|run| run.violations.is_empty());
        quiet = if skip && clean {
            Quiet::read(&engine, &judge, next + RELEASE_INTERVAL)
        } else {
            None
        };
        ticker.log.borrow_mut().extend(runs);
        ticker.runs.set(ticker.runs.get() + 1);
        ticker.done_through.set(next);
        next += RELEASE_INTERVAL;
    }
}

#[cfg(test)]
mod first_due_tests {
    /// Each statement a full tick runs to find the next due instant reaches threads and
    /// messages only by an index seek, so its cost does not grow with history.
    #[test]
    fn the_next_due_instant_is_read_by_index_seeks() {
        use std::sync::Arc;
        let clock = crate::clock::SimClock::new(switchboard_core::Timestamp(0));
        let provider = switchboard_core::messaging::RecordingProvider::default();
        let engine =
            switchboard_core::Engine::new(Default::default(), Arc::new(clock), Arc::new(provider))
                .unwrap();
        for sql in super::FIRST_DUE {
            let plan: Vec<String> = engine
                .inspect(|c| -> rusqlite::Result<Vec<String>> {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    stmt.query_map([], |r| r.get::<_, String>(3))?.collect()
                })
                .unwrap();
            for line in &plan {
                let walks = line.starts_with("SCAN threads")
                    || line.starts_with("SCAN messages")
                    || line.contains("threads_number_open");
                assert!(!walks, "{sql}: {line}");
            }
        }
    }
}
