//! A small world over a real engine (in-memory SQLite, manual clock) and the real router.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use switchboard_core::auth::Role;
use switchboard_core::bookings::{BookingStatus, NewBooking};
use switchboard_core::ids::{ClientId, OrgId, SitterId};
use switchboard_core::messaging::{Inbound, RecordingProvider};
use switchboard_core::time::{DAY, HOUR};
use switchboard_core::world::{NewContact, NewNumber, NumberClass, NumberStatus};
use switchboard_core::{Engine, EngineConfig, ManualClock, Timestamp, api};
use tower::ServiceExt;

pub const START: &str = "2026-03-02T09:00:00Z";

pub fn start() -> Timestamp {
    Timestamp::parse_rfc3339(START).unwrap()
}

pub struct Fixture {
    pub engine: Arc<Engine>,
    pub clock: ManualClock,
    pub router: Router,
    pub org: OrgId,
    pub rival_org: OrgId,
    pub owner: String,
    pub admin: String,
    pub rival_owner: String,
    /// Tokens of the sitters, in creation order.
    pub sitter_tokens: Vec<String>,
    pub sitters: Vec<i64>,
    pub clients: Vec<i64>,
    pub numbers: Vec<i64>,
}

pub fn contact(kind: &str, i: usize) -> NewContact {
    let base = if kind == "sitter" { 2000 } else { 3000 };
    NewContact {
        first_name: format!("{kind}{i}"),
        last_name: "Test".into(),
        phone: format!("+1555{:07}", base + i),
        email: format!("{kind}{i}@example.com"),
    }
}

pub fn pool_e164(i: usize) -> String {
    format!("+1555010{i:04}")
}

/// `pool` pool numbers for `org`, created a minute apart (the first an hour before [`START`]),
/// and one for `rival_org`; returns the rowids of `org`'s.
fn add_pool_numbers(engine: &Engine, org: OrgId, rival_org: OrgId, pool: usize) -> Vec<i64> {
    let numbers = (0..pool)
        .map(|i| {
            engine
                .create_number(
                    org,
                    &NewNumber {
                        e164: pool_e164(i),
                        class: NumberClass::Pool,
                        status: NumberStatus::Active,
                        sitter: None,
                        created_at: Some(start().plus(i as i64 * 60 - 3600)),
                    },
                )
                .unwrap()
                .rowid()
        })
        .collect();
    engine
        .create_number(
            rival_org,
            &NewNumber {
                e164: "+15550999999".into(),
                class: NumberClass::Pool,
                status: NumberStatus::Active,
                sitter: None,
                created_at: None,
            },
        )
        .unwrap();
    numbers
}

impl Fixture {
    /// An org with `pool` pool numbers (created a minute apart), `clients` clients and two
    /// sitters, plus a rival org with its own owner, client and pool number.
    pub fn new(pool: usize, clients: usize, settings: Value) -> Fixture {
        Self::with_config(pool, clients, settings, EngineConfig::default())
    }

    pub fn with_config(
        pool: usize,
        clients: usize,
        settings: Value,
        config: EngineConfig,
    ) -> Fixture {
        let clock = ManualClock::new(start());
        let engine = Arc::new(
            Engine::new(
                config,
                Arc::new(clock.clone()),
                Arc::new(RecordingProvider::default()),
            )
            .unwrap(),
        );
        let org = engine.create_org("main").unwrap();
        let rival_org = engine.create_org("rival").unwrap();
        let token = |org, name: &str, role, sitter| {
            let user = engine.create_user(org, name, role, sitter).unwrap();
            engine.mint_token(user).unwrap()
        };
        let owner = token(org, "owner", Role::Owner, None);
        let admin = token(org, "admin", Role::Admin, None);
        let rival_owner = token(rival_org, "owner", Role::Owner, None);
        let sitters: Vec<i64> = (0..2)
            .map(|i| {
                engine
                    .create_sitter(org, &contact("sitter", i))
                    .unwrap()
                    .rowid()
            })
            .collect();
        let sitter_tokens = sitters
            .iter()
            .enumerate()
            .map(|(i, s)| token(org, &format!("sitter{i}"), Role::Sitter, Some(SitterId(*s))))
            .collect();
        let clients = (0..clients)
            .map(|i| {
                engine
                    .create_client(org, &contact("client", i))
                    .unwrap()
                    .rowid()
            })
            .collect();
        engine
            .create_client(rival_org, &contact("rivalclient", 0))
            .unwrap();
        engine
            .update_rotation_settings(org, "test", &settings)
            .unwrap();
        let numbers = add_pool_numbers(&engine, org, rival_org, pool);
        let router = api::router(engine.clone());
        Fixture {
            engine,
            clock,
            router,
            org,
            rival_org,
            owner,
            admin,
            rival_owner,
            sitter_tokens,
            sitters,
            clients,
            numbers,
        }
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }

    pub fn settings(&self, patch: Value) {
        self.engine
            .update_rotation_settings(self.org, "test", &patch)
            .unwrap();
    }

    /// A confirmed booking for client `c` with sitter `s`, starting `start_in` from now and
    /// lasting `hours`; returns the thread its confirmation opened.
    pub fn book(&self, c: usize, s: Option<usize>, start_in: i64, hours: i64) -> i64 {
        let now = self.engine.now();
        let booking = self
            .engine
            .create_booking(
                self.org,
                "test",
                &NewBooking {
                    client: ClientId(self.clients[c]),
                    sitter: s.map(|s| SitterId(self.sitters[s])),
                    service: "Dog Walking".into(),
                    start: now.plus(start_in),
                    end: now.plus(start_in + hours * HOUR),
                },
            )
            .unwrap();
        let id = booking.id;
        self.engine
            .transition_booking(self.org, "test", id, BookingStatus::Confirmed)
            .unwrap();
        self.thread_of_booking(id.rowid())
    }

    pub fn thread_of_booking(&self, booking: i64) -> i64 {
        self.engine.inspect(|c| {
            c.query_row(
                "SELECT id FROM threads WHERE booking_id = ?1 ORDER BY id DESC",
                [booking],
                |r| r.get(0),
            )
            .unwrap()
        })
    }

    /// An owner-opened thread for client `c` (no booking).
    pub fn open(&self, c: usize) -> i64 {
        self.engine
            .open_thread(self.org, "test", ClientId(self.clients[c]), None, None)
            .unwrap()
            .0
            .rowid()
    }

    /// The index (into `numbers`) of the thread's number, if bound.
    pub fn binding(&self, thread: i64) -> Option<usize> {
        let number: Option<i64> = self.engine.inspect(|c| {
            c.query_row(
                "SELECT number_id FROM threads WHERE id = ?1",
                [thread],
                |r| r.get(0),
            )
            .unwrap()
        });
        number.map(|n| {
            self.numbers
                .iter()
                .position(|x| *x == n)
                .expect("a main-org pool number")
        })
    }

    pub fn release(&self) -> switchboard_core::pool::ReleaseStats {
        self.engine.run_release_job(self.org, "test").unwrap()
    }

    /// Payloads of the org's audit events of `event_type`, oldest first.
    pub fn events(&self, event_type: &str) -> Vec<Value> {
        let query = switchboard_core::audit::AuditQuery {
            event_type: Some(event_type.into()),
            ..Default::default()
        };
        self.engine
            .audit_timeline(self.org, &query)
            .unwrap()
            .into_iter()
            .map(|e| e.payload)
            .collect()
    }

    pub fn open_alerts(&self) -> Vec<String> {
        self.engine
            .alerts(self.org, true)
            .unwrap()
            .into_iter()
            .map(|a| a.alert_type.to_string())
            .collect()
    }

    pub fn inbound(
        &self,
        from: &str,
        to: &str,
        body: &str,
        sid: &str,
    ) -> switchboard_core::Result<switchboard_core::messaging::InboundOutcome> {
        self.engine.receive(&Inbound {
            from: from.into(),
            to: to.into(),
            body: body.into(),
            message_sid: sid.into(),
        })
    }

    /// Every row of every table, for "a refused call changed nothing".
    pub fn dump(&self) -> String {
        self.engine.inspect(|c| {
            let tables: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let mut out = String::new();
            for table in tables {
                let mut stmt = c
                    .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
                    .unwrap();
                let n = stmt.column_count();
                let mut rows = stmt.query([]).unwrap();
                while let Some(row) = rows.next().unwrap() {
                    out.push_str(&table);
                    for i in 0..n {
                        let v: rusqlite_value::Value = row.get(i).unwrap();
                        out.push_str(&format!(" {v:?}"));
                    }
                    out.push('\n');
                }
            }
            out
        })
    }

    /// Calls the real router in-process.
    pub async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(v) => {
                request = request.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            json!(null)
        } else {
            serde_json::from_slice(&bytes).unwrap_or(json!(String::from_utf8_lossy(&bytes)))
        };
        (status, value)
    }
}

/// Re-export so `dump` can read any column type.
mod rusqlite_value {
    pub use rusqlite::types::Value;
}

pub const D: i64 = DAY;
pub const H: i64 = HOUR;
