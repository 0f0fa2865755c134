//! Where the engine's time comes from. Nothing in core reads the OS clock except [`SystemClock`],
//! which only `switchboard serve` uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::Timestamp;

/// The engine's only source of "now".
pub trait Clock: Send + Sync + 'static {
    /// The current instant, in whole seconds since the Unix epoch.
    fn now(&self) -> Timestamp;
}

/// Wall-clock time, for `switchboard serve`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp(since_epoch)
    }
}

/// A clock that moves only when told to; tests and benchmarks use it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `start`; clones share the same time.
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start.0)))
    }
    /// Moves the clock to `to` (backwards too).
    pub fn set(&self, to: Timestamp) {
        self.0.store(to.0, Ordering::SeqCst);
    }
    /// Moves the clock `seconds` forward.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}
