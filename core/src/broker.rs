//! The broker: publishing into the shared history ring, and subscribing to
//! it with replay.
//!
//! Every subscriber is a cursor into one [`HistoryRing`]. Publishing appends
//! to the ring in O(1), whatever the number of subscribers, and never waits
//! on one. A subscriber's undelivered events are the ring from its cursor to
//! the head; what it awaits is its own [doorbell](crate::doorbell), which
//! holds one ring (ringing a bell that is already rung costs nothing).
//!
//! See [`Broker`] for the sections on batched wake-ups, replay, lagging and
//! closing.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use crate::Millis;
use crate::control::{Control, ResetReason, STATE_KIND};
use crate::event::{Event, Kind, SharedEvent, StoredEvent};
use crate::id::{Epoch, EventId};
use crate::ring::HistoryRing;
use crate::shared::{BrokerConfig, Shared, State, lock, read, write};
use crate::stats::{BrokerStats, Counters, RoutingStats};
use crate::subscription::{SubscribeError, SubscribeOptions, Subscription, TopicFilter};

/// Why an event was not stored. The event is given back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The broker was closed.
    #[error("broker is closed")]
    Closed(Event),
    /// The event came with an id that is not the next one of this history.
    #[error("event id {got} is not the next id {expected}")]
    OutOfOrder {
        /// The id the broker expected.
        expected: EventId,
        /// The id the event carried.
        got: EventId,
        /// The event, not stored (boxed: the error stays small).
        event: Box<Event>,
    },
}

impl PublishError {
    /// The event that was not stored.
    pub fn into_event(self) -> Event {
        match self {
            PublishError::Closed(event) => event,
            PublishError::OutOfOrder { event, .. } => *event,
        }
    }
}

/// A live-event broker over one history. Cheap to clone; clones share it.
///
/// Every subscriber is a cursor into the shared [`HistoryRing`]; publishing
/// appends to the ring in O(1) whatever the number of subscribers.
///
/// # Batched wake-ups
///
/// Bells are rung at once when nothing was rung for the last
/// [`BrokerConfig::flush_interval_ms`] (only those of the subscriptions the
/// events since the last ring reach, see [Routing](Broker#routing));
/// otherwise the publish only marks the broker dirty, and the caller's [`Broker::flush`] rings them when
/// [`Broker::next_flush`] is due. So under load one wake-up carries many
/// events, and the added latency is at most one flush interval. Call order:
/// `publish(event, now)` any number of times; whenever `next_flush()` is
/// `Some(t)`, call `flush(now)` once `now >= t`.
///
/// # Replay
///
/// [`Broker::subscribe`] takes the client's last event id. Registering and
/// fixing the cursor happen under one lock, so nothing is lost or duplicated
/// between replay and live delivery — replay *is* live delivery from an
/// older cursor. An id of the current epoch still covered by the ring
/// resumes right after it; anything else (another epoch, older than the
/// ring, ahead of the head, malformed) first yields a `stream.reset` control
/// event whose data gives the reason and the head id, then live events.
///
/// # Routing
///
/// An [`Event`] may carry topics and be private. A subscription's
/// [`TopicFilter`] has selectors (`None`: every event, topic-less ones
/// included) and an authorization (the matchers its token grants). An event
/// is delivered iff the selectors are `None` or one of its topics matches a
/// selector, and it is public or one of its topics matches the
/// authorization, and its kind passes [`SubscribeOptions::kinds`]. Replay
/// applies the same rule to every replayed event, so no private event
/// reaches a subscription that may not see it, live or replayed.
///
/// Subscriptions with equal selectors and kinds share one *group*, and
/// those of a group with equal authorization one *route*. Publishing finds
/// an event's groups through an index: the groups without selectors, a map
/// from exact topic to groups, and a
/// [`PatternIndex`](crate::topic::PatternIndex) of every other selector,
/// each distinct matcher evaluated once per topic. A public event is
/// recorded once per group reached; a private one looks its topics up in
/// an index of the routes' grants and is recorded once per granted route
/// whose group selected it. The next ring wakes only the members of the
/// groups and routes that got seqs. So a publish costs O(groups and
/// granted routes reached + candidate matchers), not O(subscribers): ten
/// thousand streams on one topic are one group whatever their tokens, and
/// a wake-up is only for events its subscription delivers.
///
/// A group keeps the public seqs it delivers, a route the private ones,
/// while they are in the ring (older ones are dropped when the next is
/// added); both are completed back to a resuming subscription's cursor from
/// the ring when it joins, so a woken subscription reads only its own
/// events, the two lists merged: O(log n) to find its place, then O(k) for
/// k events.
///
/// # Lagging
///
/// A slow subscriber loses nothing the ring still holds: it catches up by
/// reading the ring from its cursor, the same path as live delivery. A lag
/// is decided per route: a subscription gets `stream.reset` with reason
/// `lagged` only when an event it would have delivered left the ring before
/// it read it (its route dropped a seq at or after its cursor, or holds one
/// below the ring's tail). A quiet subscription whose cursor the ring
/// wrapped past with other topics' events lost nothing and gets no reset.
/// After a lag, delivery continues from the oldest event held. Size the
/// ring (count and bytes) for the lag you want to absorb.
///
/// # Closing
///
/// [`Broker::close`] refuses further publishes and subscriptions. Every
/// subscription then delivers what was stored before the close and ends.
/// Dropping a [`Subscription`] unregisters it.
///
/// # Example
///
/// ```
/// use futures::{StreamExt, executor::block_on};
/// use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions};
///
/// let broker = Broker::new(Epoch::new("b00t").unwrap(), BrokerConfig::default());
/// let kind = Kind::new("item.created").unwrap();
/// let first = broker.publish(Event::new(kind.clone(), "{}"), Millis(0)).unwrap();
/// assert_eq!(first.id().to_string(), "b00t-1");
///
/// // A client that saw nothing resumes from before the first event…
/// let mut sub = broker.subscribe(SubscribeOptions::resume("b00t-0")).unwrap();
/// assert_eq!(block_on(sub.next()).unwrap().id(), Some(first.id()));
///
/// // …while an id from an earlier boot gets an explicit reset, never a gap.
/// let mut stale = broker.subscribe(SubscribeOptions::resume("old1-7")).unwrap();
/// let reset = block_on(stale.next()).unwrap();
/// assert_eq!(reset.kind(), "stream.reset");
/// assert_eq!(reset.data(), r#"{"reason":"unknown_epoch","head":"b00t-1"}"#);
/// ```
#[derive(Debug, Clone)]
pub struct Broker {
    shared: Arc<Shared>,
}

impl Broker {
    /// A broker for a fresh history named `epoch`; the first event gets seq 1.
    pub fn new(epoch: Epoch, config: BrokerConfig) -> Broker {
        Broker::resume_at(epoch, 1, config)
    }

    /// A broker continuing the history named `epoch`, whose next event gets
    /// `next_seq` — for histories restored from storage or assigned by a bus.
    pub fn resume_at(epoch: Epoch, next_seq: u64, config: BrokerConfig) -> Broker {
        Broker {
            shared: Arc::new(Shared::new(epoch, next_seq, config)),
        }
    }

    /// The epoch of this broker's history.
    pub fn epoch(&self) -> Epoch {
        read(&self.shared.state).epoch.clone()
    }

    /// The id of the newest stored event (`<epoch>-0` before the first).
    pub fn head(&self) -> EventId {
        read(&self.shared.state).head_id()
    }

    /// Stores `event` under the next id and schedules its delivery.
    ///
    /// ```
    /// use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis, PublishError};
    /// let broker = Broker::new(Epoch::new("e").unwrap(), BrokerConfig::default());
    /// let event = Event::new(Kind::new("note").unwrap(), "hi");
    /// broker.close();
    /// // After close the event comes back to the caller.
    /// let err = broker.publish(event.clone(), Millis(0)).unwrap_err();
    /// assert_eq!(err, PublishError::Closed(event));
    /// ```
    pub fn publish(&self, event: Event, now: Millis) -> Result<SharedEvent, PublishError> {
        self.store(None, event, None, now)
    }

    /// Stores `event` under `id`, which was assigned elsewhere (a bus, a
    /// durable log) and must be the next id of this history.
    ///
    /// ```
    /// use tidings_core::{Broker, BrokerConfig, Epoch, Event, EventId, Kind, Millis};
    /// let epoch = Epoch::new("bus").unwrap();
    /// let broker = Broker::new(epoch.clone(), BrokerConfig::default());
    /// let event = Event::new(Kind::new("note").unwrap(), "hi");
    /// assert!(broker.append(EventId::new(epoch.clone(), 1), event.clone(), Millis(0)).is_ok());
    /// // A gap is an error, not a silent skip.
    /// let err = broker.append(EventId::new(epoch, 3), event, Millis(0)).unwrap_err();
    /// assert_eq!(err.to_string(), "event id bus-3 is not the next id bus-2");
    /// ```
    pub fn append(
        &self,
        id: EventId,
        event: Event,
        now: Millis,
    ) -> Result<SharedEvent, PublishError> {
        self.store(Some(id), event, None, now)
    }

    /// Stores a mode change as a `server.state` event and makes `data` the
    /// snapshot new subscriptions start with, in one step.
    pub fn publish_state(&self, data: &str, now: Millis) -> Result<SharedEvent, PublishError> {
        let kind = Kind::new(STATE_KIND).expect("valid kind");
        self.store(
            None,
            Event::new(kind, data),
            Some(Control::state(data)),
            now,
        )
    }

    /// Sets the `server.state` snapshot new subscriptions start with,
    /// without storing an event (the state at start-up).
    pub fn set_state(&self, data: &str) {
        write(&self.shared.state).snapshot = Some(Control::state(data));
    }

    /// The SSE frame of the current `server.state` snapshot, if set: what a
    /// stream that starts with events from elsewhere sends first.
    pub fn state_frame(&self) -> Option<bytes::Bytes> {
        read(&self.shared.state)
            .snapshot
            .as_ref()
            .map(|c| c.frame().clone())
    }

    /// Stores a mode change whose id was assigned elsewhere (a durable log)
    /// as a `server.state` event, like [`publish_state`](Self::publish_state).
    pub fn append_state(
        &self,
        id: EventId,
        data: &str,
        now: Millis,
    ) -> Result<SharedEvent, PublishError> {
        let kind = Kind::new(STATE_KIND).expect("valid kind");
        self.store(
            Some(id),
            Event::new(kind, data),
            Some(Control::state(data)),
            now,
        )
    }

    /// Sends `data` to every subscription as an id-less `server.state`
    /// control event and makes it the snapshot, without storing anything:
    /// for a node whose stored events are sequenced elsewhere (a bus shared
    /// by several nodes, where this node's mode is not part of the shared
    /// history). A subscription that sees several announcements between
    /// two reads gets only the latest.
    ///
    /// ```
    /// use futures::{StreamExt, executor::block_on};
    /// use tidings_core::{Broker, BrokerConfig, Epoch, SubscribeOptions};
    /// let broker = Broker::new(Epoch::new("e").unwrap(), BrokerConfig::default());
    /// let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    /// broker.announce_state(r#"{"to":"degraded"}"#);
    /// let state = block_on(sub.next()).unwrap();
    /// assert_eq!((state.kind(), state.id()), ("server.state", None));
    /// assert_eq!(broker.head().seq(), 0); // nothing stored
    /// ```
    pub fn announce_state(&self, data: &str) {
        {
            let mut st = write(&self.shared.state);
            st.snapshot = Some(Control::state(data));
            st.announcements += 1;
        }
        self.shared.ring_bells(None);
    }

    /// Starts the history over as `epoch`, whose next event gets `next_seq`,
    /// dropping every event held. Each subscription gets a `stream.reset`
    /// (reason `unknown_epoch` if the epoch changed, else
    /// `history_exceeded`) and then the events stored after the rebase. For
    /// a node whose ids come from elsewhere, when that source lost its
    /// history or moved past events this node never saw: the clients are
    /// told, never left with a silent gap.
    ///
    /// ```
    /// use futures::{StreamExt, executor::block_on};
    /// use tidings_core::{Broker, BrokerConfig, Epoch, Event, EventId, Kind, Millis, SubscribeOptions};
    /// let epoch = Epoch::new("bus").unwrap();
    /// let broker = Broker::resume_at(epoch.clone(), 5, BrokerConfig::default());
    /// let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    /// broker.rebase(epoch.clone(), 9); // seqs 5 to 8 will never be seen here
    /// let ev = Event::new(Kind::new("k").unwrap(), "");
    /// broker.append(EventId::new(epoch, 9), ev, Millis(0)).unwrap();
    /// let reset = block_on(sub.next()).unwrap();
    /// // The notice names where the history started over, read late or not.
    /// assert_eq!(reset.data(), r#"{"reason":"history_exceeded","head":"bus-8"}"#);
    /// assert_eq!(block_on(sub.next()).unwrap().id().unwrap().to_string(), "bus-9");
    /// ```
    pub fn rebase(&self, epoch: Epoch, next_seq: u64) {
        {
            let mut st = write(&self.shared.state);
            let reason = if st.epoch == epoch {
                ResetReason::HistoryExceeded
            } else {
                ResetReason::UnknownEpoch
            };
            st.epoch = epoch;
            st.ring = HistoryRing::new(
                self.shared.config.history_size,
                self.shared.config.history_max_bytes,
                next_seq,
            );
            let next = st.ring.next_seq();
            st.routing.clear(next);
            st.rebase = (reason, st.head_id());
            st.generation += 1;
        }
        self.shared.ring_bells(None);
    }

    fn store(
        &self,
        id: Option<EventId>,
        event: Event,
        snapshot: Option<Control>,
        now: Millis,
    ) -> Result<SharedEvent, PublishError> {
        let wake = {
            let mut guard = write(&self.shared.state);
            let st = &mut *guard;
            self.shared.apply_leaves(&mut st.routing);
            if st.closed {
                return Err(PublishError::Closed(event));
            }
            let expected = EventId::new(st.epoch.clone(), st.ring.next_seq());
            let id = match id {
                None => expected,
                Some(got) if got == expected => got,
                Some(got) => {
                    return Err(PublishError::OutOfOrder {
                        expected,
                        got,
                        event: Box::new(event),
                    });
                }
            };
            let stored = Arc::new(StoredEvent::encode(id, event));
            st.ring.push(stored.clone());
            st.routing.publish(&stored, st.ring.tail());
            if snapshot.is_some() {
                st.snapshot = snapshot;
            }
            let wake = self.shared.config.ring_on_publish && self.wake_due(st, now);
            if !wake {
                st.dirty = true;
            }
            let wake = wake.then(|| (st.ring.head(), st.routing.take_pending()));
            drop(guard);
            Counters::add(&self.shared.counters.published, 1);
            (wake, stored)
        };
        if let Some((head, routes)) = wake.0 {
            self.shared.ring_bells(Some((now, head, routes)));
        }
        Ok(wake.1)
    }

    /// Whether the bells may be rung now; if so, records that they are.
    fn wake_due(&self, st: &mut State, now: Millis) -> bool {
        let due = match st.last_wake {
            None => true,
            // A clock that went backwards must not hold deliveries back.
            Some(last) => {
                now < last || now.saturating_since(last) >= self.shared.config.flush_interval_ms
            }
        };
        if due {
            st.last_wake = Some(now);
            st.dirty = false;
        }
        due
    }

    /// When [`flush`](Self::flush) must next be called, if events wait for a
    /// wake-up.
    pub fn next_flush(&self) -> Option<Millis> {
        let st = read(&self.shared.state);
        st.dirty.then(|| {
            st.last_wake
                .unwrap_or_default()
                .saturating_add(self.shared.config.flush_interval_ms)
        })
    }

    /// Rings every doorbell if events wait and the flush interval has passed
    /// since the last ring. Returns whether it rang.
    ///
    /// ```
    /// use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis};
    /// let broker = Broker::new(Epoch::new("e").unwrap(), BrokerConfig::default());
    /// let ev = || Event::new(Kind::new("k").unwrap(), "");
    /// broker.publish(ev(), Millis(10)).unwrap(); // idle: rings at once
    /// broker.publish(ev(), Millis(10)).unwrap(); // batched
    /// assert_eq!(broker.next_flush(), Some(Millis(11)));
    /// assert!(!broker.flush(Millis(10)));        // not due yet
    /// assert!(broker.flush(Millis(11)));
    /// assert_eq!(broker.next_flush(), None);
    /// ```
    pub fn flush(&self, now: Millis) -> bool {
        let wake = {
            let mut st = write(&self.shared.state);
            (st.dirty && self.wake_due(&mut st, now))
                .then(|| (st.ring.head(), st.routing.take_pending()))
        };
        let rang = wake.is_some();
        if let Some((head, routes)) = wake {
            self.shared.ring_bells(Some((now, head, routes)));
        }
        rang
    }

    /// Sends one id-less, unstored `heartbeat` to every subscription.
    pub fn heartbeat(&self) {
        write(&self.shared.state).heartbeats += 1;
        self.shared.ring_bells(None);
    }

    /// Refuses further publishes and subscriptions; every subscription
    /// delivers what was stored before and then ends. Idempotent.
    pub fn close(&self) {
        let mut st = write(&self.shared.state);
        st.closed = true;
        // Nested in the documented order, so no subscription registers
        // after its bell would have been closed.
        let bells = lock(&self.shared.bells);
        for bell in bells.iter() {
            bell.close();
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        read(&self.shared.state).closed
    }

    /// Number of live subscriptions.
    pub fn subscribers(&self) -> usize {
        self.shared.clients.load(Relaxed)
    }

    /// Subscribers that waited for events, were woken at or before `since`
    /// for events up to seq `through` at most, and have not read the ring
    /// since: the fan-out's backlog by age and by depth. On a server that
    /// keeps up, a woken subscription runs at once; on one saturated by
    /// fan-out, wake-ups age and events pile up behind them, and a
    /// publisher may wait while too many are older than its latency budget
    /// and further behind the head than its depth. A subscription busy
    /// writing to its client (or blocked on one that does not read) was
    /// not waiting, so a slow client never counts; nor do wake-ups for
    /// heartbeats and mode announcements.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use futures::task::noop_waker_ref;
    /// use std::task::Context;
    /// use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions};
    ///
    /// let broker = Broker::new(Epoch::new("e").unwrap(), BrokerConfig::default());
    /// let mut subs: Vec<_> = (0..3).map(|_| broker.subscribe(SubscribeOptions::live()).unwrap()).collect();
    /// let mut cx = Context::from_waker(noop_waker_ref());
    /// for sub in &mut subs {
    ///     assert!(sub.poll_frames(&mut cx, &mut BytesMut::new()).is_pending()); // waiting
    /// }
    /// broker.publish(Event::new(Kind::new("k").unwrap(), "x"), Millis(100)).unwrap(); // seq 1
    /// assert_eq!(broker.lagging(Millis(99), 1), 0);  // nobody woken that long ago
    /// assert_eq!(broker.lagging(Millis(100), 1), 3); // woken at 100 for seq 1, none has read
    /// assert_eq!(broker.lagging(Millis(100), 0), 0); // none woken for older events
    ///
    /// assert!(subs[0].poll_frames(&mut cx, &mut BytesMut::new()).is_ready());
    /// assert_eq!(broker.lagging(Millis(100), 1), 2);
    /// drop(subs.pop());
    /// assert_eq!(broker.lagging(Millis(100), 1), 1);
    /// ```
    pub fn lagging(&self, since: Millis, through: u64) -> usize {
        self.shared.wakes.outstanding_since(since, through)
    }

    /// The counters.
    pub fn stats(&self) -> BrokerStats {
        self.shared.counters.snapshot()
    }

    /// How targeted wake-ups are: routes, bells rung, wake-ups that found
    /// nothing, matcher evaluations (see [Routing](Broker#routing)).
    pub fn routing_stats(&self) -> RoutingStats {
        let mut st = write(&self.shared.state);
        self.shared.apply_leaves(&mut st.routing);
        let counters = &self.shared.counters;
        let (routes, groups) = st.routing.len();
        RoutingStats {
            routes,
            groups,
            recorded: st.routing.recorded(),
            rung: counters.rung.load(Relaxed),
            idle_wakeups: counters.idle_wakeups.load(Relaxed),
            pattern_evaluations: st.routing.evaluations(),
        }
    }

    /// Registers a subscription and fixes where its delivery starts, in one
    /// step (see [Replay](Broker#replay)).
    ///
    /// ```
    /// use tidings_core::{Broker, BrokerConfig, Epoch, SubscribeError, SubscribeOptions};
    /// let config = BrokerConfig { max_subscribers: Some(1), ..BrokerConfig::default() };
    /// let broker = Broker::new(Epoch::new("e").unwrap(), config);
    /// let first = broker.subscribe(SubscribeOptions::live()).unwrap();
    /// assert_eq!(broker.subscribe(SubscribeOptions::live()).unwrap_err(), SubscribeError::Full);
    /// drop(first);
    /// assert_eq!(broker.subscribers(), 0);
    /// ```
    pub fn subscribe(&self, options: SubscribeOptions) -> Result<Subscription, SubscribeError> {
        self.subscribe_with(options, TopicFilter::default())
    }

    /// Like [`subscribe`](Self::subscribe), delivering only the events
    /// `topics` selects and authorizes (see [Routing](Broker#routing)),
    /// replayed ones included.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use futures::{StreamExt, executor::block_on};
    /// use tidings_core::topic::{Matcher, MatcherKind, Topic};
    /// use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions, TopicFilter};
    ///
    /// let broker = Broker::new(Epoch::new("e").unwrap(), BrokerConfig::default());
    /// let book = |n: u32| Topic::new(&format!("https://example.com/books/{n}")).unwrap();
    /// let one = Arc::new(Matcher::compile(MatcherKind::Exact, book(1).as_str(), None).unwrap());
    /// let mut sub = broker
    ///     .subscribe_with(SubscribeOptions::live(), TopicFilter::select(vec![one]))
    ///     .unwrap();
    /// let kind = Kind::new("book").unwrap();
    /// for n in [2, 1] {
    ///     let event = Event::new(kind.clone(), n.to_string()).with_topics([book(n)]);
    ///     broker.publish(event, Millis(0)).unwrap();
    /// }
    /// // A private update needs an authorization matching its topic.
    /// broker.publish(Event::new(kind, "secret").with_topics([book(1)]).private(true), Millis(0)).unwrap();
    /// broker.close();
    /// let got: Vec<_> = block_on(sub.map(|d| d.data().to_owned()).collect::<Vec<_>>());
    /// assert_eq!(got, ["1"]);
    /// ```
    pub fn subscribe_with(
        &self,
        options: SubscribeOptions,
        topics: TopicFilter,
    ) -> Result<Subscription, SubscribeError> {
        Subscription::register(&self.shared, options, topics, false)
            .map(|sub| sub.expect("evicted ids reset"))
    }

    /// Like [`subscribe`](Self::subscribe), but when the last id is of the
    /// current epoch and its successors were evicted from the ring, registers
    /// nothing and returns `None`: the caller may replay the missing events
    /// from elsewhere (a bus) and try again from a later id.
    ///
    /// ```
    /// use tidings_core::{Broker, BrokerConfig, Epoch, SubscribeOptions};
    /// let broker = Broker::resume_at(Epoch::new("e").unwrap(), 100, BrokerConfig::default());
    /// assert!(broker.subscribe_retained(SubscribeOptions::resume("e-50")).unwrap().is_none());
    /// let sub = broker.subscribe_retained(SubscribeOptions::resume("e-99")).unwrap();
    /// assert!(sub.is_some());
    /// assert_eq!(broker.subscribers(), 1);
    /// ```
    pub fn subscribe_retained(
        &self,
        options: SubscribeOptions,
    ) -> Result<Option<Subscription>, SubscribeError> {
        self.subscribe_retained_with(options, TopicFilter::default())
    }

    /// [`subscribe_retained`](Self::subscribe_retained) with a
    /// [`TopicFilter`], as [`subscribe_with`](Self::subscribe_with).
    pub fn subscribe_retained_with(
        &self,
        options: SubscribeOptions,
        topics: TopicFilter,
    ) -> Result<Option<Subscription>, SubscribeError> {
        Subscription::register(&self.shared, options, topics, true)
    }
}
