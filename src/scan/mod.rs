//! Support for the `switchboard scan --contacts CONTACTS.json FILE...`
//! command: load the contact list, scan each file and print one masked line
//! per finding (or, with `--format json`, one JSON document).
//!
//! What a file is:
//! * not UTF-8 → error (the byte offset is named);
//! * `*.har` → must be a HAR (`{"log": {"entries": [...]}}`); it is scanned
//!   **whole**: request URL, query string, headers (Referer, Location…),
//!   cookies, `postData.text`, response content, `redirectURL`, every string
//!   with its decoded views (percent-encoding, escapes, base64/base64url
//!   segments such as JWT parts and `data:` URIs, to a bounded depth), and
//!   each response body with `encoding: "base64"` is also decoded and scanned
//!   as a document of its own;
//! * `*.json`, or any file whose first non-blank character is `{` or `[` →
//!   must be JSON (a truncated document is an error with line and column);
//! * anything else is scanned as text.
//!
//! Exit codes (see [`ScanOutcome::exit_code`], [`ScanCliError::exit_code`]):
//! 0 clean, 1 secrets found, 2 unusable input (nothing is printed to stdout
//! in text format; in JSON format an `{"error": …}` document).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use switchboard_leak::{ContactError, Contacts, Finding, LeakScanner};

/// `{"secrets": {"phones": [...], "emails": [...]}, "allowed": {"phones": [...]}}`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactsFile {
    secrets: Secrets,
    #[serde(default)]
    allowed: Allowed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Secrets {
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Allowed {
    #[serde(default)]
    phones: Vec<String>,
}

/// Result of a successful run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// No known secret in any file (suspects alone do not count).
    Clean,
    /// Number of findings printed.
    Found(usize),
}

impl ScanOutcome {
    /// Process exit code: 0 clean, 1 findings.
    pub fn exit_code(&self) -> i32 {
        match self {
            ScanOutcome::Clean => 0,
            ScanOutcome::Found(_) => 1,
        }
    }
}

/// Input that makes the scan meaningless; exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ScanCliError {
    /// The contacts file could not be read.
    #[error("{}: cannot read contacts file: {source}", path.display())]
    ReadContacts {
        /// The contacts file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The contacts file is not the expected JSON (the message names the
    /// field, line and column).
    #[error("{}: invalid contacts file: {message}", path.display())]
    ParseContacts {
        /// The contacts file.
        path: PathBuf,
        /// What is wrong, from the JSON parser.
        message: String,
    },
    /// A contact is not usable (e.g. a phone that is not E.164).
    #[error("{}: {source}", path.display())]
    Contact {
        /// The contacts file.
        path: PathBuf,
        /// Which contact and why.
        source: ContactError,
    },
    /// A file to scan could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    ReadFile {
        /// The file to scan.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file to scan is unusable (invalid UTF-8, truncated JSON, a HAR
    /// that is not a HAR).
    #[error("{}: {message}", path.display())]
    Input {
        /// The file to scan.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Writing the report failed.
    #[error("cannot write output: {0}")]
    Write(#[from] std::io::Error),
}

/// Output format of [`run_scan`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// `FILE:POINTER: phone +1******4567 as "(555) ***-4567"`, one per line.
    #[default]
    Text,
    /// `{"files": [{"path", "findings": [{"pointer", "kind",
    /// "secret_masked", "matched_masked"}]}], "total": N}`.
    Json,
}

impl ScanCliError {
    /// Process exit code of every error: 2.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Load the contacts, scan every file in order and write the findings in
/// `format`. Output order is deterministic (files in argument order,
/// findings in document order). All files are read and checked before
/// anything is printed, so unusable input yields an error and no partial
/// report.
pub fn run_scan(
    contacts_path: &Path,
    files: &[PathBuf],
    format: Format,
    out: &mut dyn Write,
) -> Result<ScanOutcome, ScanCliError> {
    let scanner = load_contacts(contacts_path)?;
    let mut reports = Vec::with_capacity(files.len());
    for f in files {
        let bytes = std::fs::read(f).map_err(|source| ScanCliError::ReadFile {
            path: f.clone(),
            source,
        })?;
        let findings = scan_file(&scanner, f, &bytes).map_err(|message| ScanCliError::Input {
            path: f.clone(),
            message,
        })?;
        reports.push((f, findings));
    }
    let n: usize = reports.iter().map(|r| r.1.len()).sum();
    match format {
        Format::Text => {
            for (path, findings) in &reports {
                for finding in findings {
                    writeln!(out, "{}:{}", path.display(), finding)?;
                }
            }
        }
        Format::Json => {
            let files: Vec<serde_json::Value> = reports
                .iter()
                .map(|(path, findings)| {
                    serde_json::json!({ "path": path.display().to_string(), "findings": findings })
                })
                .collect();
            let doc = serde_json::json!({ "files": files, "total": n });
            writeln!(out, "{doc}")?;
        }
    }
    Ok(if n == 0 {
        ScanOutcome::Clean
    } else {
        ScanOutcome::Found(n)
    })
}

fn load_contacts(path: &Path) -> Result<LeakScanner, ScanCliError> {
    let bytes = std::fs::read(path).map_err(|source| ScanCliError::ReadContacts {
        path: path.to_path_buf(),
        source,
    })?;
    let file: ContactsFile =
        serde_json::from_slice(&bytes).map_err(|e| ScanCliError::ParseContacts {
            path: path.to_path_buf(),
            message: sanitize(&e.to_string()),
        })?;
    let contacts = Contacts {
        phones: file.secrets.phones,
        emails: file.secrets.emails,
        allowed_phones: file.allowed.phones,
    };
    LeakScanner::new(&contacts).map_err(|source| ScanCliError::Contact {
        path: path.to_path_buf(),
        source,
    })
}

/// serde quotes offending values (`invalid type: string "+1555…"`); a
/// malformed contacts file is full of secrets, so words that look like a
/// number or an address are masked before the message is shown.
fn sanitize(msg: &str) -> String {
    msg.split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '`')
        .map(|w| {
            let digits = w.chars().filter(char::is_ascii_digit).count();
            if digits >= 5 || w.contains('@') {
                switchboard_leak::mask_invalid(w)
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// Scan one file by what it is (see the module docs); `Err` says why the
/// input is unusable.
fn scan_file(scanner: &LeakScanner, path: &Path, bytes: &[u8]) -> Result<Vec<Finding>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "not valid UTF-8 (invalid byte at offset {}); a HAR or JSON file must be UTF-8",
            e.valid_up_to()
        )
    })?;
    let body = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let looks_json = matches!(body.trim_start().chars().next(), Some('{' | '['));
    if ext.as_deref() == Some("har") {
        let value = parse_json(body)?;
        let Some(entries) = value.pointer("/log/entries").and_then(|e| e.as_array()) else {
            return Err("not a HAR: no `log.entries` array".to_string());
        };
        return Ok(scan_har(scanner, body, entries));
    }
    if ext.as_deref() == Some("json") || looks_json {
        parse_json(body)?;
    }
    Ok(scanner.scan_json(body.as_bytes()).findings)
}

fn parse_json(body: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(body).map_err(|e| {
        format!(
            "invalid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            sanitize(&e.to_string())
        )
    })
}

/// The whole HAR as one document, plus every base64 response body decoded
/// and scanned as a document of its own. A finding of the decoded body
/// replaces the whole-document finding of the same secret at the same
/// pointer (its rendering is the readable one).
fn scan_har(scanner: &LeakScanner, body: &str, entries: &[serde_json::Value]) -> Vec<Finding> {
    let mut decoded = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let content = entry.pointer("/response/content");
        let text = content.and_then(|c| c.get("text")).and_then(|t| t.as_str());
        let is_b64 = content
            .and_then(|c| c.get("encoding"))
            .and_then(|e| e.as_str())
            == Some("base64");
        if let (Some(text), true) = (text, is_b64)
            && let Some(bytes) = base64_decode(text)
        {
            let prefix = format!("/log/entries/{i}/response/content/text");
            decoded.extend(scanner.scan_json_at(&bytes, &prefix).findings);
        }
    }
    let same = |a: &Finding, b: &Finding| {
        a.pointer == b.pointer && a.kind == b.kind && a.secret_masked == b.secret_masked
    };
    let mut findings: Vec<Finding> = scanner
        .scan_json(body.as_bytes())
        .findings
        .into_iter()
        .map(|f| decoded.iter().find(|d| same(d, &f)).cloned().unwrap_or(f))
        .collect();
    for d in decoded {
        if !findings.iter().any(|f| same(f, &d)) {
            findings.push(d);
        }
    }
    findings
}

/// Standard or URL-safe base64, whitespace ignored, padding optional.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let alphabet = if compact.contains(['-', '_']) {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, CONFIG).decode(compact).ok()
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn b64() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGk/").as_deref(), Some(&b"hi?"[..]));
        assert!(base64_decode("a$b").is_none());
        assert_eq!(base64_decode("aGk_").as_deref(), Some(&b"hi?"[..]));
    }
}

#[cfg(test)]
mod end_to_end;
