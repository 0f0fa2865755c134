//! Source spans and the [`ScenarioError`] diagnostic: every problem with a scenario, found while
//! reading it or later by the runner ([`Scenario::error_at`](super::Scenario::error_at)), is
//! reported the same way: `file:line:col`, the source line and a caret.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::shape::*;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

/// Secondary labels further than this many lines from the primary span become notes (see
/// [`ScenarioError::with_secondary`]).
pub const MAX_SNIPPET_GAP: usize = 6;

/// Width, in columns, of [`ScenarioError::render`]'s output.
pub const RENDER_WIDTH: usize = 100;

/// A byte range `start..end` of a scenario's source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (swapped if given in the wrong order).
    pub fn new(start: usize, end: usize) -> Self {
        let (start, end) = (start.min(end), start.max(end));
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn join(self, other: Span) -> Span {
        let (start, end) = (self.start.min(other.start), self.end.max(other.end));
        Span { start, end }
    }

    /// The span as a `Range<usize>`, e.g. to slice the source.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Self {
        Span::new(r.start, r.end)
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.end - s.start).into()
    }
}

/// A value together with the span of the source text it was read from.
///
/// Read from TOML through [`toml::Spanned`]; written (and described in the JSON Schema) as the bare
/// value. Ordered by value, then span.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `value` with `span`.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Spanned<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = toml::Spanned::<T>::deserialize(d)?;
        let span = Span::from(spanned.span());
        Ok(Spanned::new(spanned.into_inner(), span))
    }
}

impl<T: serde::Serialize> serde::Serialize for Spanned<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
///
/// Offsets past the end are clamped to the end; offsets inside a multi-byte character count as that
/// character.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = source.floor_char_boundary(offset);
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn clamp_span(source: &str, span: Span) -> Span {
    let start = source.floor_char_boundary(span.start);
    let end = source.ceil_char_boundary(span.end.clamp(start, source.len()));
    Span { start, end }
}

/// A labelled span of a [`ScenarioError`].
#[derive(Clone)]
struct Label {
    span: Span,
    text: String,
}

/// An error located in a scenario file: the one error type of the front end and the runner.
/// [`Display`](fmt::Display) prints the message, [`one_line`](Self::one_line)
/// `file:line:col: message`, [`render`](Self::render) the full report (source lines, labels, help),
/// deterministic: no colours, fixed width. The resolver builds it before it knows the file ([`new`](Self::new));
/// the file is attached once, where the text is known ([`in_file`](Self::in_file)).
#[derive(Clone)]
pub struct ScenarioError(Box<Inner>);

#[derive(Clone, Default)]
struct Inner {
    path: String,
    source: Option<NamedSource<Arc<str>>>,
    message: String,
    labels: Vec<Label>,
    help: Option<String>,
}

impl ScenarioError {
    /// An error at `span` of the file `path` whose text is `source`.
    ///
    /// The span is clamped to the source, so any span is accepted. The label under the caret
    /// defaults to `"here"`; set it with [`with_label`](Self::with_label).
    pub fn at(path: &Path, source: &str, span: Span, message: impl Into<String>) -> Self {
        Self::new(span, message, "here").in_file(display_path(path), Arc::from(source))
    }

    /// An error at `span` with `label` under the caret, of a file attached later by
    /// [`in_file`](Self::in_file).
    pub(crate) fn new(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        let labels = vec![Label {
            span,
            text: label.into(),
        }];
        ScenarioError(Box::new(Inner {
            message: message.into(),
            labels,
            ..Inner::default()
        }))
    }

    /// Places an error built by [`new`](Self::new) in the file `path` whose text is `text` (its
    /// spans clamped to the text); an error already in a file keeps it.
    pub(crate) fn in_file(mut self, path: String, text: Arc<str>) -> Self {
        if self.0.source.is_none() && !self.0.labels.is_empty() {
            for label in &mut self.0.labels {
                label.span = clamp_span(&text, label.span);
            }
            self.0.path = path.clone();
            self.0.source = Some(NamedSource::new(path, text));
        }
        self
    }

    /// An error about the file as a whole, without a location (e.g. it could not be read).
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        let (path, message) = (display_path(path), message.into());
        ScenarioError(Box::new(Inner {
            path,
            message,
            ..Inner::default()
        }))
    }

    /// Replaces the text shown under the primary caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        if let Some(primary) = self.0.labels.first_mut() {
            primary.text = label.into();
        }
        self
    }

    /// Replaces the message.
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.0.message = message.into();
        self
    }

    /// Adds a secondary labelled span, e.g. pointing at an earlier definition that conflicts with
    /// the primary span.
    ///
    /// If it is more than [`MAX_SNIPPET_GAP`] lines away from the primary span, it is not drawn
    /// (the snippet would show every line between) but mentioned in a note instead: a `here` in the
    /// label becomes `at line N`, otherwise ` (line N)` is appended.
    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        let span = self.text().map_or(span, |text| clamp_span(text, span));
        if !self.0.labels.is_empty() {
            self.0.labels.push(Label {
                span,
                text: label.into(),
            });
        }
        self
    }

    /// Adds a help note printed below the snippet.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    /// The message, without location.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    fn text(&self) -> Option<&str> {
        self.0.source.as_ref().map(|s| &**s.inner())
    }

    /// The secondary labels, each either drawn (`Ok`) or, when far from the primary span, a note
    /// (`Err`).
    fn secondaries(&self) -> impl Iterator<Item = Result<&Label, String>> {
        let text = self.text().unwrap_or("");
        let primary_line = self.span().map_or(0, |s| line_col(text, s.start).0);
        self.0.labels.iter().skip(1).map(move |label| {
            let (line, _) = line_col(text, label.span.start);
            if line.abs_diff(primary_line) <= MAX_SNIPPET_GAP {
                Ok(label)
            } else if label.text.contains("here") {
                Err(label.text.replacen("here", &format!("at line {line}"), 1))
            } else {
                Err(format!("{} (line {line})", label.text))
            }
        })
    }

    /// The help text, if any: notes about far-away related places, then the help note.
    pub fn help_text(&self) -> Option<String> {
        let mut parts: Vec<String> = self.secondaries().filter_map(Result::err).collect();
        parts.extend(self.0.help.clone());
        (!parts.is_empty()).then(|| parts.join("\n"))
    }

    /// The primary span, if the error has a location.
    pub fn span(&self) -> Option<Span> {
        self.0.labels.first().map(|l| l.span)
    }

    /// The file path as shown in messages.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// 1-based line and column of the primary span's start, if located.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        Some(line_col(self.text()?, self.span()?.start))
    }

    /// `file:line:col: message` (or `file: message` without a location).
    pub fn one_line(&self) -> String {
        match self.line_col() {
            Some((line, col)) => format!("{}:{line}:{col}: {}", self.0.path, self.0.message),
            None => format!("{}: {}", self.0.path, self.0.message),
        }
    }

    /// The full report rendered with miette's graphical handler, using the no-colour unicode theme
    /// at a fixed width of [`RENDER_WIDTH`]: the output is the same on every machine and contains
    /// no ANSI codes.
    pub fn render(&self) -> String {
        if self.0.source.is_none() {
            let mut out = format!("  × {}\n", self.one_line());
            if let Some(help) = self.help_text() {
                out.push_str(&format!("  help: {help}\n"));
            }
            return out;
        }
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(RENDER_WIDTH)
            .with_links(false);
        let mut out = String::new();
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.render_report(&mut out, self)
        }));
        match rendered {
            Ok(Ok(())) => out,
            _ => format!("  × {}\n", self.one_line()),
        }
    }
}

pub(crate) fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl fmt::Debug for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (at, help) = (self.one_line(), &self.0.help);
        f.debug_struct("ScenarioError")
            .field("at", &at)
            .field("help", help)
            .finish()
    }
}

impl std::error::Error for ScenarioError {}

impl Diagnostic for ScenarioError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.help_text()?))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = self.0.labels.first().filter(|_| self.0.source.is_some())?;
        let primary = LabeledSpan::new_primary_with_span(Some(primary.text.clone()), primary.span);
        let near = self.secondaries().filter_map(Result::ok);
        let near = near.map(|l| LabeledSpan::new_with_span(Some(l.text.clone()), l.span));
        Some(Box::new(std::iter::once(primary).chain(near)))
    }
}

/// A result of the resolver.
pub(crate) type PResult<T> = Result<T, ScenarioError>;

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
pub(crate) fn toml_issue(source: &str, e: &toml::de::Error) -> ScenarioError {
    let span = e.span().map(Span::from).unwrap_or_else(|| Span::new(0, 0));
    // TOML has no null: `x = null` reads as a malformed float. Say what is wrong instead.
    let rest = source.get(span.start..).unwrap_or("");
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if matches!(word.as_str(), "null" | "nil" | "None" | "NULL" | "Null") {
        let at = Span::new(span.start, span.start + word.len());
        return err(at, format!("TOML has no `{word}`"), "not a TOML value").with_help("to send or expect a JSON null, write the whole value as JSON text: `body = { json = '{\"sitterId\": null}' }` (also for `expect.json` and event `payload`)");
    }
    let message = e.message().trim().replace('\n', "; ");
    err(span, format!("invalid TOML: {message}"), "syntax error")
}

/// A shape error (serde, keys and types) as a located issue with the resolver's wording: an unknown
/// key at the key with a "did you mean", a wrong value or type at the value, named by its key (read
/// from the source before the value).
pub(crate) fn shape_issue(source: &str, e: &toml::de::Error) -> ScenarioError {
    let span = e.span().map(Span::from).unwrap_or_else(|| Span::new(0, 0));
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
        let issue = match (key == "action")
            .then(|| enclosing_key(source, span))
            .flatten()
        {
            Some(kind) => err(
                span,
                format!("unknown {kind} action `{value}`"),
                "unknown action",
            ),
            None => {
                let message = format!("invalid `{key}` value `{value}`");
                err(span, message, format!("not a valid `{key}`"))
            }
        };
        return issue.with_help(one_of(&value, &options));
    }
    if let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        let (found, expected) = (serde_type(found), serde_type(expected));
        let message = format!("`{key}` must be {expected}, not {found}");
        return err(span, message, format!("expected {expected}"));
    }
    err(span, message, "here")
}

/// `(word, listed)` from a serde message `PREFIXword`, expected one of `a`, `b`` (or "expected
/// `a`").
pub(crate) fn serde_list(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let (word, tail) = message.strip_prefix(prefix)?.split_once('`')?;
    let listed = tail.split('`').skip(1).step_by(2);
    Some((word.to_string(), listed.map(str::to_string).collect()))
}

/// serde's name of a type or value ("integer `5`", "a sequence", "i64") as a TOML type name.
pub(crate) fn serde_type(text: &str) -> &'static str {
    let names: [(&[&str], _); 6] = [
        (&["string", "char"], "a string"),
        (&["integer", "i64", "u64"], "an integer"),
        (&["floating", "f64"], "a float"),
        (&["bool"], "a boolean"),
        (&["sequence"], "an array"),
        (&["map", "struct"], "a table"),
    ];
    let found = names
        .iter()
        .find(|(words, _)| words.iter().any(|w| text.contains(w)));
    found.map_or("another type", |(_, name)| name)
}

/// The table a shape's field list belongs to, for "unknown key ... in WHAT". `[[sitters]]` and
/// `[[clients]]` share a shape: the nearest header in the source says which.
pub(crate) fn shape_table(source: &str, span: Span, fields: &[&str]) -> String {
    let mut fields: Vec<&str> = fields.to_vec();
    fields.sort_unstable();
    let tables = shape_tables().into_iter();
    let mut found = tables
        .filter(|(_, keys)| keys.iter().eq(&fields))
        .map(|(what, _)| what);
    let header = source.get(..span.start).unwrap_or("").lines().rev();
    let header = header.map(str::trim).find(|l| l.starts_with('['));
    match found.next() {
        Some("a `[[sitters]]` entry") if header == Some("[[clients]]") => "a `[[clients]]` entry",
        found => found.unwrap_or("this table"),
    }
    .to_string()
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
pub(crate) fn unknown_key(span: Span, key: &str, what: &str, allowed: &[&str]) -> ScenarioError {
    let mut help = format!("allowed keys: {}", quoted_list(allowed));
    if let Some(s) = suggest(key, allowed.iter().copied()) {
        help = format!("did you mean `{s}`? {help}");
    }
    err(
        span,
        format!("unknown key `{key}` in {what}"),
        "unknown key",
    )
    .with_help(help)
}

/// An error at `span`: the message, and the label under the caret.
pub(crate) fn err(
    span: Span,
    message: impl Into<String>,
    label: impl Into<String>,
) -> ScenarioError {
    ScenarioError::new(span, message, label)
}
