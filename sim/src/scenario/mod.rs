//! Scenario files: TOML descriptions of a simulated world and a sequence of timed steps with
//! expectations, parsed into validated, fully-resolved values.
//!
//! ```no_run
//! use switchboard_sim::scenario::{Action, Scenario, given};
//!
//! let scenario = match Scenario::load("scenarios/strategies/lru-oldest-assignment-and-reset-on-release.toml") {
//!     Ok(s) => s,
//!     Err(e) => {
//!         eprintln!("{}", e.render());
//!         std::process::exit(1);
//!     }
//! };
//! for step in &scenario.steps {
//!     if let Action::Request(req) = step.action() {
//!         println!("{} at {}", given(&req.path), step.when);
//!     }
//! }
//! ```
//!
//! The format itself is documented in `scenarios/README.md`.
//!
//! What the parser guarantees (so the runner need not re-check):
//! * no unknown keys anywhere; every value has the right type and form;
//! * every symbolic name is unique across numbers, sitters, clients, bookings, threads and users,
//!   and every reference names an entity of the right kind that is defined at that point (world
//!   entities always; names created by `booking.create`/`thread.open` from that step on);
//! * every time is resolved to unix seconds, and steps' `when` never decreases;
//! * expectations only appear on steps that can produce them.
//!
//! What it does not check: the contents of `settings`/`chaos` tables and request bodies (the engine
//! validates those; report its errors with [`Scenario::error_at`] and [`JsonTable::span_of`]), and
//! whether an entity is in the right state for an action at run time.

mod diagnostic;
mod resolve;
pub mod shape;
mod template;
pub mod time;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use diagnostic::err;
pub use diagnostic::{MAX_SNIPPET_GAP, RENDER_WIDTH, ScenarioError, Span, Spanned, line_col};
pub use resolve::{free_table, json_of};
pub use shape::*;
pub use template::{Part, Template, TemplateError, render_json};

/// A parsed and validated scenario file.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The `name` title.
    pub name: String,
    /// The optional `description`.
    pub description: Option<String>,
    /// RNG seed for the simulation (default 0).
    pub seed: u64,
    /// The simulated clock's starting instant (unix seconds).
    pub start: i64,
    /// Initial rotation settings (`[settings]`), API camelCase keys kept as JSON for the engine's
    /// validator.
    pub settings: Option<JsonTable>,
    /// The initial world.
    pub world: World,
    /// The steps, in order.
    pub steps: Vec<Step>,
    names: BTreeMap<String, (NameKind, Span)>,
    path: PathBuf,
    display_path: String,
    source: Arc<str>,
}

impl Scenario {
    /// Parses `source`, the text of the file at `path`. `path` is only used in messages: pass the
    /// path the way it should appear in them (typically relative to the repository root).
    pub fn parse(path: &Path, source: &str) -> Result<Scenario, ScenarioError> {
        let text: Arc<str> = Arc::from(source);
        let display = diagnostic::display_path(path);
        // Layer 1: the shape (keys and types, serde; its errors located and worded like the
        // resolver's). Layer 2: the located checks of meaning.
        let mut chain = vec![lexical(path)];
        let resolved = resolve::parse_document((path, &display, &text), &mut |extends, start| {
            load_base(&mut chain, extends, start)
        });
        resolved.map_err(|error| error.in_file(display, text))
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::file(path, format!("cannot read scenario file: {e}")))?;
        Scenario::parse(path, &source)
    }

    /// The file's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The file's path, as given to [`parse`](Self::parse) or [`load`](Self::load).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// 1-based line and column of the start of `span`.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        line_col(&self.source, span.start)
    }

    /// An error at `span` of this scenario's file, for failures found by the runner. Refine it with
    /// [`ScenarioError::with_label`], [`with_help`](ScenarioError::with_help) and
    /// [`with_secondary`](ScenarioError::with_secondary).
    pub fn error_at(&self, span: Span, message: impl Into<String>) -> ScenarioError {
        let (path, text) = (self.display_path.clone(), self.source.clone());
        ScenarioError::new(span, message, "here").in_file(path, text)
    }

    /// What `name` refers to, if it is a name of this scenario (including names created by steps).
    pub fn name_kind(&self, name: &str) -> Option<NameKind> {
        self.names.get(name).map(|(kind, _)| *kind)
    }

    /// The simulated time after the last step (the start if there are no steps).
    pub fn end(&self) -> i64 {
        self.steps.last().map_or(self.start, |s| s.when)
    }

    /// The world number named `name`.
    pub fn number(&self, name: &str) -> Option<&Spanned<shape::NumberShape>> {
        self.world.numbers.iter().find(|n| named(&n.name, name))
    }

    /// The E.164 of the number named `name`: a world number, or one a step adds.
    pub fn number_e164(&self, name: &str) -> Option<&str> {
        let added = self
            .steps
            .iter()
            .filter_map(|step| step.shape.number.as_ref());
        let mut added = added.filter(|n| named(&n.name, name));
        let e164 = self.number(name).and_then(|n| n.e164.as_ref());
        let e164 = e164.or_else(|| added.find_map(|n| n.e164.as_ref()));
        e164.map(|e| e.value.as_str())
    }

    /// A time as written (an instant, or an offset from the start) in unix seconds; the start when
    /// none is written.
    pub fn time(&self, text: &Option<Spanned<shape::TimeText>>) -> Result<i64, String> {
        match text {
            Some(text) => time::parse_time(&text.value.0, self.start),
            None => Ok(self.start),
        }
    }

    /// The world sitter named `name`.
    pub fn sitter(&self, name: &str) -> Option<&Spanned<shape::PersonShape>> {
        self.world.sitters.iter().find(|n| named(&n.name, name))
    }

    /// The world client named `name`.
    pub fn client(&self, name: &str) -> Option<&Spanned<shape::PersonShape>> {
        self.world.clients.iter().find(|n| named(&n.name, name))
    }
}

/// `path` with `.` and `dir/..` removed, so that messages and the cycle check name each file one
/// way (`scenarios/worlds/basic.toml`, not `scenarios/audit/../worlds/basic.toml`).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some_and(|name| name != "..") => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Reads the base world `extends` names (relative to the file at the end of `chain`), its times
/// resolved against `start`. A missing file or a cycle is an issue at the `extends` value; a
/// problem inside the base is reported against the base file.
fn load_base(
    chain: &mut Vec<PathBuf>,
    extends: &Spanned<String>,
    start: i64,
) -> Result<resolve::Base, ScenarioError> {
    let from = chain.last().cloned().unwrap_or_default();
    let file = lexical(&from.parent().unwrap_or(Path::new("")).join(&extends.value));
    let shown = diagnostic::display_path(&file);
    if chain.contains(&file) {
        let cycle: Vec<String> = chain.iter().map(|p| diagnostic::display_path(p)).collect();
        let message = format!("`extends` makes a cycle: {} -> {shown}", cycle.join(" -> "));
        return Err(err(
            extends.span,
            message,
            "extends a file that extends this one",
        ));
    }
    let source = std::fs::read_to_string(&file).map_err(|e| {
        let message = format!("cannot read the base world `{shown}`: {e}");
        err(extends.span, message, "no such base world")
            .with_help("`extends` is a path relative to this file, like `../worlds/basic.toml`")
    })?;
    chain.push(file);
    let base = resolve::parse_world_file(&source, start, &mut |next, start| {
        load_base(chain, next, start)
    });
    chain.pop();
    base.map_err(|error| error.in_file(shown, Arc::from(source)))
}
