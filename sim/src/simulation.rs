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
    self, Checker, JobRun, ResponseFacts, ScheduledJudge, StepFacts, Violation,
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

/// The scheduled release job: every [`RELEASE_INTERVAL`] of simulated time, forever.
async fn release_task(
    engine: Arc<Engine>,
    clock: SimClock,
    start: i64,
    ticker: Rc<Ticker>,
    mut judge: ScheduledJudge,
) {
    let mut next = start + RELEASE_INTERVAL;
    loop {
        tokio::time::sleep_until(clock.instant_of(Timestamp(next))).await;
        let events_before = invariants::audit_cursor(&engine);
        // Delayed outbound messages due by now are delivered on the same tick.
        let tick = engine
            .deliver_due()
            .and_then(|_| engine.run_scheduled_release());
        if let Err(error) = tick {
            *ticker.error.borrow_mut() = Some(error.to_string());
        }
        let runs = match events_before {
            Ok(cursor) => judge.judge(&engine, next, cursor),
            Err(error) => vec![JobRun::unjudged(0, next, error)],
        };
        ticker.log.borrow_mut().extend(runs);
        ticker.runs.set(ticker.runs.get() + 1);
        ticker.done_through.set(next);
        next += RELEASE_INTERVAL;
    }
}
