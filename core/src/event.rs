//! Events: what is published, and what is stored and shared with subscribers.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::id::EventId;
use crate::topic::Topic;
use crate::wire;

/// Longest accepted event kind.
pub const MAX_KIND_LEN: usize = 64;

/// Why a string is not an event kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event type must be 1 to 64 characters of [A-Za-z0-9._-]")]
pub struct KindError;

/// The SSE `event:` name of an event: 1 to 64 characters of `[A-Za-z0-9._-]`.
///
/// ```
/// use tidings_core::Kind;
/// assert!(Kind::new("item.created").is_ok());
/// assert!(Kind::new("bad\nkind").is_err()); // could break the SSE frame
/// assert!(Kind::new("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(Arc<str>);

impl Kind {
    /// Checks `name` and makes it a kind.
    pub fn new(name: &str) -> Result<Kind, KindError> {
        let ok = (1..=MAX_KIND_LEN).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
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

/// An event to publish: its kind and its data (text; JSON for built-in
/// events), and for the Mercure protocol its topics and whether it is
/// private.
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
    /// The SSE `event:` name.
    pub kind: Kind,
    /// The payload; any text, line breaks included.
    pub data: String,
    /// The topics, the first canonical; none for a native event, which
    /// only subscriptions without selectors receive.
    pub topics: Vec<Topic>,
    /// Whether only authorized subscriptions may receive it.
    pub private: bool,
}

impl Event {
    /// A public event of `kind` carrying `data`, with no topic.
    pub fn new(kind: Kind, data: impl Into<String>) -> Event {
        Event {
            kind,
            data: data.into(),
            topics: Vec::new(),
            private: false,
        }
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
    kind: Kind,
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
        let id_text = id.to_string();
        // Kinds and ids are validated on construction, so they never carry
        // CR, LF or NUL and encoding cannot fail.
        let frame = wire::event_frame(Some(&id_text), Some(event.kind.as_str()), &event.data)
            .expect("validated id and kind encode");
        // Single-line data (all compact JSON) is a slice of the frame: the
        // payload is stored once.
        let (data, data_in_frame) = match frame_data_slice(&frame, &event.data) {
            Some(range) => (frame.slice(range), true),
            None => (Bytes::from(event.data), false),
        };
        StoredEvent {
            id,
            kind: event.kind,
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

    /// The event's id.
    pub fn id(&self) -> &EventId {
        &self.id
    }

    /// The event's kind.
    pub fn kind(&self) -> &Kind {
        &self.kind
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
        topics
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
        assert!(Kind::new(&"a".repeat(64)).is_ok());
        assert!(Kind::new(&"a".repeat(65)).is_err());
        for bad in ["a b", "a:b", "a\0", "é", "a\r"] {
            assert!(Kind::new(bad).is_err(), "{bad:?}");
        }
    }
}
