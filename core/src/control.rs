//! Control events and deliveries: what a subscription hands to its client
//! besides stored events, and the item type that carries either.
//!
//! Control events carry no `id:` (so they never move a browser's cursor)
//! and are never stored. Their SSE frames are encoded here, once, when the
//! control event is made.

use bytes::Bytes;

use crate::event::SharedEvent;
use crate::id::EventId;
use crate::wire;

/// The SSE event name of mode changes and of the connect-time mode snapshot.
pub const STATE_KIND: &str = "server.state";
/// The SSE event name of the notice that a client must resynchronise.
pub const RESET_KIND: &str = "stream.reset";
/// The SSE event name of keep-alive events.
pub const HEARTBEAT_KIND: &str = "heartbeat";

const HEARTBEAT_FRAME: &[u8] = b"event: heartbeat\ndata: {}\n\n";

/// Why a subscription was told to resynchronise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResetReason {
    /// The last id names another history (an earlier boot, another cluster).
    UnknownEpoch,
    /// The events after the last id were already evicted from the ring.
    HistoryExceeded,
    /// The last id is malformed or ahead of the newest event.
    InvalidId,
    /// The subscriber fell behind the ring's tail while connected.
    Lagged,
}

impl ResetReason {
    /// The reason as it appears in the `stream.reset` data.
    pub fn as_str(self) -> &'static str {
        match self {
            ResetReason::UnknownEpoch => "unknown_epoch",
            ResetReason::HistoryExceeded => "history_exceeded",
            ResetReason::InvalidId => "invalid_id",
            ResetReason::Lagged => "lagged",
        }
    }
}

/// What kind of control event a [`Control`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKind {
    /// The current `server.state`, sent first on every subscription.
    State,
    /// `stream.reset`: the client must refetch its state.
    Reset(ResetReason),
    /// `heartbeat`, sent when idle.
    Heartbeat,
}

/// An id-less, unstored event: it never moves a client's cursor.
#[derive(Debug, Clone)]
pub struct Control {
    kind: ControlKind,
    data: Bytes,
    frame: Bytes,
}

impl Control {
    pub(crate) fn state(data: &str) -> Control {
        let frame = wire::event_frame(None, Some(STATE_KIND), data).expect("constant kind encodes");
        Control {
            kind: ControlKind::State,
            data: Bytes::copy_from_slice(data.as_bytes()),
            frame,
        }
    }

    pub(crate) fn reset(reason: ResetReason, head: &EventId) -> Control {
        let data = format!(r#"{{"reason":"{}","head":"{head}"}}"#, reason.as_str());
        let frame =
            wire::event_frame(None, Some(RESET_KIND), &data).expect("constant kind encodes");
        Control {
            kind: ControlKind::Reset(reason),
            data: Bytes::from(data),
            frame,
        }
    }

    pub(crate) fn heartbeat() -> Control {
        Control {
            kind: ControlKind::Heartbeat,
            data: Bytes::from_static(b"{}"),
            frame: Bytes::from_static(HEARTBEAT_FRAME),
        }
    }

    /// The complete SSE frame.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// What kind of control event this is.
    pub fn control_kind(&self) -> ControlKind {
        self.kind
    }
}

/// One item of a subscription: a stored event or a control event.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// A stored event, replayed or live.
    Event(SharedEvent),
    /// A control event: state snapshot, reset or heartbeat.
    Control(Control),
}

impl Delivery {
    /// The complete SSE frame to write.
    pub fn frame(&self) -> &Bytes {
        match self {
            Delivery::Event(ev) => ev.frame(),
            Delivery::Control(c) => &c.frame,
        }
    }

    /// The SSE event name a client sees (`message` for a kind-less event).
    pub fn kind(&self) -> &str {
        match self {
            Delivery::Event(ev) => ev.kind_str(),
            Delivery::Control(c) => match c.kind {
                ControlKind::State => STATE_KIND,
                ControlKind::Reset(_) => RESET_KIND,
                ControlKind::Heartbeat => HEARTBEAT_KIND,
            },
        }
    }

    /// The data.
    pub fn data(&self) -> &str {
        match self {
            Delivery::Event(ev) => ev.data(),
            Delivery::Control(c) => std::str::from_utf8(&c.data).expect("built from a str"),
        }
    }

    /// The id of a stored event; `None` for control events.
    pub fn id(&self) -> Option<&EventId> {
        match self {
            Delivery::Event(ev) => Some(ev.id()),
            Delivery::Control(_) => None,
        }
    }

    /// The reason, if this is a `stream.reset`.
    pub fn reset_reason(&self) -> Option<ResetReason> {
        match self {
            Delivery::Control(Control {
                kind: ControlKind::Reset(reason),
                ..
            }) => Some(*reason),
            _ => None,
        }
    }
}
