//! `POST /api/publish`: events from external publishers.
//!
//! The body is JSON: `data` (any JSON value, sent as its compact text),
//! and optionally `type` (the SSE event name; without one browsers see a
//! `message`), `topics` (the first is canonical), `private` (only
//! subscribers whose token grants one of its topics receive it; needs a
//! topic), `id` (the event's SSE id and resume position instead of the
//! generated one) and `retry` (milliseconds: a `retry:` line in its frame). Every field is checked before anything is stored.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde::{Deserialize, Serialize};

use crate::http::body::{json_body, json_response};
use crate::http::error::ApiError;
use crate::http::publishing::{self, Fields};
use crate::http::state::AppState;

/// The body of a publish request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishRequest {
    #[serde(rename = "type")]
    kind: Option<String>,
    data: serde_json::Value,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    private: bool,
    id: Option<String>,
    retry: Option<u64>,
}

/// The answer to a publish.
#[derive(Serialize)]
struct Accepted<'a> {
    id: &'a str,
}

/// Publishes one event; answers `202 {"id": "<event id>"}`, the id being
/// the supplied one if the body gave one.
#[handler]
pub async fn publish(
    req: &Request,
    body: Body,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    // The editor token, or a publisher token granting every topic.
    let publisher = publishing::publisher(req, &state)?;
    let input: PublishRequest = json_body(body, state.config.max_body_bytes).await?;
    let fields = Fields {
        kind: input.kind,
        data: input.data.to_string(),
        topics: input.topics,
        private: input.private,
        id: input.id,
        retry: input.retry,
    };
    let event = fields.into_event(&state)?;
    let supplied = event.supplied_id.clone();
    let id = publishing::publish(&state, &publisher, event).await?;
    let id = supplied.map_or_else(|| id.to_text(), |s| s.to_string());
    Ok(json_response(StatusCode::ACCEPTED, &Accepted { id: &id }))
}
