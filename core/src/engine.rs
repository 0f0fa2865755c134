//! The [`Engine`]: one SQLite connection, a clock, a seeded RNG and a provider, and the engine's
//! whole public API in one `impl` block, grouped by concern. Each method reads the clock, builds
//! a [`Ctx`], opens one transaction and calls a free function of a domain module; the domain
//! modules never import this one.

use std::sync::{Arc, Mutex, MutexGuard};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use serde_json::Value;

use crate::access::{self, SitterAccess};
use crate::alerts::{self, Alert};
use crate::audit::{self, AuditEvent, AuditQuery};
use crate::auth::{self, Access, Caller, Role};
use crate::bookings::{self, Booking, BookingStatus, NewBooking};
use crate::db::{self, Storage};
use crate::ids::{
    AlertId, BookingId, ClientId, MessageId, NumberId, OrgId, SitterId, ThreadId, UserId,
};
use crate::leak::LeakScanner;
use crate::messaging::{self, Inbound, InboundOutcome, SendOutcome};
use crate::operations::{
    self, ContactKind, ContactSummary, MessageView, NumberSummary, ThreadSummary,
};
use crate::pages::session;
use crate::pool::{self, Assignment, ReleaseStats, ThreadStatus};
use crate::provider::Provider;
use crate::settings::{self, ChaosSettings, RotationSettings};
use crate::sitter_view;
use crate::world::{self, NewContact, NewNumber, NumberStatus};
use crate::{Clock, Error, Result, Timestamp};

pub use crate::ctx::Ctx;

/// How an engine is set up. Built by the caller (CLI, simulator, tests), never from globals.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where the database lives (memory, or a WAL file).
    pub storage: Storage,
    /// Seeds the engine's RNG (chaos draws, API tokens).
    pub seed: u64,
    /// Production mode refuses chaos mode for everyone.
    pub production: bool,
    /// When set, inbound webhooks must carry `X-Switchboard-Signature: hex(HMAC-SHA256(secret, body))`.
    pub webhook_secret: Option<String>,
    /// The sitter-response defences.
    pub sitter_views: SitterViewConfig,
}

/// The two defences of sitter responses. Both are on in every real configuration; tests turn
/// them off one at a time to show that each one matters.
#[derive(Debug, Clone, Copy)]
pub struct SitterViewConfig {
    /// Redact real phones and emails from bodies, provider errors, traces and audit payloads.
    pub redact: bool,
    /// Refuse (500 + audit) a sitter response that fails the leak scan.
    pub leak_gate: bool,
}

impl Default for SitterViewConfig {
    fn default() -> Self {
        SitterViewConfig {
            redact: true,
            leak_gate: true,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            storage: Storage::Memory,
            seed: 0,
            production: false,
            webhook_secret: None,
            sitter_views: SitterViewConfig::default(),
        }
    }
}

/// The engine. Share it as `Arc<Engine>`; every operation takes `&self`.
pub struct Engine {
    conn: Mutex<db::Conn>,
    clock: Arc<dyn Clock>,
    rng: Mutex<ChaCha8Rng>,
    provider: Arc<dyn Provider>,
    config: EngineConfig,
    /// The leak scanner over every real contact, with the `contacts_version` it was built at.
    scanner: Mutex<Option<(i64, Arc<LeakScanner>)>>,
}

/// The engine's public API, grouped by concern. Each method is a thin wrapper: it reads the clock,
/// builds a [`Ctx`], opens one transaction (`BEGIN IMMEDIATE` for writes, a deferred snapshot
/// for reads) and calls a domain function; the rules live in the domain modules. Errors are
/// [`crate::Error`]: `NotFound` for an id outside the caller's org, `Invalid` naming the field,
/// `Conflict` for a state that forbids the change, `Sqlite`/`Corrupt` for storage faults.
impl Engine {
    // ---- Construction and plumbing -------------------------------------------------------

    /// Opens the database named by `config.storage` (migrated to the newest version) and builds
    /// an engine over it. Errors: `Sqlite` when the database cannot be opened or migrated.
    pub fn new(
        config: EngineConfig,
        clock: Arc<dyn Clock>,
        provider: Arc<dyn Provider>,
    ) -> Result<Engine> {
        let conn = db::open(&config.storage)?;
        Ok(Engine {
            conn: Mutex::new(conn),
            clock,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
            provider,
            config,
            scanner: Mutex::new(None),
        })
    }

    /// The configuration the engine was built with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The engine's current time, from its [`Clock`] (whole seconds).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Read-only access to the raw connection, for invariant checks and benchmarks that must
    /// look at rows directly. Not for domain logic.
    pub fn inspect<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(&self.lock())
    }

    // ---- World setup (world.rs; not HTTP routes) -----------------------------------------

    /// Runs `f` with a [`Setup`] in one write transaction: a whole world (orgs, users, tokens,
    /// sitters, clients, numbers, settings) is built with one BEGIN/COMMIT instead of one per
    /// row, and a failure leaves nothing of it behind. `f` must not call back into the engine
    /// (the connection is held).
    pub fn setup<T>(&self, f: impl FnOnce(&Setup) -> Result<T>) -> Result<T> {
        self.write(|tx| f(&Setup { engine: self, tx }))
    }

    /// Creates an org named `name` (region US until changed).
    pub fn create_org(&self, name: &str) -> Result<OrgId> {
        self.setup(|s| s.create_org(name))
    }

    /// Creates a user of `org` with `role`; a sitter user names its sitter (`Invalid` on
    /// `sitter` otherwise, `NotFound` when the sitter is not the org's).
    pub fn create_user(
        &self,
        org: OrgId,
        name: &str,
        role: Role,
        sitter: Option<SitterId>,
    ) -> Result<UserId> {
        self.setup(|s| s.create_user(org, name, role, sitter))
    }

    /// Issues a bearer token `sb_<user>_<secret>` for the user; only its SHA-256 digest is
    /// stored. Tokens come from the seeded RNG, so a simulation issues the same tokens every run.
    pub fn mint_token(&self, user: UserId) -> Result<String> {
        self.setup(|s| s.mint_token(user))
    }

    /// Creates a sitter; the phone is brought to E.164 in the org's region (`Invalid` naming
    /// `phone`, `firstName` or `email`, nothing stored).
    pub fn create_sitter(&self, org: OrgId, contact: &NewContact) -> Result<SitterId> {
        self.setup(|s| s.create_sitter(org, contact))
    }

    /// Creates a client, like [`Engine::create_sitter`]. Another client may share the phone (a
    /// household, DESIGN.md §1).
    pub fn create_client(&self, org: OrgId, contact: &NewContact) -> Result<ClientId> {
        self.setup(|s| s.create_client(org, contact))
    }

    /// Adds a business number (`number.added` by `system:setup`). A new active pool number joins
    /// the hash ring and may end an exhaustion or reserve alert. `Invalid` on `e164` or
    /// `sitter` (a sitter number needs exactly its sitter).
    pub fn create_number(&self, org: OrgId, number: &NewNumber) -> Result<NumberId> {
        self.setup(|s| s.create_number(org, number))
    }

    /// The leak scanner over every real phone and email, with all business numbers allowed
    /// (DESIGN.md §2). Cached, and rebuilt only when `contacts_version` (bumped by triggers on
    /// every write to sitters', clients' and business numbers' contact columns, migration 13)
    /// differs from the version it was built at, so no writer has to remember to invalidate it.
    pub fn leak_scanner(&self) -> Result<Arc<LeakScanner>> {
        let version = self.read_one(world::contacts_version)?;
        let mut cached = self.scanner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((built_at, scanner)) = cached.as_ref()
            && *built_at == version
        {
            return Ok(scanner.clone());
        }
        let (version, contacts) =
            self.read(|tx| Ok((world::contacts_version(tx)?, world::all_contacts(tx)?)))?;
        let scanner =
            Arc::new(LeakScanner::new(&contacts).map_err(|e| Error::Corrupt(e.to_string()))?);
        *cached = Some((version, scanner.clone()));
        Ok(scanner)
    }

    // ---- Callers (auth.rs, pages/session.rs) ---------------------------------------------

    /// Resolves a bearer token to its caller (DESIGN.md §2: the org is the caller's). Unknown
    /// tokens are `Unauthenticated`; digests are compared in constant time.
    pub fn authenticate(&self, token: &str) -> Result<Caller> {
        let token = auth::PresentedToken::parse(token)?;
        self.read(|tx| auth::authenticate(tx, &token))
    }

    /// Applies the route's declared access to the caller: `Forbidden` with the route's wording.
    pub fn authorize(&self, access: Access, caller: &Caller) -> Result<()> {
        auth::authorize(access, caller)
    }

    /// Starts a browser session for `user` and returns its id (128 random bits, hex), the cookie
    /// value; expired sessions are pruned on the way (DESIGN.md §4).
    pub fn open_session(&self, user: UserId) -> Result<String> {
        let id = format!("{:016x}{:016x}", self.random_u64(), self.random_u64());
        let now = self.now();
        self.write(|tx| session::open_session(tx, &id, user, now))?;
        Ok(id)
    }

    /// The caller of a live session; an unknown or expired id is `Unauthenticated`.
    pub fn session_caller(&self, session_id: &str) -> Result<Caller> {
        let now = self.now();
        self.read(|tx| session::session_caller(tx, session_id, now))
    }

    /// Ends a session (logout); ending an unknown one is not an error.
    pub fn end_session(&self, session_id: &str) -> Result<()> {
        self.write(|tx| session::end_session(tx, session_id))
    }

    /// [`access::sitter_access`] at the engine's current time, for the harness's checks.
    pub fn sitter_access(
        &self,
        org: OrgId,
        sitter: SitterId,
        thread: ThreadId,
    ) -> Result<SitterAccess> {
        let now = self.now();
        self.read(|tx| access::sitter_access(tx, org, sitter, thread, now))
    }

    // ---- Settings (settings.rs; DESIGN.md §3) --------------------------------------------

    /// The org's rotation settings (defaults until saved).
    pub fn rotation_settings(&self, org: OrgId) -> Result<RotationSettings> {
        self.read(|tx| settings::rotation(tx, org))
    }

    /// Validates and saves a partial update (whole or not at all: `Invalid` naming each bad
    /// key); deadlines and pool alerts follow the new values.
    pub fn update_rotation_settings(
        &self,
        org: OrgId,
        actor: &str,
        patch: &Value,
    ) -> Result<RotationSettings> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| operations::update_rotation_settings(tx, &ctx, patch))
    }

    /// The org's chaos settings (off until saved).
    pub fn chaos_settings(&self, org: OrgId) -> Result<ChaosSettings> {
        self.read(|tx| settings::chaos(tx, org))
    }

    /// Validates and saves a partial chaos update, like [`Engine::update_rotation_settings`].
    pub fn update_chaos_settings(
        &self,
        org: OrgId,
        actor: &str,
        patch: &Value,
    ) -> Result<ChaosSettings> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| operations::update_chaos_settings(tx, &ctx, patch))
    }

    // ---- Release job (pool.rs; DESIGN.md §3) ---------------------------------------------

    /// Runs the release job for one org now ([`pool::run_release`]).
    pub fn run_release_job(&self, org: OrgId, actor: &str) -> Result<ReleaseStats> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| pool::run_release(tx, &ctx))
    }

    /// The scheduled release job: every org with a binding due now, in id order, each in its own
    /// transaction. An org with nothing due is skipped: its run would read the same empty due
    /// set and write nothing, so an idle tick (most of the 105,120 ticks of a simulated year) is
    /// one indexed read instead of one write transaction per org.
    pub fn run_scheduled_release(&self) -> Result<ReleaseStats> {
        let now = self.now();
        let due_orgs = self.read_one(|conn| operations::orgs_with_release_due(conn, now))?;
        let mut total = ReleaseStats::default();
        for org in due_orgs {
            let stats = self.run_release_job(org, "system:release-job")?;
            total += stats;
        }
        Ok(total)
    }

    // ---- Bookings (bookings.rs; DESIGN.md §1) --------------------------------------------

    /// Every org id, in order.
    pub fn org_ids(&self) -> Result<Vec<OrgId>> {
        self.read(operations::org_ids)
    }

    /// Creates a booking (`booking.created`); `Invalid` naming the field, `NotFound` for a client
    /// or sitter outside the org.
    pub fn create_booking(&self, org: OrgId, actor: &str, new: &NewBooking) -> Result<Booking> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| operations::create_booking(tx, &ctx, new))
    }

    /// One booking of the org; `NotFound` otherwise.
    pub fn booking(&self, org: OrgId, id: BookingId) -> Result<Booking> {
        self.read(|tx| bookings::get(tx, org, id))
    }

    /// Moves a booking to `to` ([`bookings::transition`]: confirming opens its thread);
    /// `Conflict` for a transition the lifecycle forbids.
    pub fn transition_booking(
        &self,
        org: OrgId,
        actor: &str,
        id: BookingId,
        to: BookingStatus,
    ) -> Result<Booking> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| bookings::transition(tx, &ctx, id, to))
    }

    /// Gives a booking (and its thread) another sitter, or none ([`bookings::reassign`]).
    pub fn reassign_booking(
        &self,
        org: OrgId,
        actor: &str,
        id: BookingId,
        sitter: Option<SitterId>,
    ) -> Result<Booking> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| bookings::reassign(tx, &ctx, id, sitter))
    }

    /// Changes a booking's times ([`bookings::reschedule`]), one transaction.
    pub fn reschedule_booking(
        &self,
        org: OrgId,
        actor: &str,
        id: BookingId,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Booking> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| bookings::reschedule(tx, &ctx, id, start, end))
    }

    // ---- Threads and numbers (pool.rs; DESIGN.md §3) -------------------------------------

    /// Activates, quarantines or retires a pool number ([`pool::set_number_status`]), one
    /// transaction; returns the number as it is afterwards.
    pub fn set_number_status(
        &self,
        org: OrgId,
        actor: &str,
        number: NumberId,
        to: NumberStatus,
    ) -> Result<NumberSummary> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| pool::set_number_status(tx, &ctx, number, to))?;
        self.read(|tx| operations::number(tx, org, number))
    }

    /// Opens a thread for a client (owner action) and assigns it a pool number; the assignment
    /// may be `Exhausted` (the thread stays open, waiting).
    pub fn open_thread(
        &self,
        org: OrgId,
        actor: &str,
        client: ClientId,
        sitter: Option<SitterId>,
        booking: Option<BookingId>,
    ) -> Result<(ThreadId, Assignment)> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| operations::open_thread(tx, &ctx, client, sitter, booking))
    }

    /// Assigns a pool number to an existing open thread (no-op when it has one).
    pub fn assign_thread(&self, org: OrgId, actor: &str, thread: ThreadId) -> Result<Assignment> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| operations::assign_thread(tx, &ctx, thread))
    }

    /// Closes or archives a thread ([`pool::end_thread`], its number is unbound); returns the
    /// thread afterwards.
    pub fn end_thread(
        &self,
        org: OrgId,
        actor: &str,
        thread: ThreadId,
        to: ThreadStatus,
    ) -> Result<ThreadSummary> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| pool::end_thread(tx, &ctx, thread, to))?;
        self.thread(org, thread)
    }

    /// One thread of the org, as the owner sees it; `NotFound` otherwise.
    pub fn thread(&self, org: OrgId, id: ThreadId) -> Result<ThreadSummary> {
        self.read(|tx| operations::thread(tx, org, id))
    }

    /// The org's threads in id order.
    pub fn threads(&self, org: OrgId) -> Result<Vec<ThreadSummary>> {
        self.read(|tx| operations::threads(tx, org))
    }

    /// The org's business numbers in id order, with their load.
    pub fn numbers(&self, org: OrgId) -> Result<Vec<NumberSummary>> {
        self.read(|tx| operations::numbers(tx, org))
    }

    /// The org's clients or sitters in id order (`GET /api/clients`, `GET /api/sitters`), so a
    /// caller can find ids without guessing.
    pub fn contacts(&self, org: OrgId, kind: ContactKind) -> Result<Vec<ContactSummary>> {
        self.read(|tx| operations::contacts(tx, org, kind))
    }

    // ---- Messages (messaging.rs; DESIGN.md §3) -------------------------------------------

    /// Handles one inbound SMS (routing in DESIGN.md §3). Unknown `To` → `NotFound` with nothing
    /// stored; `Invalid` naming `To`, `From` or `MessageSid`; a repeated MessageSid → the first
    /// message's outcome with `duplicate: true` and nothing stored.
    pub fn receive(&self, inbound: &Inbound) -> Result<InboundOutcome> {
        let now = self.now();
        let to = messaging::inbound_to(inbound)?;
        self.write(|tx| messaging::receive(tx, now, &to, inbound))
    }

    /// Sends a message on a thread from its pool number, in two write transactions around the
    /// provider call, so a slow provider never holds the write lock:
    /// 1. assign a number if the thread has none (an exhaustion commits and the send is refused
    ///    with `Conflict`), draw chaos, store the message `queued`;
    /// 2. after the provider answered (outside any transaction): record `sent`, `failed` (with
    ///    the provider's error) or, for a chaos delay, keep `queued` until
    ///    [`Engine::deliver_due`] runs at or after `deliver_at`.
    ///
    /// A chaos duplicate reaches the provider twice and is stored once. `Invalid` on an empty
    /// `body`.
    pub fn send(
        &self,
        org: OrgId,
        actor: &str,
        thread: ThreadId,
        body: &str,
    ) -> Result<SendOutcome> {
        messaging::check_body(body)?;
        let ctx = self.ctx(org, actor);
        let production = self.config.production;
        let draw = &mut || self.draw();
        let queued =
            self.write(|tx| messaging::queue_outbound(tx, &ctx, thread, body, production, draw))?;
        let Some(queued) = queued else {
            return Err(Error::Conflict(
                "no pool number is available for this thread".into(),
            ));
        };
        let receipt = messaging::call_provider(&*self.provider, &queued, body);
        self.write(|tx| messaging::record_outcome(tx, &ctx, &queued, &receipt))
    }

    /// Marks every delayed message whose `deliver_at` has come as `sent` (`message.sent` with
    /// `delayedMs`), oldest first. The simulator runs it on its clock ticks, `serve` on a timer;
    /// it reads only due rows (`messages_due` index). Returns how many were delivered.
    pub fn deliver_due(&self) -> Result<u64> {
        let now = self.now();
        // Most ticks have nothing due: look before taking the write lock.
        if !self.read_one(|conn| messaging::any_due(conn, now))? {
            return Ok(0);
        }
        self.write(|tx| messaging::deliver_due(tx, now))
    }

    /// A thread's messages in id order; `NotFound` for a thread outside the org.
    pub fn thread_messages(&self, org: OrgId, thread: ThreadId) -> Result<Vec<MessageView>> {
        self.read(|tx| operations::thread_messages(tx, org, thread))
    }

    /// One message of the org; `NotFound` otherwise.
    pub fn message(&self, org: OrgId, id: MessageId) -> Result<MessageView> {
        self.read(|tx| operations::message(tx, org, id))
    }

    /// Messages routed to the owner inbox, in id order.
    pub fn inbox(&self, org: OrgId) -> Result<Vec<MessageView>> {
        self.read(|tx| operations::inbox(tx, org))
    }

    // ---- Sitter views (sitter_view.rs; DESIGN.md §2) -------------------------------------

    /// `GET /api/sitter/threads`: every thread the caller can read now, redacted.
    pub fn sitter_threads(&self, caller: &Caller) -> Result<Value> {
        let now = self.now();
        let view = self.read(|tx| sitter_view::threads(tx, caller, now))?;
        self.redact_for_sitter(view)
    }

    /// `GET /api/sitter/threads/{id}/messages`, redacted; `NotFound` unless readable now.
    pub fn sitter_messages(&self, caller: &Caller, thread: ThreadId) -> Result<Value> {
        let now = self.now();
        let view = self.read(|tx| sitter_view::messages(tx, caller, thread, now))?;
        self.redact_for_sitter(view)
    }

    /// `POST /api/sitter/threads/{id}/messages`: the sitter writes to the client; the response
    /// is the sent message as the thread view shows it. `NotFound` unless readable now.
    pub fn sitter_send(&self, caller: &Caller, thread: ThreadId, body: &str) -> Result<Value> {
        let now = self.now();
        self.read(|tx| sitter_view::require_visible(tx, caller, thread, now))?;
        let sent = self.send(caller.org, &caller.actor, thread, body)?;
        let view = self.read(|tx| sitter_view::sent_message(tx, caller, thread, sent.message))?;
        self.redact_for_sitter(view)
    }

    /// Serializes a sitter response and refuses it (`LeakBlocked`, a 500, with a
    /// `sitter.response.blocked` audit event naming `path`) if the leak scan finds any real
    /// contact.
    pub fn seal_sitter_response(
        &self,
        caller: &Caller,
        path: &str,
        value: &Value,
    ) -> Result<Vec<u8>> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Corrupt(e.to_string()))?;
        if !self.config.sitter_views.leak_gate {
            return Ok(bytes);
        }
        let scan = self.leak_scanner()?.scan_json(&bytes);
        if scan.findings.is_empty() {
            return Ok(bytes);
        }
        let ctx = self.ctx(caller.org, &caller.actor);
        self.write(|tx| sitter_view::record_blocked(tx, &ctx, path, &scan))?;
        Err(Error::LeakBlocked)
    }

    // ---- Audit and alerts (audit.rs, alerts.rs; DESIGN.md §5) ----------------------------

    /// The org's audit events matching `query`, oldest first.
    pub fn audit_timeline(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.read(|tx| audit::timeline(tx, org, query))
    }

    /// One page of the audit page: the org's event types, and up to `limit` events of
    /// `event_type` on `thread` (when given) older than sequence `before`, newest first.
    pub fn audit_page(
        &self,
        org: OrgId,
        event_type: Option<&str>,
        thread: Option<ThreadId>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<String>, Vec<AuditEvent>)> {
        self.read(|tx| {
            let types = audit::event_types(tx, org)?;
            let events = audit::newest_first(tx, org, event_type, thread, before, limit)?;
            Ok((types, events))
        })
    }

    /// The org's alerts (open ones only when `open_only`).
    pub fn alerts(&self, org: OrgId, open_only: bool) -> Result<Vec<Alert>> {
        self.read(|tx| alerts::list(tx, org, open_only))
    }

    /// Resolves an open alert by hand; `NotFound` unless it is open and the org's.
    pub fn resolve_alert(&self, org: OrgId, actor: &str, id: AlertId) -> Result<()> {
        let ctx = self.ctx(org, actor);
        self.write(|tx| operations::resolve_alert(tx, &ctx, id))
    }
}

/// World setup inside one write transaction ([`Engine::setup`]): the same operations, rules and
/// errors as the `Engine::create_*` methods (which are each one `setup` call), minus a
/// transaction per row.
pub struct Setup<'a> {
    engine: &'a Engine,
    tx: &'a Transaction<'a>,
}

impl Setup<'_> {
    /// [`Engine::create_org`] in this transaction.
    pub fn create_org(&self, name: &str) -> Result<OrgId> {
        world::create_org(self.tx, name, self.engine.now())
    }

    /// [`Engine::create_user`] in this transaction.
    pub fn create_user(
        &self,
        org: OrgId,
        name: &str,
        role: Role,
        sitter: Option<SitterId>,
    ) -> Result<UserId> {
        world::create_user(self.tx, org, name, role, sitter)
    }

    /// [`Engine::mint_token`] in this transaction (one draw of the engine's seeded RNG).
    pub fn mint_token(&self, user: UserId) -> Result<String> {
        world::mint_token(self.tx, user, self.engine.random_u64())
    }

    /// [`Engine::create_sitter`] in this transaction.
    pub fn create_sitter(&self, org: OrgId, contact: &NewContact) -> Result<SitterId> {
        world::create_sitter(self.tx, org, contact)
    }

    /// [`Engine::create_client`] in this transaction.
    pub fn create_client(&self, org: OrgId, contact: &NewContact) -> Result<ClientId> {
        world::create_client(self.tx, org, contact)
    }

    /// [`Engine::create_number`] in this transaction (`number.added` by `system:setup`).
    pub fn create_number(&self, org: OrgId, number: &NewNumber) -> Result<NumberId> {
        let ctx = self.engine.ctx(org, "system:setup");
        world::create_number(self.tx, &ctx, number)
    }

    /// [`Engine::create_booking`] in this transaction (`booking.created`).
    pub fn create_booking(&self, org: OrgId, actor: &str, new: &NewBooking) -> Result<Booking> {
        let ctx = self.engine.ctx(org, actor);
        operations::create_booking(self.tx, &ctx, new)
    }

    /// [`Engine::transition_booking`] in this transaction (confirming opens the thread).
    pub fn transition_booking(
        &self,
        org: OrgId,
        actor: &str,
        id: BookingId,
        to: BookingStatus,
    ) -> Result<Booking> {
        let ctx = self.engine.ctx(org, actor);
        bookings::transition(self.tx, &ctx, id, to)
    }

    /// [`Engine::update_rotation_settings`] in this transaction.
    pub fn update_rotation_settings(
        &self,
        org: OrgId,
        actor: &str,
        patch: &Value,
    ) -> Result<RotationSettings> {
        let ctx = self.engine.ctx(org, actor);
        operations::update_rotation_settings(self.tx, &ctx, patch)
    }
}

/// Private plumbing: transactions, the RNG, redaction.
impl Engine {
    fn ctx<'a>(&self, org: OrgId, actor: &'a str) -> Ctx<'a> {
        Ctx {
            org,
            now: self.now(),
            actor,
        }
    }

    fn lock(&self) -> MutexGuard<'_, db::Conn> {
        // A panic while holding the lock cannot leave a half-written state (the transaction
        // rolls back on drop), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`): committed when `f` returns Ok,
    /// rolled back otherwise. Before COMMIT, the release deadlines queued by migration 14's
    /// triggers are recomputed ([`pool::apply_deadline_refreshes`]), so every write leaves
    /// `release_due_at` current whatever it changed.
    fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        pool::apply_deadline_refreshes(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }

    /// Runs `f`, which must execute exactly one read statement, outside any explicit
    /// transaction: one statement is its own consistent snapshot, and this spares the
    /// `BEGIN`/`COMMIT` pair (parsed on every call) on checks that run every clock tick.
    fn read_one<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock())
    }

    /// A uniform draw in [0, 1) from the seeded RNG.
    fn draw(&self) -> f64 {
        (self.random_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn random_u64(&self) -> u64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_u64()
    }

    fn redact_for_sitter(&self, mut value: Value) -> Result<Value> {
        if self.config.sitter_views.redact {
            sitter_view::redact_value(&*self.leak_scanner()?, &mut value);
        }
        Ok(value)
    }
}
