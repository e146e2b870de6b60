//! The publish intake and the simulated writer behind it: the core's
//! bounded [`intake`](tidings_core::intake), whose writes take a fixed
//! virtual time, the commit latency.
//!
//! A publish is queued in the intake. The writer, whenever it is idle,
//! takes every queued event as one batch and writes it for the commit
//! latency; then the engine stores the batch in the broker, where its
//! events get their ids in order, and answers each publisher. Publishes
//! made during a write queue for the next one, so under load one write
//! carries many events (group commit), as the server's sequencer does.
//! Mode changes are queued as urgent items: they keep their place among
//! the publishes and are never refused for room.
//!
//! # Refusing instead of waiting
//!
//! On the server a publisher that finds the queue full waits for room, up
//! to `--publish-queue-wait`, and only then is answered 503. An action of
//! the simulator cannot wait, so here a publish that finds the queue full
//! is refused at once ([`SimError::QueueFull`]).
//!
//! # Latency 0
//!
//! With a commit latency of 0 the writer takes and finishes each write the
//! moment an event is queued, so between two actions nothing is queued and
//! a simulation runs exactly as if publishes went straight into the broker.
//!
//! Nothing here touches the broker or the clients: [`Committer::next_due`]
//! hands a finished write to the engine, which stores it.

use serde::Serialize;
use tidings_core::intake::{Batch, Batches, Intake, Ticket, TryEnqueueError, intake};
use tidings_core::{Event, EventId, Kind, MESSAGE_KIND, Millis, STATE_KIND};

use crate::sim::config::SimError;

/// An event in the intake: what the writer stores (for a mode change, an
/// event of kind `server.state` whose data is the transition).
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) event: Event,
}

/// What a publisher is answered: the id its event was stored under.
pub(super) type Answer = EventId;

/// The events the writer took in one go, and when their write ends.
#[derive(Debug)]
struct Write {
    batch: Batch<Pending, Answer>,
    commit_at: Millis,
    /// Their views, in batch order.
    events: Vec<PendingEvent>,
}

/// Where an event on its way into the history is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitPhase {
    /// In the queue, waiting for the write after the one under way.
    Queued,
    /// In the write under way.
    Writing,
}

/// An event published and not stored yet. It has no id: ids are given at
/// commit, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingEvent {
    /// Its type (`server.state` for a mode change, `message` for an
    /// update without one).
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its data.
    pub data: String,
    /// Its topics.
    pub topics: Vec<String>,
    /// Whether it is private.
    pub private: bool,
    /// Whether it is a mode change, which is queued even when the queue is
    /// full.
    pub mode_change: bool,
    /// Queued, or being written.
    pub phase: CommitPhase,
    /// When it was published.
    pub queued_at: u64,
    /// When it enters the history: the end of the write under way, or for
    /// a queued event the end of the next write at the current latency.
    pub commit_at: u64,
}

impl PendingEvent {
    fn new(event: &Event, mode_change: bool, now: Millis) -> PendingEvent {
        PendingEvent {
            event_type: event
                .kind
                .as_ref()
                .map_or(MESSAGE_KIND, Kind::as_str)
                .to_owned(),
            data: event.data.clone(),
            topics: event.topics.iter().map(|t| t.as_str().to_owned()).collect(),
            private: event.private,
            mode_change,
            phase: CommitPhase::Queued,
            queued_at: now.0,
            commit_at: 0,
        }
    }
}

/// The publish intake, its writer and their counters.
#[derive(Debug)]
pub(super) struct Committer {
    publishers: Intake<Pending, Answer>,
    writes: Batches<Pending, Answer>,
    /// Views of what the intake holds, in queue order: the intake does not
    /// show its items, and the writer always takes all of them.
    queued: Vec<PendingEvent>,
    writing: Option<Write>,
    latency_ms: u64,
    commits: u64,
    refused: u64,
}

impl Committer {
    /// An idle writer behind an empty intake of `capacity` publishes.
    pub(super) fn new(capacity: usize, latency_ms: u64) -> Committer {
        let (publishers, writes) = intake(capacity);
        Committer {
            publishers,
            writes,
            queued: Vec::new(),
            writing: None,
            latency_ms,
            commits: 0,
            refused: 0,
        }
    }

    /// Queues a publish, or refuses it (changing nothing) when the queue
    /// is full. The ticket resolves once its write is stored.
    pub(super) fn publish(
        &mut self,
        event: Event,
        now: Millis,
    ) -> Result<Ticket<Answer>, SimError> {
        let view = PendingEvent::new(&event, false, now);
        match self.publishers.try_enqueue(Pending { event }) {
            Ok(ticket) => {
                self.queued.push(view);
                Ok(ticket)
            }
            Err(TryEnqueueError::Full(_)) => Err(SimError::QueueFull),
            Err(TryEnqueueError::Closed(_)) => {
                unreachable!("the simulator never closes its intake")
            }
        }
    }

    /// Queues a mode change (`data` is its transition), in order with the
    /// publishes before it, whether or not the queue is full.
    pub(super) fn publish_state(&mut self, data: String, now: Millis) {
        let event = Event::new(Kind::new(STATE_KIND).expect("valid kind"), data);
        self.queued.push(PendingEvent::new(&event, true, now));
        self.publishers
            .enqueue_urgent(Pending { event })
            .expect("the simulator never closes its intake");
    }

    /// The write that has ended by `now`, if any, for the engine to store
    /// and answer. An idle writer first takes what is queued, as the write
    /// that ends one commit latency from `now`; so with a latency of 0 what
    /// was just queued comes straight back. Call it until it gives `None`.
    pub(super) fn next_due(&mut self, now: Millis) -> Option<Batch<Pending, Answer>> {
        if self.writing.is_none() {
            self.take(now);
        }
        let due = self.writing.as_ref()?.commit_at <= now;
        if !due {
            return None;
        }
        self.commits += 1;
        self.writing.take().map(|w| w.batch)
    }

    /// Takes everything queued as the next write.
    fn take(&mut self, now: Millis) {
        let Some(batch) = self.writes.try_next() else {
            return;
        };
        debug_assert_eq!(batch.len(), self.queued.len(), "the views mirror the queue");
        let commit_at = now.saturating_add(self.latency_ms);
        let mut events = std::mem::take(&mut self.queued);
        for e in &mut events {
            e.phase = CommitPhase::Writing;
            e.commit_at = commit_at.0;
        }
        self.writing = Some(Write {
            batch,
            commit_at,
            events,
        });
    }

    /// When the write under way ends.
    pub(super) fn next_commit(&self) -> Option<Millis> {
        self.writing.as_ref().map(|w| w.commit_at)
    }

    /// Makes writes taken from now on last `ms`; the one under way keeps
    /// its end.
    pub(super) fn set_latency(&mut self, ms: u64) {
        self.latency_ms = ms;
    }

    /// The commit latency now.
    pub(super) fn latency_ms(&self) -> u64 {
        self.latency_ms
    }

    /// Counts a publish of a burst or stream refused for a full queue.
    pub(super) fn note_refused(&mut self) {
        self.refused += 1;
    }

    /// Every event on its way into the history, the write under way first,
    /// each in queue order.
    pub(super) fn pending(&self, now: Millis) -> Vec<PendingEvent> {
        let (mut out, next_start) = match &self.writing {
            Some(w) => (w.events.clone(), w.commit_at),
            None => (Vec::new(), now),
        };
        let next_end = next_start.saturating_add(self.latency_ms).0;
        out.extend(self.queued.iter().map(|e| PendingEvent {
            commit_at: next_end,
            ..e.clone()
        }));
        out
    }

    /// Events in the queue, waiting for the next write.
    pub(super) fn queued(&self) -> usize {
        self.queued.len()
    }

    /// Events in the write under way.
    pub(super) fn writing(&self) -> usize {
        self.writing.as_ref().map_or(0, |w| w.events.len())
    }

    /// Writes finished.
    pub(super) fn commits(&self) -> u64 {
        self.commits
    }

    /// Publishes of bursts and streams refused for a full queue.
    pub(super) fn refused(&self) -> u64 {
        self.refused
    }
}
