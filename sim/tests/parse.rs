//! Valid scenarios parse into the expected typed values.

use std::path::Path;

use serde_json::json;
use switchboard_sim::scenario::*;

/// Parses `source` (shown as `tests/inline.toml`), failing the test with
/// the rendered report if it does not parse.
fn check(source: &str) -> Scenario {
    match Scenario::parse(Path::new("tests/inline.toml"), source) {
        Ok(s) => s,
        Err(e) => panic!("scenario should parse:\n{}", e.render()),
    }
}

/// The text a span covers.
fn text(s: &Scenario, span: Span) -> &str {
    &s.source()[span.range()]
}

const START: i64 = 1_772_442_000; // 2026-03-02T09:00:00Z
const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

const FULL: &str = r#"
name = "everything"
start = "2026-03-02T09:00:00Z"

[settings]
poolSelectionStrategy = "LRU"
maxConcurrentThreadsPerPoolNumber = 1

[[numbers]]
name = "pool-1"
e164 = "+15550100001"

[[numbers]]
name = "sam-line"
e164 = "+15550100002"
class = "sitter"
status = "quarantined"
created = "-30d"
sitter = "sam"
org = "rival"

[[sitters]]
name = "sam"
phone = "+15550200001"
email = "sam@example.com"

[[sitters]]
name = "sue"
first_name = "Susan"
phone = "+15550200002"
email = "sue@example.com"
org = "main"

[[clients]]
name = "alice"
phone = "+15550300001"
email = "alice@example.com"

[[bookings]]
name = "walk-1"
client = "alice"
sitter = "sam"
service = "Dog Walking"
start = "+1d"
end = "2026-03-03T10:00:00Z"

[[bookings]]
name = "walk-0"
client = "alice"
service = "Cat Sitting"
start = "-2d"
end = "-1d"
status = "completed"

[[users]]
name = "ada"
role = "admin"

[[users]]
name = "rick"
role = "owner"
org = "rival"

[[steps]]
name = "wait a bit"
advance = "30m"

[[steps]]
request = { as = "owner", method = "POST", path = "/api/threads/{walk-1}/notes", body = { text = "hi", n = [1, 2.5, true] } }

[steps.expect]
status = 201
json = { id = "{walk-1}", nested = { list = ["{{literal}}"] } }

[[steps]]
advance = "1h30m"
inbound = { from = "alice", to = "pool-1", body = "hello" }
expect = { events = [{ type = "pool.number.assigned", payload = { number = "{pool-1}" } }, { type = "message.received" }], no_events = ["pool.exhausted"] }

[[steps]]
inbound = { from = "+15559990000", to = "+15550100001", body = "who?", sid = "SMcustom", signature = "missing" }

[[steps]]
at = "+1d"
send = { as = "sitter:sam", thread = "walk-1", body = "On my way" }

[[steps]]
booking = { action = "create", name = "walk-2", client = "alice", service = "Dog Walking", start = "+2d", end = "+2d1h" }
expect = { json = { name = "{walk-2}" } }

[[steps]]
booking = { action = "confirm", booking = "walk-2" }
expect.bindings = [{ thread = "walk-2", number = "pool-1" }, { thread = "walk-1", number = "none" }]

[[steps]]
booking = { action = "reassign", booking = "walk-2", sitter = "sue" }

[[steps]]
booking = { action = "complete", booking = "walk-1" }

[[steps]]
booking = { action = "cancel", booking = "walk-2" }

[[steps]]
thread = { action = "open", name = "t-alice", client = "alice", booking = "walk-1" }

[[steps]]
thread = { action = "close", thread = "t-alice" }

[[steps]]
thread = { action = "archive", thread = "walk-2" }

[[steps]]
settings = { maxConcurrentThreadsPerPoolNumber = 2 }

[[steps]]
as = "user:ada"
chaos = { enabled = true, failureProbability = 1.0, delayMs = 0 }

[[steps]]
advance = "2w"
release = true
as = "rival-owner"

[steps.expect]
alerts = ["pool.exhausted", "number.quarantined"]

[[steps]]
at = "2026-03-20T00:00:00+01:00"
expect = { alerts = [] }
"#;

/// The [`FULL`] fixture, parsed.
fn full() -> Scenario {
    check(FULL)
}

#[test]
fn full_scenario_header_and_settings() {
    let s = full();
    assert_eq!(s.name, "everything");
    assert_eq!(s.description, None);
    assert_eq!(s.seed, 0);
    assert_eq!(s.start, START);
    assert_eq!(s.path(), Path::new("tests/inline.toml"));

    let settings = s.settings.as_ref().expect("settings");
    assert_eq!(
        settings.to_value(),
        json!({ "poolSelectionStrategy": "LRU", "maxConcurrentThreadsPerPoolNumber": 1 })
    );
    assert_eq!(
        text(&s, settings.span_of("maxConcurrentThreadsPerPoolNumber")),
        "maxConcurrentThreadsPerPoolNumber"
    );
    assert_eq!(
        text(&s, settings.span_of("/poolSelectionStrategy")),
        "poolSelectionStrategy"
    );
    assert_eq!(
        text(&s, settings.span_of("nope")),
        "[settings]\npoolSelectionStrategy = \"LRU\"\nmaxConcurrentThreadsPerPoolNumber = 1"
    );
}

#[test]
fn full_scenario_world() {
    let s = full();
    let w = &s.world;
    let pool = &w.numbers[0];
    assert_eq!(
        (given(&pool.name), given(&pool.e164)),
        ("pool-1".into(), "+15550100001".into())
    );
    assert_eq!(
        (pool.class(), pool.status()),
        (NumberClass::Pool, NumberStatus::Active)
    );
    assert_eq!(s.time(&pool.created), Ok(START));
    assert_eq!((pool.sitter.as_ref(), given(&pool.org)), (None, Org::Main));
    assert!(text(&s, w.numbers[0].span).starts_with("[[numbers]]\nname = \"pool-1\""));
    let line = &w.numbers[1];
    assert_eq!(line.class(), NumberClass::Sitter);
    assert_eq!(line.status(), NumberStatus::Quarantined);
    assert_eq!(s.time(&line.created), Ok(START - 30 * DAY));
    assert_eq!(given(&line.sitter), "sam");
    assert_eq!(given(&line.org), Org::Rival);
    assert_eq!(w.sitters[0].first_name(), "Sam");
    assert_eq!(w.sitters[1].first_name(), "Susan");
    assert_eq!(given(&w.clients[0].email), "alice@example.com");
    assert_eq!(given(&w.clients[0].org), Org::Main);
    let b = &w.bookings[0];
    assert_eq!(
        (s.time(&b.start), s.time(&b.end)),
        (Ok(START + DAY), Ok(START + DAY + HOUR))
    );
    assert_eq!(b.status(), BookingStatus::Confirmed);
    assert_eq!(given(&b.sitter), "sam");
    assert_eq!(w.bookings[1].status(), BookingStatus::Completed);
    assert_eq!(w.bookings[1].sitter, None);
    assert_eq!(
        (value_of(&w.users[0].role), given(&w.users[0].org)),
        (Some(UserRole::Admin), Org::Main)
    );
    assert_eq!(
        (value_of(&w.users[1].role), given(&w.users[1].org)),
        (Some(UserRole::Owner), Org::Rival)
    );

    assert_eq!(s.name_kind("walk-2"), Some(NameKind::Booking));
    assert_eq!(s.name_kind("t-alice"), Some(NameKind::Thread));
    assert_eq!(s.name_kind("ada"), Some(NameKind::User));
    assert_eq!(s.name_kind("nobody"), None);
}

#[test]
fn full_scenario_step_times() {
    let s = full();
    let times: Vec<(i64, i64)> = s
        .steps
        .iter()
        .map(|st| (st.advance_from, st.when))
        .collect();
    let t1 = START + 30 * MIN;
    let t2 = t1 + HOUR + 30 * MIN;
    let t3 = START + DAY;
    let t4 = t3 + 14 * DAY;
    let t5 = 1_773_961_200; // 2026-03-20T00:00:00+01:00
    let mut expected = vec![(START, t1), (t1, t1), (t1, t2), (t2, t2), (t2, t3)];
    expected.extend(std::iter::repeat_n((t3, t3), 10));
    expected.extend([(t3, t4), (t4, t5)]);
    assert_eq!(times, expected);
    assert_eq!(s.end(), t5);
    for (i, step) in s.steps.iter().enumerate() {
        assert_eq!(step.index, i);
        assert!(text(&s, step.span).starts_with("[[steps]]"));
        assert_eq!(text(&s, step.header_span), "[[steps]]");
    }

    let st = &s.steps[0];
    assert_eq!(st.label.as_deref(), Some("wait a bit"));
    assert_eq!(st.action(), Action::Wait);
    assert!(st.expect.is_empty());
    assert_eq!(text(&s, st.time_span.unwrap()), "\"30m\"");
    assert_eq!(st.describe(), "step 1 (\"wait a bit\")");
}

#[test]
fn full_scenario_request_step() {
    let s = full();
    let Action::Request(req) = s.steps[1].action() else {
        panic!("request expected")
    };
    assert_eq!(s.steps[1].actor, Role::Owner);
    assert_eq!(value_of(&req.method), Some(Method::Post));
    let path = Template::parse(&given(&req.path)).unwrap();
    assert_eq!(path.raw, "/api/threads/{walk-1}/notes");
    assert_eq!(
        path.parts,
        vec![
            Part::Text("/api/threads/".into()),
            Part::Name("walk-1".into()),
            Part::Text("/notes".into())
        ]
    );
    assert_eq!(
        path.render(|n| Some(format!("id-{n}"))).unwrap(),
        "/api/threads/id-walk-1/notes"
    );
    assert_eq!(
        json_of(req.body.as_ref().unwrap()).unwrap(),
        json!({ "text": "hi", "n": [1, 2.5, true] })
    );
    let e = &s.steps[1].expect;
    assert_eq!(e.status.as_ref().map(|x| x.value), Some(201));
    let j = &json_of(e.json.as_ref().unwrap()).unwrap();
    assert_eq!(
        *j,
        json!({ "id": "{walk-1}", "nested": { "list": ["{{literal}}"] } })
    );
    assert_eq!(
        render_json(j, &mut |n| Some(format!("id-{n}"))).unwrap(),
        json!({ "id": "id-walk-1", "nested": { "list": ["{literal}"] } })
    );
    assert_eq!(s.steps[1].action().kind(), "request");
    assert_eq!(
        text(&s, s.steps[1].action_span.unwrap()).chars().next(),
        Some('{')
    );
}

#[test]
fn full_scenario_inbound_steps() {
    let s = full();
    let Action::Inbound(inb) = s.steps[2].action() else {
        panic!("inbound expected")
    };
    // Names of a client and a number (the runner looks up their phones).
    assert_eq!(s.name_kind(&given(&inb.from)), Some(NameKind::Client));
    assert_eq!(s.name_kind(&given(&inb.to)), Some(NameKind::Number));
    assert_eq!(
        (given(&inb.from), given(&inb.to)),
        ("alice".into(), "pool-1".into())
    );
    assert_eq!(inb.sid(2), "SM2");
    assert_eq!(given(&inb.signature), Signature::Valid);
    let e = &s.steps[2].expect;
    let events = &e.events.as_ref().unwrap().value;
    assert_eq!(events.len(), 2);
    assert_eq!(given(&events[0].event_type), "pool.number.assigned");
    let payload = events[0].payload.as_ref().map(|p| json_of(p).unwrap());
    assert_eq!(payload, Some(json!({ "number": "{pool-1}" })));
    assert_eq!(events[1].payload, None);
    assert_eq!(
        e.no_events.as_ref().unwrap().value[0].value,
        "pool.exhausted"
    );

    let Action::Inbound(inb) = s.steps[3].action() else {
        panic!("inbound expected")
    };
    // Literal phones, which name nothing.
    assert_eq!(given(&inb.from), "+15559990000");
    assert_eq!(given(&inb.to), "+15550100001");
    assert_eq!(s.name_kind(&given(&inb.from)), None);
    assert_eq!(inb.sid(3), "SMcustom");
    assert_eq!(given(&inb.signature), Signature::Missing);
}

/// Each step of [`FULL`] that is checked whole: its index, who acts, and its action's kind and
/// keys as written (every other key absent).
fn expected_actions() -> Vec<(usize, Role, &'static str, toml::Value)> {
    let owner = Role::Owner;
    let rows = [
        (
            4,
            Role::Sitter("sam".into()),
            "send",
            r#"{ as = "sitter:sam", thread = "walk-1", body = "On my way" }"#,
        ),
        (
            5,
            owner.clone(),
            "booking",
            r#"{ action = "create", name = "walk-2", client = "alice", service = "Dog Walking", start = "+2d", end = "+2d1h" }"#,
        ),
        (
            6,
            owner.clone(),
            "booking",
            r#"{ action = "confirm", booking = "walk-2" }"#,
        ),
        (
            7,
            owner.clone(),
            "booking",
            r#"{ action = "reassign", booking = "walk-2", sitter = "sue" }"#,
        ),
        (
            8,
            owner.clone(),
            "booking",
            r#"{ action = "complete", booking = "walk-1" }"#,
        ),
        (
            9,
            owner.clone(),
            "booking",
            r#"{ action = "cancel", booking = "walk-2" }"#,
        ),
        (
            10,
            owner.clone(),
            "thread",
            r#"{ action = "open", name = "t-alice", client = "alice", booking = "walk-1" }"#,
        ),
        (
            11,
            owner.clone(),
            "thread",
            r#"{ action = "close", thread = "t-alice" }"#,
        ),
        (
            12,
            owner.clone(),
            "thread",
            r#"{ action = "archive", thread = "walk-2" }"#,
        ),
        (15, Role::RivalOwner, "release", "true"),
        (16, owner, "wait", "false"),
    ];
    let value =
        |text: &str| toml::from_str::<toml::Table>(&format!("v = {text}")).unwrap()["v"].clone();
    rows.into_iter()
        .map(|(index, role, kind, text)| (index, role, kind, value(text)))
        .collect()
}

/// The value of a step's action as written.
fn written(action: Action<'_>) -> toml::Value {
    let value = match action {
        Action::Send(a) => toml::Value::try_from(&a.value),
        Action::Booking(a) => toml::Value::try_from(&a.value),
        Action::Thread(a) => toml::Value::try_from(&a.value),
        Action::Release(a) => Ok(toml::Value::Boolean(a.value)),
        _ => Ok(toml::Value::Boolean(false)),
    };
    value.unwrap()
}

#[test]
fn full_scenario_actions() {
    let s = full();
    for (index, actor, kind, action) in expected_actions() {
        let step = &s.steps[index];
        assert_eq!(step.actor, actor, "step {index}");
        assert_eq!(step.action().kind(), kind, "step {index}");
        assert_eq!(written(step.action()), action, "step {index}");
    }
    // The booking's times, resolved against the start.
    let Action::Booking(create) = s.steps[5].action() else {
        panic!("booking expected")
    };
    assert_eq!(s.time(&create.start), Ok(START + 2 * DAY));
    assert_eq!(s.time(&create.end), Ok(START + 2 * DAY + HOUR));
    let binds = &s.steps[6].expect.bindings.as_ref().unwrap().value;
    assert_eq!(
        (given(&binds[0].thread), binds[0].number_name()),
        ("walk-2".into(), Some("pool-1".into()))
    );
    assert_eq!(
        (given(&binds[1].thread), binds[1].number_name()),
        ("walk-1".into(), None)
    );
}

#[test]
fn full_scenario_settings_chaos_release() {
    let s = full();
    let Action::Settings(values) = s.steps[13].action() else {
        panic!("settings expected")
    };
    assert_eq!(s.steps[13].actor, Role::Owner);
    assert_eq!(
        free_table(values).unwrap().to_value(),
        json!({ "maxConcurrentThreadsPerPoolNumber": 2 })
    );
    let Action::Chaos(config) = s.steps[14].action() else {
        panic!("chaos expected")
    };
    assert_eq!(s.steps[14].actor, Role::User("ada".into()));
    let config = free_table(config).unwrap();
    assert_eq!(
        config.to_value(),
        json!({ "enabled": true, "failureProbability": 1.0, "delayMs": 0 })
    );
    assert_eq!(text(&s, config.span_of("delayMs")), "delayMs");
    assert!(
        s.steps[15].action().has_response(),
        "release answers with the job's stats"
    );
    let alerts = s.steps[15].expect.alert_types().unwrap();
    assert_eq!(alerts, vec!["number.quarantined", "pool.exhausted"]);
    assert_eq!(
        s.steps[16].expect.alert_types().unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn minimal_scenario_and_unquoted_datetime() {
    let s = check("name = \"m\"\nseed = 9\nstart = 2026-03-02T09:00:00Z\n");
    assert_eq!((s.seed, s.start), (9, START));
    assert!(s.steps.is_empty() && s.settings.is_none());
    assert_eq!(s.world, World::default());
    assert_eq!(s.end(), START);
}

#[test]
fn examples_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut count = 0;
    for path in switchboard_sim::discover(&[dir]).unwrap() {
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = Scenario::load(&path) {
                panic!("{} should parse:\n{}", path.display(), e.render());
            }
            count += 1;
        }
    }
    assert!(count >= 1);
}

#[test]
fn runner_errors_point_at_spans() {
    let s = check(FULL);
    let step = &s.steps[1];
    let status = step.expect.status.as_ref().unwrap();
    let err = s
        .error_at(status.span, "expected status 201, got 500")
        .with_label("expected here")
        .with_help("the response body was: {}");
    assert_eq!(s.line_col(status.span), (72, 10));
    assert_eq!(
        err.one_line(),
        "tests/inline.toml:72:10: expected status 201, got 500"
    );
    let rendered = err.render();
    assert!(rendered.contains("[tests/inline.toml:72:10]"), "{rendered}");
    assert!(rendered.contains("72 │ status = 201"), "{rendered}");
    assert!(rendered.contains("╰── expected here"), "{rendered}");

    // The standalone constructor clamps any span.
    let err = ScenarioError::at(Path::new("x.toml"), "a = 1\n", Span::new(3, 999), "boom");
    assert_eq!(err.one_line(), "x.toml:1:4: boom");
    assert!(err.render().contains("[x.toml:1:4]"));
}

#[test]
fn load_reports_missing_files() {
    let err = Scenario::load("tests/does-not-exist.toml").unwrap_err();
    assert!(
        err.one_line()
            .starts_with("tests/does-not-exist.toml: cannot read scenario file")
    );
    assert!(err.render().contains("cannot read scenario file"));
}

/// No input makes the parser panic: every prefix of a valid file, and the
/// file with each line removed, yields a scenario or an error.
#[test]
fn never_panics_on_mangled_input() {
    let sources = [
        FULL.to_string(),
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../scenarios/capacity/lru-skips-full-numbers.toml"),
        )
        .unwrap(),
    ];
    for source in &sources {
        let mut cut = 0;
        while cut <= source.len() {
            if source.is_char_boundary(cut)
                && let Err(e) = Scenario::parse(Path::new("m.toml"), &source[..cut])
            {
                let _ = e.render();
            }
            cut += 7;
        }
        let lines: Vec<&str> = source.lines().collect();
        for skip in 0..lines.len() {
            let mangled: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect();
            if let Err(e) = Scenario::parse(Path::new("m.toml"), &mangled.join("\n")) {
                let _ = e.render();
            }
        }
    }
}

#[test]
fn types_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Scenario>();
    assert_send_sync::<ScenarioError>();
}

/// Parses `source` as if it were the file `tests/broken/inline.toml` (so `extends` paths are
/// relative to `tests/broken/`), returning the one-line error.
fn extends_error(source: &str) -> String {
    match Scenario::parse(Path::new("tests/broken/inline.toml"), source) {
        Ok(_) => panic!("should fail:\n{source}"),
        Err(e) => e.one_line(),
    }
}

#[test]
fn extends_merges_the_base_world_first_and_reports_base_problems_in_the_base() {
    let s = check(
        r#"
name = "extends"
start = "2026-03-02T09:00:00Z"
extends = "../../scenarios/worlds/basic.toml"

[settings]
minPoolReserve = 0

[[clients]]
name = "carol"
phone = "+15550300003"
email = "carol@example.com"

[[steps]]
inbound = { from = "bob", to = "+15550100001", body = "hi" }
"#,
    );
    let clients: Vec<String> = s.world.clients.iter().map(|c| given(&c.name)).collect();
    assert_eq!(clients, ["alice", "bob", "carol"]);
    assert_eq!(given(&s.world.sitters[0].name), "sam");
    assert_eq!(s.name_kind("alice"), Some(NameKind::Client));
    // What the base defines is located at the `extends` value.
    assert_eq!(
        text(&s, s.world.clients[0].span),
        "\"../../scenarios/worlds/basic.toml\""
    );
    for (source, expected) in [
        (
            "name = \"c\"\nstart = \"2026-03-02T09:00:00Z\"\nextends = \"worlds/loop-a.toml\"\n",
            "tests/broken/worlds/loop-b.toml:1:11: `extends` makes a cycle: tests/broken/inline.toml -> tests/broken/worlds/loop-a.toml -> tests/broken/worlds/loop-b.toml -> tests/broken/worlds/loop-a.toml",
        ),
        (
            "name = \"c\"\nstart = \"2026-03-02T09:00:00Z\"\nextends = \"worlds/bad-email.toml\"\n",
            "tests/broken/worlds/bad-email.toml:4:9: `email` `alice-at-example.com` is not an e-mail address",
        ),
        (
            "name = \"c\"\nstart = \"2026-03-02T09:00:00Z\"\nextends = \"extends_missing_file.toml\"\n",
            "tests/broken/extends_missing_file.toml:1:1: unknown key `name` in a base world",
        ),
    ] {
        assert_eq!(extends_error(source), expected);
    }
}

/// A world with one of everything, for the value checks below.
const WORLD: &str = r#"name = "v"
start = "2026-03-02T09:00:00Z"
[[numbers]]
name = "pool-1"
e164 = "+15550100001"
[[sitters]]
name = "sam"
phone = "+15550200001"
email = "sam@example.com"
[[clients]]
name = "alice"
phone = "+15550300001"
email = "alice@example.com"
[[bookings]]
name = "walk"
client = "alice"
service = "Walk"
start = "+1d"
end = "+1d1h"
"#;

/// Every value of its own form (phones, e-mails, times, durations, roles, event types) is
/// checked as it is read, in any table it appears in: the report is located at the value
/// (the appended step's last line, where the bad text starts) and names its key.
#[test]
fn malformed_values_are_reported_at_the_value_under_their_key() {
    let cases = [
        (
            "[[steps]]\nat = \"soon\"",
            6,
            "invalid time `soon` for `at`",
        ),
        (
            "[[steps]]\nadvance = \"2x\"",
            11,
            "invalid duration `2x` for `advance`",
        ),
        (
            "[[steps]]\ninbound = { from = \"+1\", to = \"pool-1\", body = \"x\" }",
            20,
            "`from` `+1` is not an E.164 phone number",
        ),
        (
            "[[steps]]\nsend = { as = \"boss\", thread = \"walk\", body = \"x\" }",
            15,
            "unknown role `boss`",
        ),
        (
            "[[steps]]\nsend = { as = \"sitter:sma\", thread = \"walk\", body = \"x\" }",
            23,
            "unknown sitter `sma`",
        ),
        (
            "[[steps]]\nrelease = true\nexpect = { alerts = [\"ok\", \"no good\"] }",
            28,
            "`no good` is not an event or alert type",
        ),
        (
            "[[steps]]\nrelease = true\nexpect = { no_events = [\"ok\", \"\"] }",
            31,
            "`` is not an event or alert type",
        ),
        (
            "[[steps]]\nrelease = true\nexpect = { events = [{ type = \"a b\" }] }",
            31,
            "`a b` is not an event or alert type",
        ),
        (
            "[[steps]]\nnumber = { action = \"add\", name = \"p2\", e164 = \"+1-555\" }",
            48,
            "`e164` `+1-555` is not an E.164 phone number",
        ),
        (
            "[[steps]]\nbooking = { action = \"reschedule\", booking = \"walk\", start = \"+2d\", end = \"1d\" }",
            75,
            "invalid time `1d` for `end`: an offset needs a sign: +1d",
        ),
        (
            "[[users]]\nname = \"u\"\nrole = \"owner\"\n[[steps]]\nrequest = { as = 5, method = \"GET\", path = \"/api/alerts\" }",
            18,
            "`as` must be a string, not an integer",
        ),
    ];
    for (steps, col, message) in cases {
        let source = format!("{WORLD}{steps}\n");
        // The bad value is on the last line.
        let line = source.lines().count();
        let err = Scenario::parse(Path::new("v.toml"), &source)
            .err()
            .unwrap_or_else(|| panic!("should fail:\n{steps}"));
        let expected = format!("v.toml:{line}:{col}: {message}");
        assert!(
            err.one_line().starts_with(&expected),
            "{expected}\n{}",
            err.one_line()
        );
    }
}
