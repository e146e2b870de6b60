//! The hub: the core broker fed by the server's clock ([`Feed`]), and the
//! log that gives stored events their ids — the node's durable history, or
//! the bus shared with other nodes. Publishing goes through here, so every
//! endpoint shares one history.

use std::sync::Arc;

use tidings_core::{Broker, BrokerConfig, Event, EventId, Kind};

use crate::clock::Clock;
use crate::log::admission::{Admission, FanoutBudget};
use crate::log::bus::Bus;
use crate::log::feed::Feed;
use crate::log::history::Loaded;
use crate::log::queue::PublishFailed;
use crate::log::sequencer::Sequencer;

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
    feed: Feed,
    log: Log,
    admission: Arc<Admission>,
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
            feed: Feed::new(broker, clock),
            log,
            admission: Arc::new(Admission::new(budget)),
        }
    }

    /// The broker.
    pub fn broker(&self) -> &Broker {
        self.feed.broker()
    }

    /// The broker with its clock and flusher.
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// What holds publishes back while fan-out is behind.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        self.feed.clock()
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
        if self.broker().is_closed() {
            return Err(PublishFailed::Closed);
        }
        self.admission.admit(self.broker(), self.clock()).await;
        match &self.log {
            Log::Local(seq) => seq.publish(&self.feed, kind, data).await,
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
            Log::Local(seq) if storage_healthy => seq.publish_state(&self.feed, data),
            _ => self.broker().announce_state(data),
        }
    }

    /// Ends every stream after what was stored; wakes the tasks so they stop.
    pub fn close(&self) {
        self.feed.close();
    }
}
