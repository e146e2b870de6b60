//! What both publish endpoints share: the rules an event's fields must
//! obey, and the publish itself (credentials, limits, the write gate).
//!
//! `POST /api/publish` (JSON) and `POST /.well-known/mercure` (the Mercure
//! protocol's form) differ only in how they spell the fields and the
//! answer; every rule here is checked before anything is stored, and a
//! refusal changes nothing.

use std::time::SystemTime;

use tidings_core::topic::Topic;
use tidings_core::{Epoch, Event, EventId, Kind, SuppliedId};

use crate::http::credentials::Presented;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Most topics one event may carry.
pub const MAX_TOPICS: usize = 32;

/// An event's fields as a publisher sent them, before any check (defined
/// with the form decoding, which fills them from a Mercure form body).
pub use crate::http::form::Fields;

impl Fields {
    /// The event these fields describe, or the 400 (413 for too many
    /// topics or too much data) that names the first field at fault.
    pub fn into_event(self, state: &AppState) -> Result<Event, ApiError> {
        let bad = ApiError::bad_request;
        let kind = match &self.kind {
            Some(kind) => {
                let kind = Kind::new(kind).map_err(|e| bad(format!("type: {e}")))?;
                if kind.is_reserved() {
                    return Err(bad(format!("type {kind} is reserved for the server")));
                }
                Some(kind)
            }
            None => None,
        };
        if self.topics.len() > MAX_TOPICS {
            return Err(ApiError::too_large(format!(
                "topics: {} given, at most {MAX_TOPICS}",
                self.topics.len()
            )));
        }
        let hub = &state.hub_url;
        let topics = self
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let topic = Topic::new(t).map_err(|e| bad(format!("topics[{i}]: {e}")))?;
                if hub.reserves(t) {
                    return Err(bad(format!(
                        "topics[{i}]: {t:?} is in the hub's reserved namespace ({})",
                        hub.as_str()
                    )));
                }
                Ok(topic)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.private && topics.is_empty() {
            return Err(bad(
                "private: a private event needs a topic, which grants are matched against"
                    .to_owned(),
            ));
        }
        let id = match &self.id {
            Some(id) => Some(supplied_id(id, &state.hub.broker().epoch())?),
            None => None,
        };
        if self.data.len() > state.config.max_event_bytes {
            return Err(ApiError::too_large(format!(
                "event data is {} bytes; the limit is {}",
                self.data.len(),
                state.config.max_event_bytes
            )));
        }
        Ok(Event::untyped(self.data)
            .with_kind(kind)
            .with_topics(topics)
            .private(self.private)
            .with_supplied_id(id)
            .with_retry(self.retry))
    }
}

/// A publisher's id, checked: the protocol's rules, and not spelled like
/// an id of this history (resuming looks supplied ids up first, so such an
/// id would shadow the event that has it).
fn supplied_id(text: &str, epoch: &Epoch) -> Result<SuppliedId, ApiError> {
    let id = SuppliedId::new(text).map_err(|e| ApiError::bad_request(format!("id: {e}")))?;
    let generated = text.strip_prefix('#').unwrap_or(text).parse::<EventId>();
    if generated.is_ok_and(|g| g.epoch() == epoch) {
        return Err(ApiError::bad_request(format!(
            "id: {id} is spelled like an id this hub generates"
        )));
    }
    Ok(id)
}

/// The credentials a publish presents, checked before its body is read:
/// the editor token, or a publisher token (whose grants
/// [`publish`] checks against the event's topics).
pub fn publisher(
    req: &poem::Request,
    state: &AppState,
) -> Result<crate::http::credentials::Publisher, ApiError> {
    Ok(state
        .credentials
        .publisher(&Presented::from_request(req), SystemTime::now())?)
}

/// Publishes `event` for `publisher` once its grants cover every topic and
/// the mode allows a write; returns its generated id, after the event is
/// durable.
pub async fn publish(
    state: &AppState,
    publisher: &crate::http::credentials::Publisher,
    event: Event,
) -> Result<EventId, ApiError> {
    publisher.may_publish(&event.topics)?;
    // A node alone keeps its history in storage; a node on a bus, on the bus.
    let _write = state.begin_write(state.hub.bus().is_none())?;
    state.publish(event).await.map_err(ApiError::from)
}
