//! Events: what is published, and what is stored and shared with subscribers.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::id::{EventId, SuppliedId};
use crate::topic::Topic;
use crate::wire;

/// Longest accepted event kind, in bytes of UTF-8.
pub const MAX_KIND_LEN: usize = 128;

/// Why a string is not an event kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event type must be 1 to 128 bytes without control or format characters")]
pub struct KindError;

/// The SSE `event:` name of an event: 1 to [`MAX_KIND_LEN`] bytes of UTF-8
/// with no control (C0, DEL, C1) or Unicode format character, the rule the
/// protocol sets for every value; so it never breaks the SSE frame.
///
/// ```
/// use tidings_core::Kind;
/// assert!(Kind::new("item.created").is_ok());
/// assert!(Kind::new("Bestellung geändert").is_ok());
/// assert!(Kind::new("bad\nkind").is_err()); // could break the SSE frame
/// assert!(Kind::new("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(Arc<str>);

/// The kind a browser gives an SSE event sent without an `event:` line;
/// `types=message` selects such events.
pub const MESSAGE_KIND: &str = "message";

impl Kind {
    /// Checks `name` and makes it a kind.
    pub fn new(name: &str) -> Result<Kind, KindError> {
        let ok = (1..=MAX_KIND_LEN).contains(&name.len())
            && crate::topic::first_forbidden(name).is_none();
        if ok {
            Ok(Kind(name.into()))
        } else {
            Err(KindError)
        }
    }

    /// The kind as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether only the server may emit this kind: `heartbeat`,
    /// `server.*`, `stream.*`, and `mercure`, which the Mercure protocol
    /// reserves. A publisher must not impersonate them.
    ///
    /// ```
    /// use tidings_core::Kind;
    /// assert!(Kind::new("server.state").unwrap().is_reserved());
    /// assert!(Kind::new("mercure").unwrap().is_reserved());
    /// assert!(!Kind::new("servers").unwrap().is_reserved());
    /// ```
    pub fn is_reserved(&self) -> bool {
        let k = self.as_str();
        k == "heartbeat" || k == "mercure" || k.starts_with("server.") || k.starts_with("stream.")
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kind({})", self.0)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An event to publish: its kind (optional) and its data (text; JSON for
/// built-in events), its topics and whether it is private, and the id its
/// publisher gave it, if any.
///
/// Topics route the event (see [Routing](crate::Broker#routing)); they are
/// not part of its SSE frame. A private event reaches only subscriptions
/// whose authorization matches one of its topics.
///
/// ```
/// use tidings_core::{Event, Kind, topic::Topic};
/// let kind = Kind::new("book.updated").unwrap();
/// let event = Event::new(kind, "{}")
///     .with_topics([Topic::new("https://example.com/books/1").unwrap()])
///     .private(true);
/// assert_eq!(event.topics.len(), 1);
/// assert!(event.private);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The SSE `event:` name; without one the frame has no `event:` line
    /// and browsers see a `message`.
    pub kind: Option<Kind>,
    /// The payload; any text, line breaks included.
    pub data: String,
    /// The topics, the first canonical; none for a native event, which
    /// only subscriptions without selectors receive.
    pub topics: Vec<Topic>,
    /// Whether only authorized subscriptions may receive it.
    pub private: bool,
    /// The publisher's id for the event: its SSE id instead of the
    /// generated `<epoch>-<seq>` (which still places it in the history).
    pub supplied_id: Option<SuppliedId>,
    /// A reconnection delay for the client, in milliseconds: a `retry:`
    /// line in the event's frame.
    pub retry: Option<u64>,
}

impl Event {
    /// A public event of `kind` carrying `data`, with no topic.
    pub fn new(kind: Kind, data: impl Into<String>) -> Event {
        Event::untyped(data).with_kind(Some(kind))
    }

    /// A public event without a kind (a browser's `message`), with no topic.
    pub fn untyped(data: impl Into<String>) -> Event {
        Event {
            kind: None,
            data: data.into(),
            topics: Vec::new(),
            private: false,
            supplied_id: None,
            retry: None,
        }
    }

    /// The event with a `retry:` of `ms` milliseconds in its frame.
    pub fn with_retry(mut self, ms: Option<u64>) -> Event {
        self.retry = ms;
        self
    }

    /// The event with `kind` instead of the kind it has.
    pub fn with_kind(mut self, kind: Option<Kind>) -> Event {
        self.kind = kind;
        self
    }

    /// The event with the publisher's id `id`.
    pub fn with_supplied_id(mut self, id: Option<SuppliedId>) -> Event {
        self.supplied_id = id;
        self
    }

    /// The event with `topics` added after those it has.
    pub fn with_topics(mut self, topics: impl IntoIterator<Item = Topic>) -> Event {
        self.topics.extend(topics);
        self
    }

    /// The event, private or public.
    pub fn private(mut self, private: bool) -> Event {
        self.private = private;
        self
    }
}

/// An event with its id, as held by the history ring and shared by every
/// subscriber. Its SSE frame is encoded once, at publish.
#[derive(Clone)]
pub struct StoredEvent {
    id: EventId,
    kind: Option<Kind>,
    supplied_id: Option<SuppliedId>,
    retry: Option<u64>,
    data: Bytes,
    frame: Bytes,
    /// Whether `data` is a slice of `frame` rather than a copy.
    data_in_frame: bool,
    topics: Box<[Topic]>,
    private: bool,
}

/// The shared handle subscribers receive; cloning it copies no payload.
pub type SharedEvent = Arc<StoredEvent>;

impl StoredEvent {
    pub(crate) fn encode(id: EventId, event: Event) -> StoredEvent {
        let generated;
        let id_text = match &event.supplied_id {
            Some(supplied) => supplied.as_str(),
            None => {
                generated = id.to_text();
                &generated
            }
        };
        // Kinds and ids are validated on construction, so they never carry
        // CR, LF or NUL and encoding cannot fail.
        let kind = event.kind.as_ref().map(Kind::as_str);
        let mut frame = wire::event_frame(Some(id_text), kind, &event.data)
            .expect("validated id and kind encode");
        if let Some(ms) = event.retry {
            // The retry line before the blank line that ends the frame.
            let mut with_retry = BytesMut::from(&frame[..frame.len() - 1]);
            wire::encode_retry(&mut with_retry, ms);
            frame = with_retry.freeze();
        }
        // Single-line data (all compact JSON) is a slice of the frame: the
        // payload is stored once.
        let (data, data_in_frame) = match frame_data_slice(&frame, &event.data) {
            Some(range) => (frame.slice(range), true),
            None => (Bytes::from(event.data), false),
        };
        StoredEvent {
            id,
            kind: event.kind,
            supplied_id: event.supplied_id,
            retry: event.retry,
            data,
            frame,
            data_in_frame,
            topics: event.topics.into_boxed_slice(),
            private: event.private,
        }
    }

    /// The event's topics, the first canonical (none for a native event).
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// Whether only authorized subscriptions receive the event.
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// The event's place in the history (its SSE id unless the publisher
    /// supplied one).
    pub fn id(&self) -> &EventId {
        &self.id
    }

    /// The id the publisher supplied, which is the event's SSE id.
    pub fn supplied_id(&self) -> Option<&SuppliedId> {
        self.supplied_id.as_ref()
    }

    /// The reconnection delay its frame carries, if any.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The event's kind; `None`: sent without an `event:` line.
    pub fn kind(&self) -> Option<&Kind> {
        self.kind.as_ref()
    }

    /// The kind a client sees: the kind, or [`MESSAGE_KIND`] without one.
    pub fn kind_str(&self) -> &str {
        self.kind.as_ref().map_or(MESSAGE_KIND, Kind::as_str)
    }

    /// The event's data, as published.
    pub fn data(&self) -> &str {
        std::str::from_utf8(&self.data).expect("data is built from a str")
    }

    /// The complete SSE frame (`id:`, `event:`, `data:` lines, blank line).
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// Bytes this event holds, for the ring's byte bound.
    pub(crate) fn weight(&self) -> usize {
        let topics: usize = self.topics.iter().map(|t| t.as_str().len()).sum();
        let supplied = self.supplied_id.as_ref().map_or(0, |id| id.as_str().len());
        topics
            + supplied
            + self.frame.len()
            + if self.data_in_frame {
                0
            } else {
                self.data.len()
            }
    }
}

fn frame_data_slice(frame: &[u8], data: &str) -> Option<std::ops::Range<usize>> {
    if data.is_empty() || data.contains(['\r', '\n']) {
        return None;
    }
    // The frame ends with `data: <data>\n\n`.
    let end = frame.len() - 2;
    let start = end.checked_sub(data.len())?;
    (frame.get(start..end)? == data.as_bytes()).then_some(start..end)
}

impl fmt::Debug for StoredEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredEvent")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("supplied_id", &self.supplied_id)
            .field("data", &self.data())
            .field("topics", &self.topics)
            .field("private", &self.private)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Epoch;

    fn stored(data: &str) -> StoredEvent {
        let id = EventId::new(Epoch::new("e").unwrap(), 7);
        StoredEvent::encode(id, Event::new(Kind::new("k").unwrap(), data))
    }

    #[test]
    fn frame_and_data() {
        let ev = stored("{\"a\":1}");
        assert_eq!(&ev.frame()[..], b"id: e-7\nevent: k\ndata: {\"a\":1}\n\n");
        assert_eq!(ev.data(), "{\"a\":1}");
        assert_eq!(ev.weight(), ev.frame().len());
    }

    #[test]
    fn multi_line_and_empty_data_keep_their_text() {
        for data in ["a\r\nb\rc\n", "", "\n"] {
            let ev = stored(data);
            assert_eq!(ev.data(), data);
            assert!(ev.weight() >= ev.frame().len());
        }
    }

    #[test]
    fn kinds() {
        assert!(Kind::new(&"a".repeat(MAX_KIND_LEN)).is_ok());
        assert!(
            Kind::new(&"é".repeat(MAX_KIND_LEN / 2 + 1)).is_err(),
            "bytes count"
        );
        for good in ["a b", "a:b", "é", " leading"] {
            assert!(Kind::new(good).is_ok(), "{good:?}");
        }
        for bad in ["", "a\0", "a\r", "a\n", "\u{7f}", "\u{85}", "a\u{200b}"] {
            assert!(Kind::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_untyped_event_has_no_event_line_and_a_supplied_id_is_its_sse_id() {
        let id = EventId::new(Epoch::new("e").unwrap(), 7);
        let supplied = SuppliedId::new("order-42").unwrap();
        let ev = StoredEvent::encode(id, Event::untyped("x").with_supplied_id(Some(supplied)));
        assert_eq!(&ev.frame()[..], b"id: order-42\ndata: x\n\n");
        assert_eq!((ev.kind(), ev.kind_str()), (None, MESSAGE_KIND));
        assert_eq!(ev.id().seq(), 7);
        let id = EventId::new(Epoch::new("e").unwrap(), 8);
        let ev = StoredEvent::encode(id, Event::untyped("y").with_retry(Some(250)));
        assert_eq!(&ev.frame()[..], b"id: e-8\ndata: y\nretry: 250\n\n");
        assert_eq!((ev.data(), ev.retry()), ("y", Some(250)));
    }
}
