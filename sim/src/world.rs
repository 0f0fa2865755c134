//! Builds a scenario's world in a fresh engine: two orgs (`main`, `rival`), their implicit users,
//! sitters, clients, numbers, explicit users, the initial settings and the world's bookings.

use std::collections::BTreeMap;

use switchboard_core::auth::Role as UserKind;
use switchboard_core::bookings::NewBooking;
use switchboard_core::ids::{BookingId, ClientId, OrgId, SitterId, ThreadId};
use switchboard_core::world::{NewContact, NewNumber};
use switchboard_core::{Engine, Error, Timestamp};

use crate::names::Names;
use crate::scenario::{BookingStatus, Org, Role, Scenario, ScenarioError, Span, UserRole};

/// What the runner needs to know about the world it built.
pub struct BuiltWorld {
    pub names: Names,
    pub orgs: BTreeMap<&'static str, OrgId>,
    /// Bearer token of every role that has one.
    pub tokens: BTreeMap<String, String>,
    /// Per org, the audit sequence number of the last event the setup wrote (0: none): the
    /// timeline summarises the events up to it as one setup block.
    pub setup_seq: BTreeMap<&'static str, i64>,
}

impl BuiltWorld {
    pub fn main_org(&self) -> OrgId {
        self.orgs["main"]
    }

    pub fn token(&self, role: &Role) -> Option<&str> {
        self.tokens.get(&role.to_string()).map(String::as_str)
    }
}

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

pub fn build(engine: &Engine, scenario: &Scenario) -> Result<BuiltWorld, ScenarioError> {
    let whole = Span::new(0, 0);
    let mut names = Names::default();
    let mut tokens = BTreeMap::new();
    let mut orgs = BTreeMap::new();
    for org in ["main", "rival"] {
        let id = engine.create_org(org).map_err(at(scenario, whole))?;
        orgs.insert(org, id);
        names.insert(org, id);
    }
    let mut user = |names: &mut Names,
                    org: OrgId,
                    name: &str,
                    role_text: String,
                    kind: UserKind,
                    sitter: Option<SitterId>,
                    span: Span| {
        let id = engine
            .create_user(org, name, kind, sitter)
            .map_err(at(scenario, span))?;
        let token = engine.mint_token(id).map_err(at(scenario, span))?;
        names.insert(&role_text, id);
        tokens.insert(role_text, token);
        Ok::<_, ScenarioError>(())
    };
    user(
        &mut names,
        orgs["main"],
        "owner",
        "owner".into(),
        UserKind::Owner,
        None,
        whole,
    )?;
    user(
        &mut names,
        orgs["main"],
        "admin",
        "admin".into(),
        UserKind::Admin,
        None,
        whole,
    )?;
    user(
        &mut names,
        orgs["rival"],
        "owner",
        "rival-owner".into(),
        UserKind::Owner,
        None,
        whole,
    )?;

    if let Some(settings) = &scenario.settings {
        engine
            .update_rotation_settings(orgs["main"], "system:setup", &settings.to_value())
            .map_err(|error| match error {
                Error::Invalid(fields) if !fields.is_empty() => {
                    let first = &fields[0];
                    scenario.error_at(
                        settings.span_of(&first.field),
                        format!("invalid setting `{}`: {}", first.field, first.message),
                    )
                }
                other => at(scenario, settings.span)(other),
            })?;
    }

    for sitter in &scenario.world.sitters {
        let org = orgs[org_name(sitter.org)];
        let id = engine
            .create_sitter(
                org,
                &contact(&sitter.first_name, &sitter.phone, &sitter.email),
            )
            .map_err(at(scenario, sitter.span))?;
        names.insert(&sitter.name, id);
        user(
            &mut names,
            org,
            &format!("sitter:{}", sitter.name),
            format!("sitter:{}", sitter.name),
            UserKind::Sitter,
            Some(id),
            sitter.span,
        )?;
    }
    for client in &scenario.world.clients {
        let org = orgs[org_name(client.org)];
        let id = engine
            .create_client(
                org,
                &contact(&client.first_name, &client.phone, &client.email),
            )
            .map_err(at(scenario, client.span))?;
        names.insert(&client.name, id);
    }
    for number in &scenario.world.numbers {
        let org = orgs[org_name(number.org)];
        let new = NewNumber {
            e164: number.e164.clone(),
            class: number.class,
            status: number.status,
            sitter: number
                .sitter
                .as_deref()
                .and_then(|s| names.id::<SitterId>(s)),
            created_at: Some(Timestamp(number.created)),
        };
        let id = engine
            .create_number(org, &new)
            .map_err(at(scenario, number.span))?;
        names.insert(&number.name, id);
    }
    for extra in &scenario.world.users {
        let org = orgs[org_name(extra.org)];
        let kind = match extra.role {
            UserRole::Owner => UserKind::Owner,
            UserRole::Admin => UserKind::Admin,
        };
        user(
            &mut names,
            org,
            &extra.name,
            format!("user:{}", extra.name),
            kind,
            None,
            extra.span,
        )?;
    }
    for booking in &scenario.world.bookings {
        // A booking lives in its client's org (the parser checked that the client exists).
        let client = names.id::<ClientId>(&booking.client);
        let org = orgs[scenario
            .client(&booking.client)
            .map_or("main", |c| org_name(c.org))];
        let new = NewBooking {
            client: client.unwrap_or(ClientId(0)),
            sitter: booking
                .sitter
                .as_deref()
                .and_then(|s| names.id::<SitterId>(s)),
            service: booking.service.clone(),
            start: Timestamp(booking.start),
            end: Timestamp(booking.end),
        };
        let created = engine
            .create_booking(org, "system:setup", &new)
            .map_err(at(scenario, booking.span))?;
        let id = created.id;
        names.insert(&booking.name, id);
        let path: &[BookingStatus] = match booking.status {
            BookingStatus::Pending => &[],
            BookingStatus::Confirmed => &[BookingStatus::Confirmed],
            BookingStatus::Completed => &[BookingStatus::Confirmed, BookingStatus::Completed],
            BookingStatus::Cancelled => &[BookingStatus::Cancelled],
        };
        for to in path {
            engine
                .transition_booking(org, "system:setup", id, *to)
                .map_err(at(scenario, booking.span))?;
        }
        if let Some(thread) = thread_of_booking(engine, id) {
            names.insert(&booking.name, thread);
        }
    }
    let mut setup_seq = BTreeMap::new();
    for (name, org) in &orgs {
        let events = engine
            .audit_timeline(*org, &switchboard_core::audit::AuditQuery::default())
            .map_err(at(scenario, whole))?;
        setup_seq.insert(*name, events.last().map_or(0, |e| e.seq));
    }
    Ok(BuiltWorld {
        names,
        orgs,
        tokens,
        setup_seq,
    })
}

fn contact(first_name: &str, phone: &str, email: &str) -> NewContact {
    NewContact {
        first_name: first_name.into(),
        last_name: String::new(),
        phone: phone.into(),
        email: email.into(),
    }
}

/// The newest thread a booking's confirmation opened.
pub fn thread_of_booking(engine: &Engine, booking: BookingId) -> Option<ThreadId> {
    engine.inspect(|c| {
        c.query_row(
            "SELECT id FROM threads WHERE booking_id = ?1 ORDER BY id DESC LIMIT 1",
            [booking],
            |r| r.get(0),
        )
        .ok()
    })
}
