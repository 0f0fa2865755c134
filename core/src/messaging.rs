//! Inbound webhooks and outbound sends.

use std::sync::Mutex;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::alerts::{self, Severity};
use crate::audit::{self, Subject};
use crate::bookings::{self, ActiveWindows};
use crate::engine::Ctx;
use crate::ids::{self, Kind};
use crate::pool::{self, Assignment};
use crate::settings::ChaosSettings;
use crate::{Engine, Error, Result, settings};

/// What the SMS provider said about one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReceipt {
    pub sid: String,
    pub error: Option<ProviderError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub code: i64,
    /// Free text from the provider; real providers quote the recipient's number here.
    pub message: String,
}

/// Where outbound messages go. Implementations must be deterministic under the simulator.
pub trait Provider: Send + Sync + 'static {
    fn send(&self, from: &str, to: &str, body: &str) -> ProviderReceipt;
}

/// An in-memory provider: records every send and answers with sequential sids. The simulator and
/// tests use it; `serve` uses it too (no real carrier is wired in).
#[derive(Debug, Default)]
pub struct RecordingProvider {
    sent: Mutex<Vec<SentMessage>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub from: String,
    pub to: String,
    pub body: String,
}

impl RecordingProvider {
    pub fn sent(&self) -> Vec<SentMessage> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Provider for RecordingProvider {
    fn send(&self, from: &str, to: &str, body: &str) -> ProviderReceipt {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.push(SentMessage {
            from: from.into(),
            to: to.into(),
            body: body.into(),
        });
        ProviderReceipt {
            sid: format!("SMout{}", sent.len()),
            error: None,
        }
    }
}

/// A provider-shaped inbound message (the webhook's form fields).
#[derive(Debug, Clone)]
pub struct Inbound {
    pub from: String,
    pub to: String,
    pub body: String,
    pub message_sid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundOutcome {
    pub message_id: String,
    pub thread_id: Option<String>,
    /// `sitter:sit_1` or `owner_inbox`.
    pub routed_to: String,
    /// True when this MessageSid was seen before and nothing new was stored.
    pub duplicate: bool,
}

/// A message row about to be stored.
struct NewMessage<'a> {
    thread: Option<i64>,
    direction: &'a str,
    from: &'a str,
    to: &'a str,
    body: &'a str,
    sid: Option<&'a str>,
    routed_to: &'a str,
    delivery: Value,
    metadata: Value,
}

fn insert_message(tx: &Transaction, ctx: &Ctx, m: &NewMessage) -> Result<i64> {
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
        m.delivery.to_string(),
        m.metadata.to_string()
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Records activity on a thread: `last_message_at` moves and the inactivity deadline with it.
fn touch_thread(tx: &Transaction, ctx: &Ctx, thread: i64) -> Result<()> {
    let settings = settings::rotation(tx, ctx.org)?;
    pool::record_activity(tx, ctx.org, thread, ctx.now, &settings)
}

impl Engine {
    /// Handles one inbound SMS. Unknown `To` → NotFound with nothing stored; a repeated
    /// MessageSid → the first message's outcome with `duplicate: true` and nothing stored.
    pub fn receive(&self, inbound: &Inbound) -> Result<InboundOutcome> {
        let now = self.now();
        self.write(|tx| {
            let number: Option<(i64, i64, String)> = tx
                .prepare_cached("SELECT id, org_id, class FROM message_numbers WHERE e164 = ?1")?
                .query_row([&inbound.to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((number, org, class)) = number else {
                return Err(Error::NotFound(format!("number {}", inbound.to)));
            };
            if inbound.message_sid.is_empty() {
                return Err(Error::invalid("MessageSid", "must not be empty"));
            }
            let seen: Option<(i64, Option<i64>, String)> = tx
                .prepare_cached(
                    "SELECT id, thread_id, routed_to FROM messages WHERE org_id = ?1 AND provider_sid = ?2",
                )?
                .query_row(params![org, inbound.message_sid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            if let Some((message, thread, routed_to)) = seen {
                return Ok(InboundOutcome {
                    message_id: ids::format(Kind::Message, message),
                    thread_id: thread.map(|t| ids::format(Kind::Thread, t)),
                    routed_to,
                    duplicate: true,
                });
            }
            let ctx = Ctx { org, now, actor: "provider" };
            let mut trace = vec![json!({
                "step": "number",
                "detail": format!("To {} is {} number {}", inbound.to, class, ids::format(Kind::Number, number)),
            })];
            let mapped: Option<(i64, i64)> = if class == "pool" {
                tx.prepare_cached(
                    "SELECT t.id, t.client_id FROM threads t JOIN clients c ON c.id = t.client_id
                     WHERE t.number_id = ?1 AND t.status = 'open' AND c.phone = ?2 AND c.org_id = ?3
                     ORDER BY t.id LIMIT 1",
                )?
                .query_row(params![number, inbound.from, org], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            } else {
                None
            };
            let (thread, routed_to) = match mapped {
                Some((thread, client)) => {
                    trace.push(json!({
                        "step": "thread",
                        "detail": format!("From {} is client {} on open thread {}", inbound.from,
                            ids::format(Kind::Client, client), ids::format(Kind::Thread, thread)),
                    }));
                    let routed = match bookings::sole_active_sitter(tx, org, client, now)? {
                        ActiveWindows::One { booking, sitter } => {
                            trace.push(json!({
                                "step": "window",
                                "detail": format!("one active assignment window: booking {} with sitter {}",
                                    ids::format(Kind::Booking, booking), ids::format(Kind::Sitter, sitter)),
                            }));
                            format!("sitter:{}", ids::format(Kind::Sitter, sitter))
                        }
                        other => {
                            let detail = match other {
                                ActiveWindows::Several(n) => format!("{n} active assignment windows: owner inbox"),
                                _ => "no active assignment window: owner inbox".to_string(),
                            };
                            trace.push(json!({ "step": "window", "detail": detail }));
                            "owner_inbox".to_string()
                        }
                    };
                    (Some(thread), routed)
                }
                None => {
                    trace.push(json!({
                        "step": "unmapped",
                        "detail": format!("no open thread on {} for sender {}: owner inbox", inbound.to, inbound.from),
                    }));
                    (None, "owner_inbox".to_string())
                }
            };
            let message = insert_message(
                tx,
                &ctx,
                &NewMessage {
                    thread,
                    direction: "inbound",
                    from: &inbound.from,
                    to: &inbound.to,
                    body: &inbound.body,
                    sid: Some(&inbound.message_sid),
                    routed_to: &routed_to,
                    delivery: json!({ "status": "received", "provider": { "code": null, "error": null } }),
                    metadata: json!({ "routing": { "trace": trace } }),
                },
            )?;
            let message_ext = ids::format(Kind::Message, message);
            match thread {
                Some(thread) => {
                    touch_thread(tx, &ctx, thread)?;
                    audit::append(
                        tx,
                        org,
                        now,
                        "message.received",
                        ctx.actor,
                        Subject { thread: Some(thread), number: Some(number), message: Some(message) },
                        &json!({
                            "messageId": message_ext,
                            "threadId": ids::format(Kind::Thread, thread),
                            "numberId": ids::format(Kind::Number, number),
                            "routedTo": routed_to,
                        }),
                    )?;
                }
                None if class == "pool" => {
                    audit::append(
                        tx,
                        org,
                        now,
                        "routing.unmapped",
                        ctx.actor,
                        Subject { number: Some(number), message: Some(message), ..Subject::default() },
                        &json!({
                            "messageId": message_ext,
                            "numberId": ids::format(Kind::Number, number),
                            "e164": inbound.to,
                            "from": inbound.from,
                            "routedTo": routed_to,
                        }),
                    )?;
                    alerts::open(
                        tx,
                        org,
                        now,
                        ctx.actor,
                        "routing.unmapped",
                        Severity::Warning,
                        &ids::format(Kind::Number, number),
                        &format!("Inbound to pool number {} matched no open thread", inbound.to),
                    )?;
                }
                None => {
                    audit::append(
                        tx,
                        org,
                        now,
                        "message.received",
                        ctx.actor,
                        Subject { number: Some(number), message: Some(message), ..Subject::default() },
                        &json!({
                            "messageId": message_ext,
                            "threadId": null,
                            "numberId": ids::format(Kind::Number, number),
                            "routedTo": routed_to,
                        }),
                    )?;
                }
            }
            Ok(InboundOutcome {
                message_id: message_ext,
                thread_id: thread.map(|t| ids::format(Kind::Thread, t)),
                routed_to,
                duplicate: false,
            })
        })
    }

    /// Sends a message on a thread from its pool number. A thread without a number tries to get
    /// one first; if the pool is exhausted the exhaustion is recorded and the send refused.
    pub fn send(
        &self,
        ctx_org: i64,
        actor: &str,
        thread_id: i64,
        body: &str,
    ) -> Result<SendOutcome> {
        if body.trim().is_empty() {
            return Err(Error::invalid("body", "must not be empty"));
        }
        let now = self.now();
        let ctx = Ctx {
            org: ctx_org,
            now,
            actor,
        };
        // The assignment (or exhaustion) commits on its own: an exhausted pool is a fact worth
        // keeping even though the send is refused.
        let number = self.write(|tx| {
            let settings = settings::rotation(tx, ctx.org)?;
            match pool::assign(tx, &ctx, thread_id, &settings)? {
                Assignment::Bound { number, .. } | Assignment::AlreadyBound { number } => {
                    Ok(Some(number))
                }
                Assignment::Exhausted => Ok(None),
            }
        })?;
        let Some(number) = number else {
            return Err(Error::Conflict(
                "no pool number is available for this thread".into(),
            ));
        };
        let chaos = self.read(|tx| settings::chaos(tx, ctx.org))?;
        let draw = ChaosDraw::draw(self, &chaos);
        self.write(|tx| {
            let (from, to): (String, String) = tx
                .prepare_cached(
                    "SELECT n.e164, c.phone FROM threads t
                     JOIN message_numbers n ON n.id = t.number_id JOIN clients c ON c.id = t.client_id
                     WHERE t.id = ?1 AND t.number_id = ?2",
                )?
                .query_row(params![thread_id, number], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let receipt = if draw.fail {
                // What a carrier says about an unreachable handset, quoting it, as they do.
                ProviderReceipt {
                    sid: String::new(),
                    error: Some(ProviderError {
                        code: 30003,
                        message: format!("Unreachable destination handset: {to} (carrier rejected message)"),
                    }),
                }
            } else {
                let receipt = self.provider.send(&from, &to, body);
                if draw.duplicate {
                    self.provider.send(&from, &to, body);
                }
                receipt
            };
            let status = match (&receipt.error, draw.delay_ms) {
                (Some(_), _) => "failed",
                (None, Some(_)) => "queued",
                (None, None) => "sent",
            };
            let delivery = json!({
                "status": status,
                "provider": {
                    "sid": (!receipt.sid.is_empty()).then_some(&receipt.sid),
                    "code": receipt.error.as_ref().map(|e| e.code),
                    "error": receipt.error.as_ref().map(|e| e.message.clone()),
                },
                "chaos": { "duplicated": draw.duplicate, "delayMs": draw.delay_ms, "failed": draw.fail },
            });
            let trace = json!([{ "step": "send", "detail": format!("from thread number {from}") }]);
            let message = insert_message(
                tx,
                &ctx,
                &NewMessage {
                    thread: Some(thread_id),
                    direction: "outbound",
                    from: &from,
                    to: &to,
                    body,
                    sid: None,
                    routed_to: "client",
                    delivery,
                    metadata: json!({ "routing": { "trace": trace } }),
                },
            )?;
            touch_thread(tx, &ctx, thread_id)?;
            audit::append(
                tx,
                ctx.org,
                now,
                if status == "failed" { "message.send_failed" } else { "message.sent" },
                actor,
                Subject { thread: Some(thread_id), number: Some(number), message: Some(message) },
                &json!({
                    "messageId": ids::format(Kind::Message, message),
                    "threadId": ids::format(Kind::Thread, thread_id),
                    "numberId": ids::format(Kind::Number, number),
                    "status": status,
                    "providerError": receipt.error.as_ref().map(|e| e.message.clone()),
                }),
            )?;
            Ok(SendOutcome { message, status })
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOutcome {
    pub message: i64,
    pub status: &'static str,
}

/// One draw of chaos mode for one send, from the engine's seeded RNG.
#[derive(Debug, Clone, Copy, Default)]
struct ChaosDraw {
    fail: bool,
    duplicate: bool,
    delay_ms: Option<i64>,
}

impl ChaosDraw {
    fn draw(engine: &Engine, chaos: &ChaosSettings) -> ChaosDraw {
        if !chaos.enabled {
            return ChaosDraw::default();
        }
        // Always three draws, so one probability's value never shifts another's stream.
        let (fail, duplicate, delay) = (engine.draw(), engine.draw(), engine.draw());
        ChaosDraw {
            fail: fail < chaos.failure_probability,
            duplicate: duplicate < chaos.duplicate_probability,
            delay_ms: (delay < chaos.delay_probability).then_some(chaos.delay_ms),
        }
    }
}
