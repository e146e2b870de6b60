//! Sequencing on a single node: each stored event gets the next seq, is
//! written to the durable history, and only then enters the broker — so an
//! id a client has seen is never handed to another event after a restart,
//! crash included.
//!
//! Writes are grouped: whoever holds the writer takes every event queued
//! meanwhile and writes them in one append, so under load a write carries
//! many events and publishing is not limited by the storage's latency.

use std::sync::{Arc, Mutex, PoisonError};

use tidings_core::{EventId, Kind};
use tokio::sync::oneshot;

use crate::log::feed::Feed;
use crate::log::history::{Record, Writer};
use crate::log::queue::PublishFailed;

/// An event waiting for its write.
#[derive(Debug)]
struct Pending {
    kind: Kind,
    data: String,
    /// A mode change: also the snapshot new streams start with.
    state: bool,
    done: Option<oneshot::Sender<Result<EventId, PublishFailed>>>,
}

/// The queue of events to write and the writer of the history.
#[derive(Debug)]
pub struct Sequencer {
    queue: Mutex<Vec<Pending>>,
    writer: tokio::sync::Mutex<Writer>,
}

impl Sequencer {
    /// A sequencer writing through `writer`.
    pub fn new(writer: Writer) -> Sequencer {
        Sequencer {
            queue: Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(writer),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues an event and returns its id once it is written and stored.
    pub async fn publish(
        self: &Arc<Self>,
        feed: &Feed,
        kind: Kind,
        data: String,
    ) -> Result<EventId, PublishFailed> {
        let (tx, rx) = oneshot::channel();
        self.queue().push(Pending {
            kind,
            data,
            state: false,
            done: Some(tx),
        });
        // In its own task, so a caller that goes away cannot strand the queue.
        self.spawn_commit(feed);
        rx.await.unwrap_or(Err(PublishFailed::Closed))
    }

    /// Queues a mode change, in order with the events queued before it.
    /// If it cannot be written it is still announced to the streams, without
    /// an id.
    pub fn publish_state(self: &Arc<Self>, feed: &Feed, data: &str) {
        self.queue().push(Pending {
            kind: Kind::new(tidings_core::STATE_KIND).expect("valid kind"),
            data: data.to_owned(),
            state: true,
            done: None,
        });
        self.spawn_commit(feed);
    }

    fn spawn_commit(self: &Arc<Self>, feed: &Feed) {
        let (me, feed) = (self.clone(), feed.clone());
        tokio::spawn(async move { me.commit(&feed).await });
    }

    /// Writes everything queued, then stores it in the broker.
    async fn commit(&self, feed: &Feed) {
        let mut writer = self.writer.lock().await;
        let batch = std::mem::take(&mut *self.queue());
        if batch.is_empty() {
            return; // an earlier holder took ours
        }
        let broker = feed.broker();
        let failed = |batch: Vec<Pending>, why: PublishFailed| {
            for p in batch {
                if p.state {
                    broker.announce_state(&p.data);
                }
                if let Some(done) = p.done {
                    let _ = done.send(Err(why));
                }
            }
        };
        if broker.is_closed() {
            return failed(batch, PublishFailed::Closed);
        }
        let next = broker.head().seq() + 1;
        let records: Vec<Record> = batch
            .iter()
            .zip(next..)
            .map(|(p, seq)| Record {
                seq,
                kind: p.kind.clone(),
                data: p.data.clone(),
            })
            .collect();
        if let Err(e) = writer.write(&records).await {
            tracing::warn!(error = %e, events = batch.len(), "history not written; events refused");
            return failed(batch, PublishFailed::Unavailable);
        }
        let epoch = writer.epoch().clone();
        let now = feed.clock().now();
        for (p, r) in batch.into_iter().zip(records) {
            let id = EventId::new(epoch.clone(), r.seq);
            let stored = if p.state {
                broker.append_state(id, &r.data, now)
            } else {
                broker.append(id, tidings_core::Event::new(r.kind, r.data), now)
            };
            if let Some(done) = p.done {
                let _ = done.send(
                    stored
                        .map(|ev| ev.id().clone())
                        .map_err(|_| PublishFailed::Closed),
                );
            }
        }
        feed.wake_flusher();
    }
}
