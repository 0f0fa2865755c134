//! The [`Engine`]: one SQLite connection, a clock, a seeded RNG and a provider.

use std::sync::{Arc, Mutex, MutexGuard};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::db::{self, Storage};
use crate::leak::LeakScanner;
use crate::provider::Provider;
use crate::{Clock, Result, Timestamp};

pub use crate::ctx::Ctx;

/// How an engine is set up. Built by the caller (CLI, simulator, tests), never from globals.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub storage: Storage,
    /// Seeds the engine's RNG (chaos draws, API tokens).
    pub seed: u64,
    /// Production mode refuses chaos mode for everyone.
    pub production: bool,
    /// When set, inbound webhooks must carry `X-Switchboard-Signature: hex(HMAC-SHA256(secret, body))`.
    pub webhook_secret: Option<String>,
    pub sitter_views: SitterViewConfig,
}

/// The two defences of sitter responses. Both are on in every real configuration; tests turn
/// them off one at a time to show that each one matters.
#[derive(Debug, Clone, Copy)]
pub struct SitterViewConfig {
    /// Redact real phones and emails from bodies, provider errors, traces and audit payloads.
    pub redact: bool,
    /// Refuse (500 + audit) a sitter response that fails the leak scan.
    pub leak_gate: bool,
}

impl Default for SitterViewConfig {
    fn default() -> Self {
        SitterViewConfig {
            redact: true,
            leak_gate: true,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            storage: Storage::Memory,
            seed: 0,
            production: false,
            webhook_secret: None,
            sitter_views: SitterViewConfig::default(),
        }
    }
}

/// The engine. Share it as `Arc<Engine>`; every operation takes `&self`.
pub struct Engine {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    rng: Mutex<ChaCha8Rng>,
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) config: EngineConfig,
    /// The leak scanner over every real contact; rebuilt lazily after contacts change.
    pub(crate) scanner: Mutex<Option<Arc<LeakScanner>>>,
}

impl Engine {
    pub fn new(
        config: EngineConfig,
        clock: Arc<dyn Clock>,
        provider: Arc<dyn Provider>,
    ) -> Result<Engine> {
        let conn = db::open(&config.storage)?;
        Ok(Engine {
            conn: Mutex::new(conn),
            clock,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
            provider,
            config,
            scanner: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written state (the transaction
        // rolls back on drop), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`): committed when `f` returns Ok,
    /// rolled back otherwise.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }

    /// Runs `f`, which must execute exactly one read statement, outside any explicit
    /// transaction: one statement is its own consistent snapshot, and this spares the
    /// `BEGIN`/`COMMIT` pair (parsed on every call) on checks that run every clock tick.
    pub(crate) fn read_one<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock())
    }

    /// Read-only access to the raw connection, for invariant checks and benchmarks that must
    /// look at rows directly. Not for domain logic.
    pub fn inspect<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(&self.lock())
    }

    /// A uniform draw in [0, 1) from the seeded RNG.
    pub(crate) fn draw(&self) -> f64 {
        let bits = self
            .rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_u64();
        (bits >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn random_u64(&self) -> u64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_u64()
    }

    /// Called after any change to contacts or business numbers.
    pub(crate) fn contacts_changed(&self) {
        *self.scanner.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
