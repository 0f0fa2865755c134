//! [`Ctx`]: who acts, for which org, at what instant. Its own module so that the domain modules
//! (pool, bookings, messaging, world, audit, alerts) depend on it and not on the engine.

use crate::Timestamp;
use crate::ids::OrgId;

/// Who is acting, for which org, at what instant: passed to every domain operation so that
/// nothing below reads the clock or guesses the org.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The caller's org: every row read or written belongs to it.
    pub org: OrgId,
    /// The instant of the operation, read once from the engine's clock.
    pub now: Timestamp,
    /// `user:usr_1`, `provider`, `system:release-job`...
    pub actor: &'a str,
}
