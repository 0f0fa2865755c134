//! The low layer of the scenario front end: the file's *shape* as serde structs.
//!
//! These structs say which keys exist where and what type each value has
//! (`deny_unknown_fields` everywhere but the free-form JSON values). They are
//! read from TOML with [`toml::Spanned`] positions, written back to TOML by the
//! explorer ([`render`]), and turned into the JSON Schema that editors use
//! (`switchboard schema`, [`json_schema`]). They check no meaning: names,
//! time order, one action per step and the expectation rules belong to the
//! resolving layer, which builds the model ([`Scenario`](super::Scenario)).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::diagnostic::Spanned;
use super::model::{Method, Org, Signature, UserRole};
pub use switchboard_core::bookings::BookingStatus;
pub use switchboard_core::world::{NumberClass, NumberStatus};

/// A free-form TOML value sent or compared as JSON (request bodies,
/// `expect.json`, event payloads; `{ json = '...' }` holds JSON text).
pub type FreeValue = toml::Value;

/// A free-form table with its keys and values located (`[settings]`, `settings`, `chaos`).
pub type FreeTable = BTreeMap<Spanned<String>, Spanned<FreeValue>>;

macro_rules! shapes {
    ($($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* })*) => {$(
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$fmeta])* #[serde(default, skip_serializing_if = "Shape::is_unset")] pub $field: $ty,)* }
    )*};
}

/// Whether a field is left out when written (absent options, empty lists).
pub trait Shape {
    /// `true` when the value is the field's default.
    fn is_unset(&self) -> bool;
}

impl<T> Shape for Option<T> {
    fn is_unset(&self) -> bool {
        self.is_none()
    }
}

impl<T> Shape for Vec<T> {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

shapes! {
    /// A whole scenario file. `name` and `start` are required (checked when resolving, so the
    /// error can point at the file's first line).
    pub struct ScenarioShape {
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
    pub struct NumberShape {
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
    pub struct PersonShape {
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
    pub struct BookingShape {
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
    pub struct UserShape {
        /// Symbolic name.
        name: Option<Spanned<String>>,
        /// `owner` or `admin`.
        role: Option<Spanned<UserRole>>,
        /// Default `main`.
        org: Option<Spanned<Org>>,
    }

    /// A `[[steps]]` entry: timing, at most one action, expectations.
    pub struct StepShape {
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
    pub struct RequestShape {
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
    pub struct InboundShape {
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
    pub struct SendShape {
        /// A role.
        #[serde(rename = "as")]
        actor: Option<Spanned<String>>,
        /// A thread name.
        thread: Option<Spanned<String>>,
        /// Message text.
        body: Option<Spanned<String>>,
    }

    /// `booking = { action = ..., ... }`; the keys each action takes are checked when resolving.
    pub struct BookingActionShape {
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
    pub struct ThreadActionShape {
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
    pub struct NumberActionShape {
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
    pub struct WebhookShape {
        /// Form fields, sent as written.
        fields: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
        /// Default `valid`.
        signature: Option<Spanned<Signature>>,
    }

    /// `[steps.expect]`.
    pub struct ExpectShape {
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
    pub struct EventShape {
        /// Event type.
        #[serde(rename = "type")]
        event_type: Option<Spanned<String>>,
        /// A JSON subset of its payload.
        #[schemars(with = "Option<serde_json::Value>")]
        payload: Option<Spanned<FreeValue>>,
    }

    /// An `expect.bindings` entry.
    pub struct BindingShape {
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
