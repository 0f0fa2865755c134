//! Calling the engine's real axum Router in-process (tower `oneshot`): the bytes a step gets are
//! the bytes a real client would get.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::Value;
use switchboard_core::requests::Method;
use tower::ServiceExt;

/// One HTTP exchange, as the simulator keeps it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Exchange {
    /// The body as JSON (`null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// The request a step sends.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub content_type: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Vec<u8>,
}

pub async fn send(router: &Router, call: Call<'_>) -> Result<Exchange, String> {
    let mut request = Request::builder()
        .method(call.method.as_str())
        .uri(call.path);
    if let Some(token) = call.token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if !call.body.is_empty() {
        request = request.header("content-type", call.content_type);
    }
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Body::from(call.body))
        .map_err(|e| format!("bad request: {e}"))?;
    let Ok(response) = router.clone().oneshot(request).await;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the response body: {e}"))?
        .to_bytes()
        .to_vec();
    Ok(Exchange { status, body })
}
