//! The broker with what drives it on the server: the server's clock, the
//! flusher that rings the streams' doorbells (a publish leaves every ring to
//! it), and heartbeats. Whatever stores events — the node's sequencer, the
//! bus reader — appends to the broker through a [`Feed`] and wakes the
//! flusher; none of them knows the others.

use std::sync::Arc;
use std::time::Duration;

use tidings_core::Broker;
use tokio::sync::Notify;

use crate::clock::Clock;

/// The broker, its clock and the flusher's wake-up. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Feed {
    broker: Broker,
    clock: Clock,
    flush: Arc<Notify>,
}

impl Feed {
    /// A feed for `broker`, timed by `clock`.
    pub fn new(broker: Broker, clock: Clock) -> Feed {
        Feed {
            broker,
            clock,
            flush: Arc::new(Notify::new()),
        }
    }

    /// The broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Schedules the flusher when stored events wait for a wake-up.
    pub fn wake_flusher(&self) {
        if self.broker.next_flush().is_some() {
            self.flush.notify_one();
        }
    }

    /// Rings batched wake-ups when due, until the broker closes.
    pub async fn run_flusher(self) {
        while !self.broker.is_closed() {
            match self.broker.next_flush() {
                Some(at) => {
                    if at > self.clock.now() {
                        tokio::time::sleep_until(self.clock.instant_of(at).into()).await;
                    }
                    self.broker.flush(self.clock.now());
                }
                // A publish between the check and the wait leaves a permit,
                // so this wait returns at once.
                None => self.flush.notified().await,
            }
        }
    }

    /// Sends a heartbeat to every stream each `interval`, until the broker
    /// closes.
    pub async fn run_heartbeats(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        while !self.broker.is_closed() {
            tick.tick().await;
            self.broker.heartbeat();
        }
    }

    /// Ends every stream after what was stored; wakes the flusher so it
    /// stops.
    pub fn close(&self) {
        self.broker.close();
        self.flush.notify_one();
    }
}
