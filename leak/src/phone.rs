//! Known phone numbers: E.164 parsing, the window index and the digit walker.
//!
//! A number leaks as soon as its *national significant number* (NSN) appears
//! as consecutive digits, whatever the formatting around it: the country code
//! may be present, absent or written as a trunk `0`, groups may be split by
//! any separator, and the digits may be embedded in a longer id. So the walker
//! reduces text to runs of digits (skipping separators) and looks up every
//! window of an NSN length in a hash table. A trunk-`0` or country-code form
//! contains the NSN as a suffix window, so indexing the NSN alone already
//! catches those; the prefix is only used to extend the reported match.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use super::chars::{self, Class};

/// Powers of ten up to 10^18.
const POW10: [u64; 19] = {
    let mut t = [1u64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Longest NSN we index (E.164 allows 15 digits including the country code).
const MAX_NSN: usize = 14;
/// Shortest NSN we accept: shorter windows would match ordinary numbers.
const MIN_NSN: usize = 6;

/// A parsed E.164 number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct E164 {
    /// Country code digits, e.g. "1" or "44".
    pub cc: String,
    /// National significant number digits (libphonenumber's, leading
    /// zeros included: Italy's `06…`).
    pub nsn: String,
    /// Other dialable forms of the national number, besides `nsn` (see
    /// [`dialable_forms`]); each is indexed like the NSN.
    pub forms: Vec<String>,
}

impl E164 {
    /// Parse strict E.164 (`+`, then ASCII digits only) and split it into
    /// country code and national significant number with libphonenumber's
    /// metadata (the `phonenumber` crate), never with a hand-kept table.
    ///
    /// Results are memoised process-wide (libphonenumber parsing and the
    /// forms cost tens of microseconds per number, and the engine rebuilds
    /// its scanner whenever contacts change).
    pub fn parse(s: &str) -> Result<E164, &'static str> {
        static MEMO: LazyLock<Mutex<HashMap<String, Result<E164, &'static str>>>> =
            LazyLock::new(Default::default);
        if let Some(hit) = MEMO.lock().unwrap_or_else(|p| p.into_inner()).get(s) {
            return hit.clone();
        }
        let parsed = E164::parse_uncached(s);
        MEMO.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(s.to_string(), parsed.clone());
        parsed
    }

    fn parse_uncached(s: &str) -> Result<E164, &'static str> {
        let digits = s.strip_prefix('+').ok_or("must start with '+' (E.164)")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("only ASCII digits may follow '+'");
        }
        if digits.starts_with('0') {
            return Err("country code cannot start with 0");
        }
        if digits.len() > 15 {
            return Err("more than 15 digits");
        }
        let number =
            phonenumber::parse(None, s).map_err(|_| "not a phone number (libphonenumber)")?;
        let cc = number.code().value().to_string();
        let nsn = national_digits(&number);
        if cc.len() + nsn.len() != digits.len() || !digits.starts_with(&cc) {
            return Err("country code and national number do not add up (libphonenumber)");
        }
        if cc == "1" && nsn.len() != 10 {
            return Err("NANP (+1) numbers need exactly 10 national digits");
        }
        if nsn.len() < MIN_NSN {
            return Err("national number too short to match safely (< 6 digits)");
        }
        if nsn.len() > MAX_NSN {
            return Err("national number too long");
        }
        let forms = dialable_forms(&number, &nsn)
            .into_iter()
            .filter(|f| (MIN_NSN..=MAX_NSN).contains(&f.len()) && *f != nsn)
            .collect();
        Ok(E164 { cc, nsn, forms })
    }
}

/// The national significant number as digits, with the leading zeros
/// libphonenumber keeps apart (Italian fixed lines).
fn national_digits(number: &phonenumber::PhoneNumber) -> String {
    let n = number.national();
    format!("{}{}", "0".repeat(n.zeros() as usize), n.value())
}

/// Other ways the same number is dialled inside its country, derived from
/// libphonenumber metadata only (no per-country rules here):
///
/// 1. **National format without trunk prefix**: the digits of the number
///    formatted in national mode, minus the region's `national_prefix`. For
///    Argentine mobiles this is area code + `15` + subscriber
///    (`011 15-5550-1234` → `111555501234`); with the trunk prefix the form
///    contains this one as a suffix, so both are caught.
/// 2. **Without the transform token**: when the region's
///    `national_prefix_transform_rule` starts with literal digits (`9$1` in
///    Argentina: the mobile `9` the parser inserts) and the NSN starts with
///    them, the NSN without them (`+54 11 5550-1234` → `1155501234`).
/// 3. **Legacy token before a valid number**: when the number itself is not
///    valid per metadata but the NSN minus its first one or two digits is a
///    valid number of the same country code, that suffix (Mexico's old
///    mobile `1`: `+52 1 55 5501 0123` → `5555010123`).
///
/// Trunk-prefixed forms (`0` + NSN) and international forms contain the NSN
/// as a suffix and need no entry of their own.
pub(crate) fn dialable_forms(number: &phonenumber::PhoneNumber, nsn: &str) -> Vec<String> {
    let db = &*phonenumber::metadata::DATABASE;
    let mut forms = Vec::new();
    let meta = number.metadata(db).or_else(|| {
        db.by_code(&number.code().value())
            .and_then(|m| m.into_iter().next())
    });
    // Only regions whose metadata rewrites national numbers (a transform
    // rule) format them with extra digits; elsewhere the national format is
    // trunk prefix + NSN and formatting (regex work) is skipped.
    if let Some(meta) = meta.filter(|m| m.national_prefix_transform_rule().is_some()) {
        let national: String = number
            .format()
            .mode(phonenumber::Mode::National)
            .to_string()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let prefix = meta.national_prefix().unwrap_or("");
        forms.push(
            national
                .strip_prefix(prefix)
                .unwrap_or(&national)
                .to_string(),
        );
        if let Some(rule) = meta.national_prefix_transform_rule() {
            let token: String = rule.chars().take_while(char::is_ascii_digit).collect();
            if let Some(rest) = nsn
                .strip_prefix(token.as_str())
                .filter(|_| !token.is_empty())
            {
                forms.push(rest.to_string());
            }
        }
    }
    // A legacy token makes the NSN longer than any national number of the
    // region: only then is validity (regex work) checked.
    let too_long = meta.is_some_and(|m| {
        !m.descriptors()
            .general()
            .possible_length()
            .contains(&(nsn.len() as u16))
    });
    if too_long && !number.is_valid() {
        for skip in 1..=2 {
            let Some(rest) = nsn.get(skip..) else { break };
            let candidate = format!("+{}{rest}", number.code().value());
            if phonenumber::parse(None, &candidate).is_ok_and(|n| n.is_valid()) {
                forms.push(rest.to_string());
                break;
            }
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// Open-addressing hash table from encoded windows to phone ids.
///
/// Hand-rolled rather than `HashMap` because lookups run once per digit of
/// every long digit run in a document; a multiplicative hash plus linear
/// probing over a flat array keeps that to a few nanoseconds.
#[derive(Clone)]
struct WindowTable {
    keys: Vec<u64>,
    vals: Vec<u32>,
    shift: u32,
}

const EMPTY: u64 = u64::MAX;

impl WindowTable {
    fn with_capacity(n: usize) -> WindowTable {
        let cap = (n.max(4) * 2).next_power_of_two();
        WindowTable {
            keys: vec![EMPTY; cap],
            vals: vec![0; cap],
            shift: 64 - cap.trailing_zeros(),
        }
    }

    #[inline(always)]
    fn slot(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Insert unless present; returns the id stored for `key`.
    fn insert(&mut self, key: u64, val: u32) -> u32 {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        loop {
            if self.keys[i] == EMPTY {
                self.keys[i] = key;
                self.vals[i] = val;
                return val;
            }
            if self.keys[i] == key {
                return self.vals[i];
            }
            i = (i + 1) & mask;
        }
    }

    #[inline(always)]
    fn get(&self, key: u64) -> Option<u32> {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        loop {
            let k = self.keys[i];
            if k == key {
                return Some(self.vals[i]);
            }
            if k == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
}

/// One indexed number (a secret or an allow-listed business number).
#[derive(Clone, Debug)]
pub(crate) struct PhoneEntry {
    pub number: E164,
    /// Allow-listed numbers are indexed so the walker can recognise and
    /// skip them; they never become findings.
    pub allowed: bool,
}

/// A window of a digit run that equals an indexed NSN.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PhoneHit {
    /// Byte range of the rendering in the walked text, extended over a
    /// preceding country code / trunk zero and `+` / `(`.
    pub start: usize,
    /// End of the window's last digit (exclusive).
    pub end: usize,
    /// Index of the number in [`PhoneIndex::entries`].
    pub id: u32,
}

/// The index of known numbers.
#[derive(Clone)]
pub(crate) struct PhoneIndex {
    /// Indexed numbers; a hit's `id` is an index here.
    pub entries: Vec<PhoneEntry>,
    table: WindowTable,
    /// Distinct NSN lengths with 10^length, ascending; usually `[(10, 1e10)]`.
    lengths: Vec<(usize, u64)>,
    /// One bit per indexed key hash (see [`BLOOM_BITS`]).
    bloom: Vec<u64>,
    /// One bit per hash of the last `lengths[0]` digits of every indexed
    /// form: every window of every length that ends at a digit shares that
    /// suffix, so one probe per digit rejects all lengths at once.
    suffix_bloom: Vec<u64>,
}

/// Result of walking one text: whether any digit run (not already
/// explained by a known or allow-listed number) has a shape the generic
/// phone regexes could match. Lets the scanner skip those regexes on the
/// vast majority of strings (timestamps, ids) that cannot match them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WalkStats {
    /// 7..=15 contiguous digits right after a `+`.
    pub e164_shaped: bool,
    /// A bare run of 10 digits starting with 2-9, or of 10+ digits with
    /// separators.
    pub us_shaped: bool,
}

/// A maximal digit run: its byte range (first digit to end of last
/// digit). Reported to shape redaction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunSpan {
    /// Byte offset of the first digit.
    pub start: usize,
    /// Byte offset just after the last digit.
    pub end: usize,
}

/// State of the digit run being walked.
#[derive(Default)]
struct Run {
    /// Byte offset of the first digit and end of the last digit.
    start: usize,
    last_end: usize,
    digits: usize,
    had_sep: bool,
    /// Separator characters since the last digit.
    pending_sep: u32,
    /// Digits of the run covered by hits (union of their windows).
    covered: usize,
    covered_until: usize,
    /// Value of the run's first digit (a bare 10-digit run starting with
    /// 0 or 1, like epoch seconds, cannot be a NANP number).
    first_digit: u8,
    /// Was the previous character a digit?
    prev_digit: bool,
    /// Contiguous digits right after a `+`: run index of the first, and
    /// whether a hit starts at or before it (then the E.164 regex could
    /// only re-find a known or allowed number). The segment ends at the
    /// next non-digit, and is closed (its length `digits - first` judged)
    /// before any later digit is counted.
    plus_seg: Option<(usize, bool)>,
}

impl Run {
    fn close_plus_seg(&mut self, stats: &mut WalkStats) {
        if let Some((first, covered)) = self.plus_seg.take()
            && (7..=15).contains(&(self.digits - first))
            && !covered
        {
            stats.e164_shaped = true;
        }
    }

    fn end(&mut self, stats: &mut WalkStats) {
        self.close_plus_seg(stats);
        if self.digits >= 10
            && self.digits - self.covered >= 7
            && (self.had_sep || (self.digits == 10 && self.first_digit >= 2))
        {
            stats.us_shaped = true;
        }
        *self = Run::default();
    }
}

/// Bits of the Bloom-style prefilter in front of the window table: 2^18
/// bits = 32 KiB, small enough to stay in L1/L2 while the table itself
/// (hundreds of KiB for 10k contacts) would miss cache on most lookups.
const BLOOM_BITS: u32 = 18;

impl PhoneIndex {
    /// Build from secrets and allow-listed numbers. A number that is both is
    /// treated as allowed: the business's own numbers are never a leak.
    pub fn new(secrets: Vec<E164>, allowed: Vec<E164>) -> PhoneIndex {
        let mut table = WindowTable::with_capacity(secrets.len() + allowed.len());
        let mut entries: Vec<PhoneEntry> = Vec::with_capacity(secrets.len() + allowed.len());
        let mut lengths: Vec<(usize, u64)> = Vec::new();
        let mut bloom = vec![0u64; 1 << (BLOOM_BITS - 6)];
        // Allowed first so they win the slot of a duplicate NSN.
        let all = allowed
            .into_iter()
            .map(|n| (n, true))
            .chain(secrets.into_iter().map(|n| (n, false)));
        for (number, is_allowed) in all {
            let id = entries.len() as u32;
            let mut indexed = false;
            for form in std::iter::once(&number.nsn).chain(&number.forms) {
                let len = form.len();
                let key = encode(form);
                if table.insert(key, id) == id {
                    indexed = true;
                    if !lengths.iter().any(|l| l.0 == len) {
                        lengths.push((len, POW10[len]));
                    }
                    let bit = bloom_bit(key);
                    bloom[bit >> 6] |= 1 << (bit & 63);
                }
            }
            if indexed {
                entries.push(PhoneEntry {
                    number,
                    allowed: is_allowed,
                });
            }
        }
        lengths.sort_unstable();
        let suffix_bloom = suffix_filter(&table, lengths.first().map_or(1, |l| l.1));
        PhoneIndex {
            entries,
            table,
            lengths,
            bloom,
            suffix_bloom,
        }
    }

    /// Shortest indexed NSN (`u32::MAX` when there are no numbers).
    pub fn min_len(&self) -> u32 {
        self.lengths.first().map_or(u32::MAX, |l| l.0 as u32)
    }

    /// Walk `text`, calling `on_hit` for every window equal to an indexed
    /// number (allow-listed ones included; callers filter on `allowed`).
    ///
    /// ASCII bytes go through a table; only non-ASCII characters are decoded.
    /// The ring keeps the value of the run's first digits, so any window is
    /// one multiply and subtract (no division, no state per length); one
    /// probe of a 32 KiB filter over the last `min_len` digits of every form
    /// rejects all lengths at once at almost every digit, before the
    /// per-length filter and the hash table. A text of ASCII digits only
    /// with no indexed window skips the general walk
    /// ([`Self::walk_plain_digits`]).
    ///
    /// When `runs` is given, every digit run with at least `min_digits`
    /// digits is also pushed there (shape redaction).
    pub fn walk(
        &self,
        text: &str,
        on_hit: impl FnMut(PhoneHit),
        mut runs: Option<(&mut Vec<RunSpan>, usize)>,
    ) -> WalkStats {
        if let Some(stats) = self.walk_plain_digits(text.as_bytes(), &mut runs) {
            return stats;
        }
        let mut w = Walk {
            ix: self,
            text,
            lengths: &self.lengths[..self.lengths.len().min(MAX_LENGTHS)],
            stats: WalkStats::default(),
            ring_start: [0; RING],
            ring_digit: [0; RING],
            ring_prefix: [0; RING],
            run: Run::default(),
            on_hit,
            runs,
        };
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if w.run.digits == 0 {
                // Outside a run only a digit can start one, and every
                // non-digit ASCII byte there leaves the state as it is
                // (`prev_digit` is already false): jump to the next ASCII
                // digit or non-ASCII character. Most bytes of prose, URLs
                // and ids are skipped by this tight loop.
                match bytes[i..]
                    .iter()
                    .position(|&b| b.is_ascii_digit() || b >= 0x80)
                {
                    Some(k) => i += k,
                    None => break,
                }
            }
            let b = bytes[i];
            let (cls, width) = if b < 0x80 {
                (chars::ascii_class(b), 1)
            } else {
                match text.get(i..).and_then(|t| t.chars().next()) {
                    Some(c) => (chars::class(c), c.len_utf8()),
                    None => (Class::Other, 1),
                }
            };
            match cls {
                Class::Digit(d) => i = w.digits(i, d, width),
                Class::Sep => w.separator(),
                Class::Other => w.end_run(),
            }
            i += width;
        }
        w.end_run();
        w.stats
    }

    /// The walk of a text made of ASCII digits only (a JSON number, a
    /// numeric id) when no window of it is an indexed number: one run, no
    /// separator, no `+`, so its stats follow from its length and first
    /// digit (see [`Run::end`]), and it is reported whole to `runs`.
    /// `None` when the text is anything else or some window is indexed:
    /// the general walk then takes it, so the results are the same by
    /// construction. Spares the general walk's state and per-character
    /// dispatch on the most common digit runs of a JSON document.
    fn walk_plain_digits(
        &self,
        bytes: &[u8],
        runs: &mut Option<(&mut Vec<RunSpan>, usize)>,
    ) -> Option<WalkStats> {
        if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let lengths = &self.lengths[..self.lengths.len().min(MAX_LENGTHS)];
        if let Some(&(min, p_min)) = lengths.first()
            && let Some(head) = bytes.get(..min)
        {
            // Rolling value of the last `min` digits: the suffix every
            // window ending there shares.
            let mut w = head.iter().fold(0u64, |a, &b| a * 10 + u64::from(b - b'0'));
            for k in min..=bytes.len() {
                if has_bit(&self.suffix_bloom, bloom_bit(w))
                    && lengths.iter().any(|&(len, _)| {
                        k >= len && self.table.get(encode_digits(&bytes[k - len..k])).is_some()
                    })
                {
                    return None;
                }
                if let Some(&next) = bytes.get(k) {
                    let leaving = u64::from(bytes[k - min] - b'0');
                    w = w * 10 + u64::from(next - b'0') - leaving * p_min;
                }
            }
        }
        if let Some((out, min_digits)) = runs
            && bytes.len() >= *min_digits
        {
            out.push(RunSpan {
                start: 0,
                end: bytes.len(),
            });
        }
        Some(WalkStats {
            e164_shaped: false,
            us_shaped: bytes.len() == 10 && bytes[0] >= b'2',
        })
    }

    /// Start of the rendering: the window's first digit, moved back over a
    /// country code (or trunk `0`) that precedes it in the same run, then
    /// over `+` / `(` openers, so "+1 (555) 123-4567" is reported whole.
    fn extend_start(
        &self,
        text: &str,
        id: u32,
        first: usize,
        ring_start: &[usize; RING],
        ring_digit: &[u8; RING],
    ) -> (usize, usize) {
        let mut k = first; // index (in run) of the first digit included
        if let Some(entry) = self.entries.get(id as usize) {
            let cc = entry.number.cc.as_bytes();
            let matches_cc = cc.len() <= k
                && cc
                    .iter()
                    .enumerate()
                    .all(|(j, &c)| ring_digit[(k - cc.len() + j) % RING] == c - b'0');
            if matches_cc {
                k -= cc.len();
            } else if k >= 1 && ring_digit[(k - 1) % RING] == 0 && entry.number.cc != "1" {
                k -= 1;
            }
        }
        let mut start = ring_start[k % RING];
        for _ in 0..2 {
            match text.get(..start).and_then(|t| t.chars().next_back()) {
                Some(c) if chars::is_opener(c) => start -= c.len_utf8(),
                _ => break,
            }
        }
        (start, first - k)
    }
}

/// Push the run to `runs` when it is long enough.
#[inline]
fn report_run(run: &Run, runs: &mut Option<(&mut Vec<RunSpan>, usize)>) {
    if let Some((out, min_digits)) = runs
        && run.digits >= *min_digits
    {
        out.push(RunSpan {
            start: run.start,
            end: run.last_end,
        });
    }
}

/// Digits remembered per run (byte offset and value of each): enough for
/// the longest form plus a country code before it.
const RING: usize = 32;
/// Distinct form lengths a walk tracks.
const MAX_LENGTHS: usize = MAX_NSN - MIN_NSN + 1;

/// State of one [`PhoneIndex::walk`] over a text.
struct Walk<'ix, 't, 'r, H> {
    ix: &'ix PhoneIndex,
    text: &'t str,
    /// The index's lengths (at most [`MAX_LENGTHS`]) with 10^length.
    lengths: &'ix [(usize, u64)],
    stats: WalkStats,
    /// Byte offset and value of run digit `k`, at `k % RING`.
    ring_start: [usize; RING],
    ring_digit: [u8; RING],
    /// Value of the run's first `k` digits (wrapping), at `k % RING`: a
    /// window of `len` digits ending at digit `n` is
    /// `prefix[n] - prefix[n - len] * 10^len`, exact in wrapping arithmetic
    /// because the window itself is below 2^64.
    ring_prefix: [u64; RING],
    run: Run,
    on_hit: H,
    runs: Option<(&'r mut Vec<RunSpan>, usize)>,
}

impl<H: FnMut(PhoneHit)> Walk<'_, '_, '_, H> {
    /// A digit of value `d` at byte `i` (`width` bytes): join or start the
    /// run, then take it and every ASCII digit right after it. Returns
    /// the byte offset of the last digit taken.
    fn digits(&mut self, mut i: usize, d: u8, width: usize) -> usize {
        let bytes = self.text.as_bytes();
        let run = &mut self.run;
        run.last_end = i + width;
        if run.digits == 0 {
            self.ring_prefix[0] = 0;
            run.first_digit = d;
            run.start = i;
        } else if run.pending_sep > 0 {
            run.had_sep = true;
        }
        run.pending_sep = 0;
        if i > 0 && bytes[i - 1] == b'+' {
            run.close_plus_seg(&mut self.stats);
            run.plus_seg = Some((run.digits, false));
        } else if !run.prev_digit {
            run.close_plus_seg(&mut self.stats);
        }
        run.prev_digit = true;
        let mut d = d;
        // Consecutive ASCII digits stay in this loop (only the windows
        // change for them).
        loop {
            self.take_digit(i, d, width);
            match bytes.get(i + 1) {
                Some(&next) if width == 1 && next.is_ascii_digit() => {
                    i += 1;
                    d = next - b'0';
                    self.run.last_end = i + 1;
                }
                _ => return i,
            }
        }
    }

    /// Count digit `d` (byte `i`, `width` bytes) into the run and look up
    /// the windows ending at it: one probe of the suffix filter for all
    /// lengths, then the bit filter and the table per length.
    #[inline(always)]
    fn take_digit(&mut self, i: usize, d: u8, width: usize) {
        let k = self.run.digits;
        self.ring_start[k % RING] = i;
        self.ring_digit[k % RING] = d;
        self.run.digits += 1;
        let n = k + 1;
        let v = self.ring_prefix[k % RING]
            .wrapping_mul(10)
            .wrapping_add(u64::from(d));
        self.ring_prefix[n % RING] = v;
        let Some(&(min, p_min)) = self.lengths.first() else {
            return;
        };
        if n < min {
            return;
        }
        let prefix = &self.ring_prefix;
        let window = |len: usize, p: u64| v.wrapping_sub(prefix[(n - len) % RING].wrapping_mul(p));
        if !has_bit(&self.ix.suffix_bloom, bloom_bit(window(min, p_min))) {
            return;
        }
        for &(len, p) in self.lengths {
            if n < len {
                break;
            }
            let key = v.wrapping_sub(self.ring_prefix[(n - len) % RING].wrapping_mul(p)) * 32
                + len as u64;
            if !has_bit(&self.ix.bloom, bloom_bit(key)) {
                continue;
            }
            if let Some(id) = self.ix.table.get(key) {
                self.hit(id, n - len, i + width);
            }
        }
    }

    /// A window of the run starting at run digit `first` and ending at
    /// byte `end` equals number `id`.
    #[cold]
    fn hit(&mut self, id: u32, first: usize, end: usize) {
        let (start, prefix) =
            self.ix
                .extend_start(self.text, id, first, &self.ring_start, &self.ring_digit);
        let run = &mut self.run;
        let lo = first - prefix;
        run.covered += run.digits - lo.max(run.covered_until);
        run.covered_until = run.digits;
        if let Some(seg) = &mut run.plus_seg
            && lo <= seg.0
        {
            seg.1 = true;
        }
        (self.on_hit)(PhoneHit { start, end, id });
    }

    /// A separator character: the run goes on unless it is the
    /// `MAX_SEPARATOR_RUN + 1`-th in a row.
    fn separator(&mut self) {
        if self.run.digits > 0 {
            self.run.pending_sep += 1;
            if self.run.pending_sep > chars::MAX_SEPARATOR_RUN {
                self.end_run();
            }
        }
        self.run.prev_digit = false;
    }

    /// The run (if any) ends here: report it and judge its shape.
    fn end_run(&mut self) {
        if self.run.digits > 0 {
            report_run(&self.run, &mut self.runs);
            self.run.end(&mut self.stats);
        }
    }
}

/// The filter of [`PhoneIndex::suffix_bloom`]: the value of every key
/// modulo `p_min` (10^shortest length), hashed like a key.
fn suffix_filter(table: &WindowTable, p_min: u64) -> Vec<u64> {
    let mut bits = vec![0u64; 1 << (BLOOM_BITS - 6)];
    for &key in table.keys.iter().filter(|&&k| k != EMPTY) {
        let bit = bloom_bit((key / 32) % p_min);
        bits[bit >> 6] |= 1 << (bit & 63);
    }
    bits
}

/// Is bit `bit` of a filter set?
#[inline(always)]
fn has_bit(bits: &[u64], bit: usize) -> bool {
    bits[bit >> 6] & (1 << (bit & 63)) != 0
}

#[inline(always)]
fn bloom_bit(key: u64) -> usize {
    (key.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> (64 - BLOOM_BITS)) as usize
}

/// Encode an all-ASCII-digit string as a window key: value * 32 + length,
/// so "0123" and "123" differ.
fn encode(digits: &str) -> u64 {
    encode_digits(digits.as_bytes())
}

/// [`encode`] over bytes.
fn encode_digits(digits: &[u8]) -> u64 {
    let v = digits
        .iter()
        .fold(0u64, |a, &b| a * 10 + (b.saturating_sub(b'0')) as u64);
    v * 32 + digits.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(nums: &[&str]) -> PhoneIndex {
        PhoneIndex::new(
            nums.iter()
                .map(|n| E164::parse(n).expect("valid"))
                .collect(),
            vec![],
        )
    }

    fn hits(ix: &PhoneIndex, text: &str) -> Vec<String> {
        let mut out = vec![];
        ix.walk(text, |h| out.push(text[h.start..h.end].to_string()), None);
        out
    }

    #[test]
    fn parse() {
        let n = E164::parse("+447700900123").expect("valid");
        assert_eq!((n.cc.as_str(), n.nsn.as_str()), ("44", "7700900123"));
        let n = E164::parse("+15551234567").expect("valid");
        assert_eq!((n.cc.as_str(), n.nsn.as_str()), ("1", "5551234567"));
        assert!(E164::parse("15551234567").is_err());
        assert!(E164::parse("+1555123456").is_err());
        assert!(E164::parse("+1 555").is_err());
        assert!(E164::parse("+").is_err());
    }

    #[test]
    fn walk_renderings() {
        let ix = idx(&["+15551234567", "+447700900123"]);
        assert_eq!(
            hits(&ix, "call +1 (555) 123-4567 now"),
            ["+1 (555) 123-4567"]
        );
        assert_eq!(hits(&ix, "(555) 123-4567"), ["(555) 123-4567"]);
        assert_eq!(hits(&ix, "ord-15551234567x"), ["15551234567"]);
        assert_eq!(hits(&ix, "07700 900123"), ["07700 900123"]);
        assert_eq!(hits(&ix, "+44 7700 900123"), ["+44 7700 900123"]);
        assert_eq!(hits(&ix, "٥٥٥١٢٣٤٥٦٧"), ["٥٥٥١٢٣٤٥٦٧"]);
        assert_eq!(hits(&ix, "555a1234567"), Vec::<String>::new());
    }

    #[test]
    fn national_forms_from_metadata() {
        let forms = |n: &str| E164::parse(n).expect("valid").forms;
        assert_eq!(forms("+5491155501234"), ["111555501234", "1155501234"]);
        assert_eq!(forms("+5215555010123"), ["5555010123"]);
        assert_eq!(forms("+447700900123"), Vec::<String>::new());
        let ix = idx(&["+5491155501234", "+5215555010123"]);
        assert_eq!(
            hits(&ix, "llamame al 011 15-5550-1234"),
            ["011 15-5550-1234"]
        );
        assert_eq!(hits(&ix, "+54 11 5550-1234"), ["+54 11 5550-1234"]);
        assert_eq!(hits(&ix, "+52 55 5501 0123"), ["+52 55 5501 0123"]);
        assert_eq!(hits(&ix, "+52 1 55 5501 0123").len(), 2);
    }

    /// Every window of a digit string that equals a form of a number, by
    /// brute force: (end byte, id), once per matching form.
    fn windows(ix: &PhoneIndex, digits: &str) -> Vec<(usize, u32)> {
        let mut out = vec![];
        for end in 1..=digits.len() {
            for (id, e) in ix.entries.iter().enumerate() {
                let forms = std::iter::once(&e.number.nsn).chain(&e.number.forms);
                for _ in forms.filter(|f| digits[..end].ends_with(f.as_str())) {
                    out.push((end, id as u32));
                }
            }
        }
        out
    }

    /// Digit strings (the walk's fast path for all-digit texts and the
    /// general walk on the same digits behind a letter) against brute
    /// force, with forms of two lengths (a Bahamas number's 7-digit local
    /// form from its metadata, US and UK numbers).
    #[test]
    fn digit_windows_match_brute_force() {
        let nums = ["+12423571234", "+15551234567", "+447700900123"];
        let ix = idx(&nums);
        assert!(ix.lengths.len() >= 2, "{:?}", ix.lengths);
        let mut seed = 7u64;
        for case in 0..400 {
            let mut text = String::new();
            for _ in 0..1 + case % 4 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match seed >> 62 {
                    0 => text.push_str(&ix.entries[(seed >> 8) as usize % nums.len()].number.nsn),
                    1 => text.push_str("3571234"),
                    _ => text.push_str(&(seed >> 20).to_string()),
                }
            }
            let expected = windows(&ix, &text);
            for (prefix, t) in [(0, text.clone()), (1, format!("x{text}"))] {
                let mut got = vec![];
                ix.walk(&t, |h| got.push((h.end - prefix, h.id)), None);
                got.sort_unstable();
                assert_eq!(got, expected, "{t}");
            }
        }
    }

    #[test]
    fn separators_in_a_row_are_capped() {
        let ix = idx(&["+15551234567"]);
        assert_eq!(hits(&ix, "555 -  123 4567").len(), 1);
        assert!(hits(&ix, "555 , , , 1234567").is_empty());
    }
}
