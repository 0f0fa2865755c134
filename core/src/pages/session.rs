//! Browser sessions for the pages: a random id in an HttpOnly, SameSite=Strict cookie, its
//! SHA-256 in `web_sessions` (migration 008), and the same-origin check that every
//! state-changing request authenticated by the cookie must pass (CSRF).

use axum::http::{HeaderMap, Method, header};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::auth::{Caller, Role};
use crate::ids::{OrgId, SitterId, UserId};
use crate::{Engine, Error, Result};

/// The session cookie's name.
pub const COOKIE: &str = "sb_session";

/// How long a session lasts, in seconds of engine time (12 hours).
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// The 403 message of a cross-origin state-changing request.
pub const CROSS_ORIGIN: &str = "Access denied: cross-origin request";

fn hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

fn role_named(text: &str) -> Option<Role> {
    [Role::Owner, Role::Admin, Role::Sitter]
        .into_iter()
        .find(|role| role.as_str() == text)
}

impl Engine {
    /// Starts a session for `user` and returns its id (128 random bits, hex), the cookie value.
    /// Expired sessions are pruned on the way.
    pub fn open_session(&self, user: UserId) -> Result<String> {
        let id = format!("{:016x}{:016x}", self.random_u64(), self.random_u64());
        let now = self.now();
        self.write(|tx| {
            tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [now])?;
            tx.execute(
                "INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash(&id), user, now, now.plus(SESSION_SECONDS)],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The caller of a live session; an unknown or expired id is `Unauthenticated`.
    pub fn session_caller(&self, session_id: &str) -> Result<Caller> {
        let now = self.now();
        let row: Option<(UserId, OrgId, String, Option<SitterId>)> = self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT u.id, u.org_id, u.role, u.sitter_id FROM web_sessions s
                     JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1 AND s.expires_at > ?2",
                )?
                .query_row(params![hash(session_id), now], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?)
        })?;
        let (user, org, role, sitter) = row.ok_or(Error::Unauthenticated)?;
        let role = role_named(&role)
            .ok_or_else(|| Error::Corrupt(format!("role of user {}", user.rowid())))?;
        Ok(Caller {
            user,
            org,
            role,
            sitter,
            actor: format!("user:{user}"),
        })
    }

    /// Ends a session (logout); ending an unknown one is not an error.
    pub fn end_session(&self, session_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM web_sessions WHERE id_hash = ?1",
                [hash(session_id)],
            )?;
            Ok(())
        })
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(session_id: &str) -> String {
    format!("{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// True when the request's `Origin` is this server (`http://` or `https://` + its `Host`).
/// A missing `Origin` is not same-origin: browsers send it on every POST.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (text(header::ORIGIN), text(header::HOST)) else {
        return false;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// Safe methods change nothing, so they need no origin check.
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The caller of the request's session cookie. A state-changing request must also come from
/// this server's own origin, else it is refused (403) before anything runs.
pub fn cookie_caller(engine: &Engine, method: &Method, headers: &HeaderMap) -> Result<Caller> {
    let session = cookie(headers, COOKIE).ok_or(Error::Unauthenticated)?;
    let caller = engine.session_caller(session)?;
    if changes_state(method) && !same_origin(headers) {
        return Err(Error::Forbidden(CROSS_ORIGIN.into()));
    }
    Ok(caller)
}
