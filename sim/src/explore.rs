//! Random exploration: generate scenarios from a seed, run them with every invariant on, and
//! shrink a failing one to a minimal scenario file that `switchboard run` replays.
//!
//! The currency is scenario TOML text: a generated case is an ordinary scenario file, so a
//! failure is written out as-is and becomes a regression test by moving it into `scenarios/`.

use std::path::Path;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::runner::{self, RunOptions};
use crate::scenario::shape::{
    self, BookingActionShape, BookingShape, BookingStatus, BookingVerb, ExpectShape, FreeTable,
    InboundShape, NumberActionShape, NumberShape, NumberStatus, NumberVerb, PersonShape,
    RequestShape, ScenarioShape, StepShape, TimeText, WebhookShape,
};
use crate::scenario::{Method, Org, Scenario, Span, Spanned};

const CLIENTS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const SITTERS: [&str; 2] = ["sam", "sue"];
const NUMBERS: usize = 3;
const BOOKINGS: usize = 6;

/// One generated operation; rendered as one `[[steps]]` table.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The clock moves forward by this duration (`advance`).
    Advance(&'static str),
    /// Booking `bN` is confirmed.
    Confirm(usize),
    /// Booking `bN` is completed.
    Complete(usize),
    /// Booking `bN` is cancelled.
    Cancel(usize),
    /// The owner closes booking `bN`'s thread (`POST /api/threads/{id}/close`).
    Close(usize),
    /// An SMS from a client to a pool number.
    Inbound {
        /// Index into the world's clients.
        client: usize,
        /// Index into the pool numbers (`pool-N+1`).
        number: usize,
        /// Provider message id suffix (`SMxN`; repeats are duplicate deliveries).
        sid: u32,
    },
    /// A sitter sends on booking `bN`'s thread through the sitter API.
    SitterSend {
        /// The booking (and thread) index.
        booking: usize,
        /// Index into the world's sitters.
        sitter: usize,
    },
    /// The owner sends on booking `bN`'s thread.
    OwnerSend(usize),
    /// A sitter reads booking `bN`'s thread (its sitter view).
    SitterView {
        /// The booking (and thread) index.
        booking: usize,
        /// Index into the world's sitters.
        sitter: usize,
    },
    /// A sitter lists their threads.
    SitterList(usize),
    /// A settings change by the owner (`key = value` TOML lines).
    Settings(String),
    /// The release job runs, on behalf of this role.
    Release(&'static str),
    /// Booking `bN` moves to another sitter.
    Reassign {
        /// The booking index.
        booking: usize,
        /// Index into the world's sitters.
        sitter: usize,
    },
    /// Chaos mode on (failures, duplicates and delays all likely) or off.
    Chaos(bool),
    /// A settings change by the rival org's owner.
    RivalSettings(String),
    /// An SMS to the rival org's number from its client.
    RivalInbound(u32),
    /// A pool number joins mid-run (`extra-N`, one per N).
    AddNumber(u32),
    /// A signed webhook with a missing `From` or a `To` that is no phone number.
    RawWebhook {
        /// `true`: no `From`; `false`: a `To` that is no phone number.
        missing_from: bool,
        /// Provider message id suffix (`SMwN`).
        sid: u32,
    },
    /// A booking created with an explicit JSON `null` sitter (JSON text form).
    CreateBooking(u32),
    /// New times for a booking (offsets from the scenario start; some already past, so a bound
    /// thread's grace deadline may fall due at once).
    Reschedule {
        /// The booking index.
        booking: usize,
        /// New start, a scenario time (`-1h`, `+1d`).
        start: &'static str,
        /// New end, a scenario time after `start`.
        end: &'static str,
    },
    /// A world pool number becomes `active`, `quarantined` or `retired`.
    NumberStatus {
        /// Index into the pool numbers (`pool-N+1`).
        number: usize,
        /// The new status.
        status: NumberStatus,
    },
}

/// Times a generated reschedule moves a booking to: past, present, future, short and long.
const RESCHEDULES: [(&str, &str); 5] = [
    ("-10d", "-9d23h"),
    ("-1h", "+30m"),
    ("+1h", "+2h"),
    ("+1d", "+1d2h"),
    ("+5d", "+8d"),
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[(rng.next_u64() % items.len() as u64) as usize]
}

fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// A random operation. Settings values stay valid: exploration looks for engine bugs, not for
/// validation messages (those have their own tests).
pub fn random_op(rng: &mut ChaCha8Rng) -> Op {
    match below(rng, 22) {
        20 => {
            let (start, end) = pick(rng, &RESCHEDULES);
            Op::Reschedule {
                booking: below(rng, BOOKINGS),
                start,
                end,
            }
        }
        21 => Op::NumberStatus {
            number: below(rng, NUMBERS),
            status: pick(
                rng,
                &[
                    NumberStatus::Active,
                    NumberStatus::Quarantined,
                    NumberStatus::Quarantined,
                    NumberStatus::Retired,
                ],
            ),
        },
        14 => Op::Chaos(rng.next_u32().is_multiple_of(2)),
        15 => match settings_change(rng) {
            Op::Settings(kv) => Op::RivalSettings(kv),
            other => other,
        },
        16 => Op::RivalInbound(rng.next_u32() % 6),
        17 => Op::AddNumber(rng.next_u32() % 1000),
        18 => Op::RawWebhook {
            missing_from: rng.next_u32().is_multiple_of(2),
            sid: rng.next_u32() % 6,
        },
        19 => Op::CreateBooking(rng.next_u32() % 1000),
        0 | 1 => Op::Advance(pick(rng, &["0s", "1s", "1m", "5m", "1h", "6h", "1d", "3d"])),
        2 => Op::Confirm(below(rng, BOOKINGS)),
        3 => Op::Complete(below(rng, BOOKINGS)),
        4 => Op::Cancel(below(rng, BOOKINGS)),
        5 => Op::Close(below(rng, BOOKINGS)),
        6 | 7 => Op::Inbound {
            client: below(rng, CLIENTS.len()),
            number: below(rng, NUMBERS),
            sid: (rng.next_u32() % 6),
        },
        8 => Op::SitterSend {
            booking: below(rng, BOOKINGS),
            sitter: below(rng, SITTERS.len()),
        },
        9 => Op::OwnerSend(below(rng, BOOKINGS)),
        10 => Op::SitterView {
            booking: below(rng, BOOKINGS),
            sitter: below(rng, SITTERS.len()),
        },
        11 => Op::SitterList(below(rng, SITTERS.len())),
        12 => settings_change(rng),
        _ => {
            if rng.next_u32().is_multiple_of(2) {
                Op::Reassign {
                    booking: below(rng, BOOKINGS),
                    sitter: below(rng, SITTERS.len()),
                }
            } else {
                Op::Release(pick(
                    rng,
                    &["owner", "admin", "sitter:sam", "rival-owner", "anonymous"],
                ))
            }
        }
    }
}

/// A valid change of one rotation setting (every strategy and key reachable).
fn settings_change(rng: &mut ChaCha8Rng) -> Op {
    {
        {
            let key = pick(
                rng,
                &[
                    "maxConcurrentThreadsPerPoolNumber",
                    "stickyReuseDays",
                    "postBookingGraceHours",
                    "inactivityReleaseDays",
                    "maxPoolThreadLifetimeDays",
                    "minPoolReserve",
                    "poolSelectionStrategy",
                    "stickyReuseKey",
                ],
            );
            let value = match key {
                "poolSelectionStrategy" => {
                    format!("\"{}\"", pick(rng, &["LRU", "FIFO", "HASH_SHUFFLE"]))
                }
                "stickyReuseKey" => format!("\"{}\"", pick(rng, &["clientId", "threadId"])),
                "maxConcurrentThreadsPerPoolNumber" | "maxPoolThreadLifetimeDays" => {
                    (1 + below(rng, 3)).to_string()
                }
                _ => below(rng, 4).to_string(),
            };
            Op::Settings(format!("{key} = {value}"))
        }
    }
}

/// A value as the shapes hold it; the explorer's values have no source position.
fn v<T>(value: T) -> Option<Spanned<T>> {
    Some(Spanned::new(value, Span::default()))
}

fn text(value: impl Into<String>) -> Option<Spanned<String>> {
    v(value.into())
}

/// A free-form table from `key = value` TOML text (the generator's settings changes).
fn free_table(kv: &str) -> Option<Spanned<FreeTable>> {
    let table: toml::Table = toml::from_str(kv).unwrap_or_default();
    v(table
        .into_iter()
        .map(|(k, value)| {
            (
                Spanned::new(k, Span::default()),
                Spanned::new(value, Span::default()),
            )
        })
        .collect())
}

fn person(name: &str, phone: String, org: Option<Org>) -> Spanned<PersonShape> {
    Spanned::new(
        PersonShape {
            name: text(name),
            phone: text(phone),
            email: text(format!("{name}@example.com")),
            org: org.and_then(v),
            ..PersonShape::default()
        },
        Span::default(),
    )
}

/// The fixed world of every generated scenario: 3 pool numbers, 4 clients, 2 sitters, 6 pending
/// bookings spread over the first days, and the rival org's number, client and confirmed booking
/// (so it has a bound thread).
fn world(seed: u64) -> ScenarioShape {
    let mut shape = ScenarioShape {
        name: text(format!("explored case (seed {seed})")),
        description: Some("Generated by switchboard explore; replay with switchboard run.".into()),
        seed: v(seed as i64),
        start: v(TimeText("2026-03-02T09:00:00Z".into())),
        settings: free_table("minPoolReserve = 1"),
        ..ScenarioShape::default()
    };
    let number = |name: String, e164: String, org: Option<Org>| {
        let number = NumberShape {
            name: text(name),
            e164: text(e164),
            org: org.and_then(v),
            ..NumberShape::default()
        };
        Spanned::new(number, Span::default())
    };
    for i in 1..=NUMBERS {
        let n = number(format!("pool-{i}"), format!("+1555010000{i}"), None);
        shape.numbers.push(n);
    }
    shape.numbers.push(number(
        "rival-1".into(),
        "+15550109001".into(),
        Some(Org::Rival),
    ));
    for (i, sitter) in SITTERS.iter().enumerate() {
        let phone = format!("+1555020000{}", i + 1);
        shape.sitters.push(person(sitter, phone, None));
    }
    for (i, client) in CLIENTS.iter().enumerate() {
        let phone = format!("+1555030000{}", i + 1);
        shape.clients.push(person(client, phone, None));
    }
    shape
        .clients
        .push(person("zed", "+15550309001".into(), Some(Org::Rival)));
    let booking =
        |name: String, client: &str, sitter: Option<&str>, service, times: [String; 2]| {
            let [start, end] = times;
            let booking = BookingShape {
                name: text(name),
                client: text(client),
                sitter: sitter.and_then(text),
                service: text(service),
                start: v(TimeText(start)),
                end: v(TimeText(end)),
                status: sitter.and(v(BookingStatus::Pending)),
            };
            Spanned::new(booking, Span::default())
        };
    for b in 0..BOOKINGS {
        let service = if b % 3 == 2 {
            "Housesitting"
        } else {
            "Dog Walking"
        };
        let times = [format!("+{}h", 2 + b * 7), format!("+{}h", 4 + b * 7)];
        let (client, sitter) = (CLIENTS[b % CLIENTS.len()], SITTERS[b % SITTERS.len()]);
        let b = booking(format!("b{b}"), client, Some(sitter), service, times);
        shape.bookings.push(b);
    }
    let rival = ["+1d".to_string(), "+1d1h".to_string()];
    let b = booking("rival-walk".into(), "zed", None, "Dog Walking", rival);
    shape.bookings.push(b);
    shape
}

/// Renders operations as a scenario file.
pub fn render(seed: u64, ops: &[Op]) -> String {
    render_with_statuses(seed, ops, &[])
}

/// Renders operations with the statuses a run observed as `expect.status`, so that the file
/// replays under `switchboard run` (which fails on an unexpected refusal) exactly as explored.
pub fn render_with_statuses(seed: u64, ops: &[Op], statuses: &[Option<u16>]) -> String {
    shape::render(&scenario_shape(seed, ops, statuses))
}

/// The generated scenario as shape structs (what [`render_with_statuses`] writes).
pub fn scenario_shape(seed: u64, ops: &[Op], statuses: &[Option<u16>]) -> ScenarioShape {
    let mut shape = world(seed);
    for (i, op) in ops.iter().enumerate() {
        let mut step = step_shape(op);
        if let Some(Some(status)) = statuses.get(i) {
            let expect = ExpectShape {
                status: v(i64::from(*status)),
                ..ExpectShape::default()
            };
            step.expect = v(expect);
        }
        shape.steps.push(Spanned::new(step, Span::default()));
    }
    shape
}

fn request(actor: &str, method: Method, path: String, body: Option<&str>) -> StepShape {
    let body = body.map(|b| toml::Value::Table(toml::from_str(b).unwrap_or_default()));
    let request = RequestShape {
        actor: text(actor),
        method: v(method),
        path: text(path),
        body: body.and_then(v),
    };
    StepShape {
        request: v(request),
        ..StepShape::default()
    }
}

fn booking_step(verb: BookingVerb, booking: usize) -> BookingActionShape {
    BookingActionShape {
        action: v(verb),
        booking: text(format!("b{booking}")),
        ..BookingActionShape::default()
    }
}

fn inbound(from: &str, to: String, body: String, sid: String) -> StepShape {
    let inbound = InboundShape {
        from: text(from),
        to: text(to),
        body: text(body),
        sid: text(sid),
        signature: None,
    };
    StepShape {
        inbound: v(inbound),
        ..StepShape::default()
    }
}

fn webhook(fields: &[(&str, &str)]) -> StepShape {
    let fields = fields
        .iter()
        .map(|(k, val)| {
            (
                Spanned::new(k.to_string(), Span::default()),
                Spanned::new(val.to_string(), Span::default()),
            )
        })
        .collect();
    let webhook = WebhookShape {
        fields: v(fields),
        signature: None,
    };
    StepShape {
        webhook: v(webhook),
        ..StepShape::default()
    }
}

/// One generated operation as a `[[steps]]` table.
fn step_shape(op: &Op) -> StepShape {
    let sitter = |s: usize| format!("sitter:{}", SITTERS[s]);
    match op {
        Op::Advance(d) => StepShape {
            advance: text(*d),
            ..StepShape::default()
        },
        Op::Confirm(b) => booking_shape(booking_step(BookingVerb::Confirm, *b)),
        Op::Complete(b) => booking_shape(booking_step(BookingVerb::Complete, *b)),
        Op::Cancel(b) => booking_shape(booking_step(BookingVerb::Cancel, *b)),
        Op::Reassign { booking: b, sitter } => booking_shape(BookingActionShape {
            sitter: text(SITTERS[*sitter]),
            ..booking_step(BookingVerb::Reassign, *b)
        }),
        Op::Reschedule {
            booking,
            start,
            end,
        } => reschedule_step(*booking, start, end),
        Op::Close(b) => {
            let path = format!("/api/threads/{{b{b}}}/close");
            request("owner", Method::Post, path, None)
        }
        Op::Inbound {
            client,
            number,
            sid,
        } => inbound(
            CLIENTS[*client],
            format!("pool-{}", number + 1),
            format!("hello, call me at +1555030000{}", client + 1),
            format!("SMx{sid}"),
        ),
        Op::SitterSend { booking, sitter: s } => request(
            &sitter(*s),
            Method::Post,
            format!("/api/sitter/threads/{{b{booking}}}/messages"),
            Some("body = \"on my way\""),
        ),
        Op::OwnerSend(b) => request(
            "owner",
            Method::Post,
            format!("/api/threads/{{b{b}}}/messages"),
            Some("body = \"reminder\""),
        ),
        Op::SitterView { booking, sitter: s } => {
            let path = format!("/api/sitter/threads/{{b{booking}}}/messages");
            request(&sitter(*s), Method::Get, path, None)
        }
        Op::SitterList(s) => request(&sitter(*s), Method::Get, "/api/sitter/threads".into(), None),
        Op::Settings(kv) => settings_step(None, kv),
        Op::RivalSettings(kv) => settings_step(Some("rival-owner"), kv),
        Op::Release(role) => StepShape {
            actor: text(*role),
            release: v(true),
            ..StepShape::default()
        },
        Op::Chaos(on) => chaos_step(*on),
        Op::RivalInbound(sid) => inbound(
            "zed",
            "rival-1".into(),
            "zed here, +15550309001".into(),
            format!("SMr{sid}"),
        ),
        Op::AddNumber(n) => add_number_step(*n),
        Op::NumberStatus { number: n, status } => number_shape(NumberActionShape {
            action: v(NumberVerb::Status),
            number: text(format!("pool-{}", n + 1)),
            status: v(*status),
            ..NumberActionShape::default()
        }),
        Op::RawWebhook { missing_from, sid } => raw_webhook_step(*missing_from, *sid),
        Op::CreateBooking(n) => create_booking_step(*n),
    }
}

/// A `booking` step.
fn booking_shape(action: BookingActionShape) -> StepShape {
    StepShape {
        booking: v(action),
        ..StepShape::default()
    }
}

/// Pool number `extra-N` joins (`+1555011NNNN`).
fn add_number_step(n: u32) -> StepShape {
    number_shape(NumberActionShape {
        action: v(NumberVerb::Add),
        name: text(format!("extra-{n}")),
        e164: text(format!("+1555011{n:04}")),
        ..NumberActionShape::default()
    })
}

/// A `number` step.
fn number_shape(action: NumberActionShape) -> StepShape {
    StepShape {
        number: v(action),
        ..StepShape::default()
    }
}

/// New times for booking `b` (offsets from the scenario start).
fn reschedule_step(b: usize, start: &str, end: &str) -> StepShape {
    booking_shape(BookingActionShape {
        start: v(TimeText(start.to_string())),
        end: v(TimeText(end.to_string())),
        ..booking_step(BookingVerb::Reschedule, b)
    })
}

/// A `settings` step written as TOML `kv` lines, by `actor` (default: the owner).
fn settings_step(actor: Option<&str>, kv: &str) -> StepShape {
    StepShape {
        actor: actor.and_then(text),
        settings: free_table(kv),
        ..StepShape::default()
    }
}

/// Fault injection on (30% failures, duplicates and 2-minute delays) or off.
fn chaos_step(on: bool) -> StepShape {
    let p = if on { "0.3" } else { "0.0" };
    let delay = if on { 120_000 } else { 0 };
    let kv = format!(
        "enabled = {on}\nfailureProbability = {p}\nduplicateProbability = {p}\ndelayProbability = {p}\ndelayMs = {delay}"
    );
    StepShape {
        chaos: free_table(&kv),
        ..StepShape::default()
    }
}

/// A signed webhook without `From`, or with a `To` that is no phone number.
fn raw_webhook_step(missing_from: bool, sid: u32) -> StepShape {
    let sid = format!("SMw{sid}");
    if missing_from {
        webhook(&[
            ("To", "+15550100001"),
            ("Body", "no sender"),
            ("MessageSid", &sid),
        ])
    } else {
        webhook(&[
            ("From", "+15550300001"),
            ("To", "not-a-number"),
            ("Body", "lost"),
            ("MessageSid", &sid),
        ])
    }
}

/// `POST /api/bookings` with an explicit JSON `null` sitter (the `{ json = '...' }` form).
fn create_booking_step(n: u32) -> StepShape {
    let day = 2 + n % 7;
    let json = format!(
        "{{\"clientId\": \"{{alice}}\", \"sitterId\": null, \"service\": \"Dog Walking\", \"start\": \"2026-03-0{day}T09:00:00Z\", \"end\": \"2026-03-0{day}T10:00:00Z\"}}"
    );
    let body = toml::Value::Table(toml::Table::from_iter([(
        "json".to_string(),
        toml::Value::String(json),
    )]));
    let mut step = request("owner", Method::Post, "/api/bookings".into(), None);
    if let Some(r) = step.request.as_mut() {
        r.value.body = v(body);
    }
    step
}

/// Runs a generated case; `Err` holds the rendered failure. Paths and placeholders that name a
/// thread not yet opened make the case unusable, not failing: those are skipped as passing.
pub fn check(seed: u64, ops: &[Op], options: &RunOptions) -> Result<(), String> {
    run_case(seed, ops, options).0
}

/// Runs a generated case: the verdict of [`check`] and the status each step got.
pub fn run_case(
    seed: u64,
    ops: &[Op],
    options: &RunOptions,
) -> (Result<(), String>, Vec<Option<u16>>) {
    let source = render(seed, ops);
    let scenario = match Scenario::parse(Path::new("explored.toml"), &source) {
        Ok(scenario) => scenario,
        Err(error) => {
            return (
                Err(format!(
                    "generated an unparsable scenario (explorer bug):\n{}",
                    error.render()
                )),
                Vec::new(),
            );
        }
    };
    let outcome = runner::run_verdict(&scenario, options);
    let verdict = match outcome.failure {
        None => Ok(()),
        Some(failure) => {
            let report = failure.report.render();
            // A step that names a thread whose booking was never confirmed is not a finding.
            if report.contains("does not exist (yet)")
                || report.contains("names nothing that exists yet")
            {
                Ok(())
            } else {
                Err(report)
            }
        }
    };
    (verdict, outcome.statuses)
}

/// The shrunk failing case as a replayable scenario file.
pub fn failure_file(seed: u64, ops: &[Op], options: &RunOptions) -> String {
    let (_, statuses) = run_case(seed, ops, options);
    render_with_statuses(seed, ops, &statuses)
}

/// Options for exploration: every invariant on, any status accepted.
pub fn options() -> RunOptions {
    RunOptions {
        any_status: true,
        ..RunOptions::default()
    }
}

/// Generates the operations of case `case` of a run seeded with `seed`. A small model of the
/// bookings keeps thread operations to bookings whose confirmation opened a thread, so most
/// generated steps reach the engine.
pub fn generate(seed: u64, case: u64, len: usize) -> Vec<Op> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut pending = [true; BOOKINGS];
    let mut has_thread = [false; BOOKINGS];
    let mut ops = Vec::with_capacity(len);
    while ops.len() < len {
        let op = random_op(&mut rng);
        let thread_of = |op: &Op| match op {
            Op::Close(b) | Op::OwnerSend(b) => Some(*b),
            Op::SitterSend { booking, .. } | Op::SitterView { booking, .. } => Some(*booking),
            _ => None,
        };
        if thread_of(&op).is_some_and(|b| !has_thread[b]) {
            continue;
        }
        // Each added number has its own name.
        if let Op::AddNumber(n) = op
            && ops.contains(&Op::AddNumber(n))
        {
            continue;
        }
        match op {
            Op::Confirm(b) if pending[b] => {
                pending[b] = false;
                has_thread[b] = true;
            }
            Op::Cancel(b) => pending[b] = false,
            _ => {}
        }
        ops.push(op);
    }
    ops
}

/// Removes operations while the case still fails: first runs of operations (half the case,
/// then a quarter, ...), then one at a time, until no single removal keeps it failing.
pub fn shrink(seed: u64, mut ops: Vec<Op>, options: &RunOptions) -> Vec<Op> {
    let mut block = ops.len() / 2;
    while block > 1 {
        let mut start = 0;
        while start + block <= ops.len() {
            let mut candidate = ops.clone();
            candidate.drain(start..start + block);
            if check(seed, &candidate, options).is_err() {
                ops = candidate;
            } else {
                start += block;
            }
        }
        block /= 2;
    }
    let mut i = 0;
    while i < ops.len() {
        let mut candidate = ops.clone();
        candidate.remove(i);
        if check(seed, &candidate, options).is_err() {
            ops = candidate;
        } else {
            i += 1;
        }
    }
    ops
}

/// A failing generated case: where it came from, its operations and the report.
#[derive(Debug, Clone)]
pub struct FoundFailure {
    /// The exploration seed the case was drawn from.
    pub seed: u64,
    /// The case's index under `seed`: `(seed, case)` regenerates it exactly.
    pub case: u64,
    /// The generated operations, in step order.
    pub ops: Vec<Op>,
    /// The rendered failure report of the case (what `check` returned).
    pub report: String,
}

/// Runs cases `cases` of `seed` (each `steps` operations long) until the first failure.
/// Returns how many cases ran.
pub fn run_range(
    seed: u64,
    cases: std::ops::Range<u64>,
    steps: usize,
    options: &RunOptions,
) -> Result<u64, Box<FoundFailure>> {
    let mut ran = 0;
    for case in cases {
        let ops = generate(seed, case, steps);
        if let Err(report) = check(seed, &ops, options) {
            return Err(Box::new(FoundFailure {
                seed,
                case,
                ops,
                report,
            }));
        }
        ran += 1;
    }
    Ok(ran)
}

/// Shrinks a failure and writes it as a replayable scenario file under `out`; returns its path.
pub fn write_shrunk(
    failure: &FoundFailure,
    out: &Path,
    options: &RunOptions,
) -> std::io::Result<std::path::PathBuf> {
    let shrunk = shrink(failure.seed, failure.ops.clone(), options);
    let file = out.join(format!(
        "explore-seed-{}-case-{}.toml",
        failure.seed, failure.case
    ));
    std::fs::create_dir_all(out)?;
    std::fs::write(&file, failure_file(failure.seed, &shrunk, options))?;
    Ok(file)
}

/// The settings of an exploration swarm run as tests, from the environment:
/// `SWITCHBOARD_EXPLORE_CASES` (total cases, default 16: a smoke run in debug builds; CI
/// and swarms set more), `SWITCHBOARD_EXPLORE_CHUNK` (cases per trial, default 8),
/// `SWITCHBOARD_EXPLORE_SEED` (default 1), `SWITCHBOARD_EXPLORE_STEPS` (operations per case,
/// default 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwarmConfig {
    /// The exploration seed (`SWITCHBOARD_EXPLORE_SEED`).
    pub seed: u64,
    /// Total cases to run (`SWITCHBOARD_EXPLORE_CASES`).
    pub cases: u64,
    /// Cases per trial (`SWITCHBOARD_EXPLORE_CHUNK`).
    pub chunk: u64,
    /// Operations per case (`SWITCHBOARD_EXPLORE_STEPS`).
    pub steps: usize,
}

impl SwarmConfig {
    /// Reads the environment; a variable that is set but not a number is an error.
    pub fn from_env() -> Result<SwarmConfig, String> {
        fn var(name: &str, default: u64) -> Result<u64, String> {
            match std::env::var(name) {
                Ok(text) => text
                    .trim()
                    .parse()
                    .map_err(|e| format!("{name}={text:?} is not a number: {e}")),
                Err(std::env::VarError::NotPresent) => Ok(default),
                Err(e) => Err(format!("{name}: {e}")),
            }
        }
        Ok(SwarmConfig {
            seed: var("SWITCHBOARD_EXPLORE_SEED", 1)?,
            cases: var("SWITCHBOARD_EXPLORE_CASES", 16)?,
            chunk: var("SWITCHBOARD_EXPLORE_CHUNK", 8)?.max(1),
            steps: var("SWITCHBOARD_EXPLORE_STEPS", 40)? as usize,
        })
    }

    /// The case ranges, one per trial.
    pub fn ranges(&self) -> Vec<std::ops::Range<u64>> {
        (0..self.cases.div_ceil(self.chunk))
            .map(|i| i * self.chunk..((i + 1) * self.chunk).min(self.cases))
            .collect()
    }
}
