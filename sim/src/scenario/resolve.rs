//! The resolving layer: validates the file's [shape](super::shape) (serde) without copying it.
//!
//! The shape says which keys exist and what type each value has; a serde error is turned into
//! a located error worded like the resolver's own ([`diagnostic`](super::diagnostic)). Resolving
//! checks meaning on the typed shape: names (defined once, referenced with the right kind, not
//! before the step that creates them), time order, one action per step, the keys each
//! sub-action takes, and the expectation rules. Every value is [`Spanned`], so every error points
//! at its key or value. It computes only what the shape cannot hold: each step's instant and
//! actor, the entries' whole-table spans, the settings as JSON.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Number as JsonNumber, Value};

use super::Scenario;
use super::diagnostic::*;
use super::shape::*;
use super::template::{Template, is_name_char};
use super::time::{
    DURATION_FORMS, TIME_FORMS, format_duration, format_instant, parse_duration, parse_instant,
    parse_time,
};

/// A base world, merged with its own bases: what an `extends` contributes.
#[derive(Default)]
pub(crate) struct Base {
    pub settings: Option<JsonTable>,
    pub world: World,
    pub names: BTreeMap<String, (NameKind, Span)>,
}

/// Reads the base world an `extends` value names, resolving its times against the scenario's
/// start: an error in this file (missing file, cycle, not yet placed in it) or one placed in
/// the base.
pub(crate) type Loader<'l> = dyn FnMut(&Spanned<String>, i64) -> PResult<Base> + 'l;

/// The keys of a base world file (`extends = "worlds/basic.toml"`).
const WORLD_KEYS: &[&str] = &[
    "extends", "settings", "numbers", "sitters", "clients", "bookings", "users",
];
const ACTION_KEYS: &[&str] = &[
    "request", "inbound", "send", "booking", "thread", "settings", "chaos", "release", "webhook",
    "number",
];
fn check_e164(s: &Spanned<String>, key: &str) -> PResult<()> {
    let digits = s.value.strip_prefix('+').unwrap_or("");
    let ok = s.value.starts_with('+')
        && (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ScenarioError::new(
            s.span,
            format!("`{key}` `{}` is not an E.164 phone number", s.value),
            "not E.164",
        )
        .with_help("write `+` followed by 8 to 15 digits, e.g. `+15550100001`"))
    }
}

fn check_email(s: &Spanned<String>) -> PResult<()> {
    let ok = match s.value.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.value.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ScenarioError::new(
            s.span,
            format!("`email` `{}` is not an e-mail address", s.value),
            "not an e-mail address",
        )
        .with_help("write an address like `sam@example.com`"))
    }
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
            return Err(ScenarioError::new(
                name.span,
                format!("invalid name `{n}`"),
                "invalid name",
            )
            .with_help("names may contain only letters, digits, `-`, `_` and `.`"));
        }
        if n == "none" {
            return Err(
                ScenarioError::new(name.span, "`none` is a reserved word", "reserved").with_help(
                    "`none` means \"no number\" in `expect.bindings`; pick another name",
                ),
            );
        }
        if let Some((other, first)) = self.defs.get(n) {
            return Err(ScenarioError::new(
                name.span,
                format!("duplicate name `{n}`"),
                "defined again here",
            )
            .with_secondary(*first, format!("first defined here, as {}", with_article(other.as_str())))
            .with_help(
                "names must be unique across numbers, sitters, clients, bookings, threads and users",
            ));
        }
        self.defs.insert(n.clone(), (kind, name.span));
        Ok(())
    }

    /// Checks that `name` is defined and is one of `kinds`; `what` names
    /// the expectation for messages ("client", "thread", ...).
    fn resolve(&self, name: &Spanned<String>, kinds: &[NameKind], what: &str) -> PResult<NameKind> {
        let n = &name.value;
        match self.defs.get(n) {
            Some((kind, _)) if kinds.contains(kind) => Ok(*kind),
            Some((kind, def)) => Err(ScenarioError::new(
                name.span,
                format!(
                    "`{n}` is {}, not {}",
                    with_article(kind.as_str()),
                    with_article(what)
                ),
                format!("expected {}", with_article(what)),
            )
            .with_secondary(*def, format!("`{n}` is defined here"))),
            None => {
                if let Some((step, future)) = self.future.get(n) {
                    return Err(ScenarioError::new(
                        name.span,
                        format!("`{n}` is used before the step that defines it"),
                        "not defined yet",
                    )
                    .with_secondary(*future, format!("defined here, by step {}", step + 1))
                    .with_help(format!(
                        "names created by steps can only be used by that step's expectations and by later steps; move this after step {}",
                        step + 1
                    )));
                }
                let known: Vec<&str> = self
                    .defs
                    .iter()
                    .filter(|(_, (k, _))| kinds.contains(k))
                    .map(|(n, _)| n.as_str())
                    .collect();
                let help = if let Some(s) = suggest(n, known.iter().copied()) {
                    format!("did you mean `{s}`?")
                } else if known.is_empty() {
                    format!("no {what} is defined at this point")
                } else if known.len() <= 12 {
                    format!("known at this point: {}", quoted_list(&known))
                } else {
                    format!(
                        "{} names of this kind are defined; check the spelling",
                        known.len()
                    )
                };
                let label = if kinds.len() == ALL_KINDS.len() {
                    format!("nothing is named `{n}`")
                } else {
                    format!("no {what} named `{n}`")
                };
                Err(
                    ScenarioError::new(name.span, format!("unknown {what} `{n}`"), label)
                        .with_help(help),
                )
            }
        }
    }
}

fn with_article(what: &str) -> String {
    if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {what}")
    } else {
        format!("a {what}")
    }
}

const THREADS: &[NameKind] = &[NameKind::Booking, NameKind::Thread];
const ALL_KINDS: &[NameKind] = &[
    NameKind::Number,
    NameKind::Sitter,
    NameKind::Client,
    NameKind::Booking,
    NameKind::Thread,
    NameKind::User,
];

struct Parser<'s> {
    src: &'s str,
    start: i64,
    names: Names,
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
    for (key, span) in &table.key_spans {
        if known.iter().any(|k| k == key) {
            continue;
        }
        let mut issue = ScenarioError::new(
            *span,
            format!("unknown rotation setting `{key}`"),
            "unknown key",
        );
        issue = match suggest(key, known.iter().map(String::as_str)) {
            Some(close) => issue.with_help(format!("did you mean `{close}`?")),
            None => {
                let list: Vec<&str> = known.iter().map(String::as_str).collect();
                issue.with_help(format!("the settings are {}", quoted_list(&list)))
            }
        };
        return Err(issue);
    }
    Ok(())
}

/// A required shape field, or the issue that it is missing from the table at `header`.
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
    let label = if header.is_empty() {
        format!("the scenario needs a top-level `{key}`")
    } else {
        format!("this needs a `{key}`")
    };
    ScenarioError::new(
        header,
        format!("missing required key `{key}` in {what}"),
        label,
    )
}

/// The span of a shape table: its header joined with the spans of the fields written.
macro_rules! table_extent {
    ($entry:expr; $($field:ident),*) => {
        $entry.span$(.join($entry.value.$field.as_ref().map_or($entry.span, |f| f.span)))*
    };
}

/// The keys a shape table writes, each with where its value is (`None`: not written).
macro_rules! written {
    ($table:expr; $($field:ident),*) => {
        [$((stringify!($field), at(&$table.$field))),*]
    };
}

/// Reads the shape of a file with one parse: its TOML syntax (with the hint for `null`), then
/// its keys and types from the parsed document.
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
    let source: &str = text;
    let shape = read_shape(source)?;
    let (file, top) = (Span::new(0, 0), "the scenario (top level)");
    let name = required(&shape.name, file, "name", top)?;
    if name.value.trim().is_empty() {
        return Err(
            ScenarioError::new(name.span, "`name` is empty", "empty name")
                .with_help("give the scenario a short title"),
        );
    }
    let seed = match &shape.seed {
        Some(n) => u64::try_from(n.value).map_err(|_| {
            ScenarioError::new(n.span, "`seed` must not be negative", "negative")
                .with_help("the seed is an unsigned 64-bit integer")
        })?,
        None => 0,
    };
    let start_text = required(&shape.start, file, "start", top)?;
    let start = parse_instant(&start_text.value.0).map_err(|e| {
        ScenarioError::new(
            start_text.span,
            format!("invalid instant `{}` for `start`: {e}", start_text.value.0),
            "invalid instant",
        )
        .with_help("write the RFC 3339 instant the simulated clock starts at, like `2026-03-02T09:00:00Z` (`start` cannot be an offset)")
    })?;
    let (mut p, base) = world_part(source, &shape, start, load)?;
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
pub(crate) fn parse_world_file(
    source: &str,
    start: i64,
    load: &mut Loader<'_>,
) -> Result<Base, ScenarioError> {
    let shape = read_shape(source)?;
    let at_key = |span: Span| key_before(source, span).map_or(span, |(_, key)| key);
    let scenario_keys = [
        ("name", shape.name.as_ref().map(|v| at_key(v.span))),
        (
            "description",
            shape.description.as_ref().map(|_| Span::new(0, 0)),
        ),
        ("seed", shape.seed.as_ref().map(|v| at_key(v.span))),
        ("start", shape.start.as_ref().map(|v| at_key(v.span))),
        ("steps", shape.steps.first().map(|v| v.span)),
    ];
    if let Some((key, Some(span))) = scenario_keys.into_iter().find(|(_, at)| at.is_some()) {
        return Err(unknown_key(span, key, "a base world", WORLD_KEYS));
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
) -> Result<(Parser<'s>, Base), ScenarioError> {
    let mut base = match &shape.extends {
        Some(path) => {
            let mut base = load(path, start)?;
            relocate(&mut base, path.span);
            base
        }
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
    let mut p = Parser {
        src: source,
        start,
        names: Names::default(),
    };
    p.names.defs = std::mem::take(&mut base.names);
    let own = p.world(shape)?;
    base.world.numbers.extend(own.numbers);
    base.world.sitters.extend(own.sitters);
    base.world.clients.extend(own.clients);
    base.world.bookings.extend(own.bookings);
    base.world.users.extend(own.users);
    base.names = p.names.defs.clone();
    Ok((p, base))
}

/// A free-form table (`[settings]`) as JSON, its keys located.
pub fn free_table(table: &Spanned<FreeTable>) -> PResult<JsonTable> {
    let mut values = Map::new();
    let mut key_spans = BTreeMap::new();
    let mut span = table.span;
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
    Ok(match value {
        T::String(s) => Value::String(s.clone()),
        T::Integer(i) => Value::from(*i),
        T::Float(f) => JsonNumber::from_f64(*f).map(Value::Number).ok_or_else(|| {
            ScenarioError::new(
                at,
                format!("`{f}` cannot be represented in JSON"),
                "not a finite number",
            )
        })?,
        T::Boolean(b) => Value::Bool(*b),
        T::Datetime(d) => Value::String(d.to_string()),
        T::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| free_json(v, at))
                .collect::<PResult<_>>()?,
        ),
        T::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), free_json(v, at)?)))
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

/// Points everything a base world defines at `span` (the `extends` value of the file using it).
fn relocate(base: &mut Base, span: Span) {
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
}

/// The names a file's world defines and the names it refers to (with the kind and the noun
/// for messages), checked once all are known.
#[derive(Default)]
struct Refs {
    defs: Vec<(Spanned<String>, NameKind)>,
    uses: Vec<(Spanned<String>, NameKind, &'static str)>,
}

/// Checks the `[[sitters]]` or `[[clients]]` entries (`kind` says which).
fn people(entries: &[Spanned<PersonShape>], kind: NameKind, refs: &mut Refs) -> PResult<()> {
    let what = match kind {
        NameKind::Sitter => "a `[[sitters]]` entry",
        _ => "a `[[clients]]` entry",
    };
    for entry in entries {
        let (t, header) = (&entry.value, entry.span);
        let name = required(&t.name, header, "name", what)?;
        check_e164(required(&t.phone, header, "phone", what)?, "phone")?;
        check_email(required(&t.email, header, "email", what)?)?;
        refs.defs.push((name.clone(), kind));
    }
    Ok(())
}

/// Checks the `[[users]]` entries.
fn users(entries: &[Spanned<UserShape>], refs: &mut Refs) -> PResult<()> {
    for entry in entries {
        let (t, header, what) = (&entry.value, entry.span, "a `[[users]]` entry");
        let name = required(&t.name, header, "name", what)?;
        refs.defs.push((name.clone(), NameKind::User));
        required(&t.role, header, "role", what)?;
    }
    Ok(())
}

/// The entries, each located at its whole table (`extent`).
fn located<T: Clone>(entries: &[Spanned<T>], extent: fn(&Spanned<T>) -> Span) -> Vec<Spanned<T>> {
    let located = |e: &Spanned<T>| Spanned::new(e.value.clone(), extent(e));
    entries.iter().map(located).collect()
}

impl<'s> Parser<'s> {
    /// The span of `raw[start..end]` inside the string literal at `span`,
    /// when the literal is written without escapes; else the whole literal.
    fn sub_span(&self, span: Span, raw: &str, start: usize, end: usize) -> Span {
        let lit = self.src.get(span.range()).unwrap_or("");
        if lit.len() == raw.len() + 2 && lit.get(1..lit.len() - 1) == Some(raw) {
            Span::new(span.start + 1 + start, span.start + 1 + end)
        } else {
            span
        }
    }

    /// A time as written (an instant or an offset from the start) in unix seconds.
    fn time_of(&self, text: &Spanned<TimeText>, key: &str) -> PResult<Spanned<i64>> {
        parse_time(&text.value.0, self.start)
            .map(|t| Spanned::new(t, text.span))
            .map_err(|e| {
                ScenarioError::new(
                    text.span,
                    format!("invalid time `{}` for `{key}`: {e}", text.value.0),
                    "invalid time",
                )
                .with_help(format!("write {TIME_FORMS}"))
            })
    }

    /// Checks a `[[numbers]]` entry (its E.164 unique and its sitter defined are checked by
    /// the caller).
    fn number(&self, entry: &Spanned<NumberShape>) -> PResult<()> {
        let (t, header, what) = (&entry.value, entry.span, "a `[[numbers]]` entry");
        required(&t.name, header, "name", what)?;
        check_e164(required(&t.e164, header, "e164", what)?, "e164")?;
        if let Some(text) = &t.created {
            self.time_of(text, "created")?;
        }
        match (&t.sitter, t.class()) {
            (None, NumberClass::Sitter) => Err(missing(header, "sitter", what)
                .with_help("a number with class = \"sitter\" must name the sitter it belongs to")),
            (Some(s), NumberClass::Pool | NumberClass::FrontDesk) => Err(ScenarioError::new(
                self.key_at(s.span),
                "`sitter` is only allowed on numbers with class = \"sitter\"",
                "not a sitter number",
            )
            .with_help("add `class = \"sitter\"` or remove `sitter`")),
            _ => Ok(()),
        }
    }

    /// The world entities of a file; every name is defined (in source order, so a duplicate is
    /// reported at the later one) before any reference is checked.
    fn world(&mut self, shape: &ScenarioShape) -> PResult<World> {
        let mut refs = Refs::default();
        self.numbers(&shape.numbers, &mut refs)?;
        people(&shape.sitters, NameKind::Sitter, &mut refs)?;
        people(&shape.clients, NameKind::Client, &mut refs)?;
        self.bookings(&shape.bookings, &mut refs)?;
        users(&shape.users, &mut refs)?;
        refs.defs.sort_by_key(|(n, _)| n.span);
        for (name, kind) in &refs.defs {
            self.names.define(name, *kind)?;
        }
        refs.uses.sort_by_key(|(n, _, _)| n.span);
        for (name, kind, what) in &refs.uses {
            self.names.resolve(name, &[*kind], what)?;
        }
        Ok(World {
            numbers: located(
                &shape.numbers,
                |e| table_extent!(e; name, e164, class, status, created, sitter, org),
            ),
            sitters: located(
                &shape.sitters,
                |e| table_extent!(e; name, first_name, phone, email, org),
            ),
            clients: located(
                &shape.clients,
                |e| table_extent!(e; name, first_name, phone, email, org),
            ),
            bookings: located(
                &shape.bookings,
                |e| table_extent!(e; name, client, sitter, service, start, end, status),
            ),
            users: located(&shape.users, |e| table_extent!(e; name, role, org)),
        })
    }

    /// Checks the `[[numbers]]` entries, each E.164 used once.
    fn numbers(&self, entries: &[Spanned<NumberShape>], refs: &mut Refs) -> PResult<()> {
        let mut e164s: BTreeMap<String, Span> = BTreeMap::new();
        for entry in entries {
            self.number(entry)?;
            let e164 = entry.e164.as_ref().map_or(entry.span, |e| e.span);
            if let Some(first) = e164s.insert(given(&entry.e164), e164) {
                return Err(ScenarioError::new(
                    e164,
                    format!("two numbers have the E.164 `{}`", given(&entry.e164)),
                    "duplicate number",
                )
                .with_secondary(first, "first used here"));
            }
            let sitter = entry.sitter.clone();
            refs.uses
                .extend(sitter.map(|s| (s, NameKind::Sitter, "sitter")));
            refs.defs
                .extend(entry.name.clone().map(|n| (n, NameKind::Number)));
        }
        Ok(())
    }

    /// Checks the `[[bookings]]` entries.
    fn bookings(&self, entries: &[Spanned<BookingShape>], refs: &mut Refs) -> PResult<()> {
        for entry in entries {
            let (t, header, what) = (&entry.value, entry.span, "a `[[bookings]]` entry");
            let name = required(&t.name, header, "name", what)?;
            let client = required(&t.client, header, "client", what)?;
            required(&t.service, header, "service", what)?;
            let start = self.time_of(required(&t.start, header, "start", what)?, "start")?;
            let end = self.time_of(required(&t.end, header, "end", what)?, "end")?;
            check_order(&start, &end)?;
            refs.uses.push((client.clone(), NameKind::Client, "client"));
            let sitter = t.sitter.clone();
            refs.uses
                .extend(sitter.map(|s| (s, NameKind::Sitter, "sitter")));
            refs.defs.push((name.clone(), NameKind::Booking));
        }
        Ok(())
    }

    fn steps(&mut self, steps: &[Spanned<StepShape>]) -> PResult<Vec<Step>> {
        // Names that steps create, so that using one too early gets a
        // precise message. Best effort: errors are reported in order later.
        for (index, step) in steps.iter().enumerate() {
            let create = Some(BookingVerb::Create);
            let booking = step
                .booking
                .as_ref()
                .filter(|b| value_of(&b.action) == create);
            let open = Some(ThreadVerb::Open);
            let thread = step.thread.as_ref().filter(|t| value_of(&t.action) == open);
            let created = [
                booking.and_then(|b| b.name.as_ref()),
                thread.and_then(|t| t.name.as_ref()),
            ];
            for name in created.into_iter().flatten() {
                let future = &mut self.names.future;
                future
                    .entry(name.value.clone())
                    .or_insert((index, name.span));
            }
        }
        let mut out = Vec::new();
        let mut now = self.start;
        for (index, step) in steps.iter().enumerate() {
            let step = self.step(index, step, now)?;
            now = step.when;
            out.push(step);
        }
        Ok(out)
    }

    /// The key written before the value at `span`, or the value itself.
    fn key_at(&self, span: Span) -> Span {
        key_before(self.src, span).map_or(span, |(_, key)| key)
    }

    fn step(&mut self, index: usize, entry: &Spanned<StepShape>, now: i64) -> PResult<Step> {
        let (t, header) = (&entry.value, entry.span);
        let actions = t.actions();
        if let [(first, first_span, _), (second, second_span, _), ..] = actions[..] {
            return Err(ScenarioError::new(
                self.key_at(second_span),
                format!("a step can have only one action, but this one has `{first}` and `{second}`"),
                "second action",
            )
            .with_secondary(self.key_at(first_span), "first action")
            .with_help("split it into two steps; a step without `advance` or `at` happens at the same instant as the previous one"));
        }
        let action_entry = actions.first().copied();

        if let (Some(advance), Some(at)) = (&t.advance, &t.at) {
            let (adv_key, at_key) = (self.key_at(advance.span), self.key_at(at.span));
            let (first, later, later_name, first_name) = if adv_key < at_key {
                (adv_key, at_key, "at", "advance")
            } else {
                (at_key, adv_key, "advance", "at")
            };
            return Err(ScenarioError::new(
                later,
                "a step can't have both `advance` and `at`",
                format!("`{later_name}` here"),
            )
            .with_secondary(first, format!("`{first_name}` here"))
            .with_help("`advance` moves the clock forward from the previous step; `at` sets it to an instant or to an offset from the scenario start. Keep one."));
        }

        let expect_empty = t
            .expect
            .as_ref()
            .is_none_or(|e| e.value == ExpectShape::default());
        if t.advance.is_none() && t.at.is_none() && action_entry.is_none() && expect_empty {
            return Err(
                ScenarioError::new(header, "this step does nothing", "empty step").with_help(
                    format!(
                        "give it a time (`advance` or `at`), an action ({}) or an `expect` table",
                        quoted_list(ACTION_KEYS)
                    ),
                ),
            );
        }

        let (when, time_span) = self.when(t, now)?;
        let step_actor = self.step_actor(t, action_entry.map(|a| a.0))?;

        let (action, actor, action_span) = match action_entry {
            None => (Action::Wait, step_actor, None),
            Some((_, span, shape)) => (shape, self.action(index, shape, step_actor)?, Some(span)),
        };

        let (expect, expect_span) = match &t.expect {
            Some(e) => (self.expect(e, &action)?, expect_extent(e)),
            None => (ExpectShape::default(), header),
        };

        Ok(Step {
            index,
            label: t.name.as_ref().map(|l| l.value.clone()),
            advance_from: now,
            when,
            actor,
            shape: t.clone(),
            expect,
            span: table_extent!(entry; name, advance, at, actor, request, inbound, send, booking, thread, settings, chaos, release, webhook, number).join(expect_span),
            header_span: header,
            time_span,
            action_span,
        })
    }

    /// When a step happens (`advance` from `now`, or `at`; else `now`) and where that is written.
    fn when(&self, t: &StepShape, now: i64) -> PResult<(i64, Option<Span>)> {
        Ok(if let Some(text) = &t.advance {
            let secs = parse_duration(&text.value).map_err(|e| {
                ScenarioError::new(
                    text.span,
                    format!("invalid duration `{}` for `advance`: {e}", text.value),
                    "invalid duration",
                )
                .with_help(format!("write {DURATION_FORMS}"))
            })?;
            let when = now.checked_add(secs).ok_or_else(|| {
                ScenarioError::new(text.span, "the simulated clock overflows", "too far")
            })?;
            (when, Some(text.span))
        } else if let Some(at) = &t.at {
            let when = self.time_of(at, "at")?;
            if when.value < now {
                return Err(ScenarioError::new(
                    when.span,
                    format!(
                        "time goes backwards: `at` is {}, but the previous steps already reached {} ({} later)",
                        format_instant(when.value),
                        format_instant(now),
                        format_duration(now - when.value),
                    ),
                    "earlier than the current simulated time",
                )
                .with_help("steps run in order and the clock never moves back; an offset like `+1d` in `at` counts from the scenario `start`, not from the previous step (use `advance` for that)"));
            }
            (when.value, Some(when.span))
        } else {
            (now, None)
        })
    }

    /// Who performs a step's `settings`, `chaos` or `release` action (`as`, default the owner);
    /// other steps must not write a step-level `as`.
    fn step_actor(&self, t: &StepShape, kind: Option<&str>) -> PResult<Role> {
        if let (Some(actor), false) = (
            &t.actor,
            matches!(kind, Some("settings" | "chaos" | "release")),
        ) {
            let (message, help) = match kind {
                Some(kind @ ("request" | "send")) => (
                    format!("`as` is not a step key for a `{kind}` step"),
                    format!("put it inside the action: `{kind} = {{ as = \"...\", ... }}`"),
                ),
                Some(kind) => (
                    format!("a `{kind}` step does not take `as`"),
                    "only `settings`, `chaos` and `release` steps take a step-level `as`"
                        .to_string(),
                ),
                None => (
                    "`as` on a step without an action".to_string(),
                    "only `settings`, `chaos` and `release` steps take a step-level `as`"
                        .to_string(),
                ),
            };
            return Err(ScenarioError::new(
                self.key_at(actor.span),
                message,
                "`as` not allowed here",
            )
            .with_help(help));
        }
        match &t.actor {
            Some(actor) => self.role(actor),
            None => Ok(Role::Owner),
        }
    }

    fn role(&self, s: &Spanned<String>) -> PResult<Role> {
        let prefixed = |prefix: &str| {
            s.value.strip_prefix(prefix).map(|name| {
                let span = self.sub_span(s.span, &s.value, prefix.len(), s.value.len());
                Spanned::new(name.to_string(), span)
            })
        };
        Ok(match s.value.as_str() {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "rival-owner" => Role::RivalOwner,
            "anonymous" => Role::Anonymous,
            _ => {
                if let Some(name) = prefixed("sitter:") {
                    self.names.resolve(&name, &[NameKind::Sitter], "sitter")?;
                    Role::Sitter(name.value)
                } else if let Some(name) = prefixed("user:") {
                    self.names.resolve(&name, &[NameKind::User], "user")?;
                    Role::User(name.value)
                } else {
                    return Err(ScenarioError::new(
                        s.span,
                        format!("unknown role `{}`", s.value),
                        "not a role",
                    )
                    .with_help("roles are `owner`, `admin`, `rival-owner`, `sitter:NAME`, `user:NAME` and `anonymous`"));
                }
            }
        })
    }

    fn template(&self, s: &Spanned<String>) -> PResult<Template> {
        let template = Template::parse(&s.value).map_err(|e| {
            ScenarioError::new(
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
            let at = s
                .value
                .get(offset..)
                .and_then(|rest| rest.find(&needle))
                .map_or(offset, |i| i + offset);
            offset = at + needle.len();
            let span = self.sub_span(s.span, &s.value, at, at + needle.len());
            self.names
                .resolve(&Spanned::new(name.to_string(), span), ALL_KINDS, "name")
                .map_err(|i| {
                    let message = if i.message().starts_with("unknown") {
                        format!("unknown placeholder `{{{name}}}`")
                    } else {
                        format!("placeholder `{{{name}}}`: {}", i.message())
                    };
                    i.with_message(message)
                })?;
        }
        Ok(template)
    }

    /// A required name of one of `kinds` (`noun` for messages) in the table `what` at `header`.
    fn name_ref(
        &self,
        field: &Option<Spanned<String>>,
        (header, key, what): (Span, &str, &str),
        kinds: &[NameKind],
        noun: &str,
    ) -> PResult<()> {
        let name = required(field, header, key, what)?;
        self.names.resolve(name, kinds, noun).map(drop)
    }

    /// An optional name of one of `kinds`.
    fn opt_name_ref(
        &self,
        field: &Option<Spanned<String>>,
        kinds: &[NameKind],
        noun: &str,
    ) -> PResult<()> {
        match field {
            Some(name) => self.names.resolve(name, kinds, noun).map(drop),
            None => Ok(()),
        }
    }

    /// A JSON slot in either form: a TOML value, or `{ json = '...' }` text (TOML has no
    /// `null`, so a body, `expect.json` or an event `payload` may be written as JSON text).
    fn json_slot(&self, slot: &Spanned<FreeValue>) -> PResult<Value> {
        let Some(text) = json_text(&slot.value) else {
            return free_json(&slot.value, slot.span);
        };
        serde_json::from_str(text).map_err(|e| {
            ScenarioError::new(
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
    fn expected_json(&self, slot: &Spanned<FreeValue>) -> PResult<Value> {
        let value = self.json_slot(slot)?;
        self.check_placeholders(&value, slot.span)?;
        Ok(value)
    }

    /// Validates the placeholders of every string inside `value`, written within `within`
    /// (each string located at its literal when it is written without escapes).
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
                self.template(&Spanned::new(s.clone(), span)).map(drop)
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

    fn endpoint(&self, field: &Option<Spanned<String>>, at: (Span, &str, &str)) -> PResult<()> {
        let s = required(field, at.0, at.1, at.2)?;
        if s.value.starts_with('+') {
            return check_e164(s, at.1);
        }
        self.names
            .resolve(
                s,
                &[NameKind::Client, NameKind::Sitter, NameKind::Number],
                "client, sitter or number",
            )
            .map_err(|i| {
                i.with_help("use the name of a client, sitter or number, or a literal E.164 phone number like `+15550100001`")
            })?;
        Ok(())
    }

    /// `request = { as, method, path, body }`: an absolute path whose placeholders name entities.
    fn request(&self, r: &Spanned<RequestShape>) -> PResult<Role> {
        let what = "the `request` action";
        let actor = self.role(required(&r.actor, r.span, "as", what)?)?;
        required(&r.method, r.span, "method", what)?;
        let path = required(&r.path, r.span, "path", what)?;
        if !path.value.starts_with('/') {
            return Err(ScenarioError::new(
                path.span,
                format!("`path` `{}` must start with `/`", path.value),
                "not an absolute path",
            )
            .with_help("write the API path, like `/api/settings/rotation`"));
        }
        self.template(path)?;
        if let Some(b) = &r.body {
            self.json_slot(b)?;
        }
        Ok(actor)
    }

    /// `inbound = { from, to, body, sid, signature }` of step `index` (the default `sid`).
    fn inbound(&self, index: usize, i: &Spanned<InboundShape>) -> PResult<()> {
        let what = "the `inbound` action";
        if let Some(s) = i.sid.as_ref().filter(|s| s.value.is_empty()) {
            return Err(ScenarioError::new(s.span, "`sid` is empty", "empty")
                .with_help(format!("remove it to use the default `SM{index}`")));
        }
        self.endpoint(&i.from, (i.span, "from", what))?;
        self.endpoint(&i.to, (i.span, "to", what))?;
        required(&i.body, i.span, "body", what).map(drop)
    }

    /// Checks a step's action; returns who performs it (`actor`: the step's own `as`).
    fn action(&mut self, index: usize, shape: Action<'_>, actor: Role) -> PResult<Role> {
        match shape {
            Action::Wait => {}
            Action::Request(r) => return self.request(r),
            Action::Inbound(i) => self.inbound(index, i)?,
            Action::Send(s) => {
                let what = "the `send` action";
                let actor = self.role(required(&s.actor, s.span, "as", what)?)?;
                self.name_ref(&s.thread, (s.span, "thread", what), THREADS, "thread")?;
                required(&s.body, s.span, "body", what)?;
                return Ok(actor);
            }
            Action::Webhook(w) => {
                required(&w.fields, w.span, "fields", "the `webhook` action")?;
            }
            Action::Number(n) => self.number_action(n)?,
            Action::Booking(b) => self.booking_action(b)?,
            Action::Thread(t) => self.thread_action(t)?,
            Action::Settings(s) => check_settings_keys(&free_table(s)?)?,
            Action::Chaos(c) => drop(free_table(c)?),
            Action::Release(r) if !r.value => {
                return Err(
                    ScenarioError::new(r.span, "`release = false` does nothing", "false")
                        .with_help(
                            "write `release = true` to run the release job, or remove the key",
                        ),
                );
            }
            Action::Release(_) => {}
        }
        Ok(actor)
    }

    /// Checks that an action `kind = { action = verb, ... }` writes only the keys `allowed`.
    fn check_action_keys(
        &self,
        (kind, verb): (&str, &str),
        written: &[(&str, Option<Span>)],
        allowed: &[&str],
    ) -> PResult<()> {
        let mut written: Vec<(&str, Span)> = written
            .iter()
            .filter_map(|(k, s)| s.map(|s| (*k, s)))
            .collect();
        written.sort_by_key(|(_, span)| *span);
        match written.into_iter().find(|(key, _)| !allowed.contains(key)) {
            Some((key, span)) => {
                let what = format!("`{kind}` action `{verb}`");
                Err(unknown_key(self.key_at(span), key, &what, allowed))
            }
            None => Ok(()),
        }
    }

    fn number_action(&mut self, n: &Spanned<NumberActionShape>) -> PResult<()> {
        let verb = required(&n.action, n.span, "action", "the `number` action")?.value;
        let written = written!(n; action, name, e164, class, org, number, status);
        if verb == NumberVerb::Status {
            self.check_action_keys(
                ("number", "status"),
                &written,
                &["action", "number", "status"],
            )?;
            let at = (n.span, "number", "`number` action `status`");
            self.name_ref(&n.number, at, &[NameKind::Number], "number")?;
            return required(&n.status, n.span, "status", at.2).map(drop);
        }
        let allowed = ["action", "name", "e164", "class", "org"];
        self.check_action_keys(("number", "add"), &written, &allowed)?;
        let what = "`number` action `add`";
        let name = required(&n.name, n.span, "name", what)?;
        check_e164(required(&n.e164, n.span, "e164", what)?, "e164")?;
        if let Some(written) = n.class.as_ref().filter(|c| c.value == NumberClass::Sitter) {
            return Err(ScenarioError::new(
                written.span,
                "invalid `class` value `sitter`",
                "not a valid `class`",
            )
            .with_help(one_of("sitter", &["pool", "front_desk"])));
        }
        self.names.define(name, NameKind::Number)
    }

    fn booking_action(&mut self, b: &Spanned<BookingActionShape>) -> PResult<()> {
        const ONLY_BOOKING: &[&str] = &["action", "booking"];
        let verb = required(&b.action, b.span, "action", "the `booking` action")?.value;
        let (name, allowed): (&str, &[&str]) = match verb {
            BookingVerb::Create => (
                "create",
                &[
                    "action", "name", "client", "sitter", "service", "start", "end",
                ],
            ),
            BookingVerb::Confirm => ("confirm", ONLY_BOOKING),
            BookingVerb::Complete => ("complete", ONLY_BOOKING),
            BookingVerb::Cancel => ("cancel", ONLY_BOOKING),
            BookingVerb::Reassign => ("reassign", &["action", "booking", "sitter"]),
            BookingVerb::Reschedule => ("reschedule", &["action", "booking", "start", "end"]),
        };
        let written = written!(b; action, name, booking, client, sitter, service, start, end);
        self.check_action_keys(("booking", name), &written, allowed)?;
        let what = format!("`booking` action `{name}`");
        let key = |key| (b.span, key, what.as_str());
        let booking = || self.name_ref(&b.booking, key("booking"), &[NameKind::Booking], "booking");
        let times = || -> PResult<()> {
            let start = self.time_of(required(&b.start, b.span, "start", &what)?, "start")?;
            let end = self.time_of(required(&b.end, b.span, "end", &what)?, "end")?;
            check_order(&start, &end)
        };
        match verb {
            BookingVerb::Create => {
                let name = required(&b.name, b.span, "name", &what)?;
                self.name_ref(&b.client, key("client"), &[NameKind::Client], "client")?;
                self.opt_name_ref(&b.sitter, &[NameKind::Sitter], "sitter")?;
                required(&b.service, b.span, "service", &what)?;
                times()?;
                self.names.define(name, NameKind::Booking)
            }
            BookingVerb::Confirm | BookingVerb::Complete | BookingVerb::Cancel => booking(),
            BookingVerb::Reschedule => booking().and_then(|_| times()),
            BookingVerb::Reassign => {
                booking()?;
                self.name_ref(&b.sitter, key("sitter"), &[NameKind::Sitter], "sitter")
            }
        }
    }

    fn thread_action(&mut self, t: &Spanned<ThreadActionShape>) -> PResult<()> {
        const ONLY_THREAD: &[&str] = &["action", "thread"];
        let verb = required(&t.action, t.span, "action", "the `thread` action")?.value;
        let (name, allowed): (&str, &[&str]) = match verb {
            ThreadVerb::Open => ("open", &["action", "name", "client", "booking"]),
            ThreadVerb::Close => ("close", ONLY_THREAD),
            ThreadVerb::Archive => ("archive", ONLY_THREAD),
        };
        let written = written!(t; action, name, client, booking, thread);
        self.check_action_keys(("thread", name), &written, allowed)?;
        let what = format!("`thread` action `{name}`");
        let key = |key| (t.span, key, what.as_str());
        match verb {
            ThreadVerb::Open => {
                let name = required(&t.name, t.span, "name", &what)?;
                self.name_ref(&t.client, key("client"), &[NameKind::Client], "client")?;
                self.opt_name_ref(&t.booking, &[NameKind::Booking], "booking")?;
                self.names.define(name, NameKind::Thread)
            }
            ThreadVerb::Close | ThreadVerb::Archive => {
                self.name_ref(&t.thread, key("thread"), THREADS, "thread")
            }
        }
    }

    /// `status`, `json` and the body checks need an HTTP response: a step without an action or
    /// with a background job has none.
    fn check_response_keys(&self, t: &ExpectShape, action: &Action) -> PResult<()> {
        let response_keys = written!(t; status, json, body_excludes, body_matches);
        for (key, span) in response_keys {
            if let (Some(span), false) = (span, action.has_response()) {
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
                return Err(ScenarioError::new(
                    self.key_at(span),
                    message,
                    format!("`{key}` can't be checked here"),
                )
                .with_help(help));
            }
        }
        Ok(())
    }

    /// An `expect.events` entry: a valid type with an optional payload whose placeholders
    /// resolve.
    fn expected_event(&self, item: &Spanned<EventShape>) -> PResult<()> {
        let what = "an `expect.events` entry";
        check_event_type(required(&item.event_type, item.span, "type", what)?)?;
        match &item.payload {
            Some(p) => self.expected_json(p).map(drop),
            None => Ok(()),
        }
    }

    /// An `expect.bindings` entry: a thread and a number name (or `none`).
    fn expected_binding(&self, item: &Spanned<BindingShape>) -> PResult<()> {
        let at = (item.span, "thread", "an `expect.bindings` entry");
        self.name_ref(&item.thread, at, THREADS, "thread")?;
        let number = required(&item.number, item.span, "number", at.2)?;
        if number.value == "none" {
            return Ok(());
        }
        let resolved = self.names.resolve(number, &[NameKind::Number], "number");
        resolved
            .map(drop)
            .map_err(|i| i.with_help("name a number, or write \"none\" for no binding"))
    }

    /// Checks a step's `expect` table; returns it with each `events` and `bindings` entry
    /// located at its whole table.
    fn expect(&self, e: &Spanned<ExpectShape>, action: &Action) -> PResult<ExpectShape> {
        let t = &e.value;
        self.check_response_keys(t, action)?;
        if let Some(n) = t
            .status
            .as_ref()
            .filter(|n| !(100..=599).contains(&n.value))
        {
            let message = format!("`{}` is not an HTTP status", n.value);
            return Err(ScenarioError::new(n.span, message, "not 100..=599"));
        }
        if let Some(v) = &t.json {
            self.expected_json(v)?;
        }
        let excludes = t.body_excludes.iter().flat_map(|list| &list.value);
        if let Some(text) = excludes.into_iter().find(|text| text.value.is_empty()) {
            let message = "an empty text is in every body";
            return Err(ScenarioError::new(text.span, message, "empty"));
        }
        if let Some(pattern) = &t.body_matches {
            regex::Regex::new(&pattern.value).map_err(|e| {
                ScenarioError::new(pattern.span, "invalid regular expression", "here")
                    .with_help(e.to_string().replace('\n', " "))
            })?;
        }
        let mut t = t.clone();
        for item in t.events.iter_mut().flat_map(|list| &mut list.value) {
            self.expected_event(item)?;
            item.span = table_extent!(item; event_type, payload);
        }
        forbidden_events(&t)?;
        for item in t.bindings.iter_mut().flat_map(|list| &mut list.value) {
            self.expected_binding(item)?;
            item.span = table_extent!(item; thread, number);
        }
        if let Some(list) = &t.alerts {
            check_alerts(list)?;
        }
        Ok(t)
    }
}

/// `expect.no_events`: valid types, none of them also in `events`.
fn forbidden_events(t: &ExpectShape) -> PResult<()> {
    let events: Vec<&Spanned<EventShape>> = t.events.iter().flat_map(|l| &l.value).collect();
    for ty in t.no_events.iter().flat_map(|list| &list.value) {
        check_event_type(ty)?;
        if let Some(e) = events.iter().find(|e| named(&e.event_type, &ty.value)) {
            return Err(ScenarioError::new(
                ty.span,
                format!("`{}` is both expected and forbidden", ty.value),
                "forbidden here",
            )
            .with_secondary(e.span, "expected here"));
        }
    }
    Ok(())
}

/// The open alert types: each a valid type listed once.
fn check_alerts(list: &Spanned<Vec<Spanned<String>>>) -> PResult<()> {
    for (i, a) in list.value.iter().enumerate() {
        check_event_type(a)?;
        if let Some(first) = list.value[..i].iter().find(|x| x.value == a.value) {
            return Err(ScenarioError::new(
                a.span,
                format!("alert `{}` is listed twice", a.value),
                "duplicate",
            )
            .with_secondary(first.span, "first listed here"));
        }
    }
    Ok(())
}

/// Where an optional field is written.
fn at<T>(field: &Option<Spanned<T>>) -> Option<Span> {
    field.as_ref().map(|f| f.span)
}

/// The span of an `expect` table and everything in it.
fn expect_extent(e: &Spanned<ExpectShape>) -> Span {
    table_extent!(e; status, json, events, no_events, bindings, alerts, org, body_excludes, body_matches)
}

fn check_order(start: &Spanned<i64>, end: &Spanned<i64>) -> PResult<()> {
    if end.value > start.value {
        return Ok(());
    }
    Err(ScenarioError::new(
        end.span,
        format!(
            "the booking ends at {}, which is not after its start {}",
            format_instant(end.value),
            format_instant(start.value)
        ),
        "not after `start`",
    )
    .with_secondary(start.span, "start")
    .with_help("`end` must be later than `start`; both offsets count from the scenario start"))
}

fn check_event_type(s: &Spanned<String>) -> PResult<()> {
    let ok = !s.value.is_empty()
        && s.value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ScenarioError::new(
            s.span,
            format!("`{}` is not an event or alert type", s.value),
            "invalid type",
        )
        .with_help("types are dotted identifiers like `pool.number.assigned`"))
    }
}
