//! Browser sessions for the pages: a random id in an HttpOnly, SameSite=Strict cookie, its
//! SHA-256 in `web_sessions` (migration 008), and the same-origin check that every
//! state-changing request authenticated by the cookie must pass (CSRF).

use axum::http::{HeaderMap, Method, header};
use rusqlite::{Transaction, params};
use sha2::{Digest, Sha256};

use crate::auth::{self, Caller};
use crate::ids::UserId;
use crate::{Result, Timestamp};

/// The session cookie's name.
pub const COOKIE: &str = "sb_session";

/// How long a session lasts, in seconds of engine time (12 hours).
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// The 403 message of a cross-origin state-changing request.
pub const CROSS_ORIGIN: &str = "Access denied: cross-origin request";

fn hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

/// Stores a new session `id` (its SHA-256 only) for `user`, pruning expired sessions.
pub(crate) fn open_session(tx: &Transaction, id: &str, user: UserId, now: Timestamp) -> Result<()> {
    tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [now])?;
    tx.execute(
        "INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash(id), user, now, now.plus(SESSION_SECONDS)],
    )?;
    Ok(())
}

/// The caller of a live session; an unknown or expired id is `Unauthenticated`.
pub(crate) fn session_caller(tx: &Transaction, session_id: &str, now: Timestamp) -> Result<Caller> {
    auth::user_caller(
        tx,
        "SELECT u.id, u.org_id, u.role, u.sitter_id FROM web_sessions s
         JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1 AND s.expires_at > ?2",
        params![hash(session_id), now],
    )
}

/// Ends a session (logout); ending an unknown one is not an error.
pub(crate) fn end_session(tx: &Transaction, session_id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM web_sessions WHERE id_hash = ?1",
        [hash(session_id)],
    )?;
    Ok(())
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
