//! Sequencing on a single node: each stored event gets the next seq, is
//! written to the durable history, and only then enters the broker — so an
//! id a client has seen is never handed to another event after a restart,
//! crash included.
//!
//! Writes are grouped: the sequencer takes every event queued in the
//! publish queue (see `queue.rs`) while the previous write was under way and
//! writes them in one append, so under load a write carries many events and
//! publishing is not limited by the storage's latency.

use tidings_core::EventId;

use crate::log::feed::Feed;
use crate::log::history::{Record, Writer};
use crate::log::queue::{PublishFailed, WriteBatch, Writes};

/// The writer of a node's history and of its broker.
#[derive(Debug)]
pub struct Sequencer {
    writer: Writer,
    feed: Feed,
}

impl Sequencer {
    /// A sequencer writing through `writer` into `feed`'s broker.
    pub fn new(writer: Writer, feed: Feed) -> Sequencer {
        Sequencer { writer, feed }
    }

    /// Writes every batch queued in `writes`, until the queue is closed and
    /// empty.
    pub async fn run(mut self, writes: Writes) {
        while let Some(batch) = writes.next().await {
            self.commit(batch).await;
        }
    }

    /// Writes one batch, then stores it in the broker and answers each
    /// publisher. Mode changes (the urgent entries) that cannot be written
    /// are still announced to the streams, without an id.
    async fn commit(&mut self, batch: WriteBatch) {
        let broker = self.feed.broker();
        let failed = |batch: WriteBatch, why: PublishFailed| {
            for entry in batch {
                if entry.is_urgent() {
                    broker.announce_state(&entry.item().data);
                }
                entry.answer(Err(why));
            }
        };
        if broker.is_closed() {
            return failed(batch, PublishFailed::Closed);
        }
        let next = broker.head().seq() + 1;
        let records: Vec<Record> = batch
            .iter()
            .zip(next..)
            .map(|(event, seq)| Record {
                seq,
                event: event.clone(),
            })
            .collect();
        if let Err(e) = self.writer.write(&records).await {
            tracing::warn!(error = %e, events = records.len(), "history not written; events refused");
            return failed(batch, PublishFailed::Unavailable);
        }
        let epoch = self.writer.epoch().clone();
        let now = self.feed.clock().now();
        for (entry, r) in batch.into_iter().zip(records) {
            let id = EventId::new(epoch.clone(), r.seq);
            let urgent = entry.is_urgent();
            let (_, reply) = entry.into_parts();
            let stored = if urgent {
                broker.append_state(id, &r.event.data, now)
            } else {
                broker.append(id, r.event, now)
            };
            reply.answer(
                stored
                    .map(|ev| ev.id().clone())
                    .map_err(|_| PublishFailed::Closed),
            );
        }
        self.feed.wake_flusher();
    }
}
