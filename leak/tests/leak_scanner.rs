//! Data-driven tests of the known-value leak scanner: a generated detection
//! corpus (every rendering we could think of, embedded in realistic sitter
//! responses), a false-positive corpus, property tests, redaction
//! (the `switchboard scan` command's tests live with it in `src/scan/`) and a recall comparison with the original regex approach.

use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard_leak::baseline::GenericRegexScanner;
use switchboard_leak::*;

const PHONES: &[&str] = &[
    "+15551234567",
    "+12125550143",
    "+14155550199",
    "+447700900123",
    "+33612345678",
];
const EMAILS: &[&str] = &[
    "alice@example.com",
    "bob.smith+pets@mail.example.org",
    "Carol_O@Sitters.test",
];
/// The business's own numbers: pool numbers and the support line.
const ALLOWED: &[&str] = &["+15550001111", "+18005550100", "+442079460000"];

fn contacts() -> Contacts {
    Contacts {
        phones: PHONES.iter().map(|s| s.to_string()).collect(),
        emails: EMAILS.iter().map(|s| s.to_string()).collect(),
        allowed_phones: ALLOWED.iter().map(|s| s.to_string()).collect(),
    }
}

static SCANNER: LazyLock<LeakScanner> =
    LazyLock::new(|| LeakScanner::new(&contacts()).expect("valid contacts"));

// ---------------------------------------------------------------- renderings

/// A rendering of a secret. `raw_json` renderings are JSON string *token*
/// contents (with JSON escapes) and are inserted into documents verbatim;
/// the others are text and get JSON-encoded.
#[derive(Clone, Debug)]
struct Rendering {
    label: String,
    text: String,
    raw_json: bool,
}

fn r(label: impl Into<String>, text: impl Into<String>) -> Rendering {
    Rendering {
        label: label.into(),
        text: text.into(),
        raw_json: false,
    }
}

fn raw(label: impl Into<String>, text: impl Into<String>) -> Rendering {
    Rendering {
        label: label.into(),
        text: text.into(),
        raw_json: true,
    }
}

/// Zero code points of digit scripts used in renderings.
const SCRIPTS: &[(&str, u32)] = &[
    ("arabic-indic", 0x0660),
    ("eastern-arabic", 0x06F0),
    ("devanagari", 0x0966),
    ("bengali", 0x09E6),
    ("thai", 0x0E50),
    ("myanmar", 0x1040),
    ("fullwidth", 0xFF10),
    ("math-bold", 0x1D7CE),
];

fn in_script(s: &str, zero: u32) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero + d).expect("digit"),
            None => c,
        })
        .collect()
}

/// Digits in mixed scripts: digit i uses script i % n.
fn mixed_scripts(s: &str) -> String {
    let mut i = 0;
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => {
                i += 1;
                char::from_u32(SCRIPTS[i % SCRIPTS.len()].1 + d).expect("digit")
            }
            None => c,
        })
        .collect()
}

fn split_e164(e164: &str) -> (&str, &str) {
    let d = &e164[1..];
    let cc_len = if d.starts_with('1') {
        1
    } else if d.starts_with("44") || d.starts_with("33") {
        2
    } else {
        3
    };
    d.split_at(cc_len)
}

fn groups(s: &str, sizes: &[usize]) -> Vec<String> {
    let mut out = vec![];
    let mut at = 0;
    for &n in sizes {
        if at >= s.len() {
            break;
        }
        let end = (at + n).min(s.len());
        out.push(s[at..end].to_string());
        at = end;
    }
    if at < s.len() {
        out.push(s[at..].to_string());
    }
    out
}

fn escape_all_digits(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() || c == '+' {
                format!("\\u{:04X}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn pct_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Every rendering of a phone number we generate.
/// The pieces of a known phone its renderings are built from: country
/// code, national number, and three groups (NANP 3-3-4, else 3-3-rest).
struct PhoneParts<'a> {
    e164: &'a str,
    cc: &'a str,
    nsn: &'a str,
    nanp: bool,
    /// Local grouping (NANP 3-3-4, else 1-2-2-2-2).
    g: Vec<String>,
    a: String,
    b: String,
    c: String,
}

impl<'a> PhoneParts<'a> {
    fn of(e164: &'a str) -> PhoneParts<'a> {
        let (cc, nsn) = split_e164(e164);
        let nanp = cc == "1";
        let g: Vec<String> = if nanp {
            groups(nsn, &[3, 3, 4])
        } else {
            groups(nsn, &[1, 2, 2, 2, 2])
        };
        let (a, b, c) = if nanp {
            (g[0].clone(), g[1].clone(), g[2].clone())
        } else {
            (
                nsn[..3].to_string(),
                nsn[3..6].to_string(),
                nsn[6..].to_string(),
            )
        };
        PhoneParts {
            e164,
            cc,
            nsn,
            nanp,
            g,
            a,
            b,
            c,
        }
    }
}

/// Every rendering of a known phone the corpus plants.
fn phone_renderings(e164: &str) -> Vec<Rendering> {
    let p = PhoneParts::of(e164);
    let mut v = phone_layouts(&p);
    v.extend(phone_encodings(&p));
    v.extend(phone_separators(&p));
    v.extend(phone_unicode(&p));
    v
}

/// Plain layouts: groupings, brackets, prefixes, ids and links.
fn phone_layouts(p: &PhoneParts) -> Vec<Rendering> {
    let &PhoneParts {
        e164,
        cc,
        nsn,
        ref g,
        ref a,
        ref b,
        ref c,
        ..
    } = p;
    vec![
        r("e164", e164),
        r("national digits", nsn),
        r("cc+nsn no plus", format!("{cc}{nsn}")),
        r("00 prefix", format!("00{cc}{nsn}")),
        r("(a) b-c", format!("({a}) {b}-{c}")),
        r("a.b.c", format!("{a}.{b}.{c}")),
        r("a b c", format!("{a} {b} {c}")),
        r("a-b-c", format!("{a}-{b}-{c}")),
        r("cc-a-b-c", format!("{cc}-{a}-{b}-{c}")),
        r("+cc (a) b-c", format!("+{cc} ({a}) {b}-{c}")),
        r("+cc.a.b.c", format!("+{cc}.{a}.{b}.{c}")),
        r("+cc a b c", format!("+{cc} {a} {b} {c}")),
        r("(a)b-c", format!("({a}){b}-{c}")),
        r("[a] b c", format!("[{a}] {b} {c}")),
        r("a/b-c", format!("{a}/{b}-{c}")),
        r("+cc/a/b/c", format!("+{cc}/{a}/{b}/{c}")),
        r("pairs", groups(nsn, &[2, 2, 2, 2, 2, 2, 2]).join(" ")),
        r("local grouping", format!("+{cc} {}", g.join(" "))),
        r("dashes grouping", format!("+{cc}-{}", g.join("-"))),
        r("dots grouping", g.join(".")),
        r("sentence", format!("Call me at {a}-{b}-{c} tomorrow!")),
        r("id ord-", format!("ord-{cc}{nsn}x")),
        r("id thread_", format!("thread_{nsn}_9")),
        r("id cust", format!("cust{nsn}")),
        r("id ref:", format!("ref:{e164}#2")),
        r("tel:", format!("tel:{e164}")),
        r("tel: formatted", format!("tel:+{cc}-{a}-{b}-{c}")),
    ]
}

/// Percent-encoded, HTML, JSON-escaped and other-script renderings.
fn phone_encodings(p: &PhoneParts) -> Vec<Rendering> {
    let &PhoneParts {
        e164,
        cc,
        nsn,
        ref a,
        ref b,
        ref c,
        ..
    } = p;
    vec![
        r("tel: pct", format!("tel:%2B{cc}{nsn}")),
        r(
            "sms: link",
            format!("<a href=\"sms:{e164}?body=hi\">text</a>"),
        ),
        r(
            "html tel link",
            format!("<a href=\"tel:{e164}\">call us</a>"),
        ),
        r("pct plus", format!("%2B{cc}{nsn}")),
        r("pct spaces", format!("%2B{cc}%20{a}%20{b}%20{c}")),
        r("pct all", pct_all(e164)),
        r(
            "pct in url",
            format!("https://x.test/send?to=%2B{cc}{nsn}&v=2"),
        ),
        r("pct double", format!("%252B{cc}%2520{nsn}")),
        r("html &#43;", format!("&#43;{cc}{nsn}")),
        r("html &#x2B;", format!("&#x2B;{cc}{nsn}")),
        r("html &plus;", format!("&plus;{cc} {a} {b} {c}")),
        r(
            "html digits dec",
            e164.chars()
                .map(|ch| format!("&#{};", ch as u32))
                .collect::<String>(),
        ),
        r(
            "html digits hex",
            e164.chars()
                .map(|ch| format!("&#x{:x};", ch as u32))
                .collect::<String>(),
        ),
        r("html nbsp ndash", format!("({a})&nbsp;{b}&ndash;{c}")),
        r("html double", format!("&amp;#43;{cc}&amp;nbsp;{nsn}")),
        r("text json escape plus", format!("\\u002B{cc}{nsn}")),
        r("text json escape digits", escape_all_digits(e164)),
        raw("raw json \\u002B", format!("\\u002B{cc}{nsn}")),
        raw("raw json all digits", escape_all_digits(e164)),
        raw(
            "raw json mixed",
            format!(
                "+{cc} ({a}) {b}-\\u00{:x}{}",
                0x30 + c.as_bytes()[0] - b'0',
                &c[1..]
            ),
        ),
        raw("raw json nbsp", format!("{a}\\u00a0{b}\\u00a0{c}")),
        raw("raw json zwsp", format!("{a}\\u200b{b}\\u200b{c}")),
        r(
            "fullwidth punctuation",
            in_script(&format!("＋{cc}（{a}）{b}－{c}"), 0xFF10),
        ),
        r(
            "mixed scripts",
            mixed_scripts(&format!("+{cc} {a} {b} {c}")),
        ),
        r("mixed scripts national", mixed_scripts(nsn)),
    ]
}

/// Trunk-prefixed forms (outside NANP) and groups split by one separator
/// of each kind.
fn phone_separators(p: &PhoneParts) -> Vec<Rendering> {
    let &PhoneParts {
        cc,
        nsn,
        nanp,
        ref a,
        ref b,
        ref c,
        ..
    } = p;
    let mut v = vec![];
    if !nanp {
        v.push(r("trunk 0", format!("0{nsn}")));
        v.push(r(
            "trunk 0 grouped",
            format!("0{} {}", &nsn[..4], &nsn[4..]),
        ));
        v.push(r("+cc (0)", format!("+{cc} (0){a} {b} {c}")));
    }
    for (name, sep) in [
        ("space", " "),
        ("dot", "."),
        ("dash", "-"),
        ("slash", "/"),
        ("nbsp", "\u{A0}"),
        ("thin space", "\u{2009}"),
        ("hair space", "\u{200A}"),
        ("narrow nbsp", "\u{202F}"),
        ("ideographic space", "\u{3000}"),
        ("hyphen", "\u{2010}"),
        ("nb hyphen", "\u{2011}"),
        ("figure dash", "\u{2012}"),
        ("en dash", "\u{2013}"),
        ("em dash", "\u{2014}"),
        ("minus", "\u{2212}"),
        ("space dash space", " - "),
        ("tab", "\t"),
        // Issue 8: line breaks, dot-like and other punctuation.
        ("line feed", "\n"),
        ("crlf", "\r\n"),
        ("line separator", "\u{2028}"),
        ("paragraph separator", "\u{2029}"),
        ("middle dot", "\u{B7}"),
        ("bullet", "\u{2022}"),
        ("one dot leader", "\u{2024}"),
        ("katakana middle dot", "\u{30FB}"),
        ("comma space", ", "),
        ("underscore", "_"),
        ("colon", ":"),
        ("invisible separator", "\u{2063}"),
        ("invisible times", "\u{2062}"),
        ("combining grapheme joiner", "\u{34F}"),
        ("mongolian vowel separator", "\u{180E}"),
    ] {
        v.push(r(format!("sep {name}"), format!("{a}{sep}{b}{sep}{c}")));
    }
    v
}

/// Invisible characters between every digit, keycaps, and every script's
/// digits.
fn phone_unicode(p: &PhoneParts) -> Vec<Rendering> {
    let &PhoneParts {
        e164,
        cc,
        nsn,
        ref a,
        ref b,
        ref c,
        ..
    } = p;
    let mut v = vec![];
    for inv in [
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{AD}', '\u{200E}',
        '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}',
        '\u{2067}', '\u{2068}', '\u{2069}',
    ] {
        let joined: Vec<String> = e164.chars().map(|c| c.to_string()).collect();
        v.push(r(
            format!("invisible U+{:04X}", inv as u32),
            joined.join(&inv.to_string()),
        ));
    }
    let keycaps: String = nsn
        .chars()
        .map(|d| format!("{d}\u{FE0F}\u{20E3}"))
        .collect();
    v.push(r("keycaps", keycaps.clone()));
    v.push(r("keycaps with cc", format!("+{cc} {keycaps}")));
    for (name, zero) in SCRIPTS {
        v.push(r(format!("{name} e164"), in_script(e164, *zero)));
        v.push(r(
            format!("{name} formatted"),
            in_script(&format!("({a}) {b}-{c}"), *zero),
        ));
    }
    v
}

/// Every rendering of a known email the corpus plants.
fn email_renderings(email: &str) -> Vec<Rendering> {
    let mut v = email_layouts(email);
    v.extend(email_encodings(email));
    v.extend(email_folded(email));
    v
}

/// Case changes and plain surroundings (sentences, angle brackets, links).
fn email_layouts(email: &str) -> Vec<Rendering> {
    let title: String = email
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    vec![
        r("plain", email),
        r("upper", email.to_ascii_uppercase()),
        r("lower", email.to_ascii_lowercase()),
        r("alternating case", title),
        r("sentence", format!("Contact {email}. Thanks")),
        r("angle", format!("Alice <{email}>")),
        r("mailto", format!("mailto:{email}")),
        r(
            "mailto query",
            format!("mailto:{email}?subject=Walk%20time"),
        ),
        r(
            "html mailto",
            format!("<a href=\"mailto:{email}\">mail</a>"),
        ),
    ]
}

/// Percent-encoded, HTML and JSON-escaped renderings.
fn email_encodings(email: &str) -> Vec<Rendering> {
    let (local, domain) = email.split_once('@').expect("email");
    vec![
        r("pct @", format!("{local}%40{domain}")),
        r("pct mailto", format!("mailto:{local}%40{domain}")),
        r("pct all", pct_all(email)),
        r("pct double", format!("{local}%2540{domain}")),
        r(
            "pct url",
            format!("https://x.test/u?email={local}%40{domain}&a=1"),
        ),
        r("html &#64;", format!("{local}&#64;{domain}")),
        r("html &#x40;", format!("{local}&#x40;{domain}")),
        r("html &commat;", format!("{local}&commat;{domain}")),
        r("html &amp;#64;", format!("{local}&amp;#64;{domain}")),
        r(
            "html all",
            email
                .chars()
                .map(|c| format!("&#{};", c as u32))
                .collect::<String>(),
        ),
        r("text json escape", format!("{local}\\u0040{domain}")),
        raw("raw json \\u0040", format!("{local}\\u0040{domain}")),
        raw(
            "raw json all",
            email
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect::<String>(),
        ),
        raw("raw json after newline", format!("line one\\n{email}")),
    ]
}

/// Renderings only the folded view (NFKC, default ignorables removed)
/// reads as the address.
fn email_folded(email: &str) -> Vec<Rendering> {
    let (local, domain) = email.split_once('@').expect("email");
    vec![
        // Issue 8: folded view (NFKC, default ignorables removed).
        r(
            "zero-width space before @",
            format!("{local}\u{200B}@{domain}"),
        ),
        r(
            "zero-width joiner in domain",
            format!("{local}@{}\u{200D}{}", &domain[..3], &domain[3..]),
        ),
        r(
            "soft hyphen before tld",
            match domain.rsplit_once('.') {
                Some((host, tld)) => format!("{local}@{host}\u{AD}.{tld}"),
                None => format!("{local}@{domain}"),
            },
        ),
        r(
            "fullwidth",
            email
                .chars()
                .map(|c| match c {
                    '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                    _ => c,
                })
                .collect::<String>(),
        ),
        r(
            "word joiners everywhere",
            email
                .chars()
                .map(|c| format!("{c}\u{2060}"))
                .collect::<String>(),
        ),
    ]
}

/// Everything the detection corpus plants: (secret masked, kind, rendering).
fn corpus() -> Vec<(String, SecretKind, Rendering)> {
    let mut out = vec![];
    for p in PHONES {
        let (cc, nsn) = split_e164(p);
        let masked = format!(
            "+{cc}{}{}",
            "*".repeat(nsn.len() - 4),
            &nsn[nsn.len() - 4..]
        );
        for rd in phone_renderings(p) {
            out.push((masked.clone(), SecretKind::Phone, rd));
        }
    }
    for e in EMAILS {
        let lower = e.to_ascii_lowercase();
        let masked = format!(
            "{}****@{}",
            &lower[..1],
            lower.split_once('@').expect("@").1
        );
        for rd in email_renderings(e) {
            out.push((masked.clone(), SecretKind::Email, rd));
        }
    }
    out
}

// ---------------------------------------------------------------- documents

const PLANT: &str = "\"@@PLANT@@\"";

/// Where a rendering is planted and the pointer it must be reported at.
/// `key` templates plant a key: the pointer is `pointer` + `/` + the masked
/// key.
struct Template {
    name: &'static str,
    doc: Value,
    pointer: &'static str,
    key: bool,
    nested: bool,
}

fn sitter_response(
    plant_body: &str,
    plant_error: &str,
    plant_trace: &str,
    plant_audit: &str,
) -> Value {
    json!({
        "thread": {
            "id": "thr_01HX3K9V2Q",
            "updated_at": "2024-05-01T10:15:00.123Z",
            "participants": [
                {"role": "client", "display": "Client A.", "proxy": "+15550001111"},
                {"role": "sitter", "display": "You", "proxy": "+18005550100"}
            ],
            "messages": [
                {"id": "msg_1", "sent_at": 1714557600, "body": "Hi! Is 3pm ok?",
                 "delivery": {"status": "failed", "provider": {"code": 30003, "error": plant_error}}},
                {"id": "msg_2", "sent_at": 1714557660123_i64, "body": plant_body,
                 "delivery": {"status": "delivered", "provider": {"sid": "SM0123456789abcdef0123456789abcdef"}}}
            ]
        },
        "metadata": {
            "routing": {"trace": ["received 2024-05-01T10:00:00Z", plant_trace, "delivered"]},
            "audit": {"events": [{"at": 1714557600, "detail": plant_audit}]}
        }
    })
}

fn templates() -> Vec<Template> {
    let p = "@@PLANT@@";
    let n = "ok";
    let mut keyed = sitter_response(n, n, n, n);
    keyed["metadata"]["contacts"] = json!({"by_phone": {p: {"last_seen": "2024-05-01"}}});
    let mut nested = sitter_response(n, n, n, n);
    nested["metadata"]["audit"]["events"][0]["payload"] =
        json!({"request": {"to": p, "status": "queued"}});
    let mut deep = sitter_response(n, n, n, n);
    deep["metadata"]["x"] = json!({"a": [{"b": [[{"c": {"d": p}}]]}]});
    vec![
        Template {
            name: "body",
            doc: sitter_response(p, n, n, n),
            pointer: "/thread/messages/1/body",
            key: false,
            nested: false,
        },
        Template {
            name: "provider error",
            doc: sitter_response(n, p, n, n),
            pointer: "/thread/messages/0/delivery/provider/error",
            key: false,
            nested: false,
        },
        Template {
            name: "trace",
            doc: sitter_response(n, n, p, n),
            pointer: "/metadata/routing/trace/1",
            key: false,
            nested: false,
        },
        Template {
            name: "audit",
            doc: sitter_response(n, n, n, p),
            pointer: "/metadata/audit/events/0/detail",
            key: false,
            nested: false,
        },
        Template {
            name: "deep",
            doc: deep,
            pointer: "/metadata/x/a/0/b/0/0/c/d",
            key: false,
            nested: false,
        },
        Template {
            name: "key",
            doc: keyed,
            pointer: "/metadata/contacts/by_phone",
            key: true,
            nested: false,
        },
        Template {
            name: "json in string",
            doc: nested,
            pointer: "/metadata/audit/events/0/payload/request/to",
            key: false,
            nested: true,
        },
    ]
}

/// Serialize a template with the rendering planted.
fn plant(t: &Template, rd: &Rendering) -> String {
    let token = if rd.raw_json {
        format!("\"{}\"", rd.text)
    } else {
        serde_json::to_string(&rd.text).expect("string")
    };
    if t.nested {
        // The payload object travels as a JSON string.
        let mut doc = t.doc.clone();
        let payload = doc["metadata"]["audit"]["events"][0]["payload"].take();
        let inner = serde_json::to_string(&payload)
            .expect("inner")
            .replace(PLANT, &token);
        doc["metadata"]["audit"]["events"][0]["payload"] = Value::String(inner);
        serde_json::to_string(&doc).expect("doc")
    } else {
        serde_json::to_string_pretty(&t.doc)
            .expect("doc")
            .replace(PLANT, &token)
    }
}

/// The one check helper: the scan of `doc` must report `secret` (masked)
/// of `kind` at `pointer` (or, for keys, at a masked key under `pointer`
/// that does not contain the secret in clear).
fn check(
    doc: &str,
    kind: SecretKind,
    secret: &str,
    pointer: &str,
    key: bool,
    clear: &str,
) -> Result<(), String> {
    let scan = SCANNER.scan_json(doc.as_bytes());
    let ok = scan.findings.iter().any(|f| {
        f.kind == kind
            && f.secret_masked == secret
            && if key {
                f.pointer
                    .strip_prefix(pointer)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|seg| !seg.contains('/') && !seg.contains(clear))
            } else {
                f.pointer == pointer
            }
    });
    for f in scan.findings.iter().chain(&scan.suspects) {
        let shown = format!("{f} {f:?}");
        if shown.contains(clear) {
            return Err(format!("secret printed in clear: {shown}"));
        }
    }
    if ok {
        Ok(())
    } else {
        Err(format!("not found at {pointer}; got {:?}", scan.findings))
    }
}

fn clear_of(kind: SecretKind, secret_index_value: &str) -> String {
    match kind {
        SecretKind::Phone => split_e164(secret_index_value).1.to_string(),
        SecretKind::Email => secret_index_value.to_ascii_lowercase(),
    }
}

/// The clear (unmasked) secret for a masked one.
fn clear_for(masked: &str, kind: SecretKind) -> String {
    match kind {
        SecretKind::Phone => PHONES
            .iter()
            .find(|p| {
                p[p.len() - 4..] == masked[masked.len() - 4..]
                    && masked.split('*').next() == Some(&format!("+{}", split_e164(p).0)[..])
            })
            .map(|p| clear_of(kind, p))
            .expect("phone"),
        SecretKind::Email => EMAILS
            .iter()
            .find(|e| {
                let l = e.to_ascii_lowercase();
                l.split_once('@').map(|x| x.1) == masked.split_once('@').map(|x| x.1)
            })
            .map(|e| clear_of(kind, e))
            .expect("email"),
    }
}

// ---------------------------------------------------------------- 1. detection

#[test]
fn detection_corpus_is_fully_detected_at_the_right_pointer() {
    let mut failures = vec![];
    let mut cases = 0;
    for t in templates() {
        for (secret, kind, rd) in corpus() {
            cases += 1;
            let doc = plant(&t, &rd);
            let clear = clear_for(&secret, kind);
            if let Err(e) = check(&doc, kind, &secret, t.pointer, t.key, &clear) {
                failures.push(format!("[{} / {} {:?}] {e}", t.name, rd.label, rd.text));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases > 1500, "corpus too small: {cases}");
}

/// National and alternative dialable forms (libphonenumber metadata) of an
/// Argentine and a Mexican mobile, planted in every template.
#[test]
fn national_forms_are_detected() {
    let scanner = LeakScanner::new(&Contacts {
        phones: vec!["+5491155501234".into(), "+5215555010123".into()],
        emails: vec![],
        allowed_phones: vec![],
    })
    .expect("valid contacts");
    let cases = [
        ("llamame al 011 15-5550-1234", "+54*******1234"),
        ("+54 11 5550-1234", "+54*******1234"),
        ("011 15 5550 1234", "+54*******1234"),
        ("+54 9 11 5550-1234", "+54*******1234"),
        ("15-5550-1234", ""),
        ("+52 55 5501 0123", "+52*******0123"),
        ("+52 1 55 5501 0123", "+52*******0123"),
        ("55 5501 0123", "+52*******0123"),
    ];
    for (text, secret) in cases {
        let scan = scanner.scan_text(text);
        let found: Vec<&str> = scan
            .findings
            .iter()
            .map(|f| f.secret_masked.as_str())
            .collect();
        if secret.is_empty() {
            assert!(found.is_empty(), "{text:?}: {found:?}");
        } else {
            assert_eq!(found, [secret], "{text:?}");
            assert_eq!(
                scanner.redact(text).matches("[redacted phone]").count(),
                1,
                "{text:?}"
            );
        }
    }
}

/// Every character whose general category is neither a letter nor a
/// number, from the Unicode tables of `unicode-general-category` (not a
/// hand-picked list). Surrogates cannot be `char`s.
static SEPARATOR_CLASS: LazyLock<Vec<char>> = LazyLock::new(|| {
    use unicode_general_category::{GeneralCategory as Gc, get_general_category};
    (0..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|&c| {
            !matches!(
                get_general_category(c),
                Gc::UppercaseLetter
                    | Gc::LowercaseLetter
                    | Gc::TitlecaseLetter
                    | Gc::ModifierLetter
                    | Gc::OtherLetter
                    | Gc::DecimalNumber
                    | Gc::LetterNumber
                    | Gc::OtherNumber
            )
        })
        .collect()
});

fn separator_run() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<prop::sample::Index>(), 1..=4).prop_map(|picks| {
        picks
            .into_iter()
            .map(|i| SEPARATOR_CLASS[i.index(SEPARATOR_CLASS.len())])
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// A known number with up to four characters of the separator class
    /// between any two digits is found in text and in JSON, and redacted.
    #[test]
    fn separators_from_the_whole_class_never_split_a_number(
        which in 0..PHONES.len(),
        seps in prop::collection::vec(prop::option::weighted(0.5, separator_run()), 14),
        prefix in "[a-z ]{0,4}",
    ) {
        let e164 = PHONES[which];
        let nsn = &e164[e164.len() - 10..];
        let mut text = prefix.clone();
        for (i, d) in nsn.chars().enumerate() {
            text.push(d);
            if i + 1 < nsn.len() && let Some(Some(sep)) = seps.get(i) {
                text.push_str(sep);
            }
        }
        text.push_str(" ok");
        let scan = SCANNER.scan_text(&text);
        prop_assert!(!scan.is_clean(), "{:?}", text);
        let doc = serde_json::to_string(&json!({"body": text})).expect("json");
        prop_assert!(!SCANNER.scan_json(doc.as_bytes()).is_clean(), "{}", doc);
        let red = SCANNER.redact(&text);
        prop_assert!(SCANNER.scan_text(&red).is_clean(), "{:?} -> {:?}", text, red);
        prop_assert!(red.contains("[redacted phone]"), "{:?} -> {:?}", text, red);
    }
}

#[test]
fn matched_rendering_is_masked_as_it_appeared() {
    let doc = r#"{"m": [{"body": "call (555) 123-4567", "e": "\u0035551234567", "to": "Alice@Example.com"}]}"#;
    let scan = SCANNER.scan_json(doc.as_bytes());
    let lines: Vec<String> = scan.findings.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        lines,
        [
            "/m/0/body: phone +1******4567 as \"(555) ***-4567\"",
            "/m/0/e: phone +1******4567 as \"\\u003555***4567\"",
            "/m/0/to: email a****@example.com as \"A****@Example.com\"",
        ]
    );
}

#[test]
fn non_json_input_is_scanned_as_text() {
    let scan = SCANNER.scan_json(b"not json: reach me on 0770 090 0123 or carol_o@sitters.test");
    let got: Vec<(&str, &str)> = scan
        .findings
        .iter()
        .map(|f| (f.pointer.as_str(), f.secret_masked.as_str()))
        .collect();
    assert_eq!(got, [("", "+44******0123"), ("", "c****@sitters.test")]);
    // A byte order mark does not hide the JSON structure.
    let scan = SCANNER.scan_json("\u{FEFF}{\"a\": [\"+15551234567\"]}".as_bytes());
    assert_eq!(scan.findings[0].pointer, "/a/0");
    // Invalid UTF-8 does not panic and is still scanned.
    let mut bytes = b"\xff\xfe {\"a\": \"+15551234567\"".to_vec();
    bytes.push(0xC3);
    assert!(!SCANNER.scan_json(&bytes).is_clean());
}

#[test]
fn bad_contacts_are_rejected_without_printing_them() {
    let mut c = contacts();
    c.phones.push("+1555123456".into());
    let err = LeakScanner::new(&c).expect_err("short NANP");
    let msg = err.to_string();
    assert!(msg.starts_with("phones[5]:"), "{msg}");
    assert!(!msg.contains("+1555123456"), "{msg}");
    let mut c = contacts();
    c.phones.push("5551234567".into());
    assert!(LeakScanner::new(&c).is_err());
    let mut c = contacts();
    c.emails.push("not-an-email".into());
    assert!(
        LeakScanner::new(&c)
            .expect_err("no @")
            .to_string()
            .starts_with("emails[3]:")
    );
    let dbg = format!("{:?} {:?}", contacts(), *SCANNER);
    assert!(
        !dbg.contains("5551234567") && !dbg.contains("alice"),
        "{dbg}"
    );
}

// ---------------------------------------------------------------- 2. false positives

fn false_positive_texts() -> Vec<String> {
    let mut v: Vec<String> = [
        "1714557600",
        "1714557600123",
        "sent at 1714557600, read at 1714557660",
        "2024-05-01T10:15:00.123Z",
        "2024-05-01 10:15:00",
        "01/05/2024 10:15",
        "2024-05-01T10:15:00+02:00",
        "550e8400-e29b-41d4-a716-446655440000",
        "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        "order #100234567",
        "ORD-2024-0501-000123",
        "invoice 2024050100017",
        "$1,234.56",
        "USD 99.99 / 1,000,000.00",
        "logo@2x.png",
        "icon@3x.webp",
        "v1.2.3",
        "version 10.15.7 build 19H2",
        "SM0123456789abcdef0123456789abcdef",
        "MG9752274e9e519418a7406176694466fa",
        "AC1234567890abcdef1234567890abcdef",
        "CA9876543210fedcba9876543210fedcba",
        "lat 40.712776, lng -74.005974",
        "IP 192.168.100.200",
        "page 1 of 12, items 1-25 of 300",
        "bob@example.net",
        "alice@example.community",
        "malice@example.com",
        "support@switchboard.test",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for a in ALLOWED {
        for rd in phone_renderings(a) {
            v.push(if rd.raw_json {
                serde_json::from_str::<String>(&format!("\"{}\"", rd.text)).expect("raw json")
            } else {
                rd.text
            });
        }
    }
    v
}

#[test]
fn false_positive_corpus_has_no_findings() {
    let mut failures = vec![];
    for t in templates() {
        for text in false_positive_texts() {
            let rd = r("fp", text.clone());
            let doc = plant(&t, &rd);
            let scan = SCANNER.scan_json(doc.as_bytes());
            if !scan.is_clean() {
                failures.push(format!("[{}] {text:?}: {:?}", t.name, scan.findings));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn allow_listed_numbers_are_not_even_suspects() {
    for a in ALLOWED {
        for rd in phone_renderings(a) {
            let text = if rd.raw_json {
                serde_json::from_str::<String>(&format!("\"{}\"", rd.text)).expect("raw")
            } else {
                rd.text.clone()
            };
            let scan = SCANNER.scan_text(&text);
            assert!(scan.is_clean(), "{}: {:?}", rd.label, scan.findings);
            assert!(
                scan.suspects.is_empty(),
                "{}: {:?}",
                rd.label,
                scan.suspects
            );
        }
    }
}

#[test]
fn suspects_are_reported_but_not_findings() {
    let scan =
        SCANNER.scan_text("new number: (212) 555-0188, mail dave@unknown.test, +4915112345678");
    assert!(scan.is_clean());
    let s: Vec<(SecretKind, &str)> = scan
        .suspects
        .iter()
        .map(|f| (f.kind, f.matched_masked.as_str()))
        .collect();
    assert_eq!(
        s,
        [
            (SecretKind::Phone, "+*********5678"),
            (SecretKind::Phone, "(***) ***-0188"),
            (SecretKind::Email, "d****@unknown.test"),
        ]
    );
}

// ---------------------------------------------------------------- 3. properties

fn safe_string() -> impl Strategy<Value = String> {
    // No '@', and digits only 0/1: no window can equal a known NSN (all
    // start with 2-9).
    "[a-zA-Z01 _.:,-]{0,24}"
}

fn safe_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        "[01]{1,16}".prop_map(|s| Value::Number(s.parse::<u64>().unwrap_or(0).into())),
        safe_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Descend into `v` following `choices`, then plant the placeholder as a
/// new member (key `leak`, or as the key itself) or array element. Returns
/// the pointer of the planted value (for keys: of the parent) and whether
/// it was planted as a key.
fn plant_at(v: &mut Value, choices: &[usize], as_key: bool) -> (String, bool) {
    let mut ptr = String::new();
    let mut cur: &Value = v;
    for &c in choices {
        let child = match cur {
            Value::Array(a) if !a.is_empty() => {
                let i = c % a.len();
                (format!("/{i}"), &a[i])
            }
            Value::Object(m) if !m.is_empty() => {
                let (k, child) = m.iter().nth(c % m.len()).expect("index");
                (
                    format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                    child,
                )
            }
            _ => break,
        };
        if !(child.1.is_array() || child.1.is_object()) {
            break;
        }
        ptr.push_str(&child.0);
        cur = child.1;
    }
    let cur = v.pointer_mut(&ptr).expect("path exists");
    match cur {
        Value::Array(a) => {
            a.push(Value::String("@@PLANT@@".into()));
            (format!("{ptr}/{}", a.len() - 1), false)
        }
        Value::Object(m) => {
            if as_key {
                m.insert("@@PLANT@@".into(), Value::Null);
                (ptr, true)
            } else {
                m.insert("leak".into(), Value::String("@@PLANT@@".into()));
                (format!("{ptr}/leak"), false)
            }
        }
        other => {
            *other = json!({"leak": "@@PLANT@@"});
            (format!("{ptr}/leak"), false)
        }
    }
}

static CORPUS: LazyLock<Vec<(String, SecretKind, Rendering)>> = LazyLock::new(corpus);

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn planted_secret_is_always_found(
        doc in safe_json(),
        choices in prop::collection::vec(any::<usize>(), 0..6),
        which in any::<prop::sample::Index>(),
        as_key in any::<bool>(),
    ) {
        let mut doc = json!({"data": doc});
        let (secret, kind, rd) = &CORPUS[which.index(CORPUS.len())];
        let (ptr, is_key) = plant_at(&mut doc, &choices, as_key);
        let token = if rd.raw_json {
            format!("\"{}\"", rd.text)
        } else {
            serde_json::to_string(&rd.text).expect("string")
        };
        let text = serde_json::to_string(&doc).expect("doc").replace(PLANT, &token);
        let clear = clear_for(secret, *kind);
        let res = check(&text, *kind, secret, &ptr, is_key, &clear);
        prop_assert!(res.is_ok(), "{}: {:?}\n{}", rd.label, res, text);
    }

    #[test]
    fn safe_json_has_no_findings(doc in safe_json()) {
        let text = serde_json::to_string(&doc).expect("doc");
        let scan = SCANNER.scan_json(text.as_bytes());
        prop_assert!(scan.is_clean(), "{:?}", scan.findings);
    }

    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = SCANNER.scan_json(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = SCANNER.scan_text(&text);
        let red = SCANNER.redact(&text);
        prop_assert!(SCANNER.scan_text(&red).is_clean());
    }

    #[test]
    fn arbitrary_secretish_text_never_panics(s in "[0-9+()%&#;x@a-f\\\\u. \u{200b}٠-٩-]{0,80}") {
        let _ = SCANNER.scan_json(s.as_bytes());
        let red = SCANNER.redact(&s);
        prop_assert!(SCANNER.scan_text(&red).is_clean(), "{:?} -> {:?}", s, red);
    }
}

// ---------------------------------------------------------------- 4. redaction

#[test]
fn every_rendering_is_redacted_and_rescan_is_clean() {
    let mut failures = vec![];
    for (_, _, rd) in corpus() {
        let text = if rd.raw_json {
            serde_json::from_str::<String>(&format!("\"{}\"", rd.text)).expect("raw")
        } else {
            rd.text.clone()
        };
        let msg = format!("Sitter note: {text} (see above)");
        let red = SCANNER.redact(&msg);
        if !red.contains("[redacted ") || !SCANNER.scan_text(&red).is_clean() {
            failures.push(format!("{}: {msg:?} -> {red:?}", rd.label));
        }
        if !red.starts_with("Sitter note: ") || !red.ends_with(" (see above)") {
            failures.push(format!("{}: context damaged: {red:?}", rd.label));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn redaction_examples() {
    let s = &*SCANNER;
    assert_eq!(
        s.redact("Text me at (555) 123-4567 or alice%40example.com, pool +1 555 000 1111"),
        "Text me at [redacted phone] or [redacted email], pool +1 555 000 1111"
    );
    assert_eq!(
        s.redact("unknown (212) 555-0188 / dave@unknown.test, logo@2x.png at 2026-03-02 09:00"),
        "unknown [redacted phone] / [redacted email], logo@2x.png at 2026-03-02 09:00"
    );
    assert_eq!(
        s.redact("Twilio 21211: invalid 'To' \\u002B15551234567"),
        "Twilio 21211: invalid 'To' [redacted phone]"
    );
    // Texts without a phone-shaped run or an email-shaped string stay as
    // they are: dates, clock times, short numbers, asset names, business
    // numbers. (Runs of 7+ digits such as epoch seconds or order ids are
    // phone-shaped and redacted by design, DESIGN §2.)
    let mut keep: Vec<String> = [
        "2024-05-01T10:15:00.123Z",
        "2024-05-01 10:15:00",
        "01/05/2024 10:15",
        "2024-05-01T10:15:00+02:00",
        "meet 09:00-10:30, then 2026-03-02 09:00 – 2026-03-02 18:30",
        "$1,234.56",
        "v1.2.3",
        "page 1 of 12, items 1-25 of 300",
        "logo@2x.png",
        "icon@3x.webp",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    // Business numbers stay, except encoded ones (`%2B1%20555…`): the
    // digits of escape sequences make a longer run, and over-redacting is
    // the safe side.
    for a in ALLOWED {
        for rd in phone_renderings(a) {
            if !rd.raw_json && !rd.text.contains(['%', '&', '\\']) {
                keep.push(rd.text);
            }
        }
    }
    for text in keep {
        let red = s.redact(&text);
        assert!(
            matches!(red, std::borrow::Cow::Borrowed(_)),
            "{text:?} -> {red:?}"
        );
    }
}

/// Redaction goes by shape: a known number and a made-up one of the same
/// shape come back identical, in every rendering of the corpus.
#[test]
fn redaction_does_not_tell_real_numbers_from_made_up_ones() {
    let mut failures = vec![];
    for p in PHONES {
        // Same shape, last digit changed: nobody's number.
        let last = p.chars().last().expect("digit");
        let fake_last = if last == '9' {
            '0'
        } else {
            (last as u8 + 1) as char
        };
        let fake = format!("{}{fake_last}", &p[..p.len() - 1]);
        for (real_rd, fake_rd) in phone_renderings(p).into_iter().zip(phone_renderings(&fake)) {
            if real_rd.raw_json {
                continue;
            }
            let real = SCANNER
                .redact(&format!("a {} b", real_rd.text))
                .into_owned();
            let made_up = SCANNER
                .redact(&format!("a {} b", fake_rd.text))
                .into_owned();
            if real != made_up {
                failures.push(format!("{}: {real:?} vs {made_up:?}", real_rd.label));
            }
        }
    }
    for e in EMAILS {
        // Same shape, first letter changed: nobody's address.
        let fake = format!("z{}", &e[1..]);
        for (real_rd, fake_rd) in email_renderings(e).into_iter().zip(email_renderings(&fake)) {
            if real_rd.raw_json {
                continue;
            }
            let real = SCANNER
                .redact(&format!("a {} b", real_rd.text))
                .into_owned();
            let made_up = SCANNER
                .redact(&format!("a {} b", fake_rd.text))
                .into_owned();
            if real != made_up {
                failures.push(format!("email {}: {real:?} vs {made_up:?}", real_rd.label));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------- 6. recall vs baseline

fn digit_of(c: char) -> Option<u32> {
    c.to_digit(10).or_else(|| {
        SCRIPTS
            .iter()
            .find_map(|(_, z)| (c as u32).checked_sub(*z).filter(|d| *d < 10))
    })
}

/// Did the baseline flag this planted secret? Some regex match must
/// identify it: contain the national digits (phone) or equal the address.
fn baseline_detects(base: &GenericRegexScanner, doc: &str, kind: SecretKind, clear: &str) -> bool {
    base.find_all(doc).iter().any(|m| {
        let t = &doc[m.start..m.end];
        match kind {
            SecretKind::Phone => t
                .chars()
                .filter_map(digit_of)
                .map(|d| char::from_digit(d, 10).unwrap_or('?'))
                .collect::<String>()
                .contains(clear),
            SecretKind::Email => t.eq_ignore_ascii_case(clear),
        }
    })
}

#[test]
fn recall_known_values_vs_baseline() {
    let base = GenericRegexScanner::new();
    let (mut total, mut ours, mut theirs) = (0usize, 0usize, 0usize);
    for t in templates() {
        for (secret, kind, rd) in corpus() {
            let doc = plant(&t, &rd);
            let clear = clear_for(&secret, kind);
            total += 1;
            ours += usize::from(check(&doc, kind, &secret, t.pointer, t.key, &clear).is_ok());
            theirs += usize::from(baseline_detects(&base, &doc, kind, &clear));
        }
    }
    let pct = |n: usize| 100.0 * n as f64 / total as f64;
    println!(
        "recall on {total} planted renderings: known-value scanner {:.1}% ({ours}), baseline regexes {:.1}% ({theirs})",
        pct(ours),
        pct(theirs)
    );
    assert_eq!(ours, total);
    assert!(theirs < total);
}

// ---------------------------------------------------------------- robustness

#[test]
fn hostile_inputs_stay_bounded() {
    use std::time::Instant;
    // JSON in a string in a string ... each level deeply nested.
    let mut doc = json!({"to": "+15551234567"});
    for _ in 0..12 {
        let mut v = Value::String(doc.to_string());
        for _ in 0..100 {
            v = json!([v]);
        }
        doc = v;
    }
    let text = doc.to_string();
    let _ = SCANNER.scan_json(text.as_bytes());
    // Many secrets and suspects in one string: must stay near-linear.
    let body = "+15551234567 +12025550123 dave@unknown.test ".repeat(20_000);
    let doc = serde_json::to_string(&json!({"body": body})).expect("doc");
    let t = Instant::now();
    let scan = SCANNER.scan_json(doc.as_bytes());
    assert_eq!(scan.findings.len(), 1);
    let red = SCANNER.redact(&body);
    assert!(!red.contains("+1202"));
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
    // Percent-encoding nested past the decode depth does not recurse forever.
    let mut s = String::from("+15551234567");
    for _ in 0..20 {
        s = s.replace('%', "%25").replace('+', "%2B");
    }
    let _ = SCANNER.scan_text(&s);
}
