//! The scanning engine: views, the plain pass over one text, the JSON walk
//! with pointer tracking, and span collection for redaction.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use super::decode;
use super::json::{self, Summary, flag};
use super::mask::{self, Rule};
use super::phone::{RunSpan, WalkStats};
use super::{Finding, LeakScanner, Scan, SecretKind};

/// How many layers of decoding / embedded JSON are peeled at most. Each
/// layer is one linear pass, so hostile nesting costs at most this factor.
const MAX_DEPTH: usize = 8;

/// A text being scanned and how its bytes map back to the root text (the
/// document or string the caller passed in). Without a map the text is a
/// slice of the root starting at `base`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    /// The text scanned.
    pub text: &'a str,
    /// Root offset of `text`'s first byte (without a map).
    pub base: usize,
    /// Root offset of each byte of `text`, plus one for its end.
    pub map: Option<&'a [usize]>,
}

impl<'a> View<'a> {
    /// The root text itself.
    pub fn root(text: &'a str) -> View<'a> {
        View {
            text,
            base: 0,
            map: None,
        }
    }

    /// Root offset of byte `i` of this view (`i == len` gives the end).
    #[inline]
    pub fn off(&self, i: usize) -> usize {
        match self.map {
            None => self.base + i,
            Some(m) => m.get(i).or(m.last()).copied().unwrap_or(self.base),
        }
    }

    fn sub(&self, s: usize, e: usize) -> View<'a> {
        View {
            text: self.text.get(s..e).unwrap_or(""),
            base: self.base + s,
            map: self.map.and_then(|m| m.get(s..=e)),
        }
    }
}

/// What a plain-pass hit is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum What {
    Phone(u32),
    Email(u32),
    Suspect(SecretKind),
}

/// A hit in view coordinates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hit {
    /// First byte of the match.
    pub start: usize,
    /// Byte just after the match.
    pub end: usize,
    /// What matched.
    pub what: What,
}

/// Generic patterns: they find numbers and addresses we do not know, which
/// are reported as suspects and redacted, but never counted as leaks.
static E164_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+[1-9]\d{6,14}\b").expect("constant regex"));
/// NANP-shaped: area code cannot start with 0/1, which keeps 10-digit epoch
/// seconds (1.7e9) out.
static US_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\(?\b[2-9]\d{2}\)?[-.\s]?\d{3}[-.\s]?\d{4}\b").expect("constant regex")
});
/// Email-shaped: Unicode word characters (internationalised addresses are
/// addresses too), so the shape never depends on the script.
static EMAIL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.\w{2,}").expect("constant regex"));
/// ISO dates (and `01/05/2024`-style dates) and clock times, alone or in
/// sequence (`2026-03-02 09:00`,
/// `09:00–10:30`, `09:00:00.123+01:00`): digit runs of this shape are not
/// phone-shaped. Month, day, hour and minute ranges are checked.
static DATETIME_RE: LazyLock<Regex> = LazyLock::new(|| {
    let part = r"(?:[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])|(?:0?[1-9]|[12][0-9]|3[01])[/.](?:0?[1-9]|[12][0-9]|3[01])[/.][0-9]{4}|(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?)";
    Regex::new(&format!(r"^{part}(?:[\s,+\-–—]+{part})*$")).expect("constant regex")
});
/// `logo@2x.png` is an asset name, not an address.
const FILE_TLDS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "json", "html", "htm", "pdf",
    "txt", "zip", "mp4", "mp3",
];

/// Sorted, merged byte intervals with a logarithmic overlap test.
struct Intervals(Vec<(usize, usize)>);

impl Intervals {
    fn new<'h>(hits: impl Iterator<Item = &'h Hit>) -> Intervals {
        let mut v: Vec<(usize, usize)> = hits.map(|h| (h.start, h.end)).collect();
        v.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Intervals(merged)
    }

    /// Does `[s, e)` overlap any interval? Merged intervals have sorted
    /// ends, so the first one ending after `s` is the only candidate.
    fn overlaps(&self, s: usize, e: usize) -> bool {
        let i = self.0.partition_point(|iv| iv.1 <= s);
        self.0.get(i).is_some_and(|iv| iv.0 < e)
    }
}

impl LeakScanner {
    /// The plain pass over one text: known phones (allow-listed ones are
    /// dropped here), known emails, then suspects that do not overlap a
    /// known or allow-listed number. The [`Summary`] gates each part so
    /// most strings cost nothing: the digit walk only runs if some run may
    /// be long enough for a known number (or a suspect).
    ///
    /// With `shapes` (redaction), every phone-shaped digit run is also a
    /// hit ([`Self::shape_hits`]) and the generic phone regexes are not
    /// needed; email-shaped strings are hits in both modes.
    pub(crate) fn plain_hits(&self, text: &str, sum: Summary, out: &mut Vec<Hit>, shapes: bool) {
        let has_at = sum.flags & flag::AT != 0;
        let walk = sum.max_run >= self.walk_min(sum, shapes);
        if !walk && !has_at {
            return;
        }
        let mut phones: Vec<Hit> = Vec::new();
        let mut shape = WalkStats::default();
        let mut runs = Vec::new();
        if walk {
            shape = self.phones.walk(
                text,
                |h| {
                    phones.push(Hit {
                        start: h.start,
                        end: h.end,
                        what: What::Phone(h.id),
                    })
                },
                shapes.then_some((&mut runs, self.shape_min_digits())),
            );
        }
        if shapes {
            self.shape_hits(text, &runs, &phones, out);
            shape = WalkStats::default();
        }
        out.extend(phones.iter().filter(|h| !self.is_allowed(h)));
        let known_from = out.len();
        if has_at {
            self.email_hits(text, out);
        }
        let families: [(&Regex, SecretKind, bool); 3] = [
            (&E164_RE, SecretKind::Phone, shape.e164_shaped),
            (&US_RE, SecretKind::Phone, shape.us_shaped),
            (&EMAIL_RE, SecretKind::Email, has_at),
        ];
        self.suspect_hits(text, &families, &phones, known_from, out);
    }

    /// Is this hit an allow-listed (business) number?
    fn is_allowed(&self, h: &Hit) -> bool {
        matches!(h.what, What::Phone(id)
            if self.phones.entries.get(id as usize).is_some_and(|e| e.allowed))
    }

    /// Known emails in `text`, case-insensitively (ASCII), bounded by
    /// non-alphanumerics on both sides (a trailing `.` ends a sentence).
    fn email_hits(&self, text: &str, out: &mut Vec<Hit>) {
        let Some(ac) = &self.emails else { return };
        // ASCII lowercasing keeps every byte offset, so matches in the
        // lowered copy are matches in `text`.
        let lowered;
        let hay: &str = if text.bytes().any(|c| c.is_ascii_uppercase()) {
            lowered = text.to_ascii_lowercase();
            &lowered
        } else {
            text
        };
        let b = hay.as_bytes();
        for m in ac.find_iter(hay) {
            let before_ok = m.start() == 0 || !b[m.start() - 1].is_ascii_alphanumeric();
            let after_ok = match b.get(m.end()).copied() {
                None => true,
                Some(c) if c.is_ascii_alphanumeric() => false,
                Some(b'.') => !b.get(m.end() + 1).is_some_and(u8::is_ascii_alphanumeric),
                Some(_) => true,
            };
            if before_ok && after_ok {
                out.push(Hit {
                    start: m.start(),
                    end: m.end(),
                    what: What::Email(m.pattern().as_u32()),
                });
            }
        }
    }

    /// Suspects: matches of each enabled generic family not overlapping
    /// anything already explained (known or allow-listed numbers in
    /// `phones`, known emails in `out[known_from..]`, earlier suspects).
    /// Interval lookups keep this linear-logarithmic even for hostile
    /// strings with thousands of matches.
    fn suspect_hits(
        &self,
        text: &str,
        families: &[(&Regex, SecretKind, bool)],
        phones: &[Hit],
        known_from: usize,
        out: &mut Vec<Hit>,
    ) {
        let mut taken: Option<Intervals> = None;
        for &(re, kind, enabled) in families {
            if !enabled {
                continue;
            }
            let before = out.len();
            for m in re.find_iter(text) {
                if kind == SecretKind::Email {
                    let tld = m.as_str().rsplit('.').next().unwrap_or("");
                    if FILE_TLDS.iter().any(|t| t.eq_ignore_ascii_case(tld)) {
                        continue;
                    }
                }
                let taken = taken
                    .get_or_insert_with(|| Intervals::new(phones.iter().chain(&out[known_from..])));
                if !taken.overlaps(m.start(), m.end()) {
                    out.push(Hit {
                        start: m.start(),
                        end: m.end(),
                        what: What::Suspect(kind),
                    });
                }
            }
            if out.len() > before {
                taken = None;
            }
        }
    }

    /// Shortest digit run worth walking: the shortest known national
    /// number, a NANP number without country code, an E.164 suspect when
    /// the text has a `+`, a phone shape when redacting.
    #[inline]
    fn walk_min(&self, sum: Summary, shapes: bool) -> u32 {
        let e164_min = if sum.flags & flag::PLUS != 0 {
            7
        } else {
            u32::MAX
        };
        let min = self.phones.min_len().min(10).min(e164_min);
        if shapes {
            min.min(self.shape_min_digits() as u32)
        } else {
            min
        }
    }

    /// Can the plain pass (without shapes) find anything in a text with
    /// this summary? The same gate [`Self::plain_hits`] applies, taken
    /// before any view is set up for the text.
    #[inline]
    pub(crate) fn may_hit(&self, sum: Summary) -> bool {
        sum.flags & flag::AT != 0 || sum.max_run >= self.walk_min(sum, false)
    }

    /// Fewest digits of a phone-shaped run: 7 (DESIGN §2), or fewer when
    /// some known national number is shorter, so that every known number is
    /// also redacted by shape and redaction never depends on which numbers
    /// are real.
    pub fn shape_min_digits(&self) -> usize {
        (self.phones.min_len() as usize).min(7)
    }

    /// Phone-shaped runs as hits: each digit run of at least
    /// [`Self::shape_min_digits`] digits, widened over `+` / `(` openers
    /// just before it (as known hits are), unless it is an ISO date or clock
    /// time, or the business's own numbers account for all but a few of its
    /// digits.
    fn shape_hits(&self, text: &str, runs: &[RunSpan], phones: &[Hit], out: &mut Vec<Hit>) {
        let min = self.shape_min_digits();
        // Business-number hits, in text order (the walker reports them so).
        let business: Vec<(usize, usize)> = phones
            .iter()
            .filter(|h| self.is_allowed(h))
            .map(|h| (h.start, h.end))
            .collect();
        for run in runs {
            let body = text.get(run.start..run.end).unwrap_or("");
            if DATETIME_RE.is_match(body) {
                continue;
            }
            let first = business.partition_point(|&(_, e)| e <= run.start);
            let allowed: Vec<(usize, usize)> = business[first..]
                .iter()
                .take_while(|&&(s, _)| s < run.end)
                .copied()
                .collect();
            if !allowed.is_empty() {
                let uncovered = body
                    .char_indices()
                    .filter(|&(i, c)| {
                        let at = run.start + i;
                        super::chars::digit_value(c).is_some()
                            && !allowed.iter().any(|&(s, e)| s <= at && at < e)
                    })
                    .count();
                if uncovered < min {
                    continue;
                }
            }
            let mut start = run.start;
            for _ in 0..2 {
                match text.get(..start).and_then(|t| t.chars().next_back()) {
                    Some(c) if super::chars::is_opener(c) => start -= c.len_utf8(),
                    _ => break,
                }
            }
            out.push(Hit {
                start,
                end: run.end,
                what: What::Suspect(SecretKind::Phone),
            });
        }
    }

    fn rule(&self, view: &View<'_>, h: &Hit) -> Rule {
        match h.what {
            What::Phone(id) => Rule::known_phone(
                self.phones
                    .entries
                    .get(id as usize)
                    .map_or(10, |e| e.number.nsn.len()),
            ),
            What::Email(_) | What::Suspect(SecretKind::Email) => Rule::Email,
            What::Suspect(SecretKind::Phone) => {
                let t = view.text.get(h.start..h.end).unwrap_or("");
                Rule::suspect_phone(
                    t.chars()
                        .filter(|&c| super::chars::digit_value(c).is_some())
                        .count(),
                )
            }
        }
    }

    fn secret_masked(&self, view: &View<'_>, h: &Hit) -> (SecretKind, String) {
        match h.what {
            What::Phone(id) => (
                SecretKind::Phone,
                self.phones
                    .entries
                    .get(id as usize)
                    .map(|e| mask::phone_secret(&e.number))
                    .unwrap_or_default(),
            ),
            What::Email(id) => (
                SecretKind::Email,
                self.email_masked
                    .get(id as usize)
                    .cloned()
                    .unwrap_or_default(),
            ),
            What::Suspect(kind) => {
                let t = view.text.get(h.start..h.end).unwrap_or("");
                (kind, mask::suspect_secret(kind == SecretKind::Phone, t))
            }
        }
    }

    /// Every secret / suspect span of `text` in all its decoded views, in
    /// root coordinates, sorted and merged. Used by redaction and to mask
    /// pointer segments.
    pub(crate) fn spans(&self, text: &str, shapes: bool) -> Vec<Span> {
        let mut out = Vec::new();
        self.collect_spans(text, View::root(text), 0, shapes, &mut out);
        out.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        let mut merged: Vec<Span> = Vec::with_capacity(out.len());
        for s in out {
            match merged.last_mut() {
                Some(last) if s.start < last.end => {
                    if s.end > last.end {
                        last.end = s.end;
                        last.masked = star_all(text.get(last.start..last.end).unwrap_or(""));
                    }
                }
                _ => merged.push(s),
            }
        }
        merged
    }

    fn collect_spans(
        &self,
        root: &str,
        view: View<'_>,
        depth: usize,
        shapes: bool,
        out: &mut Vec<Span>,
    ) {
        let sum = Summary::of(view.text);
        let derived = if depth < MAX_DEPTH {
            derived_views(view.text, sum)
        } else {
            Vec::new()
        };
        // Shapes are judged in every view, raw included: digits of escape
        // sequences (`%20`) may then over-redact an encoded business number,
        // which is harmless, while skipping a view could let a made-up
        // number through where a real one is redacted (an oracle).
        let mut hits = Vec::new();
        self.plain_hits(view.text, sum, &mut hits, shapes);
        for h in &hits {
            let kind = match h.what {
                What::Phone(_) | What::Suspect(SecretKind::Phone) => SecretKind::Phone,
                _ => SecretKind::Email,
            };
            out.push(Span {
                start: view.off(h.start),
                end: view.off(h.end),
                kind,
                masked: mask::render(root, &view, h.start, h.end, self.rule(&view, h)),
            });
        }
        for (t, local) in derived {
            let map = decode::compose(&local, |o| view.off(o));
            let v = View {
                text: &t,
                base: 0,
                map: Some(&map),
            };
            self.collect_spans(root, v, depth + 1, shapes, out);
        }
    }
}

/// The views derived from one text, each scanned like the text itself (and
/// derived again, to a bounded depth): the decoded view (backslash escapes,
/// percent-encoding, HTML references), the folded view (NFKC, default
/// ignorables removed) and every base64 / base64url segment that decodes
/// to text (JWT parts, `data:` URIs). Each carries its offset map.
#[inline]
fn derived_views(text: &str, sum: Summary) -> Vec<decode::Decoded> {
    if has_views(sum) {
        derive(text, sum)
    } else {
        Vec::new()
    }
}

/// Does a text with this summary have any derived view?
#[inline]
fn has_views(sum: Summary) -> bool {
    sum.flags & (flag::BACKSLASH | flag::PERCENT | flag::AMP | flag::NON_ASCII) != 0
        || sum.max_b64 >= decode::MIN_BASE64_RUN as u32
}

#[inline(never)]
fn derive(text: &str, sum: Summary) -> Vec<decode::Decoded> {
    let flags = sum.flags;
    let mut views = Vec::new();
    if flags & (flag::BACKSLASH | flag::PERCENT | flag::AMP) != 0
        && let Some(d) = decode::decode_text(text)
    {
        views.push(d);
    }
    if flags & flag::NON_ASCII != 0
        && let Some(d) = decode::fold_text(text)
    {
        views.push(d);
    }
    if sum.max_b64 >= decode::MIN_BASE64_RUN as u32 {
        views.extend(decode::base64_segments(text));
    }
    views
}

fn star_all(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_alphanumeric() { '*' } else { c })
        .collect()
}

/// A secret or suspect occurrence in root coordinates.
#[derive(Clone, Debug)]
pub(crate) struct Span {
    /// First byte in the root text.
    pub start: usize,
    /// Byte just after the span in the root text.
    pub end: usize,
    /// Phone or email.
    pub kind: SecretKind,
    /// The root text of the span with its secret digits/characters masked.
    pub masked: String,
}

/// One segment of the current JSON location.
enum Seg {
    Index(usize),
    /// A key that is a plain slice of the root document (the common case:
    /// no allocation).
    RootKey(usize, usize),
    /// A key from a decoded view or with escapes.
    Owned(String),
}

/// State of one `scan_json` / `scan_text` call.
pub(crate) struct Engine<'s> {
    sc: &'s LeakScanner,
    root: &'s str,
    prefix: &'s str,
    nest_json: bool,
    path: Vec<Seg>,
    /// Findings with their secret and root span (for deduplication).
    findings: Vec<(Finding, What, usize)>,
    suspects: Vec<Finding>,
}

impl<'s> Engine<'s> {
    /// A scan of `root`; findings' pointers start with `prefix`; with
    /// `nest_json`, strings that are JSON documents are walked as JSON.
    pub fn new(sc: &'s LeakScanner, root: &'s str, prefix: &'s str, nest_json: bool) -> Self {
        Engine {
            sc,
            root,
            prefix,
            nest_json,
            path: Vec::new(),
            findings: Vec::new(),
            suspects: Vec::new(),
        }
    }

    /// Scan the whole root. `sum` may over-approximate
    /// ([`Summary::ALL`] skips a pass computing it).
    pub fn run(mut self, sum: Summary) -> Scan {
        let root = self.root;
        // A UTF-8 byte order mark would hide the document's opening brace.
        let view = match root.strip_prefix('\u{FEFF}') {
            Some(rest) if self.nest_json => View {
                text: rest,
                base: root.len() - rest.len(),
                map: None,
            },
            _ => View::root(root),
        };
        self.scan_view(view, 0, sum);
        self.finish()
    }

    /// One finding per secret per pointer, at the position of its first
    /// occurrence. When several views saw it (raw and decoded), keep the
    /// widest rendering: `%2B1555***4567` says more than `1555***4567`.
    fn finish(self) -> Scan {
        let mut slot: HashMap<(String, u8, u32), usize> = HashMap::new();
        let mut kept: Vec<(Finding, usize)> = Vec::new();
        for (f, what, width) in self.findings {
            let id = match what {
                What::Phone(id) => (0u8, id),
                What::Email(id) => (1u8, id),
                What::Suspect(_) => (2u8, 0),
            };
            match slot.entry((f.pointer.clone(), id.0, id.1)) {
                Entry::Occupied(e) => {
                    if let Some(k) = kept.get_mut(*e.get())
                        && width > k.1
                    {
                        *k = (f, width);
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(kept.len());
                    kept.push((f, width));
                }
            }
        }
        let findings = kept.into_iter().map(|(f, _)| f).collect();
        let mut seen = HashSet::new();
        let suspects = self
            .suspects
            .into_iter()
            .filter(|f| seen.insert((f.pointer.clone(), f.secret_masked.clone())))
            .collect();
        Scan { findings, suspects }
    }

    /// Scan one view: as embedded JSON if it is one, else the plain pass,
    /// then (if it has anything to decode) its decoded view.
    ///
    /// Returns whether the view was walked as embedded JSON.
    fn scan_view(&mut self, view: View<'_>, depth: usize, sum: Summary) -> bool {
        if self.nest_json && depth < MAX_DEPTH && json::looks_like_json(view.text) {
            let marks = (self.findings.len(), self.suspects.len(), self.path.len());
            let mut w = Walker {
                eng: self,
                view,
                depth: depth + 1,
            };
            if json::walk(view.text, &mut w).is_ok() {
                return true;
            }
            self.findings.truncate(marks.0);
            self.suspects.truncate(marks.1);
            self.path.truncate(marks.2);
        }
        self.plain(view, sum);
        if depth >= MAX_DEPTH {
            return false;
        }
        for (t, local) in derived_views(view.text, sum) {
            let map = decode::compose(&local, |o| view.off(o));
            let v = View {
                text: &t,
                base: 0,
                map: Some(&map),
            };
            self.scan_view(v, depth + 1, Summary::of(&t));
        }
        false
    }

    fn plain(&mut self, view: View<'_>, sum: Summary) {
        if sum.flags & (flag::DIGIT | flag::NON_ASCII | flag::AT) == 0 {
            return;
        }
        let mut hits = Vec::new();
        self.sc.plain_hits(view.text, sum, &mut hits, false);
        if hits.is_empty() {
            return;
        }
        let pointer = self.pointer();
        for h in &hits {
            let (kind, secret_masked) = self.sc.secret_masked(&view, h);
            let f = Finding {
                pointer: pointer.clone(),
                kind,
                secret_masked,
                matched_masked: mask::render(
                    self.root,
                    &view,
                    h.start,
                    h.end,
                    self.sc.rule(&view, h),
                ),
            };
            match h.what {
                What::Suspect(_) => self.suspects.push(f),
                what => {
                    let width = view.off(h.end) - view.off(h.start);
                    self.findings.push((f, what, width))
                }
            }
        }
    }

    /// The RFC 6901 pointer of the current location, with any secret or
    /// suspect inside a key masked (a map keyed by phone number must not
    /// print the number in its pointer).
    fn pointer(&self) -> String {
        let mut p = String::from(self.prefix);
        for seg in &self.path {
            p.push('/');
            let key = match seg {
                Seg::Index(i) => {
                    p.push_str(&i.to_string());
                    continue;
                }
                Seg::RootKey(s, e) => self.root.get(*s..*e).unwrap_or(""),
                Seg::Owned(k) => k.as_str(),
            };
            let masked = self.sc.mask_text(key);
            for c in masked.chars() {
                match c {
                    '~' => p.push_str("~0"),
                    '/' => p.push_str("~1"),
                    c => p.push(c),
                }
            }
        }
        p
    }
}

/// Visitor binding the JSON walk of one view to the engine.
struct Walker<'e, 's, 'v> {
    eng: &'e mut Engine<'s>,
    view: View<'v>,
    depth: usize,
}

impl Walker<'_, '_, '_> {
    /// A string token: as written (the raw pass), and JSON-unescaped if it
    /// has escapes. The unescaped view is scanned first so its (fuller)
    /// rendering wins deduplication. When the unescaped text is itself a
    /// JSON document, its walk already saw every string of it (with inner
    /// pointers), so the raw pass is skipped.
    fn token(&mut self, s: usize, e: usize, sum: Summary) {
        // Most tokens (keys, statuses, ids) can hold nothing: no embedded
        // JSON, no derived view, nothing the plain pass could find.
        let worth_scanning = has_views(sum)
            || self.eng.sc.may_hit(sum)
            || self.eng.nest_json && json::looks_like_json(self.view.text.get(s..e).unwrap_or(""));
        if !worth_scanning {
            return;
        }
        let sub = self.view.sub(s, e);
        if sum.flags & flag::BACKSLASH == 0 {
            self.eng.scan_view(sub, self.depth, sum);
            return;
        }
        if let Some((t, local)) = decode::json_unescape(sub.text) {
            let map = decode::compose(&local, |o| sub.off(o));
            let v = View {
                text: &t,
                base: 0,
                map: Some(&map),
            };
            if self.eng.scan_view(v, self.depth, Summary::of(&t)) {
                return;
            }
        }
        self.eng.plain(sub, sum);
    }
}

impl json::Visitor for Walker<'_, '_, '_> {
    fn key(&mut self, s: usize, e: usize, sum: Summary) {
        let seg = if sum.flags & flag::BACKSLASH != 0 {
            let raw = self.view.text.get(s..e).unwrap_or("");
            Seg::Owned(decode::json_unescape(raw).map_or_else(|| raw.to_string(), |d| d.0))
        } else if self.view.map.is_none() {
            Seg::RootKey(self.view.base + s, self.view.base + e)
        } else {
            Seg::Owned(self.view.text.get(s..e).unwrap_or("").to_string())
        };
        self.eng.path.push(seg);
        self.token(s, e, sum);
    }
    fn end_member(&mut self) {
        self.eng.path.pop();
    }
    fn index(&mut self, i: usize) {
        self.eng.path.push(Seg::Index(i));
    }
    fn end_index(&mut self) {
        self.eng.path.pop();
    }
    fn string(&mut self, s: usize, e: usize, sum: Summary) {
        self.token(s, e, sum);
    }
    fn number(&mut self, s: usize, e: usize) {
        let sub = self.view.sub(s, e);
        // Numbers hold only ASCII digits and `-+.eE`.
        if e - s >= 6 {
            let sum = Summary {
                flags: flag::DIGIT,
                max_run: (e - s) as u32,
                max_b64: 0,
            };
            self.eng.plain(sub, sum);
        }
    }
}
