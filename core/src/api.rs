//! The HTTP API: an axum [`Router`] over an `Arc<Engine>`.
//!
//! Every route is declared once in [`routes`] with the [`Access`] that may call it. The router
//! wraps each route in [`guard`], which authenticates the bearer token, applies the access rule
//! and hands the handler a [`Caller`]. Handlers take the caller from the request extensions, so a
//! route mounted without a guard cannot serve anyone (deny by default). The org of every
//! operation is the caller's; no handler reads an org from a body.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Json, Router};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::audit::AuditQuery;
use crate::auth::{Access, Caller};
use crate::bookings::{BookingStatus, NewBooking};
use crate::http_json::JsonBody;
use crate::ids::{ClientId, Id};
use crate::messaging::Inbound;
use crate::pages;
use crate::pool::ThreadStatus;
use crate::requests::Method;
use crate::world::NumberStatus;
use crate::{Engine, Error, Timestamp};

type AppState = Arc<Engine>;

/// The header that carries `hex(HMAC-SHA256(secret, raw body))` on inbound webhooks.
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";

/// The 403 a sitter gets from the chaos-mode routes (wording from the original requirements).
pub const CHAOS_SITTER_DENIAL: &str = "Access denied: Chaos mode is owner-only";

/// One route: method, path and who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// The HTTP method.
    pub method: Method,
    /// The path as axum matches it (`/api/threads/{id}/close`).
    pub path: &'static str,
    /// Who may call it (deny by default: every route names one).
    pub access: Access,
}

struct Route {
    spec: RouteSpec,
    handler: MethodRouter<AppState>,
}

fn route(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        spec: RouteSpec {
            method,
            path,
            access,
        },
        handler,
    }
}

const CHAOS: Access = Access::Staff {
    sitter_denial: CHAOS_SITTER_DENIAL,
};

/// Every route of the API, in one table split by concern (the order is the table's).
fn routes() -> Vec<Route> {
    [
        settings_and_ops_routes(),
        thread_routes(),
        booking_routes(),
        sitter_and_provider_routes(),
        page_routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Settings, the operations switches, audit, alerts, numbers, contacts and the inbox (staff).
fn settings_and_ops_routes() -> Vec<Route> {
    let staff = Access::STAFF;
    vec![
        route(
            Method::Get,
            "/api/settings/rotation",
            staff,
            get(get_rotation),
        ),
        route(
            Method::Post,
            "/api/settings/rotation",
            staff,
            post(post_rotation),
        ),
        route(
            Method::Post,
            "/api/ops/pool-release",
            staff,
            post(post_pool_release),
        ),
        route(Method::Get, "/api/ops/chaos-mode", CHAOS, get(get_chaos)),
        route(Method::Post, "/api/ops/chaos-mode", CHAOS, post(post_chaos)),
        route(Method::Get, "/api/audit", staff, get(get_audit)),
        route(Method::Get, "/api/alerts", staff, get(get_alerts)),
        route(
            Method::Post,
            "/api/alerts/{id}/resolve",
            staff,
            post(post_alert_resolve),
        ),
        route(Method::Get, "/api/numbers", staff, get(get_numbers)),
        route(
            Method::Post,
            "/api/numbers/{id}/status",
            staff,
            post(post_number_status),
        ),
        route(Method::Get, "/api/clients", staff, get(get_clients)),
        route(Method::Get, "/api/sitters", staff, get(get_sitters)),
        route(Method::Get, "/api/inbox", staff, get(get_inbox)),
    ]
}

/// Threads and their messages (staff).
fn thread_routes() -> Vec<Route> {
    let staff = Access::STAFF;
    vec![
        route(Method::Get, "/api/threads", staff, get(get_threads)),
        route(Method::Post, "/api/threads", staff, post(post_thread)),
        route(Method::Get, "/api/threads/{id}", staff, get(get_thread)),
        route(
            Method::Post,
            "/api/threads/{id}/close",
            staff,
            post(post_thread_close),
        ),
        route(
            Method::Post,
            "/api/threads/{id}/archive",
            staff,
            post(post_thread_archive),
        ),
        route(
            Method::Get,
            "/api/threads/{id}/messages",
            staff,
            get(get_thread_messages),
        ),
        route(
            Method::Post,
            "/api/threads/{id}/messages",
            staff,
            post(post_thread_message),
        ),
    ]
}

/// Bookings (staff).
fn booking_routes() -> Vec<Route> {
    let staff = Access::STAFF;
    vec![
        route(Method::Post, "/api/bookings", staff, post(post_booking)),
        route(Method::Get, "/api/bookings/{id}", staff, get(get_booking)),
        route(
            Method::Post,
            "/api/bookings/{id}/confirm",
            staff,
            post(post_booking_confirm),
        ),
        route(
            Method::Post,
            "/api/bookings/{id}/complete",
            staff,
            post(post_booking_complete),
        ),
        route(
            Method::Post,
            "/api/bookings/{id}/cancel",
            staff,
            post(post_booking_cancel),
        ),
        route(
            Method::Post,
            "/api/bookings/{id}/reschedule",
            staff,
            post(post_booking_reschedule),
        ),
        route(
            Method::Post,
            "/api/bookings/{id}/reassign",
            staff,
            post(post_booking_reassign),
        ),
    ]
}

/// The sitter views and the provider webhook.
fn sitter_and_provider_routes() -> Vec<Route> {
    vec![
        route(
            Method::Get,
            "/api/sitter/threads",
            Access::Sitter,
            get(get_sitter_threads),
        ),
        route(
            Method::Get,
            "/api/sitter/threads/{id}/messages",
            Access::Sitter,
            get(get_sitter_messages),
        ),
        route(
            Method::Post,
            "/api/sitter/threads/{id}/messages",
            Access::Sitter,
            post(post_sitter_message),
        ),
        route(
            Method::Post,
            "/api/messages/webhook",
            Access::Provider,
            post(post_webhook),
        ),
    ]
}

/// The staff pages (DESIGN.md §4), in `pages`, and their public login and assets.
fn page_routes() -> Vec<Route> {
    vec![
        route(
            Method::Get,
            "/settings/rotation",
            Access::Page,
            get(pages::settings_page),
        ),
        route(Method::Get, "/audit", Access::Page, get(pages::audit_page)),
        route(
            Method::Get,
            "/alerts",
            Access::Page,
            get(pages::alerts_page),
        ),
        route(
            Method::Get,
            "/login",
            Access::Public,
            get(pages::login_form),
        ),
        route(Method::Post, "/login", Access::Public, post(pages::login)),
        route(Method::Post, "/logout", Access::Public, post(pages::logout)),
        route(
            Method::Get,
            "/static/{file}",
            Access::Public,
            get(pages::static_file),
        ),
    ]
}

/// Every route with its declared access (the route/role matrix test walks this).
pub fn route_table() -> Vec<RouteSpec> {
    routes().into_iter().map(|r| r.spec).collect()
}

/// The API router. The same router serves `switchboard serve` and the simulator (in-process).
pub fn router(engine: Arc<Engine>) -> Router {
    let mut router = Router::new();
    for Route { spec, handler } in routes() {
        let guarded = handler.route_layer(middleware::from_fn_with_state(
            (engine.clone(), spec.access),
            guard,
        ));
        router = router.route(spec.path, guarded);
    }
    router
        .fallback(not_found)
        .layer(middleware::map_response(crate::http_json::json_errors))
        .layer(middleware::from_fn(pages::security_headers))
        .with_state(engine)
}

async fn not_found() -> Response {
    Error::NotFound("route".into()).into_response()
}

/// Authenticates and authorizes per the route's declared access.
async fn guard(
    State((engine, access)): State<(Arc<Engine>, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    if matches!(access, Access::Provider | Access::Public) {
        // The webhook authenticates by signature over the raw body, in its handler; the login
        // form and static files need no caller (their POSTs check the Origin themselves).
        return next.run(request).await;
    }
    let caller = authenticate(&engine, request.method(), request.headers())
        .and_then(|caller| engine.authorize(access, &caller).map(|()| caller));
    match caller {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) if access == Access::Page => pages::refusal(error),
        Err(error) => error.into_response(),
    }
}

/// The bearer token when one is sent; otherwise the browser's session cookie, whose
/// state-changing requests must also come from this server's origin (CSRF).
fn authenticate(
    engine: &Engine,
    method: &axum::http::Method,
    headers: &HeaderMap,
) -> Result<Caller, Error> {
    match bearer(headers) {
        Some(token) => engine.authenticate(token),
        None => pages::cookie_caller(engine, method, headers),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    crate::auth::bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            Error::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                json!({ "error": self.to_string() }),
            ),
            Error::Forbidden(message) => (StatusCode::FORBIDDEN, json!({ "error": message })),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, json!({ "error": self.to_string() })),
            Error::Invalid(errors) => (
                StatusCode::BAD_REQUEST,
                json!({ "error": "invalid request", "errors": errors }),
            ),
            Error::Conflict(message) => (StatusCode::CONFLICT, json!({ "error": message })),
            Error::UnsupportedMediaType(message) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({ "error": message }),
            ),
            Error::LeakBlocked => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": self.to_string() }),
            ),
            Error::Db(_) | Error::Migration(_) | Error::Corrupt(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "internal error" }),
            ),
        };
        (status, Json(body)).into_response()
    }
}

type ApiResult = Result<Response, Error>;

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(value).into_response())
}

/// Deserializes a typed body; serde's message names the offending field.
fn typed_body<T: for<'de> Deserialize<'de>>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("field"))
            .unwrap_or("")
            .to_string();
        Error::invalid(field, message)
    })
}

/// The id of a path segment; any other text is a 404 naming the kind (`thr`).
fn path_id<I: Id>(text: &str) -> Result<I, Error> {
    I::parse_external(text).ok_or_else(|| Error::NotFound(I::KIND.prefix().to_string()))
}

/// An optional id field of a body or query; a text of another shape is a 400 naming `field`.
fn optional_id<I: Id>(field: &str, text: Option<&str>) -> Result<Option<I>, Error> {
    text.map(|t| {
        I::parse_external(t)
            .ok_or_else(|| Error::invalid(field, format!("not a {} id: {t}", I::KIND.prefix())))
    })
    .transpose()
}

fn instant(field: &str, text: &str) -> Result<Timestamp, Error> {
    Timestamp::parse_rfc3339(text)
        .ok_or_else(|| Error::invalid(field, format!("must be an RFC 3339 instant, got {text:?}")))
}

async fn get_rotation(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    ok(engine.rotation_settings(caller.org)?)
}

async fn post_rotation(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    ok(engine.update_rotation_settings(caller.org, &caller.actor, &body)?)
}

async fn post_pool_release(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    ok(engine.run_release_job(caller.org, &caller.actor)?)
}

fn refuse_chaos_in_production(engine: &Engine) -> Result<(), Error> {
    if engine.config().production {
        return Err(Error::Forbidden(
            "Chaos mode is disabled in production".into(),
        ));
    }
    Ok(())
}

async fn get_chaos(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    refuse_chaos_in_production(&engine)?;
    ok(engine.chaos_settings(caller.org)?)
}

async fn post_chaos(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    refuse_chaos_in_production(&engine)?;
    ok(engine.update_chaos_settings(caller.org, &caller.actor, &body)?)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuditParams {
    #[serde(rename = "type")]
    event_type: Option<String>,
    thread_id: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

async fn get_audit(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<AuditParams>,
) -> ApiResult {
    let query = AuditQuery {
        event_type: params.event_type,
        thread: optional_id("threadId", params.thread_id.as_deref())?,
        message: None,
        after_seq: params.after,
        limit: params.limit,
    };
    ok(json!({ "events": engine.audit_timeline(caller.org, &query)? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertParams {
    status: Option<String>,
}

async fn get_alerts(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<AlertParams>,
) -> ApiResult {
    let open_only = match params.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => {
            return Err(Error::invalid(
                "status",
                format!("must be open or all, got {other:?}"),
            ));
        }
    };
    ok(json!({ "alerts": engine.alerts(caller.org, open_only)? }))
}

async fn post_alert_resolve(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    engine.resolve_alert(caller.org, &caller.actor, path_id(&id)?)?;
    ok(json!({ "resolved": id }))
}

async fn get_numbers(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    ok(json!({ "numbers": engine.numbers(caller.org)? }))
}

async fn get_clients(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    ok(json!({ "clients": engine.contacts(caller.org, crate::ContactKind::Client)? }))
}

async fn get_sitters(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    ok(json!({ "sitters": engine.contacts(caller.org, crate::ContactKind::Sitter)? }))
}

async fn get_inbox(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    ok(json!({ "messages": engine.inbox(caller.org)? }))
}

async fn get_threads(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    ok(json!({ "threads": engine.threads(caller.org)? }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenThreadBody {
    client_id: String,
    sitter_id: Option<String>,
    booking_id: Option<String>,
}

async fn post_thread(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let body: OpenThreadBody = typed_body(body)?;
    let client = ClientId::parse(&body.client_id).ok_or_else(|| {
        Error::invalid("clientId", format!("not a client id: {}", body.client_id))
    })?;
    let sitter = optional_id("sitterId", body.sitter_id.as_deref())?;
    let booking = optional_id("bookingId", body.booking_id.as_deref())?;
    let (thread, _) = engine.open_thread(caller.org, &caller.actor, client, sitter, booking)?;
    Ok((
        StatusCode::CREATED,
        Json(engine.thread(caller.org, thread)?),
    )
        .into_response())
}

async fn get_thread(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    ok(engine.thread(caller.org, path_id(&id)?)?)
}

async fn post_thread_close(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    end_thread(&engine, &caller, &id, ThreadStatus::Closed)
}

async fn post_thread_archive(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    end_thread(&engine, &caller, &id, ThreadStatus::Archived)
}

fn end_thread(engine: &Engine, caller: &Caller, id: &str, to: ThreadStatus) -> ApiResult {
    let thread = path_id(id)?;
    ok(engine.end_thread(caller.org, &caller.actor, thread, to)?)
}

async fn get_thread_messages(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    ok(json!({ "messages": engine.thread_messages(caller.org, path_id(&id)?)? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    body: String,
}

async fn post_thread_message(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let body: SendBody = typed_body(body)?;
    let thread = path_id(&id)?;
    engine.thread(caller.org, thread)?;
    let sent = engine.send(caller.org, &caller.actor, thread, &body.body)?;
    let message = engine.message(caller.org, sent.message)?;
    Ok((StatusCode::CREATED, Json(json!({ "message": message }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BookingBody {
    client_id: String,
    sitter_id: Option<String>,
    service: String,
    start: String,
    end: String,
}

async fn post_booking(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let body: BookingBody = typed_body(body)?;
    let new = NewBooking {
        client: ClientId::parse(&body.client_id).ok_or_else(|| {
            Error::invalid("clientId", format!("not a client id: {}", body.client_id))
        })?,
        sitter: optional_id("sitterId", body.sitter_id.as_deref())?,
        service: body.service,
        start: instant("start", &body.start)?,
        end: instant("end", &body.end)?,
    };
    Ok((
        StatusCode::CREATED,
        Json(engine.create_booking(caller.org, &caller.actor, &new)?),
    )
        .into_response())
}

async fn get_booking(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    ok(engine.booking(caller.org, path_id(&id)?)?)
}

async fn transition(engine: &Engine, caller: &Caller, id: &str, to: BookingStatus) -> ApiResult {
    ok(engine.transition_booking(caller.org, &caller.actor, path_id(id)?, to)?)
}

async fn post_booking_confirm(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    transition(&engine, &caller, &id, BookingStatus::Confirmed).await
}

async fn post_booking_complete(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    transition(&engine, &caller, &id, BookingStatus::Completed).await
}

async fn post_booking_cancel(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    transition(&engine, &caller, &id, BookingStatus::Cancelled).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReassignBody {
    sitter_id: Option<String>,
}

async fn post_booking_reassign(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let body: ReassignBody = typed_body(body)?;
    let sitter = optional_id("sitterId", body.sitter_id.as_deref())?;
    ok(engine.reassign_booking(caller.org, &caller.actor, path_id(&id)?, sitter)?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RescheduleBody {
    start: String,
    end: String,
}

/// `{"start": RFC 3339, "end": RFC 3339}`: new times for a pending or confirmed booking.
async fn post_booking_reschedule(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let body: RescheduleBody = typed_body(body)?;
    let (start, end) = (instant("start", &body.start)?, instant("end", &body.end)?);
    ok(engine.reschedule_booking(caller.org, &caller.actor, path_id(&id)?, start, end)?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberStatusBody {
    status: String,
}

/// `{"status": "active" | "quarantined" | "retired"}` for a pool number.
async fn post_number_status(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let body: NumberStatusBody = typed_body(body)?;
    let to = NumberStatus::parse(&body.status).ok_or_else(|| {
        Error::invalid(
            "status",
            format!(
                "must be \"active\", \"quarantined\" or \"retired\", got {:?}",
                body.status
            ),
        )
    })?;
    ok(engine.set_number_status(caller.org, &caller.actor, path_id(&id)?, to)?)
}

/// Sitter responses leave only through the leak gate.
fn sitter_response(
    engine: &Engine,
    caller: &Caller,
    path: &str,
    status: StatusCode,
    value: &Value,
) -> ApiResult {
    let bytes = engine.seal_sitter_response(caller, path, value)?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn get_sitter_threads(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    let view = engine.sitter_threads(&caller)?;
    sitter_response(
        &engine,
        &caller,
        "/api/sitter/threads",
        StatusCode::OK,
        &view,
    )
}

async fn get_sitter_messages(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    let view = engine.sitter_messages(&caller, path_id(&id)?)?;
    sitter_response(
        &engine,
        &caller,
        "/api/sitter/threads/{id}/messages",
        StatusCode::OK,
        &view,
    )
}

async fn post_sitter_message(
    State(engine): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let body: SendBody = typed_body(body)?;
    let view = engine.sitter_send(&caller, path_id(&id)?, &body.body)?;
    sitter_response(
        &engine,
        &caller,
        "/api/sitter/threads/{id}/messages",
        StatusCode::CREATED,
        &view,
    )
}

/// `hex(HMAC-SHA256(secret, body))`, the value of [`SIGNATURE_HEADER`].
pub fn sign_webhook(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn verify_signature(engine: &Engine, headers: &HeaderMap, body: &[u8]) -> Result<(), Error> {
    let Some(secret) = engine.config().webhook_secret.as_deref() else {
        return Ok(());
    };
    let given = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(Error::Unauthenticated)?;
    let given = hex::decode(given).map_err(|_| Error::Unauthenticated)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .map_err(|_| Error::Unauthenticated)?;
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&given).map_err(|_| Error::Unauthenticated)
}

async fn post_webhook(
    State(engine): State<AppState>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    debug_assert_eq!(method, axum::http::Method::POST);
    verify_signature(&engine, &headers, &body)?;
    let mut fields: [Option<String>; 4] = Default::default();
    const NAMES: [&str; 4] = ["From", "To", "Body", "MessageSid"];
    for (key, value) in form_urlencoded::parse(&body) {
        if let Some(i) = NAMES.iter().position(|n| *n == key) {
            fields[i] = Some(value.into_owned());
        }
    }
    let missing: Vec<_> = NAMES
        .iter()
        .zip(&fields)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| crate::FieldError::new(*n, "is required"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Invalid(missing));
    }
    let [Some(from), Some(to), Some(text), Some(sid)] = fields else {
        return Err(Error::invalid("", "malformed form"));
    };
    let outcome = engine.receive(&Inbound {
        from,
        to,
        body: text,
        message_sid: sid,
    })?;
    ok(outcome)
}
