//! Broker counters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a broker's counters, all monotonic since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerStats {
    /// Events stored (published or appended).
    pub published: u64,
    /// Stored events handed to subscribers (a replayed event counts too).
    pub delivered: u64,
    /// Subscriptions that resumed from a last id and were replayed at
    /// least one event from the ring that they deliver.
    pub catch_ups: u64,
    /// `stream.reset` notices sent, for any reason.
    pub resets: u64,
    /// Of those, resets because a subscriber fell behind the ring's tail.
    pub lagged: u64,
    /// Times the doorbells of all subscribers were rung.
    pub wakeups: u64,
}

/// How targeted the wake-ups are: a snapshot from
/// [`Broker::routing_stats`](crate::Broker::routing_stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoutingStats {
    /// Distinct routes (filters in use by live subscriptions).
    pub routes: usize,
    /// Distinct groups: routes with the same selectors and kinds, whose
    /// public events are recorded once for all of them.
    pub groups: usize,
    /// Seq lists events were added to (one per group or route an event
    /// reached), monotonic: what a publish costs in routing.
    pub recorded: u64,
    /// Doorbells rung for stored events: each is one subscription woken.
    pub rung: u64,
    /// Wake-ups after which the subscription found nothing to deliver.
    pub idle_wakeups: u64,
    /// Topic matcher evaluations made to route events (selectors and
    /// authorizations), monotonic.
    pub pattern_evaluations: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub published: AtomicU64,
    pub delivered: AtomicU64,
    pub catch_ups: AtomicU64,
    pub resets: AtomicU64,
    pub lagged: AtomicU64,
    pub wakeups: AtomicU64,
    pub rung: AtomicU64,
    pub idle_wakeups: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Relaxed);
        }
    }

    pub fn snapshot(&self) -> BrokerStats {
        BrokerStats {
            published: self.published.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            catch_ups: self.catch_ups.load(Relaxed),
            resets: self.resets.load(Relaxed),
            lagged: self.lagged.load(Relaxed),
            wakeups: self.wakeups.load(Relaxed),
        }
    }
}
