//! What a broker and its subscriptions share: the history ring with the
//! broker-wide state around it, the doorbells, the counters, and the
//! configuration the broker was built with.
//!
//! The broker and its subscriptions both build on this module, and it names
//! neither, so dependencies run one way: a subscription reads the shared
//! state, the broker writes it.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::Millis;
use crate::control::{Control, ResetReason};
use crate::doorbell::Doorbell;
use crate::id::{Epoch, EventId};
use crate::ring::HistoryRing;
use crate::route::{RouteId, Routing};
use crate::stats::Counters;
use crate::wakes::{UNTRACKED, Wakes};

/// How a broker is sized.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Most events the history ring holds (at least 1).
    pub history_size: usize,
    /// Most encoded bytes the ring holds, if bounded by size too.
    pub history_max_bytes: Option<usize>,
    /// Shortest time between two rings of every doorbell; `0` rings on
    /// every publish.
    pub flush_interval_ms: u64,
    /// Whether a publish rings the doorbells itself when a ring is due.
    /// When `false`, a publish only stores its event and marks it waiting,
    /// and the owner rings with [`Broker::flush`](crate::Broker::flush) from
    /// a task of its own: publishing then costs the same with one subscriber
    /// or ten thousand.
    pub ring_on_publish: bool,
    /// Most events a subscription takes from the ring per lock.
    pub max_batch: usize,
    /// Most concurrent subscriptions, if limited.
    pub max_subscribers: Option<usize>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            history_size: 256,
            history_max_bytes: None,
            flush_interval_ms: 1,
            ring_on_publish: true,
            max_batch: 256,
            max_subscribers: None,
        }
    }
}

/// State shared by a broker and its subscriptions.
///
/// Lock order: `state` before `bells`. Publishing and flushing take them one
/// after the other, never nested, so ringing many bells does not hold up
/// subscribers reading the ring. `state` is a read-write lock: subscribers
/// read it to copy from the ring, in parallel; they write it only to join
/// or leave a route, when they register or drop, and then nest `bells`
/// inside it so a route and its member list change together.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: RwLock<State>,
    pub(crate) bells: Mutex<Bells>,
    pub(crate) counters: Counters,
    pub(crate) wakes: Wakes,
    pub(crate) clients: AtomicUsize,
    pub(crate) config: BrokerConfig,
    /// Routes whose subscriptions dropped, one entry per subscription:
    /// applied to `state.routing` by the next holder of the write lock, so
    /// a dropping subscription never takes it while the others read.
    pub(crate) leaving: Mutex<Vec<RouteId>>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) epoch: Epoch,
    pub(crate) ring: HistoryRing,
    /// The subscriptions' routes, kept with the ring they index.
    pub(crate) routing: Routing,
    /// The id-less `server.state` every new subscription starts with.
    pub(crate) snapshot: Option<Control>,
    /// Incremented by each heartbeat; a subscription sends one heartbeat
    /// when it sees the number change.
    pub(crate) heartbeats: u64,
    /// Incremented by each [`Broker::announce_state`](crate::Broker::announce_state);
    /// a subscription sends the snapshot when it sees the number change.
    pub(crate) announcements: u64,
    /// Incremented by each [`Broker::rebase`](crate::Broker::rebase); a
    /// subscription of an older generation is told to reset.
    pub(crate) generation: u64,
    /// Why subscriptions of an older generation reset, and the head the
    /// history started over from: the id their notice carries, whatever
    /// was stored since, so the notice is the same however late it is read.
    pub(crate) rebase: (ResetReason, EventId),
    pub(crate) closed: bool,
    /// Events were stored since the bells were last rung.
    pub(crate) dirty: bool,
    pub(crate) last_wake: Option<Millis>,
}

impl State {
    pub(crate) fn head_id(&self) -> EventId {
        EventId::new(self.epoch.clone(), self.ring.head())
    }

    pub(crate) fn snapshot(&self) -> Option<&Control> {
        self.snapshot.as_ref()
    }
}

/// The doorbells of the registered subscriptions, by key, and each route's
/// members; a freed key is reused by the next subscription.
#[derive(Debug, Default)]
pub(crate) struct Bells {
    slots: Vec<Option<Member>>,
    free: Vec<usize>,
    /// Members by route: their keys and bells side by side, so ringing a
    /// route reads one contiguous list, as ringing every bell did.
    routes: Vec<Vec<(usize, Arc<Doorbell>)>>,
}

/// A registered bell, its route and its place in the route's member list.
#[derive(Debug)]
struct Member {
    bell: Arc<Doorbell>,
    route: RouteId,
    at: usize,
}

impl Bells {
    /// Every registered bell.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Doorbell>> {
        self.slots.iter().flatten().map(|m| &m.bell)
    }

    /// The bells of the members of `route`.
    pub(crate) fn of_route(&self, route: RouteId) -> impl Iterator<Item = &Arc<Doorbell>> {
        self.routes
            .get(route)
            .into_iter()
            .flatten()
            .map(|(_, bell)| bell)
    }
}

// No code path leaves the data inconsistent across a panic, so poisoning is
// ignored.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The state of a history named `epoch` whose next event gets
    /// `next_seq`, with no subscription yet.
    pub(crate) fn new(epoch: Epoch, next_seq: u64, config: BrokerConfig) -> Shared {
        let ring = HistoryRing::new(config.history_size, config.history_max_bytes, next_seq);
        let head = EventId::new(epoch.clone(), ring.head());
        Shared {
            state: RwLock::new(State {
                epoch,
                ring,
                routing: Routing::default(),
                snapshot: None,
                heartbeats: 0,
                announcements: 0,
                generation: 0,
                rebase: (ResetReason::UnknownEpoch, head),
                closed: false,
                dirty: false,
                last_wake: None,
            }),
            bells: Mutex::new(Bells::default()),
            counters: Counters::default(),
            wakes: Wakes::default(),
            leaving: Mutex::new(Vec::new()),
            clients: AtomicUsize::new(0),
            config,
        }
    }

    pub(crate) fn state(&self) -> RwLockReadGuard<'_, State> {
        read(&self.state)
    }

    pub(crate) fn max_batch(&self) -> usize {
        self.config.max_batch.max(1)
    }

    /// Registers `bell` as a member of `route` and returns its key, or
    /// `None` when [`BrokerConfig::max_subscribers`] are already registered.
    /// The caller holds `state` (the documented order), so no ring or close
    /// slips in between fixing a cursor and registering its bell.
    pub(crate) fn register(&self, bell: Arc<Doorbell>, route: RouteId) -> Option<usize> {
        let mut bells = lock(&self.bells);
        let clients = self.clients.load(Relaxed);
        if self
            .config
            .max_subscribers
            .is_some_and(|max| clients >= max)
        {
            return None;
        }
        self.clients.store(clients + 1, Relaxed);
        let key = bells.free.pop().unwrap_or_else(|| {
            bells.slots.push(None);
            bells.slots.len() - 1
        });
        if bells.routes.len() <= route {
            bells.routes.resize_with(route + 1, Vec::new);
        }
        let members = &mut bells.routes[route];
        members.push((key, bell.clone()));
        let at = members.len() - 1;
        bells.slots[key] = Some(Member { bell, route, at });
        Some(key)
    }

    /// Rings every doorbell (`None`: control events), or for events
    /// stored by `now` up to seq `head` the members of the routes given
    /// them; such a ring opens a generation of wake-ups counted until taken.
    pub(crate) fn ring_bells(&self, events: Option<(Millis, u64, Vec<RouteId>)>) {
        let bells = lock(&self.bells);
        let wakes = &self.wakes;
        let (generation, routes, head) = match events {
            None => (UNTRACKED, None, 0),
            Some((now, head, routes)) => (wakes.begin(now, head), Some(routes), head),
        };
        let ring = |bell: &Doorbell| {
            // Only a waiting subscription's wake-up is backlog: one busy
            // writing (or blocked on a slow client) is not the server's lag.
            if bell.is_waiting() {
                (bell.ring(generation), true)
            } else {
                (bell.ring(UNTRACKED), false)
            }
        };
        let (mut took, mut rung) = (0, 0);
        match &routes {
            None => bells.iter().for_each(|bell| {
                ring(bell);
            }),
            Some(routes) => {
                // A subscription that read through `head` already (woken by
                // an earlier ring, it read on) is not woken to find nothing.
                let unread = |bell: &&Arc<Doorbell>| !bell.has_read(head);
                for bell in routes
                    .iter()
                    .flat_map(|&route| bells.of_route(route))
                    .filter(unread)
                {
                    let (ok, waiting) = ring(bell);
                    took += u64::from(ok);
                    rung += usize::from(ok && waiting);
                }
            }
        }
        drop(bells);
        wakes.rung(generation, rung);
        Counters::add(&self.counters.rung, took);
        Counters::add(&self.counters.wakeups, 1);
    }

    /// Notes that a subscription of `route` dropped; see [`Shared::leaving`].
    pub(crate) fn defer_leave(&self, route: RouteId) {
        lock(&self.leaving).push(route);
    }

    /// Applies the leaves noted since the last call; the caller holds the
    /// state write lock (the `state` before `leaving` order).
    pub(crate) fn apply_leaves(&self, routing: &mut Routing) {
        for route in std::mem::take(&mut *lock(&self.leaving)) {
            routing.leave(route);
        }
    }

    /// Unregisters the bell of `key` from its route's member list; the
    /// route itself is left later (see [`Shared::defer_leave`]).
    pub(crate) fn unregister(&self, key: usize) {
        let mut bells = lock(&self.bells);
        let bells = &mut *bells;
        if let Some(member) = bells.slots.get_mut(key).and_then(Option::take) {
            let members = &mut bells.routes[member.route];
            members.swap_remove(member.at);
            if let Some(&(moved, _)) = members.get(member.at) {
                bells.slots[moved]
                    .as_mut()
                    .expect("members are registered")
                    .at = member.at;
            }
            bells.free.push(key);
            self.clients.fetch_sub(1, Relaxed);
        }
    }
}
