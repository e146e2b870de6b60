//! Publish admission: a publish waits while fan-out is behind its latency
//! budget.
//!
//! Publishing appends to the ring in O(1) and never waits on a subscriber,
//! so a publisher can outpace what the streams can write. Without a limit,
//! the events queue in the ring and delivery latency grows with the run. A
//! publish therefore first waits, up to a bound, while more than a share
//! of the subscribers were woken for events longer ago than the budget,
//! at least a depth of events have been stored since, and they have not
//! read them yet (see [`Broker::lagging`]).
//!
//! Both conditions matter. A pass over ten thousand streams takes tens of
//! milliseconds even on a server that keeps up, so age alone would hold
//! publishers whenever there are many clients; but a server that keeps up
//! finishes its pass before many events pile up behind it, while one that
//! cannot keep up falls further behind with every event. Events still
//! flow while streams are within the budget, so a wake-up carries every
//! event of that time and writes stay few and full; only the excess is
//! held back, at the publisher, where it costs nothing.
//!
//! A stream busy writing to its client, or blocked on a client that stopped
//! reading, is not waiting on its bell, so it is never counted: slow
//! clients are the ring's business (they catch up from it or get a
//! `lagged` reset), never a reason to slow publishing. No publish waits
//! longer than [`MAX_WAIT`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tidings_core::{Broker, Millis};
use tokio::time::Instant;

use crate::clock::Clock;

/// Longest a publish waits for fan-out; it then proceeds anyway. Publishes
/// are never refused because streams are slow.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

/// How often a waiting publish looks again.
const RECHECK: Duration = Duration::from_millis(1);

/// When a publish waits for fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanoutBudget {
    /// Age of an untaken wake-up from which its subscriber counts as
    /// behind; zero never waits.
    pub lag: Duration,
    /// Percent of the subscribers that may be behind before publishes wait.
    pub share_percent: u32,
    /// Events stored since an untaken wake-up from which its subscriber
    /// counts as behind (with the lag); zero counts by age alone.
    pub depth: u64,
}

/// Holds publishes back by a [`FanoutBudget`], and counts what it held.
#[derive(Debug)]
pub struct Admission {
    budget: FanoutBudget,
    held: AtomicU64,
    held_us: AtomicU64,
}

/// What an [`Admission`] held back so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    /// Publishes that waited.
    pub publishes: u64,
    /// Their waiting time, in microseconds.
    pub micros: u64,
}

impl Admission {
    /// Admission by `budget`.
    pub fn new(budget: FanoutBudget) -> Admission {
        Admission {
            budget,
            held: AtomicU64::new(0),
            held_us: AtomicU64::new(0),
        }
    }

    /// Waits until at most the budget's share of `broker`'s subscribers are
    /// behind by more than its lag, or [`MAX_WAIT`] passed.
    pub async fn admit(&self, broker: &Broker, clock: &Clock) {
        if self.budget.lag.is_zero() || !self.behind(broker, clock) {
            return;
        }
        let start = Instant::now();
        let deadline = start + MAX_WAIT;
        while Instant::now() < deadline && self.behind(broker, clock) {
            tokio::time::sleep(RECHECK).await;
        }
        self.held.fetch_add(1, Relaxed);
        let waited = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.held_us.fetch_add(waited, Relaxed);
    }

    fn behind(&self, broker: &Broker, clock: &Clock) -> bool {
        let Some(through) = broker.head().seq().checked_sub(self.budget.depth) else {
            return false;
        };
        let lag_ms = u64::try_from(self.budget.lag.as_millis()).unwrap_or(u64::MAX);
        let since = Millis(clock.now().0.saturating_sub(lag_ms));
        let allowed = broker.subscribers() * self.budget.share_percent as usize / 100;
        broker.lagging(since, through) > allowed
    }

    /// What was held back so far.
    pub fn held(&self) -> Held {
        Held {
            publishes: self.held.load(Relaxed),
            micros: self.held_us.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::task::Context;

    use bytes::BytesMut;
    use futures::task::noop_waker_ref;
    use tidings_core::{BrokerConfig, Epoch, Event, Kind, SubscribeOptions, Subscription};

    use super::*;

    fn admission(lag_ms: u64, share_percent: u32) -> Admission {
        deep_admission(lag_ms, share_percent, 0)
    }

    fn deep_admission(lag_ms: u64, share_percent: u32, depth: u64) -> Admission {
        Admission::new(FanoutBudget {
            lag: Duration::from_millis(lag_ms),
            share_percent,
            depth,
        })
    }

    /// `n` subscriptions waiting on their bells, and one event that wakes
    /// them all.
    fn woken(broker: &Broker, clock: &Clock, n: usize) -> Vec<Subscription> {
        let mut cx = Context::from_waker(noop_waker_ref());
        let mut subs: Vec<Subscription> = (0..n)
            .map(|_| broker.subscribe(SubscribeOptions::live()).unwrap())
            .collect();
        for sub in &mut subs {
            assert!(sub.poll_frames(&mut cx, &mut BytesMut::new()).is_pending());
        }
        let event = Event::new(Kind::new("k").unwrap(), "x");
        broker.publish(event, clock.now()).unwrap();
        subs
    }

    fn read(sub: &mut Subscription) {
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(sub.poll_frames(&mut cx, &mut BytesMut::new()).is_ready());
    }

    fn broker() -> Broker {
        Broker::new(Epoch::new("e").unwrap(), BrokerConfig::default())
    }

    #[tokio::test]
    async fn waits_until_streams_behind_the_budget_have_read() {
        let (broker, clock) = (broker(), Clock::new());
        let mut subs = woken(&broker, &clock, 3);
        let admission = admission(5, 0);
        let read_done = Arc::new(AtomicBool::new(false));
        let reader = {
            let read_done = read_done.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                for sub in &mut subs {
                    read(sub);
                }
                read_done.store(true, Relaxed);
                subs
            })
        };
        // Woken 10 ms ago and not run: behind a 5 ms budget.
        tokio::time::sleep(Duration::from_millis(10)).await;
        admission.admit(&broker, &clock).await;
        assert!(read_done.load(Relaxed), "admitted before the streams read");
        assert_eq!(admission.held().publishes, 1);
        assert!(admission.held().micros >= 30_000, "{:?}", admission.held());
        drop(reader.await.unwrap());
    }

    #[tokio::test]
    async fn streams_within_the_share_or_the_budget_do_not_hold() {
        let (broker, clock) = (broker(), Clock::new());
        let mut subs = woken(&broker, &clock, 10);
        for sub in &mut subs[1..] {
            read(sub);
        }
        // One of ten behind is within a 10% share.
        tokio::time::sleep(Duration::from_millis(20)).await;
        admission(5, 10).admit(&broker, &clock).await;
        // Behind, but not for longer than a one-minute budget.
        let lenient = admission(60_000, 0);
        lenient.admit(&broker, &clock).await;
        // No budget at all.
        admission(0, 0).admit(&broker, &clock).await;
        assert_eq!(lenient.held(), Held::default());
    }

    #[tokio::test]
    async fn streams_behind_in_time_but_not_in_events_do_not_hold() {
        let (broker, clock) = (broker(), Clock::new());
        let _never_run = woken(&broker, &clock, 1); // for seq 1
        tokio::time::sleep(Duration::from_millis(10)).await;
        let deep = deep_admission(5, 0, 3);
        deep.admit(&broker, &clock).await; // nothing stored since
        for _ in 0..2 {
            let event = Event::new(Kind::new("k").unwrap(), "x");
            broker.publish(event, clock.now()).unwrap();
        }
        deep.admit(&broker, &clock).await; // two behind it: within 3
        assert_eq!(deep.held(), Held::default());
        let event = Event::new(Kind::new("k").unwrap(), "x");
        broker.publish(event, clock.now()).unwrap(); // three behind
        let start = Instant::now();
        deep.admit(&broker, &clock).await;
        assert!(start.elapsed() >= MAX_WAIT);
        assert_eq!(deep.held().publishes, 1);
    }

    #[tokio::test]
    async fn a_publish_waits_at_most_max_wait() {
        let (broker, clock) = (broker(), Clock::new());
        let _never_run = woken(&broker, &clock, 1);
        let admission = admission(1, 0);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let start = Instant::now();
        admission.admit(&broker, &clock).await;
        assert!(start.elapsed() >= MAX_WAIT);
        assert_eq!(admission.held().publishes, 1);
    }
}
