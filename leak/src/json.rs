//! A small allocation-free JSON tokenizer that drives the scanner.
//!
//! Why not `serde_json::Value`? Building a tree allocates for every string
//! and key, which alone costs more than the whole scan budget. This walker
//! validates the document, tracks where it is (so findings get a JSON
//! pointer) and hands the scanner each string token *in place*, with a
//! summary of which byte classes it contains, so strings that cannot hold a
//! secret are skipped after a single pass over their bytes.

/// Byte-class flags accumulated over a string token.
pub(crate) mod flag {
    /// A `\` (an escape, in JSON or in text).
    pub const BACKSLASH: u8 = 1;
    /// An ASCII digit.
    pub const DIGIT: u8 = 2;
    /// A byte of a non-ASCII character.
    pub const NON_ASCII: u8 = 4;
    /// An `@` (a possible email).
    pub const AT: u8 = 8;
    /// A `%` (possible percent-encoding).
    pub const PERCENT: u8 = 16;
    /// An `&` (possible HTML reference).
    pub const AMP: u8 = 32;
    /// A `+` (possible E.164 number).
    pub const PLUS: u8 = 64;
    /// A `"` or `\`: ends the tokenizer's fast loop (never in a summary).
    pub const QUOTE: u8 = 128;
}

/// Per-byte flags; `QUOTE` marks the bytes that end the fast loop.
pub(crate) const FLAGS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        if i >= 0x80 {
            t[i] = flag::NON_ASCII;
        }
        i += 1;
    }
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = flag::DIGIT;
        d += 1;
    }
    t[b'@' as usize] = flag::AT;
    t[b'%' as usize] = flag::PERCENT;
    t[b'&' as usize] = flag::AMP;
    t[b'+' as usize] = flag::PLUS;
    t[b'"' as usize] = flag::QUOTE;
    t[b'\\' as usize] = flag::QUOTE | flag::BACKSLASH;
    t
};

/// Pre-scan tables for the longest possible digit run: `RUN_ADD` is 1 for
/// an ASCII digit and (conservatively) for any non-ASCII byte, `RUN_KEEP`
/// is all-ones for bytes that may continue a run (digits, every ASCII
/// character that is not a letter — the separator class of
/// [`super::chars`] — and non-ASCII) and 0 for ASCII letters, which end it.
/// Updating `run = (run + ADD) & KEEP` is branch-free, so it rides along
/// the tokenizer's byte loop almost for free. The bound ignores the cap on
/// separators in a row, so it only ever over-approximates.
const RUN_ADD: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        if i >= 0x80 || (i >= b'0' as usize && i <= b'9' as usize) {
            t[i] = 1;
        }
        i += 1;
    }
    t
};
const RUN_KEEP: [u32; 256] = {
    let mut t = [u32::MAX; 256];
    let mut i = 0;
    while i < 128 {
        if (i as u8).is_ascii_alphabetic() {
            t[i] = 0;
        }
        i += 1;
    }
    t
};

/// All-ones for the base64/base64url alphabet (and `=`), 0 otherwise:
/// `b64 = (b64 + 1) & B64_KEEP[b]` measures the longest run that could be
/// a base64 segment, so strings without one skip that view for free.
const B64_KEEP: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        if b.is_ascii_alphanumeric()
            || b == b'+'
            || b == b'/'
            || b == b'-'
            || b == b'_'
            || b == b'='
        {
            t[i] = u32::MAX;
        }
        i += 1;
    }
    t
};

/// What a text contains, cheaply: byte-class [`flag`]s and an upper bound
/// on the digits in any phone digit run. The scanner skips every pass that
/// the summary proves useless.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Summary {
    /// OR of the [`flag`]s of every byte.
    pub flags: u8,
    /// Upper bound on the digits of any phone digit run.
    pub max_run: u32,
    /// Longest run of base64/base64url alphabet bytes.
    pub max_b64: u32,
}

impl Summary {
    /// "Could contain anything": used where computing it would cost a pass.
    pub const ALL: Summary = Summary {
        flags: u8::MAX,
        max_run: u32::MAX,
        max_b64: u32::MAX,
    };

    /// The summary of `text` (see [`Self::of_bytes`]).
    pub fn of(text: &str) -> Summary {
        Summary::of_bytes(text.as_bytes())
    }

    /// Summary of raw bytes. A string long enough to hold a base64 segment
    /// ([`MIN_BASE64_RUN`](super::decode::MIN_BASE64_RUN)) gets its flags
    /// and both run maxima in one pass (three independent chains, so about
    /// the cost of the flags alone); a shorter one gets its flags, the
    /// digit-run bound only when a digit or non-ASCII byte is present (else
    /// 0), and its length as the base64 bound (below the threshold).
    pub fn of_bytes(bytes: &[u8]) -> Summary {
        let (flags, max_run, max_b64) = if bytes.len() >= super::decode::MIN_BASE64_RUN {
            all_in_one_pass(bytes)
        } else {
            let flags = bytes.iter().fold(0u8, |f, &b| f | FLAGS[b as usize]);
            let run = if needs_run(flags) {
                digit_run(bytes)
            } else {
                0
            };
            (flags, run, bytes.len() as u32)
        };
        Summary {
            flags: flags & !flag::QUOTE,
            max_run: if needs_run(flags) { max_run } else { 0 },
            max_b64,
        }
    }
}

/// A digit run can only exist where a digit or a non-ASCII byte is.
fn needs_run(flags: u8) -> bool {
    flags & (flag::DIGIT | flag::NON_ASCII) != 0
}

/// Longest digit run (see [`RUN_ADD`]).
fn digit_run(bytes: &[u8]) -> u32 {
    let (mut run, mut max_run) = (0u32, 0u32);
    for &b in bytes {
        run = (run + RUN_ADD[b as usize]) & RUN_KEEP[b as usize];
        max_run = max_run.max(run);
    }
    max_run
}

/// The byte flags, the longest digit run (see [`RUN_ADD`]) and the longest
/// base64 run (see [`B64_KEEP`]) in one pass.
fn all_in_one_pass(bytes: &[u8]) -> (u8, u32, u32) {
    let mut flags = 0u8;
    let (mut run, mut max_run, mut b64, mut max_b64) = (0u32, 0u32, 0u32, 0u32);
    for &b in bytes {
        flags |= FLAGS[b as usize];
        run = (run + RUN_ADD[b as usize]) & RUN_KEEP[b as usize];
        max_run = max_run.max(run);
        b64 = (b64 + 1) & B64_KEEP[b as usize];
        max_b64 = max_b64.max(b64);
    }
    (flags, max_run, max_b64)
}

/// Deepest nesting accepted before the document is treated as text
/// (keeps recursion far from the stack limit on hostile input).
const MAX_DEPTH: usize = 128;

/// Callbacks for the walk. Ranges are byte ranges of `text` (string ranges
/// exclude the quotes).
pub(crate) trait Visitor {
    /// An object key; stays "current" until `end_member`.
    fn key(&mut self, start: usize, end: usize, sum: Summary);
    fn end_member(&mut self);
    fn index(&mut self, i: usize);
    fn end_index(&mut self);
    fn string(&mut self, start: usize, end: usize, sum: Summary);
    fn number(&mut self, start: usize, end: usize);
}

/// The document is not (entirely) JSON.
#[derive(Debug)]
pub(crate) struct NotJson;

/// Walk `text` as one JSON value surrounded by optional whitespace.
pub(crate) fn walk(text: &str, v: &mut impl Visitor) -> Result<(), NotJson> {
    let mut p = Parser {
        b: text.as_bytes(),
        i: 0,
    };
    p.ws();
    p.value(v, 0)?;
    p.ws();
    if p.i == p.b.len() {
        Ok(())
    } else {
        Err(NotJson)
    }
}

/// True if the text's first non-blank byte opens an object or array: the
/// cheap test before trying to walk a string as embedded JSON.
pub(crate) fn looks_like_json(text: &str) -> bool {
    matches!(
        text.bytes().find(|b| !b.is_ascii_whitespace()),
        Some(b'{') | Some(b'[')
    )
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Result<(), NotJson> {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(NotJson)
        }
    }

    fn value(&mut self, v: &mut impl Visitor, depth: usize) -> Result<(), NotJson> {
        if depth > MAX_DEPTH {
            return Err(NotJson);
        }
        match *self.b.get(self.i).ok_or(NotJson)? {
            b'{' => self.object(v, depth),
            b'[' => self.array(v, depth),
            b'"' => {
                let (s, e, f) = self.string()?;
                v.string(s, e, f);
                Ok(())
            }
            b't' => self.lit(b"true"),
            b'f' => self.lit(b"false"),
            b'n' => self.lit(b"null"),
            b'-' | b'0'..=b'9' => {
                let s = self.i;
                self.number()?;
                v.number(s, self.i);
                Ok(())
            }
            _ => Err(NotJson),
        }
    }

    fn lit(&mut self, word: &[u8]) -> Result<(), NotJson> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(NotJson)
        }
    }

    fn number(&mut self) -> Result<(), NotJson> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        if digits(self) == 0 {
            return Err(NotJson);
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(NotJson);
            }
        }
        if matches!(self.b.get(self.i), Some(b'e') | Some(b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+') | Some(b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(NotJson);
            }
        }
        debug_assert!(self.i > start);
        Ok(())
    }

    /// A string token starting at the opening quote. Returns the content
    /// range and its [`Summary`].
    ///
    /// The closing quote is found with `memchr` (SIMD) first; the summary
    /// is then taken over the slice by [`Summary::of_bytes`], which skips
    /// the running maxima a string's flags and length prove useless. Only
    /// strings with an escape take the byte-by-byte loop.
    #[inline]
    fn string(&mut self) -> Result<(usize, usize, Summary), NotJson> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = self.b.get(start..).unwrap_or_default();
        match memchr::memchr2(b'"', b'\\', rest) {
            Some(k) if rest[k] == b'"' => {
                self.i = start + k + 1;
                Ok((start, start + k, Summary::of_bytes(&rest[..k])))
            }
            Some(_) => self.escaped_string(start),
            None => Err(NotJson),
        }
    }

    /// The rest of [`Self::string`] for a string holding a backslash: the
    /// escaped byte is skipped (a `\uXXXX` tail is ordinary text) and ends
    /// a base64 run.
    fn escaped_string(&mut self, start: usize) -> Result<(usize, usize, Summary), NotJson> {
        let b = self.b;
        let (mut flags, mut run, mut max_run) = (0u8, 0u32, 0u32);
        let (mut b64, mut max_b64) = (0u32, 0u32);
        let mut i = start;
        loop {
            while let Some(&c) = b.get(i) {
                let f = FLAGS[c as usize];
                if f & flag::QUOTE != 0 {
                    break;
                }
                flags |= f;
                run = (run + RUN_ADD[c as usize]) & RUN_KEEP[c as usize];
                max_run = max_run.max(run);
                b64 = (b64 + 1) & B64_KEEP[c as usize];
                max_b64 = max_b64.max(b64);
                i += 1;
            }
            match b.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    flags |= flag::BACKSLASH;
                    if i + 1 >= b.len() {
                        return Err(NotJson);
                    }
                    i += 2;
                    b64 = 0;
                }
                _ => return Err(NotJson),
            }
        }
        self.i = i + 1;
        Ok((
            start,
            i,
            Summary {
                flags,
                max_run,
                max_b64,
            },
        ))
    }

    fn object(&mut self, v: &mut impl Visitor, depth: usize) -> Result<(), NotJson> {
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_ok() {
            return Ok(());
        }
        loop {
            self.ws();
            let (s, e, f) = self.string()?;
            v.key(s, e, f);
            self.ws();
            self.eat(b':')?;
            self.ws();
            self.value(v, depth + 1)?;
            v.end_member();
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(NotJson),
            }
        }
    }

    fn array(&mut self, v: &mut impl Visitor, depth: usize) -> Result<(), NotJson> {
        self.eat(b'[')?;
        self.ws();
        if self.eat(b']').is_ok() {
            return Ok(());
        }
        let mut n = 0;
        loop {
            self.ws();
            v.index(n);
            self.value(v, depth + 1)?;
            v.end_index();
            n += 1;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(NotJson),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Rec(Vec<String>);
    impl Visitor for Rec {
        fn key(&mut self, s: usize, e: usize, _: Summary) {
            self.0.push(format!("k{s}-{e}"));
        }
        fn end_member(&mut self) {}
        fn index(&mut self, i: usize) {
            self.0.push(format!("i{i}"));
        }
        fn end_index(&mut self) {}
        fn string(&mut self, s: usize, e: usize, _: Summary) {
            self.0.push(format!("s{s}-{e}"));
        }
        fn number(&mut self, s: usize, e: usize) {
            self.0.push(format!("n{s}-{e}"));
        }
    }

    #[test]
    fn walks_and_rejects() {
        let mut r = Rec::default();
        walk(r#"{"a":[1,"x\"y"],"b":null}"#, &mut r).expect("valid");
        assert_eq!(r.0, ["k2-3", "i0", "n6-7", "i1", "s9-13", "k17-18"]);
        for bad in [
            "", "{", "[1,]", "{\"a\"}", "\"abc", "1 2", "tru", "-", "1.", "\"\\",
        ] {
            assert!(walk(bad, &mut Rec::default()).is_err(), "{bad}");
        }
        let deep = "[".repeat(10_000);
        assert!(walk(&deep, &mut Rec::default()).is_err());
    }
    /// Longest run by the rule as written (chars, not tables): digits and
    /// non-ASCII bytes count, ASCII letters end a run; and the longest run
    /// of base64/base64url characters.
    fn oracle(text: &str) -> (u32, u32) {
        let (mut run, mut max_run, mut b64, mut max_b64) = (0, 0, 0, 0);
        for b in text.bytes() {
            run = if b.is_ascii_alphabetic() {
                0
            } else {
                run + u32::from(b.is_ascii_digit() || b >= 0x80)
            };
            max_run = max_run.max(run);
            b64 = if b.is_ascii_alphanumeric() || b"+/-_=".contains(&b) {
                b64 + 1
            } else {
                0
            };
            max_b64 = max_b64.max(b64);
        }
        (max_run, max_b64)
    }

    fn check(text: &str, flags: u8) {
        let sum = Summary::of(text);
        let (run, b64) = oracle(text);
        assert_eq!(sum.flags, flags, "flags of {text:?}");
        // Bounds never under-estimate, and are exact where a threshold
        // could be met (digit runs of 6+, base64 runs of 16+).
        assert!(
            sum.max_run >= run && (run < 6 || sum.max_run == run),
            "{text:?}"
        );
        assert!(
            sum.max_b64 >= b64 && (b64 < 16 || sum.max_b64 == b64),
            "{text:?}"
        );
        assert!(sum.max_run < 6 || sum.max_run == run, "{text:?}");
        assert!(sum.max_b64 < 16 || sum.max_b64 == b64, "{text:?}");
    }

    #[test]
    fn summary_bounds_runs_exactly_where_it_matters() {
        use flag::*;
        check("", 0);
        check("delivered", 0);
        check("gate 4411, code 12", DIGIT);
        check("msg_0a1b2c3d4e5f60718293a4b5", DIGIT);
        check("call 555 123 4567 or 555-1234", DIGIT);
        check("555a1234567 x 12345678901234", DIGIT);
        check("+1 (555) 123-4567", DIGIT | PLUS);
        check("٥٥٥١٢٣٤٥٦٧ a@b.c", NON_ASCII | AT);
        check("eyJhbGciOiJIUzI1NiJ9.eyJwaG9uZSI6IisxNTU1In0", DIGIT);
        check("50%25 & co\\n", DIGIT | PERCENT | AMP | BACKSLASH);
        check(&"7".repeat(300_000), DIGIT);
        check(&"ab1-".repeat(70_000), DIGIT);
        // Long enough for the one-pass summary: without digits, and with only non-ASCII runs.
        check("the quick brown fox jumps over the lazy dog", 0);
        check("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef+/==", PLUS);
        check("Добрый вечер, собака гуляла долго", NON_ASCII);
    }
}
