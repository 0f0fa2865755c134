//! Located issues: the problems the front end reports, and the translation of `toml`'s syntax
//! and serde errors into them with the resolver's wording (the key or value at fault, named by
//! its key, "did you mean" from the shape's own field list).

use std::sync::Arc;

use serde_json::Value;

use super::diagnostic::Span;
use super::shape::*;

/// A located problem, turned into a `ScenarioError` by the caller.
#[derive(Debug)]
pub(crate) struct Issue {
    pub span: Span,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    pub secondary: Vec<(Span, String)>,
}

impl Issue {
    /// The located error, in the file `path` whose text is `source`.
    pub(crate) fn into_error(self, path: String, source: Arc<str>) -> super::ScenarioError {
        let mut err = super::ScenarioError::at_shared(path, source, self.span, self.message)
            .with_label(self.label);
        for (span, label) in self.secondary {
            err = err.with_secondary(span, label);
        }
        if let Some(help) = self.help {
            err = err.with_help(help);
        }
        err
    }

    pub(crate) fn new(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Issue {
            span,
            message: message.into(),
            label: label.into(),
            help: None,
            secondary: Vec::new(),
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }
}

pub(crate) type PResult<T> = Result<T, Issue>;

/// A byte range as a [`Span`].
pub(crate) fn sp(r: std::ops::Range<usize>) -> Span {
    Span::from(r)
}

/// `a`, `b`, `c` (each item in backticks).
pub(crate) fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest candidate to `word`, if close enough to be a likely typo.
pub(crate) fn suggest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    if word.len() > 64 {
        return None;
    }
    candidates
        .into_iter()
        .filter(|c| c.len() <= 64)
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(word.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Converts a TOML syntax error.
pub(crate) fn toml_issue(source: &str, e: &toml::de::Error) -> Issue {
    let span = e.span().map(sp).unwrap_or_else(|| Span::new(0, 0));
    // TOML has no null: `x = null` reads as a malformed float. Say what is wrong instead.
    let word: String = source
        .get(span.start..)
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if matches!(word.as_str(), "null" | "nil" | "None" | "NULL" | "Null") {
        return Issue::new(
            Span::new(span.start, span.start + word.len()),
            format!("TOML has no `{word}`"),
            "not a TOML value",
        )
        .help("to send or expect a JSON null, write the whole value as JSON text: `body = { json = '{\"sitterId\": null}' }` (also for `expect.json` and event `payload`)");
    }
    let message = e.message().trim().replace('\n', "; ");
    Issue::new(span, format!("invalid TOML: {message}"), "syntax error")
}

/// A shape error (serde, keys and types) as a located issue with the resolver's wording: an
/// unknown key at the key with a "did you mean", a wrong value or type at the value, named by
/// its key (read from the source before the value).
pub(crate) fn shape_issue(source: &str, e: &toml::de::Error) -> Issue {
    let span = e.span().map(sp).unwrap_or_else(|| Span::new(0, 0));
    let message = e.message().trim().replace('\n', "; ");
    let key = key_before(source, span).map(|(k, _)| k);
    let key = key
        .or_else(|| enclosing_key(source, span))
        .unwrap_or_default();
    if let Some((field, allowed)) = serde_list(&message, "unknown field `") {
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        return unknown_key(span, &field, &shape_table(source, span, &allowed), &allowed);
    }
    if let Some((value, options)) = serde_list(&message, "unknown variant `") {
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let action_of = (key == "action")
            .then(|| enclosing_key(source, span))
            .flatten();
        let issue = match action_of {
            Some(kind) => Issue::new(
                span,
                format!("unknown {kind} action `{value}`"),
                "unknown action",
            ),
            None => Issue::new(
                span,
                format!("invalid `{key}` value `{value}`"),
                format!("not a valid `{key}`"),
            ),
        };
        return issue.help(one_of(&value, &options));
    }
    if let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        let (found, expected) = (serde_type(found), serde_type(expected));
        return Issue::new(
            span,
            format!("`{key}` must be {expected}, not {found}"),
            format!("expected {expected}"),
        );
    }
    Issue::new(span, message, "here")
}

/// `(word, listed)` from a serde message `PREFIXword`, expected one of `a`, `b`` (or
/// "expected `a`").
pub(crate) fn serde_list(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let (word, tail) = message.strip_prefix(prefix)?.split_once('`')?;
    let listed = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((word.to_string(), listed))
}

/// serde's name of a type or value ("integer `5`", "a sequence", "i64") as a TOML type name.
pub(crate) fn serde_type(text: &str) -> &'static str {
    let names = [
        ("string", "a string"),
        ("char", "a string"),
        ("integer", "an integer"),
        ("i64", "an integer"),
        ("u64", "an integer"),
        ("floating", "a float"),
        ("f64", "a float"),
        ("bool", "a boolean"),
        ("sequence", "an array"),
        ("map", "a table"),
        ("struct", "a table"),
    ];
    names
        .iter()
        .find(|(word, _)| text.contains(word))
        .map_or("another type", |(_, name)| name)
}

/// The table a shape's field list belongs to, for "unknown key ... in WHAT" (the field lists are
/// the shapes' own, read from their JSON Schema). `[[sitters]]` and `[[clients]]` share a shape:
/// the nearest header in the source says which.
pub(crate) fn shape_table(source: &str, span: Span, fields: &[&str]) -> String {
    fn keys<T: schemars::JsonSchema>() -> Vec<String> {
        let schema = schemars::schema_for!(T);
        let props = schema.get("properties").and_then(Value::as_object);
        props
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
    let header = source.get(..span.start).unwrap_or("").lines().rev();
    let header = header.map(str::trim).find(|l| l.starts_with('['));
    let person = match header {
        Some("[[clients]]") => "a `[[clients]]` entry",
        _ => "a `[[sitters]]` entry",
    };
    let tables = [
        ("the scenario (top level)", keys::<ScenarioShape>()),
        ("a step", keys::<StepShape>()),
        ("`expect`", keys::<ExpectShape>()),
        ("a `[[numbers]]` entry", keys::<NumberShape>()),
        (person, keys::<PersonShape>()),
        ("a `[[bookings]]` entry", keys::<BookingShape>()),
        ("a `[[users]]` entry", keys::<UserShape>()),
        ("the `request` action", keys::<RequestShape>()),
        ("the `inbound` action", keys::<InboundShape>()),
        ("the `send` action", keys::<SendShape>()),
        ("the `booking` action", keys::<BookingActionShape>()),
        ("the `thread` action", keys::<ThreadActionShape>()),
        ("the `number` action", keys::<NumberActionShape>()),
        ("the `webhook` action", keys::<WebhookShape>()),
        ("an `expect.events` entry", keys::<EventShape>()),
        ("an `expect.bindings` entry", keys::<BindingShape>()),
    ];
    let mut fields: Vec<&str> = fields.to_vec();
    fields.sort_unstable();
    let found = tables.into_iter().find(|(_, keys)| {
        keys.len() == fields.len() && keys.iter().zip(&fields).all(|(k, f)| k == f)
    });
    found.map_or_else(|| "this table".to_string(), |(what, _)| what.to_string())
}

/// The key written before the value at `span` (`key = value`) and the key's span: the resolver
/// names values by their key, and some rules point at the key.
pub(crate) fn key_before(source: &str, span: Span) -> Option<(String, Span)> {
    let before = source.get(..span.start)?.trim_end().strip_suffix('=')?;
    let before = before.trim_end();
    let end = before.len();
    if let Some(quoted) = before.strip_suffix('"') {
        let start = quoted.rfind('"')?;
        return Some((quoted[start + 1..].to_string(), Span::new(start, end)));
    }
    let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let start = before.rfind(|c: char| !bare(c)).map_or(0, |i| i + 1);
    (start < end).then(|| (before[start..].to_string(), Span::new(start, end)))
}

/// The key of the inline table or array around `span` (`booking` for the `action` in
/// `booking = { action = "x" }`, `alerts` for an item of `alerts = [...]`).
pub(crate) fn enclosing_key(source: &str, span: Span) -> Option<String> {
    let mut depth = 0usize;
    let before = source.get(..span.start)?;
    for (at, c) in before.char_indices().rev() {
        match c {
            '}' | ']' => depth += 1,
            '{' | '[' if depth == 0 => {
                return key_before(source, Span::new(at, at)).map(|(k, _)| k);
            }
            '{' | '[' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The help for a value that is not one of `options`.
pub(crate) fn one_of(value: &str, options: &[&str]) -> String {
    let help = format!("expected one of {}", quoted_list(options));
    match suggest(value, options.iter().copied()) {
        Some(close) => format!("did you mean `{close}`? {help}"),
        None => help,
    }
}

/// An unknown key in the table `what`, with the closest allowed key if it is a likely typo.
pub(crate) fn unknown_key(span: Span, key: &str, what: &str, allowed: &[&str]) -> Issue {
    let mut help = format!("allowed keys: {}", quoted_list(allowed));
    if let Some(s) = suggest(key, allowed.iter().copied()) {
        help = format!("did you mean `{s}`? {help}");
    }
    Issue::new(
        span,
        format!("unknown key `{key}` in {what}"),
        "unknown key",
    )
    .help(help)
}
