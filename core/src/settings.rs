//! Per-org rotation and chaos settings: typed, validated as a whole patch, saved in one statement.
//!
//! A 0 means what DESIGN.md §2 says it means (off, or "at the end"); nothing is silently turned
//! into a default. A patch with any bad or unknown key is refused whole, one message per field.

use crate::ids::OrgId;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, FieldError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Strategy {
    Lru,
    Fifo,
    HashShuffle,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Lru => "LRU",
            Strategy::Fifo => "FIFO",
            Strategy::HashShuffle => "HASH_SHUFFLE",
        }
    }
}

/// The identity that stickiness and hashing use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StickyKey {
    #[serde(rename = "clientId")]
    Client,
    #[serde(rename = "threadId")]
    Thread,
}

impl StickyKey {
    pub fn as_str(self) -> &'static str {
        match self {
            StickyKey::Client => "clientId",
            StickyKey::Thread => "threadId",
        }
    }
}

/// Rotation settings of one org (DESIGN.md §2 table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationSettings {
    pub pool_selection_strategy: Strategy,
    pub max_concurrent_threads_per_pool_number: i64,
    pub sticky_reuse_key: StickyKey,
    pub sticky_reuse_days: i64,
    pub post_booking_grace_hours: i64,
    pub inactivity_release_days: i64,
    pub max_pool_thread_lifetime_days: i64,
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
                self.pool_selection_strategy = match value.as_str() {
                    Some("LRU") => Strategy::Lru,
                    Some("FIFO") => Strategy::Fifo,
                    Some("HASH_SHUFFLE") => Strategy::HashShuffle,
                    _ => {
                        return Err(format!(
                            "must be one of LRU, FIFO, HASH_SHUFFLE, got {value}"
                        ));
                    }
                }
            }
            "stickyReuseKey" => {
                self.sticky_reuse_key = match value.as_str() {
                    Some("clientId") => StickyKey::Client,
                    Some("threadId") => StickyKey::Thread,
                    _ => return Err(format!("must be one of clientId, threadId, got {value}")),
                }
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
    pub enabled: bool,
    pub failure_probability: f64,
    pub duplicate_probability: f64,
    pub delay_probability: f64,
    pub delay_ms: i64,
}

impl ChaosSettings {
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

pub fn rotation(tx: &Transaction, org: OrgId) -> Result<RotationSettings> {
    load(tx, "rotation_settings", org)
}

pub fn save_rotation(tx: &Transaction, org: OrgId, settings: &RotationSettings) -> Result<()> {
    save(tx, "rotation_settings", org, settings)
}

pub fn chaos(tx: &Transaction, org: OrgId) -> Result<ChaosSettings> {
    load(tx, "chaos_settings", org)
}

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
