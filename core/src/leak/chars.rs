//! Character classes used by the phone walker.
//!
//! A phone number leaks whatever script its digits are written in, so the
//! walker treats every Unicode decimal digit (general category `Nd`) as a
//! digit. All `Nd` characters come in contiguous blocks of ten starting at a
//! "zero" code point, which lets a sorted table of the zeros plus a binary
//! search stand in for a full Unicode database.
//!
//! Separators are characters that may sit *between* the digits of one number
//! without ending it: the usual punctuation of phone formatting, the many
//! Unicode spaces and dashes, and invisible characters that are (ab)used to
//! dodge naive filters.

/// Zero code point of every `Nd` block (Unicode 16). Each block holds the
/// digits zero..nine at consecutive code points. Sorted, for binary search.
/// A unit test checks every entry against `char::is_numeric`.
const ND_ZEROS: &[u32] = &[
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10, 0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450,
    0x114D0, 0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50,
    0x11D50, 0x11DA0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// What a character means to the phone walker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// A decimal digit with its value 0..=9.
    Digit(u8),
    /// May appear between digits of one number (formatting or invisible).
    Sep,
    /// Ends the current digit run.
    Other,
}

/// ASCII fast path: built at compile time so the hot loop is a table load.
const ASCII_CLASS: [Class; 128] = {
    let mut t = [Class::Other; 128];
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = Class::Digit(d as u8);
        d += 1;
    }
    let seps = b" \t.-()[]/+";
    let mut i = 0;
    while i < seps.len() {
        t[seps[i] as usize] = Class::Sep;
        i += 1;
    }
    t
};

/// Classify an ASCII byte (callers guarantee `b < 0x80`).
#[inline(always)]
pub(crate) fn ascii_class(b: u8) -> Class {
    ASCII_CLASS[(b & 0x7F) as usize]
}

/// Value of a Unicode decimal digit, if `c` is one.
#[inline]
pub(crate) fn digit_value(c: char) -> Option<u8> {
    let cp = c as u32;
    if cp < 0x80 {
        return c.to_digit(10).map(|d| d as u8);
    }
    if cp < 0x0660 {
        return None;
    }
    let idx = ND_ZEROS.partition_point(|&z| z <= cp);
    let zero = ND_ZEROS[idx.checked_sub(1)?];
    let off = cp - zero;
    (off < 10).then_some(off as u8)
}

/// True for characters that are invisible when rendered: zero-width
/// space/joiners, word joiner, BOM, soft hyphen and the bidi controls.
#[inline]
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Classify any character.
#[inline]
pub(crate) fn class(c: char) -> Class {
    if c.is_ascii() {
        return ascii_class(c as u8);
    }
    if let Some(d) = digit_value(c) {
        return Class::Digit(d);
    }
    if is_invisible(c) {
        return Class::Sep;
    }
    match c {
        // NBSP, en/em/thin/hair/... spaces, narrow NBSP, medium math space,
        // ideographic space.
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
        // Hyphen, non-breaking hyphen, figure dash, en/em dash, bar, minus.
        | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}'
        // Fullwidth ( ) + - . / [ ]
        | '\u{FF08}' | '\u{FF09}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF0E}' | '\u{FF0F}'
        | '\u{FF3B}' | '\u{FF3D}' => Class::Sep,
        _ => Class::Other,
    }
}

/// Characters that open a phone rendering just before its first digit and
/// belong to the matched text: `+`, `(`, `[` and their fullwidth forms.
#[inline]
pub(crate) fn is_opener(c: char) -> bool {
    matches!(c, '+' | '(' | '[' | '\u{FF0B}' | '\u{FF08}' | '\u{FF3B}')
}

/// Render one character for human output: invisible and control characters
/// become `\u{..}` so a masked rendering shows *how* a number was disguised
/// instead of silently hiding it.
pub(crate) fn push_visible(out: &mut String, s: &str) {
    for c in s.chars() {
        if is_invisible(c) || c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nd_table_is_sorted_and_numeric() {
        assert!(ND_ZEROS.windows(2).all(|w| w[0] + 10 <= w[1]));
        for &z in ND_ZEROS {
            for d in 0..10 {
                let c = char::from_u32(z + d).expect("valid scalar");
                assert!(c.is_numeric(), "{:x} not numeric", z + d);
                assert_eq!(digit_value(c), Some(d as u8));
            }
        }
    }

    #[test]
    fn classes() {
        assert_eq!(class('٥'), Class::Digit(5));
        assert_eq!(class('５'), Class::Digit(5));
        assert_eq!(class('७'), Class::Digit(7));
        assert_eq!(class('\u{200B}'), Class::Sep);
        assert_eq!(class('–'), Class::Sep);
        assert_eq!(class('a'), Class::Other);
        assert_eq!(class('½'), Class::Other);
        assert_eq!(digit_value('²'), None);
    }
}
