//! switchboard-core: the engine that hides real phone numbers behind a pool of proxy numbers.
//!
//! One [`Engine`] owns one SQLite connection. Every domain operation runs in one SQLite
//! transaction (`BEGIN IMMEDIATE`), so check-and-bind cannot race, and writes its audit events in
//! that same transaction. The HTTP API ([`api::router`]) is the only way the outside world (and
//! the simulator) talks to the engine; it enforces the role table of DESIGN.md §2.
//!
//! The engine reads time only from its [`Clock`] and randomness only from its seeded RNG, so the
//! same inputs always give the same rows, ids and audit trail.

#![warn(missing_docs)]

pub mod access;
pub mod alerts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod clock;
pub mod ctx;
pub mod db;
mod engine;
pub mod error;
pub mod hash_ring;
pub mod http_json;
pub mod ids;
pub use switchboard_leak as leak;
pub mod messaging;
mod operations;
pub mod pages;
pub mod phone;
pub mod pool;
pub mod provider;
pub mod requests;
pub mod settings;
pub mod sitter_view;
pub mod time;
pub mod vocab;
pub mod world;

pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{Ctx, Engine, EngineConfig, Setup, SitterViewConfig};
pub use error::{Error, FieldError, Result};
pub use operations::{
    ContactKind, ContactSummary, MessageView, NumberRef, NumberSummary, ThreadSummary,
};
pub use time::Timestamp;
