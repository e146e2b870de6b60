//! Subscriptions: a stream of deliveries read from the shared ring.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::Stream;

use crate::broker::{STATE_KIND, Shared};
use crate::doorbell::Doorbell;
use crate::event::{Kind, SharedEvent};
use crate::id::EventId;
use crate::stats::Counters;
use crate::wire;

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

    fn heartbeat() -> Control {
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

    /// The SSE event name.
    pub fn kind(&self) -> &str {
        match self {
            Delivery::Event(ev) => ev.kind().as_str(),
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

/// The broker-wide counters a subscription compares with its own to know
/// which control events are due.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub(crate) heartbeats: u64,
    pub(crate) announcements: u64,
    pub(crate) generation: u64,
}

/// A subscriber's view of the broker: a [`Stream`] of [`Delivery`] items
/// that ends when the broker closes. Dropping it unregisters it.
///
/// Items that are ready come without waiting, so
/// [`StreamExt::ready_chunks`](futures::StreamExt::ready_chunks) gathers
/// every queued frame for one write.
#[derive(Debug)]
pub struct Subscription {
    shared: Arc<Shared>,
    key: usize,
    bell: Arc<Doorbell>,
    /// Seq of the next stored event to deliver.
    cursor: u64,
    seen: Seen,
    pending: VecDeque<Delivery>,
    kinds: Option<Vec<Kind>>,
    /// Stored events yielded since the shared counter was last updated.
    delivered: u64,
    ended: bool,
}

impl Subscription {
    pub(crate) fn new(
        shared: Arc<Shared>,
        key: usize,
        bell: Arc<Doorbell>,
        cursor: u64,
        seen: Seen,
        pending: VecDeque<Delivery>,
        kinds: Option<Vec<Kind>>,
    ) -> Subscription {
        Subscription {
            shared,
            key,
            bell,
            cursor,
            seen,
            pending,
            kinds,
            delivered: 0,
            ended: false,
        }
    }

    /// Seq of the next stored event this subscription will deliver.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Counts off a wake-up taken from the bell (`None`: the bell closed).
    fn took(&self, generation: Option<u64>) {
        if let Some(generation) = generation {
            self.shared.wakes.taken(generation);
        }
    }

    /// Waits on the bell; `Pending` once registered for its next ring.
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.bell
            .poll_wait(cx)
            .map(|generation| self.took(generation))
    }

    /// A subscription that read events from the ring served any wake-up
    /// rung meanwhile: counts it off, unless the bell was just emptied.
    fn served(&self, bell_taken: bool) {
        if !bell_taken {
            self.took(self.bell.take());
        }
    }

    /// Hands what the ring holds past the cursor (at most one batch) to
    /// `sink`, after any heartbeat or lagged reset due. Returns whether the
    /// broker is closed.
    fn refill(&mut self, mut sink: impl FnMut(Item<'_>)) -> bool {
        let counters = &self.shared.counters;
        Counters::add(&counters.delivered, std::mem::take(&mut self.delivered));
        let max = self.shared.max_batch();
        let st = self.shared.state();
        if st.generation != self.seen.generation {
            self.seen.generation = st.generation;
            sink(Item::Control(Control::reset(
                st.rebase_reason,
                &st.head_id(),
            )));
            self.cursor = st.ring.tail();
            Counters::add(&counters.resets, 1);
        }
        if st.announcements != self.seen.announcements {
            self.seen.announcements = st.announcements;
            if let Some(state) = st.snapshot() {
                sink(Item::Control(state.clone()));
            }
        }
        if st.heartbeats != self.seen.heartbeats {
            self.seen.heartbeats = st.heartbeats;
            sink(Item::Control(Control::heartbeat()));
        }
        if self.cursor < st.ring.tail() {
            sink(Item::Control(Control::reset(
                ResetReason::Lagged,
                &st.head_id(),
            )));
            self.cursor = st.ring.tail();
            Counters::add(&counters.resets, 1);
            Counters::add(&counters.lagged, 1);
        }
        let mut next = self.cursor;
        for ev in st.ring.range_from(self.cursor, max) {
            next = ev.id().seq() + 1;
            if self.kinds.as_ref().is_none_or(|k| k.contains(ev.kind())) {
                sink(Item::Stored(ev));
            }
        }
        self.cursor = next;
        st.closed
    }

    /// Appends every frame that is ready (at most one batch of stored
    /// events) to `out`, for one write; pending when nothing is, `None`
    /// once the broker closed and everything was delivered.
    ///
    /// This is the fast path of a server: frames are copied straight from
    /// the shared ring into the connection's buffer, with no per-event
    /// reference counting. It may be mixed with the `Stream` interface.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use futures::task::noop_waker_ref;
    /// use std::task::{Context, Poll};
    /// use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions};
    ///
    /// let broker = Broker::new(Epoch::new("e").unwrap(), BrokerConfig::default());
    /// let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    /// let mut cx = Context::from_waker(noop_waker_ref());
    /// let mut out = BytesMut::new();
    /// assert!(sub.poll_frames(&mut cx, &mut out).is_pending());
    ///
    /// let kind = Kind::new("k").unwrap();
    /// broker.publish(Event::new(kind.clone(), "a"), Millis(0)).unwrap();
    /// broker.publish(Event::new(kind, "b"), Millis(0)).unwrap();
    /// let Poll::Ready(Some(batch)) = sub.poll_frames(&mut cx, &mut out) else { panic!() };
    /// assert_eq!((batch.events, batch.last_seq), (2, Some(2)));
    /// assert_eq!(&out[..], b"id: e-1\nevent: k\ndata: a\n\nid: e-2\nevent: k\ndata: b\n\n");
    ///
    /// broker.close();
    /// assert_eq!(sub.poll_frames(&mut cx, &mut out), Poll::Ready(None));
    /// ```
    pub fn poll_frames(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut BytesMut,
    ) -> Poll<Option<Frames>> {
        let mut bell_taken = false;
        loop {
            let mut batch = Frames::default();
            while let Some(item) = self.pending.pop_front() {
                batch.add(&item.as_item(), out);
            }
            if batch.is_empty() && !self.ended {
                let closed = self.refill(|item| batch.add(&item, out));
                if closed && batch.is_empty() {
                    self.ended = true;
                }
            }
            if !batch.is_empty() {
                self.delivered += batch.events as u64;
                self.served(bell_taken);
                return Poll::Ready(Some(batch));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            // Registered before the ring was read, so a publish after the
            // read rings this bell (or already did): no wake-up is lost.
            if self.wait(cx).is_pending() {
                return Poll::Pending;
            }
            bell_taken = true;
        }
    }
}

/// What a subscription hands over from one refill: a stored event still in
/// the ring, or a control event.
enum Item<'a> {
    Stored(&'a SharedEvent),
    Control(Control),
}

impl Delivery {
    fn as_item(&self) -> Item<'_> {
        match self {
            Delivery::Event(ev) => Item::Stored(ev),
            Delivery::Control(c) => Item::Control(c.clone()),
        }
    }
}

/// What one [`Subscription::poll_frames`] call appended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Frames {
    /// Stored events appended.
    pub events: usize,
    /// Seq of the last stored event appended.
    pub last_seq: Option<u64>,
    /// Control events appended (state, reset, heartbeat).
    pub controls: usize,
    /// Of those, `stream.reset` notices.
    pub resets: usize,
}

impl Frames {
    fn add(&mut self, item: &Item<'_>, out: &mut BytesMut) {
        match item {
            Item::Stored(ev) => {
                out.extend_from_slice(ev.frame());
                self.events += 1;
                self.last_seq = Some(ev.id().seq());
            }
            Item::Control(c) => {
                out.extend_from_slice(&c.frame);
                self.controls += 1;
                self.resets += usize::from(matches!(c.kind, ControlKind::Reset(_)));
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.events + self.controls == 0
    }
}

impl Stream for Subscription {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        let this = &mut *self;
        let mut bell_taken = false;
        loop {
            if let Some(item) = this.pending.pop_front() {
                if matches!(item, Delivery::Event(_)) {
                    this.delivered += 1;
                }
                return Poll::Ready(Some(item));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let mut pending = std::mem::take(&mut this.pending);
            let closed = this.refill(|item| {
                pending.push_back(match item {
                    Item::Stored(ev) => Delivery::Event(ev.clone()),
                    Item::Control(c) => Delivery::Control(c),
                })
            });
            this.pending = pending;
            if !this.pending.is_empty() {
                this.served(bell_taken);
                continue;
            }
            if closed {
                this.ended = true;
                return Poll::Ready(None);
            }
            // Registered before the ring was read, so a publish after the
            // read rings this bell (or already did): no wake-up is lost.
            if this.wait(cx).is_pending() {
                return Poll::Pending;
            }
            bell_taken = true;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        Counters::add(&self.shared.counters.delivered, self.delivered);
        self.shared.unregister(self.key);
        // Unregistered, so no ring reaches the bell any more: a wake-up it
        // still holds is counted off, never left to age.
        self.took(self.bell.take());
    }
}
