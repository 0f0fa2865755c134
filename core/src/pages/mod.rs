//! The staff pages of DESIGN.md §4: `/login`, `/settings/rotation`, `/audit`, `/alerts`.
//!
//! Server-rendered with minijinja templates (compiled into the binary), styled and scripted by
//! two files under `/static/` so the Content-Security-Policy allows no inline script or style.
//! The routes are declared in [`crate::api`]'s route table with [`Access::Page`] (owners and
//! admins; a sitter gets a 403 page, no session a redirect to `/login`) or [`Access::Public`]
//! (the login form and the static files). A page's data comes from the same engine calls as
//! the API; the settings page saves through `POST /api/settings/rotation` from the browser.
//!
//! [`Access::Page`]: crate::auth::Access::Page
//! [`Access::Public`]: crate::auth::Access::Public

pub mod session;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Environment, context};
use serde::Serialize;
use serde_json::Value;

use crate::auth::{Caller, Role};
use crate::ids::ThreadId;
use crate::settings::{MAX_SETTING, RotationSettings};
use crate::{Engine, Error};

/// Every response's Content-Security-Policy: scripts, styles and fetches from this origin only,
/// no inline script, no framing, forms post only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Where a staff member lands after logging in.
pub const STAFF_HOME: &str = "/settings/rotation";

/// Where a sitter lands after logging in: their own thread list (the sitter API view).
pub const SITTER_HOME: &str = "/api/sitter/threads";

/// Audit events per page.
pub const AUDIT_PAGE_SIZE: i64 = 25;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let sources = [
        ("base.html", include_str!("templates/base.html")),
        ("login.html", include_str!("templates/login.html")),
        ("error.html", include_str!("templates/error.html")),
        ("settings.html", include_str!("templates/settings.html")),
        ("audit.html", include_str!("templates/audit.html")),
        ("alerts.html", include_str!("templates/alerts.html")),
    ];
    for (name, source) in sources {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
    }
    env
});

/// Adds the security headers to every response of the router (pages, API, errors).
/// `Referrer-Policy: same-origin`, not `no-referrer`: under `no-referrer` browsers send
/// `Origin: null` on form posts, and the CSRF check needs the real origin.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A serializable value for a template context.
fn v<T: Serialize>(value: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

fn render(template: &str, status: StatusCode, ctx: minijinja::Value) -> Response {
    let html = TEMPLATES.get_template(template).and_then(|t| t.render(ctx));
    match html {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(error) => Error::Corrupt(format!("template {template}: {error}")).into_response(),
    }
}

#[derive(Serialize)]
struct UserView {
    actor: String,
    role: &'static str,
}

fn user_view(caller: &Caller) -> UserView {
    UserView {
        actor: caller.actor.clone(),
        role: caller.role.as_str(),
    }
}

/// The page a refused page request gets: no session → redirect to `/login`; anything else →
/// an HTML page with the status and the message (a sitter's 403 names no data).
pub fn refusal(error: Error) -> Response {
    let status = match &error {
        Error::Unauthenticated => return Redirect::to("/login").into_response(),
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match &error {
        Error::Db(_) | Error::Migration(_) | Error::Corrupt(_) => "internal error".to_string(),
        other => other.to_string(),
    };
    render(
        "error.html",
        status,
        context! { title => status.canonical_reason().unwrap_or("Error"), status => status.as_u16(), message },
    )
}

fn page_result(result: Result<Response, Error>) -> Response {
    result.unwrap_or_else(refusal)
}

/// `GET /login`.
pub async fn login_form() -> Response {
    render("login.html", StatusCode::OK, context! { title => "Log in" })
}

/// `POST /login` (form `token=...`): a valid API token becomes a session cookie and a redirect
/// to the caller's home; a bad one re-renders the form with 401. Same-origin only.
pub async fn login(State(engine): State<Arc<Engine>>, headers: HeaderMap, body: Bytes) -> Response {
    if !session::same_origin(&headers) {
        return refusal(Error::Forbidden(session::CROSS_ORIGIN.into()));
    }
    let token = form_urlencoded::parse(&body)
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default();
    let caller = match engine.authenticate(&token) {
        Ok(caller) => caller,
        Err(Error::Unauthenticated) => {
            let error = "That token is not valid.";
            return render(
                "login.html",
                StatusCode::UNAUTHORIZED,
                context! { title => "Log in", error },
            );
        }
        Err(other) => return refusal(other),
    };
    let session = match engine.open_session(caller.user) {
        Ok(session) => session,
        Err(error) => return refusal(error),
    };
    let home = if caller.role == Role::Sitter {
        SITTER_HOME
    } else {
        STAFF_HOME
    };
    (
        [(header::SET_COOKIE, session::set_cookie(&session))],
        Redirect::to(home),
    )
        .into_response()
}

/// `POST /logout`: ends the session (if any) and clears the cookie. Same-origin only.
pub async fn logout(State(engine): State<Arc<Engine>>, headers: HeaderMap) -> Response {
    if !session::same_origin(&headers) {
        return refusal(Error::Forbidden(session::CROSS_ORIGIN.into()));
    }
    if let Some(id) = session::cookie(&headers, session::COOKIE)
        && let Err(error) = engine.end_session(id)
    {
        return refusal(error);
    }
    (
        [(header::SET_COOKIE, session::clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response()
}

/// `GET /static/{file}`: the pages' stylesheet and script, compiled into the binary.
pub async fn static_file(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "pages.css" => (include_str!("static/pages.css"), "text/css; charset=utf-8"),
        "settings.js" => (
            include_str!("static/settings.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return Error::NotFound(format!("static file {file}")).into_response(),
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// One input of the settings form.
#[derive(Serialize)]
struct SettingField {
    key: &'static str,
    /// The saved value, as text.
    value: String,
    /// Allowed values of an enum setting (empty for integers).
    options: &'static [&'static str],
    min: i64,
    max: i64,
    /// Type and range as shown to the reader.
    range: String,
    help: &'static str,
}

/// The eight keys of DESIGN.md §2 with their types and ranges.
const SETTING_SPECS: [(&str, &[&str], i64, &str); 8] = [
    (
        "poolSelectionStrategy",
        &["LRU", "FIFO", "HASH_SHUFFLE"],
        0,
        "how a free pool number is chosen",
    ),
    (
        "maxConcurrentThreadsPerPoolNumber",
        &[],
        1,
        "open threads one pool number may serve at once",
    ),
    (
        "stickyReuseKey",
        &["clientId", "threadId"],
        0,
        "the identity that stickiness and hashing use",
    ),
    (
        "stickyReuseDays",
        &[],
        0,
        "a key gets its previous number back within this many days; 0 = off",
    ),
    (
        "postBookingGraceHours",
        &[],
        0,
        "release this long after the booking window ends; 0 = at the end",
    ),
    (
        "inactivityReleaseDays",
        &[],
        0,
        "release after this long without messages; 0 = never",
    ),
    (
        "maxPoolThreadLifetimeDays",
        &[],
        1,
        "release this long after the number was bound",
    ),
    (
        "minPoolReserve",
        &[],
        0,
        "alert while fewer numbers than this have room",
    ),
];

fn setting_fields(settings: &RotationSettings) -> Result<Vec<SettingField>, Error> {
    let saved = serde_json::to_value(settings).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(SETTING_SPECS
        .iter()
        .map(|&(key, options, min, help)| SettingField {
            key,
            value: match &saved[key] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            },
            options,
            min,
            max: MAX_SETTING,
            range: if options.is_empty() {
                format!("integer, {min} to {MAX_SETTING}")
            } else {
                format!("one of {}", options.join(", "))
            },
            help,
        })
        .collect())
}

/// `GET /settings/rotation`.
pub async fn settings_page(
    State(engine): State<Arc<Engine>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    page_result((|| {
        let fields = setting_fields(&engine.rotation_settings(caller.org)?)?;
        Ok(render(
            "settings.html",
            StatusCode::OK,
            context! { title => "Rotation settings", active => "settings", user => v(&user_view(&caller)), fields => v(&fields) },
        ))
    })())
}

mod alerts_page;
mod audit_page;

pub use alerts_page::alerts_page;
pub use audit_page::audit_page;

/// Query parameters of a page, by name (unknown ones are ignored; a page never fails on them).
type PageQuery = Query<BTreeMap<String, String>>;

fn thread_param(text: &str) -> Result<Option<ThreadId>, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    ThreadId::parse(text)
        .map(Some)
        .ok_or_else(|| Error::invalid("thread", format!("not a thread id: {text}")))
}

/// The caller of the request's session cookie. A state-changing request must also come from
/// this server's own origin, else it is refused (403, [`session::CROSS_ORIGIN`]) before
/// anything runs. `Unauthenticated` without a live session.
pub fn cookie_caller(
    engine: &Engine,
    method: &axum::http::Method,
    headers: &HeaderMap,
) -> crate::Result<Caller> {
    let session_id = session::cookie(headers, session::COOKIE).ok_or(Error::Unauthenticated)?;
    let caller = engine.session_caller(session_id)?;
    if session::changes_state(method) && !session::same_origin(headers) {
        return Err(Error::Forbidden(session::CROSS_ORIGIN.into()));
    }
    Ok(caller)
}
