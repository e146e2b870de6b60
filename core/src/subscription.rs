//! Subscriptions: a stream of deliveries read from the shared ring, and how
//! one starts (where its cursor is fixed, which notices come first).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures::Stream;

use crate::control::{Control, ControlKind, Delivery, ResetReason};
use crate::doorbell::Doorbell;
use crate::event::{Kind, SharedEvent};
use crate::id::{EARLIEST, split_id};
use crate::ring::Locate;
use crate::route::{Filter, RouteId, admits};
use crate::shared::{Shared, write};
use crate::stats::Counters;
use crate::topic::{Matcher, Topic};

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

/// Which topics a subscription selects and which private events its token
/// lets it see (see [Routing](crate::Broker#routing)). The default selects
/// every event, topic-less ones included, and no private one.
///
/// ```
/// use std::sync::Arc;
/// use tidings_core::TopicFilter;
/// use tidings_core::topic::{Matcher, MatcherKind};
/// let books = Arc::new(Matcher::compile(MatcherKind::UriTemplate, "https://example.com/books/{id}", None).unwrap());
/// let filter = TopicFilter::select(vec![books.clone()]).authorized(vec![books]);
/// assert_eq!(filter.selectors.as_ref().map(Vec::len), Some(1));
/// assert!(TopicFilter::default().selectors.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct TopicFilter {
    /// `None`: every event, topic-less ones included. `Some`: only events
    /// with a topic matching one of these.
    pub selectors: Option<Vec<Arc<Matcher>>>,
    /// What the subscriber's token grants: private events are delivered
    /// only when one of their topics matches one of these.
    pub authorization: Vec<Arc<Matcher>>,
}

impl TopicFilter {
    /// Events with a topic matching one of `selectors`; no private one.
    pub fn select(selectors: Vec<Arc<Matcher>>) -> TopicFilter {
        TopicFilter {
            selectors: Some(selectors),
            authorization: Vec::new(),
        }
    }

    /// The filter, allowed the private events a topic of which matches
    /// one of `authorization`.
    pub fn authorized(mut self, authorization: Vec<Arc<Matcher>>) -> TopicFilter {
        self.authorization = authorization;
        self
    }

    /// Whether the filter admits an event with `topics`, private or not:
    /// the rule the broker routes by, for events read from elsewhere (a
    /// replay from durable history) that must obey it too.
    pub fn admits(&self, topics: &[Topic], private: bool) -> bool {
        admits(
            self.selectors.as_deref(),
            &self.authorization,
            topics,
            private,
        )
    }
}

/// How a stream spells what it is sent: the native API's way, or the
/// Mercure protocol's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// Generated ids as `<epoch>-<seq>`; keep-alives as `heartbeat` events.
    #[default]
    Native,
    /// Generated ids as the fragment `#<epoch>-<seq>` (the protocol's ids
    /// are IRIs or fragments); keep-alives as SSE comment lines. Publisher
    /// ids are sent as given either way, and either spelling resumes on
    /// both.
    Mercure,
}

/// Where a subscription's delivery started (see [Replay](crate::Broker#replay)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// No last id: live events only.
    Live,
    /// After the event with this seq (`0`: from the first event of the
    /// history), which the last id named.
    After(u64),
    /// The last id named no event held: a `stream.reset` came first.
    Reset,
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
    /// The route whose seqs this subscription delivers.
    route: RouteId,
    start: Start,
    dialect: Dialect,
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
        topics: TopicFilter,
        evicted_is_none: bool,
    ) -> Result<Option<Subscription>, SubscribeError> {
        // Written, not read: the route is found or made with the cursor.
        let mut guard = write(&shared.state);
        let st = &mut *guard;
        shared.apply_leaves(&mut st.routing);
        if st.closed {
            return Err(SubscribeError::Closed);
        }
        let mut pending = VecDeque::new();
        if let Some(state) = st.snapshot() {
            pending.push_back(Delivery::Control(state.clone()));
        }
        let supplied = |text| st.ring.earliest_supplied(text);
        let (cursor, reset) = match options.last_event_id.as_deref() {
            None => (st.ring.next_seq(), None),
            // The Mercure protocol's "everything held".
            Some(EARLIEST) => (st.ring.tail(), None),
            // A publisher's id first: `order-42` is not seq 42 of `order`.
            Some(text) if let Some(seq) = supplied(text) => (seq + 1, None),
            // Generated ids resume in either dialect's spelling.
            Some(text) => match split_id(text.strip_prefix('#').unwrap_or(text)) {
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
        }
        let start = match (&options.last_event_id, reset) {
            (None, _) => Start::Live,
            (Some(_), Some(_)) => Start::Reset,
            (Some(_), None) => Start::After(cursor - 1),
        };
        let filter = Filter::new(topics.selectors, topics.authorization, options.kinds);
        let route = st.routing.join(filter, &st.ring, cursor);
        // A catch-up replays at least one event this subscription delivers.
        if reset.is_none()
            && st
                .routing
                .deliverable(route)
                .seqs_from(cursor)
                .next()
                .is_some()
        {
            Counters::add(&shared.counters.catch_ups, 1);
        }
        let bell = Arc::new(Doorbell::default());
        // Registered while the state is still locked, so no publish or
        // close slips in between fixing the cursor and joining the bells.
        let Some(key) = shared.register(bell.clone(), route) else {
            st.routing.leave(route);
            return Err(SubscribeError::Full);
        };
        let seen = Seen {
            heartbeats: st.heartbeats,
            announcements: st.announcements,
            generation: st.generation,
        };
        drop(guard);
        Ok(Some(Subscription {
            shared: shared.clone(),
            key,
            bell,
            cursor,
            seen,
            pending,
            route,
            start,
            dialect: Dialect::Native,
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
    /// `woken`: the last wait ended with a ring, and the read that followed
    /// found nothing to deliver, which is counted.
    fn wait(&mut self, cx: &mut Context<'_>, woken: bool) -> Poll<()> {
        if woken {
            self.shared.counters.idle_wakeups.fetch_add(1, Relaxed);
        }
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
            let (reason, head) = &st.rebase;
            sink(Item::Control(Control::reset(*reason, head)));
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
        let route = st.routing.deliverable(self.route);
        let tail = st.ring.tail();
        if self.cursor < tail {
            // Only an evicted event this subscription delivers is a lag.
            if route.lost(self.cursor, tail) {
                sink(Item::Control(Control::reset(
                    ResetReason::Lagged,
                    &st.head_id(),
                )));
                Counters::add(&counters.resets, 1);
                Counters::add(&counters.lagged, 1);
            }
            self.cursor = tail;
        }
        let mut next = st.ring.next_seq();
        if route.delivers_all(self.cursor, st.ring.head()) {
            // Every held event from the cursor on is this route's: copy the
            // ring's range, as an unfiltered stream always did.
            for ev in st.ring.range_from(self.cursor, max) {
                next = ev.id().seq() + 1;
                sink(Item::Stored(ev));
            }
            self.cursor = next;
            self.bell.read_through(next - 1);
            return st.closed;
        }
        for (taken, seq) in route.seqs_from(self.cursor).enumerate() {
            if taken == max {
                next = seq;
                break;
            }
            let ev = st
                .ring
                .get(seq)
                .expect("a route's seqs from the tail are held");
            sink(Item::Stored(ev));
        }
        self.cursor = next;
        // Read under the state lock, so a ring for anything newer sees it.
        self.bell.read_through(next - 1);
        st.closed
    }

    /// Where delivery started: what the last id resolved to.
    pub fn start(&self) -> Start {
        self.start
    }

    /// Spells what [`poll_frames`](Self::poll_frames) writes in `dialect`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use futures::task::noop_waker_ref;
    /// use std::task::Context;
    /// use tidings_core::{Broker, BrokerConfig, Dialect, Epoch, Event, Kind, Millis, SubscribeOptions};
    ///
    /// let broker = Broker::new(Epoch::new("e").unwrap(), BrokerConfig::default());
    /// let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    /// sub.speak(Dialect::Mercure);
    /// broker.publish(Event::new(Kind::new("k").unwrap(), "a"), Millis(0)).unwrap();
    /// broker.heartbeat();
    /// let mut out = BytesMut::new();
    /// let _ = sub.poll_frames(&mut Context::from_waker(noop_waker_ref()), &mut out);
    /// // The keep-alive (control events come first), then the event.
    /// assert_eq!(&out[..], b":\n\nid: #e-1\nevent: k\ndata: a\n\n");
    /// ```
    pub fn speak(&mut self, dialect: Dialect) {
        self.dialect = dialect;
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
            let dialect = self.dialect;
            while let Some(item) = self.pending.pop_front() {
                batch.add(&item.as_item(), dialect, out);
            }
            if batch.is_empty() && !self.ended {
                let closed = self.refill(|item| batch.add(&item, dialect, out));
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
            if self.wait(cx, bell_taken).is_pending() {
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
    fn add(&mut self, item: &Item<'_>, dialect: Dialect, out: &mut BytesMut) {
        match item {
            Item::Stored(ev) => {
                let frame = ev.frame();
                match frame.strip_prefix(b"id: ") {
                    // A generated id as a fragment: the frame is copied with
                    // one byte more, never encoded again.
                    Some(rest) if dialect == Dialect::Mercure && ev.supplied_id().is_none() => {
                        out.extend_from_slice(b"id: #");
                        out.extend_from_slice(rest);
                    }
                    _ => out.extend_from_slice(frame),
                }
                self.events += 1;
                self.last_seq = Some(ev.id().seq());
            }
            Item::Control(c)
                if dialect == Dialect::Mercure && c.control_kind() == ControlKind::Heartbeat =>
            {
                // The protocol's keep-alive: a comment, which no client dispatches.
                out.extend_from_slice(b":\n\n");
                self.controls += 1;
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
            if this.wait(cx, bell_taken).is_pending() {
                return Poll::Pending;
            }
            bell_taken = true;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        Counters::add(&self.shared.counters.delivered, self.delivered);
        // Out of its route's member list at once; the route itself is left
        // by the next writer of the state, so dropping never waits for the
        // readers. Leaves commute with joins: the route's count only lags.
        self.shared.unregister(self.key);
        self.shared.defer_leave(self.route);
        // Unregistered, so no ring reaches the bell any more: a wake-up it
        // still holds is counted off, never left to age.
        self.took(self.bell.take());
    }
}
