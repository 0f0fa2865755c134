//! Source spans and the [`ScenarioError`] diagnostic.
//!
//! Every error produced while reading a scenario points at a byte range of
//! the scenario file. The runner can build errors of the same shape for
//! failures it detects later (a failed expectation, a setting rejected by the
//! engine's validator, ...) with [`ScenarioError::at`] or
//! [`Scenario::error_at`](super::Scenario::error_at), so that every problem
//! is reported the same way: `file:line:col`, the source line and a caret.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

/// Secondary labels further than this many lines from the primary span
/// become notes (see [`ScenarioError::with_secondary`]).
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
        if start <= end {
            Span { start, end }
        } else {
            Span {
                start: end,
                end: start,
            }
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both `self` and `other`.
    pub fn join(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
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
        (s.start, s.len()).into()
    }
}

/// A value together with the span of the source text it was read from.
///
/// Read from TOML through [`toml::Spanned`]; written (and described in the JSON Schema) as the
/// bare value. Ordered by value, then span.
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
/// Offsets past the end are clamped to the end; offsets inside a multi-byte
/// character count as that character.
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
#[derive(Clone, Debug, PartialEq, Eq)]
struct Label {
    span: Span,
    text: String,
}

/// An error located in a scenario file.
///
/// * [`Display`](fmt::Display) prints just the message.
/// * [`one_line`](Self::one_line) prints `file:line:col: message`.
/// * [`render`](Self::render) prints the full report: message, `file:line:col`,
///   the source line(s) with the span underlined and labelled, and a help
///   note if any. The output is deterministic (no colours, fixed width).
///
/// It implements [`miette::Diagnostic`], so it can also be returned through
/// `miette::Result` and printed by whatever handler the binary installs.
#[derive(Clone)]
pub struct ScenarioError(Box<Inner>);

#[derive(Clone)]
struct Inner {
    path: String,
    source: Option<NamedSource<Arc<str>>>,
    text: Option<Arc<str>>,
    message: String,
    labels: Vec<Label>,
    notes: Vec<String>,
    help: Option<String>,
}

impl ScenarioError {
    /// An error at `span` of the file `path` whose text is `source`.
    ///
    /// The span is clamped to the source, so any span is accepted. The
    /// label under the caret defaults to `"here"`; set it with
    /// [`with_label`](Self::with_label).
    pub fn at(path: &Path, source: &str, span: Span, message: impl Into<String>) -> Self {
        Self::at_shared(display_path(path), Arc::from(source), span, message)
    }

    pub(crate) fn at_shared(
        path: String,
        text: Arc<str>,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        let span = clamp_span(&text, span);
        ScenarioError(Box::new(Inner {
            source: Some(NamedSource::new(path.clone(), text.clone())),
            path,
            text: Some(text),
            message: message.into(),
            labels: vec![Label {
                span,
                text: "here".to_string(),
            }],
            notes: Vec::new(),
            help: None,
        }))
    }

    /// An error about the file as a whole, without a location (e.g. it
    /// could not be read).
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        ScenarioError(Box::new(Inner {
            path: display_path(path),
            source: None,
            text: None,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }))
    }

    /// Replaces the text shown under the primary caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        if let Some(primary) = self.0.labels.first_mut() {
            primary.text = label.into();
        }
        self
    }

    /// Adds a secondary labelled span, e.g. pointing at an earlier
    /// definition that conflicts with the primary span.
    ///
    /// If it is more than [`MAX_SNIPPET_GAP`] lines away from the primary
    /// span, it is not drawn (the snippet would show every line between)
    /// but mentioned in a note instead: a `here` in the label becomes
    /// `at line N`, otherwise ` (line N)` is appended.
    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        let label = label.into();
        let (Some(text), Some(primary)) = (&self.0.text, self.span()) else {
            return self;
        };
        let span = clamp_span(text, span);
        let (line, _) = line_col(text, span.start);
        let (primary_line, _) = line_col(text, primary.start);
        if line.abs_diff(primary_line) <= MAX_SNIPPET_GAP {
            self.0.labels.push(Label { span, text: label });
        } else if label.contains("here") {
            let note = label.replacen("here", &format!("at line {line}"), 1);
            self.0.notes.push(note);
        } else {
            self.0.notes.push(format!("{label} (line {line})"));
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

    /// The help text, if any: notes about far-away related places, then
    /// the help note.
    pub fn help_text(&self) -> Option<String> {
        let mut parts: Vec<&str> = self.0.notes.iter().map(String::as_str).collect();
        parts.extend(self.0.help.as_deref());
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
        let text = self.0.text.as_ref()?;
        let span = self.span()?;
        Some(line_col(text, span.start))
    }

    /// `file:line:col: message` (or `file: message` without a location).
    pub fn one_line(&self) -> String {
        match self.line_col() {
            Some((line, col)) => format!("{}:{line}:{col}: {}", self.0.path, self.0.message),
            None => format!("{}: {}", self.0.path, self.0.message),
        }
    }

    /// The full report rendered with miette's graphical handler, using the
    /// no-colour unicode theme at a fixed width of [`RENDER_WIDTH`]: the
    /// output is the same on every machine and contains no ANSI codes.
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
        f.debug_struct("ScenarioError")
            .field("at", &self.one_line())
            .field("help", &self.0.help)
            .finish()
    }
}

impl std::error::Error for ScenarioError {}

impl Diagnostic for ScenarioError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help_text()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.0.source.is_none() || self.0.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.0.labels.iter().enumerate().map(|(i, l)| {
            if i == 0 {
                LabeledSpan::new_primary_with_span(Some(l.text.clone()), l.span)
            } else {
                LabeledSpan::new_with_span(Some(l.text.clone()), l.span)
            }
        })))
    }
}
