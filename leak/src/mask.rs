//! Masking: every secret or matched rendering leaves this module with most
//! of its identifying characters replaced by `*`, so findings can be logged,
//! printed and stored without becoming a leak themselves.

use super::chars::{self, digit_value};
use super::phone::E164;
use super::scan::View;

/// How much of a rendering stays visible.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rule {
    /// The last `nsn_len` digits are the national number: its first `head`
    /// and last `tail` digits stay, the rest become `*`. Digits before the
    /// national number (country code, trunk 0) stay.
    Phone {
        nsn_len: usize,
        head: usize,
        tail: usize,
    },
    /// First character of the local part stays, the rest of it becomes
    /// `****` (fixed, so the length does not leak); `@` and domain stay.
    Email,
}

impl Rule {
    /// Rule for a known number: area code and last four of a 10-digit NSN
    /// stay (enough for an operator to recognise which contact leaked).
    pub fn known_phone(nsn_len: usize) -> Rule {
        Rule::Phone {
            nsn_len,
            head: if nsn_len >= 10 { 3 } else { 0 },
            tail: tail_len(nsn_len),
        }
    }

    /// Rule for a suspect (unknown) number: only the last digits stay.
    pub fn suspect_phone(digits: usize) -> Rule {
        Rule::Phone {
            nsn_len: digits,
            head: 0,
            tail: tail_len(digits),
        }
    }
}

fn tail_len(n: usize) -> usize {
    if n >= 8 { 4 } else { 2 }
}

/// `+1******4567`.
pub(crate) fn phone_secret(n: &E164) -> String {
    let tail = tail_len(n.nsn.len()).min(n.nsn.len());
    let mut s = String::with_capacity(n.cc.len() + n.nsn.len() + 1);
    s.push('+');
    s.push_str(&n.cc);
    s.extend(std::iter::repeat_n('*', n.nsn.len() - tail));
    s.push_str(n.nsn.get(n.nsn.len() - tail..).unwrap_or(""));
    s
}

/// `a****@example.com`.
pub(crate) fn email_secret(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let mut s = String::with_capacity(email.len() + 4);
    if let Some(c) = local.chars().next() {
        s.push(c);
    }
    s.push_str("****@");
    s.push_str(domain);
    s
}

/// Masked form of a suspect's text: digits reduced to their last few for a
/// phone, [`email_secret`] for an email.
pub(crate) fn suspect_secret(is_phone: bool, text: &str) -> String {
    if !is_phone {
        return email_secret(&text.to_ascii_lowercase());
    }
    let digits: String = text
        .chars()
        .filter_map(digit_value)
        .map(|d| (b'0' + d) as char)
        .collect();
    let tail = tail_len(digits.len()).min(digits.len());
    let mut s = String::new();
    if text.starts_with('+') {
        s.push('+');
    }
    s.extend(std::iter::repeat_n('*', digits.len() - tail));
    s.push_str(digits.get(digits.len() - tail..).unwrap_or(""));
    s
}

/// Mask a masked-safe rule over the rendering `view.text[s..e]`, emitting
/// each kept character *as it appeared in the root text* (so a `\u0035` or
/// `%2B` shows up as written) and each hidden one as `*`. Invisible
/// characters are shown as `\u{..}`.
pub(crate) fn render(root: &str, view: &View<'_>, s: usize, e: usize, rule: Rule) -> String {
    let text = view.text.get(s..e).unwrap_or("");
    let raw = |a: usize, b: usize| root.get(view.off(a)..view.off(b)).unwrap_or("");
    let mut out = String::with_capacity(text.len() + 8);
    match rule {
        Rule::Phone {
            nsn_len,
            head,
            tail,
        } => {
            let total = text.chars().filter(|&c| digit_value(c).is_some()).count();
            let nsn_start = total.saturating_sub(nsn_len);
            let mut k = 0usize;
            for (i, c) in text.char_indices() {
                let piece = raw(s + i, s + i + c.len_utf8());
                if digit_value(c).is_some() {
                    let hidden = k >= nsn_start && {
                        let p = k - nsn_start;
                        p >= head && p + tail < nsn_len
                    };
                    k += 1;
                    if hidden {
                        out.push('*');
                        continue;
                    }
                }
                chars::push_visible(&mut out, piece);
            }
        }
        Rule::Email => {
            let at = text.rfind('@').unwrap_or(text.len());
            let mut starred = false;
            for (i, c) in text.char_indices() {
                if i > 0 && i < at {
                    if !starred {
                        out.push_str("****");
                        starred = true;
                    }
                    continue;
                }
                chars::push_visible(&mut out, raw(s + i, s + i + c.len_utf8()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        let n = E164::parse("+15551234567").expect("valid");
        assert_eq!(phone_secret(&n), "+1******4567");
        let n = E164::parse("+447700900123").expect("valid");
        assert_eq!(phone_secret(&n), "+44******0123");
        assert_eq!(email_secret("alice@example.com"), "a****@example.com");
        assert_eq!(suspect_secret(true, "+1 (212) 555-0100"), "+*******0100");
    }

    #[test]
    fn renders() {
        let t = "+1 (555) 123-4567";
        let v = View::root(t);
        assert_eq!(
            render(t, &v, 0, t.len(), Rule::known_phone(10)),
            "+1 (555) ***-4567"
        );
        let t = "Alice@Example.com";
        assert_eq!(
            render(t, &View::root(t), 0, t.len(), Rule::Email),
            "A****@Example.com"
        );
        let t = "555\u{200B}1234567";
        assert_eq!(
            render(t, &View::root(t), 0, t.len(), Rule::known_phone(10)),
            "555\\u{200b}***4567"
        );
    }
}
