//! Per-org rotation and chaos settings: typed, validated as a whole patch, saved in one statement.
//!
//! A 0 means what DESIGN.md §2 says it means (off, or "at the end"); nothing is silently turned
//! into a default. A patch with any bad or unknown key is refused whole, one message per field.

use crate::ids::OrgId;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, FieldError, Result};

/// How a thread without a number picks a pool number (`poolSelectionStrategy`, DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Strategy {
    /// `LRU`: the number assigned least recently.
    Lru,
    /// `FIFO`: the oldest number (by creation).
    Fifo,
    /// `HASH_SHUFFLE`: consistent hashing of the sticky key with bounded loads (`hash_ring.rs`).
    HashShuffle,
}

crate::stored_words!(Strategy {
    Lru => "LRU",
    Fifo => "FIFO",
    HashShuffle => "HASH_SHUFFLE",
});

/// The identity that stickiness and hashing use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StickyKey {
    /// `clientId`: a client's threads share a number (and its reuse window).
    #[serde(rename = "clientId")]
    Client,
    /// `threadId`: each thread on its own.
    #[serde(rename = "threadId")]
    Thread,
}

crate::stored_words!(StickyKey {
    Client => "clientId",
    Thread => "threadId",
});

/// `must be one of A, B, got "x"`: the message for a word outside `all`.
fn one_of<T: std::fmt::Display>(all: &[T], value: &Value) -> String {
    let words: Vec<String> = all.iter().map(ToString::to_string).collect();
    format!("must be one of {}, got {value}", words.join(", "))
}

/// Rotation settings of one org (DESIGN.md §2 table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationSettings {
    /// How a number is picked (default `LRU`).
    pub pool_selection_strategy: Strategy,
    /// Open threads one pool number may carry at once (≥ 1, default 1).
    pub max_concurrent_threads_per_pool_number: i64,
    /// What stickiness and hashing key on (default `clientId`).
    pub sticky_reuse_key: StickyKey,
    /// Days a client keeps getting its last number back (0: off; default 7).
    pub sticky_reuse_days: i64,
    /// Hours after a booking's end before its thread's number is released (0: at the end; default 72).
    pub post_booking_grace_hours: i64,
    /// Days without a message before the number is released (0: off; default 7).
    pub inactivity_release_days: i64,
    /// Days a binding may last at most (≥ 1, default 30).
    pub max_pool_thread_lifetime_days: i64,
    /// Pool numbers with room below which `pool.reserve.low` opens (0: off; default 3).
    pub min_pool_reserve: i64,
}

impl Default for RotationSettings {
    fn default() -> Self {
        RotationSettings {
            pool_selection_strategy: Strategy::Lru,
            max_concurrent_threads_per_pool_number: 1,
            sticky_reuse_key: StickyKey::Client,
            sticky_reuse_days: 7,
            post_booking_grace_hours: 72,
            inactivity_release_days: 7,
            max_pool_thread_lifetime_days: 30,
            min_pool_reserve: 3,
        }
    }
}

/// Upper bound for every integer setting (the six integer rotation settings and chaos `delayMs`):
/// ten years of days/hours keeps deadline arithmetic far from overflow while allowing any real
/// configuration. Documented in README.md ("The HTTP API"); a larger value is 400 naming the key.
pub const MAX_SETTING: i64 = 100_000;

fn int_in(value: &Value, min: i64) -> Result<i64, String> {
    match value.as_i64() {
        Some(n) if n < min => Err(format!("must be an integer >= {min}, got {n}")),
        Some(n) if n > MAX_SETTING => Err(format!("must be at most {MAX_SETTING}, got {n}")),
        Some(n) => Ok(n),
        None => Err(format!("must be an integer >= {min}, got {value}")),
    }
}

impl RotationSettings {
    /// Every key a patch may name, in the API's spelling.
    pub const KEYS: [&'static str; 8] = [
        "poolSelectionStrategy",
        "maxConcurrentThreadsPerPoolNumber",
        "stickyReuseKey",
        "stickyReuseDays",
        "postBookingGraceHours",
        "inactivityReleaseDays",
        "maxPoolThreadLifetimeDays",
        "minPoolReserve",
    ];

    /// Applies a partial update. Either every key is valid and all are applied, or nothing is
    /// changed and every bad key gets one message.
    pub fn patched(&self, patch: &Value) -> Result<RotationSettings> {
        patched(self, patch, Self::set)
    }

    fn set(&mut self, key: &str, value: &Value) -> Result<(), String> {
        match key {
            "poolSelectionStrategy" => {
                self.pool_selection_strategy = value
                    .as_str()
                    .and_then(Strategy::parse)
                    .ok_or_else(|| one_of(Strategy::ALL, value))?
            }
            "stickyReuseKey" => {
                self.sticky_reuse_key = value
                    .as_str()
                    .and_then(StickyKey::parse)
                    .ok_or_else(|| one_of(StickyKey::ALL, value))?
            }
            "maxConcurrentThreadsPerPoolNumber" => {
                self.max_concurrent_threads_per_pool_number = int_in(value, 1)?
            }
            "stickyReuseDays" => self.sticky_reuse_days = int_in(value, 0)?,
            "postBookingGraceHours" => self.post_booking_grace_hours = int_in(value, 0)?,
            "inactivityReleaseDays" => self.inactivity_release_days = int_in(value, 0)?,
            "maxPoolThreadLifetimeDays" => self.max_pool_thread_lifetime_days = int_in(value, 1)?,
            "minPoolReserve" => self.min_pool_reserve = int_in(value, 0)?,
            _ => {
                return Err(format!(
                    "unknown setting; expected one of {}",
                    Self::KEYS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The settings as the API shows them (camelCase keys).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The settings a release decision used, as recorded in `pool.number.released`.
    pub fn release_rules_json(&self) -> Value {
        serde_json::json!({
            "postBookingGraceHours": self.post_booking_grace_hours,
            "inactivityReleaseDays": self.inactivity_release_days,
            "maxPoolThreadLifetimeDays": self.max_pool_thread_lifetime_days,
        })
    }
}

/// Chaos mode: how the (simulated) provider misbehaves on outbound sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChaosSettings {
    /// Whether chaos applies at all (never in production mode).
    pub enabled: bool,
    /// Chance in [0, 1] that a send fails like an unreachable handset.
    pub failure_probability: f64,
    /// Chance in [0, 1] that a send reaches the provider twice.
    pub duplicate_probability: f64,
    /// Chance in [0, 1] that a send stays `queued` for `delayMs`.
    pub delay_probability: f64,
    /// The delay in milliseconds (engine time rounds it up to whole seconds).
    pub delay_ms: i64,
}

impl ChaosSettings {
    /// Every key a patch may name, in the API's spelling.
    pub const KEYS: [&'static str; 5] = [
        "enabled",
        "failureProbability",
        "duplicateProbability",
        "delayProbability",
        "delayMs",
    ];

    /// Applies a partial update, all or nothing, like [`RotationSettings::patched`].
    pub fn patched(&self, patch: &Value) -> Result<ChaosSettings> {
        patched(self, patch, Self::set)
    }

    fn set(&mut self, key: &str, value: &Value) -> Result<(), String> {
        let probability = |value: &Value| match value.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
            _ => Err(format!("must be a number in [0, 1], got {value}")),
        };
        match key {
            "enabled" => {
                self.enabled = value
                    .as_bool()
                    .ok_or_else(|| format!("must be true or false, got {value}"))?
            }
            "failureProbability" => self.failure_probability = probability(value)?,
            "duplicateProbability" => self.duplicate_probability = probability(value)?,
            "delayProbability" => self.delay_probability = probability(value)?,
            "delayMs" => self.delay_ms = int_in(value, 0)?,
            _ => {
                return Err(format!(
                    "unknown setting; expected one of {}",
                    Self::KEYS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Applies `set` to a copy for every key of the JSON object `patch`: the copy if every key was
/// accepted, otherwise one error per rejected key (in key order) and no copy.
fn patched<T: Clone>(
    current: &T,
    patch: &Value,
    set: fn(&mut T, &str, &Value) -> Result<(), String>,
) -> Result<T> {
    let Some(patch) = patch.as_object() else {
        return Err(Error::invalid("", "body must be a JSON object"));
    };
    let mut next = current.clone();
    let errors: Vec<FieldError> = patch
        .iter()
        .filter_map(|(key, value)| {
            set(&mut next, key, value)
                .err()
                .map(|m| FieldError::new(key.clone(), m))
        })
        .collect();
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(Error::Invalid(errors))
    }
}

fn load<T: for<'de> Deserialize<'de> + Default>(
    tx: &Transaction,
    table: &str,
    org: OrgId,
) -> Result<T> {
    let sql = format!("SELECT settings FROM {table} WHERE org_id = ?1");
    let stored: Option<String> = tx
        .prepare_cached(&sql)?
        .query_row([org], |r| r.get(0))
        .optional()?;
    match stored {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| Error::Corrupt(format!("{table} of org {}: {e}", org.rowid()))),
    }
}

fn save<T: Serialize>(tx: &Transaction, table: &str, org: OrgId, value: &T) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| Error::Corrupt(e.to_string()))?;
    let sql = format!(
        "INSERT INTO {table} (org_id, settings) VALUES (?1, ?2)
         ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings"
    );
    tx.prepare_cached(&sql)?.execute(params![org, text])?;
    Ok(())
}

/// How many parsed rotation settings [`rotation`] keeps per thread (a world has one or two
/// orgs; the explorer's cases reuse a handful of setting texts).
const PARSED_ROTATIONS: usize = 8;

thread_local! {
    /// Rotation settings already parsed, by their stored text. The text is the whole input of
    /// the parse, so an entry can never be stale: settings changed by any writer (the engine,
    /// raw SQL, another connection) are new text and miss. Keyed by content rather than a
    /// version counter, which would need the database's identity too (one thread runs many
    /// engines) and a trigger on every writer.
    static ROTATIONS: std::cell::RefCell<Vec<(Box<[u8]>, RotationSettings)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The org's rotation settings; the defaults until saved. Every inbound message and release
/// reads them: the stored text is read each time and parsed only when this thread has not
/// parsed that exact text before.
pub fn rotation(tx: &Transaction, org: OrgId) -> Result<RotationSettings> {
    let mut stmt = tx.prepare_cached("SELECT settings FROM rotation_settings WHERE org_id = ?1")?;
    let mut rows = stmt.query([org])?;
    let Some(row) = rows.next()? else {
        return Ok(RotationSettings::default());
    };
    let rusqlite::types::ValueRef::Text(text) = row.get_ref(0)? else {
        // Not text: the uncached path reports it exactly as before.
        return load(tx, "rotation_settings", org);
    };
    let cached = ROTATIONS.with_borrow(|parsed| {
        parsed
            .iter()
            .find(|(stored, _)| **stored == *text)
            .map(|(_, settings)| settings.clone())
    });
    if let Some(settings) = cached {
        return Ok(settings);
    }
    let text: Box<[u8]> = text.into();
    drop(rows);
    drop(stmt);
    let settings: RotationSettings = load(tx, "rotation_settings", org)?;
    ROTATIONS.with_borrow_mut(|parsed| {
        if parsed.len() == PARSED_ROTATIONS {
            parsed.remove(0);
        }
        parsed.push((text, settings.clone()));
    });
    Ok(settings)
}

/// Saves the org's rotation settings whole.
pub fn save_rotation(tx: &Transaction, org: OrgId, settings: &RotationSettings) -> Result<()> {
    save(tx, "rotation_settings", org, settings)
}

/// The org's chaos settings; off until saved.
pub fn chaos(tx: &Transaction, org: OrgId) -> Result<ChaosSettings> {
    load(tx, "chaos_settings", org)
}

/// Saves the org's chaos settings whole.
pub fn save_chaos(tx: &Transaction, org: OrgId, settings: &ChaosSettings) -> Result<()> {
    save(tx, "chaos_settings", org, settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(patch: Value, expected: Result<Value, Vec<(&str, &str)>>) {
        let base = RotationSettings::default();
        match (base.patched(&patch), expected) {
            (Ok(got), Ok(want)) => {
                let got = got.to_json();
                for (k, v) in want.as_object().unwrap() {
                    assert_eq!(&got[k], v, "key {k}");
                }
            }
            (Err(Error::Invalid(errors)), Err(want)) => {
                let got: Vec<(&str, &str)> = errors
                    .iter()
                    .map(|e| (e.field.as_str(), e.message.as_str()))
                    .collect();
                assert_eq!(got, want);
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn zero_means_zero() {
        check(
            json!({"stickyReuseDays": 0, "postBookingGraceHours": 0, "inactivityReleaseDays": 0, "minPoolReserve": 0}),
            Ok(
                json!({"stickyReuseDays": 0, "postBookingGraceHours": 0, "inactivityReleaseDays": 0, "minPoolReserve": 0}),
            ),
        );
    }

    #[test]
    fn every_bad_field_is_named_and_nothing_applies() {
        check(
            json!({"maxConcurrentThreadsPerPoolNumber": 0, "poolSelectionStrategy": "RANDOM", "bogus": 1, "stickyReuseDays": 2}),
            Err(vec![
                (
                    "bogus",
                    "unknown setting; expected one of poolSelectionStrategy, maxConcurrentThreadsPerPoolNumber, stickyReuseKey, stickyReuseDays, postBookingGraceHours, inactivityReleaseDays, maxPoolThreadLifetimeDays, minPoolReserve",
                ),
                (
                    "maxConcurrentThreadsPerPoolNumber",
                    "must be an integer >= 1, got 0",
                ),
                (
                    "poolSelectionStrategy",
                    "must be one of LRU, FIFO, HASH_SHUFFLE, got \"RANDOM\"",
                ),
            ]),
        );
        check(
            json!({"maxPoolThreadLifetimeDays": 0, "inactivityReleaseDays": -1, "stickyReuseKey": "bookingId", "minPoolReserve": "3", "postBookingGraceHours": 1.5}),
            Err(vec![
                ("inactivityReleaseDays", "must be an integer >= 0, got -1"),
                (
                    "maxPoolThreadLifetimeDays",
                    "must be an integer >= 1, got 0",
                ),
                ("minPoolReserve", "must be an integer >= 0, got \"3\""),
                ("postBookingGraceHours", "must be an integer >= 0, got 1.5"),
                (
                    "stickyReuseKey",
                    "must be one of clientId, threadId, got \"bookingId\"",
                ),
            ]),
        );
    }

    #[test]
    fn chaos_probabilities_accept_zero_and_one_only_in_range() {
        let base = ChaosSettings::default();
        let ok = base
            .patched(&json!({"enabled": true, "failureProbability": 0, "delayProbability": 1}))
            .unwrap();
        assert!(ok.enabled);
        assert_eq!(ok.failure_probability, 0.0);
        let Err(Error::Invalid(errors)) = base.patched(&json!({"duplicateProbability": 1.5}))
        else {
            panic!("expected invalid")
        };
        assert_eq!(errors[0].field, "duplicateProbability");
    }
}
