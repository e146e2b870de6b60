//! The hub: the core broker fed by the server's clock ([`Feed`]), and the
//! log that gives stored events their ids — the node's durable history, or
//! the bus shared with other nodes. Publishing goes through here, so every
//! endpoint shares one history.

use std::sync::Arc;
use std::time::Duration;

use tidings_core::{Broker, BrokerConfig, Event, EventId};

use crate::clock::Clock;
use crate::log::admission::{Admission, FanoutBudget};
use crate::log::bus::Bus;
use crate::log::feed::Feed;
use crate::log::history::{Loaded, Writer};
use crate::log::queue::{PublishFailed, PublishQueue};
use crate::log::sequencer::Sequencer;

/// Where stored events get their ids.
#[derive(Debug)]
pub enum Log {
    /// This node alone, writing its durable history.
    Local(Box<Writer>),
    /// A bus shared with other nodes.
    Bus(Arc<Bus>),
}

/// How many publishes may wait for the writer, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Events queued at most; further publishers wait for room.
    pub capacity: usize,
    /// How long a publisher waits for room before it is refused.
    pub wait: Duration,
}

/// The broker plus what feeds it time and ids. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    feed: Feed,
    queue: Arc<PublishQueue>,
    bus: Option<Arc<Bus>>,
    admission: Arc<Admission>,
}

impl Hub {
    /// A hub continuing `history` (restored from storage or the bus), whose
    /// next ids come from `log`, through a publish queue of `limits`.
    pub fn new(
        config: BrokerConfig,
        clock: Clock,
        history: Loaded,
        log: Log,
        limits: QueueLimits,
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
                .append(id, r.event, now)
                .expect("the next seq of an open broker");
        }
        let feed = Feed::new(broker, clock);
        let QueueLimits { capacity, wait } = limits;
        let (queue, bus) = match log {
            Log::Local(writer) => {
                let sequencer = Sequencer::new(*writer, feed.clone());
                let queue = PublishQueue::new(capacity, wait, |writes| sequencer.run(writes));
                (queue, None)
            }
            Log::Bus(bus) => {
                let writer = bus.clone();
                let queue = PublishQueue::new(capacity, wait, |writes| writer.run_writer(writes));
                (queue, Some(bus))
            }
        };
        Hub {
            feed,
            queue: Arc::new(queue),
            bus,
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
        self.bus.as_ref()
    }

    /// Events waiting for the writer now.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Stores an event; returns its id once it is durable (in the node's
    /// history, or on the bus). Waits while fan-out is behind, then at most
    /// the queue's wait for room in the publish queue.
    pub async fn publish(&self, event: Event) -> Result<EventId, PublishFailed> {
        if self.broker().is_closed() {
            return Err(PublishFailed::Closed);
        }
        self.admission.admit(self.broker(), self.clock()).await;
        self.queue.publish(event).await
    }

    /// Stores the event of a write that already happened: like
    /// [`publish`](Self::publish), but it waits for room in the queue as
    /// long as it takes rather than lose the event.
    pub async fn publish_after_write(&self, event: Event) -> Result<EventId, PublishFailed> {
        if self.broker().is_closed() {
            return Err(PublishFailed::Closed);
        }
        self.admission.admit(self.broker(), self.clock()).await;
        self.queue.publish_patiently(event).await
    }

    /// Publishes a mode transition. A node alone stores it as a
    /// `server.state` event when its storage is healthy; otherwise, and on a
    /// node of a bus (whose mode is not part of the shared history), it is
    /// announced to the node's streams at once, without an id.
    pub fn publish_state(&self, data: &str, storage_healthy: bool) {
        if self.bus.is_some() || !storage_healthy {
            return self.broker().announce_state(data);
        }
        if let Err(data) = self.queue.publish_state(data.to_owned()) {
            self.broker().announce_state(&data);
        }
    }

    /// Ends every stream after what was stored, and refuses publishes still
    /// waiting for room; wakes the tasks so they stop.
    pub fn close(&self) {
        self.feed.close();
        self.queue.close();
    }
}
