//! `GET /health`, `GET /ready`, `GET /metrics` and `GET /api/openapi.json`.

use std::sync::Arc;

use poem::http::{StatusCode, header};
use poem::web::{Data, Json};
use poem::{IntoResponse, Request, Response, handler};
use serde_json::json;
use tidings_core::mode::Component;

use crate::http::state::AppState;
use crate::ops::metrics::{Format, Snapshot};

fn report(state: &AppState, status: &str) -> serde_json::Value {
    let last = state.mode.last_transition();
    let bus = state.hub.bus().map(|bus| {
        let status = bus.status();
        json!({
            "healthy": state.mode.health(Component::Bus),
            "connected": status.up,
            "head": status.head,
            "applied": status.applied,
            "lag": status.lag(),
        })
    });
    json!({
        "status": status,
        "mode": last.to,
        "mode_reason": last.reason,
        "mode_since": last.at,
        "sse_clients": state.hub.broker().subscribers(),
        "storage": {
            "backend": state.config.storage.to_string(),
            "healthy": state.mode.health(Component::Storage),
        },
        "bus": bus,
        "epoch": state.hub.broker().epoch().as_str(),
        "head": state.hub.broker().head().to_string(),
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.hub.clock().uptime().as_secs(),
    })
}

/// Liveness: 200 whenever the process serves.
#[handler]
pub fn health(state: Data<&Arc<AppState>>) -> Json<serde_json::Value> {
    Json(report(&state, "ok"))
}

/// Readiness: 200 while serving, 503 while shutting down.
#[handler]
pub fn ready(state: Data<&Arc<AppState>>) -> Response {
    if state.lifecycle.is_stopping() {
        let mut resp = Json(report(&state, "stopping")).into_response();
        resp.set_status(StatusCode::SERVICE_UNAVAILABLE);
        resp
    } else {
        Json(report(&state, "ready")).into_response()
    }
}

/// The Prometheus exposition, in the text format the scraper's `Accept`
/// prefers.
#[handler]
pub fn metrics(req: &Request, state: Data<&Arc<AppState>>) -> Response {
    let format = Format::negotiate(req.header(header::ACCEPT));
    let broker = state.hub.broker();
    let snapshot = Snapshot {
        clients: broker.subscribers(),
        broker: broker.stats(),
        routing: broker.routing_stats(),
        mode: state.mode.mode(),
        bus: state.hub.bus().map(|bus| bus.status()),
        held: state.hub.admission().held(),
    };
    let body = state.metrics.render(format, snapshot);
    Response::builder()
        .content_type(format.content_type())
        .body(body)
}

/// The OpenAPI description of the JSON API, kept true by a test that drives
/// every operation it lists.
pub const OPENAPI: &str = include_str!("../../../api/openapi.json");

/// Serves [`OPENAPI`].
#[handler]
pub fn openapi() -> Response {
    Response::builder()
        .content_type("application/json")
        .body(OPENAPI)
}
