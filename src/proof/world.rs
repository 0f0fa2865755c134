//! The demo world the proof runs in: `serve`'s Router on a temporary file database and
//! 127.0.0.1:0, with a manual clock the proof holds.

use std::path::Path;
use std::sync::Arc;

use switchboard_core::auth::Role;
use switchboard_core::bookings::{BookingStatus, NewBooking};
use switchboard_core::db::Storage;
use switchboard_core::ids::{ClientId, OrgId, SitterId, ThreadId};
use switchboard_core::messaging::{Inbound, RecordingProvider};
use switchboard_core::world::{NewContact, NewNumber, NumberClass, NumberStatus};
use switchboard_core::{Engine, EngineConfig, ManualClock, Result, Timestamp};

/// When the proof's clock starts.
pub const START: &str = "2026-03-02T09:00:00Z";

/// The client whose thread the proof follows; their phone and email are secrets.
pub const CLIENT_PHONE: &str = "+15550300001";
pub const CLIENT_EMAIL: &str = "alice@example.com";

/// A running demo: engine, clock, tokens, and the server's address.
pub struct DemoWorld {
    pub engine: Arc<Engine>,
    pub clock: ManualClock,
    pub org: OrgId,
    pub owner_token: String,
    pub sitter_token: String,
    pub client: ClientId,
    pub sitter: SitterId,
    pub base_url: String,
}

fn contact(first: &str, phone: &str, email: &str) -> NewContact {
    NewContact {
        first_name: first.into(),
        last_name: "Demo".into(),
        phone: phone.into(),
        email: email.into(),
    }
}

impl DemoWorld {
    /// Creates the engine on `db` and the demo org: an owner, a sitter, two clients, three
    /// pool numbers.
    pub fn seed(db: &Path) -> Result<DemoWorld> {
        let start = Timestamp::parse_rfc3339(START).expect("START is RFC 3339");
        let clock = ManualClock::new(start);
        let config = EngineConfig {
            storage: Storage::File(db.to_path_buf()),
            seed: 11,
            ..EngineConfig::default()
        };
        let engine = Arc::new(Engine::new(
            config,
            Arc::new(clock.clone()),
            Arc::new(RecordingProvider::default()),
        )?);
        let org = engine.create_org("Proof Pets")?;
        let owner = engine.create_user(org, "owner", Role::Owner, None)?;
        let sitter =
            engine.create_sitter(org, &contact("Sam", "+15550200001", "sam@example.com"))?;
        let sitter_user = engine.create_user(org, "sam", Role::Sitter, Some(sitter))?;
        let client = engine.create_client(org, &contact("Alice", CLIENT_PHONE, CLIENT_EMAIL))?;
        engine.create_client(org, &contact("Bob", "+15550300002", "bob@example.com"))?;
        for i in 1..=3 {
            engine.create_number(
                org,
                &NewNumber {
                    e164: format!("+1555010000{i}"),
                    class: NumberClass::Pool,
                    status: NumberStatus::Active,
                    sitter: None,
                    created_at: Some(start.plus(i * 60 - 3600)),
                },
            )?;
        }
        Ok(DemoWorld {
            owner_token: engine.mint_token(owner)?,
            sitter_token: engine.mint_token(sitter_user)?,
            engine,
            clock,
            org,
            client,
            sitter,
            base_url: String::new(),
        })
    }

    /// Serves the real router on 127.0.0.1:0; sets `base_url`.
    pub async fn listen(&mut self) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        self.base_url = format!("http://{}", listener.local_addr()?);
        let router = switchboard_core::api::router(self.engine.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                eprintln!("proof: server stopped: {error}");
            }
        });
        Ok(())
    }

    /// A confirmed booking of Alice with Sam, from half an hour ago for three hours: its
    /// confirmation opens a thread, which is assigned a pool number. Returns the thread id.
    pub fn book_and_confirm(&self) -> Result<ThreadId> {
        let now = self.engine.now();
        let booking = self.engine.create_booking(
            self.org,
            "user:proof",
            &NewBooking {
                client: self.client,
                sitter: Some(self.sitter),
                service: "Dog Walking".into(),
                start: now.plus(-1800),
                end: now.plus(3 * 3600 - 1800),
            },
        )?;
        let booking = booking.id;
        self.engine.transition_booking(
            self.org,
            "user:proof",
            booking,
            BookingStatus::Confirmed,
        )?;
        let thread = self
            .engine
            .threads(self.org)?
            .into_iter()
            .find(|t| t.client_id == self.client)
            .map(|t| t.id);
        thread.ok_or_else(|| switchboard_core::Error::NotFound("the booking's thread".into()))
    }

    /// An inbound SMS from Alice to her thread's number, quoting her own phone and email (the
    /// sitter's view must show neither).
    pub fn client_writes(&self, to_e164: &str) -> Result<()> {
        self.engine.receive(&Inbound {
            from: CLIENT_PHONE.into(),
            to: to_e164.into(),
            body: format!(
                "Hi Sam! Key is under the mat. Call me on {CLIENT_PHONE} or mail {CLIENT_EMAIL}."
            ),
            message_sid: "SMproof0001".into(),
        })?;
        Ok(())
    }
}
