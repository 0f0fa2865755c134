//! The simulated clock: tokio's paused time, mapped onto the scenario's start instant.
//!
//! Under a current-thread runtime built with `start_paused(true)`, `tokio::time::Instant::now()`
//! only moves when every task is idle and a timer is due; the runtime then jumps to that timer.
//! So "now" is exactly the instant of the timer being served: deterministic, and a 3-day sleep
//! costs no wall time while every 5-minute tick in between still fires in order.

use switchboard_core::{Clock, Timestamp};

/// `start + (tokio now - base)`, in whole seconds.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    base: tokio::time::Instant,
    start: Timestamp,
}

impl SimClock {
    /// Must be called inside the paused runtime: `base` is tokio's "now" at the scenario start.
    pub fn new(start: Timestamp) -> SimClock {
        SimClock {
            base: tokio::time::Instant::now(),
            start,
        }
    }

    /// The tokio instant at which the simulated clock reads `at` (never before the base).
    pub fn instant_of(&self, at: Timestamp) -> tokio::time::Instant {
        let offset = (at.0 - self.start.0).max(0) as u64;
        self.base + std::time::Duration::from_secs(offset)
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.base);
        self.start.plus(elapsed.as_secs() as i64)
    }
}
