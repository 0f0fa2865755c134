//! Decoded views of text.
//!
//! Secrets often reach a sitter in an *encoded* form that hides them from a
//! byte-level search: JSON `\u0035` escapes, `%2B1555…` in a URL, `&#64;` in
//! HTML. A decoder produces the plain text together with an offset map (one
//! entry per decoded byte, plus one for the end) pointing back into the
//! source, so a match in the decoded view can be reported and redacted *as it
//! appeared*.
//!
//! Decoders return `None` when there was nothing to decode, so the caller
//! never allocates for the common case of plain text.

/// A decoded text and, for each of its bytes (and its end), the byte offset
/// in the source it was decoded from.
pub(crate) type Decoded = (String, Vec<usize>);

/// Decode the content of a JSON string token (between the quotes).
///
/// Lenient: an invalid escape is kept literally rather than failing, since
/// the caller only wants to *see* the text (validation is the tokenizer's
/// job). Returns `None` when the token has no backslash.
pub(crate) fn json_unescape(raw: &str) -> Option<Decoded> {
    if !raw.as_bytes().contains(&b'\\') {
        return None;
    }
    let mut out = Out::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some((c, len)) = backslash_escape(raw, i)
        {
            out.push_char(c, i);
            i += len;
            continue;
        }
        let j = next_special(bytes, i + 1, |b| b == b'\\');
        out.push_slice(raw, i, j);
        i = j;
    }
    Some(out.finish(raw.len()))
}

/// Decode backslash escapes, percent-encoding and HTML character references
/// in one pass. Returns `None` if nothing was decoded.
///
/// One pass handles one layer; the scanner applies it again on its own
/// output (bounded depth) to peel `%2540`, `&amp;#64;` or `\\u0040`.
pub(crate) fn decode_text(text: &str) -> Option<Decoded> {
    let bytes = text.as_bytes();
    let special = |b: u8| b == b'\\' || b == b'%' || b == b'&';
    let mut i = next_special(bytes, 0, special);
    if i == bytes.len() {
        return None;
    }
    let mut out = Out::with_capacity(text.len());
    out.push_slice(text, 0, i);
    let mut changed = false;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'\\' => backslash_escape(text, i),
            b'%' => percent(text, i),
            b'&' => html_entity(text, i),
            _ => None,
        };
        if let Some((c, len)) = decoded {
            out.push_char(c, i);
            i += len;
            changed = true;
            continue;
        }
        let j = next_special(bytes, i + 1, special);
        out.push_slice(text, i, j);
        i = j;
    }
    changed.then(|| out.finish(text.len()))
}

/// The folded view used to match emails (and phones) written with
/// compatibility characters or invisible ones: every character is replaced
/// by its NFKC form (fullwidth `ａｌｉｃｅ＠…` becomes `alice@…`, `①` stays a
/// symbol) and every Default_Ignorable_Code_Point (zero-width space, joiners,
/// soft hyphen, word joiner, variation selectors, …) is removed. NFKC is
/// applied per character (compatibility mapping plus composition of that
/// character's own decomposition), which keeps a one-to-one offset map;
/// composition *across* characters (`e` + U+0301) is not needed for the
/// ASCII-shaped addresses and numbers we look for. Returns `None` when
/// folding changes nothing (always for ASCII text).
pub(crate) fn fold_text(text: &str) -> Option<Decoded> {
    use unicode_normalization::UnicodeNormalization;
    let first = text.bytes().position(|b| b >= 0x80)?;
    let mut out = Out::with_capacity(text.len());
    out.push_slice(text, 0, first);
    let mut changed = false;
    for (i, c) in text.get(first..).unwrap_or("").char_indices() {
        let at = first + i;
        if c.is_ascii() {
            out.push_char(c, at);
        } else if super::chars::is_default_ignorable(c) {
            changed = true;
        } else {
            let mut folded = std::iter::once(c).nfkc().peekable();
            if folded.peek() == Some(&c) && folded.clone().nth(1).is_none() {
                out.push_char(c, at);
            } else {
                changed = true;
                for f in folded {
                    out.push_char(f, at);
                }
            }
        }
    }
    changed.then(|| out.finish(text.len()))
}

/// Shortest run of base64 characters worth decoding (12 bytes of payload):
/// shorter runs are ordinary words and ids, and cannot hide a phone number
/// with its country code anyway.
pub(crate) const MIN_BASE64_RUN: usize = 16;

/// The base64 and base64url alphabets together, with `=` padding.
const BASE64_ALPHABET: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=');
        i += 1;
    }
    t
};

/// Every base64 or base64url segment of `text` (a maximal run of the
/// alphabet, padding optional, at least [`MIN_BASE64_RUN`] long) that
/// decodes to printable UTF-8 text: JWT header and payload, `data:…;base64,`
/// URIs, tokens in query strings. Each decoded byte maps back to the start
/// of its segment and the end to the segment's end, so a finding points at
/// (and redaction replaces) the whole encoded segment.
#[inline(never)]
pub(crate) fn base64_segments(text: &str) -> Vec<Decoded> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    let bytes = text.as_bytes();
    if bytes.len() < MIN_BASE64_RUN {
        return Vec::new();
    }
    let in_alphabet = |b: u8| BASE64_ALPHABET[b as usize];
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some(k) = bytes[i..].iter().position(|&b| in_alphabet(b)) else {
            break;
        };
        let start = i + k;
        i = bytes[start..]
            .iter()
            .position(|&b| !in_alphabet(b))
            .map_or(bytes.len(), |n| start + n);
        let seg = &bytes[start..i];
        if seg.len() < MIN_BASE64_RUN
            || !seg.iter().any(|b| !b.is_ascii_alphabetic()) && seg.len() < 24
        {
            continue;
        }
        let url_safe = seg.iter().any(|&b| b == b'-' || b == b'_');
        let engine = if url_safe { &URL_SAFE } else { &STANDARD };
        // Cheap rejection without allocating: the first 12 bytes must
        // already look like text (ids and hashes decode to binary), and
        // before any decoding, the first character must encode the top
        // bits of a byte that text can start with.
        let mut head = [0u8; 12];
        if !may_start_text(seg[0])
            || !engine
                .decode_slice(&seg[..16], &mut head)
                .is_ok_and(|n| looks_like_text(&head[..n]))
        {
            continue;
        }
        let Ok(decoded) = engine.decode(seg) else {
            continue;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            continue;
        };
        if decoded
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            continue;
        }
        let mut map = vec![start; decoded.len()];
        map.push(i);
        out.push((decoded, map));
    }
    out
}

/// Can a base64 segment starting with `c` decode to something
/// [`looks_like_text`] accepts? The first character carries the top six
/// bits of the first byte, which must be a tab or line break (0x09, 0x0A,
/// 0x0D: values 2–3), printable ASCII (0x20–0x7E: 8–31) or a UTF-8 lead
/// byte (0xC2–0xF4: 48–61). Values 62 and 63 (`+ /` or `- _`) are in
/// neither alphabet's range, so one test serves both.
fn may_start_text(c: u8) -> bool {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        _ => return false,
    };
    matches!(value, 2..=3 | 8..=31 | 48..=61)
}

/// Printable UTF-8 (a sequence cut at the end is fine): no control bytes
/// other than tab and line breaks.
fn looks_like_text(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    valid
        && bytes
            .iter()
            .all(|&b| b >= 0x20 && b != 0x7F || matches!(b, b'\t' | b'\n' | b'\r'))
}

/// Compose a view-local map with the map of the view it was decoded from,
/// giving offsets into the root text.
pub(crate) fn compose(local: &[usize], outer: impl Fn(usize) -> usize) -> Vec<usize> {
    local.iter().map(|&o| outer(o)).collect()
}

struct Out {
    text: String,
    map: Vec<usize>,
}

impl Out {
    fn with_capacity(n: usize) -> Out {
        Out {
            text: String::with_capacity(n),
            map: Vec::with_capacity(n + 1),
        }
    }
    fn push_char(&mut self, c: char, src: usize) {
        self.text.push(c);
        self.map.extend(std::iter::repeat_n(src, c.len_utf8()));
    }
    fn push_slice(&mut self, src: &str, from: usize, to: usize) {
        if let Some(s) = src.get(from..to) {
            self.text.push_str(s);
            self.map.extend(from..to);
        }
    }
    fn finish(mut self, end: usize) -> Decoded {
        self.map.push(end);
        (self.text, self.map)
    }
}

/// Index of the next byte at or after `from` matching `pred`, never
/// splitting a UTF-8 sequence (all special bytes are ASCII).
fn next_special(bytes: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> usize {
    let mut j = from;
    while j < bytes.len() && !pred(bytes[j]) {
        j += 1;
    }
    j
}

fn hex_val(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 4 {
        return None;
    }
    s[..4]
        .iter()
        .try_fold(0u32, |a, &b| Some(a * 16 + hex_val(b)?))
}

/// A JSON/JavaScript-style backslash escape at `i`: `\uXXXX` (with
/// surrogate pairs; a lone surrogate becomes U+FFFD) and the one-letter
/// escapes. Returns the character and the escape's length in bytes.
fn backslash_escape(s: &str, i: usize) -> Option<(char, usize)> {
    let b = s.as_bytes().get(i + 1..)?;
    let c = match *b.first()? {
        b'u' => {
            let hi = hex4(b.get(1..)?)?;
            if (0xD800..0xDC00).contains(&hi) {
                if b.get(5) == Some(&b'\\')
                    && b.get(6) == Some(&b'u')
                    && let Some(lo) = b
                        .get(7..)
                        .and_then(hex4)
                        .filter(|lo| (0xDC00..0xE000).contains(lo))
                {
                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return Some((char::from_u32(cp)?, 12));
                }
                return Some(('\u{FFFD}', 6));
            }
            return Some((char::from_u32(hi).unwrap_or('\u{FFFD}'), 6));
        }
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'n' => '\n',
        b't' => '\t',
        b'r' => '\r',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        _ => return None,
    };
    Some((c, 2))
}

/// A percent-encoded character at `i`: `%HH`, or a run of `%HH` forming
/// one multi-byte UTF-8 character. Invalid sequences are not decoded.
fn percent(s: &str, i: usize) -> Option<(char, usize)> {
    let b = s.as_bytes();
    let byte_at = |k: usize| -> Option<u8> {
        if *b.get(k)? != b'%' {
            return None;
        }
        Some((hex_val(*b.get(k + 1)?)? * 16 + hex_val(*b.get(k + 2)?)?) as u8)
    };
    let first = byte_at(i)?;
    let need = match first {
        0x00..=0x7F => return Some((first as char, 3)),
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return None,
    };
    let mut buf = [first, 0, 0, 0];
    for (k, slot) in buf.iter_mut().enumerate().take(need).skip(1) {
        *slot = byte_at(i + 3 * k)?;
    }
    let c = std::str::from_utf8(&buf[..need]).ok()?.chars().next()?;
    Some((c, 3 * need))
}

/// Named references worth decoding: those that render characters found in
/// phone numbers and email addresses, plus the common escapes (so `&amp;`
/// can peel a double-encoded reference).
const NAMED: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{A0}'),
    ("plus", '+'),
    ("commat", '@'),
    ("period", '.'),
    ("hyphen", '\u{2010}'),
    ("dash", '\u{2010}'),
    ("ndash", '\u{2013}'),
    ("mdash", '\u{2014}'),
    ("minus", '\u{2212}'),
    ("lpar", '('),
    ("rpar", ')'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lbrack", '['),
    ("rbrack", ']'),
    ("sol", '/'),
    ("colon", ':'),
    ("num", '#'),
    ("percnt", '%'),
    ("bsol", '\\'),
    ("lowbar", '_'),
    ("thinsp", '\u{2009}'),
    ("ensp", '\u{2002}'),
    ("emsp", '\u{2003}'),
    ("zwj", '\u{200D}'),
    ("zwnj", '\u{200C}'),
    ("shy", '\u{AD}'),
    ("lrm", '\u{200E}'),
    ("rlm", '\u{200F}'),
];

/// An HTML character reference at `i`: `&#NNN;`, `&#xHH;` (the `;` is
/// optional for numeric references, as in browsers) or a named one.
fn html_entity(s: &str, i: usize) -> Option<(char, usize)> {
    let b = s.as_bytes().get(i + 1..)?;
    if *b.first()? == b'#' {
        let (hex, start) = match b.get(1) {
            Some(b'x') | Some(b'X') => (true, 2),
            _ => (false, 1),
        };
        let mut n = start;
        let mut v: u32 = 0;
        while let Some(&d) = b.get(n) {
            let dv = if hex {
                hex_val(d)
            } else {
                (d as char).to_digit(10)
            };
            match dv {
                Some(dv) if n - start < 8 => {
                    v = v * if hex { 16 } else { 10 } + dv;
                    n += 1;
                }
                _ => break,
            }
        }
        if n == start {
            return None;
        }
        let c = char::from_u32(v).filter(|&c| c != '\0')?;
        let semi = usize::from(b.get(n) == Some(&b';'));
        return Some((c, 1 + n + semi));
    }
    let name_len = b
        .iter()
        .take(8)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if b.get(name_len) != Some(&b';') {
        return None;
    }
    let name = std::str::from_utf8(&b[..name_len]).ok()?;
    let c = NAMED.iter().find(|(n, _)| *n == name)?.1;
    Some((c, 1 + name_len + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> String {
        decode_text(s).map(|d| d.0).unwrap_or_else(|| s.to_string())
    }

    #[test]
    fn decodes() {
        assert_eq!(dec("alice%40example.com"), "alice@example.com");
        assert_eq!(dec("%2B1555"), "+1555");
        assert_eq!(
            dec("a&#64;b &#x2B;1 &plus;2 &commat; &amp;#64;"),
            "a@b +1 +2 @ &#64;"
        );
        assert_eq!(dec("\\u002B1\\u0035"), "+15");
        assert_eq!(dec("%E2%80%8B"), "\u{200B}");
        assert_eq!(dec("100% & Tom"), "100% & Tom");
        assert!(decode_text("plain text").is_none());
        assert!(decode_text("50% off & more").is_none());
        assert_eq!(dec("\\ud83d\\ude00"), "😀");
        assert_eq!(dec("%FF %C3"), "%FF %C3");
    }

    #[test]
    fn base64() {
        let segs = |s: &str| {
            base64_segments(s)
                .into_iter()
                .map(|d| d.0)
                .collect::<Vec<_>>()
        };
        // {"tel":"+15550300001"} in base64url without padding, inside a JWT.
        assert_eq!(
            segs("eyJhbGciOiJub25lIn0.eyJ0ZWwiOiIrMTU1NTAzMDAwMDEifQ.sig"),
            ["{\"alg\":\"none\"}", "{\"tel\":\"+15550300001\"}"]
        );
        assert_eq!(
            segs("data:text/plain;base64,Y2FsbCA1NTUgMDMwIDAwMDE="),
            ["call 555 030 0001"]
        );
        assert!(segs("internationalization-and-localization").is_empty());
        let (_, map) = base64_segments("x Y2FsbCA1NTUgMDMwIDAwMDE= y").remove(0);
        assert_eq!((map[0], map[map.len() - 1]), (2, 26));
    }

    #[test]
    fn folds() {
        let f = |s: &str| fold_text(s).map(|d| d.0);
        assert_eq!(f("alice@example.com"), None);
        assert_eq!(
            f("alice\u{200b}@example.com").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            f("alice@example\u{ad}.com").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            f("ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ").as_deref(),
            Some("alice@example.com")
        );
        let (t, map) = fold_text("é\u{200d}ａ").expect("folds");
        assert_eq!(t, "éa");
        assert_eq!(map, vec![0, 0, 5, 8]);
    }

    #[test]
    fn maps_point_back() {
        let src = "x%40y";
        let (t, m) = decode_text(src).expect("decodes");
        assert_eq!(t, "x@y");
        assert_eq!(m, vec![0, 1, 4, 5]);
        let (t, m) = json_unescape("a\\u00e9b").expect("decodes");
        assert_eq!(t, "aéb");
        assert_eq!(m, vec![0, 1, 1, 7, 8]);
    }

    /// The first-character filter of [`base64_segments`] only drops
    /// segments whose first decoded byte [`looks_like_text`] rejects:
    /// every pair of leading characters of both alphabets is decoded by the
    /// `base64` crate and judged by `looks_like_text` itself.
    #[test]
    fn first_character_filter_drops_only_what_looks_like_text_rejects() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let alphabet: Vec<u8> = (0u8..128)
            .filter(|&b| BASE64_ALPHABET[b as usize])
            .collect();
        let mut kept = 0;
        for &c in &alphabet {
            for &d in &alphabet {
                let group = [c, d, b'A', b'A'];
                for engine in [&STANDARD, &URL_SAFE] {
                    let Ok(bytes) = engine.decode(group) else {
                        continue;
                    };
                    if looks_like_text(&bytes[..1]) {
                        assert!(may_start_text(c), "{:?}", c as char);
                        kept += 1;
                    }
                }
            }
        }
        assert!(kept > 0);
        assert!(!may_start_text(b'm') && may_start_text(b'e'));
    }
}
