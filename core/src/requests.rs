//! Typed requests to the HTTP API: each builder names one route of [`crate::api`] and produces
//! its method, path (with ids in their external form) and JSON body, so callers (the scenario
//! runner, benchmarks, tests) never spell a path by hand. A test checks every builder against
//! the router's route table.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Timestamp;
use crate::ids::{BookingId, ClientId, NumberId, SitterId, ThreadId};
use crate::world::NumberStatus;

/// The HTTP methods the API and the scenarios use (scenarios may send any of them to test
/// refusals: a `PUT` on a `POST` route is a 405).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
// The variants are the HTTP methods of their names; no doc per variant, because the scenario
// schema derives from this enum and a variant doc would turn its `enum` into a `oneOf`.
#[allow(missing_docs)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

crate::stored_words!(Method {
    Get => "GET",
    Post => "POST",
    Put => "PUT",
    Patch => "PATCH",
    Delete => "DELETE",
});

/// One API call as data: method, path and optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The HTTP method.
    pub method: Method,
    /// The path with ids in their external form: `/api/threads/thr_3/close`.
    pub path: String,
    /// The JSON body, for routes that take one.
    pub body: Option<Value>,
}

impl Request {
    fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            body: None,
        }
    }

    fn post(path: impl Into<String>, body: Option<Value>) -> Request {
        Request {
            method: Method::Post,
            path: path.into(),
            body,
        }
    }

    /// `POST /api/threads`: the owner opens a thread for a client, optionally on a booking.
    pub fn open_thread(client: ClientId, booking: Option<BookingId>) -> Request {
        let body = json!({ "clientId": client, "bookingId": booking });
        Request::post("/api/threads", Some(body))
    }

    /// `POST /api/threads/{thread}/close`.
    pub fn close_thread(thread: ThreadId) -> Request {
        Request::post(format!("/api/threads/{thread}/close"), None)
    }

    /// `POST /api/threads/{thread}/archive`.
    pub fn archive_thread(thread: ThreadId) -> Request {
        Request::post(format!("/api/threads/{thread}/archive"), None)
    }

    /// `POST /api/threads/{thread}/messages`: staff write to the client.
    pub fn send(thread: ThreadId, body: &str) -> Request {
        let path = format!("/api/threads/{thread}/messages");
        Request::post(path, Some(json!({ "body": body })))
    }

    /// `GET /api/sitter/threads`: the threads the calling sitter can read now.
    pub fn sitter_threads() -> Request {
        Request::get("/api/sitter/threads")
    }

    /// `GET /api/sitter/threads/{thread}/messages`.
    pub fn sitter_messages(thread: ThreadId) -> Request {
        Request::get(format!("/api/sitter/threads/{thread}/messages"))
    }

    /// `POST /api/sitter/threads/{thread}/messages`: the sitter writes to the client.
    pub fn sitter_send(thread: ThreadId, body: &str) -> Request {
        let path = format!("/api/sitter/threads/{thread}/messages");
        Request::post(path, Some(json!({ "body": body })))
    }

    /// `POST /api/bookings`: a pending booking.
    pub fn create_booking(
        client: ClientId,
        sitter: Option<SitterId>,
        service: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Request {
        let body = json!({
            "clientId": client,
            "sitterId": sitter,
            "service": service,
            "start": start,
            "end": end,
        });
        Request::post("/api/bookings", Some(body))
    }

    /// `POST /api/bookings/{booking}/confirm`: opens the client's thread for the booking.
    pub fn confirm_booking(booking: BookingId) -> Request {
        Request::post(format!("/api/bookings/{booking}/confirm"), None)
    }

    /// `POST /api/bookings/{booking}/complete`.
    pub fn complete_booking(booking: BookingId) -> Request {
        Request::post(format!("/api/bookings/{booking}/complete"), None)
    }

    /// `POST /api/bookings/{booking}/cancel`.
    pub fn cancel_booking(booking: BookingId) -> Request {
        Request::post(format!("/api/bookings/{booking}/cancel"), None)
    }

    /// `POST /api/bookings/{booking}/reschedule`.
    pub fn reschedule_booking(booking: BookingId, start: Timestamp, end: Timestamp) -> Request {
        let body = json!({ "start": start, "end": end });
        Request::post(format!("/api/bookings/{booking}/reschedule"), Some(body))
    }

    /// `POST /api/bookings/{booking}/reassign`; `None` unassigns the sitter.
    pub fn reassign_booking(booking: BookingId, sitter: Option<SitterId>) -> Request {
        let body = json!({ "sitterId": sitter });
        Request::post(format!("/api/bookings/{booking}/reassign"), Some(body))
    }

    /// `POST /api/numbers/{number}/status`.
    pub fn set_number_status(number: NumberId, status: NumberStatus) -> Request {
        let body = json!({ "status": status });
        Request::post(format!("/api/numbers/{number}/status"), Some(body))
    }

    /// `POST /api/settings/rotation` with a partial patch (camelCase keys).
    pub fn update_rotation_settings(patch: Value) -> Request {
        Request::post("/api/settings/rotation", Some(patch))
    }

    /// `POST /api/ops/chaos-mode` with a partial patch.
    pub fn update_chaos_settings(patch: Value) -> Request {
        Request::post("/api/ops/chaos-mode", Some(patch))
    }

    /// `POST /api/ops/pool-release`: runs the release job for the caller's org now.
    pub fn pool_release() -> Request {
        Request::post(POOL_RELEASE_PATH, None)
    }

    /// `POST /api/messages/webhook`: the provider's form-encoded webhook (the body is a form,
    /// not JSON, so it is left to the caller).
    pub fn webhook() -> Request {
        Request::post(WEBHOOK_PATH, None)
    }
}

/// The path of the release job's route (the harness judges every call to it).
pub const POOL_RELEASE_PATH: &str = "/api/ops/pool-release";

/// The path of the provider webhook.
pub const WEBHOOK_PATH: &str = "/api/messages/webhook";

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `path` matches the route pattern `pattern` (`{id}` matches one segment).
    fn matches(pattern: &str, path: &str) -> bool {
        let (pattern, path): (Vec<&str>, Vec<&str>) =
            (pattern.split('/').collect(), path.split('/').collect());
        pattern.len() == path.len()
            && pattern
                .iter()
                .zip(&path)
                .all(|(p, s)| p == s || (p.starts_with('{') && !s.is_empty()))
    }

    fn every_builder() -> Vec<Request> {
        let (t, b, c, s, n) = (
            ThreadId(3),
            BookingId(4),
            ClientId(5),
            SitterId(6),
            NumberId(7),
        );
        let at = Timestamp(1_772_442_000);
        vec![
            Request::open_thread(c, Some(b)),
            Request::close_thread(t),
            Request::archive_thread(t),
            Request::send(t, "hi"),
            Request::sitter_threads(),
            Request::sitter_messages(t),
            Request::sitter_send(t, "hi"),
            Request::create_booking(c, Some(s), "Walk", at, at.plus(3600)),
            Request::reschedule_booking(b, at, at.plus(60)),
            Request::reassign_booking(b, None),
            Request::set_number_status(n, NumberStatus::Quarantined),
            Request::update_rotation_settings(json!({})),
            Request::update_chaos_settings(json!({})),
            Request::pool_release(),
            Request::webhook(),
            Request::confirm_booking(b),
            Request::complete_booking(b),
            Request::cancel_booking(b),
        ]
    }

    #[test]
    fn every_builder_names_a_route_of_the_router() {
        let routes = crate::api::route_table();
        for request in every_builder() {
            assert!(
                routes
                    .iter()
                    .any(|r| r.method == request.method && matches(r.path, &request.path)),
                "{} {} is no route",
                request.method,
                request.path
            );
        }
    }

    #[test]
    fn ids_and_bodies_keep_the_external_form() {
        let request = Request::open_thread(ClientId(5), None);
        assert_eq!(request.path, "/api/threads");
        assert_eq!(
            request.body,
            Some(json!({ "clientId": "cli_5", "bookingId": null }))
        );
        let status = Request::set_number_status(NumberId(7), NumberStatus::Retired);
        assert_eq!(status.path, "/api/numbers/num_7/status");
        assert_eq!(status.body, Some(json!({ "status": "retired" })));
        assert_eq!(
            Request::close_thread(ThreadId(3)).path,
            "/api/threads/thr_3/close"
        );
    }

    #[test]
    fn method_words() {
        for method in Method::ALL {
            let json = serde_json::to_value(method).unwrap();
            assert_eq!(json, method.as_str());
            assert_eq!(Method::parse(method.as_str()), Some(*method));
        }
    }
}
