//! `GET /api/events`: the SSE stream.
//!
//! Sends `retry:` first, then the current `server.state`, then replay, then
//! live events, as the core's pre-encoded frames: every frame queued at a
//! wake-up goes out in one write. When the server shuts down the stream ends
//! with a final `server.state` and a jittered `retry:`, so reconnects spread.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, stream};
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;
use tidings_core::{Kind, SubscribeError, SubscribeOptions, Subscription, wire};

use crate::error::ApiError;
use crate::state::AppState;

/// Query parameters of the stream.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// For clients that cannot set the `Last-Event-ID` header; the header wins.
    pub last_event_id: Option<String>,
    /// Comma-separated kinds to receive (control events always come).
    pub types: Option<String>,
}

fn parse_types(types: &str) -> Result<Vec<Kind>, ApiError> {
    types
        .split(',')
        .map(|t| {
            Kind::new(t.trim()).map_err(|e| ApiError::bad_request(format!("types: {t:?}: {e}")))
        })
        .collect()
}

/// Registers a stream for a request: the `Last-Event-ID` header wins over
/// the `last_event_id` query parameter; `types` filters stored events.
/// Shared by this route and the lean path of [`crate::raw_sse`].
pub fn open(
    state: &AppState,
    header_last_id: Option<String>,
    query: EventsQuery,
) -> Result<Subscription, ApiError> {
    let kinds = query.types.as_deref().map(parse_types).transpose()?;
    let options = SubscribeOptions {
        last_event_id: header_last_id.or(query.last_event_id),
        kinds,
    };
    state.hub.broker().subscribe(options).map_err(|e| match e {
        SubscribeError::Full => {
            ApiError::unavailable("too_many_clients", "too many streams are open", 5)
        }
        SubscribeError::Closed => {
            ApiError::unavailable("shutting_down", "the server is shutting down", 5)
        }
    })
}

/// The first frame of every stream: the reconnection delay.
pub fn preamble(state: &AppState) -> Bytes {
    let mut first = BytesMut::new();
    wire::encode_retry(&mut first, state.config.retry_ms);
    first.freeze()
}

/// Opens a stream (this route serves clients that reach poem, e.g. tests
/// through its test client; sockets accepted by the server take the lean
/// path of [`crate::raw_sse`]).
#[handler]
pub async fn events(
    req: &Request,
    Query(query): Query<EventsQuery>,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    let header = req
        .headers()
        .get("last-event-id")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut sub = open(&state, header, query)?;
    let first = preamble(&state);
    let mut buf = BytesMut::new();
    // Every frame ready at a wake-up, copied from the ring into one buffer:
    // one write per wake-up, whatever the number of events.
    let live = stream::poll_fn(move |cx| {
        sub.poll_frames(cx, &mut buf)
            .map(|batch| batch.map(|_| buf.split().freeze()))
    });
    let farewell = {
        let state = Arc::clone(&state);
        stream::once(async move { farewell(&state) })
    };
    let body = stream::once(async move { first })
        .chain(live)
        .chain(farewell)
        .map(Ok::<Bytes, std::io::Error>);

    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_bytes_stream(body)))
}

/// The last frames of a stream ended by shutdown: the state clients should
/// assume, and a retry delay spread over `[retry, 3 × retry]`.
pub fn farewell(state: &AppState) -> Bytes {
    let last = state.mode.last_transition();
    let data = serde_json::json!({
        "from": last.to,
        "to": last.to,
        "reason": "shutdown",
        "at": state.hub.clock().now(),
    })
    .to_string();
    let mut out = BytesMut::new();
    wire::encode_event(&mut out, None, Some(tidings_core::STATE_KIND), &data)
        .expect("constant kind encodes");
    let mut jitter = [0u8; 2];
    let spread = match getrandom::fill(&mut jitter) {
        Ok(()) => {
            u64::from(u16::from_le_bytes(jitter)) * 2 * state.config.retry_ms / u64::from(u16::MAX)
        }
        Err(_) => state.config.retry_ms,
    };
    wire::encode_retry(&mut out, state.config.retry_ms + spread);
    out.freeze()
}
