//! Support for the `leak-scan CONTACTS.json FILE...` command: load the
//! contact list, scan each file (JSON, HAR, or anything else as text) and
//! print one masked line per finding.
//!
//! Exit codes (see [`ScanOutcome::exit_code`], [`ScanCliError::exit_code`]):
//! 0 clean, 1 secrets found, 2 unusable input.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ContactError, Contacts, LeakScanner, Scan};

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
    Clean,
    /// Number of findings printed.
    Found(usize),
}

impl ScanOutcome {
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
    #[error("{}: cannot read contacts file: {source}", path.display())]
    ReadContacts {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: invalid contacts file: {message}", path.display())]
    ParseContacts { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Contact { path: PathBuf, source: ContactError },
    #[error("{}: cannot read: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write output: {0}")]
    Write(#[from] std::io::Error),
}

impl ScanCliError {
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Load the contacts, scan every file in order and write one line per
/// finding: `FILE:POINTER: phone +1******4567 as "(555) ***-4567"`.
/// Output order is deterministic (files in argument order, findings in
/// document order). All files are read before anything is printed, so an
/// unreadable file yields an error and no partial report.
pub fn run_scan(
    contacts_path: &Path,
    files: &[PathBuf],
    out: &mut dyn Write,
) -> Result<ScanOutcome, ScanCliError> {
    let scanner = load_contacts(contacts_path)?;
    let mut inputs = Vec::with_capacity(files.len());
    for f in files {
        let bytes = std::fs::read(f).map_err(|source| ScanCliError::ReadFile {
            path: f.clone(),
            source,
        })?;
        inputs.push((f, bytes));
    }
    let mut n = 0;
    for (path, bytes) in inputs {
        for finding in scan_file(&scanner, &bytes).findings {
            writeln!(out, "{}:{}", path.display(), finding)?;
            n += 1;
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
                super::mask_invalid(w)
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// A HAR file (`{"log": {"entries": [...]}}`) is scanned body by body:
/// each `entries[i].response.content.text` (base64-decoded when
/// `encoding` is `"base64"`) as a document of its own, pointers prefixed
/// with the body's location. Anything else goes to `scan_json`.
fn scan_file(scanner: &LeakScanner, bytes: &[u8]) -> Scan {
    let entries = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| match v.pointer("/log/entries") {
            Some(serde_json::Value::Array(a)) => Some(a.clone()),
            _ => None,
        });
    let Some(entries) = entries else {
        return scanner.scan_json(bytes);
    };
    let mut scan = Scan::default();
    for (i, entry) in entries.iter().enumerate() {
        let Some(text) = entry
            .pointer("/response/content/text")
            .and_then(|t| t.as_str())
        else {
            continue;
        };
        let is_b64 = entry
            .pointer("/response/content/encoding")
            .and_then(|e| e.as_str())
            == Some("base64");
        // A body that claims base64 but is not is scanned as written.
        let body = if is_b64 {
            base64_decode(text).unwrap_or_else(|| text.as_bytes().to_vec())
        } else {
            text.as_bytes().to_vec()
        };
        let prefix = format!("/log/entries/{i}/response/content/text");
        let s = scanner.scan_json_at(&body, &prefix);
        scan.findings.extend(s.findings);
        scan.suspects.extend(s.suspects);
    }
    scan
}

/// Standard or URL-safe base64, whitespace ignored, padding optional.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
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
    }
}
