//! The hub: the core broker driven by the server's clock, with the tasks
//! that flush batched wake-ups and send heartbeats.

use std::sync::Arc;
use std::time::Duration;

use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, PublishError, SharedEvent};
use tokio::sync::Notify;

use crate::clock::Clock;

/// The broker plus what feeds it time. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    broker: Broker,
    clock: Clock,
    flush: Arc<Notify>,
}

/// A new epoch token: 10 characters of `[a-z0-9]` from the OS's randomness,
/// so a restart's ids are never mistaken for this run's.
pub fn new_epoch() -> Epoch {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 10];
    getrandom::fill(&mut raw).expect("the OS provides randomness");
    let token: String = raw
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    Epoch::new(&token).expect("alphabet is valid")
}

impl Hub {
    /// A hub over a fresh history.
    pub fn new(config: BrokerConfig, clock: Clock) -> Hub {
        Hub {
            broker: Broker::new(new_epoch(), config),
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

    /// Publishes an event now.
    pub fn publish(&self, kind: Kind, data: String) -> Result<SharedEvent, PublishError> {
        let stored = self
            .broker
            .publish(Event::new(kind, data), self.clock.now())?;
        self.wake_flusher();
        Ok(stored)
    }

    /// Publishes a mode transition as a stored `server.state` event.
    pub fn publish_state(&self, data: &str) -> Result<SharedEvent, PublishError> {
        let stored = self.broker.publish_state(data, self.clock.now())?;
        self.wake_flusher();
        Ok(stored)
    }

    fn wake_flusher(&self) {
        if self.broker.next_flush().is_some() {
            self.flush.notify_one();
        }
    }

    /// Rings batched wake-ups when due, until the broker closes.
    pub async fn run_flusher(self) {
        while !self.broker.is_closed() {
            match self.broker.next_flush() {
                Some(at) => {
                    tokio::time::sleep_until(self.clock.instant_of(at).into()).await;
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

    /// Ends every stream after what was stored; wakes the tasks so they stop.
    pub fn close(&self) {
        self.broker.close();
        self.flush.notify_one();
    }
}
