//! The publish queue in front of the log: the core's bounded
//! [`intake`](tidings_core::intake) driven by tokio.
//!
//! A publish waits here, at most the configured time, for room in the queue,
//! then for the writer — the node's sequencer or the bus — that takes every
//! queued event as one batch. So a flood of publishes against a slow or
//! stalled store holds a bounded number of events in memory; the rest answer
//! [`PublishFailed::Busy`] and change nothing. Mode changes never wait: they
//! go in as urgent items, in order with what was queued before them.
//!
//! The writer starts with the first publish, on the runtime that serves it,
//! so a server built without its background tasks (as tests do) still
//! stores what it is given.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tidings_core::intake::{Batch, Batches, Intake, intake};
use tidings_core::{Event, EventId, Kind};

/// Why an event was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublishFailed {
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closed,
    /// The history (storage or bus) could not take it.
    #[error("the event log is unavailable")]
    Unavailable,
    /// The queue stayed full for as long as a publish may wait.
    #[error("the publish queue is full")]
    Busy,
}

/// An event waiting for its write.
pub type Pending = Event;

/// What the writer answers for each event.
pub type Answer = Result<EventId, PublishFailed>;

/// The writer's end of the queue.
pub type Writes = Batches<Pending, Answer>;

/// What the writer takes from the queue in one go.
pub type WriteBatch = Batch<Pending, Answer>;

/// A writer task, not yet started.
type Writer = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The publishers' end of the queue, with the writer it starts.
pub struct PublishQueue {
    intake: Intake<Pending, Answer>,
    wait: Duration,
    started: AtomicBool,
    writer: Mutex<Option<Writer>>,
}

impl std::fmt::Debug for PublishQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishQueue")
            .field("queued", &self.intake.len())
            .field("capacity", &self.intake.capacity())
            .field("wait", &self.wait)
            .finish()
    }
}

impl PublishQueue {
    /// A queue of `capacity` events whose publishers wait at most `wait`
    /// for room, written by the task `writer` makes from the writer's end.
    pub fn new<W, F>(capacity: usize, wait: Duration, writer: W) -> PublishQueue
    where
        W: FnOnce(Writes) -> F,
        F: Future<Output = ()> + Send + 'static,
    {
        let (intake, writes) = intake(capacity.max(1));
        PublishQueue {
            intake,
            wait,
            started: AtomicBool::new(false),
            writer: Mutex::new(Some(Box::pin(writer(writes)))),
        }
    }

    /// Queues an event and returns its id once the writer stored it;
    /// [`PublishFailed::Busy`] when the queue stayed full for the configured
    /// wait.
    pub async fn publish(&self, event: Event) -> Answer {
        self.publish_within(Some(self.wait), event).await
    }

    /// [`publish`](Self::publish) waiting for room as long as it takes (until
    /// the queue closes): for the event of a write that already happened,
    /// which must not be lost to a busy queue. Such writes are serialised,
    /// so only a few of them ever wait.
    pub async fn publish_patiently(&self, event: Event) -> Answer {
        self.publish_within(None, event).await
    }

    async fn publish_within(&self, wait: Option<Duration>, event: Event) -> Answer {
        self.start();
        let queued = self.intake.enqueue(event);
        let queued = match wait {
            Some(wait) => match tokio::time::timeout(wait, queued).await {
                Ok(queued) => queued,
                // The dropped `enqueue` left nothing queued.
                Err(_) => return Err(PublishFailed::Busy),
            },
            None => queued.await,
        };
        let Ok(ticket) = queued else {
            return Err(PublishFailed::Closed);
        };
        ticket.await.unwrap_or(Err(PublishFailed::Closed))
    }

    /// Queues a mode change (a `server.state` event) without waiting, in
    /// order with the events queued before it; gives its data back when the
    /// queue is closed. The writer tells it from a publish by its being
    /// urgent.
    pub fn publish_state(&self, data: String) -> Result<(), String> {
        self.start();
        let kind = Kind::new(tidings_core::STATE_KIND).expect("valid kind");
        self.intake
            .enqueue_urgent(Event::new(kind, data))
            .map_err(|closed| closed.into_inner().data)
    }

    /// Refuses new events and every publisher still waiting for room; the
    /// writer still takes what was queued.
    pub fn close(&self) {
        self.intake.close();
    }

    /// Events queued now.
    pub fn len(&self) -> usize {
        self.intake.len()
    }

    /// Whether no event is queued.
    pub fn is_empty(&self) -> bool {
        self.intake.is_empty()
    }

    fn start(&self) {
        if self.started.load(Ordering::Acquire) {
            return;
        }
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            tokio::spawn(writer);
            self.started.store(true, Ordering::Release);
        }
    }
}
