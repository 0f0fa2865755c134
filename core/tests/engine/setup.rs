//! `Engine::setup`: a whole world in one write transaction is the same world as one built call
//! by call, and a failure part-way leaves nothing of it behind.

use std::sync::Arc;

use serde_json::json;
use switchboard_core::auth::Role;
use switchboard_core::ids::{ClientId, NumberId, OrgId, SitterId, UserId};
use switchboard_core::messaging::RecordingProvider;
use switchboard_core::world::{NewContact, NewNumber, NumberClass, NumberStatus};
use switchboard_core::{Engine, EngineConfig, ManualClock, Result, Setup};

use crate::support::{contact, pool_e164, start};

fn engine() -> Engine {
    Engine::new(
        EngineConfig {
            seed: 7,
            ..EngineConfig::default()
        },
        Arc::new(ManualClock::new(start())),
        Arc::new(RecordingProvider::default()),
    )
    .unwrap()
}

/// The world-setup operations, on a [`Setup`] (one transaction) or an [`Engine`] (one each).
trait Builds {
    fn org(&self, name: &str) -> Result<OrgId>;
    fn settings(&self, org: OrgId, patch: &serde_json::Value) -> Result<()>;
    fn user(&self, org: OrgId, name: &str, role: Role, sitter: Option<SitterId>) -> Result<UserId>;
    fn token(&self, user: UserId) -> Result<String>;
    fn sitter(&self, org: OrgId, contact: &NewContact) -> Result<SitterId>;
    fn client(&self, org: OrgId, contact: &NewContact) -> Result<ClientId>;
    fn number(&self, org: OrgId, number: &NewNumber) -> Result<NumberId>;
}

macro_rules! builds {
    ($type:ty) => {
        impl Builds for $type {
            fn org(&self, name: &str) -> Result<OrgId> {
                self.create_org(name)
            }
            fn settings(&self, org: OrgId, patch: &serde_json::Value) -> Result<()> {
                self.update_rotation_settings(org, "system:setup", patch)
                    .map(|_| ())
            }
            fn user(
                &self,
                org: OrgId,
                name: &str,
                role: Role,
                sitter: Option<SitterId>,
            ) -> Result<UserId> {
                self.create_user(org, name, role, sitter)
            }
            fn token(&self, user: UserId) -> Result<String> {
                self.mint_token(user)
            }
            fn sitter(&self, org: OrgId, contact: &NewContact) -> Result<SitterId> {
                self.create_sitter(org, contact)
            }
            fn client(&self, org: OrgId, contact: &NewContact) -> Result<ClientId> {
                self.create_client(org, contact)
            }
            fn number(&self, org: OrgId, number: &NewNumber) -> Result<NumberId> {
                self.create_number(org, number)
            }
        }
    };
}
builds!(Engine);
builds!(Setup<'_>);

/// One org with settings, an owner and a sitter with tokens, three clients (client
/// `bad_client` with an unreadable phone) and two pool numbers; returns the tokens.
fn build(w: &dyn Builds, bad_client: Option<usize>) -> Result<Vec<String>> {
    let org = w.org("main")?;
    w.settings(org, &json!({ "minPoolReserve": 1 }))?;
    let owner = w.user(org, "owner", Role::Owner, None)?;
    let mut tokens = vec![w.token(owner)?];
    let sitter = w.sitter(org, &contact("sitter", 0))?;
    let user = w.user(org, "sitter0", Role::Sitter, Some(sitter))?;
    tokens.push(w.token(user)?);
    for i in 0..3 {
        let mut client = contact("client", i);
        if bad_client == Some(i) {
            client.phone = "not a phone".into();
        }
        w.client(org, &client)?;
    }
    for i in 0..2 {
        let number = NewNumber {
            e164: pool_e164(i),
            class: NumberClass::Pool,
            status: NumberStatus::Active,
            sitter: None,
            created_at: None,
        };
        w.number(org, &number)?;
    }
    Ok(tokens)
}

/// Everything a world consists of, as rows.
fn snapshot(engine: &Engine) -> Vec<String> {
    engine.inspect(|c| {
        let mut rows = Vec::new();
        for table in [
            "orgs",
            "users",
            "api_token_digests",
            "sitters",
            "clients",
            "message_numbers",
            "hash_ring",
            "rotation_settings",
            "pool_stats",
            "alerts",
            "audit_events",
        ] {
            let mut stmt = c
                .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
                .unwrap();
            let width = stmt.column_count();
            let table_rows = stmt
                .query_map([], |r| {
                    let cells: Vec<String> = (0..width)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect();
                    Ok(format!("{table}: {}", cells.join(" | ")))
                })
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap();
            rows.extend(table_rows);
        }
        rows
    })
}

#[test]
fn a_world_in_one_transaction_equals_one_built_call_by_call() {
    let (one, many) = (engine(), engine());
    let one_tokens = one.setup(|s| build(s, None)).unwrap();
    let many_tokens = build(&many, None).unwrap();
    assert_eq!(
        one_tokens, many_tokens,
        "the same tokens from the same seed"
    );
    let rows = snapshot(&one);
    assert!(rows.len() > 80, "the world is there: {} rows", rows.len());
    assert_eq!(rows, snapshot(&many));
}

#[test]
fn a_failure_part_way_leaves_nothing_behind() {
    let engine = engine();
    let error = engine.setup(|s| build(s, Some(2))).unwrap_err();
    assert!(error.to_string().contains("phone"), "{error}");
    assert!(engine.org_ids().unwrap().is_empty(), "nothing was stored");
    assert_eq!(snapshot(&engine), Vec::<String>::new());
}
