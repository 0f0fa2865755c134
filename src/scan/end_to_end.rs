//! `switchboard scan` end to end in-process: contacts file, JSON, whole HAR,
//! malformed input and errors (moved with the command from the leak crate).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Format, ScanOutcome, run_scan};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "leakscan-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("tempdir");
        TempDir(dir)
    }
    fn write(&self, name: &str, body: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, body).expect("write");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const CONTACTS_JSON: &str = r#"{
  "secrets": {"phones": ["+15551234567", "+447700900123"], "emails": ["alice@example.com"]},
  "allowed": {"phones": ["+15550001111"]}
}"#;

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, &b)| a | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn run(contacts: &std::path::Path, files: &[PathBuf]) -> (Result<ScanOutcome, String>, String) {
    let mut out = Vec::new();
    let res = run_scan(contacts, files, Format::Text, &mut out).map_err(|e| e.to_string());
    (res, String::from_utf8(out).expect("utf8"))
}

#[test]
fn cli_json_and_har() {
    let dir = TempDir::new("cli");
    let contacts = dir.write("contacts.json", CONTACTS_JSON);
    let json_file = dir.write(
        "resp.json",
        r#"{"messages": [{"body": "call (555) 123-4567", "from": "+15550001111"},
            {"body": "ok", "delivery": {"provider": {"error": "bad To: Alice@Example.com"}}}]}"#,
    );
    let body0 = r#"{"messages": [{"body": "no secrets here, pool +1 555 000 1111"}]}"#;
    let body1 = r#"{"messages": [{"body": "hi"}, {"body": "07700 900123"}]}"#;
    let body2 = r#"{"trace": ["tel:%2B15551234567"]}"#;
    let har = json!({"log": {"version": "1.2", "entries": [
        {"request": {"url": "https://api.test/t/1"}, "response": {"content": {"mimeType": "application/json", "text": body0}}},
        {"response": {"content": {"mimeType": "application/json", "text": b64(body1.as_bytes()), "encoding": "base64"}}},
        {"response": {"status": 204, "content": {"size": 0}}},
        {"response": {"content": {"text": body2}}}
    ]}});
    let har_file = dir.write("session.har", &har.to_string());
    let clean_file = dir.write("clean.json", r#"{"ok": true, "at": 1714557600}"#);

    let (res, out) = run(
        &contacts,
        &[json_file.clone(), har_file.clone(), clean_file.clone()],
    );
    let j = json_file.display();
    let h = har_file.display();
    let expected = [
        format!("{j}:/messages/0/body: phone +1******4567 as \"(555) ***-4567\""),
        format!(
            "{j}:/messages/1/delivery/provider/error: email a****@example.com as \"A****@Example.com\""
        ),
        format!(
            "{h}:/log/entries/1/response/content/text/messages/1/body: phone +44******0123 as \"0770* **0123\""
        ),
        format!(
            "{h}:/log/entries/3/response/content/text/trace/0: phone +1******4567 as \"%2B1555***4567\""
        ),
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
    assert_eq!(res, Ok(ScanOutcome::Found(4)));
    assert_eq!(ScanOutcome::Found(4).exit_code(), 1);

    let (res, out) = run(&contacts, std::slice::from_ref(&clean_file));
    assert_eq!((res, out.as_str()), (Ok(ScanOutcome::Clean), ""));
    assert_eq!(ScanOutcome::Clean.exit_code(), 0);
}

fn b64url(data: &[u8]) -> String {
    b64(data)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// A HAR with a known secret in each place a capture can hold one, at the
/// pointers of [`WHOLE_HAR_POINTERS`]. (URLs sit in `let`s of their own.)
fn whole_har() -> String {
    let jwt = format!(
        "{}.{}.c2ln",
        b64url(br#"{"alg":"HS256"}"#),
        b64url(br#"{"sub":"u1","tel":"+15551234567"}"#)
    );
    let data_uri = format!("data:text/plain;base64,{}", b64(b"call 07700 900123 today"));
    let call = "https://api.test/call?to=%2B15551234567";
    let (x, y) = ("https://api.test/x", "https://api.test/y");
    let referer = "https://app.test/?email=alice%40example.com";
    let redirect = "https://app.test/r?p=5551234567";
    let entries = json!([
        {"request": {"method": "GET", "url": call, "headers": [], "queryString": []},
         "response": {"status": 200, "headers": [], "content": {"text": ""}, "redirectURL": ""}},
        {"request": {"url": x, "queryString": [{"name": "to", "value": "+44 7700 900123"}],
                     "headers": [{"name": "Referer", "value": referer}]},
         "response": {"headers": [{"name": "Location", "value": "/u/tel:+1-555-123-4567"}], "redirectURL": "", "content": {}}},
        {"request": {"url": y, "postData": {"mimeType": "text/plain", "text": "from alice@example.com"},
                     "cookies": [{"name": "session", "value": jwt}]},
         "response": {"content": {"text": data_uri}, "redirectURL": redirect}}
    ]);
    json!({"log": {"version": "1.2", "entries": entries}}).to_string()
}

/// Where [`whole_har`]'s secrets sit.
const WHOLE_HAR_POINTERS: [&str; 8] = [
    "/log/entries/0/request/url",
    "/log/entries/1/request/queryString/0/value",
    "/log/entries/1/request/headers/0/value",
    "/log/entries/1/response/headers/0/value",
    "/log/entries/2/request/postData/text",
    "/log/entries/2/request/cookies/0/value/tel",
    "/log/entries/2/response/content/text",
    "/log/entries/2/response/redirectURL",
];

/// Scan `har` as text and as JSON output: every `expected` pointer is
/// reported, the outcome counts the findings, no secret is printed
/// unmasked, and the JSON format agrees with the text one.
fn check_har(contacts: &std::path::Path, har: &std::path::Path, expected: &[&str]) {
    let har = har.to_path_buf();
    let (res, out) = run(contacts, std::slice::from_ref(&har));
    let pointers: Vec<&str> = out
        .lines()
        .map(|l| l.split_once(".har:").expect("file prefix").1)
        .map(|l| l.split_once(": ").expect("pointer").0)
        .collect();
    for expected in expected {
        assert!(pointers.contains(expected), "{expected} missing in:\n{out}");
    }
    assert_eq!(res, Ok(ScanOutcome::Found(pointers.len())));
    assert!(
        !out.contains("5551234567") && !out.contains("alice@"),
        "{out}"
    );
    let mut json_out = Vec::new();
    let res = run_scan(
        contacts,
        std::slice::from_ref(&har),
        Format::Json,
        &mut json_out,
    );
    let doc: Value = serde_json::from_slice(&json_out).expect("json output");
    assert_eq!(doc["total"], json!(pointers.len()));
    assert_eq!(doc["files"][0]["findings"][0]["kind"], json!("phone"));
    assert!(doc["files"][0]["findings"][0]["pointer"].is_string());
    assert_eq!(
        res.map_err(|e| e.to_string()),
        Ok(ScanOutcome::Found(pointers.len()))
    );
}

/// A HAR is scanned whole: every place a secret can sit in a capture is
/// found, each at its own pointer.
#[test]
fn cli_har_is_scanned_whole() {
    let dir = TempDir::new("har-whole");
    let contacts = dir.write("contacts.json", CONTACTS_JSON);
    let har = dir.write("capture.har", &whole_har());
    check_har(&contacts, &har, &WHOLE_HAR_POINTERS);
}

/// Unusable input is an error naming the file and the problem (exit 2),
/// never a panic and never a silent "clean".
#[test]
fn cli_malformed_input_is_an_error() {
    let dir = TempDir::new("cli-bad");
    let contacts = dir.write("contacts.json", CONTACTS_JSON);
    let invalid_utf8 = dir.0.join("bin.json");
    std::fs::write(&invalid_utf8, b"{\"a\": \"\xff\xfe\"}").expect("write");
    let cases = [
        (
            dir.write("truncated.json", r#"{"messages": [{"body": "+1555"#),
            "invalid JSON at line 1",
        ),
        (
            dir.write("truncated.har", r#"{"log": {"entries": [{"request": "#),
            "invalid JSON",
        ),
        (dir.write("not-a.har", r#"{"entries": []}"#), "not a HAR"),
        (dir.write("list.har", r#"[1, 2]"#), "not a HAR"),
        (dir.write("looks.txt", "{ not json"), "invalid JSON"),
        (invalid_utf8, "not valid UTF-8"),
    ];
    for (file, message) in cases {
        let (res, out) = run(&contacts, std::slice::from_ref(&file));
        let err = res.expect_err("malformed input must be an error");
        assert!(err.contains(message), "{}: {err}", file.display());
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert_eq!(out, "", "nothing printed for {}", file.display());
    }
    let text = dir.write("notes.txt", "call 555 123 4567");
    let (res, _) = run(&contacts, std::slice::from_ref(&text));
    assert_eq!(res, Ok(ScanOutcome::Found(1)));
}

#[test]
fn cli_errors() {
    let dir = TempDir::new("cli-err");
    let good = dir.write("contacts.json", CONTACTS_JSON);
    let f = dir.write("f.json", "{}");

    let missing = dir.0.join("nope.json");
    let mut out = Vec::new();
    let err =
        run_scan(&missing, std::slice::from_ref(&f), Format::Text, &mut out).expect_err("missing");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("nope.json"), "{err}");

    let (res, _) = run(&good, std::slice::from_ref(&missing));
    assert!(
        res.as_ref().is_err_and(|e| e.contains("nope.json")),
        "{res:?}"
    );

    let unknown = dir.write("c1.json", r#"{"secrets": {"phones": [], "emale": []}}"#);
    let (res, _) = run(&unknown, std::slice::from_ref(&f));
    let e = res.expect_err("unknown field");
    assert!(e.contains("c1.json") && e.contains("emale"), "{e}");

    let not_json = dir.write("c2.json", "phones: +15551234567");
    let (res, _) = run(&not_json, std::slice::from_ref(&f));
    assert!(res.is_err_and(|e| e.contains("c2.json")));

    let wrong_type = dir.write("c4.json", r#"{"secrets": {"phones": "+15551234567"}}"#);
    let (res, _) = run(&wrong_type, std::slice::from_ref(&f));
    let e = res.expect_err("wrong type");
    assert!(e.contains("c4.json") && !e.contains("5551234567"), "{e}");

    let bad_phone = dir.write(
        "c3.json",
        r#"{"secrets": {"phones": ["+15551234567", "555-123-4567"]}}"#,
    );
    let (res, _) = run(&bad_phone, std::slice::from_ref(&f));
    let e = res.expect_err("bad e164");
    assert!(e.contains("c3.json") && e.contains("phones[1]"), "{e}");
}
