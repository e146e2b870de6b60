//! The hub: the core broker driven by the server's clock, the log that gives
//! stored events their ids (the node's durable history, or the bus shared
//! with other nodes), and the tasks that ring the streams' doorbells (a
//! publish leaves every ring to the flusher) and send heartbeats.

use std::sync::Arc;
use std::time::Duration;

use tidings_core::{Broker, BrokerConfig, Epoch, Event, EventId, Kind};
use tokio::sync::Notify;

use crate::admission::{Admission, FanoutBudget};
use crate::bus::Bus;
use crate::clock::Clock;
use crate::history::Loaded;
use crate::sequencer::Sequencer;

/// Why an event was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublishFailed {
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closed,
    /// The history (storage or bus) could not take it.
    #[error("the event log is unavailable")]
    Unavailable,
}

/// Where stored events get their ids.
#[derive(Debug, Clone)]
pub enum Log {
    /// This node alone, writing its durable history.
    Local(Arc<Sequencer>),
    /// A bus shared with other nodes.
    Bus(Arc<Bus>),
}

/// The broker plus what feeds it time and ids. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    broker: Broker,
    clock: Clock,
    flush: Arc<Notify>,
    log: Log,
    admission: Arc<Admission>,
}

/// A new epoch token: 10 characters of `[a-z0-9]` from the OS's randomness,
/// so a new history's ids are never mistaken for an earlier one's.
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
    /// A hub continuing `history` (restored from storage or the bus), whose
    /// next ids come from `log`.
    pub fn new(
        config: BrokerConfig,
        clock: Clock,
        history: Loaded,
        log: Log,
        budget: FanoutBudget,
    ) -> Hub {
        let first = history.events.first().map_or(history.next_seq, |r| r.seq);
        let broker = Broker::resume_at(history.epoch.clone(), first, config);
        let now = clock.now();
        for r in history.events {
            if r.seq != broker.head().seq() + 1 {
                // A hole (entries deleted from the bus by hand): keep what
                // follows it; older ids get `history_exceeded`.
                broker.rebase(history.epoch.clone(), r.seq);
            }
            let id = EventId::new(history.epoch.clone(), r.seq);
            broker
                .append(id, Event::new(r.kind, r.data), now)
                .expect("the next seq of an open broker");
        }
        Hub {
            broker,
            clock,
            flush: Arc::new(Notify::new()),
            log,
            admission: Arc::new(Admission::new(budget)),
        }
    }

    /// The broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// What holds publishes back while fan-out is behind.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The bus, when the node is one of several.
    pub fn bus(&self) -> Option<&Arc<Bus>> {
        match &self.log {
            Log::Bus(bus) => Some(bus),
            Log::Local(_) => None,
        }
    }

    /// Stores an event; returns its id once it is durable (in the node's
    /// history, or on the bus).
    pub async fn publish(&self, kind: Kind, data: String) -> Result<EventId, PublishFailed> {
        if self.broker.is_closed() {
            return Err(PublishFailed::Closed);
        }
        self.admission.admit(&self.broker, &self.clock).await;
        match &self.log {
            Log::Local(seq) => seq.publish(self, kind, data).await,
            Log::Bus(bus) => bus.publish(&kind, &data).await.map_err(|e| {
                tracing::warn!(error = %e, "publish not taken by the bus");
                PublishFailed::Unavailable
            }),
        }
    }

    /// Publishes a mode transition. A node alone stores it as a
    /// `server.state` event when its storage is healthy; otherwise, and on a
    /// node of a bus (whose mode is not part of the shared history), it is
    /// announced to the node's streams at once, without an id.
    pub fn publish_state(&self, data: &str, storage_healthy: bool) {
        match &self.log {
            Log::Local(seq) if storage_healthy => seq.publish_state(self, data),
            _ => self.broker.announce_state(data),
        }
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

    /// Ends every stream after what was stored; wakes the tasks so they stop.
    pub fn close(&self) {
        self.broker.close();
        self.flush.notify_one();
    }
}
