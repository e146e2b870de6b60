//! `POST /api/publish`: events from external publishers.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde::Deserialize;
use serde_json::json;
use tidings_core::Kind;

use crate::http::body::{json_body, json_response};
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The body of a publish request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishRequest {
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
}

/// Kinds only the server emits: a publisher must not impersonate them.
fn reserved(kind: &str) -> bool {
    kind == "heartbeat" || kind.starts_with("server.") || kind.starts_with("stream.")
}

/// Publishes one event; answers `202 {"id": "<event id>"}`.
#[handler]
pub async fn publish(
    req: &Request,
    body: Body,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    state.require_editor(req)?;
    let input: PublishRequest = json_body(body, state.config.max_body_bytes).await?;
    let kind = Kind::new(&input.kind).map_err(|e| ApiError::bad_request(format!("type: {e}")))?;
    if reserved(kind.as_str()) {
        return Err(ApiError::bad_request(format!(
            "type {kind} is reserved for the server"
        )));
    }
    let data = input.data.to_string();
    if data.len() > state.config.max_event_bytes {
        return Err(ApiError::too_large(format!(
            "event data is {} bytes; the limit is {}",
            data.len(),
            state.config.max_event_bytes
        )));
    }
    // A node alone keeps its history in storage; a node on a bus, on the bus.
    let _write = state.begin_write(state.hub.bus().is_none())?;
    let id = state.publish(kind, data).await.map_err(ApiError::from)?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({ "id": id.to_string() }),
    ))
}
