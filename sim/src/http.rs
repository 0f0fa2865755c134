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
    /// The HTTP status.
    pub status: u16,
    /// The response body, byte for byte.
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
    /// The HTTP method.
    pub method: Method,
    /// The path and query, ids in their external form.
    pub path: &'a str,
    /// The bearer token, if the step acts as someone.
    pub token: Option<&'a str>,
    /// The `Content-Type` of the body (empty: none).
    pub content_type: &'a str,
    /// Extra headers (a webhook's signature).
    pub headers: Vec<(&'a str, String)>,
    /// The request body.
    pub body: Vec<u8>,
}

/// Sends `call` through the router in-process (tower `oneshot`) and collects the answer;
/// `Err` only when the request cannot be built or the body cannot be read.
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
