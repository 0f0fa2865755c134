//! Inbound webhooks and outbound sends.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::access::{self, SitterAccess};
use crate::alerts::{self, AlertType, Severity};
use crate::audit::{self, EventType, Subject};
use crate::ctx::Ctx;
use crate::ids::{MessageId, NumberId, OrgId, SitterId, ThreadId};
use crate::pool::{self, Assignment};
use crate::settings::ChaosSettings;
use crate::world::NumberClass;
use crate::{Error, Result, Timestamp, phone, settings};

pub use crate::provider::{
    Provider, ProviderError, ProviderReceipt, RecordingProvider, SentMessage,
};

/// A provider-shaped inbound message (the webhook's form fields).
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The sender's phone, as the provider wrote it.
    pub from: String,
    /// The business number it was sent to.
    pub to: String,
    /// The text.
    pub body: String,
    /// The provider's id for the message (idempotency key, per org).
    pub message_sid: String,
}

/// The webhook's response body (a DTO of the HTTP edge: ids in their external form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundOutcome {
    /// The stored message (`msg_4`).
    pub message_id: String,
    /// The thread it was matched to, if any.
    pub thread_id: Option<String>,
    /// `sitter:sit_1` or `owner_inbox`.
    pub routed_to: String,
    /// True when this MessageSid was seen before and nothing new was stored.
    pub duplicate: bool,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From a client to a business number.
    Inbound,
    /// From a business number to a client.
    Outbound,
}

crate::stored_words!(Direction {
    Inbound => "inbound",
    Outbound => "outbound",
});

/// A message's delivery status (`delivery.status`): `received` for inbound; outbound messages
/// are `queued` until the provider answered (or a chaos delay passed), then `sent` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SendStatus {
    /// An inbound message was stored.
    Received,
    /// Waiting for the provider, or for a chaos delay.
    Queued,
    /// The provider accepted it.
    Sent,
    /// The provider refused it.
    Failed,
}

crate::stored_words!(SendStatus {
    Received => "received",
    Queued => "queued",
    Sent => "sent",
    Failed => "failed",
});

/// Where a message went (`messages.routed_to`): the owner inbox, a sitter, or (outbound) the
/// client. Stored and serialized as `owner_inbox`, `sitter:sit_1`, `client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutedTo {
    /// The owner inbox (`owner_inbox`).
    OwnerInbox,
    /// A sitter (`sitter:sit_1`).
    Sitter(SitterId),
    /// An outbound message's client (`client`).
    Client,
}

impl RoutedTo {
    /// The stored text back to a destination; `None` for any other text.
    pub fn parse(text: &str) -> Option<RoutedTo> {
        match text {
            "owner_inbox" => Some(RoutedTo::OwnerInbox),
            "client" => Some(RoutedTo::Client),
            _ => SitterId::parse(text.strip_prefix("sitter:")?).map(RoutedTo::Sitter),
        }
    }
}

impl std::fmt::Display for RoutedTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoutedTo::OwnerInbox => f.write_str("owner_inbox"),
            RoutedTo::Sitter(sitter) => write!(f, "sitter:{sitter}"),
            RoutedTo::Client => f.write_str("client"),
        }
    }
}

impl Serialize for RoutedTo {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl rusqlite::ToSql for RoutedTo {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.to_string()))
    }
}

impl rusqlite::types::FromSql for RoutedTo {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        RoutedTo::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("{text:?} is not a destination").into())
        })
    }
}

/// A message row about to be stored.
struct NewMessage<'a> {
    thread: Option<ThreadId>,
    direction: Direction,
    from: &'a str,
    to: &'a str,
    body: &'a str,
    sid: Option<&'a str>,
    routed_to: RoutedTo,
    /// The `delivery` column's JSON text.
    delivery: String,
    /// The `metadata` column's JSON text ([`metadata_json`]).
    metadata: String,
}

/// One step of a message's routing trace, stored as `{"detail": ..., "step": ...}` (the fields
/// in the order `serde_json::Value` sorted its keys when the trace was built as a `Value`, so
/// the stored text is unchanged).
#[derive(Debug, Serialize)]
struct TraceStep {
    detail: String,
    step: &'static str,
}

impl TraceStep {
    fn new(step: &'static str, detail: String) -> TraceStep {
        TraceStep { detail, step }
    }
}

/// The `metadata` column of a message: `{"routing":{"trace":[...]}}`, serialized from typed
/// values rather than through a `Value` tree (one per inbound webhook).
fn metadata_json(trace: &[TraceStep]) -> String {
    #[derive(Serialize)]
    struct Routing<'a> {
        trace: &'a [TraceStep],
    }
    #[derive(Serialize)]
    struct Metadata<'a> {
        routing: Routing<'a>,
    }
    serde_json::to_string(&Metadata {
        routing: Routing { trace },
    })
    .expect("a trace of strings serializes")
}

/// The `delivery` column of every inbound message: what
/// `json!({"status": SendStatus::Received, "provider": {"code": null, "error": null}})` printed
/// (keys sorted; a test keeps the two equal).
const RECEIVED_DELIVERY: &str = r#"{"provider":{"code":null,"error":null},"status":"received"}"#;

fn insert_message(tx: &Transaction, ctx: &Ctx, m: &NewMessage) -> Result<MessageId> {
    tx.prepare_cached(
        "INSERT INTO messages (org_id, thread_id, direction, actor, from_e164, to_e164, body, at, provider_sid, routed_to, delivery, metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        ctx.org,
        m.thread,
        m.direction,
        ctx.actor,
        m.from,
        m.to,
        m.body,
        ctx.now,
        m.sid,
        m.routed_to,
        m.delivery,
        m.metadata
    ])?;
    Ok(MessageId(tx.last_insert_rowid()))
}

/// Records activity on a thread: `last_message_at` moves and the inactivity deadline with it.
fn touch_thread(tx: &Transaction, ctx: &Ctx, thread: ThreadId) -> Result<()> {
    let settings = settings::rotation(tx, ctx.org)?;
    pool::record_activity(tx, ctx.org, thread, ctx.now, &settings)
}

/// The threads of [`thread_for_sender`]: the org's clients with the sender's phone (by
/// `clients_org_phone`), then each one's thread on the number (by `threads_number_open`, which
/// holds both keys and the thread id: no table row is read). A thread with a number is open
/// (CHECK of `threads`), so `status` needs no test. Which two rows come back when there are
/// several does not matter: only "exactly one" routes to a thread. The former plan walked every
/// thread on the number and read each one's thread and client rows, then sorted them.
pub(crate) const THREAD_FOR_SENDER: &str =
    "SELECT t.id, t.client_id FROM clients c CROSS JOIN threads t
     WHERE c.org_id = ?3 AND c.phone = ?2 AND t.number_id = ?1 AND t.client_id = c.id
     LIMIT 2";

/// The open thread bound to pool number `number` whose client (or a client of the org with the
/// same phone: a household) is the sender. Two such threads are ambiguous: none is chosen.
fn thread_for_sender(
    tx: &Transaction,
    org: OrgId,
    number: NumberId,
    inbound: &Inbound,
    trace: &mut Vec<TraceStep>,
) -> Result<Option<ThreadId>> {
    let matches: Vec<(ThreadId, crate::ids::ClientId)> = tx
        .prepare_cached(THREAD_FOR_SENDER)?
        .query_map(params![number, inbound.from, org], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let detail = match matches.as_slice() {
        [(thread, client)] => {
            trace.push(TraceStep::new(
                "thread",
                format!(
                    "From {} is client {client} on open thread {thread}",
                    inbound.from
                ),
            ));
            return Ok(Some(*thread));
        }
        [] => format!(
            "no open thread on {} for sender {}: owner inbox",
            inbound.to, inbound.from
        ),
        _ => format!(
            "sender {} has several open threads on {} (clients sharing a phone): ambiguous, owner inbox",
            inbound.from, inbound.to
        ),
    };
    trace.push(TraceStep::new("unmapped", detail));
    Ok(None)
}

/// Where a message on `thread` goes: its sitter only if [`access::sitter_access`] says that
/// sitter can read the thread now (the rule the sitter views use), else the owner inbox with
/// the reason in the trace.
fn route_on_thread(
    tx: &Transaction,
    ctx: &Ctx,
    thread: ThreadId,
    trace: &mut Vec<TraceStep>,
) -> Result<RoutedTo> {
    let sitter: Option<SitterId> = tx
        .prepare_cached("SELECT sitter_id FROM threads WHERE id = ?1")?
        .query_row([thread], |r| r.get(0))?;
    let (routed, detail) = match sitter {
        None => (
            RoutedTo::OwnerInbox,
            format!("thread {thread} has no sitter: owner inbox"),
        ),
        Some(sitter) => match access::sitter_access(tx, ctx.org, sitter, thread, ctx.now)? {
            SitterAccess::Readable => {
                let detail = format!("sitter {sitter} can read thread {thread} now");
                (RoutedTo::Sitter(sitter), detail)
            }
            SitterAccess::Denied(why) => (RoutedTo::OwnerInbox, format!("{why}: owner inbox")),
        },
    };
    trace.push(TraceStep::new("access", detail));
    Ok(routed)
}

/// `To` of an inbound message in E.164 (business numbers are looked up in E.164; the `To` of a
/// gateway that dropped the `+` is read in the default region, since the org is not known until
/// the number is found); `Invalid` naming `To`, or `MessageSid` when that is empty.
pub(crate) fn inbound_to(inbound: &Inbound) -> Result<String> {
    let default_region =
        phone::region(phone::DEFAULT_REGION).unwrap_or(phonenumber::country::Id::US);
    let to = phone::normalize("To", &inbound.to, default_region)?;
    if inbound.message_sid.is_empty() {
        return Err(Error::invalid("MessageSid", "must not be empty"));
    }
    Ok(to)
}

/// Handles one inbound SMS to business number `to` (E.164, from [`inbound_to`]): the number,
/// a repeated MessageSid, the sender's thread, its route, the stored message and its events.
pub(crate) fn receive(
    tx: &Transaction,
    now: Timestamp,
    to: &str,
    inbound: &Inbound,
) -> Result<InboundOutcome> {
    // The number with its org's region (read with it: one keyed statement instead of two).
    let number: Option<(NumberId, OrgId, NumberClass, String)> = tx
        .prepare_cached(
            "SELECT n.id, n.org_id, n.class, o.default_region
             FROM message_numbers n JOIN orgs o ON o.id = n.org_id WHERE n.e164 = ?1",
        )?
        .query_row([to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((number, org, class, region)) = number else {
        return Err(Error::NotFound(format!("number {to}")));
    };
    if let Some(outcome) = seen_before(tx, org, &inbound.message_sid)? {
        return Ok(outcome);
    }
    // A repeated MessageSid was answered above whatever its `From`; a new one is read now.
    let region = crate::world::stored_region(&region, org)?;
    let from = phone::normalize("From", &inbound.from, region)?;
    let inbound = &Inbound {
        from,
        to: to.to_string(),
        ..inbound.clone()
    };
    let ctx = Ctx {
        org,
        now,
        actor: "provider",
    };
    let mut trace = vec![TraceStep::new(
        "number",
        format!("To {} is {class} number {number}", inbound.to),
    )];
    let thread = if class == NumberClass::Pool {
        thread_for_sender(tx, org, number, inbound, &mut trace)?
    } else {
        None
    };
    let routed_to = match thread {
        Some(thread) => route_on_thread(tx, &ctx, thread, &mut trace)?,
        None => RoutedTo::OwnerInbox,
    };
    let message = insert_message(
        tx,
        &ctx,
        &NewMessage {
            thread,
            direction: Direction::Inbound,
            from: &inbound.from,
            to: &inbound.to,
            body: &inbound.body,
            sid: Some(&inbound.message_sid),
            routed_to,
            delivery: RECEIVED_DELIVERY.to_string(),
            metadata: metadata_json(&trace),
        },
    )?;
    let stored = Received {
        number,
        class,
        thread,
        message,
        routed_to,
    };
    record_received(tx, &ctx, inbound, &stored)?;
    Ok(InboundOutcome {
        message_id: message.to_string(),
        thread_id: thread.map(|t| t.to_string()),
        routed_to: routed_to.to_string(),
        duplicate: false,
    })
}

/// The outcome of the message stored earlier with this MessageSid, marked `duplicate`.
fn seen_before(tx: &Transaction, org: OrgId, sid: &str) -> Result<Option<InboundOutcome>> {
    let seen: Option<(MessageId, Option<ThreadId>, RoutedTo)> = tx
        .prepare_cached(
            "SELECT id, thread_id, routed_to FROM messages WHERE org_id = ?1 AND provider_sid = ?2",
        )?
        .query_row(params![org, sid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(seen.map(|(message, thread, routed_to)| InboundOutcome {
        message_id: message.to_string(),
        thread_id: thread.map(|t| t.to_string()),
        routed_to: routed_to.to_string(),
        duplicate: true,
    }))
}

/// An inbound message as stored: where it came in and where it went.
struct Received {
    number: NumberId,
    class: NumberClass,
    thread: Option<ThreadId>,
    message: MessageId,
    routed_to: RoutedTo,
}

/// The events of a stored inbound message: `message.received` (the thread's activity moves),
/// or for a pool number without a thread `routing.unmapped` and its alert.
fn record_received(
    tx: &Transaction,
    ctx: &Ctx,
    inbound: &Inbound,
    stored: &Received,
) -> Result<()> {
    let Received {
        number,
        class,
        thread,
        message,
        routed_to,
    } = *stored;
    if thread.is_none() && class == NumberClass::Pool {
        return record_unmapped(tx, ctx, inbound, stored);
    }
    if let Some(thread) = thread {
        touch_thread(tx, ctx, thread)?;
    }
    audit::append(
        tx,
        ctx,
        EventType::MessageReceived,
        Subject {
            thread,
            number: Some(number),
            message: Some(message),
        },
        &json!({
            "messageId": message,
            "threadId": thread,
            "numberId": number,
            "routedTo": routed_to,
        }),
    )?;
    Ok(())
}

/// `routing.unmapped` and its warning alert: an inbound message to pool number matched no open
/// thread.
fn record_unmapped(
    tx: &Transaction,
    ctx: &Ctx,
    inbound: &Inbound,
    stored: &Received,
) -> Result<()> {
    let Received {
        number,
        message,
        routed_to,
        ..
    } = *stored;
    audit::append(
        tx,
        ctx,
        EventType::RoutingUnmapped,
        Subject {
            number: Some(number),
            message: Some(message),
            ..Subject::default()
        },
        &json!({
            "messageId": message,
            "numberId": number,
            "e164": inbound.to,
            "from": inbound.from,
            "routedTo": routed_to,
        }),
    )?;
    alerts::open(
        tx,
        ctx,
        AlertType::RoutingUnmapped,
        Severity::Warning,
        &number.to_string(),
        &format!(
            "Inbound to pool number {} matched no open thread",
            inbound.to
        ),
    )?;
    Ok(())
}

/// `Invalid` naming `body` when an outbound body is blank.
pub(crate) fn check_body(body: &str) -> Result<()> {
    if body.trim().is_empty() {
        return Err(Error::invalid("body", "must not be empty"));
    }
    Ok(())
}

/// The provider's answer to a queued message: a chaos failure replaces the call with the
/// carrier-style error; a chaos duplicate calls the provider twice.
pub(crate) fn call_provider(
    provider: &dyn Provider,
    queued: &Queued,
    body: &str,
) -> ProviderReceipt {
    if queued.draw.fail {
        // What a carrier says about an unreachable handset, quoting it, as they do.
        return ProviderReceipt {
            sid: String::new(),
            error: Some(ProviderError {
                code: 30003,
                message: format!(
                    "Unreachable destination handset: {} (carrier rejected message)",
                    queued.to
                ),
            }),
        };
    }
    let receipt = provider.send(&queued.from, &queued.to, body);
    if queued.draw.duplicate {
        provider.send(&queued.from, &queued.to, body);
    }
    receipt
}

/// Transaction 1 of [`crate::Engine::send`]: `None` when the pool had no number for the
/// thread. Chaos is drawn with `draw` (uniform in [0, 1)) unless `production`.
pub(crate) fn queue_outbound(
    tx: &Transaction,
    ctx: &Ctx,
    thread_id: ThreadId,
    body: &str,
    production: bool,
    draw: &mut dyn FnMut() -> f64,
) -> Result<Option<Queued>> {
    let settings = settings::rotation(tx, ctx.org)?;
    let number = match pool::assign(tx, ctx, thread_id, &settings)? {
        Assignment::Bound { number, .. } | Assignment::AlreadyBound { number } => number,
        Assignment::Exhausted => return Ok(None),
    };
    let draw = ChaosDraw::draw(&settings::chaos(tx, ctx.org)?, production, draw);
    let (from, to): (String, String) = tx
        .prepare_cached(
            "SELECT n.e164, c.phone FROM threads t
             JOIN message_numbers n ON n.id = t.number_id JOIN clients c ON c.id = t.client_id
             WHERE t.id = ?1 AND t.number_id = ?2",
        )?
        .query_row(params![thread_id, number], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let trace = [TraceStep::new("send", format!("from thread number {from}"))];
    let message = insert_message(
        tx,
        ctx,
        &NewMessage {
            thread: Some(thread_id),
            direction: Direction::Outbound,
            from: &from,
            to: &to,
            body,
            sid: None,
            routed_to: RoutedTo::Client,
            delivery: delivery_json(SendStatus::Queued, None, &draw).to_string(),
            metadata: metadata_json(&trace),
        },
    )?;
    touch_thread(tx, ctx, thread_id)?;
    Ok(Some(Queued {
        message,
        thread: thread_id,
        number,
        from,
        to,
        draw,
    }))
}

/// True when some delayed message is due at `now` (one indexed read).
pub(crate) fn any_due(conn: &Connection, now: Timestamp) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM messages
             WHERE deliver_at IS NOT NULL AND deliver_at <= ?1)",
        )?
        .query_row([now], |r| r.get(0))?)
}

/// Marks every delayed message due at `now` as `sent`, oldest first; returns how many.
pub(crate) fn deliver_due(tx: &Transaction, now: Timestamp) -> Result<u64> {
    let due: Vec<(MessageId, OrgId, Option<ThreadId>, String)> = tx
        .prepare_cached(
            "SELECT m.id, m.org_id, m.thread_id, m.delivery FROM messages m
             WHERE m.deliver_at IS NOT NULL AND m.deliver_at <= ?1 ORDER BY m.deliver_at, m.id",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (message, org, thread, delivery) in &due {
        let mut delivery: Value = serde_json::from_str(delivery)
            .map_err(|e| Error::Corrupt(format!("delivery of message {}: {e}", message.rowid())))?;
        delivery["status"] = json!(SendStatus::Sent);
        tx.prepare_cached("UPDATE messages SET delivery = ?1, deliver_at = NULL WHERE id = ?2")?
            .execute(params![delivery.to_string(), message])?;
        audit::append(
            tx,
            &Ctx {
                org: *org,
                now,
                actor: "system:delivery",
            },
            EventType::MessageSent,
            Subject {
                thread: *thread,
                message: Some(*message),
                ..Subject::default()
            },
            &json!({
                "messageId": message,
                "threadId": thread,
                "status": SendStatus::Sent,
                "delayedMs": delivery["chaos"]["delayMs"],
            }),
        )?;
    }
    Ok(due.len() as u64)
}

/// A message stored `queued` by transaction 1 of [`crate::Engine::send`], waiting for the
/// provider.
pub(crate) struct Queued {
    message: MessageId,
    thread: ThreadId,
    number: NumberId,
    from: String,
    to: String,
    draw: ChaosDraw,
}

fn delivery_json(status: SendStatus, receipt: Option<&ProviderReceipt>, draw: &ChaosDraw) -> Value {
    let error = receipt.and_then(|r| r.error.as_ref());
    json!({
        "status": status,
        "provider": {
            "sid": receipt.map(|r| &r.sid).filter(|sid| !sid.is_empty()),
            "code": error.map(|e| e.code),
            "error": error.map(|e| e.message.clone()),
        },
        "chaos": { "duplicated": draw.duplicate, "delayMs": draw.delay_ms, "failed": draw.fail },
    })
}

/// Transaction 2 of [`crate::Engine::send`]: the provider's answer on the stored message.
pub(crate) fn record_outcome(
    tx: &Transaction,
    ctx: &Ctx,
    queued: &Queued,
    receipt: &ProviderReceipt,
) -> Result<SendOutcome> {
    let (status, deliver_at, event) = match (&receipt.error, queued.draw.delay_ms) {
        (Some(_), _) => (SendStatus::Failed, None, EventType::MessageSendFailed),
        // Whole seconds of engine time, rounded up: the delay is never shortened.
        (None, Some(ms)) => (
            SendStatus::Queued,
            Some(ctx.now.plus((ms + 999) / 1000)),
            EventType::MessageQueued,
        ),
        (None, None) => (SendStatus::Sent, None, EventType::MessageSent),
    };
    tx.prepare_cached("UPDATE messages SET delivery = ?1, deliver_at = ?2 WHERE id = ?3")?
        .execute(params![
            delivery_json(status, Some(receipt), &queued.draw).to_string(),
            deliver_at,
            queued.message
        ])?;
    let mut payload = json!({
        "messageId": queued.message,
        "threadId": queued.thread,
        "numberId": queued.number,
        "status": status,
        "providerError": receipt.error.as_ref().map(|e| e.message.clone()),
    });
    if let Some(at) = deliver_at {
        payload["deliverAt"] = json!(at);
    }
    audit::append(
        tx,
        ctx,
        event,
        Subject {
            thread: Some(queued.thread),
            number: Some(queued.number),
            message: Some(queued.message),
        },
        &payload,
    )?;
    Ok(SendOutcome {
        message: queued.message,
        status,
    })
}

/// What [`crate::Engine::send`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOutcome {
    /// The stored message.
    pub message: MessageId,
    /// `sent`, `failed`, or `queued` for a chaos delay.
    pub status: SendStatus,
}

/// One draw of chaos mode for one send, from the engine's seeded RNG.
#[derive(Debug, Clone, Copy, Default)]
struct ChaosDraw {
    fail: bool,
    duplicate: bool,
    delay_ms: Option<i64>,
}

impl ChaosDraw {
    /// No draw at all in production mode, whatever chaos settings were saved earlier.
    fn draw(chaos: &ChaosSettings, production: bool, draw: &mut dyn FnMut() -> f64) -> ChaosDraw {
        if !chaos.enabled || production {
            return ChaosDraw::default();
        }
        // Always three draws, so one probability's value never shifts another's stream.
        let (fail, duplicate, delay) = (draw(), draw(), draw());
        ChaosDraw {
            fail: fail < chaos.failure_probability,
            duplicate: duplicate < chaos.duplicate_probability,
            delay_ms: (delay < chaos.delay_probability).then_some(chaos.delay_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed column texts are byte for byte what the `Value` trees they replace printed.
    #[test]
    fn typed_column_texts_match_the_value_trees() {
        let old_delivery =
            json!({ "status": SendStatus::Received, "provider": { "code": null, "error": null } });
        assert_eq!(RECEIVED_DELIVERY, old_delivery.to_string());
        let trace = [
            TraceStep::new("number", "To +15550100001 is pool number num_1".into()),
            TraceStep::new("access", "quote \" backslash \\ newline \n é".into()),
        ];
        let old_trace: Vec<Value> = trace
            .iter()
            .map(|t| json!({ "step": t.step, "detail": t.detail }))
            .collect();
        let old_metadata = json!({ "routing": { "trace": old_trace } });
        assert_eq!(metadata_json(&trace), old_metadata.to_string());
        assert_eq!(
            metadata_json(&[]),
            json!({ "routing": { "trace": [] } }).to_string()
        );
    }
}
