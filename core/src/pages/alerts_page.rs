//! `GET /alerts`: open alerts, then resolved ones.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::{page_result, render, user_view, v};
use crate::Engine;
use crate::alerts::{Alert, AlertStatus};
use crate::auth::Caller;

#[derive(Serialize)]
struct Section {
    title: &'static str,
    status: &'static str,
    alerts: Vec<Alert>,
}

/// `GET /alerts`.
pub async fn alerts_page(
    State(engine): State<Arc<Engine>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    page_result((|| {
        let (open, resolved): (Vec<Alert>, Vec<Alert>) = engine
            .alerts(caller.org, false)?
            .into_iter()
            .partition(|alert| alert.status == AlertStatus::Open);
        let sections = [
            Section {
                title: "Open",
                status: "open",
                alerts: open,
            },
            Section {
                title: "Resolved",
                status: "resolved",
                alerts: resolved.into_iter().rev().collect(),
            },
        ];
        Ok(render(
            "alerts.html",
            StatusCode::OK,
            context! { title => "Alerts", active => "alerts", user => v(&user_view(&caller)), sections => v(&sections) },
        ))
    })())
}
