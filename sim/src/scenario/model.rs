//! The typed, validated, fully-resolved form of a scenario file.
//!
//! Names are kept as the symbolic names written in the file (`"pool-1"`,
//! `"walk-1"`); the parser has checked that each refers to an entity of the
//! right kind that exists at that point of the scenario. Times are absolute
//! unix seconds (UTC).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::diagnostic::{Span, Spanned};
use super::shape::*;

/// The two organisations every world has.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Org {
    /// The business under test (`main`, the default).
    #[default]
    Main,
    /// A second, unrelated business (`rival`), for isolation tests.
    Rival,
}

pub use switchboard_core::bookings::BookingStatus;
pub use switchboard_core::world::{NumberClass, NumberStatus};

/// Role of an explicit `[[users]]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// `owner`.
    Owner,
    /// `admin`.
    Admin,
}

/// The initial state of the simulated world: the entries as written, in file order (a base
/// world's first), each located at its whole table (at the `extends` value for a base's).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct World {
    /// `[[numbers]]`.
    pub numbers: Vec<Spanned<NumberShape>>,
    /// `[[sitters]]`.
    pub sitters: Vec<Spanned<PersonShape>>,
    /// `[[clients]]`.
    pub clients: Vec<Spanned<PersonShape>>,
    /// `[[bookings]]`.
    pub bookings: Vec<Spanned<BookingShape>>,
    /// Explicit `[[users]]` (the implicit users of [`Role`] always exist in addition).
    pub users: Vec<Spanned<UserShape>>,
}

impl NumberShape {
    /// What it is used for (default `pool`).
    pub fn class(&self) -> NumberClass {
        value_of(&self.class).unwrap_or(NumberClass::Pool)
    }

    /// Its lifecycle status (default `active`).
    pub fn status(&self) -> NumberStatus {
        value_of(&self.status).unwrap_or(NumberStatus::Active)
    }
}

impl PersonShape {
    /// The first name: as written, or the symbolic name capitalised (`sam` → `Sam`).
    pub fn first_name(&self) -> String {
        if let Some(first) = &self.first_name {
            return first.value.clone();
        }
        let name = given(&self.name);
        let mut chars = name.chars();
        chars
            .next()
            .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
    }
}

impl BookingShape {
    /// Its status (default `confirmed`).
    pub fn status(&self) -> BookingStatus {
        value_of(&self.status).unwrap_or(BookingStatus::Confirmed)
    }
}

/// Whether `entry` is named `name`.
pub fn named(entry: &Option<Spanned<String>>, name: &str) -> bool {
    entry.as_ref().is_some_and(|n| n.value == name)
}

/// Who performs an action (the `as` field).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// `owner`: the implicit owner of org main.
    Owner,
    /// `admin`: the implicit admin of org main.
    Admin,
    /// `rival-owner`: the implicit owner of org rival.
    RivalOwner,
    /// `sitter:NAME`: the user of sitter NAME.
    Sitter(String),
    /// `user:NAME`: an explicit `[[users]]` entry.
    User(String),
    /// `anonymous`: no credentials.
    Anonymous,
}

impl fmt::Display for Role {
    /// The role as written in a scenario (`owner`, `sitter:sam`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Owner => f.write_str("owner"),
            Role::Admin => f.write_str("admin"),
            Role::RivalOwner => f.write_str("rival-owner"),
            Role::Sitter(name) => write!(f, "sitter:{name}"),
            Role::User(name) => write!(f, "user:{name}"),
            Role::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// A TOML table kept as a JSON object, with the span of each key so the
/// runner can report the engine's validation errors at the offending key.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonTable {
    /// The keys and values, converted to JSON.
    pub values: Map<String, Value>,
    /// The whole table in the source.
    pub span: Span,
    /// Span of each top-level key.
    pub key_spans: BTreeMap<String, Span>,
}

impl JsonTable {
    /// The span of top-level `key`, or of the whole table if there is no
    /// such key. `key` may be a dotted or slash-separated path
    /// (`a.b`, `/a/b`); only its first segment is looked up.
    pub fn span_of(&self, key: &str) -> Span {
        let first = key
            .trim_start_matches('/')
            .split(['.', '/'])
            .next()
            .unwrap_or("");
        self.key_spans.get(first).copied().unwrap_or(self.span)
    }

    /// The table as a JSON object value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.values.clone())
    }
}

/// HTTP method of a `request` action: the engine's own vocabulary (`GET`, `POST`, ...).
pub use switchboard_core::requests::Method;

/// How the inbound webhook is signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Signature {
    /// `valid`: a correct signature (the default).
    #[default]
    Valid,
    /// `missing`: no signature header.
    Missing,
    /// `bad`: a wrong signature.
    Bad,
}

/// What a step does: its one action as written (the parser has checked its keys, names and
/// values, so the runner reads the shape directly).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action<'a> {
    /// No action: the step only moves the clock and/or checks expectations.
    Wait,
    /// `request`: an HTTP request to the API.
    Request(&'a Spanned<RequestShape>),
    /// `inbound`: an SMS arrives at the webhook.
    Inbound(&'a Spanned<InboundShape>),
    /// `send`: an outbound message on a thread.
    Send(&'a Spanned<SendShape>),
    /// `booking`: create or change a booking.
    Booking(&'a Spanned<BookingActionShape>),
    /// `thread`: open, close or archive a thread.
    Thread(&'a Spanned<ThreadActionShape>),
    /// `settings`: update rotation settings (camelCase API keys, validated by the engine).
    Settings(&'a Spanned<FreeTable>),
    /// `chaos`: configure fault injection (validated by the engine).
    Chaos(&'a Spanned<FreeTable>),
    /// `release = true`: run the number release job now.
    Release(&'a Spanned<bool>),
    /// `webhook`: a provider webhook with exactly the given form fields.
    Webhook(&'a Spanned<WebhookShape>),
    /// `number`: add a number mid-run, or change its status.
    Number(&'a Spanned<NumberActionShape>),
}

impl StepShape {
    /// The actions this step writes, in source order: their key, value span and value.
    pub fn actions(&self) -> Vec<(&'static str, Span, Action<'_>)> {
        let mut out = Vec::new();
        macro_rules! written {
            ($($field:ident $variant:ident),*) => {$(
                if let Some(v) = &self.$field {
                    out.push((stringify!($field), v.span, Action::$variant(v)));
                }
            )*};
        }
        written!(request Request, inbound Inbound, send Send, booking Booking, thread Thread,
            settings Settings, chaos Chaos, release Release, webhook Webhook, number Number);
        out.sort_by_key(|(_, span, _)| *span);
        out
    }
}

impl Action<'_> {
    /// The step key of this action (`request`, `inbound`, ...; `wait` for
    /// [`Action::Wait`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Wait => "wait",
            Action::Request(_) => "request",
            Action::Inbound(_) => "inbound",
            Action::Send(_) => "send",
            Action::Booking(_) => "booking",
            Action::Thread(_) => "thread",
            Action::Settings(_) => "settings",
            Action::Chaos(_) => "chaos",
            Action::Release(_) => "release",
            Action::Webhook(_) => "webhook",
            Action::Number(_) => "number",
        }
    }

    /// Whether the action produces an HTTP response that `expect.status`
    /// and `expect.json` can check (everything but waits and added numbers; `release`
    /// answers with the job's statistics from `POST /api/ops/pool-release`).
    pub fn has_response(&self) -> bool {
        match self {
            Action::Wait => false,
            Action::Number(n) => n.action.as_ref().map(|a| a.value) != Some(NumberVerb::Add),
            _ => true,
        }
    }
}

impl InboundShape {
    /// The provider message id: `sid`, or `SM<index>` for step `index`.
    pub fn sid(&self, index: usize) -> String {
        self.sid
            .as_ref()
            .map_or(format!("SM{index}"), |s| s.value.clone())
    }
}

/// The value of an optional field, if written.
pub fn value_of<T: Copy>(field: &Option<Spanned<T>>) -> Option<T> {
    field.as_ref().map(|f| f.value)
}

/// The value of a field the parser has checked is written (`""`-like default otherwise).
pub fn given<T: Default + Clone>(field: &Option<Spanned<T>>) -> T {
    field.as_ref().map(|f| f.value.clone()).unwrap_or_default()
}

impl ExpectShape {
    /// Whether the step checks nothing.
    pub fn is_empty(&self) -> bool {
        *self == ExpectShape::default()
    }

    /// The exact set of open alert types expected, sorted (`Some(vec![])`: no open alert;
    /// `None`: not checked).
    pub fn alert_types(&self) -> Option<Vec<String>> {
        let list = self.alerts.as_ref()?;
        let mut types: Vec<String> = list.value.iter().map(|a| a.value.clone()).collect();
        types.sort();
        Some(types)
    }
}

impl BindingShape {
    /// The number the thread must be bound to; `None` for `none` (no binding).
    pub fn number_name(&self) -> Option<String> {
        self.number
            .as_ref()
            .map(|n| n.value.clone())
            .filter(|n| n != "none")
    }
}

/// One `[[steps]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 0-based position in [`Scenario::steps`](super::Scenario::steps).
    pub index: usize,
    /// The optional `name` label.
    pub label: Option<String>,
    /// The simulated time before the step (where the previous step left
    /// the clock; the scenario start for the first step).
    pub advance_from: i64,
    /// The instant at which the action happens and expectations are
    /// checked: `advance_from` plus `advance`, or `at`, or `advance_from`.
    pub when: i64,
    /// Who performs the action: the action's own `as` (`request`, `send`), the step's `as`
    /// (`settings`, `chaos`, `release`, default the owner), else the owner.
    pub actor: Role,
    /// The step as written.
    pub shape: StepShape,
    /// What must hold afterwards (empty when absent), each `events` and `bindings` entry
    /// located at its whole table.
    pub expect: ExpectShape,
    /// The whole step table in the source.
    pub span: Span,
    /// The `[[steps]]` header (or the inline table's start), a compact
    /// place to point at for step-level failures.
    pub header_span: Span,
    /// The `advance`/`at` value, if any.
    pub time_span: Option<Span>,
    /// The action's value, if any.
    pub action_span: Option<Span>,
}

impl Step {
    /// What the step does.
    pub fn action(&self) -> Action<'_> {
        self.shape.actions().first().map_or(Action::Wait, |a| a.2)
    }

    /// A short description for messages: `step 3 "label"` (1-based).
    pub fn describe(&self) -> String {
        match &self.label {
            Some(label) => format!("step {} ({label:?})", self.index + 1),
            None => format!("step {}", self.index + 1),
        }
    }
}

/// What a symbolic name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A `[[numbers]]` entry.
    Number,
    /// A `[[sitters]]` entry.
    Sitter,
    /// A `[[clients]]` entry.
    Client,
    /// A booking (world or `booking.create`); also names its thread.
    Booking,
    /// A thread opened by `thread.open`.
    Thread,
    /// A `[[users]]` entry.
    User,
}

impl NameKind {
    /// `number`, `sitter`, ... for messages.
    pub fn as_str(&self) -> &'static str {
        match self {
            NameKind::Number => "number",
            NameKind::Sitter => "sitter",
            NameKind::Client => "client",
            NameKind::Booking => "booking",
            NameKind::Thread => "thread",
            NameKind::User => "user",
        }
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
