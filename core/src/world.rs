//! Setting up the world: orgs, users, sitters, clients and business numbers, the owner of those
//! tables, and the contacts the leak scanner is built from. The simulator's world builder,
//! `serve --demo` and tests reach these through [`crate::Engine`]; they are not HTTP routes.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::json;

use crate::audit::{self, EventType, Subject};
use crate::auth::Role;
use crate::ctx::Ctx;
use crate::ids::{ClientId, NumberId, OrgId, SitterId, UserId};
use crate::leak::Contacts;
use crate::{Error, Result, Timestamp, phone, pool};

/// A sitter or client: the real phone and email are the secrets a sitter must never see.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// Shown to sitters (a client's only detail they see); must not be empty.
    pub first_name: String,
    /// Staff only.
    pub last_name: String,
    /// E.164.
    pub phone: String,
    /// Staff only; must contain `@`.
    pub email: String,
}

/// What a business number is for: `pool` (rotated over conversations), `front_desk`, or
/// `sitter` (dedicated to one sitter). Scenario files spell it in snake case.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
// Variants are described in the enum's doc, not one by one: the scenario schema derives from
// this enum, and a variant doc would turn its `enum` into a `oneOf`.
#[allow(missing_docs)]
pub enum NumberClass {
    Pool,
    FrontDesk,
    Sitter,
}

crate::stored_words!(NumberClass {
    Pool => "pool",
    FrontDesk => "front_desk",
    Sitter => "sitter",
});

/// The lifecycle of a business number: `active` takes new threads; `quarantined` takes none and
/// may become active again; `retired` takes none, ever ([`crate::pool::set_number_status`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
// Variants are described in the enum's doc, not one by one: the scenario schema derives from
// this enum, and a variant doc would turn its `enum` into a `oneOf`.
#[allow(missing_docs)]
pub enum NumberStatus {
    Active,
    Quarantined,
    Retired,
}

crate::stored_words!(NumberStatus {
    Active => "active",
    Quarantined => "quarantined",
    Retired => "retired",
});

/// A business number to add.
#[derive(Debug, Clone)]
pub struct NewNumber {
    /// The number; brought to E.164 in the org's region.
    pub e164: String,
    /// What it is for.
    pub class: NumberClass,
    /// Its lifecycle status at creation.
    pub status: NumberStatus,
    /// The sitter a `sitter`-class number belongs to.
    pub sitter: Option<SitterId>,
    /// Defaults to now.
    pub created_at: Option<Timestamp>,
}

/// `+` then 8 to 15 digits, the first not 0.
pub fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn check_contact(contact: &NewContact) -> Result<()> {
    let mut errors = Vec::new();
    if contact.first_name.trim().is_empty() {
        errors.push(crate::FieldError::new("firstName", "must not be empty"));
    }
    if !contact.email.contains('@') {
        errors.push(crate::FieldError::new("email", "must be an email address"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// Creates an org named `name`.
pub(crate) fn create_org(tx: &Transaction, name: &str, now: Timestamp) -> Result<OrgId> {
    tx.prepare_cached("INSERT INTO orgs (name, created_at) VALUES (?1, ?2)")?
        .execute(params![name, now])?;
    Ok(OrgId(tx.last_insert_rowid()))
}

/// Creates a user; a sitter user needs exactly its sitter, in the org.
pub(crate) fn create_user(
    tx: &Transaction,
    org: OrgId,
    name: &str,
    role: Role,
    sitter: Option<SitterId>,
) -> Result<UserId> {
    if (role == Role::Sitter) != sitter.is_some() {
        return Err(Error::invalid(
            "sitter",
            "a sitter user needs exactly its sitter",
        ));
    }
    if let Some(sitter) = sitter {
        require_in_org(tx, "sitters", org, sitter, "sitter")?;
    }
    tx.prepare_cached("INSERT INTO users (org_id, name, role, sitter_id) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![org, name, role, sitter])?;
    Ok(UserId(tx.last_insert_rowid()))
}

/// Stores the SHA-256 digest of the token `sb_<user>_<secret>` and returns the token.
pub(crate) fn mint_token(tx: &Transaction, user: UserId, secret: u64) -> Result<String> {
    let token = format!("sb_{}_{secret:016x}", user.rowid());
    tx.prepare_cached("INSERT INTO api_token_digests (user_id, digest) VALUES (?1, ?2)")?
        .execute(params![user, crate::auth::token_digest(&token).as_slice()])?;
    Ok(token)
}

/// Creates a sitter ([`create_contact`]).
pub(crate) fn create_sitter(
    tx: &Transaction,
    org: OrgId,
    contact: &NewContact,
) -> Result<SitterId> {
    create_contact(tx, "sitters", org, contact).map(SitterId)
}

/// Creates a client ([`create_contact`]).
pub(crate) fn create_client(
    tx: &Transaction,
    org: OrgId,
    contact: &NewContact,
) -> Result<ClientId> {
    create_contact(tx, "clients", org, contact).map(ClientId)
}

/// Creates a sitter or client. The phone is brought to E.164 in the org's region first
/// (`Invalid` naming `phone` when it is not a number, nothing stored). Another client may
/// have the same phone (a household).
fn create_contact(tx: &Transaction, table: &str, org: OrgId, contact: &NewContact) -> Result<i64> {
    check_contact(contact)?;
    let phone = phone::normalize("phone", &contact.phone, org_region(tx, org)?)?;
    let contact = &NewContact {
        phone,
        ..contact.clone()
    };
    tx.prepare_cached(&format!(
        "INSERT INTO {table} (org_id, first_name, last_name, phone, email) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))?
    .execute(params![org, contact.first_name, contact.last_name, contact.phone, contact.email])?;
    Ok(tx.last_insert_rowid())
}

/// Adds a business number. A new active pool number may end an exhaustion or reserve alert.
pub(crate) fn create_number(tx: &Transaction, ctx: &Ctx, number: &NewNumber) -> Result<NumberId> {
    let org = ctx.org;
    if (number.class == NumberClass::Sitter) != number.sitter.is_some() {
        return Err(Error::invalid(
            "sitter",
            "a sitter number needs exactly its sitter",
        ));
    }
    let e164 = phone::normalize("e164", &number.e164, org_region(tx, org)?)?;
    let number = &NewNumber {
        e164,
        ..number.clone()
    };
    if let Some(sitter) = number.sitter {
        require_in_org(tx, "sitters", org, sitter, "sitter")?;
    }
    tx.prepare_cached(
        "INSERT INTO message_numbers (org_id, e164, class, status, sitter_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        org,
        number.e164,
        number.class,
        number.status,
        number.sitter,
        number.created_at.unwrap_or(ctx.now)
    ])?;
    let id = NumberId(tx.last_insert_rowid());
    audit::append(
        tx,
        ctx,
        EventType::NumberAdded,
        Subject {
            number: Some(id),
            ..Subject::default()
        },
        &json!({
            "numberId": id,
            "e164": number.e164,
            "class": number.class.as_str(),
            "status": number.status.as_str(),
        }),
    )?;
    if number.class == NumberClass::Pool {
        crate::hash_ring::add_number(tx, org.rowid(), id.rowid(), &number.e164)?;
        // pool_stats counts the new number through its trigger (migration 12).
        let settings = crate::settings::rotation(tx, org)?;
        pool::refresh_alerts(tx, ctx, &settings)?;
    }
    Ok(id)
}

/// The version of the rows the leak scanner is built from ([`all_contacts`]): SQLite triggers
/// (migration 13) bump it on every insert, delete, and update of a phone, email or e164, so a
/// cached scanner knows it is stale whoever wrote the rows.
pub(crate) fn contacts_version(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT version FROM contacts_version WHERE id = 1")?
        .query_row([], |r| r.get(0))?)
}

/// The org's region for numbers written without a country code (`orgs.default_region`).
pub(crate) fn org_region(tx: &Transaction, org: OrgId) -> Result<phonenumber::country::Id> {
    let code: String = tx
        .prepare_cached("SELECT default_region FROM orgs WHERE id = ?1")?
        .query_row([org], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound("org".into()))?;
    stored_region(&code, org)
}

/// An org's stored `default_region` code as a region; `Corrupt` when it is not one (the API
/// validates it before it is stored).
pub(crate) fn stored_region(code: &str, org: OrgId) -> Result<phonenumber::country::Id> {
    phone::region(code)
        .ok_or_else(|| Error::Corrupt(format!("default_region {code:?} of org {}", org.rowid())))
}

/// Fails with NotFound unless row `id` of `table` belongs to `org`.
pub(crate) fn require_in_org(
    tx: &Transaction,
    table: &str,
    org: OrgId,
    id: impl rusqlite::ToSql,
    what: &str,
) -> Result<()> {
    let found: i64 = tx
        .prepare_cached(&format!(
            "SELECT count(*) FROM {table} WHERE id = ?1 AND org_id = ?2"
        ))?
        .query_row(params![id, org], |r| r.get(0))?;
    if found == 0 {
        return Err(Error::NotFound(what.to_string()));
    }
    Ok(())
}

/// Every real phone and email in the database, with all business numbers allowed.
pub(crate) fn all_contacts(tx: &Transaction) -> Result<Contacts> {
    let mut contacts = Contacts::default();
    // Cached: the scanner is rebuilt after every contact write (the explorer adds clients
    // and sitters as it goes), and parsing these three statements each time showed in profiles.
    for sql in [
        "SELECT phone, email FROM sitters ORDER BY id",
        "SELECT phone, email FROM clients ORDER BY id",
    ] {
        let mut stmt = tx.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (phone, email) = row?;
            contacts.phones.push(phone);
            contacts.emails.push(email);
        }
    }
    let mut stmt = tx.prepare_cached("SELECT e164 FROM message_numbers ORDER BY id")?;
    for e164 in stmt.query_map([], |r| r.get::<_, String>(0))? {
        contacts.allowed_phones.push(e164?);
    }
    Ok(contacts)
}
