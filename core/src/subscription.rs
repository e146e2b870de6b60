//! Subscriptions: a stream of deliveries read from the shared ring, and how
//! one starts (where its cursor is fixed, which notices come first).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures::Stream;

use crate::control::{Control, ControlKind, Delivery, ResetReason};
use crate::doorbell::Doorbell;
use crate::event::{Kind, SharedEvent};
use crate::id::split_id;
use crate::ring::Locate;
use crate::shared::{Shared, read};
use crate::stats::Counters;

/// Why a subscription was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// The broker was closed.
    #[error("broker is closed")]
    Closed,
    /// [`BrokerConfig::max_subscribers`](crate::BrokerConfig::max_subscribers)
    /// are already connected.
    #[error("too many subscribers")]
    Full,
}

/// What a subscription asks for.
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    /// The client's `Last-Event-ID`, as received (it may be malformed).
    pub last_event_id: Option<String>,
    /// Only stored events of these kinds; control events always pass.
    pub kinds: Option<Vec<Kind>>,
}

impl SubscribeOptions {
    /// Live events only, every kind.
    pub fn live() -> Self {
        SubscribeOptions::default()
    }

    /// Resume after `last_event_id`, every kind.
    pub fn resume(last_event_id: impl Into<String>) -> Self {
        SubscribeOptions {
            last_event_id: Some(last_event_id.into()),
            kinds: None,
        }
    }
}

/// The broker-wide counters a subscription compares with its own to know
/// which control events are due.
#[derive(Debug, Clone, Copy)]
struct Seen {
    heartbeats: u64,
    announcements: u64,
    generation: u64,
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
    /// Registers a subscription and fixes where its delivery starts, in one
    /// step under the state lock (see [Replay](crate::Broker#replay)); with
    /// `evicted_is_none`, an id of the current epoch whose successors were
    /// evicted registers nothing and gives `None`.
    pub(crate) fn register(
        shared: &Arc<Shared>,
        options: SubscribeOptions,
        evicted_is_none: bool,
    ) -> Result<Option<Subscription>, SubscribeError> {
        let st = read(&shared.state);
        if st.closed {
            return Err(SubscribeError::Closed);
        }
        let mut pending = VecDeque::new();
        if let Some(state) = st.snapshot() {
            pending.push_back(Delivery::Control(state.clone()));
        }
        let (cursor, reset) = match options.last_event_id.as_deref() {
            None => (st.ring.next_seq(), None),
            Some(text) => match split_id(text) {
                Err(_) => (st.ring.next_seq(), Some(ResetReason::InvalidId)),
                Ok((epoch, _)) if epoch != st.epoch.as_str() => {
                    (st.ring.next_seq(), Some(ResetReason::UnknownEpoch))
                }
                Ok((_, seq)) => match st.ring.locate_after(seq) {
                    Locate::From(from) => (from, None),
                    Locate::Evicted if evicted_is_none => return Ok(None),
                    Locate::Evicted => (st.ring.next_seq(), Some(ResetReason::HistoryExceeded)),
                    Locate::Ahead => (st.ring.next_seq(), Some(ResetReason::InvalidId)),
                },
            },
        };
        if let Some(reason) = reset {
            pending.push_back(Delivery::Control(Control::reset(reason, &st.head_id())));
            Counters::add(&shared.counters.resets, 1);
        } else if cursor <= st.ring.head() {
            Counters::add(&shared.counters.catch_ups, 1);
        }
        let bell = Arc::new(Doorbell::default());
        // Registered while the state is still read-locked, so no publish or
        // close slips in between fixing the cursor and joining the bells.
        let Some(key) = shared.register(bell.clone()) else {
            return Err(SubscribeError::Full);
        };
        let seen = Seen {
            heartbeats: st.heartbeats,
            announcements: st.announcements,
            generation: st.generation,
        };
        drop(st);
        Ok(Some(Subscription {
            shared: shared.clone(),
            key,
            bell,
            cursor,
            seen,
            pending,
            kinds: options.kinds,
            delivered: 0,
            ended: false,
        }))
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
                out.extend_from_slice(c.frame());
                self.controls += 1;
                self.resets += usize::from(matches!(c.control_kind(), ControlKind::Reset(_)));
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
