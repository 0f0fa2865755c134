//! Engine time: whole seconds since the Unix epoch, UTC. Rendering goes through jiff.

use serde::{Serialize, Serializer};

/// Seconds in a minute.
pub const MINUTE: i64 = 60;
/// Seconds in an hour.
pub const HOUR: i64 = 3_600;
/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// An instant, in whole seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The instant `seconds` later (earlier when negative).
    pub fn plus(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds))
    }

    /// RFC 3339, e.g. `2026-03-02T09:00:00Z`.
    pub fn rfc3339(self) -> String {
        match jiff::Timestamp::from_second(self.0) {
            Ok(ts) => ts.to_string(),
            Err(_) => self.0.to_string(),
        }
    }

    /// Parses RFC 3339 (any offset) into a timestamp, truncating sub-second precision.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        text.parse::<jiff::Timestamp>()
            .ok()
            .map(|ts| Timestamp(ts.as_second()))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.rfc3339())
    }
}

impl rusqlite::ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.0.into())
    }
}

impl rusqlite::types::FromSql for Timestamp {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        i64::column_result(value).map(Timestamp)
    }
}
