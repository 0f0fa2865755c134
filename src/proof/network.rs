//! The browser's network log, captured from CDP `Network` events of one page, and written as a
//! HAR 1.2 document (a headless browser has no DevTools panel to show it in).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFinished, EventRequestWillBeSent, EventRequestWillBeSentExtraInfo,
    EventResponseReceived, EventResponseReceivedExtraInfo, GetRequestPostDataParams,
    GetResponseBodyParams,
};
use futures::StreamExt;
use serde_json::{Value, json};

/// One request/response pair as the browser saw it.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    /// Order in which the browser issued the request.
    pub order: usize,
    pub method: String,
    pub url: String,
    /// Wall-clock seconds since the epoch when the request was sent.
    pub wall_time: f64,
    pub request_headers: Value,
    pub request_body: Option<String>,
    pub status: Option<i64>,
    pub status_text: String,
    pub mime_type: String,
    pub response_headers: Value,
    pub response_body: Option<String>,
    pub body_base64: bool,
}

impl Exchange {
    /// The URL's path (no query).
    pub fn path(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        path.split(['?', '#']).next().unwrap_or(path)
    }
}

type Log = Arc<Mutex<BTreeMap<String, Exchange>>>;

/// The network log of one page; events keep arriving while the page is used.
#[derive(Clone, Default)]
pub struct NetworkLog {
    exchanges: Log,
}

fn with_exchange(log: &Log, id: &str, f: impl FnOnce(&mut Exchange)) {
    let mut map = log.lock().unwrap_or_else(|p| p.into_inner());
    let next = map.len();
    let exchange = map.entry(id.to_string()).or_insert_with(|| Exchange {
        order: next,
        ..Exchange::default()
    });
    f(exchange);
}

/// Records each request as the browser sends it: method, URL, time, headers, and the posted
/// body (fetched over CDP).
async fn watch_requests(
    l: Log,
    p: Page,
    mut sent: chromiumoxide::listeners::EventStream<EventRequestWillBeSent>,
) {
    while let Some(event) = sent.next().await {
        let id = event.request_id.inner().clone();
        let has_body = event.request.has_post_data.unwrap_or(false);
        with_exchange(&l, &id, |x| {
            x.method = event.request.method.clone();
            x.url = event.request.url.clone();
            x.wall_time = *event.wall_time.inner();
            if x.request_headers.is_null() {
                x.request_headers = event.request.headers.inner().clone();
            }
        });
        if has_body {
            let body = p
                .execute(GetRequestPostDataParams::new(event.request_id.clone()))
                .await;
            if let Ok(body) = body {
                with_exchange(&l, &id, |x| {
                    x.request_body = Some(body.result.post_data.clone())
                });
            }
        }
    }
}

impl NetworkLog {
    /// Starts listening on `page` (the Network domain is enabled by chromiumoxide).
    pub async fn capture(page: &Page) -> chromiumoxide::Result<NetworkLog> {
        let log = NetworkLog::default();
        let sent = page.event_listener::<EventRequestWillBeSent>().await?;
        let mut sent_extra = page
            .event_listener::<EventRequestWillBeSentExtraInfo>()
            .await?;
        let mut received = page.event_listener::<EventResponseReceived>().await?;
        let mut received_extra = page
            .event_listener::<EventResponseReceivedExtraInfo>()
            .await?;
        let mut finished = page.event_listener::<EventLoadingFinished>().await?;
        tokio::spawn(watch_requests(log.exchanges.clone(), page.clone(), sent));
        let l = log.exchanges.clone();
        tokio::spawn(async move {
            while let Some(event) = sent_extra.next().await {
                // Extra info carries the headers as sent, cookies included.
                with_exchange(&l, event.request_id.inner(), |x| {
                    x.request_headers = event.headers.inner().clone();
                });
            }
        });
        let l = log.exchanges.clone();
        tokio::spawn(async move {
            while let Some(event) = received.next().await {
                with_exchange(&l, event.request_id.inner(), |x| {
                    x.status = Some(event.response.status);
                    x.status_text = event.response.status_text.clone();
                    x.mime_type = event.response.mime_type.clone();
                    if x.response_headers.is_null() {
                        x.response_headers = event.response.headers.inner().clone();
                    }
                });
            }
        });
        let l = log.exchanges.clone();
        tokio::spawn(async move {
            while let Some(event) = received_extra.next().await {
                with_exchange(&l, event.request_id.inner(), |x| {
                    x.response_headers = event.headers.inner().clone();
                });
            }
        });
        let (l, p) = (log.exchanges.clone(), page.clone());
        tokio::spawn(async move {
            while let Some(event) = finished.next().await {
                let body = p
                    .execute(GetResponseBodyParams::new(event.request_id.clone()))
                    .await;
                if let Ok(body) = body {
                    with_exchange(&l, event.request_id.inner(), |x| {
                        x.response_body = Some(body.result.body.clone());
                        x.body_base64 = body.result.base64_encoded;
                    });
                }
            }
        });
        Ok(log)
    }

    /// Every exchange so far, in the order the browser sent the requests.
    pub fn exchanges(&self) -> Vec<Exchange> {
        let map = self.exchanges.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<Exchange> = map.values().cloned().collect();
        all.sort_by_key(|x| x.order);
        all
    }
}

fn name_values(headers: &Value) -> Vec<Value> {
    headers
        .as_object()
        .map(|map| {
            map.iter()
                .flat_map(|(name, value)| {
                    // CDP joins repeated headers (Set-Cookie) with newlines.
                    let text = value
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| value.to_string());
                    text.split('\n')
                        .map(|v| json!({"name": name, "value": v}))
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn query_string(url: &str) -> Vec<Value> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}

fn iso_time(wall_time: f64) -> String {
    let millis = (wall_time * 1000.0).round() as i64;
    let seconds = switchboard_core::Timestamp(millis.div_euclid(1000)).rfc3339();
    // `2026-03-02T09:00:00Z` → `2026-03-02T09:00:00.123Z`
    format!(
        "{}.{:03}Z",
        seconds.trim_end_matches('Z'),
        millis.rem_euclid(1000)
    )
}

fn har_entry(x: &Exchange) -> Value {
    let mut request = json!({
        "method": x.method, "url": x.url, "httpVersion": "HTTP/1.1",
        "headers": name_values(&x.request_headers), "queryString": query_string(&x.url),
        "cookies": [], "headersSize": -1,
        "bodySize": x.request_body.as_ref().map_or(0, |b| b.len() as i64),
    });
    if let Some(body) = &x.request_body {
        let mime = x
            .request_headers
            .get("Content-Type")
            .or_else(|| x.request_headers.get("content-type"));
        request["postData"] =
            json!({"mimeType": mime.and_then(Value::as_str).unwrap_or(""), "text": body});
    }
    let body = x.response_body.clone().unwrap_or_default();
    let mut content = json!({"size": body.len(), "mimeType": x.mime_type, "text": body});
    if x.body_base64 {
        content["encoding"] = json!("base64");
    }
    let location = x
        .response_headers
        .get("location")
        .or_else(|| x.response_headers.get("Location"));
    json!({
        "startedDateTime": iso_time(x.wall_time),
        "time": 0,
        "request": request,
        "response": {
            "status": x.status.unwrap_or(0), "statusText": x.status_text, "httpVersion": "HTTP/1.1",
            "headers": name_values(&x.response_headers), "cookies": [], "content": content,
            "redirectURL": location.and_then(Value::as_str).unwrap_or(""),
            "headersSize": -1, "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
    })
}

/// The exchanges as a HAR 1.2 document.
pub fn har(exchanges: &[Exchange]) -> Value {
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "switchboard proof", "version": env!("CARGO_PKG_VERSION")},
            "pages": [],
            "entries": exchanges.iter().map(har_entry).collect::<Vec<_>>(),
        }
    })
}

/// A small HTML table of the exchanges (method, path, status, response body), to screenshot
/// in place of a DevTools network panel.
pub fn network_panel(exchanges: &[&Exchange]) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let rows: String = exchanges
        .iter()
        .map(|x| {
            format!(
                "<tr><td>{}</td><td>{}</td><td class=s>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                escape(&x.method),
                escape(&x.url),
                x.status.unwrap_or(0),
                escape(x.request_body.as_deref().unwrap_or("")),
                escape(x.response_body.as_deref().unwrap_or("")),
            )
        })
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=utf-8><style>\
         body{{font:13px system-ui,sans-serif;margin:12px}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}}\
         code{{white-space:pre-wrap;word-break:break-all;font-size:11px}}.s{{color:#0a7d28;font-weight:600}}\
         </style></head><body><h3>Network: /api/settings/rotation (captured over CDP)</h3>\
         <table id=network><tr><th>Method</th><th>URL</th><th>Status</th><th>Request body</th><th>Response body</th></tr>{rows}</table>\
         </body></html>"
    )
}
