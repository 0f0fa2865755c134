//! The original system's approach, kept for comparison (tests measure its
//! recall, the benchmark its speed): three generic regexes run over the
//! serialized text, with no knowledge of which values are secret.
//!
//! It cannot tell a client's number from an order id, and any rendering the
//! regexes do not anticipate (invisible characters, escapes, entities,
//! percent-encoding, digits inside ids) goes through.

use regex::Regex;

use super::SecretKind;

/// One regex match: kind and byte range in the scanned text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaselineMatch {
    /// Which regex family matched.
    pub kind: SecretKind,
    /// Byte offset of the match start.
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
}

/// Generic E.164, US-phone and email regexes over the serialized text.
#[derive(Clone, Debug)]
pub struct GenericRegexScanner {
    e164: Regex,
    us_phone: Regex,
    email: Regex,
}

impl Default for GenericRegexScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl GenericRegexScanner {
    /// E.164 `\+[1-9]\d{1,14}`, US phone `\(?\d{3}\)?[-.\s]?\d{3}[-.\s]?\d{4}`,
    /// email `[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`.
    pub fn new() -> Self {
        let re = |p: &str| Regex::new(p).expect("constant regex");
        GenericRegexScanner {
            e164: re(r"\+[1-9]\d{1,14}"),
            us_phone: re(r"\(?\d{3}\)?[-.\s]?\d{3}[-.\s]?\d{4}"),
            email: re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
        }
    }

    /// All matches of the three regexes, in regex order then text order.
    pub fn find_all(&self, text: &str) -> Vec<BaselineMatch> {
        let mut out = Vec::new();
        for (re, kind) in [
            (&self.e164, SecretKind::Phone),
            (&self.us_phone, SecretKind::Phone),
            (&self.email, SecretKind::Email),
        ] {
            out.extend(re.find_iter(text).map(|m| BaselineMatch {
                kind,
                start: m.start(),
                end: m.end(),
            }));
        }
        out
    }
}
