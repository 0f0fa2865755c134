//! Builds a scenario's world in a fresh engine: two orgs (`main`, `rival`), their implicit users,
//! sitters, clients, numbers, explicit users, the initial settings and the world's bookings.

use std::collections::BTreeMap;

use switchboard_core::auth::Role as UserKind;
use switchboard_core::bookings::NewBooking;
use switchboard_core::ids::{BookingId, ClientId, OrgId, SitterId, ThreadId};
use switchboard_core::world::{NewContact, NewNumber};
use switchboard_core::{Engine, Error, Setup, Timestamp};

use crate::names::Names;
use crate::scenario::shape::PersonShape;
use crate::scenario::{
    BookingStatus, Org, Role, Scenario, ScenarioError, Span, UserRole, given, value_of,
};

/// What the runner needs to know about the world it built.
pub struct BuiltWorld {
    /// Every scenario name (orgs, roles, sitters, clients, numbers, bookings, threads) and its id.
    pub names: Names,
    /// The two orgs by name (`main`, `rival`).
    pub orgs: BTreeMap<&'static str, OrgId>,
    /// Bearer token of every role that has one.
    pub tokens: BTreeMap<String, String>,
    /// Per org, the audit sequence number of the last event the setup wrote (0: none): the
    /// timeline summarises the events up to it as one setup block.
    pub setup_seq: BTreeMap<&'static str, i64>,
}

impl BuiltWorld {
    /// The id of the `main` org.
    pub fn main_org(&self) -> OrgId {
        self.orgs["main"]
    }

    /// The bearer token of `role`, when it has one.
    pub fn token(&self, role: &Role) -> Option<&str> {
        self.tokens.get(&role.to_string()).map(String::as_str)
    }
}

/// The name of `org` in the built world (`main` or `rival`).
pub fn org_name(org: Org) -> &'static str {
    match org {
        Org::Main => "main",
        Org::Rival => "rival",
    }
}

/// Turns an engine error during setup into a diagnostic at the entity that caused it.
fn at(scenario: &Scenario, span: Span) -> impl Fn(Error) -> ScenarioError + '_ {
    move |error| {
        let message = match &error {
            Error::Invalid(fields) => fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        scenario.error_at(span, format!("the engine refused this: {message}"))
    }
}

/// Builds `scenario`'s world in `engine` (which must be fresh): orgs, users and their tokens,
/// settings, sitters, clients, numbers, extra users, bookings with their status paths, all in
/// one transaction ([`Engine::setup`]: the same domain functions as one engine call per row,
/// without a BEGIN/COMMIT per row). A refusal leaves nothing of the world behind.
///
/// Errors: an engine refusal, as a diagnostic at the entity that caused it.
pub fn build(engine: &Engine, scenario: &Scenario) -> Result<BuiltWorld, ScenarioError> {
    let mut refused = None;
    let built = engine.setup(|setup| {
        let mut builder = Builder {
            setup,
            scenario,
            names: Names::default(),
            tokens: BTreeMap::new(),
            orgs: BTreeMap::new(),
            bookings: Vec::new(),
        };
        match builder.everything() {
            Ok(()) => Ok((
                builder.names,
                builder.tokens,
                builder.orgs,
                builder.bookings,
            )),
            Err(report) => {
                refused = Some(report);
                // Any error rolls the setup back; the report kept above says what was refused.
                Err(Error::Conflict("the scenario's world was refused".into()))
            }
        }
    });
    let (mut names, tokens, orgs, bookings) = match (built, refused) {
        (_, Some(report)) => return Err(report),
        (Err(error), None) => return Err(at(scenario, whole())(error)),
        (Ok(parts), None) => parts,
    };
    // A confirmed booking's thread is named after the booking.
    for (name, booking) in bookings {
        if let Some(thread) = thread_of_booking(engine, booking) {
            names.insert(&name, thread);
        }
    }
    let setup_seq = setup_seq(engine, scenario, &orgs)?;
    Ok(BuiltWorld {
        names,
        orgs,
        tokens,
        setup_seq,
    })
}

/// The world under construction, inside the setup transaction.
struct Builder<'a, 's> {
    setup: &'a Setup<'s>,
    scenario: &'a Scenario,
    names: Names,
    tokens: BTreeMap<String, String>,
    orgs: BTreeMap<&'static str, OrgId>,
    /// Each booking created, by name, in order (their threads are looked up after the commit).
    bookings: Vec<(String, BookingId)>,
}

/// The span of the whole scenario, for setup that no single entity caused.
fn whole() -> Span {
    Span::new(0, 0)
}

impl<'a> Builder<'a, '_> {
    /// Every part of the world, in order.
    fn everything(&mut self) -> Result<(), ScenarioError> {
        self.orgs_and_owners()?;
        self.settings()?;
        self.sitters()?;
        self.clients()?;
        self.numbers()?;
        self.extra_users()?;
        self.bookings()
    }

    fn org(&self, org: Org) -> OrgId {
        self.orgs[org_name(org)]
    }

    /// Creates a user, mints its token and records both under `role_text`.
    fn user(
        &mut self,
        org: OrgId,
        name: &str,
        role_text: String,
        kind: UserKind,
        sitter: Option<SitterId>,
        span: Span,
    ) -> Result<(), ScenarioError> {
        let fail = at(self.scenario, span);
        let id = self
            .setup
            .create_user(org, name, kind, sitter)
            .map_err(&fail)?;
        let token = self.setup.mint_token(id).map_err(&fail)?;
        self.names.insert(&role_text, id);
        self.tokens.insert(role_text, token);
        Ok(())
    }

    /// The two orgs and their implicit users (`owner`, `admin`, `rival-owner`).
    fn orgs_and_owners(&mut self) -> Result<(), ScenarioError> {
        for org in ["main", "rival"] {
            let id = self
                .setup
                .create_org(org)
                .map_err(at(self.scenario, whole()))?;
            self.orgs.insert(org, id);
            self.names.insert(org, id);
        }
        let (main, rival) = (self.orgs["main"], self.orgs["rival"]);
        self.user(
            main,
            "owner",
            "owner".into(),
            UserKind::Owner,
            None,
            whole(),
        )?;
        self.user(
            main,
            "admin",
            "admin".into(),
            UserKind::Admin,
            None,
            whole(),
        )?;
        self.user(
            rival,
            "owner",
            "rival-owner".into(),
            UserKind::Owner,
            None,
            whole(),
        )
    }

    /// The main org's initial rotation settings; an invalid one is reported at its key.
    fn settings(&mut self) -> Result<(), ScenarioError> {
        let Some(settings) = &self.scenario.settings else {
            return Ok(());
        };
        self.setup
            .update_rotation_settings(self.orgs["main"], "system:setup", &settings.to_value())
            .map_err(|error| match error {
                Error::Invalid(fields) if !fields.is_empty() => {
                    let first = &fields[0];
                    self.scenario.error_at(
                        settings.span_of(&first.field),
                        format!("invalid setting `{}`: {}", first.field, first.message),
                    )
                }
                other => at(self.scenario, settings.span)(other),
            })?;
        Ok(())
    }

    /// Each sitter and its user (`sitter:NAME`).
    fn sitters(&mut self) -> Result<(), ScenarioError> {
        for sitter in &self.scenario.world.sitters {
            let org = self.org(given(&sitter.org));
            let id = self
                .setup
                .create_sitter(org, &contact(sitter))
                .map_err(at(self.scenario, sitter.span))?;
            let name = given(&sitter.name);
            self.names.insert(&name, id);
            let role = format!("sitter:{name}");
            self.user(
                org,
                &role,
                role.clone(),
                UserKind::Sitter,
                Some(id),
                sitter.span,
            )?;
        }
        Ok(())
    }

    fn clients(&mut self) -> Result<(), ScenarioError> {
        for client in &self.scenario.world.clients {
            let id = self
                .setup
                .create_client(self.org(given(&client.org)), &contact(client))
                .map_err(at(self.scenario, client.span))?;
            self.names.insert(&given(&client.name), id);
        }
        Ok(())
    }

    fn numbers(&mut self) -> Result<(), ScenarioError> {
        for number in &self.scenario.world.numbers {
            let fail = at(self.scenario, number.span);
            let created = self.scenario.time(&number.created);
            let created = created.map_err(|e| self.scenario.error_at(number.span, e))?;
            let sitter = number.sitter.as_ref();
            let new = NewNumber {
                e164: given(&number.e164),
                class: number.class(),
                status: number.status(),
                sitter: sitter.and_then(|s| self.names.id::<SitterId>(&s.value)),
                created_at: Some(Timestamp(created)),
            };
            let org = self.org(given(&number.org));
            let id = self.setup.create_number(org, &new).map_err(fail)?;
            self.names.insert(&given(&number.name), id);
        }
        Ok(())
    }

    /// The scenario's explicit users (`user:NAME`).
    fn extra_users(&mut self) -> Result<(), ScenarioError> {
        for extra in &self.scenario.world.users {
            let kind = match value_of(&extra.role) {
                Some(UserRole::Owner) => UserKind::Owner,
                Some(UserRole::Admin) | None => UserKind::Admin,
            };
            let name = given(&extra.name);
            let role = format!("user:{name}");
            let org = self.org(given(&extra.org));
            self.user(org, &name, role, kind, None, extra.span)?;
        }
        Ok(())
    }

    /// Each booking, walked through its status path; a confirmed booking's thread is named
    /// after the booking.
    fn bookings(&mut self) -> Result<(), ScenarioError> {
        for booking in &self.scenario.world.bookings {
            // A booking lives in its client's org (the parser checked that the client exists).
            let client = given(&booking.client);
            let org = self.scenario.client(&client).map(|c| given(&c.org));
            let org = self.orgs[org_name(org.unwrap_or_default())];
            let fail = at(self.scenario, booking.span);
            let time = |t| {
                let time = self.scenario.time(t).map(Timestamp);
                time.map_err(|e| self.scenario.error_at(booking.span, e))
            };
            let sitter = booking.sitter.as_ref();
            let new = NewBooking {
                client: self.names.id::<ClientId>(&client).unwrap_or(ClientId(0)),
                sitter: sitter.and_then(|s| self.names.id::<SitterId>(&s.value)),
                service: given(&booking.service),
                start: time(&booking.start)?,
                end: time(&booking.end)?,
            };
            let id = self
                .setup
                .create_booking(org, "system:setup", &new)
                .map_err(&fail)?
                .id;
            let name = given(&booking.name);
            self.names.insert(&name, id);
            let path: &[BookingStatus] = match booking.status() {
                BookingStatus::Pending => &[],
                BookingStatus::Confirmed => &[BookingStatus::Confirmed],
                BookingStatus::Completed => &[BookingStatus::Confirmed, BookingStatus::Completed],
                BookingStatus::Cancelled => &[BookingStatus::Cancelled],
            };
            for to in path {
                self.setup
                    .transition_booking(org, "system:setup", id, *to)
                    .map_err(&fail)?;
            }
            self.bookings.push((name, id));
        }
        Ok(())
    }
}

/// Per org, the sequence number of the last audit event the setup wrote.
fn setup_seq(
    engine: &Engine,
    scenario: &Scenario,
    orgs: &BTreeMap<&'static str, OrgId>,
) -> Result<BTreeMap<&'static str, i64>, ScenarioError> {
    let mut setup_seq = BTreeMap::new();
    for (name, org) in orgs {
        let seq =
            crate::runner::last_seq(engine, *org).map_err(|e| scenario.error_at(whole(), e))?;
        setup_seq.insert(*name, seq);
    }
    Ok(setup_seq)
}

fn contact(person: &PersonShape) -> NewContact {
    NewContact {
        first_name: person.first_name(),
        last_name: String::new(),
        phone: given(&person.phone),
        email: given(&person.email),
    }
}

/// The newest thread a booking's confirmation opened.
pub fn thread_of_booking(engine: &Engine, booking: BookingId) -> Option<ThreadId> {
    engine.inspect(|c| {
        c.prepare_cached("SELECT id FROM threads WHERE booking_id = ?1 ORDER BY id DESC LIMIT 1")
            .and_then(|mut stmt| stmt.query_row([booking], |r| r.get(0)))
            .ok()
    })
}
