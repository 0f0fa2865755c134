//! JSON at the HTTP edge: request bodies are read strictly and every error response is JSON.
//!
//! - [`JsonBody`] accepts only `Content-Type: application/json` (415 otherwise; an empty body
//!   with no content type counts as `{}`), refuses duplicate object keys at any depth (400:
//!   serde_json would silently keep the last one, so a body could say two things), and requires
//!   an object.
//! - [`json_errors`] turns every 4xx/5xx response that is not already JSON or HTML (axum's own
//!   rejections: 405, 413, bad query strings, bad paths) into `{"error": "..."}`.

use std::fmt;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::Error;

/// A JSON object request body, read strictly (see the module docs).
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_string());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_body(content_type.as_deref(), &bytes)
            .map(JsonBody)
            .map_err(IntoResponse::into_response)
    }
}

/// The body as a JSON object. `content_type` is the raw header value, if any.
pub fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Value, Error> {
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    match content_type {
        None if empty => return Ok(json!({})),
        Some(value) if is_json_media_type(value) => {}
        other => {
            return Err(Error::UnsupportedMediaType(format!(
                "the body must be sent as application/json, got {}",
                other.map_or("no Content-Type".to_string(), |v| format!("{v:?}"))
            )));
        }
    }
    if empty {
        return Ok(json!({}));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize(&mut deserializer)
        .and_then(|v| deserializer.end().map(|()| v.0))
        .map_err(|e| Error::invalid("", format!("body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::invalid("", "body must be a JSON object"));
    }
    Ok(value)
}

/// `application/json`, any case, with or without parameters such as `charset=utf-8`.
fn is_json_media_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// A JSON value whose objects have no repeated key.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Rewrites a non-JSON, non-HTML error response as `{"error": text}` (the original text, or the
/// status's reason when it had none), keeping the status and other headers (such as `Allow`).
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let media = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if media.starts_with("application/json") || media.starts_with("text/html") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let body = json!({ "error": message }).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(content_type: Option<&str>, body: &str, expected: Result<Value, &str>) {
        let got = parse_body(content_type, body.as_bytes());
        match (got, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{body}"),
            (Err(error), Err(want)) => {
                let text = format!("{error:?} {error}");
                assert!(text.contains(want), "{body}: {text} lacks {want}");
            }
            (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn bodies() {
        let json = Some("application/json");
        check(json, r#"{"a": 1}"#, Ok(json!({"a": 1})));
        check(
            Some("Application/JSON; charset=utf-8"),
            r#"{"a": 1}"#,
            Ok(json!({"a": 1})),
        );
        check(None, "", Ok(json!({})));
        check(json, "  ", Ok(json!({})));
        check(json, r#"{"a": 1, "a": 2}"#, Err("duplicate key `a`"));
        check(
            json,
            r#"{"x": {"b": [1, {"c": 1, "c": 1}]}}"#,
            Err("duplicate key `c`"),
        );
        check(json, r#"[1]"#, Err("must be a JSON object"));
        check(json, r#"{"a": 1} x"#, Err("not valid JSON"));
        check(None, r#"{"a": 1}"#, Err("UnsupportedMediaType"));
        check(
            Some("text/plain"),
            r#"{"a": 1}"#,
            Err("UnsupportedMediaType"),
        );
        check(
            Some("application/x-www-form-urlencoded"),
            "a=1",
            Err("UnsupportedMediaType"),
        );
    }
}
