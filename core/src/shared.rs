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
use crate::stats::Counters;
use crate::wakes::Wakes;

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
/// only read it, so they copy from the ring in parallel.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: RwLock<State>,
    pub(crate) bells: Mutex<Bells>,
    pub(crate) counters: Counters,
    pub(crate) wakes: Wakes,
    pub(crate) clients: AtomicUsize,
    pub(crate) config: BrokerConfig,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) epoch: Epoch,
    pub(crate) ring: HistoryRing,
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
    /// Why subscriptions of an older generation reset.
    pub(crate) rebase_reason: ResetReason,
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

/// The doorbells of the registered subscriptions, by key; a freed key is
/// reused by the next subscription.
#[derive(Debug, Default)]
pub(crate) struct Bells {
    slots: Vec<Option<Arc<Doorbell>>>,
    free: Vec<usize>,
}

impl Bells {
    /// Every registered bell.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Doorbell>> {
        self.slots.iter().flatten()
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
        Shared {
            state: RwLock::new(State {
                epoch,
                ring,
                snapshot: None,
                heartbeats: 0,
                announcements: 0,
                generation: 0,
                rebase_reason: ResetReason::UnknownEpoch,
                closed: false,
                dirty: false,
                last_wake: None,
            }),
            bells: Mutex::new(Bells::default()),
            counters: Counters::default(),
            wakes: Wakes::default(),
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

    /// Registers `bell` and returns its key, or `None` when
    /// [`BrokerConfig::max_subscribers`] are already registered. The caller
    /// holds `state` (the documented order), so no ring or close slips in
    /// between fixing a cursor and registering its bell.
    pub(crate) fn register(&self, bell: Arc<Doorbell>) -> Option<usize> {
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
        let key = match bells.free.pop() {
            Some(key) => {
                bells.slots[key] = Some(bell);
                key
            }
            None => {
                bells.slots.push(Some(bell));
                bells.slots.len() - 1
            }
        };
        Some(key)
    }

    pub(crate) fn unregister(&self, key: usize) {
        let mut bells = lock(&self.bells);
        if bells.slots.get_mut(key).and_then(Option::take).is_some() {
            bells.free.push(key);
            self.clients.fetch_sub(1, Relaxed);
        }
    }
}
