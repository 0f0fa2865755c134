//! The staff pages (DESIGN.md §4) over the real router: login and session cookie, access rules
//! per role, CSRF by Origin, the Content-Security-Policy, and what each page shows.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;
use switchboard_core::ids::AlertId;
use switchboard_core::pages::{self, session};
use tower::ServiceExt;

use crate::support::{D, Fixture, H};

const HOST: &str = "switchboard.test";
const ORIGIN: &str = "http://switchboard.test";
const FOREIGN: &str = "http://evil.test";
const PAGES: [&str; 3] = ["/settings/rotation", "/audit", "/alerts"];

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// One request to the real router: `cookie` is a session id, `origin` the `Origin` header.
async fn send(
    fx: &Fixture,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    body: (&str, &str),
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST);
    if let Some(cookie) = cookie {
        request = request.header(
            header::COOKIE,
            format!("other=1; {}={cookie}", session::COOKIE),
        );
    }
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    if !body.0.is_empty() {
        request = request.header(header::CONTENT_TYPE, body.0);
    }
    let response = fx
        .router
        .clone()
        .oneshot(request.body(Body::from(body.1.to_string())).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// Logs in with `token` through the form and returns the session id from `Set-Cookie`.
async fn login(fx: &Fixture, token: &str) -> String {
    let body = format!("token={token}");
    let reply = send(fx, "POST", "/login", None, Some(ORIGIN), (FORM, &body)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let value = cookie.split(';').next().unwrap();
    value
        .strip_prefix(&format!("{}=", session::COOKIE))
        .unwrap()
        .to_string()
}

fn location(reply: &Reply) -> &str {
    reply.headers[header::LOCATION].to_str().unwrap()
}

/// A world with an assigned thread, a released one and an open and a resolved alert.
fn world() -> (Fixture, i64) {
    let fx = Fixture::new(
        2,
        3,
        json!({"minPoolReserve": 0, "inactivityReleaseDays": 1}),
    );
    let thread = fx.book(0, Some(0), 0, 2);
    fx.advance(D + H);
    fx.release();
    fx.book(1, Some(0), 0, 2);
    fx.book(2, Some(1), 0, 2);
    fx.open(0); // no number left: pool.exhausted alert opens
    (fx, thread)
}

#[tokio::test]
async fn login_sets_a_strict_session_cookie_and_logout_ends_it() {
    let (fx, _) = world();
    let session = login(&fx, &fx.owner).await;
    let page = send(
        &fx,
        "GET",
        "/settings/rotation",
        Some(&session),
        None,
        ("", ""),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let logout = send(
        &fx,
        "POST",
        "/logout",
        Some(&session),
        Some(ORIGIN),
        ("", ""),
    )
    .await;
    assert_eq!(
        (logout.status, location(&logout)),
        (StatusCode::SEE_OTHER, "/login")
    );
    assert!(
        logout.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = send(
        &fx,
        "GET",
        "/settings/rotation",
        Some(&session),
        None,
        ("", ""),
    )
    .await;
    assert_eq!(
        (after.status, location(&after)),
        (StatusCode::SEE_OTHER, "/login")
    );
}

#[tokio::test]
async fn bad_tokens_foreign_origins_and_expired_sessions_get_no_session() {
    let (fx, _) = world();
    let before = fx.dump();
    let bad = send(
        &fx,
        "POST",
        "/login",
        None,
        Some(ORIGIN),
        (FORM, "token=nope"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.body.contains("not valid") && !bad.headers.contains_key(header::SET_COOKIE));
    let body = format!("token={}", fx.owner);
    for origin in [Some(FOREIGN), None] {
        let refused = send(&fx, "POST", "/login", None, origin, (FORM, &body)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{origin:?}");
        assert!(!refused.headers.contains_key(header::SET_COOKIE));
    }
    assert_eq!(fx.dump(), before, "refused logins stored nothing");
    let session = login(&fx, &fx.owner).await;
    fx.advance(session::SESSION_SECONDS);
    let expired = send(&fx, "GET", "/audit", Some(&session), None, ("", "")).await;
    assert_eq!(
        (expired.status, location(&expired)),
        (StatusCode::SEE_OTHER, "/login")
    );
}

#[tokio::test]
async fn every_page_by_role_owner_admin_sitter_anonymous_rival() {
    let (fx, thread) = world();
    let scanner = fx.engine.leak_scanner().unwrap();
    let thread_id = format!("thr_{thread}");
    for path in PAGES {
        for token in [&fx.owner, &fx.admin] {
            let session = login(&fx, token).await;
            let reply = send(&fx, "GET", path, Some(&session), None, ("", "")).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
            assert!(
                reply.headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
        }
        let sitter = login(&fx, &fx.sitter_tokens[0]).await;
        let refused = send(&fx, "GET", path, Some(&sitter), None, ("", "")).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            refused.body.contains("id=\"refusal\""),
            "{path}: a 403 page, not JSON"
        );
        assert!(
            !refused.body.contains(&thread_id),
            "{path}: the 403 page shows no data"
        );
        let scan = scanner.scan_text(&refused.body);
        assert!(
            scan.is_clean(),
            "{path} rendered for a sitter leaks: {:?}",
            scan.findings
        );
        let anonymous = send(&fx, "GET", path, None, None, ("", "")).await;
        assert_eq!(
            (anonymous.status, location(&anonymous)),
            (StatusCode::SEE_OTHER, "/login")
        );
        let rival = login(&fx, &fx.rival_owner).await;
        let other_org = send(&fx, "GET", path, Some(&rival), None, ("", "")).await;
        assert_eq!(other_org.status, StatusCode::OK, "{path}");
        assert!(
            !other_org.body.contains(&thread_id),
            "{path}: rival sees the main org's data"
        );
        assert!(
            !other_org.body.contains("pool.number"),
            "{path}: rival sees the main org's audit"
        );
    }
}

#[tokio::test]
async fn a_sitter_session_reaches_its_own_view_and_nothing_staff() {
    let (fx, _) = world();
    let reply = send(
        &fx,
        "POST",
        "/login",
        None,
        Some(ORIGIN),
        (FORM, &format!("token={}", fx.sitter_tokens[0])),
    )
    .await;
    assert_eq!(location(&reply), pages::SITTER_HOME);
    let sitter = login(&fx, &fx.sitter_tokens[0]).await;
    let own = send(
        &fx,
        "GET",
        pages::SITTER_HOME,
        Some(&sitter),
        None,
        ("", ""),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let staff_api = send(
        &fx,
        "GET",
        "/api/settings/rotation",
        Some(&sitter),
        None,
        ("", ""),
    )
    .await;
    assert_eq!(staff_api.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cookie_authenticated_writes_need_this_origin() {
    let (fx, _) = world();
    let session = login(&fx, &fx.owner).await;
    let patch = r#"{"maxConcurrentThreadsPerPoolNumber": 5}"#;
    let before = fx.dump();
    for origin in [
        Some(FOREIGN),
        None,
        Some("http://switchboard.test.evil.test"),
    ] {
        let refused = send(
            &fx,
            "POST",
            "/api/settings/rotation",
            Some(&session),
            origin,
            (JSON, patch),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{origin:?}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&refused.body).unwrap()["error"],
            session::CROSS_ORIGIN
        );
        let logout = send(&fx, "POST", "/logout", Some(&session), origin, ("", "")).await;
        assert_eq!(logout.status, StatusCode::FORBIDDEN, "{origin:?}");
    }
    assert_eq!(fx.dump(), before, "cross-origin requests changed nothing");
    let saved = send(
        &fx,
        "POST",
        "/api/settings/rotation",
        Some(&session),
        Some(ORIGIN),
        (JSON, patch),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        fx.engine
            .rotation_settings(fx.org)
            .unwrap()
            .max_concurrent_threads_per_pool_number,
        5
    );
    let read = send(
        &fx,
        "GET",
        "/api/settings/rotation",
        Some(&session),
        None,
        ("", ""),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "a GET needs no Origin");
}

#[tokio::test]
async fn every_response_carries_the_content_security_policy() {
    let (fx, _) = world();
    let session = login(&fx, &fx.owner).await;
    for path in [
        "/login",
        "/settings/rotation",
        "/api/settings/rotation",
        "/static/settings.js",
        "/nowhere",
    ] {
        let reply = send(&fx, "GET", path, Some(&session), None, ("", "")).await;
        assert_eq!(
            reply.headers[header::CONTENT_SECURITY_POLICY],
            pages::CSP,
            "{path}"
        );
        assert_eq!(
            reply.headers[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{path}"
        );
    }
    assert!(pages::CSP.contains("script-src 'self'") && !pages::CSP.contains("unsafe-inline"));
    let html = send(
        &fx,
        "GET",
        "/settings/rotation",
        Some(&session),
        None,
        ("", ""),
    )
    .await
    .body;
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );
    let js = send(&fx, "GET", "/static/settings.js", None, None, ("", "")).await;
    assert!(
        js.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

#[tokio::test]
async fn settings_page_shows_all_eight_keys_with_ranges_and_saved_values() {
    let (fx, _) = world();
    fx.settings(json!({"poolSelectionStrategy": "FIFO", "stickyReuseKey": "threadId", "postBookingGraceHours": 0}));
    let session = login(&fx, &fx.owner).await;
    let html = send(
        &fx,
        "GET",
        "/settings/rotation",
        Some(&session),
        None,
        ("", ""),
    )
    .await
    .body;
    for key in switchboard_core::settings::RotationSettings::KEYS {
        assert!(html.contains(&format!("id=\"{key}\"")), "input for {key}");
        assert!(
            html.contains(&format!("id=\"error-{key}\"")),
            "error slot for {key}"
        );
    }
    for shown in [
        r#"<option value="FIFO" selected>"#,
        r#"<option value="threadId" selected>"#,
        r#"id="postBookingGraceHours" name="postBookingGraceHours" data-key="postBookingGraceHours" data-type="int"
               type="number" step="1" min="0" max="100000" value="0""#,
        "integer, 1 to 100000",
        "one of LRU, FIFO, HASH_SHUFFLE",
    ] {
        assert!(html.contains(shown), "page lacks {shown}");
    }
}

#[tokio::test]
async fn audit_page_is_newest_first_filtered_paginated_and_shows_every_field() {
    let (fx, thread) = world();
    let session = login(&fx, &fx.owner).await;
    let get = |path: String| {
        let (fx, session) = (&fx, session.clone());
        async move { send(fx, "GET", &path, Some(&session), None, ("", "")).await }
    };
    let assigned = get("/audit?type=pool.number.assigned".into()).await.body;
    let assigned_fields = [
        "e164",
        "strategy",
        "selection",
        "capacityCheck.maxConcurrent",
        "capacityCheck.currentCount",
        "capacityCheck.availableCount",
        "capacityCheck.totalPoolCount",
    ];
    assert_fields(&assigned, "assigned", &assigned_fields);
    assert!(!assigned.contains("data-type=\"pool.number.released\""));
    let released = get(format!(
        "/audit?type=pool.number.released&thread=thr_{thread}"
    ))
    .await
    .body;
    let released_fields = [
        "numberId",
        "e164",
        "threadId",
        "reason",
        "settings.inactivityReleaseDays",
        "settings.postBookingGraceHours",
        "settings.maxPoolThreadLifetimeDays",
    ];
    assert_fields(&released, "released", &released_fields);
    assert!(released.contains("inactivityReleaseDays (1d) expired"));
    let all = get("/audit".into()).await.body;
    let seqs = event_seqs(&all);
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let thread_only = get(format!("/audit?thread=thr_{thread}")).await.body;
    assert!(
        thread_only
            .split("<tr class=\"event\"")
            .skip(1)
            .all(|row| row.contains(&format!("thr_{thread}")))
    );
    let bad = get("/audit?thread=bogus".into()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("id=\"filter-error\""));
    // Pagination: enough events for two pages, the second continuing where the first stopped.
    for _ in 0..pages::AUDIT_PAGE_SIZE {
        fx.settings(json!({"minPoolReserve": 0}));
    }
    let first = get("/audit".into()).await.body;
    let older = first
        .split("id=\"older\" href=\"")
        .nth(1)
        .expect("an Older link")
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    let first_seqs = event_seqs(&first);
    assert_eq!(first_seqs.len() as i64, pages::AUDIT_PAGE_SIZE);
    let second = get(older).await.body;
    let next = event_seqs(&second)[0];
    assert_eq!(next, first_seqs.last().unwrap() - 1);
}

/// Every `data-field` in `fields` is on the page.
fn assert_fields(html: &str, what: &str, fields: &[&str]) {
    for field in fields {
        assert!(
            html.contains(&format!("data-field=\"{field}\"")),
            "{what} lacks {field}"
        );
    }
}

/// The `data-seq` of every event row, in page order.
fn event_seqs(html: &str) -> Vec<i64> {
    html.split("data-seq=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

#[tokio::test]
async fn alerts_page_shows_open_and_resolved() {
    let (fx, _) = world();
    let open = fx.engine.alerts(fx.org, true).unwrap();
    assert!(!open.is_empty());
    let session = login(&fx, &fx.owner).await;
    let html = send(&fx, "GET", "/alerts", Some(&session), None, ("", ""))
        .await
        .body;
    assert!(
        html.contains("data-type=\"pool.exhausted\" data-status=\"open\""),
        "{html}"
    );
    let id: i64 = open[0].id.trim_start_matches("alr_").parse().unwrap();
    fx.engine
        .resolve_alert(fx.org, "test", AlertId(id))
        .unwrap();
    let html = send(&fx, "GET", "/alerts", Some(&session), None, ("", ""))
        .await
        .body;
    let resolved = html.split("id=\"alerts-resolved\"").nth(1).unwrap();
    assert!(
        resolved.contains(&open[0].id),
        "resolved section lists the alert"
    );
}
