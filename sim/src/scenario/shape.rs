//! The scenario front end's one type tree: the file's *shape* as serde structs, and the few values
//! computed from it ([`Step`], [`World`], [`Action`]).
//!
//! The shape structs say which keys exist where and what type each value has (`deny_unknown_fields`
//! everywhere but the free-form JSON values). They are read from TOML with [`toml::Spanned`]
//! positions, written back to TOML by the explorer ([`render`]), turned into the JSON Schema that
//! editors use (`switchboard schema`, [`json_schema`]), and read by the runner and the world
//! builder (defaults through accessor methods). They check no meaning: names, time order, one
//! action per step and the expectation rules are checked by the resolving layer, which computes
//! only each step's instant and actor.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::diagnostic::{Span, Spanned};
pub use switchboard_core::bookings::BookingStatus;
pub use switchboard_core::world::{NumberClass, NumberStatus};

/// A free-form TOML value sent or compared as JSON (request bodies, `expect.json`, event payloads;
/// `{ json = '...' }` holds JSON text).
pub type FreeValue = toml::Value;

/// A free-form table with its keys and values located (`[settings]`, `settings`, `chaos`).
pub type FreeTable = BTreeMap<Spanned<String>, Spanned<FreeValue>>;

macro_rules! shapes {
    ($($(#[$meta:meta])* pub struct $name:ident in $what:literal {
        $($(#[$fmeta:meta])* $field:ident : $ty:ty,)*
    })*) => {$(
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$fmeta])* #[serde(default, skip_serializing_if = "Shape::is_unset")] pub $field: $ty,)* }

        impl Table for $name {
            fn written(&self) -> Vec<(&'static str, Span)> {
                let fields = [$((stringify!($field), Shape::at(&self.$field))),*];
                fields.into_iter().filter_map(|(key, at)| Some((key, at?))).collect()
            }
        }
    )*

    /// Each shape table as messages name it (`a [[numbers]] entry`; `[[clients]]` entries share
    /// the sitters' shape), with its keys as written (from its JSON Schema, so renames count).
    pub(crate) fn shape_tables() -> Vec<(&'static str, Vec<String>)> {
        fn keys<T: JsonSchema>() -> Vec<String> {
            let schema = schemars::schema_for!(T);
            let props = schema.get("properties").and_then(Value::as_object);
            props.map(|p| p.keys().cloned().collect()).unwrap_or_default()
        }
        vec![$(($what, keys::<$name>())),*]
    }};
}

/// A shape table.
pub trait Table {
    /// The fields written, each with where its value is, in declaration order.
    fn written(&self) -> Vec<(&'static str, Span)>;
}

impl<T: Table> Spanned<T> {
    /// The whole table: its header (or braces) joined with every value written in it.
    pub fn extent(&self) -> Span {
        let written = self.value.written().into_iter();
        written.fold(self.span, |all, (_, at)| all.join(at))
    }
}

/// A field of a shape: whether it is left out when written (absent options, empty lists), and where
/// it is written.
pub trait Shape {
    /// `true` when the value is the field's default.
    fn is_unset(&self) -> bool;
    /// Where the value is written (a list: its first item); `None` when absent or unknown.
    fn at(&self) -> Option<Span> {
        None
    }
}

impl<T> Shape for Option<Spanned<T>> {
    fn is_unset(&self) -> bool {
        self.is_none()
    }
    fn at(&self) -> Option<Span> {
        self.as_ref().map(|v| v.span)
    }
}

impl<T> Shape for Vec<Spanned<T>> {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
    fn at(&self) -> Option<Span> {
        self.first().map(|v| v.span)
    }
}

/// `description`, the one field without a position.
impl Shape for Option<String> {
    fn is_unset(&self) -> bool {
        self.is_none()
    }
}

shapes! {
    /// A whole scenario file. `name` and `start` are required (checked when resolving, so the
    /// error can point at the file's first line).
    pub struct ScenarioShape in "the scenario (top level)" {
        /// A short title.
        name: Option<Spanned<String>>,
        /// Why the scenario exists.
        description: Option<String>,
        /// Seed of the simulation's RNG (unsigned, default 0).
        seed: Option<Spanned<i64>>,
        /// RFC 3339 instant the simulated clock starts at.
        start: Option<Spanned<TimeText>>,
        /// A base world file to start from, relative to this file (`worlds/basic.toml`).
        extends: Option<Spanned<String>>,
        /// Initial rotation settings, the API's camelCase keys.
        #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
        settings: Option<Spanned<FreeTable>>,
        /// `[[numbers]]`.
        numbers: Vec<Spanned<NumberShape>>,
        /// `[[sitters]]`.
        sitters: Vec<Spanned<PersonShape>>,
        /// `[[clients]]`.
        clients: Vec<Spanned<PersonShape>>,
        /// `[[bookings]]`.
        bookings: Vec<Spanned<BookingShape>>,
        /// `[[users]]`.
        users: Vec<Spanned<UserShape>>,
        /// `[[steps]]`, run in order.
        steps: Vec<Spanned<StepShape>>,
    }

    /// A `[[numbers]]` entry.
    pub struct NumberShape in "a `[[numbers]]` entry" {
        /// Symbolic name.
        name: Option<Spanned<String>>,
        /// `+` then 8 to 15 digits.
        e164: Option<Spanned<String>>,
        /// Default `pool`.
        class: Option<Spanned<NumberClass>>,
        /// Default `active`.
        status: Option<Spanned<NumberStatus>>,
        /// A time (default: the start).
        created: Option<Spanned<TimeText>>,
        /// Required exactly when `class = "sitter"`.
        sitter: Option<Spanned<String>>,
        /// Default `main`.
        org: Option<Spanned<Org>>,
    }

    /// A `[[sitters]]` or `[[clients]]` entry.
    pub struct PersonShape in "a `[[sitters]]` entry" {
        /// Symbolic name.
        name: Option<Spanned<String>>,
        /// Default: the name capitalised.
        first_name: Option<Spanned<String>>,
        /// E.164 phone number.
        phone: Option<Spanned<String>>,
        /// E-mail address.
        email: Option<Spanned<String>>,
        /// Default `main`.
        org: Option<Spanned<Org>>,
    }

    /// A `[[bookings]]` entry.
    pub struct BookingShape in "a `[[bookings]]` entry" {
        /// Symbolic name, also its thread's.
        name: Option<Spanned<String>>,
        /// A client's name.
        client: Option<Spanned<String>>,
        /// A sitter's name.
        sitter: Option<Spanned<String>>,
        /// Service label.
        service: Option<Spanned<String>>,
        /// A time.
        start: Option<Spanned<TimeText>>,
        /// A time after `start`.
        end: Option<Spanned<TimeText>>,
        /// Default `confirmed`.
        status: Option<Spanned<BookingStatus>>,
    }

    /// A `[[users]]` entry.
    pub struct UserShape in "a `[[users]]` entry" {
        /// Symbolic name.
        name: Option<Spanned<String>>,
        /// `owner` or `admin`.
        role: Option<Spanned<UserRole>>,
        /// Default `main`.
        org: Option<Spanned<Org>>,
    }

    /// A `[[steps]]` entry: timing, at most one action, expectations.
    pub struct StepShape in "a step" {
        /// Free label.
        name: Option<Spanned<String>>,
        /// A duration the clock moves first.
        advance: Option<Spanned<String>>,
        /// A time the clock moves to first.
        at: Option<Spanned<TimeText>>,
        /// Who performs a `settings`, `chaos` or `release` step.
        #[serde(rename = "as")]
        actor: Option<Spanned<String>>,
        /// An API call.
        request: Option<Spanned<RequestShape>>,
        /// An SMS arriving at the webhook.
        inbound: Option<Spanned<InboundShape>>,
        /// An outbound message on a thread.
        send: Option<Spanned<SendShape>>,
        /// Create or change a booking.
        booking: Option<Spanned<BookingActionShape>>,
        /// Open, close or archive a thread.
        thread: Option<Spanned<ThreadActionShape>>,
        /// Change rotation settings.
        #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
        settings: Option<Spanned<FreeTable>>,
        /// Fault injection.
        #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
        chaos: Option<Spanned<FreeTable>>,
        /// `true`: run the release job now.
        release: Option<Spanned<bool>>,
        /// A raw provider webhook.
        webhook: Option<Spanned<WebhookShape>>,
        /// Add a number or change its status.
        number: Option<Spanned<NumberActionShape>>,
        /// What must hold after the step.
        expect: Option<Spanned<ExpectShape>>,
    }

    /// `request = { ... }`.
    pub struct RequestShape in "the `request` action" {
        /// A role.
        #[serde(rename = "as")]
        actor: Option<Spanned<String>>,
        /// HTTP method.
        method: Option<Spanned<Method>>,
        /// API path with `{NAME}` placeholders.
        path: Option<Spanned<String>>,
        /// JSON body.
        #[schemars(with = "Option<serde_json::Value>")]
        body: Option<Spanned<FreeValue>>,
    }

    /// `inbound = { ... }`.
    pub struct InboundShape in "the `inbound` action" {
        /// A client, sitter or number name, or an E.164 phone.
        from: Option<Spanned<String>>,
        /// A client, sitter or number name, or an E.164 phone.
        to: Option<Spanned<String>>,
        /// Message text.
        body: Option<Spanned<String>>,
        /// Provider message id (default `SM<step index>`).
        sid: Option<Spanned<String>>,
        /// Default `valid`.
        signature: Option<Spanned<Signature>>,
    }

    /// `send = { ... }`.
    pub struct SendShape in "the `send` action" {
        /// A role.
        #[serde(rename = "as")]
        actor: Option<Spanned<String>>,
        /// A thread name.
        thread: Option<Spanned<String>>,
        /// Message text.
        body: Option<Spanned<String>>,
    }

    /// `booking = { action = ..., ... }`; the keys each action takes are checked when resolving.
    pub struct BookingActionShape in "the `booking` action" {
        /// What to do.
        action: Option<Spanned<BookingVerb>>,
        /// `create`: the new booking's name.
        name: Option<Spanned<String>>,
        /// The booking changed.
        booking: Option<Spanned<String>>,
        /// `create`: a client.
        client: Option<Spanned<String>>,
        /// `create`, `reassign`: a sitter.
        sitter: Option<Spanned<String>>,
        /// `create`: service label.
        service: Option<Spanned<String>>,
        /// `create`, `reschedule`: a time.
        start: Option<Spanned<TimeText>>,
        /// `create`, `reschedule`: a time after `start`.
        end: Option<Spanned<TimeText>>,
    }

    /// `thread = { action = ..., ... }`.
    pub struct ThreadActionShape in "the `thread` action" {
        /// What to do.
        action: Option<Spanned<ThreadVerb>>,
        /// `open`: the new thread's name.
        name: Option<Spanned<String>>,
        /// `open`: a client.
        client: Option<Spanned<String>>,
        /// `open`: a booking (optional).
        booking: Option<Spanned<String>>,
        /// `close`, `archive`: a thread.
        thread: Option<Spanned<String>>,
    }

    /// `number = { action = ..., ... }`.
    pub struct NumberActionShape in "the `number` action" {
        /// What to do.
        action: Option<Spanned<NumberVerb>>,
        /// `add`: the new number's name.
        name: Option<Spanned<String>>,
        /// `add`: its E.164.
        e164: Option<Spanned<String>>,
        /// `add`: `pool` (default) or `front_desk`.
        class: Option<Spanned<NumberClass>>,
        /// `add`: default `main`.
        org: Option<Spanned<Org>>,
        /// `status`: a number.
        number: Option<Spanned<String>>,
        /// `status`: the new status.
        status: Option<Spanned<NumberStatus>>,
    }

    /// `webhook = { fields = { ... }, signature = ... }`.
    pub struct WebhookShape in "the `webhook` action" {
        /// Form fields, sent as written.
        fields: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
        /// Default `valid`.
        signature: Option<Spanned<Signature>>,
    }

    /// `[steps.expect]`.
    pub struct ExpectShape in "`expect`" {
        /// HTTP status, 100..=599.
        status: Option<Spanned<i64>>,
        /// A JSON subset of the response body.
        #[schemars(with = "Option<serde_json::Value>")]
        json: Option<Spanned<FreeValue>>,
        /// Audit events emitted, as an ordered subsequence.
        events: Option<Spanned<Vec<Spanned<EventShape>>>>,
        /// Event types not emitted.
        no_events: Option<Spanned<Vec<Spanned<String>>>>,
        /// Thread bindings after the step.
        bindings: Option<Spanned<Vec<Spanned<BindingShape>>>>,
        /// The exact set of open alert types.
        alerts: Option<Spanned<Vec<Spanned<String>>>>,
        /// Whose events and alerts (default `main`).
        org: Option<Spanned<Org>>,
        /// Texts the raw body must not contain.
        body_excludes: Option<Spanned<Vec<Spanned<String>>>>,
        /// A regex the raw body must match.
        body_matches: Option<Spanned<String>>,
    }

    /// An `expect.events` entry.
    pub struct EventShape in "an `expect.events` entry" {
        /// Event type.
        #[serde(rename = "type")]
        event_type: Option<Spanned<String>>,
        /// A JSON subset of its payload.
        #[schemars(with = "Option<serde_json::Value>")]
        payload: Option<Spanned<FreeValue>>,
    }

    /// An `expect.bindings` entry.
    pub struct BindingShape in "an `expect.bindings` entry" {
        /// A thread name.
        thread: Option<Spanned<String>>,
        /// A number name, or `none`.
        number: Option<Spanned<String>>,
    }
}

/// `booking` actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum BookingVerb {
    Create,
    Confirm,
    Complete,
    Cancel,
    Reassign,
    Reschedule,
}

/// `thread` actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ThreadVerb {
    Open,
    Close,
    Archive,
}

/// `number` actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum NumberVerb {
    Add,
    Status,
}

/// A time as written: an RFC 3339 instant or a signed offset (`+1d`), as a
/// string or an unquoted TOML date-time.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct TimeText(pub String);

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = TimeText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TimeText, E> {
                Ok(TimeText(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<TimeText, A::Error> {
                let d = serde::de::value::MapAccessDeserializer::new(map);
                Ok(TimeText(toml::value::Datetime::deserialize(d)?.to_string()))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Reads a scenario file's shape (types and keys only).
pub fn read(source: &str) -> Result<ScenarioShape, toml::de::Error> {
    toml::from_str(source)
}

/// Writes a shape as scenario TOML.
pub fn render(shape: &ScenarioShape) -> String {
    // Every shape value is a string, number, bool, array or table: writing cannot fail.
    toml::to_string(shape).unwrap_or_else(|e| format!("# cannot render the scenario: {e}\n"))
}

/// The JSON Schema of the scenario format, pretty-printed with a final newline (what
/// `switchboard schema` prints and `scenarios/scenario.schema.json` holds).
pub fn json_schema() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<ScenarioShape>();
    let mut schema = schema.to_value();
    drop_null(&mut schema);
    // `name` and `start` are optional in the shape only so that their absence is reported by
    // the resolver at the top of the file; the format requires them.
    schema["required"] = serde_json::json!(["name", "start"]);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// TOML has no null (an absent key is the only "none"): removes the `null` alternatives schemars
/// gives every `Option`, so an editor never offers one.
fn drop_null(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = schema else {
        if let Value::Array(items) = schema {
            items.iter_mut().for_each(drop_null);
        }
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if let [single] = &types[..] {
            let single = single.clone();
            map.insert("type".into(), single);
        }
    }
    if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
        alternatives.retain(|a| a.get("type").is_none_or(|t| t != "null"));
        if let [Value::Object(only)] = &alternatives[..] {
            let only = only.clone();
            map.remove("anyOf");
            map.extend(only);
        }
    }
    map.values_mut().for_each(drop_null);
}

/// The two organisations every world has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Org {
    /// The business under test (`main`, the default).
    #[default]
    Main,
    /// A second, unrelated business (`rival`), for isolation tests.
    Rival,
}

/// Role of an explicit `[[users]]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// `owner`.
    Owner,
    /// `admin`.
    Admin,
}

/// The initial state of the simulated world: the entries as written, in file order (a base world's
/// first), each located at its whole table (at the `extends` value for a base's).
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

/// A TOML table kept as a JSON object, with the span of each key so the runner can report the
/// engine's validation errors at the offending key.
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
    /// The span of top-level `key`, or of the whole table if there is no such key. `key` may be a
    /// dotted or slash-separated path (`a.b`, `/a/b`); only its first segment is looked up.
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

macro_rules! actions {
    ($($(#[$doc:meta])* $field:ident $variant:ident($ty:ty),)*) => {
        /// What a step does: its one action as written (the parser has checked its keys, names and
        /// values, so the runner reads the shape directly).
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Action<'a> {
            /// No action: the step only moves the clock and/or checks expectations.
            Wait,
            $($(#[$doc])* $variant(&'a Spanned<$ty>),)*
        }

        /// The step keys that hold an action, in the order of [`Action`].
        pub const ACTION_KEYS: &[&str] = &[$(stringify!($field)),*];

        impl StepShape {
            /// The actions this step writes, in source order: their key, value span and value.
            pub fn actions(&self) -> Vec<(&'static str, Span, Action<'_>)> {
                let mut out = Vec::new();
                $(if let Some(v) = &self.$field {
                    out.push((stringify!($field), v.span, Action::$variant(v)));
                })*
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
                    $(Action::$variant(_) => stringify!($field),)*
                }
            }
        }
    };
}

actions! {
    /// `request`: an HTTP request to the API.
    request Request(RequestShape),
    /// `inbound`: an SMS arrives at the webhook.
    inbound Inbound(InboundShape),
    /// `send`: an outbound message on a thread.
    send Send(SendShape),
    /// `booking`: create or change a booking.
    booking Booking(BookingActionShape),
    /// `thread`: open, close or archive a thread.
    thread Thread(ThreadActionShape),
    /// `settings`: update rotation settings (camelCase API keys, validated by the engine).
    settings Settings(FreeTable),
    /// `chaos`: configure fault injection (validated by the engine).
    chaos Chaos(FreeTable),
    /// `release = true`: run the number release job now.
    release Release(bool),
    /// `webhook`: a provider webhook with exactly the given form fields.
    webhook Webhook(WebhookShape),
    /// `number`: add a number mid-run, or change its status.
    number Number(NumberActionShape),
}

impl Action<'_> {
    /// Whether the action produces an HTTP response that `expect.status` and `expect.json` can
    /// check (everything but waits and added numbers; `release` answers with the job's statistics
    /// from `POST /api/ops/pool-release`).
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

    /// The exact set of open alert types expected, sorted (`Some(vec![])`: no open alert; `None`:
    /// not checked).
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
    /// The simulated time before the step (where the previous step left the clock; the scenario
    /// start for the first step).
    pub advance_from: i64,
    /// The instant at which the action happens and expectations are checked: `advance_from` plus
    /// `advance`, or `at`, or `advance_from`.
    pub when: i64,
    /// Who performs the action: the action's own `as` (`request`, `send`), the step's `as`
    /// (`settings`, `chaos`, `release`, default the owner), else the owner.
    pub actor: Role,
    /// The step as written.
    pub shape: StepShape,
    /// What must hold afterwards (empty when absent), each `events` and `bindings` entry located at
    /// its whole table.
    pub expect: ExpectShape,
    /// The whole step table in the source.
    pub span: Span,
    /// The `[[steps]]` header (or the inline table's start), a compact place to point at for
    /// step-level failures.
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
