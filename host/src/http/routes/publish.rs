//! `POST /api/publish`: events from external publishers.
//!
//! The body is JSON: `data` (any JSON value, sent as its compact text),
//! and optionally `type` (the SSE event name; without one browsers see a
//! `message`), `topics` (the first is canonical), `private` (only
//! subscribers whose token grants one of its topics receive it; needs a
//! topic) and `id` (the event's SSE id and resume position instead of the
//! generated one). Every field is checked before anything is stored.

use std::sync::Arc;
use std::time::SystemTime;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde::Deserialize;
use serde_json::json;
use tidings_core::topic::Topic;
use tidings_core::{Epoch, Event, Kind, SuppliedId};

use crate::http::body::{json_body, json_response};
use crate::http::credentials::Presented;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Most topics one event may carry.
pub const MAX_TOPICS: usize = 32;

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
}

/// The event a request describes, or the 400 that says what is wrong.
fn event_of(input: PublishRequest, epoch: &Epoch) -> Result<Event, ApiError> {
    let bad = ApiError::bad_request;
    let kind = match &input.kind {
        Some(kind) => {
            let kind = Kind::new(kind).map_err(|e| bad(format!("type: {e}")))?;
            if kind.is_reserved() {
                return Err(bad(format!("type {kind} is reserved for the server")));
            }
            Some(kind)
        }
        None => None,
    };
    if input.topics.len() > MAX_TOPICS {
        return Err(bad(format!(
            "topics: {} given, at most {MAX_TOPICS}",
            input.topics.len()
        )));
    }
    let topics = input
        .topics
        .iter()
        .enumerate()
        .map(|(i, t)| Topic::new(t).map_err(|e| bad(format!("topics[{i}]: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if input.private && topics.is_empty() {
        return Err(bad(
            "private: a private event needs a topic, which grants are matched against".to_owned(),
        ));
    }
    let id = match &input.id {
        Some(id) => {
            let id = SuppliedId::new(id).map_err(|e| bad(format!("id: {e}")))?;
            // Resuming looks supplied ids up first: one spelled like an id
            // of this history would shadow the event that has it.
            if id
                .as_str()
                .parse::<tidings_core::EventId>()
                .ok()
                .map(|g| g.epoch().clone())
                == Some(epoch.clone())
            {
                return Err(bad(format!(
                    "id: {id} is spelled like an id this hub generates"
                )));
            }
            Some(id)
        }
        None => None,
    };
    Ok(Event::untyped(input.data.to_string())
        .with_kind(kind)
        .with_topics(topics)
        .private(input.private)
        .with_supplied_id(id))
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
    let publisher = state
        .credentials
        .publisher(&Presented::from_request(req), SystemTime::now())?;
    let input: PublishRequest = json_body(body, state.config.max_body_bytes).await?;
    let event = event_of(input, &state.hub.broker().epoch())?;
    publisher.may_publish(&event.topics)?;
    if event.data.len() > state.config.max_event_bytes {
        return Err(ApiError::too_large(format!(
            "event data is {} bytes; the limit is {}",
            event.data.len(),
            state.config.max_event_bytes
        )));
    }
    let supplied = event.supplied_id.clone();
    // A node alone keeps its history in storage; a node on a bus, on the bus.
    let _write = state.begin_write(state.hub.bus().is_none())?;
    let id = state.publish(event).await.map_err(ApiError::from)?;
    let id = supplied.map_or_else(|| id.to_string(), |s| s.to_string());
    Ok(json_response(StatusCode::ACCEPTED, &json!({ "id": id })))
}
