//! A busy org's year driven through the harness: 1,000 pool numbers, 100,000 bookings and
//! 1,000,000 inbound messages over 365 simulated days, every booking and message a real request
//! through the Router, the release job every 5 simulated minutes, and every invariant checked
//! after every step (one step = one simulated hour).
//!
//! `cargo bench --bench busy_year` measures one simulated day at the year's load (criterion);
//! `SWITCHBOARD_FULL_YEAR=1 cargo bench --bench busy_year` also runs the whole year once and
//! prints the wall time, simulated seconds per wall second, and where the time went.

use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_core::requests::Method;

use criterion::{Criterion, criterion_group};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde_json::json;
use switchboard_core::auth::Role;
use switchboard_core::messaging::RecordingProvider;
use switchboard_core::world::{NewContact, NewNumber, NumberClass, NumberStatus};
use switchboard_core::{Engine, EngineConfig, Timestamp, api};
use switchboard_sim::clock::SimClock;
use switchboard_sim::http::{Call, Exchange};
use switchboard_sim::runner::WEBHOOK_SECRET;
use switchboard_sim::simulation::{CallerFacts, Simulation, block_on_paused};

const START: i64 = 1_772_442_000; // 2026-03-02T09:00:00Z
const NUMBERS: usize = 1_000;
const CLIENTS: usize = 20_000;
const SITTERS: usize = 200;
const BOOKINGS_PER_YEAR: u64 = 100_000;
const MESSAGES_PER_YEAR: u64 = 1_000_000;
const HOURS_PER_YEAR: u64 = 365 * 24;

/// Where the wall time went.
#[derive(Debug, Default, Clone, Copy)]
struct Profile {
    setup: Duration,
    bookings: Duration,
    messages: Duration,
    invariants: Duration,
    clock: Duration,
    requests: u64,
    steps: u64,
    release_runs: u64,
}

/// A booking whose window the message generator draws from.
struct Booking {
    id: String,
    client: usize,
    window_start: i64,
    window_end: i64,
}

/// The busy org and the simulation driving it.
struct BusyOrg {
    engine: Arc<Engine>,
    sim: Simulation,
    owner: CallerFacts,
    owner_token: String,
    sitters: Vec<i64>,
    clients: Vec<i64>,
    client_phones: Vec<String>,
    pool: Vec<String>,
    rng: ChaCha8Rng,
    /// Bookings whose window has not yet ended.
    active: Vec<Booking>,
    /// The last provider message SID sent.
    sid: u64,
}

fn contact(kind: &str, i: usize, base: usize) -> NewContact {
    NewContact {
        first_name: format!("{kind}{i}"),
        last_name: String::new(),
        phone: format!("+1{}", 2_000_000_000 + base + i),
        email: format!("{kind}{i}@example.com"),
    }
}

impl BusyOrg {
    /// The org, its owner, settings, sitters, clients and pool, and the simulation at `START`.
    fn new() -> BusyOrg {
        let clock = SimClock::new(Timestamp(START));
        let config = EngineConfig {
            seed: 42,
            webhook_secret: Some(WEBHOOK_SECRET.into()),
            ..EngineConfig::default()
        };
        let engine = Arc::new(
            Engine::new(
                config,
                Arc::new(clock),
                Arc::new(RecordingProvider::default()),
            )
            .expect("engine"),
        );
        let org = engine.create_org("busy").expect("org");
        let owner = engine
            .create_user(org, "owner", Role::Owner, None)
            .expect("owner");
        let owner_token = engine.mint_token(owner).expect("token");
        engine
            .update_rotation_settings(
                org,
                "bench",
                &json!({"maxConcurrentThreadsPerPoolNumber": 3, "postBookingGraceHours": 24, "inactivityReleaseDays": 2, "minPoolReserve": 10}),
            )
            .expect("settings");
        let sitters: Vec<i64> = (0..SITTERS)
            .map(|i| {
                engine
                    .create_sitter(org, &contact("sitter", i, 100_000_000))
                    .expect("sitter")
                    .rowid()
            })
            .collect();
        let clients: Vec<i64> = (0..CLIENTS)
            .map(|i| {
                engine
                    .create_client(org, &contact("client", i, 300_000_000))
                    .expect("client")
                    .rowid()
            })
            .collect();
        let client_phones: Vec<String> = (0..CLIENTS)
            .map(|i| contact("client", i, 300_000_000).phone)
            .collect();
        let pool: Vec<String> = (0..NUMBERS)
            .map(|i| format!("+1{}", 5_550_100_000u64 + i as u64))
            .collect();
        for e164 in &pool {
            engine
                .create_number(
                    org,
                    &NewNumber {
                        e164: e164.clone(),
                        class: NumberClass::Pool,
                        status: NumberStatus::Active,
                        sitter: None,
                        created_at: None,
                    },
                )
                .expect("number");
        }
        BusyOrg {
            sim: Simulation::new(engine.clone(), clock, START),
            engine,
            owner: CallerFacts {
                org: Some(org.rowid()),
                sitter: false,
            },
            owner_token,
            sitters,
            clients,
            client_phones,
            pool,
            rng: ChaCha8Rng::seed_from_u64(7),
            active: Vec::new(),
            sid: 0,
        }
    }

    /// The hour's bookings, spread evenly over the year, each created and confirmed about a day
    /// ahead; returns how many requests that took.
    async fn book(&mut self, hour: u64, now: i64) -> u64 {
        let due = (hour + 1) * BOOKINGS_PER_YEAR / HOURS_PER_YEAR
            - hour * BOOKINGS_PER_YEAR / HOURS_PER_YEAR;
        for _ in 0..due {
            let client = (self.rng.next_u64() % CLIENTS as u64) as usize;
            let sitter = self.sitters[(self.rng.next_u64() % SITTERS as u64) as usize];
            let start = now + 20 * 3600 + (self.rng.next_u64() % (8 * 3600)) as i64;
            let end = start + 3600;
            let body = json!({
                "clientId": format!("cli_{}", self.clients[client]),
                "sitterId": format!("sit_{sitter}"),
                "service": "Dog Walking",
                "start": Timestamp(start).rfc3339(),
                "end": Timestamp(end).rfc3339(),
            });
            let created = self
                .owner_call("/api/bookings", body.to_string().into_bytes())
                .await;
            let id = created.json()["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.owner_call(&format!("/api/bookings/{id}/confirm"), Vec::new())
                .await;
            self.active.push(Booking {
                id,
                client,
                window_start: start - 3600,
                window_end: end + 3600,
            });
        }
        self.active.retain(|b| b.window_end > now);
        2 * due
    }

    /// A JSON `POST` by the owner through the Router.
    async fn owner_call(&mut self, path: &str, body: Vec<u8>) -> Exchange {
        let call = Call {
            method: Method::Post,
            path,
            token: Some(&self.owner_token),
            content_type: "application/json",
            headers: Vec::new(),
            body,
        };
        self.sim.call(self.owner, call).await.expect("owner call")
    }

    /// The hour's inbound messages, from clients whose window is open (or about to be) to
    /// their thread's number; returns how many webhooks were sent.
    async fn message(&mut self, hour: u64, now: i64) -> u64 {
        let due = (hour + 1) * MESSAGES_PER_YEAR / HOURS_PER_YEAR
            - hour * MESSAGES_PER_YEAR / HOURS_PER_YEAR;
        let open: Vec<usize> = (0..self.active.len())
            .filter(|&i| self.active[i].window_start <= now + 3600)
            .collect();
        for _ in 0..due {
            let (from, to) = match open.is_empty() {
                true => (self.client_phones[0].clone(), self.pool[0].clone()),
                false => {
                    let booking =
                        &self.active[open[(self.rng.next_u64() % open.len() as u64) as usize]];
                    let to = self.number_of(booking);
                    (
                        self.client_phones[booking.client].clone(),
                        to.unwrap_or_else(|| self.pool[0].clone()),
                    )
                }
            };
            self.webhook(&from, &to).await;
        }
        due
    }

    /// The number a booking's thread is bound to, if any.
    fn number_of(&self, booking: &Booking) -> Option<String> {
        // From the statement cache: this runs once per webhook (1,000,000 times a year), and
        // parsing it afresh each time cost about 6% of the year's wall time, none of it the
        // engine's.
        self.engine.inspect(|c| {
            c.prepare_cached(
                "SELECT n.e164 FROM threads t JOIN message_numbers n ON n.id = t.number_id WHERE t.booking_id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    [booking.id.trim_start_matches("bkg_").parse::<i64>().unwrap_or(0)],
                    |r| r.get(0),
                )
            })
            .ok()
        })
    }

    /// One signed inbound webhook; one in fifty is a provider retry of the previous one.
    async fn webhook(&mut self, from: &str, to: &str) {
        self.sid += 1;
        let sid = self.sid;
        let message_sid = if sid.is_multiple_of(50) {
            format!("SM{}", sid - 1)
        } else {
            format!("SM{sid}")
        };
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("From", from)
            .append_pair("To", to)
            .append_pair("Body", "Is the walk still on?")
            .append_pair("MessageSid", &message_sid)
            .finish();
        let signature = api::sign_webhook(WEBHOOK_SECRET, form.as_bytes());
        let call = Call {
            method: Method::Post,
            path: "/api/messages/webhook",
            token: None,
            content_type: "application/x-www-form-urlencoded",
            headers: vec![(api::SIGNATURE_HEADER, signature)],
            body: form.into_bytes(),
        };
        self.sim
            .call(CallerFacts::default(), call)
            .await
            .expect("webhook");
    }
}

/// Simulates `hours` hours of the busy org; returns the profile.
fn simulate(hours: u64) -> Profile {
    block_on_paused(async move {
        let mut profile = Profile::default();
        let setup = Instant::now();
        let mut busy = BusyOrg::new();
        profile.setup = setup.elapsed();
        for hour in 0..hours {
            let now = START + hour as i64 * 3600;
            let t = Instant::now();
            busy.sim.advance_to(now).await.expect("clock");
            profile.clock += t.elapsed();
            let t = Instant::now();
            profile.requests += busy.book(hour, now).await;
            profile.bookings += t.elapsed();
            let t = Instant::now();
            profile.requests += busy.message(hour, now).await;
            profile.messages += t.elapsed();
            let t = Instant::now();
            let violations = busy.sim.finish_step();
            assert!(violations.is_empty(), "hour {hour}: {violations:?}");
            profile.invariants += t.elapsed();
            profile.steps += 1;
        }
        profile.release_runs = busy.sim.release_runs();
        profile
    })
    .expect("runtime")
}

fn report(label: &str, hours: u64, wall: Duration, p: &Profile) {
    let simulated = hours as f64 * 3600.0;
    let run = wall.saturating_sub(p.setup);
    println!(
        "{label}: {hours} simulated hours in {:.1} s wall ({:.1} s setup), {} requests, {} release-job runs, {} invariant checks",
        wall.as_secs_f64(),
        p.setup.as_secs_f64(),
        p.requests,
        p.release_runs,
        p.steps
    );
    println!(
        "  simulated seconds per wall second: {:.0}",
        simulated / run.as_secs_f64()
    );
    for (what, d) in [
        ("bookings (create + confirm via Router)", p.bookings),
        ("inbound webhooks via Router", p.messages),
        ("invariants", p.invariants),
        ("clock + release job", p.clock),
    ] {
        println!(
            "  {what:<40} {:>8.2} s  {:>5.1}%",
            d.as_secs_f64(),
            100.0 * d.as_secs_f64() / run.as_secs_f64()
        );
    }
}

fn one_day(c: &mut Criterion) {
    let mut group = c.benchmark_group("busy_year");
    group.sample_size(10);
    group.bench_function("one_day_at_year_load", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let p = simulate(24);
                total += p.bookings + p.messages + p.invariants + p.clock;
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, one_day);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::var_os("SWITCHBOARD_FULL_YEAR").is_some() {
        // SWITCHBOARD_HOURS shortens the run (profiling); the default is the whole year.
        let hours = std::env::var("SWITCHBOARD_HOURS")
            .ok()
            .and_then(|h| h.parse().ok())
            .unwrap_or(HOURS_PER_YEAR);
        let started = Instant::now();
        let profile = simulate(hours);
        report("busy year", hours, started.elapsed(), &profile);
    }
}
