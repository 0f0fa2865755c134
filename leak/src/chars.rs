//! Character classes used by the phone walker and the email fold, defined by
//! Unicode properties (never by a hand-kept list of characters).
//!
//! * **Digits** are the general category `Nd` (any script: Arabic-Indic,
//!   Devanagari, fullwidth, mathematical…). All `Nd` characters come in
//!   contiguous blocks of ten starting at a "zero" code point, so a sorted
//!   table of the zeros gives each digit its value; a unit test checks the
//!   table against the general-category data of `unicode-general-category`
//!   for every code point.
//! * **Separators** are every character whose general category is neither a
//!   letter (`L*`) nor a number (`N*`): whitespace and line breaks (`Zs`,
//!   `Zl`, `Zp`, `Cc`), all punctuation (`P*`) and symbols (`S*`), format
//!   and invisible characters (`Cf`), combining marks (`Mn`, `Mc`, `Me`,
//!   which include the keycap U+20E3 and the variation selectors), and
//!   unassigned / private-use code points. Such a character may sit between
//!   two digits of one number; the walker allows at most
//!   [`MAX_SEPARATOR_RUN`] of them in a row.
//! * **Other** (letters, `Nl`, `No` such as `½`) ends a digit run.

use unicode_general_category::{GeneralCategory as Gc, get_general_category};

/// Most separator characters allowed in a row between two digits of one
/// number. Four covers a keycap plus a space (`5\u{FE0F}\u{20E3} `), CRLF
/// plus indentation and ` - ` spacing, while prose such as
/// `room 12 ... floor 345` still splits.
pub(crate) const MAX_SEPARATOR_RUN: u32 = 4;

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
    /// A decimal digit (`Nd`) with its value 0..=9.
    Digit(u8),
    /// Neither letter nor number: may appear between digits of one number.
    Sep,
    /// A letter or a non-decimal number: ends the current digit run.
    Other,
}

/// ASCII fast path, built at compile time so the hot loop is a table load:
/// digits, letters (`Other`) and everything else (`Sep`), which is what the
/// general category gives for ASCII (a unit test checks it).
const ASCII_CLASS: [Class; 128] = {
    let mut t = [Class::Sep; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        if b.is_ascii_digit() {
            t[i] = Class::Digit(b - b'0');
        } else if b.is_ascii_alphabetic() {
            t[i] = Class::Other;
        }
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

/// Is the general category of `c` a letter (`L*`) or a number (`N*`)?
#[inline]
fn is_letter_or_number(gc: Gc) -> bool {
    matches!(
        gc,
        Gc::UppercaseLetter
            | Gc::LowercaseLetter
            | Gc::TitlecaseLetter
            | Gc::ModifierLetter
            | Gc::OtherLetter
            | Gc::DecimalNumber
            | Gc::LetterNumber
            | Gc::OtherNumber
    )
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
    if is_letter_or_number(get_general_category(c)) {
        Class::Other
    } else {
        Class::Sep
    }
}

/// Other_Default_Ignorable_Code_Point (PropList.txt, Unicode 16): the part of
/// Default_Ignorable_Code_Point that general category and
/// Variation_Selector do not give.
const OTHER_DEFAULT_IGNORABLE: &[(u32, u32)] = &[
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x2065, 0x2065),
    (0x3164, 0x3164),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0000),
    (0xE0002, 0xE001F),
    (0xE0080, 0xE00FF),
    (0xE01F0, 0xE0FFF),
];

/// Variation_Selector (PropList.txt).
const VARIATION_SELECTORS: &[(u32, u32)] = &[
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0xFE00, 0xFE0F),
    (0xE0100, 0xE01EF),
];

/// Cf characters that DerivedCoreProperties.txt excludes from
/// Default_Ignorable_Code_Point: the interlinear annotation characters
/// U+FFF9..U+FFFB, Egyptian hieroglyph format controls and the
/// Prepended_Concatenation_Marks (visible signs such as U+0600).
const NOT_DEFAULT_IGNORABLE_CF: &[(u32, u32)] = &[
    (0x0600, 0x0605),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0xFFF9, 0xFFFB),
    (0x13430, 0x1343F),
];

fn in_ranges(ranges: &[(u32, u32)], cp: u32) -> bool {
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp))
}

/// Default_Ignorable_Code_Point, derived as DerivedCoreProperties.txt
/// defines it: `Other_DICP + Cf + Variation_Selector - White_Space -
/// FFF9..FFFB - 13430..1343F - Prepended_Concatenation_Mark`. Zero-width
/// space and joiners, soft hyphen, word joiner, invisible operators, BOM,
/// bidi controls, Mongolian vowel separator, variation selectors, tags…
#[inline]
pub(crate) fn is_default_ignorable(c: char) -> bool {
    let cp = c as u32;
    if cp < 0xAD {
        return false;
    }
    if in_ranges(OTHER_DEFAULT_IGNORABLE, cp) || in_ranges(VARIATION_SELECTORS, cp) {
        return true;
    }
    get_general_category(c) == Gc::Format
        && !c.is_whitespace()
        && !in_ranges(NOT_DEFAULT_IGNORABLE_CF, cp)
}

/// Characters that open a phone rendering just before its first digit and
/// belong to the matched text: `+`, `(`, `[` and their fullwidth forms.
#[inline]
pub(crate) fn is_opener(c: char) -> bool {
    matches!(c, '+' | '(' | '[' | '\u{FF0B}' | '\u{FF08}' | '\u{FF3B}')
}

/// Should `c` be shown escaped in human output? Invisible (default
/// ignorable), control, line/paragraph separator and combining marks.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || is_default_ignorable(c)
        || matches!(
            get_general_category(c),
            Gc::LineSeparator | Gc::ParagraphSeparator | Gc::EnclosingMark | Gc::NonspacingMark
        )
}

/// Render one character for human output: invisible and control characters
/// become `\u{..}` so a masked rendering shows *how* a number was disguised
/// instead of silently hiding it.
pub(crate) fn push_visible(out: &mut String, s: &str) {
    for c in s.chars() {
        if !c.is_ascii() && is_hidden(c) || c.is_ascii_control() {
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
    fn nd_table_matches_unicode_data() {
        assert!(ND_ZEROS.windows(2).all(|w| w[0] + 10 <= w[1]));
        for &z in ND_ZEROS {
            for d in 0..10 {
                let c = char::from_u32(z + d).expect("valid scalar");
                assert_eq!(get_general_category(c), Gc::DecimalNumber, "{:x}", z + d);
                assert_eq!(digit_value(c), Some(d as u8));
            }
        }
        // Every Nd code point of the crate's tables is in the table.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let nd = get_general_category(c) == Gc::DecimalNumber;
            assert_eq!(digit_value(c).is_some(), nd, "{:x}", c as u32);
        }
    }

    #[test]
    fn ascii_table_matches_unicode_data() {
        for b in 0u8..128 {
            let c = b as char;
            let expected = if let Some(d) = c.to_digit(10) {
                Class::Digit(d as u8)
            } else if is_letter_or_number(get_general_category(c)) {
                Class::Other
            } else {
                Class::Sep
            };
            assert_eq!(ascii_class(b), expected, "{b:#x}");
        }
    }

    #[test]
    fn classes() {
        assert_eq!(class('٥'), Class::Digit(5));
        assert_eq!(class('５'), Class::Digit(5));
        assert_eq!(class('७'), Class::Digit(7));
        for sep in [
            '\u{200B}', '–', '\n', '\u{2028}', '·', '\u{30FB}', '\u{2063}', '\u{34F}', '\u{180E}',
            '\u{20E3}', '\u{FE0F}', '_', ':', ',',
        ] {
            assert_eq!(class(sep), Class::Sep, "{:x}", sep as u32);
        }
        assert_eq!(class('a'), Class::Other);
        assert_eq!(class('é'), Class::Other);
        assert_eq!(class('½'), Class::Other);
        assert_eq!(digit_value('²'), None);
    }

    #[test]
    fn default_ignorables() {
        for c in [
            '\u{200B}', '\u{200D}', '\u{00AD}', '\u{2060}', '\u{FEFF}', '\u{180E}', '\u{FE0F}',
            '\u{034F}', '\u{2063}',
        ] {
            assert!(is_default_ignorable(c), "{:x}", c as u32);
        }
        for c in ['a', ' ', '@', '.', '\u{0600}', '\u{3000}'] {
            assert!(!is_default_ignorable(c), "{:x}", c as u32);
        }
    }
}
