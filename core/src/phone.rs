//! Phone numbers as they arrive (webhook fields, API inputs) brought to E.164 before any lookup.
//!
//! Parsing and formatting are libphonenumber's (the `phonenumber` crate), never hand rules. What
//! this module adds is the one decision libphonenumber cannot make: a number that arrives without
//! its `+` (form-encoded without escaping, the `+` becomes a space; some gateways send digits only)
//! is read both as a national number of the default region and as an international number; the
//! more plausible reading wins (valid, else a possible length for its country, by libphonenumber's
//! metadata), the region's reading on a tie. Test ranges such as +1 555 01xx are not valid but
//! have a possible length.

use std::collections::HashMap;

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};

use crate::{Error, Result};

/// The region used when an org has none of its own: numbers without a country code are read as
/// North American numbers.
pub const DEFAULT_REGION: &str = "US";

/// Parses a region code (`US`, `GB`, ...) as libphonenumber knows it.
pub fn region(code: &str) -> Option<Id> {
    let code = code.trim();
    // Every inbound webhook reads two region codes (the default and its org's, stored
    // uppercase): those parse without the uppercase copy.
    if code == DEFAULT_REGION {
        return Some(Id::US);
    }
    if !code.bytes().any(|b| b.is_ascii_lowercase()) {
        return code.parse().ok();
    }
    code.to_ascii_uppercase().parse().ok()
}

/// `text` as an E.164 number, reading numbers without `+` in `region` first.
/// Errors: `Invalid` naming `field` when nothing in `text` reads as a phone number.
pub fn normalize(field: &str, text: &str, region: Id) -> Result<String> {
    normalized(text.trim(), region).ok_or_else(|| {
        Error::invalid(
            field,
            format!("{text:?} is not a phone number (expected E.164, e.g. +15551234567)"),
        )
    })
}

/// How many readings [`normalized`] keeps per thread before it starts afresh.
const MEMO_CAPACITY: usize = 32_768;

/// Longest text (bytes) [`normalized`] remembers: a dialable number with its formatting fits
/// well within it, and a longer text (a hostile `From`) must not grow the memo by its size.
const MEMO_MAX_TEXT_BYTES: usize = 64;

/// Readings per region, keyed by the trimmed text (a lookup borrows the text, allocating nothing).
type Memo = HashMap<Id, HashMap<Box<str>, Option<String>>>;

thread_local! {
    /// Readings already made: (trimmed text, region) → E.164 or none. Reading a number is a
    /// pure function of the text and the region (libphonenumber's compiled-in metadata), and
    /// the webhook path reads the same few thousand numbers again and again; its regexes cost
    /// more than the rest of an inbound message.
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::new());
}

/// The E.164 reading of `trimmed` (see [`normalize`]), memoised per thread.
fn normalized(trimmed: &str, region: Id) -> Option<String> {
    if trimmed.len() > MEMO_MAX_TEXT_BYTES {
        return read_e164(trimmed, region);
    }
    if let Some(hit) = MEMO.with(|memo| {
        memo.borrow()
            .get(&region)
            .and_then(|m| m.get(trimmed))
            .cloned()
    }) {
        return hit;
    }
    let e164 = read_e164(trimmed, region);
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if memo.values().map(HashMap::len).sum::<usize>() >= MEMO_CAPACITY {
            memo.clear();
        }
        memo.entry(region)
            .or_default()
            .insert(trimmed.into(), e164.clone());
    });
    e164
}

/// The E.164 reading of `trimmed`, unmemoised: with `+` as written, else in `region` first.
fn read_e164(trimmed: &str, region: Id) -> Option<String> {
    if trimmed.starts_with('+') {
        parse(None, trimmed)
    } else {
        parse_without_plus(trimmed, region)
    }
    .filter(|e164| crate::world::is_e164(e164))
}

fn parse_without_plus(trimmed: &str, region: Id) -> Option<String> {
    if !trimmed.starts_with(|c: char| c.is_ascii_digit() || c == '(') {
        return None;
    }
    let national = phonenumber::parse(Some(region), trimmed).ok();
    let international = phonenumber::parse(None, format!("+{trimmed}")).ok();
    let chosen = match (national, international) {
        (Some(n), Some(i)) if plausibility(&i) > plausibility(&n) => Some(i),
        (Some(n), _) => Some(n),
        (None, i) => i,
    };
    chosen.map(|n| e164_of(&n))
}

/// 2 = a valid number, 1 = a possible length for its country, 0 = parses but neither.
fn plausibility(number: &PhoneNumber) -> u8 {
    if phonenumber::is_valid(number) {
        return 2;
    }
    let length = number.national().to_string().len() as u16;
    let possible = phonenumber::metadata::DATABASE
        .by_code(&number.code().value())
        .and_then(|metas| metas.into_iter().next())
        .is_some_and(|meta| {
            // The general descriptor carries no lengths in this metadata; the typed ones do.
            let d = meta.descriptors();
            [
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
            ]
            .into_iter()
            .chain([
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ])
            .flatten()
            .any(|desc| desc.possible_length().contains(&length))
        });
    u8::from(possible)
}

fn parse(region: Option<Id>, text: &str) -> Option<String> {
    phonenumber::parse(region, text).ok().map(|n| e164_of(&n))
}

fn e164_of(number: &PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let us = region(DEFAULT_REGION).unwrap();
        let got = normalize("From", input, us).ok();
        assert_eq!(got.as_deref(), expected, "input {input:?}");
    }

    /// The fast paths of [`region`] answer as the parse of the uppercased code does.
    #[test]
    fn region_fast_paths_match_the_parse() {
        for code in ["US", " US ", "us", "Gb", "GB", "FR", "", "XX", "usa"] {
            let parsed: Option<Id> = code.trim().to_ascii_uppercase().parse().ok();
            assert_eq!(region(code), parsed, "{code:?}");
        }
    }

    /// The memo answers as a fresh reading does: the same text read twice, and a text longer
    /// than the memo keeps, give what [`read_e164`] gives.
    #[test]
    fn memoised_readings_match_fresh_ones() {
        let us = region(DEFAULT_REGION).unwrap();
        let long = format!("+1{}5550100001", " ".repeat(MEMO_MAX_TEXT_BYTES));
        for text in [
            "+15550100001",
            "(555) 010-0002",
            "not a number",
            long.as_str(),
        ] {
            let fresh = read_e164(text.trim(), us);
            assert_eq!(normalized(text.trim(), us), fresh, "{text:?} first");
            assert_eq!(normalized(text.trim(), us), fresh, "{text:?} memoised");
        }
    }

    #[test]
    fn numbers_reach_e164() {
        check("+15550100001", Some("+15550100001"));
        // A `+` sent unencoded in a form body arrives as a space.
        check(" 15550100001", Some("+15550100001"));
        check("15550100001", Some("+15550100001"));
        check("5550100001", Some("+15550100001"));
        check("(555) 010-0001", Some("+15550100001"));
        check("+1 (555) 010-0001", Some("+15550100001"));
        // Digits only of a foreign number: the international reading is the valid one.
        check("447700900123", Some("+447700900123"));
        check(" 447700900123", Some("+447700900123"));
        check("+44 7700 900123", Some("+447700900123"));
    }

    #[test]
    fn garbage_is_refused_naming_the_field() {
        for input in ["", "   ", "alice", "+", "++1", "12"] {
            check(input, None);
        }
        let us = region(DEFAULT_REGION).unwrap();
        let error = normalize("To", "not a number", us).unwrap_err();
        assert!(error.to_string().contains("To") || format!("{error:?}").contains("To"));
    }
}
