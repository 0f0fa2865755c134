//! Times and durations of the scenario format.
//!
//! * A **duration** is one or more `<digits><unit>` groups with units `w` (7 days), `d` (24 hours),
//!   `h`, `m`, `s`, largest unit first and each unit at most once: `30m`, `3d`, `1h30m`, `2w`,
//!   `45s`, `1d2h30m` (read by jiff's friendly span parser, restricted to this compact form).
//! * A **time** is either an RFC 3339 instant (`2026-03-03T10:00:00Z`, `2026-03-03T11:00:00+01:00`)
//!   or an offset from the scenario start: a sign followed by a duration (`+1d`, `-30m`,
//!   `+1d2h30m`).
//!
//! Everything resolves to whole unix seconds (`i64`); the simulated clock is UTC and a day is
//! always exactly 24 hours.

/// The forms accepted for a duration, for error messages.
pub const DURATION_FORMS: &str =
    "a duration like `30m`, `3d`, `1h30m`, `2w` or `45s` (units w, d, h, m, s, largest first)";

/// The forms accepted for a time, for error messages.
pub const TIME_FORMS: &str = "an RFC 3339 instant like `2026-03-03T10:00:00Z` or an offset from the scenario start like `+1d`, `-30m` or `+1d2h30m`";

/// Parses a duration (`1h30m`) into seconds with jiff's friendly span parser, days and weeks being
/// exactly 24 hours and 7 days.
///
/// The scenario syntax is the compact subset of jiff's friendly format: digits and the unit letters
/// `w d h m s` only (jiff alone would also take fractions, spaces, long unit names and signs). jiff
/// checks the rest: a unit after each number, largest unit first, each unit once. The error is a
/// short explanation (without the accepted forms, see [`DURATION_FORMS`]).
pub fn parse_duration(text: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Err("the duration is empty".to_string());
    }
    if text.starts_with('+') || text.starts_with('-') {
        return Err("a duration has no sign: the clock only moves forward".to_string());
    }
    if let Some(c) = text
        .chars()
        .find(|c| !c.is_ascii_digit() && !"wdhms".contains(*c))
    {
        return Err(if c.is_whitespace() {
            "spaces are not allowed in a duration".to_string()
        } else {
            format!("`{c}` is not a unit")
        });
    }
    let span = jiff::fmt::friendly::SpanParser::new()
        .parse_span(text)
        .map_err(|e| e.to_string())?;
    let secs = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| "the duration is too large".to_string())?
        .as_secs();
    if secs > MAX_SECONDS {
        return Err("the duration is too large".to_string());
    }
    Ok(secs)
}

/// Largest duration or offset accepted: about 1000 years, far beyond any simulation, small enough
/// that adding it to an instant never overflows.
const MAX_SECONDS: i64 = 1000 * 366 * 86_400;

/// Parses an RFC 3339 instant into unix seconds.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let ts: jiff::Timestamp = text
        .parse()
        .map_err(|e: jiff::Error| format!("not an RFC 3339 instant ({e})"))?;
    if ts.subsec_nanosecond() != 0 {
        return Err("sub-second precision is not supported".to_string());
    }
    Ok(ts.as_second())
}

/// Parses a time: an RFC 3339 instant, or a signed offset from `start`.
pub fn parse_time(text: &str, start: i64) -> Result<i64, String> {
    if let Some(rest) = text.strip_prefix('+') {
        let secs = parse_duration(rest)?;
        start
            .checked_add(secs)
            .ok_or_else(|| "the time is out of range".to_string())
    } else if let Some(rest) = text.strip_prefix('-') {
        let secs = parse_duration(rest)?;
        start
            .checked_sub(secs)
            .ok_or_else(|| "the time is out of range".to_string())
    } else if parse_duration(text).is_ok() {
        Err(format!("an offset needs a sign: +{text}"))
    } else {
        parse_instant(text)
    }
}

/// Formats unix seconds as an RFC 3339 instant in UTC (`2026-03-02T09:00:00Z`), for messages.
pub fn format_instant(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(ts) => ts.to_string(),
        Err(_) => format!("@{secs}"),
    }
}

/// Formats seconds as a duration in the scenario syntax (`1d2h30m`, `0s`), for messages: jiff's
/// friendly printer, compact and unspaced, weeks and days being 7 and exactly 24 hours. Negative
/// durations get a leading `-`.
pub fn format_duration(secs: i64) -> String {
    use jiff::fmt::friendly::{Designator, Spacing, SpanPrinter};
    let round = jiff::SpanRound::new()
        .largest(jiff::Unit::Week)
        .days_are_24_hours();
    match jiff::Span::new()
        .try_seconds(secs)
        .and_then(|s| s.round(round))
    {
        Ok(span) => SpanPrinter::new()
            .designator(Designator::Compact)
            .spacing(Spacing::None)
            .span_to_string(&span),
        Err(_) => format!("{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("3d"), Ok(3 * 86_400));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        assert_eq!(parse_duration("45s"), Ok(45));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("1d2h30m"), Ok(86_400 + 2 * 3600 + 1800));
        for bad in [
            "",
            "30",
            "m",
            "30x",
            "1m1h",
            "1h1h",
            "+1h",
            "1 h",
            "99999999999999999999s",
            "1.5h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn times() {
        let start = parse_instant("2026-03-02T09:00:00Z").unwrap();
        assert_eq!(start, 1_772_442_000);
        assert_eq!(parse_time("+1d", start), Ok(start + 86_400));
        assert_eq!(parse_time("-30m", start), Ok(start - 1800));
        assert_eq!(parse_time("2026-03-02T10:00:00+01:00", start), Ok(start));
        assert!(parse_time("2026-03-02T10:00:00", start).is_err());
        assert!(parse_time("2026-03-02T10:00:00.5Z", start).is_err());
        assert!(parse_time("tomorrow", start).is_err());
        assert_eq!(format_instant(start), "2026-03-02T09:00:00Z");
        assert_eq!(format_duration(93_600 + 1800), "1d2h30m");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(-(8 * 86_400 + 61)), "-1w1d1m1s");
    }
}
