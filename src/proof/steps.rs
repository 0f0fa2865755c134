//! The proof's steps, one function per requirement. Each acts in the browser, then checks what
//! the page shows (DOM) and what went over the wire (network log) against what the engine
//! stored.

use std::path::Path;
use std::time::Duration;

use chromiumoxide::{Browser, Page};
use serde_json::{Value, json};
use switchboard_core::ids::ThreadId;
use switchboard_core::requests::Request;

use super::browser::{eval, goto, js_string, screenshot, wait_until};
use super::network::{self, Exchange, NetworkLog};
use super::report::Report;
use super::world::{CLIENT_EMAIL, CLIENT_PHONE, DemoWorld};

const SETTINGS_API: &str = "/api/settings/rotation";

/// Runs every step; an `Err` means the proof could not go on.
pub async fn run(
    browser: &Browser,
    demo: &DemoWorld,
    out: &Path,
    report: &mut Report,
) -> Result<(), String> {
    let page = browser
        .new_page("about:blank")
        .await
        .map_err(|e| format!("new page: {e}"))?;
    let net = NetworkLog::capture(&page)
        .await
        .map_err(|e| format!("network capture: {e}"))?;
    let ctx = Ctx {
        browser,
        page: &page,
        demo,
        out,
    };
    println!("proof: logging in as the owner");
    ctx.login(&demo.owner_token, Some("login.png"), report)
        .await?;
    println!("proof: [a] saving rotation settings from the page, then reloading");
    requirement_a(&ctx, report).await?;
    println!("proof: [b] reading the network log");
    requirement_b(&ctx, &net, report).await?;
    println!("proof: [c] a booking is confirmed; its thread needs a pool number");
    let thread = requirement_c(&ctx, &net, report).await?;
    println!("proof: [sitter] the sitter visits their thread");
    sitter_visit(&ctx, &net, thread, report).await?;
    println!("proof: [d] inactivityReleaseDays=1, clock advanced, release job run");
    requirement_d(&ctx, &net, thread, report).await?;
    println!("proof: [pages] alerts page");
    alerts_page(&ctx, report).await?;
    println!("proof: [leaks] writing and scanning the HAR");
    scan_har(&ctx, &net, report).await
}

struct Ctx<'a> {
    browser: &'a Browser,
    page: &'a Page,
    demo: &'a DemoWorld,
    out: &'a Path,
}

impl Ctx<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.demo.base_url)
    }

    async fn goto(&self, path: &str) -> Result<(), String> {
        goto(self.page, &self.url(path)).await
    }

    async fn shot(&self, name: &str) -> Result<(), String> {
        screenshot(self.page, &self.out.join(name)).await
    }

    /// Logs in through the form (token typed into the field, Log in clicked).
    async fn login(
        &self,
        token: &str,
        shot: Option<&'static str>,
        report: &mut Report,
    ) -> Result<(), String> {
        self.goto("/login").await?;
        eval(
            self.page,
            &format!(
                "document.getElementById('token').value = {}",
                js_string(token)
            ),
        )
        .await?;
        if let Some(name) = shot {
            self.shot(name).await?;
            let form = eval(self.page, "!!document.getElementById('login-form')").await?;
            report.check(
                "pages",
                "GET /login shows the token form",
                name,
                form == json!(true),
                "form#login-form present",
            );
        }
        self.click("#login-form button").await?;
        let landed = wait_until(
            self.page,
            "location.pathname !== '/login' && document.readyState === 'complete'",
        )
        .await;
        if let Err(error) = landed {
            let text = eval(self.page, "document.body.innerText")
                .await
                .unwrap_or_default();
            return Err(format!("login: {error}; the page says {text}"));
        }
        Ok(())
    }

    async fn logout(&self) -> Result<(), String> {
        self.goto("/settings/rotation").await?;
        self.click("form[action='/logout'] button").await?;
        wait_until(
            self.page,
            "location.pathname === '/login' && document.readyState === 'complete'",
        )
        .await
    }

    async fn click(&self, selector: &str) -> Result<(), String> {
        let element = self
            .page
            .find_element(selector)
            .await
            .map_err(|e| format!("{selector}: {e}"))?;
        element
            .click()
            .await
            .map_err(|e| format!("clicking {selector}: {e}"))?;
        Ok(())
    }

    /// Opens the settings page, waits for its GET, sets `values`, clicks Save and waits for the
    /// answer. Returns the status text shown.
    async fn save_settings(&self, values: &[(&str, &str)]) -> Result<String, String> {
        self.goto("/settings/rotation").await?;
        wait_until(
            self.page,
            "document.getElementById('rotation-form').dataset.loaded === 'true'",
        )
        .await?;
        for (key, value) in values {
            let set = format!(
                "document.getElementById({}).value = {}",
                js_string(key),
                js_string(value)
            );
            eval(self.page, &set).await?;
        }
        self.click("#save").await?;
        wait_until(
            self.page,
            "['true', 'false'].includes(document.getElementById('rotation-form').dataset.saved)",
        )
        .await?;
        let status = eval(self.page, "document.getElementById('status').textContent").await?;
        Ok(status.as_str().unwrap_or_default().to_string())
    }

    /// The values the settings form shows, by key.
    async fn form_values(&self) -> Result<Value, String> {
        let js = "JSON.stringify(Object.fromEntries([...document.querySelectorAll('[data-key]')].map(e => [e.dataset.key, e.value])))";
        parse_json(eval(self.page, js).await?)
    }

    /// The audit rows the page shows: `[{type, seq, fields: {path: text}}]`.
    async fn audit_rows(&self) -> Result<Vec<Value>, String> {
        let js = "JSON.stringify([...document.querySelectorAll('tr.event')].map(r => ({type: r.dataset.type, seq: r.dataset.seq, \
                  fields: Object.fromEntries([...r.querySelectorAll('dd[data-field]')].map(d => [d.dataset.field, d.textContent]))})))";
        match parse_json(eval(self.page, js).await?)? {
            Value::Array(rows) => Ok(rows),
            other => Err(format!("audit rows: {other}")),
        }
    }
}

fn parse_json(value: Value) -> Result<Value, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("expected a JSON string from the page, got {value}"))?;
    serde_json::from_str(text).map_err(|e| format!("page JSON: {e}"))
}

/// Waits until every finished exchange matching `path` has its response body (bodies are
/// fetched asynchronously after `loadingFinished`).
async fn settled(net: &NetworkLog, path: &str) -> Vec<Exchange> {
    for _ in 0..50 {
        let matching: Vec<Exchange> = net
            .exchanges()
            .into_iter()
            .filter(|x| x.path() == path)
            .collect();
        if matching
            .iter()
            .all(|x| x.status.is_some() && x.response_body.is_some())
        {
            return matching;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    net.exchanges()
        .into_iter()
        .filter(|x| x.path() == path)
        .collect()
}

fn body_json(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

const SAVED: [(&str, &str); 2] = [
    ("maxConcurrentThreadsPerPoolNumber", "2"),
    ("stickyReuseKey", "threadId"),
];

fn shows_saved(values: &Value) -> bool {
    SAVED.iter().all(|(key, want)| match &values[key] {
        Value::String(text) => text == want,
        Value::Number(n) => n.to_string() == *want,
        _ => false,
    })
}

async fn requirement_a(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    // A bad value first: the page must show the server's message next to that field.
    let bad = "maxConcurrentThreadsPerPoolNumber";
    let status = ctx.save_settings(&[(bad, "0")]).await?;
    let slot = format!("document.getElementById('error-{bad}').textContent");
    let message = eval(ctx.page, &slot).await?;
    let message = message.as_str().unwrap_or_default().to_string();
    report.check(
        "a",
        format!("an invalid {bad}=0 is refused with its error shown next to the field"),
        "proof.har",
        status.starts_with("Not saved") && message.contains(">= 1"),
        format!("status {status:?}, field error {message:?}"),
    );
    let status = ctx.save_settings(&SAVED).await?;
    report.check(
        "a",
        "Save answers Saved on the page",
        "a-settings-after-reload.png",
        status == "Saved",
        format!("status text {status:?}"),
    );
    ctx.page
        .reload()
        .await
        .map_err(|e| format!("reload: {e}"))?;
    wait_until(
        ctx.page,
        "document.getElementById('rotation-form')?.dataset.loaded === 'true'",
    )
    .await?;
    let shown = ctx.form_values().await?;
    ctx.shot("a-settings-after-reload.png").await?;
    report.check("a", "after a reload the form shows maxConcurrentThreadsPerPoolNumber=2, stickyReuseKey=threadId",
        "a-settings-after-reload.png", shows_saved(&shown), format!("form shows {shown}"));
    let stored = ctx
        .demo
        .engine
        .rotation_settings(ctx.demo.org)
        .map_err(|e| e.to_string())?;
    let stored = serde_json::to_value(stored).map_err(|e| e.to_string())?;
    report.check(
        "a",
        "the database holds the saved values",
        "proof.har",
        shows_saved(&stored),
        format!("stored {stored}"),
    );
    Ok(())
}

async fn requirement_b(ctx: &Ctx<'_>, net: &NetworkLog, report: &mut Report) -> Result<(), String> {
    let calls = settled(net, SETTINGS_API).await;
    let seen: Vec<String> = calls
        .iter()
        .map(|x| format!("{} {}", x.method, x.status.unwrap_or(0)))
        .collect();
    let post = calls
        .iter()
        .position(|x| x.method == "POST" && shows_saved(&body_json(x.request_body.as_deref())));
    let before = post.and_then(|p| calls[..p].iter().rposition(|x| x.method == "GET"));
    let after = post.and_then(|p| {
        calls[p + 1..]
            .iter()
            .position(|x| x.method == "GET")
            .map(|i| i + p + 1)
    });
    let ok = |i: Option<usize>| i.is_some_and(|i| calls[i].status == Some(200));
    report.check(
        "b",
        "GET 200 → POST 200 → GET 200 of /api/settings/rotation, in that order",
        "proof.har",
        ok(before) && ok(post) && ok(after),
        format!("captured {}", seen.join(", ")),
    );
    let last = after
        .map(|i| body_json(calls[i].response_body.as_deref()))
        .unwrap_or(Value::Null);
    report.check(
        "b",
        "the GET after the POST answers the saved values",
        "proof.har",
        shows_saved(&last),
        format!("body {last}"),
    );
    let shown: Vec<&Exchange> = [before, post, after]
        .into_iter()
        .flatten()
        .map(|i| &calls[i])
        .collect();
    render_panel(ctx, &shown).await?;
    report.check(
        "b",
        "network panel rendered from the captured log",
        "b-network-log.png",
        shown.len() == 3,
        format!("{} rows", shown.len()),
    );
    Ok(())
}

/// Renders the rotation calls as a small page in a second tab (the capture tab stays as it
/// is) and screenshots it.
async fn render_panel(ctx: &Ctx<'_>, shown: &[&Exchange]) -> Result<(), String> {
    let panel = ctx
        .browser
        .new_page("about:blank")
        .await
        .map_err(|e| format!("panel tab: {e}"))?;
    panel
        .set_content(network::network_panel(shown))
        .await
        .map_err(|e| format!("panel: {e}"))?;
    screenshot(&panel, &ctx.out.join("b-network-log.png")).await?;
    let _ = panel.close().await;
    Ok(())
}

/// The audit row of `event_type` about `thread`, as the page shows it.
fn row_for<'r>(rows: &'r [Value], event_type: &str, thread: &str) -> Option<&'r Value> {
    rows.iter()
        .find(|r| r["type"] == event_type && r["fields"]["threadId"] == thread)
}

/// `(dotted.path, text)` of every scalar in `value`, the page's naming (`a.b`, `a[0]`).
fn leaves_of(path: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| leaves_of(&join(k), v, out)),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves_of(&format!("{path}[{i}]"), v, out)),
        Value::String(text) => out.push((path.to_string(), text.clone())),
        other => out.push((path.to_string(), other.to_string())),
    }
}

/// Every leaf of the stored payload appears on the page with the same text.
fn page_matches_payload(row: &Value, payload: &Value) -> Result<(), String> {
    let mut leaves = Vec::new();
    leaves_of("", payload, &mut leaves);
    let missing: Vec<String> = leaves
        .iter()
        .filter(|(path, text)| row["fields"][path.as_str()].as_str() != Some(text.as_str()))
        .map(|(path, text)| format!("{path}={text}"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("page lacks {}", missing.join(", ")))
    }
}

fn stored_event(demo: &DemoWorld, event_type: &str, thread: ThreadId) -> Result<Value, String> {
    let query = switchboard_core::audit::AuditQuery {
        event_type: Some(event_type.into()),
        thread: Some(thread),
        ..Default::default()
    };
    let events = demo
        .engine
        .audit_timeline(demo.org, &query)
        .map_err(|e| e.to_string())?;
    events
        .last()
        .map(|e| e.payload.clone())
        .ok_or_else(|| format!("no {event_type} event stored"))
}

/// What the audit page must show for one requirement.
struct AuditWant<'a> {
    requirement: &'static str,
    event_type: &'a str,
    thread: ThreadId,
    /// `(dotted field, text)` the event's row must show.
    expected: &'a [(&'a str, String)],
    shot: &'static str,
}

/// Checks the audit page filtered to `event_type`: the row about `thread` has `expected`
/// fields and shows every stored payload field; the document came over the wire with 200.
async fn check_audit(
    ctx: &Ctx<'_>,
    net: &NetworkLog,
    want: &AuditWant<'_>,
    report: &mut Report,
) -> Result<(), String> {
    let AuditWant {
        requirement,
        event_type,
        thread,
        expected,
        shot,
    } = *want;
    let path = format!("/audit?type={event_type}");
    ctx.goto(&path).await?;
    ctx.shot(shot).await?;
    let rows = ctx.audit_rows().await?;
    let thread_id = thread.to_string();
    let only_type = rows.iter().all(|r| r["type"] == event_type);
    report.check(
        requirement,
        format!("the filter shows only {event_type} rows"),
        shot,
        only_type && !rows.is_empty(),
        format!("{} rows", rows.len()),
    );
    let row = row_for(&rows, event_type, &thread_id)
        .cloned()
        .unwrap_or(Value::Null);
    for (field, want) in expected {
        let shown = row["fields"][*field].as_str().unwrap_or("(absent)");
        report.check(
            requirement,
            format!("{event_type} shows {field} = {want}"),
            shot,
            shown == want,
            format!("page shows {shown:?}"),
        );
    }
    let stored = stored_event(ctx.demo, event_type, thread)?;
    let every = page_matches_payload(&row, &stored);
    report.check(
        requirement,
        "every field of the stored payload is on the page",
        shot,
        every.is_ok(),
        every.err().unwrap_or_else(|| "all shown".into()),
    );
    let document = settled(net, "/audit").await;
    let served = document
        .iter()
        .rev()
        .find(|x| x.url.contains(&format!("type={event_type}")));
    let wire_ok = served.is_some_and(|x| {
        x.status == Some(200)
            && x.response_body
                .as_deref()
                .is_some_and(|b| b.contains(&thread_id))
    });
    report.check(
        requirement,
        format!("network log: GET {path} → 200 carrying the event"),
        "proof.har",
        wire_ok,
        served.map_or("not captured".into(), |x| {
            format!("status {}", x.status.unwrap_or(0))
        }),
    );
    Ok(())
}

async fn requirement_c(
    ctx: &Ctx<'_>,
    net: &NetworkLog,
    report: &mut Report,
) -> Result<ThreadId, String> {
    let thread = ctx
        .demo
        .book_and_confirm()
        .map_err(|e| format!("booking: {e}"))?;
    let summary = ctx
        .demo
        .engine
        .thread(ctx.demo.org, thread)
        .map_err(|e| e.to_string())?;
    let number = summary
        .number
        .ok_or("the confirmed booking's thread got no pool number")?;
    report.check(
        "c",
        "the confirmed booking's thread is bound to a pool number",
        "c-audit-assigned.png",
        true,
        format!("{} on {}", summary.id, number.e164),
    );
    let stored = stored_event(ctx.demo, "pool.number.assigned", thread)?;
    let expected = [
        ("e164", number.e164.clone()),
        ("strategy", "LRU".to_string()),
        (
            "selection",
            stored["selection"].as_str().unwrap_or("?").to_string(),
        ),
        ("capacityCheck.maxConcurrent", "2".to_string()),
        (
            "capacityCheck.currentCount",
            stored["capacityCheck"]["currentCount"].to_string(),
        ),
        (
            "capacityCheck.availableCount",
            stored["capacityCheck"]["availableCount"].to_string(),
        ),
        ("capacityCheck.totalPoolCount", "3".to_string()),
        ("context.stickyReuseKey", "threadId".to_string()),
    ];
    let want = AuditWant {
        requirement: "c",
        event_type: "pool.number.assigned",
        thread,
        expected: &expected,
        shot: "c-audit-assigned.png",
    };
    check_audit(ctx, net, &want, report).await?;
    Ok(thread)
}

async fn sitter_visit(
    ctx: &Ctx<'_>,
    net: &NetworkLog,
    thread: ThreadId,
    report: &mut Report,
) -> Result<(), String> {
    let summary = ctx
        .demo
        .engine
        .thread(ctx.demo.org, thread)
        .map_err(|e| e.to_string())?;
    let number = summary.number.ok_or("thread lost its number")?;
    ctx.demo
        .client_writes(&number.e164)
        .map_err(|e| format!("inbound: {e}"))?;
    ctx.logout().await?;
    ctx.login(&ctx.demo.sitter_token, None, report).await?;
    let path = Request::sitter_messages(summary.id).path;
    ctx.goto(&path).await?;
    ctx.shot("sitter-thread.png").await?;
    let text = eval(ctx.page, "document.body.innerText").await?;
    let text = text.as_str().unwrap_or_default();
    report.check(
        "sitter",
        "the sitter's thread view shows the client's message",
        "sitter-thread.png",
        text.contains("Key is under the mat"),
        "message body present",
    );
    let scanner = ctx.demo.engine.leak_scanner().map_err(|e| e.to_string())?;
    let findings = scanner.scan_text(text).findings.len();
    report.check(
        "sitter",
        "the sitter's page shows neither the client's phone nor email",
        "sitter-thread.png",
        findings == 0 && !text.contains(CLIENT_EMAIL),
        format!("{findings} findings"),
    );
    let served = settled(net, &path).await;
    report.check(
        "sitter",
        format!("network log: GET {path} → 200"),
        "proof.har",
        served.last().is_some_and(|x| x.status == Some(200)),
        format!("{} captured", served.len()),
    );
    ctx.goto("/settings/rotation").await?;
    ctx.shot("sitter-refused.png").await?;
    let refused = eval(
        ctx.page,
        "document.getElementById('refusal')?.dataset.status",
    )
    .await?;
    let wire = settled(net, "/settings/rotation").await;
    report.check(
        "sitter",
        "a sitter gets the 403 page for /settings/rotation",
        "sitter-refused.png",
        refused == json!("403") && wire.last().is_some_and(|x| x.status == Some(403)),
        format!("page status {refused}"),
    );
    ctx.logout().await
}

async fn requirement_d(
    ctx: &Ctx<'_>,
    net: &NetworkLog,
    thread: ThreadId,
    report: &mut Report,
) -> Result<(), String> {
    ctx.login(&ctx.demo.owner_token, None, report).await?;
    let status = ctx.save_settings(&[("inactivityReleaseDays", "1")]).await?;
    report.check(
        "d",
        "inactivityReleaseDays=1 saved from the page",
        "proof.har",
        status == "Saved",
        format!("status text {status:?}"),
    );
    let summary = ctx
        .demo
        .engine
        .thread(ctx.demo.org, thread)
        .map_err(|e| e.to_string())?;
    let number = summary
        .number
        .ok_or("thread lost its number before the release")?;
    // Past the inactivity deadline (last message + 1 day), before grace (window end + 72 h).
    ctx.demo.clock.advance(86_400 + 600);
    println!("proof: clock advanced to {}", ctx.demo.engine.now());
    ctx.login(&ctx.demo.owner_token, None, report).await?; // the 12-hour session has expired
    let job = "fetch('/api/ops/pool-release', {method: 'POST'}).then(r => r.json().then(b => JSON.stringify({status: r.status, body: b})))";
    let job = parse_json(eval(ctx.page, job).await?)?;
    report.check(
        "d",
        "POST /api/ops/pool-release from the page → 200, one release by inactivity",
        "proof.har",
        job["status"] == 200 && job["body"]["releasedByInactivity"] == 1,
        format!("{job}"),
    );
    let expected = [
        ("numberId", number.id.to_string()),
        ("e164", number.e164.clone()),
        ("threadId", summary.id.to_string()),
        ("reason", "inactivityReleaseDays (1d) expired".to_string()),
        ("settings.inactivityReleaseDays", "1".to_string()),
        ("settings.postBookingGraceHours", "72".to_string()),
        ("settings.maxPoolThreadLifetimeDays", "30".to_string()),
    ];
    let want = AuditWant {
        requirement: "d",
        event_type: "pool.number.released",
        thread,
        expected: &expected,
        shot: "d-audit-released.png",
    };
    check_audit(ctx, net, &want, report).await
}

async fn alerts_page(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    ctx.goto("/alerts").await?;
    ctx.shot("alerts.png").await?;
    let shown = eval(ctx.page, "document.querySelectorAll('tr.alert').length").await?;
    let stored = ctx
        .demo
        .engine
        .alerts(ctx.demo.org, false)
        .map_err(|e| e.to_string())?
        .len();
    report.check(
        "pages",
        "the alerts page lists every alert, open and resolved",
        "alerts.png",
        shown == json!(stored),
        format!("page {shown}, stored {stored}"),
    );
    Ok(())
}

async fn scan_har(ctx: &Ctx<'_>, net: &NetworkLog, report: &mut Report) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(300)).await; // let the last bodies arrive
    let exchanges = net.exchanges();
    let har = serde_json::to_vec_pretty(&network::har(&exchanges)).map_err(|e| e.to_string())?;
    std::fs::write(ctx.out.join("proof.har"), &har)
        .map_err(|e| format!("writing proof.har: {e}"))?;
    let scanner = ctx.demo.engine.leak_scanner().map_err(|e| e.to_string())?;
    let scan = scanner.scan_json(&har);
    let findings: Vec<String> = scan.findings.iter().map(ToString::to_string).collect();
    report.check(
        "leaks",
        format!(
            "the HAR ({} requests) holds no real phone or email",
            exchanges.len()
        ),
        "proof.har",
        scan.is_clean(),
        if findings.is_empty() {
            "no findings".into()
        } else {
            findings.join("; ")
        },
    );
    let sitter_calls = exchanges
        .iter()
        .filter(|x| x.path().starts_with("/api/sitter/"))
        .count();
    report.check(
        "leaks",
        "the scanned HAR includes the sitter's visit",
        "proof.har",
        sitter_calls > 0,
        format!("{sitter_calls} sitter requests"),
    );
    let probe = json!({ "probe": format!("call {} / {}", CLIENT_PHONE.replace("+1", "+1 ("), CLIENT_EMAIL.to_uppercase()) });
    let control = scanner
        .scan_json(probe.to_string().as_bytes())
        .findings
        .len();
    report.check(
        "leaks",
        "control: the same scanner finds the client's contacts when they are present",
        "proof.har",
        control >= 2,
        format!("{control} findings in a planted probe"),
    );
    Ok(())
}
