//! The resolving layer: checks the meaning of a file's [shape](super::shape) without copying it:
//! names (defined once, referenced with the right kind, not before the step that creates them),
//! time order, one action per step, the keys each action verb takes, and the expectation rules.
//! Every value is [`Spanned`], so every error points at its key or value. It computes only what the
//! shape cannot hold: each step's instant and actor, whole-table spans, settings as JSON.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Number as JsonNumber, Value};

use super::Scenario;
use super::diagnostic::*;
use super::shape::*;
use super::template::{Template, is_name_char};
use super::time::{DURATION_FORMS, TIME_FORMS, format_duration, format_instant};
use super::time::{parse_duration, parse_instant, parse_time};

/// A base world, merged with its own bases: what an `extends` contributes.
#[derive(Default)]
pub(crate) struct Base {
    pub settings: Option<JsonTable>,
    pub world: World,
    pub names: BTreeMap<String, (NameKind, Span)>,
}

/// Reads the base world an `extends` value names, its times resolved against the scenario's start:
/// an error in this file (missing file, cycle) or one already placed in the base.
pub(crate) type Loader<'l> = dyn FnMut(&Spanned<String>, i64) -> PResult<Base> + 'l;

/// The keys of a base world file (`extends = "worlds/basic.toml"`).
const WORLD_KEYS: &[&str] = &[
    "extends", "settings", "numbers", "sitters", "clients", "bookings", "users",
];
/// The keys each verb of the `booking`, `thread` and `number` actions takes.
const VERB_KEYS: &[(&str, &[&str])] = &[
    (
        "create",
        &[
            "action", "name", "client", "sitter", "service", "start", "end",
        ],
    ),
    ("confirm", &["action", "booking"]),
    ("complete", &["action", "booking"]),
    ("cancel", &["action", "booking"]),
    ("reassign", &["action", "booking", "sitter"]),
    ("reschedule", &["action", "booking", "start", "end"]),
    ("open", &["action", "name", "client", "booking"]),
    ("close", &["action", "thread"]),
    ("archive", &["action", "thread"]),
    ("add", &["action", "name", "e164", "class", "org"]),
    ("status", &["action", "number", "status"]),
];

/// The kinds of name a reference accepts (none listed: every kind), and what messages call them.
type Kinds = (&'static [NameKind], &'static str);

const NUMBER: Kinds = (&[NameKind::Number], "number");
const SITTER: Kinds = (&[NameKind::Sitter], "sitter");
const CLIENT: Kinds = (&[NameKind::Client], "client");
const BOOKING: Kinds = (&[NameKind::Booking], "booking");
const USER: Kinds = (&[NameKind::User], "user");
const THREAD: Kinds = (&[NameKind::Booking, NameKind::Thread], "thread");
const ENDPOINT: Kinds = (
    &[NameKind::Client, NameKind::Sitter, NameKind::Number],
    "client, sitter or number",
);
/// Any name (a placeholder).
const ANY: Kinds = (&[], "name");

fn check_e164(s: &Spanned<String>, key: &str) -> PResult<()> {
    let digits = s.value.strip_prefix('+').unwrap_or("");
    if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let message = format!("`{key}` `{}` is not an E.164 phone number", s.value);
    Err(err(s.span, message, "not E.164")
        .with_help("write `+` followed by 8 to 15 digits, e.g. `+15550100001`"))
}

fn check_email(s: &Spanned<String>) -> PResult<()> {
    let ok = s.value.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && !domain.is_empty() && !domain.contains('@')
    });
    if ok && !s.value.contains(char::is_whitespace) {
        return Ok(());
    }
    let message = format!("`email` `{}` is not an e-mail address", s.value);
    Err(err(s.span, message, "not an e-mail address")
        .with_help("write an address like `sam@example.com`"))
}

fn check_event_type(s: &Spanned<String>) -> PResult<()> {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if !s.value.is_empty() && s.value.chars().all(word) {
        return Ok(());
    }
    let message = format!("`{}` is not an event or alert type", s.value);
    Err(err(s.span, message, "invalid type")
        .with_help("types are dotted identifiers like `pool.number.assigned`"))
}

fn check_order(start: &Spanned<i64>, end: &Spanned<i64>) -> PResult<()> {
    if end.value > start.value {
        return Ok(());
    }
    let (end_at, start_at) = (format_instant(end.value), format_instant(start.value));
    let message = format!("the booking ends at {end_at}, which is not after its start {start_at}");
    Err(err(end.span, message, "not after `start`")
        .with_secondary(start.span, "start")
        .with_help("`end` must be later than `start`; both offsets count from the scenario start"))
}

fn with_article(what: &str) -> String {
    let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {what}")
}

/// A required shape field, or the error that it is missing from the table `what` at `header`.
fn required<'a, T>(
    field: &'a Option<Spanned<T>>,
    header: Span,
    key: &str,
    what: &str,
) -> PResult<&'a Spanned<T>> {
    field.as_ref().ok_or_else(|| missing(header, key, what))
}

/// A missing required key of the table `what` whose header is at `header` (empty: the file).
fn missing(header: Span, key: &str, what: &str) -> ScenarioError {
    let label = if header.start == header.end {
        format!("the scenario needs a top-level `{key}`")
    } else {
        format!("this needs a `{key}`")
    };
    err(
        header,
        format!("missing required key `{key}` in {what}"),
        label,
    )
}

/// The symbolic names defined so far.
#[derive(Default)]
struct Names {
    defs: BTreeMap<String, (NameKind, Span)>,
    /// Names defined later in the steps: the step and where (for "used before defined").
    future: BTreeMap<String, (usize, Span)>,
}

impl Names {
    fn define(&mut self, name: &Spanned<String>, kind: NameKind) -> PResult<()> {
        let n = &name.value;
        if n.is_empty() || !n.chars().all(is_name_char) {
            let help = "names may contain only letters, digits, `-`, `_` and `.`";
            return Err(
                err(name.span, format!("invalid name `{n}`"), "invalid name").with_help(help),
            );
        }
        if n == "none" {
            return Err(err(name.span, "`none` is a reserved word", "reserved")
                .with_help("`none` means \"no number\" in `expect.bindings`; pick another name"));
        }
        if let Some((other, first)) = self.defs.get(n) {
            let first_label = format!("first defined here, as {}", with_article(other.as_str()));
            return Err(err(name.span, format!("duplicate name `{n}`"), "defined again here")
                .with_secondary(*first, first_label)
                .with_help("names must be unique across numbers, sitters, clients, bookings, threads and users"));
        }
        self.defs.insert(n.clone(), (kind, name.span));
        Ok(())
    }

    /// Checks that `name` is defined and is one of `kinds`; `what` names the expected kind in
    /// messages ("client", "thread", ...).
    fn resolve(&self, name: &Spanned<String>, (kinds, what): Kinds) -> PResult<()> {
        let n = &name.value;
        match self.defs.get(n) {
            Some((kind, _)) if kinds.is_empty() || kinds.contains(kind) => Ok(()),
            Some((kind, def)) => {
                let (is, want) = (with_article(kind.as_str()), with_article(what));
                let message = format!("`{n}` is {is}, not {want}");
                Err(err(name.span, message, format!("expected {want}"))
                    .with_secondary(*def, format!("`{n}` is defined here")))
            }
            None => Err(self.unknown(name, (kinds, what))),
        }
    }

    /// The error for a name that is not defined (yet).
    fn unknown(&self, name: &Spanned<String>, (kinds, what): Kinds) -> ScenarioError {
        let n = &name.value;
        if let Some((step, future)) = self.future.get(n) {
            let step = step + 1;
            return err(name.span, format!("`{n}` is used before the step that defines it"), "not defined yet")
                .with_secondary(*future, format!("defined here, by step {step}"))
                .with_help(format!("names created by steps can only be used by that step's expectations and by later steps; move this after step {step}"));
        }
        let known = self.defs.iter();
        let known = known.filter(|(_, (k, _))| kinds.is_empty() || kinds.contains(k));
        let known: Vec<&str> = known.map(|(n, _)| n.as_str()).collect();
        let count = known.len();
        let help = match suggest(n, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => format!("no {what} is defined at this point"),
            None if count <= 12 => format!("known at this point: {}", quoted_list(&known)),
            None => format!("{count} names of this kind are defined; check the spelling"),
        };
        let label = if kinds.is_empty() {
            format!("nothing is named `{n}`")
        } else {
            format!("no {what} named `{n}`")
        };
        err(name.span, format!("unknown {what} `{n}`"), label).with_help(help)
    }
}

/// The rotation settings keys the engine knows, from its own defaults (not a copied list).
fn settings_keys() -> Vec<String> {
    match switchboard_core::settings::RotationSettings::default().to_json() {
        Value::Object(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// An unknown key in a settings table is an error with a suggestion, like any other key.
fn check_settings_keys(table: &JsonTable) -> PResult<()> {
    let known = settings_keys();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let mut keys = table.key_spans.iter();
    let Some((key, span)) = keys.find(|(k, _)| !known.contains(&k.as_str())) else {
        return Ok(());
    };
    let help = match suggest(key, known.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("the settings are {}", quoted_list(&known)),
    };
    let message = format!("unknown rotation setting `{key}`");
    Err(err(*span, message, "unknown key").with_help(help))
}

/// Reads the shape of a file with one parse: its TOML syntax (with the hint for `null`), then its
/// keys and types from the parsed document.
fn read_shape(source: &str) -> PResult<ScenarioShape> {
    use serde::Deserialize;
    let document = toml::de::Deserializer::parse(source).map_err(|e| toml_issue(source, &e))?;
    ScenarioShape::deserialize(document).map_err(|e| shape_issue(source, &e))
}

/// Resolves the file `path` (shown as `display`) whose text is `text` into a `Scenario`.
pub(crate) fn parse_document(
    (path, display, text): (&Path, &str, &Arc<str>),
    load: &mut Loader<'_>,
) -> Result<Scenario, ScenarioError> {
    let shape = read_shape(text)?;
    let (file, top) = (Span::new(0, 0), "the scenario (top level)");
    let name = required(&shape.name, file, "name", top)?;
    if name.value.trim().is_empty() {
        return Err(err(name.span, "`name` is empty", "empty name")
            .with_help("give the scenario a short title"));
    }
    let seed = shape.seed.as_ref().map_or(Ok(0), |n| {
        u64::try_from(n.value).map_err(|_| {
            err(n.span, "`seed` must not be negative", "negative")
                .with_help("the seed is an unsigned 64-bit integer")
        })
    })?;
    let start_text = required(&shape.start, file, "start", top)?;
    let start = parse_instant(&start_text.value.0).map_err(|e| {
        let message = format!("invalid instant `{}` for `start`: {e}", start_text.value.0);
        err(start_text.span, message, "invalid instant")
            .with_help("write the RFC 3339 instant the simulated clock starts at, like `2026-03-02T09:00:00Z` (`start` cannot be an offset)")
    })?;
    let (mut p, base) = world_part(text, &shape, start, load)?;
    let steps = p.steps(&shape.steps)?;
    Ok(Scenario {
        name: name.value.clone(),
        description: shape.description.clone(),
        seed,
        start,
        settings: base.settings,
        world: base.world,
        steps,
        names: p.names.defs,
        path: path.to_path_buf(),
        display_path: display.to_string(),
        source: text.clone(),
    })
}

/// Reads a base world file (only world keys and its own `extends`) for a scenario starting at
/// `start`.
pub(crate) fn parse_world_file(source: &str, start: i64, load: &mut Loader<'_>) -> PResult<Base> {
    let shape = read_shape(source)?;
    let mut written = shape.written();
    // `description` has no position: it is reported at the file's start.
    written.extend(
        shape
            .description
            .as_ref()
            .map(|_| ("description", Span::default())),
    );
    let key_of = |key: &&str| written.iter().find(|(k, _)| k == key).copied();
    let scenario_keys = ["name", "description", "seed", "start", "steps"];
    if let Some((key, span)) = scenario_keys.iter().find_map(key_of) {
        let at = key_at(source, span);
        return Err(unknown_key(at, key, "a base world", WORLD_KEYS));
    }
    world_part(source, &shape, start, load).map(|(_, base)| base)
}

/// The world of a file: its base (`extends`), then its own `[settings]` (each key overriding the
/// base's) and entities (added after the base's; a name the base defines is a duplicate).
/// Everything taken from the base is located at the `extends` value.
fn world_part<'s>(
    source: &'s str,
    shape: &ScenarioShape,
    start: i64,
    load: &mut Loader<'_>,
) -> PResult<(Parser<'s>, Base)> {
    let mut base = match &shape.extends {
        Some(path) => relocate(load(path, start)?, path.span),
        None => Base::default(),
    };
    if let Some(settings) = &shape.settings {
        let table = free_table(settings)?;
        check_settings_keys(&table)?;
        base.settings = Some(match base.settings.take() {
            None => table,
            Some(mut inherited) => {
                inherited.values.extend(table.values);
                inherited.key_spans.extend(table.key_spans);
                inherited.span = table.span;
                inherited
            }
        });
    }
    let names = Names {
        defs: std::mem::take(&mut base.names),
        ..Names::default()
    };
    let mut p = Parser {
        src: source,
        start,
        names,
    };
    p.world(shape)?;
    let (w, own) = (&mut base.world, shape);
    w.numbers.extend(own.numbers.iter().map(whole));
    w.sitters.extend(own.sitters.iter().map(whole));
    w.clients.extend(own.clients.iter().map(whole));
    w.bookings.extend(own.bookings.iter().map(whole));
    w.users.extend(own.users.iter().map(whole));
    base.names = p.names.defs.clone();
    Ok((p, base))
}

/// An entry located at its whole table.
fn whole<T: Table + Clone>(entry: &Spanned<T>) -> Spanned<T> {
    Spanned::new(entry.value.clone(), entry.extent())
}

/// Points everything a base world defines at `span` (the `extends` value of the file using it).
fn relocate(mut base: Base, span: Span) -> Base {
    let w = &mut base.world;
    w.numbers.iter_mut().for_each(|n| n.span = span);
    w.sitters.iter_mut().for_each(|n| n.span = span);
    w.clients.iter_mut().for_each(|n| n.span = span);
    w.bookings.iter_mut().for_each(|n| n.span = span);
    w.users.iter_mut().for_each(|n| n.span = span);
    base.names.values_mut().for_each(|(_, s)| *s = span);
    if let Some(settings) = &mut base.settings {
        settings.span = span;
        settings.key_spans.values_mut().for_each(|s| *s = span);
    }
    base
}

/// A free-form table (`[settings]`) as JSON, its keys located.
pub fn free_table(table: &Spanned<FreeTable>) -> PResult<JsonTable> {
    let (mut values, mut key_spans, mut span) = (Map::new(), BTreeMap::new(), table.span);
    for (key, value) in &table.value {
        values.insert(key.value.clone(), free_json(value, value.span)?);
        key_spans.insert(key.value.clone(), key.span);
        span = span.join(key.span).join(value.span);
    }
    Ok(JsonTable {
        values,
        span,
        key_spans,
    })
}

/// A free-form TOML value as JSON; a problem is reported at `at` (its key).
fn free_json(value: &toml::Value, at: Span) -> PResult<Value> {
    use toml::Value as T;
    let json = |v| free_json(v, at);
    Ok(match value {
        T::String(s) => Value::String(s.clone()),
        T::Integer(i) => Value::from(*i),
        T::Float(f) => JsonNumber::from_f64(*f).map(Value::Number).ok_or_else(|| {
            err(
                at,
                format!("`{f}` cannot be represented in JSON"),
                "not a finite number",
            )
        })?,
        T::Boolean(b) => Value::Bool(*b),
        T::Datetime(d) => Value::String(d.to_string()),
        T::Array(items) => Value::Array(items.iter().map(json).collect::<PResult<_>>()?),
        T::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), json(v)?)))
                .collect::<PResult<_>>()?,
        ),
    })
}

/// The JSON text of a `{ json = '...' }` slot, if it is written that way.
fn json_text(value: &FreeValue) -> Option<&str> {
    match value {
        toml::Value::Table(t) if t.len() == 1 => t.get("json").and_then(toml::Value::as_str),
        _ => None,
    }
}

/// A JSON slot's value, for the runner (the parser has reported any problem at its place).
pub fn json_of(slot: &Spanned<FreeValue>) -> Result<Value, String> {
    match json_text(&slot.value) {
        Some(text) => serde_json::from_str(text).map_err(|e| e.to_string()),
        None => free_json(&slot.value, slot.span).map_err(|e| e.message().to_string()),
    }
}

/// The key written before the value at `span`, or the value itself.
fn key_at(source: &str, span: Span) -> Span {
    key_before(source, span).map_or(span, |(_, key)| key)
}

/// The names a file's world defines and refers to (with the kind and the noun for messages),
/// checked once all are known, each in source order.
#[derive(Default)]
struct Refs {
    defs: Vec<(Spanned<String>, NameKind)>,
    uses: Vec<(Spanned<String>, Kinds)>,
}

impl Refs {
    fn refer(&mut self, name: &Option<Spanned<String>>, kinds: Kinds) {
        self.uses.extend(name.clone().map(|n| (n, kinds)));
    }
}

struct Parser<'s> {
    src: &'s str,
    start: i64,
    names: Names,
}

impl Parser<'_> {
    /// The span of `raw[start..end]` inside the string literal at `span`, when the literal is
    /// written without escapes; else the whole literal.
    fn sub_span(&self, span: Span, raw: &str, start: usize, end: usize) -> Span {
        let lit = self.src.get(span.range()).unwrap_or("");
        if lit.len() == raw.len() + 2 && lit.get(1..lit.len() - 1) == Some(raw) {
            Span::new(span.start + 1 + start, span.start + 1 + end)
        } else {
            span
        }
    }

    fn key_at(&self, span: Span) -> Span {
        key_at(self.src, span)
    }

    /// A time as written (an instant or an offset from the start) in unix seconds.
    fn time_of(&self, text: &Spanned<TimeText>, key: &str) -> PResult<Spanned<i64>> {
        let time = parse_time(&text.value.0, self.start).map_err(|e| {
            let message = format!("invalid time `{}` for `{key}`: {e}", text.value.0);
            err(text.span, message, "invalid time").with_help(format!("write {TIME_FORMS}"))
        })?;
        Ok(Spanned::new(time, text.span))
    }

    /// The required `start` and `end` of a booking in the table `what` at `header`, in order.
    fn window(
        &self,
        (header, what): (Span, &str),
        times: [&Option<Spanned<TimeText>>; 2],
    ) -> PResult<()> {
        let start = self.time_of(required(times[0], header, "start", what)?, "start")?;
        let end = self.time_of(required(times[1], header, "end", what)?, "end")?;
        check_order(&start, &end)
    }

    /// The world entities of a file; every name is defined (in source order, so a duplicate is
    /// reported at the later one) before any reference is checked.
    fn world(&mut self, shape: &ScenarioShape) -> PResult<()> {
        let mut refs = Refs::default();
        let mut e164s: BTreeMap<String, Span> = BTreeMap::new();
        for entry in &shape.numbers {
            let name = self.number(entry)?;
            let e164 = entry.e164.as_ref().map_or(entry.span, |e| e.span);
            if let Some(first) = e164s.insert(given(&entry.e164), e164) {
                let message = format!("two numbers have the E.164 `{}`", given(&entry.e164));
                return Err(
                    err(e164, message, "duplicate number").with_secondary(first, "first used here")
                );
            }
            refs.refer(&entry.sitter, SITTER);
            refs.defs.push((name.clone(), NameKind::Number));
        }
        for (entries, kind, what) in [
            (&shape.sitters, NameKind::Sitter, "a `[[sitters]]` entry"),
            (&shape.clients, NameKind::Client, "a `[[clients]]` entry"),
        ] {
            for entry in entries {
                let name = required(&entry.name, entry.span, "name", what)?;
                check_e164(required(&entry.phone, entry.span, "phone", what)?, "phone")?;
                check_email(required(&entry.email, entry.span, "email", what)?)?;
                refs.defs.push((name.clone(), kind));
            }
        }
        for entry in &shape.bookings {
            let (header, what) = (entry.span, "a `[[bookings]]` entry");
            let name = required(&entry.name, header, "name", what)?;
            let client = required(&entry.client, header, "client", what)?;
            required(&entry.service, header, "service", what)?;
            self.window((header, what), [&entry.start, &entry.end])?;
            refs.uses.push((client.clone(), CLIENT));
            refs.refer(&entry.sitter, SITTER);
            refs.defs.push((name.clone(), NameKind::Booking));
        }
        for entry in &shape.users {
            let (header, what) = (entry.span, "a `[[users]]` entry");
            refs.defs.push((
                required(&entry.name, header, "name", what)?.clone(),
                NameKind::User,
            ));
            required(&entry.role, header, "role", what)?;
        }
        refs.defs.sort_by_key(|(n, _)| n.span);
        for (name, kind) in &refs.defs {
            self.names.define(name, *kind)?;
        }
        refs.uses.sort_by_key(|(n, _)| n.span);
        let mut uses = refs.uses.iter();
        uses.try_for_each(|(name, kinds)| self.names.resolve(name, *kinds))
    }

    /// Checks a `[[numbers]]` entry and returns its name (its E.164 unique and its sitter defined
    /// are checked by the caller).
    fn number<'e>(&self, entry: &'e Spanned<NumberShape>) -> PResult<&'e Spanned<String>> {
        let (t, header, what) = (&entry.value, entry.span, "a `[[numbers]]` entry");
        let name = required(&t.name, header, "name", what)?;
        check_e164(required(&t.e164, header, "e164", what)?, "e164")?;
        if let Some(text) = &t.created {
            self.time_of(text, "created")?;
        }
        match (&t.sitter, t.class()) {
            (None, NumberClass::Sitter) => Err(missing(header, "sitter", what)
                .with_help("a number with class = \"sitter\" must name the sitter it belongs to")),
            (Some(s), NumberClass::Pool | NumberClass::FrontDesk) => Err(err(
                self.key_at(s.span),
                "`sitter` is only allowed on numbers with class = \"sitter\"",
                "not a sitter number",
            )
            .with_help("add `class = \"sitter\"` or remove `sitter`")),
            _ => Ok(name),
        }
    }

    fn steps(&mut self, steps: &[Spanned<StepShape>]) -> PResult<Vec<Step>> {
        // Names that steps create, so that using one too early gets a precise message.
        for (index, step) in steps.iter().enumerate() {
            let (booking, thread) = (step.booking.as_ref(), step.thread.as_ref());
            let create = booking.filter(|b| value_of(&b.action) == Some(BookingVerb::Create));
            let open = thread.filter(|t| value_of(&t.action) == Some(ThreadVerb::Open));
            let created = [
                create.and_then(|b| b.name.as_ref()),
                open.and_then(|t| t.name.as_ref()),
            ];
            for name in created.into_iter().flatten() {
                let future = self.names.future.entry(name.value.clone());
                future.or_insert((index, name.span));
            }
        }
        let mut out: Vec<Step> = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            let now = out.last().map_or(self.start, |s| s.when);
            out.push(self.step(index, step, now)?);
        }
        Ok(out)
    }

    fn step(&mut self, index: usize, entry: &Spanned<StepShape>, now: i64) -> PResult<Step> {
        let (t, header) = (&entry.value, entry.span);
        let actions = t.actions();
        if let [(first, first_span, _), (second, second_span, _), ..] = actions[..] {
            let message = format!(
                "a step can have only one action, but this one has `{first}` and `{second}`"
            );
            return Err(err(self.key_at(second_span), message, "second action")
                .with_secondary(self.key_at(first_span), "first action")
                .with_help("split it into two steps; a step without `advance` or `at` happens at the same instant as the previous one"));
        }
        if let (Some(advance), Some(at)) = (&t.advance, &t.at) {
            let mut keys = [
                (self.key_at(advance.span), "advance"),
                (self.key_at(at.span), "at"),
            ];
            keys.sort();
            let [(first, first_key), (later, later_key)] = keys;
            return Err(err(later, "a step can't have both `advance` and `at`", format!("`{later_key}` here"))
                .with_secondary(first, format!("`{first_key}` here"))
                .with_help("`advance` moves the clock forward from the previous step; `at` sets it to an instant or to an offset from the scenario start. Keep one."));
        }
        let expect_empty = t.expect.as_ref().is_none_or(|e| e.value.is_empty());
        if t.advance.is_none() && t.at.is_none() && actions.is_empty() && expect_empty {
            let help = format!(
                "give it a time (`advance` or `at`), an action ({}) or an `expect` table",
                quoted_list(ACTION_KEYS)
            );
            return Err(err(header, "this step does nothing", "empty step").with_help(help));
        }
        let (when, time_span) = self.when(t, now)?;
        let (action, action_span) = actions
            .first()
            .map_or((Action::Wait, None), |a| (a.2, Some(a.1)));
        let actor = self.step_actor(t, actions.first().map(|a| a.0))?;
        let actor = self.action(index, action, actor)?;
        let expect = match &t.expect {
            Some(e) => self.expect(e, &action)?,
            None => ExpectShape::default(),
        };
        Ok(Step {
            index,
            label: t.name.as_ref().map(|l| l.value.clone()),
            advance_from: now,
            when,
            actor,
            shape: t.clone(),
            expect,
            span: entry
                .extent()
                .join(t.expect.as_ref().map_or(header, Spanned::extent)),
            header_span: header,
            time_span,
            action_span,
        })
    }

    /// When a step happens (`advance` from `now`, or `at`; else `now`) and where that is written.
    fn when(&self, t: &StepShape, now: i64) -> PResult<(i64, Option<Span>)> {
        if let Some(text) = &t.advance {
            let secs = parse_duration(&text.value).map_err(|e| {
                let message = format!("invalid duration `{}` for `advance`: {e}", text.value);
                err(text.span, message, "invalid duration")
                    .with_help(format!("write {DURATION_FORMS}"))
            })?;
            let when = now.checked_add(secs);
            let when =
                when.ok_or_else(|| err(text.span, "the simulated clock overflows", "too far"))?;
            return Ok((when, Some(text.span)));
        }
        let Some(at) = &t.at else {
            return Ok((now, None));
        };
        let when = self.time_of(at, "at")?;
        if when.value < now {
            let message = format!(
                "time goes backwards: `at` is {}, but the previous steps already reached {} ({} later)",
                format_instant(when.value),
                format_instant(now),
                format_duration(now - when.value),
            );
            return Err(err(when.span, message, "earlier than the current simulated time")
                .with_help("steps run in order and the clock never moves back; an offset like `+1d` in `at` counts from the scenario `start`, not from the previous step (use `advance` for that)"));
        }
        Ok((when.value, Some(when.span)))
    }

    /// Who performs a step's `settings`, `chaos` or `release` action (`as`, default the owner);
    /// other steps must not write a step-level `as`.
    fn step_actor(&self, t: &StepShape, kind: Option<&str>) -> PResult<Role> {
        let Some(actor) = &t.actor else {
            return Ok(Role::Owner);
        };
        if matches!(kind, Some("settings" | "chaos" | "release")) {
            return self.role(actor);
        }
        let mut help = "only `settings`, `chaos` and `release` steps take a step-level `as`".into();
        let message = match kind {
            Some(kind @ ("request" | "send")) => {
                help = format!("put it inside the action: `{kind} = {{ as = \"...\", ... }}`");
                format!("`as` is not a step key for a `{kind}` step")
            }
            Some(kind) => format!("a `{kind}` step does not take `as`"),
            None => "`as` on a step without an action".to_string(),
        };
        Err(err(self.key_at(actor.span), message, "`as` not allowed here").with_help(help))
    }

    fn role(&self, s: &Spanned<String>) -> PResult<Role> {
        let prefixed = |prefix: &str| {
            let name = s.value.strip_prefix(prefix)?;
            let span = self.sub_span(s.span, &s.value, prefix.len(), s.value.len());
            Some(Spanned::new(name.to_string(), span))
        };
        Ok(match s.value.as_str() {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "rival-owner" => Role::RivalOwner,
            "anonymous" => Role::Anonymous,
            _ => match (prefixed("sitter:"), prefixed("user:")) {
                (Some(name), _) => {
                    self.names.resolve(&name, SITTER)?;
                    Role::Sitter(name.value)
                }
                (None, Some(name)) => {
                    self.names.resolve(&name, USER)?;
                    Role::User(name.value)
                }
                (None, None) => {
                    return Err(err(s.span, format!("unknown role `{}`", s.value), "not a role")
                        .with_help("roles are `owner`, `admin`, `rival-owner`, `sitter:NAME`, `user:NAME` and `anonymous`"));
                }
            },
        })
    }

    /// A string with `{NAME}` placeholders, each naming an entity defined at this point.
    fn template(&self, s: &Spanned<String>) -> PResult<()> {
        let template = Template::parse(&s.value).map_err(|e| {
            err(
                self.sub_span(s.span, &s.value, e.start, e.end),
                "invalid placeholder",
                "here",
            )
            .with_help(e.message)
        })?;
        let mut offset = 0;
        for name in template.names() {
            // Locate the placeholder in the raw text for a precise caret.
            let needle = format!("{{{name}}}");
            let rest = s.value.get(offset..).and_then(|rest| rest.find(&needle));
            let at = rest.map_or(offset, |i| i + offset);
            offset = at + needle.len();
            let span = self.sub_span(s.span, &s.value, at, offset);
            let resolved = self
                .names
                .resolve(&Spanned::new(name.to_string(), span), ANY);
            resolved.map_err(|e| {
                let message = if e.message().starts_with("unknown") {
                    format!("unknown placeholder `{{{name}}}`")
                } else {
                    format!("placeholder `{{{name}}}`: {}", e.message())
                };
                e.with_message(message)
            })?;
        }
        Ok(())
    }

    /// A required name of one of `kinds` in the table `what` at `header`.
    fn name_ref(
        &self,
        field: &Option<Spanned<String>>,
        at: (Span, &str, &str),
        kinds: Kinds,
    ) -> PResult<()> {
        self.names
            .resolve(required(field, at.0, at.1, at.2)?, kinds)
    }

    /// An optional name of one of `kinds`.
    fn opt_name_ref(&self, field: &Option<Spanned<String>>, kinds: Kinds) -> PResult<()> {
        field
            .as_ref()
            .map_or(Ok(()), |name| self.names.resolve(name, kinds))
    }

    /// A JSON slot in either form: a TOML value, or `{ json = '...' }` text (TOML has no `null`, so
    /// a body, `expect.json` or an event `payload` may be written as JSON text).
    fn json_slot(&self, slot: &Spanned<FreeValue>) -> PResult<Value> {
        let Some(text) = json_text(&slot.value) else {
            return free_json(&slot.value, slot.span);
        };
        serde_json::from_str(text).map_err(|e| {
            err(
                self.json_text_span(slot.span),
                format!("invalid JSON text: {e}"),
                "not JSON",
            )
            .with_help("write JSON inside single quotes, like `{ json = '{\"sitterId\": null}' }`")
        })
    }

    /// The span of the text in `{ json = '...' }` written at `slot`.
    fn json_text_span(&self, slot: Span) -> Span {
        let text = self.src.get(slot.range()).unwrap_or("");
        let Some(eq) = text.find('=') else {
            return slot;
        };
        let rest = &text[eq + 1..];
        let start = eq + 1 + (rest.len() - rest.trim_start().len());
        let inner = text[start..].trim_end();
        let inner = inner.strip_suffix('}').unwrap_or(inner).trim_end();
        Span::new(slot.start + start, slot.start + start + inner.len())
    }

    /// An expected JSON value in either form, its placeholders checked.
    fn expected_json(&self, slot: &Spanned<FreeValue>) -> PResult<()> {
        self.check_placeholders(&self.json_slot(slot)?, slot.span)
    }

    /// Validates the placeholders of every string inside `value`, written within `within` (each
    /// string located at its literal when it is written without escapes).
    fn check_placeholders(&self, value: &Value, within: Span) -> PResult<()> {
        match value {
            Value::String(s) => {
                let text = self.src.get(within.range()).unwrap_or("");
                let literal = ['"', '\'']
                    .into_iter()
                    .find_map(|q| text.find(&format!("{q}{s}{q}")));
                let span = literal.map_or(within, |at| {
                    Span::new(within.start + at, within.start + at + s.len() + 2)
                });
                self.template(&Spanned::new(s.clone(), span))
            }
            Value::Array(items) => items
                .iter()
                .try_for_each(|v| self.check_placeholders(v, within)),
            Value::Object(map) => map
                .values()
                .try_for_each(|v| self.check_placeholders(v, within)),
            _ => Ok(()),
        }
    }

    /// An inbound endpoint: a client, sitter or number name, or a literal E.164 phone.
    fn endpoint(&self, field: &Option<Spanned<String>>, at: (Span, &str, &str)) -> PResult<()> {
        let s = required(field, at.0, at.1, at.2)?;
        if s.value.starts_with('+') {
            return check_e164(s, at.1);
        }
        self.names.resolve(s, ENDPOINT).map_err(|e| {
            e.with_help("use the name of a client, sitter or number, or a literal E.164 phone number like `+15550100001`")
        })
    }

    /// Checks a step's action; returns who performs it (`actor`: the step's own `as`).
    fn action(&mut self, index: usize, action: Action<'_>, actor: Role) -> PResult<Role> {
        match action {
            Action::Request(r) => return self.request(r),
            Action::Send(s) => {
                let what = "the `send` action";
                let actor = self.role(required(&s.actor, s.span, "as", what)?)?;
                self.name_ref(&s.thread, (s.span, "thread", what), THREAD)?;
                required(&s.body, s.span, "body", what)?;
                return Ok(actor);
            }
            Action::Inbound(i) => {
                let what = "the `inbound` action";
                if let Some(s) = i.sid.as_ref().filter(|s| s.value.is_empty()) {
                    return Err(err(s.span, "`sid` is empty", "empty")
                        .with_help(format!("remove it to use the default `SM{index}`")));
                }
                self.endpoint(&i.from, (i.span, "from", what))?;
                self.endpoint(&i.to, (i.span, "to", what))?;
                required(&i.body, i.span, "body", what)?;
            }
            Action::Webhook(w) => drop(required(
                &w.fields,
                w.span,
                "fields",
                "the `webhook` action",
            )?),
            Action::Number(n) => self.number_action(n)?,
            Action::Booking(b) => self.booking_action(b)?,
            Action::Thread(t) => self.thread_action(t)?,
            Action::Settings(s) => check_settings_keys(&free_table(s)?)?,
            Action::Chaos(c) => drop(free_table(c)?),
            Action::Release(r) if !r.value => {
                return Err(
                    err(r.span, "`release = false` does nothing", "false").with_help(
                        "write `release = true` to run the release job, or remove the key",
                    ),
                );
            }
            Action::Release(_) | Action::Wait => {}
        }
        Ok(actor)
    }

    /// `request = { as, method, path, body }`: an absolute path whose placeholders name entities.
    fn request(&self, r: &Spanned<RequestShape>) -> PResult<Role> {
        let what = "the `request` action";
        let actor = self.role(required(&r.actor, r.span, "as", what)?)?;
        required(&r.method, r.span, "method", what)?;
        let path = required(&r.path, r.span, "path", what)?;
        if !path.value.starts_with('/') {
            let message = format!("`path` `{}` must start with `/`", path.value);
            return Err(err(path.span, message, "not an absolute path")
                .with_help("write the API path, like `/api/settings/rotation`"));
        }
        self.template(path)?;
        if let Some(b) = &r.body {
            self.json_slot(b)?;
        }
        Ok(actor)
    }

    /// The verb of `kind = { action = verb, ... }` (required), once the table is checked to write
    /// only the keys that verb takes ([`VERB_KEYS`]). Returns the table's description.
    fn verb<V: Copy + serde::Serialize>(
        &self,
        (kind, verb): (&str, &Option<Spanned<V>>),
        written: Vec<(&str, Span)>,
        header: Span,
    ) -> PResult<(V, String)> {
        let verb = required(verb, header, "action", &format!("the `{kind}` action"))?.value;
        let name = serde_json::to_value(verb).ok();
        let name = name.as_ref().and_then(Value::as_str).unwrap_or_default();
        let allowed = VERB_KEYS
            .iter()
            .find(|(v, _)| *v == name)
            .map_or(&[][..], |(_, keys)| keys);
        let what = format!("`{kind}` action `{name}`");
        let mut written = written;
        written.sort_by_key(|(_, span)| *span);
        match written.into_iter().find(|(key, _)| !allowed.contains(key)) {
            Some((key, span)) => Err(unknown_key(self.key_at(span), key, &what, allowed)),
            None => Ok((verb, what)),
        }
    }

    fn number_action(&mut self, n: &Spanned<NumberActionShape>) -> PResult<()> {
        let (verb, what) = self.verb(("number", &n.action), n.written(), n.span)?;
        if verb == NumberVerb::Status {
            self.name_ref(&n.number, (n.span, "number", &what), NUMBER)?;
            return required(&n.status, n.span, "status", &what).map(drop);
        }
        let name = required(&n.name, n.span, "name", &what)?;
        check_e164(required(&n.e164, n.span, "e164", &what)?, "e164")?;
        if let Some(written) = n.class.as_ref().filter(|c| c.value == NumberClass::Sitter) {
            return Err(err(
                written.span,
                "invalid `class` value `sitter`",
                "not a valid `class`",
            )
            .with_help(one_of("sitter", &["pool", "front_desk"])));
        }
        self.names.define(name, NameKind::Number)
    }

    fn booking_action(&mut self, b: &Spanned<BookingActionShape>) -> PResult<()> {
        let (verb, what) = self.verb(("booking", &b.action), b.written(), b.span)?;
        let key = |key| (b.span, key, what.as_str());
        let booking = || self.name_ref(&b.booking, key("booking"), BOOKING);
        let window = || self.window((b.span, &what), [&b.start, &b.end]);
        match verb {
            BookingVerb::Create => {
                let name = required(&b.name, b.span, "name", &what)?;
                self.name_ref(&b.client, key("client"), CLIENT)?;
                self.opt_name_ref(&b.sitter, SITTER)?;
                required(&b.service, b.span, "service", &what)?;
                window()?;
                self.names.define(name, NameKind::Booking)
            }
            BookingVerb::Confirm | BookingVerb::Complete | BookingVerb::Cancel => booking(),
            BookingVerb::Reschedule => booking().and_then(|_| window()),
            BookingVerb::Reassign => {
                booking()?;
                self.name_ref(&b.sitter, key("sitter"), SITTER)
            }
        }
    }

    fn thread_action(&mut self, t: &Spanned<ThreadActionShape>) -> PResult<()> {
        let (verb, what) = self.verb(("thread", &t.action), t.written(), t.span)?;
        let key = |key| (t.span, key, what.as_str());
        if verb != ThreadVerb::Open {
            return self.name_ref(&t.thread, key("thread"), THREAD);
        }
        let name = required(&t.name, t.span, "name", &what)?;
        self.name_ref(&t.client, key("client"), CLIENT)?;
        self.opt_name_ref(&t.booking, BOOKING)?;
        self.names.define(name, NameKind::Thread)
    }

    /// `status`, `json` and the body checks need an HTTP response: a step without an action or with
    /// a background job has none.
    fn check_response_keys(&self, t: &ExpectShape, action: &Action) -> PResult<()> {
        let response_keys = ["status", "json", "body_excludes", "body_matches"];
        let mut written = t.written().into_iter();
        let first = written.find(|(key, _)| response_keys.contains(key));
        let Some((key, span)) = first.filter(|_| !action.has_response()) else {
            return Ok(());
        };
        let (message, help) = match action {
            Action::Wait => (
                "this step has no response to check".to_string(),
                format!("add an action or remove `{key}`"),
            ),
            _ => (
                format!(
                    "a `{}` step runs a background job and has no HTTP response",
                    action.kind()
                ),
                format!(
                    "remove `{key}`; check the job's effects with `events`, `bindings` or `alerts`"
                ),
            ),
        };
        Err(err(
            self.key_at(span),
            message,
            format!("`{key}` can't be checked here"),
        )
        .with_help(help))
    }

    /// Checks a step's `expect` table; returns it with each `events` and `bindings` entry located
    /// at its whole table.
    fn expect(&self, e: &Spanned<ExpectShape>, action: &Action) -> PResult<ExpectShape> {
        let t = &e.value;
        self.check_response_keys(t, action)?;
        if let Some(n) = t
            .status
            .as_ref()
            .filter(|n| !(100..=599).contains(&n.value))
        {
            return Err(err(
                n.span,
                format!("`{}` is not an HTTP status", n.value),
                "not 100..=599",
            ));
        }
        if let Some(v) = &t.json {
            self.expected_json(v)?;
        }
        let mut excludes = t.body_excludes.iter().flat_map(|list| &list.value);
        if let Some(text) = excludes.find(|text| text.value.is_empty()) {
            return Err(err(text.span, "an empty text is in every body", "empty"));
        }
        if let Some(pattern) = &t.body_matches {
            regex::Regex::new(&pattern.value).map_err(|e| {
                err(pattern.span, "invalid regular expression", "here")
                    .with_help(e.to_string().replace('\n', " "))
            })?;
        }
        let mut t = t.clone();
        for item in t.events.iter_mut().flat_map(|list| &mut list.value) {
            check_event_type(required(
                &item.event_type,
                item.span,
                "type",
                "an `expect.events` entry",
            )?)?;
            if let Some(p) = &item.payload {
                self.expected_json(p)?;
            }
            item.span = item.extent();
        }
        forbidden_events(&t)?;
        for item in t.bindings.iter_mut().flat_map(|list| &mut list.value) {
            self.expected_binding(item)?;
            item.span = item.extent();
        }
        if let Some(list) = &t.alerts {
            check_alerts(list)?;
        }
        Ok(t)
    }

    /// An `expect.bindings` entry: a thread and a number name (or `none`).
    fn expected_binding(&self, item: &Spanned<BindingShape>) -> PResult<()> {
        let at = (item.span, "thread", "an `expect.bindings` entry");
        self.name_ref(&item.thread, at, THREAD)?;
        let number = required(&item.number, item.span, "number", at.2)?;
        if number.value == "none" {
            return Ok(());
        }
        let resolved = self.names.resolve(number, NUMBER);
        resolved.map_err(|e| e.with_help("name a number, or write \"none\" for no binding"))
    }
}

/// `expect.no_events`: valid types, none of them also in `events`.
fn forbidden_events(t: &ExpectShape) -> PResult<()> {
    let events: Vec<&Spanned<EventShape>> = t.events.iter().flat_map(|l| &l.value).collect();
    for ty in t.no_events.iter().flat_map(|list| &list.value) {
        check_event_type(ty)?;
        if let Some(e) = events.iter().find(|e| named(&e.event_type, &ty.value)) {
            let message = format!("`{}` is both expected and forbidden", ty.value);
            return Err(
                err(ty.span, message, "forbidden here").with_secondary(e.span, "expected here")
            );
        }
    }
    Ok(())
}

/// The open alert types: each a valid type listed once.
fn check_alerts(list: &Spanned<Vec<Spanned<String>>>) -> PResult<()> {
    for (i, a) in list.value.iter().enumerate() {
        check_event_type(a)?;
        if let Some(first) = list.value[..i].iter().find(|x| x.value == a.value) {
            let message = format!("alert `{}` is listed twice", a.value);
            return Err(
                err(a.span, message, "duplicate").with_secondary(first.span, "first listed here")
            );
        }
    }
    Ok(())
}
