//! Leak scanning: find the real phone numbers and email addresses of the
//! world in text or JSON that is about to reach a sitter, and redact them.
//!
//! # Why known values
//!
//! Switchboard hides every client's and sitter's real number behind a proxy
//! number, so *which* values are secret is known exactly: the contact list.
//! The original approach ran generic regexes (kept as
//! [`baseline::GenericRegexScanner`] for comparison) over serialized text.
//! That misses every rendering the regexes do not anticipate (Unicode
//! digits, invisible characters, escapes, numbers inside ids) and flags
//! every harmless number that looks like a phone. Matching the *known*
//! values instead gives full recall on the renderings below with no false
//! positives from timestamps, order ids or prices. Generic patterns still
//! run, but only produce *suspects* ([`Scan::suspects`]), never findings.
//!
//! # Matching
//!
//! * **Phones** are parsed as E.164 and split into country code and
//!   national significant number (NSN) with libphonenumber metadata (the
//!   `phonenumber` crate). Each also yields its other dialable forms
//!   (`phone::dialable_forms`): the national format without trunk prefix
//!   (Argentine mobiles with `15`), the NSN without the transform rule's
//!   token (Argentina's `9`), and the valid suffix of a number that carries a
//!   legacy token (Mexico's `1`). The scanner walks *digit runs*: any Unicode
//!   decimal digit (`Nd`: Arabic-Indic, Devanagari, fullwidth, …) continues
//!   a run, and so does any run of at most
//!   `chars::MAX_SEPARATOR_RUN` (4) characters whose general category is
//!   neither letter nor number (whitespace and line breaks, punctuation,
//!   symbols, format/invisible characters, combining marks such as the
//!   keycap U+20E3, variation selectors); letters, other numbers and longer
//!   separator runs end it. The class is a Unicode property rule, not a
//!   list (`chars.rs`). At every digit, the last *n* digits for each form
//!   length *n* in use are looked up in a hash table of known forms. So the
//!   number is found with or without its country code or trunk `0`, in any
//!   grouping, and inside longer ids (`ord-15551234567x`). Allow-listed
//!   numbers (the business's own pool numbers) are in the same table,
//!   flagged, and never reported.
//! * **Emails** are found with one Aho-Corasick automaton over all known
//!   addresses, ASCII-case-insensitively (lowercased patterns, lowercased
//!   haystack), in the text and in its *folded view* (NFKC, so fullwidth
//!   `＠` is `@`; Default_Ignorable_Code_Points such as zero-width space,
//!   joiners and soft hyphen removed; offsets mapped back); a match must
//!   not continue an alphanumeric word on either side
//!   (`xalice@example.com` is someone else).
//!
//! # Views
//!
//! Every string is scanned as written and in its *derived views*, each
//! derived again to a bounded depth: when it contains `\`, `%` or `&`, a
//! decoded view (JSON/JS backslash escapes such as `\u002B`,
//! percent-encoding, HTML character references, which also peels double
//! encoding); when it holds non-ASCII, the folded view; and every
//! base64/base64url segment that decodes to printable text (JWT parts,
//! `data:` URIs). `tel:` and `mailto:` URIs need no special case: after
//! decoding, the number or address is simply in the text. Views carry an
//! offset map back to the original bytes, so a finding shows the rendering
//! *as it appeared* and redaction replaces the original bytes.
//!
//! [`LeakScanner::scan_json`] walks the document with a small
//! allocation-free tokenizer, tracking the RFC 6901 pointer. Object keys are
//! scanned like values (a map keyed by phone number leaks too). A string
//! that is itself JSON is walked recursively and its findings get the outer
//! pointer extended by the inner one
//! (`/messages/0/body/to` for `{"body": "{\"to\": …}"}`). Each string token
//! is scanned both as raw bytes and JSON-unescaped, so the raw-bytes pass and
//! the decoded pass happen in the same walk. Input that is not JSON is
//! scanned as text with pointer `""`.
//!
//! # Cost
//!
//! The tokenizer's byte loop also computes, branch-free, which byte classes
//! a string holds and an upper bound on its longest digit run. A string is
//! only digit-walked if that bound reaches the shortest known national
//! number (or a suspect shape), only searched for emails if it holds `@`,
//! and only decoded if it holds `\`, `%` or `&`; decoding allocates only
//! when something was actually decoded. The digit walk keeps the value of
//! each run prefix (any window is one multiply and subtract, no division)
//! and checks one 32 KiB filter over the shortest form length's suffixes
//! per digit, for all lengths at once, before a per-length filter and the
//! hash table. Generic regexes run only when the walk saw a digit run of
//! a shape they could match that no known or allowed number explains. The
//! tokenizer also bounds the longest base64-alphabet run, so only strings
//! that could hold a base64 segment are tried as one, and a segment is
//! decoded only if its first 12 bytes already look like text. Figures (and
//! their comparison with the previous version on the busy shared machine)
//! are in `benches/README.md`; building the scanner parses each contact with
//! libphonenumber once per process (memoised).
//!
//! # Output never leaks
//!
//! [`Finding`]s carry only masked values (`+1******4567`,
//! `a****@example.com`, `(555) ***-4567`), and secrets inside pointer
//! segments are masked too, so a pointer is for humans, not for resolving.
//! `Debug` of [`Contacts`] and [`LeakScanner`] prints counts only.
//!
//! # API
//!
//! * [`Contacts`] → [`LeakScanner::new`] (fails with [`ContactError`] on a
//!   malformed number or address).
//! * [`LeakScanner::scan_json`], [`LeakScanner::scan_text`] → [`Scan`]
//!   (`findings` = known secrets, `suspects` = generic pattern matches).
//! * [`LeakScanner::redact`] → sitter free text redacted **by shape**:
//!   every phone-shaped run and email-shaped string (known or not, business
//!   numbers and dates/times excepted) replaced by `[redacted phone]` /
//!   `[redacted email]`, so the output never depends on which numbers are
//!   real.
//! * [`LeakScanner::scan_json_at`] scans a document embedded in another
//!   (the `switchboard scan` command in the binary uses it for HAR bodies).
//! * [`baseline::GenericRegexScanner`] is the original regex approach.

#![warn(missing_docs)]

use std::borrow::Cow;
use std::fmt;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::Serialize;

pub mod baseline;
mod chars;
mod decode;
mod json;
mod mask;
mod phone;
mod scan;

use phone::{E164, PhoneIndex};

/// The secrets of the world and the business's own numbers.
#[derive(Clone, Default)]
pub struct Contacts {
    /// Real numbers of clients and sitters, E.164 (`+15551234567`).
    pub phones: Vec<String>,
    /// Real email addresses.
    pub emails: Vec<String>,
    /// The business's own numbers (proxy pool, support line), E.164. They
    /// may appear anywhere and are never reported or redacted.
    pub allowed_phones: Vec<String>,
}

impl fmt::Debug for Contacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contacts")
            .field("phones", &self.phones.len())
            .field("emails", &self.emails.len())
            .field("allowed_phones", &self.allowed_phones.len())
            .finish()
    }
}

/// A contact that cannot be matched. The offending value is shown masked
/// (it is probably a real secret with a typo).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    /// A phone that libphonenumber cannot parse as E.164.
    #[error("{list}[{index}]: {value_masked:?} is not a valid E.164 number: {reason}")]
    InvalidPhone {
        /// Which [`Contacts`] list: `phones` or `allowed_phones`.
        list: &'static str,
        /// Position in that list, from 0.
        index: usize,
        /// The value, masked with [`mask_invalid`] (allow-listed numbers,
        /// which are not secret, are shown whole).
        value_masked: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An email without `@`, with an empty side, or with whitespace or
    /// control characters.
    #[error("emails[{index}]: {value_masked:?} is not a usable email address: {reason}")]
    InvalidEmail {
        /// Position in [`Contacts::emails`], from 0.
        index: usize,
        /// The value, masked with [`mask_invalid`].
        value_masked: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The Aho-Corasick builder refused the email patterns (its message).
    #[error("email automaton could not be built: {0}")]
    Automaton(String),
}

/// What kind of secret a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretKind {
    /// A phone number (serialised `"phone"`).
    Phone,
    /// An email address (serialised `"email"`).
    Email,
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::Phone => "phone",
            SecretKind::Email => "email",
        })
    }
}

/// One occurrence of a secret (or suspect). All fields are safe to print.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// RFC 6901 pointer to the string (or, for a key, the member) where it
    /// was found; `""` for text. Secrets inside keys are masked.
    pub pointer: String,
    /// Phone or email.
    pub kind: SecretKind,
    /// The secret, masked: `+1******4567`, `a****@example.com`.
    pub secret_masked: String,
    /// The rendering as it appeared, masked: `(555) ***-4567`,
    /// `\u0035\u0035\u0035***…`; invisible characters shown as `\u{200b}`.
    pub matched_masked: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} as \"{}\"",
            self.pointer, self.kind, self.secret_masked, self.matched_masked
        )
    }
}

/// Result of a scan, in document order, one finding per secret per pointer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Scan {
    /// Known secrets: each one is a leak.
    pub findings: Vec<Finding>,
    /// Generic phone/email-shaped values that are not known secrets nor
    /// allow-listed: worth a look, never a leak on their own.
    pub suspects: Vec<Finding>,
}

impl Scan {
    /// No known secret found (suspects do not count).
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Matches the known secrets; build once per contact list, share freely
/// (`Send + Sync`, scanning takes `&self`).
#[derive(Clone)]
pub struct LeakScanner {
    phones: PhoneIndex,
    emails: Option<AhoCorasick>,
    /// Masked form per email pattern id.
    email_masked: Vec<String>,
}

impl fmt::Debug for LeakScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeakScanner")
            .field("phones", &self.phones.entries.len())
            .field("emails", &self.email_masked.len())
            .finish()
    }
}

/// Mask an invalid contact value (all but the first three and last two
/// characters become `*`) for an error message: enough to find it
/// in the source file, not enough to use it.
pub fn mask_invalid(v: &str) -> String {
    let n = v.chars().count();
    v.chars()
        .enumerate()
        .map(|(i, c)| if i < 3 || i + 2 >= n { c } else { '*' })
        .collect()
}

impl LeakScanner {
    /// Build the scanner. Cost is linear in the contact list (a hash table
    /// insert per number, Aho-Corasick construction for the emails).
    pub fn new(contacts: &Contacts) -> Result<LeakScanner, ContactError> {
        let parse = |list: &'static str, v: &Vec<String>, mask: bool| {
            v.iter()
                .enumerate()
                .map(|(index, s)| {
                    E164::parse(s).map_err(|reason| ContactError::InvalidPhone {
                        list,
                        index,
                        value_masked: if mask { mask_invalid(s) } else { s.clone() },
                        reason,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let secrets = parse("phones", &contacts.phones, true)?;
        let allowed = parse("allowed_phones", &contacts.allowed_phones, false)?;
        let phones = PhoneIndex::new(secrets, allowed);

        let mut seen = std::collections::HashSet::new();
        let mut patterns = Vec::new();
        for (index, e) in contacts.emails.iter().enumerate() {
            let err = |reason| ContactError::InvalidEmail {
                index,
                value_masked: mask_invalid(e),
                reason,
            };
            let (local, domain) = e.rsplit_once('@').ok_or_else(|| err("no '@'"))?;
            if local.is_empty() || domain.is_empty() {
                return Err(err("empty local part or domain"));
            }
            if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(err("contains whitespace or control characters"));
            }
            let lower = e.to_ascii_lowercase();
            if seen.insert(lower.clone()) {
                patterns.push(lower);
            }
        }
        let emails = if patterns.is_empty() {
            None
        } else {
            // Patterns are lowercased and the haystack is lowercased before
            // searching (ASCII lowercasing keeps byte offsets), which is the
            // same ASCII-case-insensitive match as the builder option but
            // builds ~3x faster: construction, not search, dominates here,
            // since only strings containing `@` are ever searched. For the
            // same reason the non-contiguous NFA (quickest to build) is used.
            Some(
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&patterns)
                    .map_err(|e| ContactError::Automaton(e.to_string()))?,
            )
        };
        let email_masked = patterns.iter().map(|p| mask::email_secret(p)).collect();
        Ok(LeakScanner {
            phones,
            emails,
            email_masked,
        })
    }

    /// Scan a JSON document (e.g. a sitter-facing API response). Findings
    /// carry JSON pointers. Input that is not valid JSON (or not UTF-8) is
    /// scanned as text (lossily decoded) with pointer `""`.
    pub fn scan_json(&self, bytes: &[u8]) -> Scan {
        self.scan_json_at(bytes, "")
    }

    /// [`scan_json`](Self::scan_json) with every pointer prefixed (used for
    /// documents embedded in other documents, e.g. HAR response bodies).
    pub fn scan_json_at(&self, bytes: &[u8], prefix: &str) -> Scan {
        // `from_utf8` is much faster than the lossy path on valid input.
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        scan::Engine::new(self, &text, prefix, true).run(json::Summary::ALL)
    }

    /// Scan plain text (message body, provider error, trace entry). All
    /// findings have pointer `""`.
    pub fn scan_text(&self, text: &str) -> Scan {
        scan::Engine::new(self, text, "", false).run(json::Summary::of(text))
    }

    /// Redaction for sitter free text, by **shape** (DESIGN §2): every
    /// phone-shaped digit run (at least [`Self::shape_min_digits`] digits
    /// of any script, separated by characters of the separator class, at
    /// most a few in a row; ISO dates and clock times excepted) and every
    /// email-shaped string becomes `[redacted phone]` / `[redacted email]`,
    /// known or not, in the text as written and in its decoded, folded and
    /// base64 views. Runs made of the business's own numbers stay. Known
    /// secrets are redacted as well (a fail-safe for renderings no shape
    /// covers). So the result does not depend on whether a number is real:
    /// echoing a sitter's message never tells him which numbers exist.
    /// Borrows when nothing needed redacting.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.replace_spans(text, true, |s| {
            Cow::Borrowed(match s.kind {
                SecretKind::Phone => "[redacted phone]",
                SecretKind::Email => "[redacted email]",
            })
        })
    }

    /// Replace each known secret or suspect occurrence by its masked
    /// rendering; used for pointer segments.
    pub(crate) fn mask_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.replace_spans(text, false, |s| Cow::Owned(s.masked.clone()))
    }

    fn replace_spans<'a>(
        &self,
        text: &'a str,
        shapes: bool,
        with: impl Fn(&scan::Span) -> Cow<'static, str>,
    ) -> Cow<'a, str> {
        let spans = self.spans(text, shapes);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in &spans {
            out.push_str(text.get(at..s.start).unwrap_or(""));
            out.push_str(&with(s));
            at = s.end;
        }
        out.push_str(text.get(at..).unwrap_or(""));
        Cow::Owned(out)
    }
}
