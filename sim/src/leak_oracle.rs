//! The harness's own leak oracle (DESIGN §3), independent of the engine's scanner
//! (`switchboard_core::leak`): a deliberately simple method, so that a blind spot of the engine's
//! scanner is not also a blind spot of the check that tests it.
//!
//! Method, for every string (object keys included) and number of a sitter response:
//! 1. fold: NFKC, then lowercase; any character that is numeric gets its digit value (the
//!    position inside its contiguous run of numeric code points, modulo ten, which is how every
//!    Unicode decimal-digit block is laid out), then every character that is not alphanumeric
//!    is dropped, so separators of any kind, invisible characters and keycaps vanish;
//! 2. phones: each maximal ASCII-digit run of the folded text is searched for the digit strings
//!    of every contact number: the E.164 digits without the country code, the national
//!    significant number and the national format's digits without a leading zero (both by
//!    `phonenumber` parsing/formatting), and, for national numbers of 11+ digits, the number
//!    without its first digit (mobile tokens such as Argentina's 9 or Mexico's old 1);
//! 3. emails: the folded text is searched for each contact address folded the same way
//!    (`alice@example.com` → `aliceexamplecom`).
//!
//! It reads contacts straight from the scenario's rows. It is stricter than the engine (it
//! ignores how many separators stand between digits, and a look-alike address containing a
//! contact's folded address counts): a false alarm here is visible and cheap, a miss is not.

use rusqlite::Connection;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

/// The secrets the oracle looks for, already folded.
#[derive(Clone, Debug, Default)]
pub struct OracleContacts {
    /// (digit string, last four digits for the message) per phone form.
    phones: Vec<(String, String)>,
    /// (folded address, domain for the message).
    emails: Vec<(String, String)>,
}

impl OracleContacts {
    /// Contacts from explicit lists (E.164 phones, emails).
    pub fn new(phones: &[String], emails: &[String]) -> OracleContacts {
        let mut out = OracleContacts::default();
        for phone in phones {
            let tail: String = phone
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            for form in phone_forms(phone) {
                if form.len() >= 6 {
                    out.phones.push((form, tail.clone()));
                }
            }
        }
        out.phones.sort();
        out.phones.dedup();
        for email in emails {
            let domain = email.rsplit('@').next().unwrap_or("").to_lowercase();
            let folded = fold(email);
            if folded.len() >= 4 {
                out.emails.push((folded, domain));
            }
        }
        out
    }

    /// Every client's and sitter's phone and email, read from the rows.
    pub fn from_rows(conn: &Connection) -> rusqlite::Result<OracleContacts> {
        let (mut phones, mut emails) = (Vec::new(), Vec::new());
        for table in ["clients", "sitters"] {
            let mut stmt =
                conn.prepare(&format!("SELECT phone, email FROM {table} ORDER BY id"))?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (phone, email) = row?;
                phones.push(phone);
                emails.push(email);
            }
        }
        Ok(OracleContacts::new(&phones, &emails))
    }

    /// What the oracle finds in a response body, one line per secret and location
    /// (`phone …0001 at /messages/0/body`); the secret itself is never printed in full.
    pub fn findings(&self, body: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => self.walk(&value, &mut String::new(), &mut out),
            Err(_) => self.text(&String::from_utf8_lossy(body), "", &mut out),
        }
        out.sort();
        out.dedup();
        out
    }

    fn walk(&self, value: &Value, pointer: &mut String, out: &mut Vec<String>) {
        let len = pointer.len();
        match value {
            Value::String(s) => self.text(s, pointer, out),
            Value::Number(n) => self.text(&n.to_string(), pointer, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    pointer.push_str(&format!("/{i}"));
                    self.walk(item, pointer, out);
                    pointer.truncate(len);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    self.text(key, pointer, out);
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    self.walk(item, pointer, out);
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
    }

    fn text(&self, text: &str, pointer: &str, out: &mut Vec<String>) {
        let folded = fold(text);
        for run in folded
            .split(|c: char| !c.is_ascii_digit())
            .filter(|r| r.len() >= 6)
        {
            for (form, tail) in &self.phones {
                if run.contains(form.as_str()) {
                    out.push(format!("phone …{tail} at {pointer}"));
                }
            }
        }
        for (email, domain) in &self.emails {
            if folded.contains(email.as_str()) {
                out.push(format!("email …@{domain} at {pointer}"));
            }
        }
    }
}

/// NFKC, lowercase, numeric characters to ASCII digits, everything not alphanumeric dropped.
pub fn fold(text: &str) -> String {
    let normalized: String = text.nfkc().collect::<String>().to_lowercase();
    normalized
        .chars()
        .filter_map(|c| {
            if c.is_ascii_digit() {
                Some(c)
            } else if c.is_numeric() {
                char::from_digit(numeric_position(c) % 10, 10)
            } else if c.is_alphanumeric() {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

/// Position of `c` inside the contiguous run of numeric code points that holds it.
fn numeric_position(c: char) -> u32 {
    let mut cp = c as u32;
    let mut position = 0;
    while cp > 0 && char::from_u32(cp - 1).is_some_and(char::is_numeric) {
        cp -= 1;
        position += 1;
    }
    position
}

/// The digit strings a phone may appear as (see the module docs).
fn phone_forms(e164: &str) -> Vec<String> {
    let mut forms = Vec::new();
    let Ok(number) = phonenumber::parse(None, e164) else {
        let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
        return vec![digits];
    };
    let code = number.code().value().to_string();
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    forms.push(digits.strip_prefix(&code).unwrap_or(&digits).to_string());
    let national = number.national();
    let nsn = format!(
        "{}{}",
        "0".repeat(national.zeros() as usize),
        national.value()
    );
    if nsn.len() >= 11 {
        forms.push(nsn[1..].to_string());
    }
    forms.push(nsn);
    let formatted: String = number
        .format()
        .mode(phonenumber::Mode::National)
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    forms.push(formatted.trim_start_matches('0').to_string());
    forms
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::leak::{Contacts, LeakScanner};

    const PHONES: &[&str] = &["+15550300001", "+5491155501234", "+5215555010123"];
    const EMAILS: &[&str] = &["alice@example.com"];

    fn oracle() -> OracleContacts {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        OracleContacts::new(&s(PHONES), &s(EMAILS))
    }

    fn engine() -> LeakScanner {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        LeakScanner::new(&Contacts {
            phones: s(PHONES),
            emails: s(EMAILS),
            allowed_phones: vec![],
        })
        .expect("valid contacts")
    }

    /// (body text, oracle finds it, engine finds it)
    fn check(body: &str, by_oracle: bool, by_engine: bool) {
        let doc = serde_json::to_vec(&serde_json::json!({ "messages": [{ "body": body }] }))
            .expect("json");
        let oracle = oracle().findings(&doc);
        let engine = engine().scan_json(&doc).findings;
        assert_eq!(
            !oracle.is_empty(),
            by_oracle,
            "oracle on {body:?}: {oracle:?}"
        );
        assert_eq!(
            !engine.is_empty(),
            by_engine,
            "engine on {body:?}: {engine:?}"
        );
        if by_oracle {
            assert!(
                oracle.iter().all(|f| f.ends_with("at /messages/0/body")),
                "{oracle:?}"
            );
        }
    }

    #[test]
    fn both_catch_the_issue_inputs() {
        for body in [
            "call 555\n030\n0001",
            "call 555\r\n030\u{2028}0001",
            "555·030·0001",
            "555\u{30FB}030\u{30FB}0001",
            "555\u{2022}030\u{2024}0001",
            "555\u{2062}030\u{2062}0001",
            "555\u{2063}030\u{2063}0001",
            "555\u{180E}030\u{034F}0001",
            "555, 030, 0001",
            "555_030_0001",
            "555:030:0001",
            "5\u{FE0F}\u{20E3}5\u{FE0F}\u{20E3}5\u{FE0F}\u{20E3}0\u{FE0F}\u{20E3}3\u{FE0F}\u{20E3}0\u{FE0F}\u{20E3}0\u{FE0F}\u{20E3}0\u{FE0F}\u{20E3}0\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3}",
            "alice\u{200b}@example.com",
            "alice@exa\u{200d}mple.com",
            "alice@example\u{ad}.com",
            "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "llamame al 011 15-5550-1234",
            "+54 11 5550-1234",
            "+52 55 5501 0123",
            "٥٥٥٠٣٠٠٠٠١",
        ] {
            check(body, true, true);
        }
        check("see you at 2026-03-02 09:00, order 42", false, false);
    }

    /// Each method catches a rendering the other misses, so a leak must be missed by both to
    /// pass unnoticed.
    #[test]
    fn each_catches_what_the_other_misses() {
        // Many separators in a row: the engine caps them (to keep prose apart), the oracle
        // strips them all.
        check("555 - - - 030 - - - 0001", true, false);
        // Text that spells JSON escapes: the engine decodes them, the oracle only folds.
        check(
            r"\u0035\u0035\u0035\u0030\u0033\u0030\u0030\u0030\u0030\u0031",
            false,
            true,
        );
    }

    #[test]
    fn fold_maps_digits_of_any_script() {
        assert_eq!(fold("٥٥٥ ०३० ０００１"), "5550300001");
        assert_eq!(fold("ALICE@Example.COM"), "aliceexamplecom");
    }
}
