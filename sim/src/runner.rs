//! Running one scenario: a paused-time tokio runtime, a fresh engine on in-memory SQLite, the
//! release job as a task every 5 simulated minutes, each step sent through the real Router,
//! its expectations and every invariant checked, the audit timeline rendered at the end.

use std::sync::Arc;

use serde_json::Value;
use switchboard_core::audit::{AuditQuery, EventType};
use switchboard_core::ids::{BookingId, ClientId, Id, Kind, NumberId, OrgId, SitterId, ThreadId};
use switchboard_core::messaging::RecordingProvider;
use switchboard_core::requests::{Method, Request, WEBHOOK_PATH};
use switchboard_core::{Engine, EngineConfig, SitterViewConfig, Timestamp, api};

use crate::clock::SimClock;
use crate::http::{Call, Exchange};
use crate::invariants::Violation;
use crate::scenario::shape::{
    BookingActionShape, BookingVerb, InboundShape, NumberActionShape, NumberVerb, RequestShape,
    ThreadActionShape, ThreadVerb,
};
use crate::scenario::{
    Action, NumberClass, Role, Scenario, ScenarioError, Signature, Span, Spanned, Step, Template,
    free_table, given, json_of, render_json, value_of,
};
use crate::simulation::{CallerFacts, Simulation, block_on_paused};
use crate::world::{self, BuiltWorld};

/// The webhook secret of every simulated engine: inbound steps sign with it unless they ask for a
/// missing or bad signature.
pub const WEBHOOK_SECRET: &str = "switchboard-sim-webhook-secret";

/// A hook that runs after a step's action and before the invariants: tests use it to plant a
/// bug (a raw SQL write) and show that an invariant catches it.
pub type Plant = Box<dyn Fn(&rusqlite::Connection, &Step)>;

/// Options of a run. `Default` is what `switchboard run` and the test suite use.
#[derive(Default)]
pub struct RunOptions {
    /// The sitter-view defences (tests turn them off to show that they matter).
    pub sitter_views: SitterViewConfig,
    /// A bug to plant after a step (tests of the invariants).
    pub plant: Option<Plant>,
    /// Accept any status where a step states none (the explorer's generated steps may be
    /// refused legitimately; invariants still run). Hand-written scenarios keep it off, so an
    /// unexpected refusal fails the step.
    pub any_status: bool,
    /// Record every exchange for `switchboard run --dump` ([`Outcome::dump`]).
    pub dump: bool,
}

/// The result of one run.
#[derive(Debug)]
pub struct Outcome {
    /// The audit timeline, rendered (also on failure, up to the failing step).
    pub timeline: String,
    /// How many steps ran (all of them when it passed).
    pub steps_run: usize,
    /// The HTTP status each step's action got (None for wait steps), in step order.
    pub statuses: Vec<Option<u16>>,
    /// How many times the scheduled release job ran.
    pub ticks: u64,
    /// Why the run failed; `None` when it passed.
    pub failure: Option<Failure>,
    /// With [`RunOptions::dump`]: each step's request, status and response body, exactly as
    /// the caller received it (a sitter sees the redacted body), one entry per exchange.
    pub dump: Vec<String>,
}

/// Why a run failed, rendered with the step's file, line, column and source.
#[derive(Debug)]
pub struct Failure {
    /// The index of the failing step; `None` when the world could not be built.
    pub step: Option<usize>,
    /// The located report.
    pub report: ScenarioError,
}

impl Outcome {
    /// True when every step and every invariant held.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    fn failed(step: Option<usize>, report: ScenarioError) -> Outcome {
        Outcome {
            timeline: String::new(),
            steps_run: 0,
            ticks: 0,
            statuses: Vec::new(),
            failure: Some(Failure { step, report }),
            dump: Vec::new(),
        }
    }
}

/// The command that replays exactly this scenario.
pub fn replay_command(scenario: &Scenario) -> String {
    format!("cargo run --release -- run {}", scenario.path().display())
}

/// Runs a scenario to the end or to its first failure.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Outcome {
    run_with(scenario, options, true)
}

/// [`run`] without rendering the timeline at the end ([`Outcome::timeline`] is empty): for the
/// explorer, which reads only the verdict and the statuses (the rendering reads both orgs'
/// whole audit trails, ≈ 4% of a 60-step case).
pub fn run_verdict(scenario: &Scenario, options: &RunOptions) -> Outcome {
    run_with(scenario, options, false)
}

fn run_with(scenario: &Scenario, options: &RunOptions, timeline: bool) -> Outcome {
    block_on_paused(
        Run {
            scenario,
            options,
            timeline,
            statuses: Default::default(),
            dump: Default::default(),
        }
        .execute(),
    )
    .unwrap_or_else(|error| Outcome::failed(None, ScenarioError::file(scenario.path(), error)))
}

struct Run<'a> {
    scenario: &'a Scenario,
    options: &'a RunOptions,
    /// Whether to render the timeline at the end.
    timeline: bool,
    statuses: std::cell::RefCell<Vec<Option<u16>>>,
    dump: std::cell::RefCell<Vec<String>>,
}

impl<'a> Run<'a> {
    async fn execute(self) -> Outcome {
        let scenario = self.scenario;
        let clock = SimClock::new(Timestamp(scenario.start));
        let config = EngineConfig {
            seed: scenario.seed,
            webhook_secret: Some(WEBHOOK_SECRET.into()),
            sitter_views: self.options.sitter_views,
            ..EngineConfig::default()
        };
        let engine = match Engine::new(
            config,
            Arc::new(clock),
            Arc::new(RecordingProvider::default()),
        ) {
            Ok(engine) => Arc::new(engine),
            Err(error) => {
                return Outcome::failed(
                    None,
                    ScenarioError::file(
                        scenario.path(),
                        format!("cannot start the engine: {error}"),
                    ),
                );
            }
        };
        let mut built = match world::build(&engine, scenario) {
            Ok(built) => built,
            Err(report) => return Outcome::failed(None, report),
        };
        let mut sim = Simulation::new(engine.clone(), clock, scenario.start);
        let mut failure = None;
        let mut steps_run = 0;
        for step in &scenario.steps {
            match self.step(&mut sim, &mut built, step).await {
                Ok(()) => steps_run += 1,
                Err(report) => {
                    failure = Some(Failure {
                        step: Some(step.index),
                        report,
                    });
                    break;
                }
            }
        }
        let rendered = if self.timeline {
            timeline(&engine, scenario, &built)
        } else {
            Ok(String::new())
        };
        let timeline = match rendered {
            Ok(timeline) => timeline,
            Err(error) => {
                failure.get_or_insert(Failure {
                    step: None,
                    report: ScenarioError::file(scenario.path(), error),
                });
                String::new()
            }
        };
        Outcome {
            timeline,
            steps_run,
            ticks: sim.release_runs(),
            statuses: self.statuses.take(),
            failure,
            dump: self.dump.take(),
        }
    }

    /// One step: the clock moves, the action runs (and a planted bug with it), then the
    /// invariants and the step's expectations are checked, each in its own function.
    async fn step(
        &self,
        sim: &mut Simulation,
        built: &mut BuiltWorld,
        step: &Step,
    ) -> Result<(), ScenarioError> {
        let engine = sim.engine.clone();
        let org = built.orgs[world::org_name(given(&step.expect.org))];
        // The audit reads serve only `expect.events` / `expect.no_events`: a step without
        // them (every explored step) skips both, which leaves its verdict unchanged.
        let wants_events = step.expect.events.is_some() || step.expect.no_events.is_some();
        let seq_before = if wants_events {
            Some(last_seq(&engine, org).map_err(|e| self.fail(step, step.header_span, e))?)
        } else {
            None
        };
        // Move the clock: the release task runs at every 5-minute mark on the way.
        sim.advance_to(step.when)
            .await
            .map_err(|e| self.fail(step, step.span, e))?;
        let exchange = self.act(sim, built, step).await?;
        self.statuses
            .borrow_mut()
            .push(exchange.as_ref().map(|e| e.status));
        self.plant_bug(sim, step, exchange.as_ref());
        // Invariants first: a broken rule (a leak, a capacity breach) is the finding that
        // matters, even when an expectation of the same step would also fail.
        self.check_invariants(sim, built, step)?;
        let names = &built.names;
        if let Some(exchange) = &exchange {
            self.check_response(step, names, exchange)?;
        }
        if let Some(seq_before) = seq_before {
            let events = step_events(&engine, org, seq_before, names)
                .map_err(|e| self.fail(step, step.header_span, e))?;
            self.check_events(step, &events)?;
        }
        self.check_bindings(&engine, names, step)?;
        self.check_alerts(&engine, org, step)
    }

    /// A planted bug acts as part of the step's action; a write it makes behind a refused call
    /// is reported to the refused-unchanged invariant.
    fn plant_bug(&self, sim: &mut Simulation, step: &Step, exchange: Option<&Exchange>) {
        let engine = sim.engine.clone();
        if let Some(plant) = &self.options.plant {
            let before = engine.inspect(|c| c.total_changes());
            engine.inspect(|c| plant(c, step));
            let after = engine.inspect(|c| c.total_changes());
            if let Some(exchange) = exchange
                && matches!(exchange.status, 400 | 401 | 403 | 404)
                && after != before
            {
                sim.note_refused_write(exchange.status, after - before);
            }
        }
    }

    /// Every invariant after the step; a violation fails the step, naming things symbolically.
    fn check_invariants(
        &self,
        sim: &mut Simulation,
        built: &BuiltWorld,
        step: &Step,
    ) -> Result<(), ScenarioError> {
        let violations = sim.finish_step();
        if !violations.is_empty() {
            let list: Vec<String> = violations
                .iter()
                .map(|Violation { invariant, detail }| {
                    format!("[{invariant}] {}", built.names.symbolize(detail))
                })
                .collect();
            return Err(self.fail(
                step,
                step.header_span,
                format!(
                    "invariant violated after {}:\n  {}",
                    step.describe(),
                    list.join("\n  ")
                ),
            ));
        }

        Ok(())
    }

    /// `expect.status`, or without it a 2xx unless the run allows any status.
    fn check_status(
        &self,
        step: &Step,
        names: &crate::names::Names,
        exchange: &Exchange,
    ) -> Result<(), ScenarioError> {
        match &step.expect.status {
            Some(expected) if expected.value != i64::from(exchange.status) => Err(self.fail(
                step,
                expected.span,
                format!(
                    "expected status {}, got {}: {}",
                    expected.value,
                    exchange.status,
                    names.symbolize(&String::from_utf8_lossy(&exchange.body))
                ),
            )),
            None if !self.options.any_status && !(200..300).contains(&exchange.status) => Err(self
                .fail(
                    step,
                    step.action_span.unwrap_or(step.span),
                    format!(
                        "the {} step got {} {}; add `expect.status = {}` if that is intended",
                        step.action().kind(),
                        exchange.status,
                        names.symbolize(&String::from_utf8_lossy(&exchange.body)),
                        exchange.status
                    ),
                )),
            _ => Ok(()),
        }
    }

    /// The step's expectations on the response: status, excluded text, pattern, JSON subset.
    fn check_response(
        &self,
        step: &Step,
        names: &crate::names::Names,
        exchange: &Exchange,
    ) -> Result<(), ScenarioError> {
        self.check_status(step, names, exchange)?;
        let raw = String::from_utf8_lossy(&exchange.body);
        for excluded in step.expect.body_excludes.iter().flat_map(|l| &l.value) {
            if let Some(at) = raw.find(&excluded.value) {
                return Err(self.fail(
                    step,
                    excluded.span,
                    format!(
                        "the response body contains {:?} (at byte {at}): {raw}",
                        excluded.value
                    ),
                ));
            }
        }
        if let Some(pattern) = &step.expect.body_matches {
            let regex = regex::Regex::new(&pattern.value)
                .map_err(|e| self.fail(step, pattern.span, harness("expect.body_matches", e)))?;
            if !regex.is_match(&raw) {
                return Err(self.fail(
                    step,
                    pattern.span,
                    format!(
                        "the response body does not match /{}/: {raw}",
                        pattern.value
                    ),
                ));
            }
        }
        if let Some(expected) = &step.expect.json {
            let value = json_of(expected).map_err(|e| self.fail(step, expected.span, e))?;
            let expected_value = symbolic(&value);
            let actual: Value = serde_json::from_str(&names.symbolize(&raw)).map_err(|e| {
                self.fail(
                    step,
                    expected.span,
                    format!("the response body is not JSON ({e}): {raw}"),
                )
            })?;
            if let Err(mismatch) = subset(&expected_value, &actual, "") {
                return Err(self.fail(
                    step,
                    expected.span,
                    format!("response body does not match {mismatch}"),
                ));
            }
        }
        Ok(())
    }

    /// `expect.events` (in order, payload subsets) and `expect.no_events` over the step's events.
    fn check_events(
        &self,
        step: &Step,
        events: &[(EventType, Value)],
    ) -> Result<(), ScenarioError> {
        let mut position = 0;
        for expected in step.expect.events.iter().flat_map(|l| &l.value) {
            let payload = expected.payload.as_ref().map(json_of).transpose();
            let want = payload.map_err(|e| self.fail(step, expected.span, e))?;
            let want = want.as_ref().map(symbolic);
            let event_type = given(&expected.event_type);
            let found = events[position..].iter().position(|(t, payload)| {
                *t == event_type.as_str()
                    && want.as_ref().is_none_or(|w| subset(w, payload, "").is_ok())
            });
            match found {
                Some(offset) => position += offset + 1,
                None => {
                    let seen: Vec<String> =
                        events.iter().map(|(t, p)| format!("{t} {p}")).collect();
                    return Err(self.fail(
                        step,
                        expected.span,
                        format!(
                            "expected event `{}`{} (in order), but the step emitted:\n  {}",
                            event_type,
                            want.map(|w| format!(" with payload ⊇ {w}"))
                                .unwrap_or_default(),
                            if seen.is_empty() {
                                "nothing".to_string()
                            } else {
                                seen.join("\n  ")
                            }
                        ),
                    ));
                }
            }
        }
        for forbidden in step.expect.no_events.iter().flat_map(|l| &l.value) {
            if let Some((_, payload)) = events.iter().find(|(t, _)| *t == forbidden.value.as_str())
            {
                return Err(self.fail(
                    step,
                    forbidden.span,
                    format!("the step emitted `{}` {payload}", forbidden.value),
                ));
            }
        }
        Ok(())
    }

    /// `expect.bindings`: each named thread is bound to the named number (or none).
    fn check_bindings(
        &self,
        engine: &Engine,
        names: &crate::names::Names,
        step: &Step,
    ) -> Result<(), ScenarioError> {
        for binding in step.expect.bindings.iter().flat_map(|l| &l.value) {
            let (name, number) = (given(&binding.thread), binding.number_name());
            let Some(thread) = names.id::<ThreadId>(&name) else {
                return Err(self.fail(
                    step,
                    binding.span,
                    format!("thread `{name}` does not exist (yet)"),
                ));
            };
            let actual = bound_number(engine, thread, names)
                .map_err(|e| self.fail(step, binding.span, e))?;
            if actual != number {
                return Err(self.fail(
                    step,
                    binding.span,
                    format!(
                        "thread `{name}` is bound to {}, expected {}",
                        actual.as_deref().unwrap_or("no number"),
                        number.as_deref().unwrap_or("no number")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `expect.alerts`: the org's open alert types.
    fn check_alerts(&self, engine: &Engine, org: OrgId, step: &Step) -> Result<(), ScenarioError> {
        if let (Some(list), Some(expected)) = (&step.expect.alerts, step.expect.alert_types()) {
            let open = open_alert_types(engine, org).map_err(|e| self.fail(step, list.span, e))?;
            if open != expected {
                return Err(self.fail(
                    step,
                    list.span,
                    format!("open alerts are {open:?}, expected {expected:?}"),
                ));
            }
        }

        Ok(())
    }

    /// Keeps one exchange for `--dump`.
    fn record(&self, step: &Step, request: &str, body: &str, exchange: &Exchange) {
        if !self.options.dump {
            return;
        }
        let at = Timestamp(step.when).rfc3339();
        let body = if body.is_empty() {
            String::new()
        } else {
            format!("\n  request body: {body}")
        };
        self.dump.borrow_mut().push(format!(
            "{} at {at}\n  {request}{body}\n  status: {}\n  response: {}",
            step.describe(),
            exchange.status,
            String::from_utf8_lossy(&exchange.body)
        ));
    }

    fn fail(&self, step: &Step, span: Span, message: String) -> ScenarioError {
        self.scenario
            .error_at(span, format!("{}: {message}", step.describe()))
            .with_help(format!("replay: {}", replay_command(self.scenario)))
    }

    /// Performs the step's action through the API. Returns the exchange and who made it.
    /// Runs the step's action: most become a typed [`Request`] sent through the router as the
    /// step's actor; inbound messages, raw webhooks and added numbers have their own paths.
    async fn act(
        &self,
        sim: &mut Simulation,
        built: &mut BuiltWorld,
        step: &Step,
    ) -> Result<Option<Exchange>, ScenarioError> {
        let span = step.action_span.unwrap_or(step.span);
        let names = StepNames {
            run: self,
            step,
            span,
            names: &built.names,
        };
        let table = |t| free_table(t).map_err(|e| self.fail(step, span, e.message().into()));
        let request = match step.action() {
            Action::Wait => return Ok(None),
            Action::Request(request) => self.raw_request(step, request, &built.names)?,
            Action::Inbound(inbound) => {
                return self.inbound(sim, step, inbound).await.map(Some);
            }
            Action::Webhook(raw) => {
                let mut fields: Vec<_> = raw.fields.iter().flat_map(|f| &f.value).collect();
                fields.sort_by_key(|(key, _)| key.span);
                let mut form = form_urlencoded::Serializer::new(String::new());
                for (key, value) in fields {
                    form.append_pair(key, value);
                }
                let signature = given(&raw.signature);
                let exchange = self.webhook(sim, step, form.finish(), signature).await;
                return exchange.map(Some);
            }
            Action::Number(n) if value_of(&n.action) == Some(NumberVerb::Add) => {
                self.add_number(sim, built, step, n)?;
                return Ok(None);
            }
            Action::Number(n) => {
                let status = value_of(&n.status);
                let status = status.ok_or_else(|| self.fail(step, span, "no `status`".into()))?;
                Request::set_number_status(names.number(&given(&n.number))?, status)
            }
            Action::Send(send) => {
                let (thread, body) = (names.thread(&given(&send.thread))?, given(&send.body));
                match step.actor {
                    Role::Sitter(_) => Request::sitter_send(thread, &body),
                    _ => Request::send(thread, &body),
                }
            }
            Action::Booking(action) => booking_request(action, &names)?,
            Action::Thread(action) => thread_request(action, &names)?,
            Action::Settings(values) => {
                Request::update_rotation_settings(table(values)?.to_value())
            }
            Action::Chaos(config) => Request::update_chaos_settings(table(config)?.to_value()),
            Action::Release(_) => Request::pool_release(),
        };
        let role = step.actor.clone();
        let exchange = self.call_as(sim, built, step, role, request).await?;
        self.remember_created(sim, built, step, &exchange);
        Ok(Some(exchange))
    }

    /// Adds a pool or reserve number mid-scenario through the engine's setup API (not an HTTP
    /// route) and names it, so later steps can refer to it.
    fn add_number(
        &self,
        sim: &Simulation,
        built: &mut BuiltWorld,
        step: &Step,
        number: &NumberActionShape,
    ) -> Result<(), ScenarioError> {
        let span = step.action_span.unwrap_or(step.span);
        let (name, org) = (given(&number.name), given(&number.org));
        let new = switchboard_core::world::NewNumber {
            e164: given(&number.e164),
            class: number.class.as_ref().map_or(NumberClass::Pool, |c| c.value),
            status: switchboard_core::world::NumberStatus::Active,
            sitter: None,
            created_at: None,
        };
        let org = built.orgs[world::org_name(org)];
        let id = sim
            .engine
            .create_number(org, &new)
            .map_err(|e| self.fail(step, span, format!("cannot add number `{name}`: {e}")))?;
        built.names.insert(&name, id);
        Ok(())
    }

    /// Sends `request` through the router as `role` and keeps it for `--dump`.
    async fn call_as(
        &self,
        sim: &mut Simulation,
        built: &BuiltWorld,
        step: &Step,
        role: Role,
        request: Request,
    ) -> Result<Exchange, ScenarioError> {
        let engine = sim.engine.clone();
        let span = step.action_span.unwrap_or(step.span);
        let Request { method, path, body } = request;
        let caller = caller_facts(&engine, built, &role);
        let token = built.token(&role).map(str::to_string);
        let request_body = body.as_ref().map(Value::to_string).unwrap_or_default();
        let exchange = sim
            .call(
                caller,
                Call {
                    method,
                    path: &path,
                    token: token.as_deref(),
                    content_type: "application/json",
                    headers: Vec::new(),
                    body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
                },
            )
            .await
            .map_err(|e| self.scenario.error_at(span, e))?;
        self.record(
            step,
            &format!("{method} {path} as {role}"),
            &request_body,
            &exchange,
        );
        Ok(exchange)
    }

    /// Records the names of what a successful step created (a booking, its thread, a thread).
    fn remember_created(
        &self,
        sim: &Simulation,
        built: &mut BuiltWorld,
        step: &Step,
        exchange: &Exchange,
    ) {
        let engine = &sim.engine;
        if (200..300).contains(&exchange.status) {
            let response = exchange.json();
            let id = response["id"].as_str();
            match step.action() {
                Action::Booking(b) => match value_of(&b.action) {
                    Some(BookingVerb::Create) => {
                        if let Some(id) = id.and_then(BookingId::parse) {
                            built.names.insert(&given(&b.name), id);
                        }
                    }
                    Some(BookingVerb::Confirm) => {
                        let booking = given(&b.booking);
                        let id = built.names.id::<BookingId>(&booking);
                        if let Some(thread) = id.and_then(|b| world::thread_of_booking(engine, b)) {
                            built.names.insert(&booking, thread);
                        }
                    }
                    _ => {}
                },
                Action::Thread(t) if value_of(&t.action) == Some(ThreadVerb::Open) => {
                    if let Some(id) = id.and_then(ThreadId::parse) {
                        built.names.insert(&given(&t.name), id);
                    }
                }
                _ => {}
            }
        }
    }

    /// A scenario's raw `request`: its path and body with `{name}` placeholders filled in.
    fn raw_request(
        &self,
        step: &Step,
        request: &RequestShape,
        names: &crate::names::Names,
    ) -> Result<Request, ScenarioError> {
        let path = request.path.as_ref().map_or(step.span, |p| p.span);
        let fail = |at, message: String| self.fail(step, at, message);
        let unknown = |name| format!("`{{{name}}}` names nothing that exists yet");
        let path = Template::parse(&given(&request.path))
            .map_err(|e| fail(path, e.message))?
            .render_with_context(|name, before| names.path_id(name, before))
            .map_err(|name| fail(path, unknown(name)))?;
        let body = match &request.body {
            Some(body) => {
                let value = json_of(body).map_err(|e| fail(body.span, e))?;
                let mut lookup = |name: &str| {
                    let thread = names.external(name, Kind::Thread).map(str::to_string);
                    thread.or_else(|| names.path_id(name, ""))
                };
                let value = render_json(&value, &mut lookup);
                Some(value.map_err(|name| fail(body.span, unknown(name)))?)
            }
            None => None,
        };
        let method = value_of(&request.method);
        let method = method.ok_or_else(|| fail(step.span, "the request has no `method`".into()))?;
        Ok(Request { method, path, body })
    }

    async fn inbound(
        &self,
        sim: &mut Simulation,
        step: &Step,
        inbound: &InboundShape,
    ) -> Result<Exchange, ScenarioError> {
        let scenario = self.scenario;
        let phone = |end: &Option<Spanned<String>>| -> Result<String, ScenarioError> {
            let (name, span) = (given(end), end.as_ref().map_or(step.span, |e| e.span));
            if name.starts_with('+') {
                return Ok(name);
            }
            let client = scenario.client(&name).map(|c| given(&c.phone));
            client
                .or_else(|| scenario.sitter(&name).map(|s| given(&s.phone)))
                .or_else(|| scenario.number_e164(&name).map(str::to_string))
                .ok_or_else(|| self.fail(step, span, format!("`{name}` has no phone number")))
        };
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("From", &phone(&inbound.from)?)
            .append_pair("To", &phone(&inbound.to)?)
            .append_pair("Body", &given(&inbound.body))
            .append_pair("MessageSid", &inbound.sid(step.index))
            .finish();
        self.webhook(sim, step, form, given(&inbound.signature))
            .await
    }

    /// Posts a form to the provider webhook, signed as asked.
    async fn webhook(
        &self,
        sim: &mut Simulation,
        step: &Step,
        form: String,
        signature: Signature,
    ) -> Result<Exchange, ScenarioError> {
        let scenario = self.scenario;
        let headers = match signature {
            Signature::Valid => vec![(
                api::SIGNATURE_HEADER,
                api::sign_webhook(WEBHOOK_SECRET, form.as_bytes()),
            )],
            Signature::Bad => vec![(
                api::SIGNATURE_HEADER,
                api::sign_webhook("not-the-secret", form.as_bytes()),
            )],
            Signature::Missing => Vec::new(),
        };
        let exchange = sim
            .call(
                CallerFacts::default(),
                Call {
                    method: Method::Post,
                    path: WEBHOOK_PATH,
                    token: None,
                    content_type: "application/x-www-form-urlencoded",
                    headers,
                    body: form.clone().into_bytes(),
                },
            )
            .await
            .map_err(|e| scenario.error_at(step.span, e))?;
        self.record(
            step,
            "POST /api/messages/webhook as the provider",
            &form,
            &exchange,
        );
        Ok(exchange)
    }
}

/// Who a role is, for the invariants.
fn caller_facts(engine: &Engine, built: &BuiltWorld, role: &Role) -> CallerFacts {
    let org = built
        .token(role)
        .and_then(|token| engine.authenticate(token).ok())
        .map(|caller| caller.org.rowid());
    CallerFacts {
        org,
        sitter: matches!(role, Role::Sitter(_)),
    }
}

/// A read an expectation needs failed: a `[harness]` failure naming the check, never a pass.
fn harness(check: &str, error: impl std::fmt::Display) -> String {
    format!("[harness] {check} could not run: {error}")
}

/// The org's last audit sequence number (0 before its first event).
pub(crate) fn last_seq(engine: &Engine, org: OrgId) -> Result<i64, String> {
    engine
        .inspect(|c| {
            c.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE org_id = ?1")
                .and_then(|mut stmt| stmt.query_row([org], |r| r.get(0)))
        })
        .map_err(|e| harness("expect.events (audit sequence)", e))
}

/// The org's audit events after `after_seq`, in sequence order, with symbolic payloads.
fn step_events(
    engine: &Engine,
    org: OrgId,
    after_seq: i64,
    names: &crate::names::Names,
) -> Result<Vec<(EventType, Value)>, String> {
    let query = AuditQuery {
        after_seq: Some(after_seq),
        ..AuditQuery::default()
    };
    let events = engine
        .audit_timeline(org, &query)
        .map_err(|e| harness("expect.events (audit timeline)", e))?;
    events
        .into_iter()
        .map(|e| {
            let payload = serde_json::from_str(&names.symbolize(&e.payload.to_string()))
                .map_err(|error| harness("expect.events (event payload)", error))?;
            Ok((e.event_type, payload))
        })
        .collect()
}

/// The symbolic name of the number a thread is bound to, if any.
fn bound_number(
    engine: &Engine,
    thread: ThreadId,
    names: &crate::names::Names,
) -> Result<Option<String>, String> {
    let number: Option<NumberId> = engine
        .inspect(|c| {
            c.query_row(
                "SELECT number_id FROM threads WHERE id = ?1",
                [thread],
                |r| r.get(0),
            )
        })
        .map_err(|e| harness("expect.bindings", e))?;
    number
        .map(|n| {
            let id = n.to_string();
            names
                .name(&id)
                .map(str::to_string)
                .ok_or_else(|| harness("expect.bindings", format!("number {id} has no name")))
        })
        .transpose()
}

/// The org's open alert types, sorted, without repeats.
fn open_alert_types(engine: &Engine, org: OrgId) -> Result<Vec<String>, String> {
    let mut open: Vec<String> = engine
        .alerts(org, true)
        .map_err(|e| harness("expect.alerts", e))?
        .into_iter()
        .map(|a| a.alert_type.to_string())
        .collect();
    open.sort();
    open.dedup();
    Ok(open)
}

/// Expected values are compared in the symbolic domain: `"{walk-1}"` becomes `"walk-1"`, which is
/// what the symbolized response says for either the booking or its thread.
fn symbolic(value: &Value) -> Value {
    render_json(value, &mut |name| Some(name.to_string())).unwrap_or_else(|_| value.clone())
}

/// Where a JSON subset check failed: the pointer, what was expected there, what was found.
#[derive(Debug, PartialEq)]
struct Mismatch {
    pointer: String,
    expected: Value,
    actual: Option<Value>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        match &self.actual {
            Some(actual) => write!(
                f,
                "at `{pointer}`: expected {}, got {actual}",
                self.expected
            ),
            None => write!(
                f,
                "at `{pointer}`: expected {}, but there is nothing there",
                self.expected
            ),
        }
    }
}

/// Whether `expected` is a subset of `actual`: objects by key, arrays element by element (same
/// length), numbers by value.
fn subset(expected: &Value, actual: &Value, at: &str) -> Result<(), Mismatch> {
    let mismatch = || Mismatch {
        pointer: at.to_string(),
        expected: expected.clone(),
        actual: Some(actual.clone()),
    };
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, w) in want {
                let here = format!("{at}/{key}");
                match have.get(key) {
                    Some(h) => subset(w, h, &here)?,
                    None => {
                        return Err(Mismatch {
                            pointer: here,
                            expected: w.clone(),
                            actual: None,
                        });
                    }
                }
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                subset(w, h, &format!("{at}/{i}"))?;
            }
            Ok(())
        }
        (Value::Number(w), Value::Number(h)) if w.as_f64() == h.as_f64() => Ok(()),
        (w, h) if w == h => Ok(()),
        _ => Err(mismatch()),
    }
}

/// The audit timelines of both orgs, rendered for humans.
pub fn timeline(
    engine: &Engine,
    scenario: &Scenario,
    built: &BuiltWorld,
) -> Result<String, String> {
    let orgs: Vec<(&str, Vec<_>)> = built
        .orgs
        .iter()
        .map(|(name, id)| {
            engine
                .audit_timeline(*id, &AuditQuery::default())
                .map(|events| (*name, events))
                .map_err(|e| harness("timeline (audit timeline)", e))
        })
        .collect::<Result<_, _>>()?;
    Ok(crate::timeline::render(
        &scenario.name,
        scenario.start,
        &orgs,
        &built.setup_seq,
        &built.names,
    ))
}

/// A step's symbolic names, resolved to typed ids; a missing name fails the step at its action.
struct StepNames<'r> {
    run: &'r Run<'r>,
    step: &'r Step,
    span: Span,
    names: &'r crate::names::Names,
}

impl StepNames<'_> {
    fn missing(&self, what: &str, name: &str) -> ScenarioError {
        let hint = if what == "thread" {
            ": is its booking confirmed?"
        } else {
            ""
        };
        self.run.fail(
            self.step,
            self.span,
            format!("{what} `{name}` does not exist (yet){hint}"),
        )
    }

    fn require<I: Id>(&self, what: &str, name: &str) -> Result<I, ScenarioError> {
        self.names
            .id::<I>(name)
            .ok_or_else(|| self.missing(what, name))
    }

    fn thread(&self, name: &str) -> Result<ThreadId, ScenarioError> {
        self.require("thread", name)
    }

    fn booking(&self, name: &str) -> Result<BookingId, ScenarioError> {
        self.require("booking", name)
    }

    fn client(&self, name: &str) -> Result<ClientId, ScenarioError> {
        self.require("client", name)
    }

    fn number(&self, name: &str) -> Result<NumberId, ScenarioError> {
        self.require("number", name)
    }

    /// A sitter, or none when the name is unknown (a booking may be unassigned).
    fn sitter(&self, name: &str) -> Option<SitterId> {
        self.names.id::<SitterId>(name)
    }
}

/// The request of a `booking` step.
fn booking_request(
    action: &BookingActionShape,
    names: &StepNames<'_>,
) -> Result<Request, ScenarioError> {
    let booking = || names.booking(&given(&action.booking));
    let sitter = action.sitter.as_ref().and_then(|s| names.sitter(&s.value));
    let time = |t| names.run.scenario.time(t).map(Timestamp);
    let time = |t| time(t).map_err(|e| names.run.fail(names.step, names.span, e));
    Ok(match value_of(&action.action) {
        Some(BookingVerb::Create) => Request::create_booking(
            names.client(&given(&action.client))?,
            sitter,
            &given(&action.service),
            time(&action.start)?,
            time(&action.end)?,
        ),
        Some(BookingVerb::Confirm) => Request::confirm_booking(booking()?),
        Some(BookingVerb::Complete) => Request::complete_booking(booking()?),
        Some(BookingVerb::Cancel) => Request::cancel_booking(booking()?),
        Some(BookingVerb::Reschedule) => {
            Request::reschedule_booking(booking()?, time(&action.start)?, time(&action.end)?)
        }
        Some(BookingVerb::Reassign) | None => Request::reassign_booking(booking()?, sitter),
    })
}

/// The request of a `thread` step.
fn thread_request(
    action: &ThreadActionShape,
    names: &StepNames<'_>,
) -> Result<Request, ScenarioError> {
    let thread = || names.thread(&given(&action.thread));
    Ok(match value_of(&action.action) {
        Some(ThreadVerb::Open) => Request::open_thread(
            names.client(&given(&action.client))?,
            (action.booking.as_ref()).and_then(|b| names.names.id::<BookingId>(&b.value)),
        ),
        Some(ThreadVerb::Close) => Request::close_thread(thread()?),
        Some(ThreadVerb::Archive) | None => Request::archive_thread(thread()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Builds the world, breaks the database with `sql`, and returns what `read` reports.
    fn broken_read<T: std::fmt::Debug>(
        sql: &str,
        read: impl FnOnce(&Engine, &BuiltWorld) -> Result<T, String>,
    ) -> String {
        let scenario = crate::test_world::one_booking();
        block_on_paused(async {
            let clock = SimClock::new(Timestamp(scenario.start));
            let engine = Engine::new(
                EngineConfig::default(),
                Arc::new(clock),
                Arc::new(RecordingProvider::default()),
            )
            .expect("engine");
            let built = world::build(&engine, &scenario).expect("world");
            engine
                .inspect(|c| c.execute_batch(sql))
                .expect("breaking SQL runs");
            read(&engine, &built).expect_err("a broken read must be reported")
        })
        .expect("runtime")
    }

    fn check(
        sql: &str,
        read: impl FnOnce(&Engine, &BuiltWorld) -> Result<(), String>,
        names: &str,
    ) {
        let report = broken_read(sql, read);
        assert!(
            report.starts_with("[harness] ") && report.contains(names),
            "expected a [harness] report naming {names}, got {report}"
        );
    }

    #[test]
    fn the_release_oracle_reports_settings_it_cannot_read() {
        use crate::invariants::{ReleaseRules, judge_job_run};
        for settings in [
            json!({"postBookingGraceHours": 1, "maxPoolThreadLifetimeDays": 2}),
            json!({"postBookingGraceHours": 1, "inactivityReleaseDays": null, "maxPoolThreadLifetimeDays": 2}),
        ] {
            let error = ReleaseRules::from_json(&settings).expect_err("a missing setting is not 0");
            assert!(
                error.contains("`inactivityReleaseDays` is missing"),
                "{error}"
            );
        }
        let report = broken_read(
            "INSERT OR REPLACE INTO rotation_settings (org_id, settings) SELECT id, 'not json' FROM orgs",
            |e, b| {
                let run = judge_job_run(e, b.main_org().rowid(), 0, 0);
                match run.violations.first() {
                    Some(v) if v.invariant == "harness" => Err(format!("[harness] {}", v.detail)),
                    _ => Ok(run.violations.len()),
                }
            },
        );
        assert!(
            report.contains("release: cannot read the rotation settings"),
            "{report}"
        );
    }

    #[test]
    fn every_read_of_an_expectation_reports_a_failure() {
        let thread = |b: &BuiltWorld| b.names.id::<ThreadId>("walk").expect("walk's thread");
        check(
            "ALTER TABLE audit_events RENAME TO audit_gone",
            |e, b| last_seq(e, b.main_org()).map(drop),
            "expect.events (audit sequence)",
        );
        check(
            "ALTER TABLE audit_events RENAME TO audit_gone",
            |e, b| step_events(e, b.main_org(), 0, &b.names).map(drop),
            "expect.events (audit timeline)",
        );
        check(
            "UPDATE audit_events SET payload = '{\"broken\":'",
            |e, b| step_events(e, b.main_org(), 0, &b.names).map(drop),
            "expect.events",
        );
        check(
            "ALTER TABLE threads RENAME TO threads_gone",
            |e, b| bound_number(e, thread(b), &b.names).map(drop),
            "expect.bindings",
        );
        check(
            "UPDATE threads SET number_id = (SELECT max(id) FROM message_numbers) WHERE 0",
            |e, b| {
                // An unnamed number is reported too (bound to a number the world never named).
                e.inspect(|c| {
                    c.execute_batch(
                        "INSERT INTO message_numbers (org_id, e164, class, status, created_at) SELECT org_id, '+15550109999', 'pool', 'active', 0 FROM threads LIMIT 1;
                         UPDATE threads SET number_id = (SELECT max(id) FROM message_numbers);",
                    )
                })
                .map_err(|e| e.to_string())?;
                bound_number(e, thread(b), &b.names).map(drop)
            },
            "has no name",
        );
        check(
            "DROP TABLE alerts",
            |e, b| open_alert_types(e, b.main_org()).map(drop),
            "expect.alerts",
        );
        check(
            "ALTER TABLE audit_events RENAME TO audit_gone",
            |e, b| timeline(e, &crate::test_world::one_booking(), b).map(drop),
            "timeline",
        );
    }

    #[test]
    fn subset_semantics() {
        let mismatch = |e: Result<(), Mismatch>| e.unwrap_err().to_string();
        assert!(subset(&json!({"a": 1}), &json!({"a": 1.0, "b": 2}), "").is_ok());
        assert_eq!(
            mismatch(subset(
                &json!({"a": {"b": [1, 2]}}),
                &json!({"a": {"b": [1, 3]}}),
                ""
            )),
            "at `/a/b/1`: expected 2, got 3"
        );
        assert_eq!(
            mismatch(subset(&json!({"x": 1}), &json!({}), "")),
            "at `/x`: expected 1, but there is nothing there"
        );
        assert!(subset(&json!([{"a": 1}]), &json!([{"a": 1, "b": 0}]), "").is_ok());
        assert!(subset(&json!([1]), &json!([1, 2]), "").is_err());
    }
}
