//! Who is calling: bearer tokens map to users; users have one role in one org.
//!
//! The org of every request comes from here (the caller's identity), never from a body. Tokens
//! are stored as SHA-256 digests only.

use rusqlite::{OptionalExtension, Transaction};

use crate::ids::{OrgId, SitterId, UserId};
use crate::{Error, Result};

/// A user's role in its org (`users.role`): owners and admins are staff; a sitter user is one
/// sitter (DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The business owner: every staff route and page.
    Owner,
    /// Staff with the owner's access.
    Admin,
    /// A sitter: only the sitter routes, for their own threads.
    Sitter,
}

crate::stored_words!(Role {
    Owner => "owner",
    Admin => "admin",
    Sitter => "sitter",
});

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user the token or session belongs to.
    pub user: UserId,
    /// The user's org: the org of every operation the caller runs.
    pub org: OrgId,
    /// The user's role.
    pub role: Role,
    /// Set for sitters: the sitter this user is.
    pub sitter: Option<SitterId>,
    /// `user:usr_3`, as written in audit events.
    pub actor: String,
}

/// Who may call a route. Every route of the API declares one; there is no "anyone" variant
/// except the provider webhook, which authenticates by signature instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Owners and admins. `sitter_denial` is the 403 message a sitter gets.
    Staff {
        /// The 403 message a sitter gets.
        sitter_denial: &'static str,
    },
    /// Sitters only (owners are refused: sitter views are a sitter's own window on the world).
    Sitter,
    /// The SMS provider: the request must carry a valid signature when a secret is configured.
    Provider,
    /// A staff page (DESIGN.md §4): owners and admins; a sitter gets a 403 page, a caller without
    /// a session is redirected to `/login`.
    Page,
    /// The login form and the pages' static assets: no caller needed. Their handlers check the
    /// `Origin` of every state-changing request themselves.
    Public,
}

impl Access {
    /// Owners and admins, with the usual sitter refusal.
    pub const STAFF: Access = Access::Staff {
        sitter_denial: "Access denied: owner or admin only",
    };
}

/// SHA-256 of a bearer token: the only form in which tokens are stored.
pub fn token_digest(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// A bearer token read without the database: the user it names (tokens are
/// `sb_<user>_<secret>`) and its SHA-256 digest. Parsing and hashing happen before the
/// engine's lock is taken, and a token of the wrong shape never reaches SQLite.
pub(crate) struct PresentedToken {
    user: i64,
    digest: [u8; 32],
}

impl PresentedToken {
    /// `Unauthenticated` unless `token` is `sb_<decimal user id>_<non-empty secret>`.
    pub(crate) fn parse(token: &str) -> Result<PresentedToken> {
        let shape = || -> Option<i64> {
            let (user, secret) = token.strip_prefix("sb_")?.split_once('_')?;
            (!secret.is_empty()).then_some(())?;
            user.parse().ok()
        };
        let user = shape().ok_or(Error::Unauthenticated)?;
        Ok(PresentedToken {
            user,
            digest: token_digest(token),
        })
    }
}

/// The token of an `Authorization` header value: the `Bearer` scheme, matched
/// case-insensitively (RFC 6750 §2.1, RFC 9110 §11.1), then one or more spaces and the token.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim_start().split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// Resolves a bearer token to its caller; unknown tokens are `Unauthenticated`. The token's
/// digest is compared with the stored digests in constant time.
pub(crate) fn authenticate(tx: &Transaction, token: &PresentedToken) -> Result<Caller> {
    use ctutils::CtEq;
    // Only the digests of the one user the token names are compared, each in constant time.
    let digests: Vec<Vec<u8>> = tx
        .prepare_cached("SELECT digest FROM api_token_digests WHERE user_id = ?1 ORDER BY id")?
        .query_map([token.user], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let matched = digests
        .iter()
        .fold(ctutils::Choice::FALSE, |found, stored| {
            found.or(stored.as_slice().ct_eq(&token.digest[..]))
        });
    if !matched.to_bool() {
        return Err(Error::Unauthenticated);
    }
    user_caller(
        tx,
        "SELECT id, org_id, role, sitter_id FROM users WHERE id = ?1",
        [token.user],
    )
}

/// The caller a one-row query of `(users.id, org_id, role, sitter_id)` names;
/// `Unauthenticated` when it finds no row. Shared by bearer tokens and browser sessions.
pub(crate) fn user_caller(
    tx: &Transaction,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Caller> {
    let row: Option<(UserId, OrgId, Role, Option<SitterId>)> = tx
        .prepare_cached(sql)?
        .query_row(params, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let (user, org, role, sitter) = row.ok_or(Error::Unauthenticated)?;
    Ok(Caller {
        user,
        org,
        role,
        sitter,
        actor: format!("user:{user}"),
    })
}

/// Applies the route's declared access to the caller.
pub(crate) fn authorize(access: Access, caller: &Caller) -> Result<()> {
    match (access, caller.role) {
        (Access::Staff { .. } | Access::Page, Role::Owner | Role::Admin) => Ok(()),
        (Access::Page, Role::Sitter) => Err(Error::Forbidden(
            "Access denied: owner or admin only".into(),
        )),
        (Access::Staff { sitter_denial }, Role::Sitter) => {
            Err(Error::Forbidden(sitter_denial.into()))
        }
        (Access::Sitter, Role::Sitter) if caller.sitter.is_some() => Ok(()),
        (Access::Sitter, _) => Err(Error::Forbidden("Access denied: sitters only".into())),
        (Access::Provider, _) => Err(Error::Forbidden("provider route".into())),
        (Access::Public, _) => Err(Error::Forbidden("public route".into())),
    }
}
