//! The publish intake: a bounded queue in front of one writer that takes
//! every queued item as one batch (group commit).
//!
//! Publishes that need a durable write (a node's history, or the bus) are
//! queued here; one writer takes everything queued as one [`Batch`], writes
//! it in one go, then hands it to the broker and answers each publisher. So
//! under load one write carries many events, and publishing is not limited
//! by the storage's latency. A full queue makes publishers wait, so a
//! publish flood cannot grow memory.
//!
//! Like the rest of the core this piece has no runtime, no clock and no
//! I/O: it is futures over [`async_channel`] and [`futures::channel::oneshot`].
//! A deadline for waiting is the caller's business (wrap
//! [`Intake::enqueue`] in a timeout; a future dropped while it waits leaves
//! nothing queued), and so is running the writer.
//!
//! ```
//! use futures::executor::block_on;
//! use tidings_core::intake::intake;
//!
//! let (publisher, batches) = intake::<&str, usize>(8);
//! let first = block_on(publisher.enqueue("a")).unwrap();
//! let second = block_on(publisher.enqueue("b")).unwrap();
//!
//! // The writer takes both at once, writes them, then answers each.
//! let batch = block_on(batches.next()).unwrap();
//! assert_eq!(batch.iter().copied().collect::<Vec<_>>(), ["a", "b"]);
//! for (seq, entry) in (1..).zip(batch) {
//!     entry.answer(seq);
//! }
//! assert_eq!(block_on(first), Ok(1));
//! assert_eq!(block_on(second), Ok(2));
//! ```
//!
//! # Waiting
//!
//! [`Intake::enqueue`] waits while `capacity` items it (or
//! [`Intake::try_enqueue`]) queued have not been taken by the writer yet,
//! and resolves as soon as its item is queued, with a [`Ticket`] for the
//! writer's answer. Taking a batch makes room for as many publishers as it
//! held. [`Intake::try_enqueue`] never waits: it gives the item back as
//! [`TryEnqueueError::Full`]. [`Intake::enqueue_urgent`] never waits either,
//! and is never refused for room: urgent items (mode changes) do not count
//! against the capacity, so a flood of publishes cannot hold one back.
//! A batch therefore holds at most `capacity` waited-on items, plus the
//! urgent ones.
//!
//! # Closing
//!
//! [`Intake::close`] refuses new items and gives every publisher that was
//! still waiting for room its item back as [`Closed`]. What was queued
//! before the close is not lost: [`Batches::next`] still yields it, then
//! `None`. The intake also closes when every [`Intake`] is dropped (the
//! writer drains what is left) or when [`Batches`] is dropped (every queued
//! item is then dropped and its ticket resolves [`Unanswered`]). A ticket
//! resolves `Unanswered` whenever its entry is dropped without an answer.
//!
//! # Ordering
//!
//! Every item, waited-on or urgent, enters one FIFO queue (an unbounded
//! [`async_channel`]) at the moment it is accepted; room is counted apart,
//! by a bounded `async_channel` of permits that an item takes before it
//! enters and the writer gives back when it takes the item. So a batch
//! lists items exactly in the order they were accepted, and an urgent item
//! comes after everything queued before it and before everything queued
//! after it, with no stamps to merge. A publisher still waiting for room
//! when an urgent item arrives was not queued yet: its item comes after.
//!
//! # Layout
//!
//! The publishers' end ([`Intake`], [`Ticket`]) and the writer's end
//! ([`Batches`], [`Batch`], [`Entry`], [`Reply`]) share only the queued
//! item type of this module; neither names the other. This module may not
//! spawn, sleep, read a clock or know what is written: items and answers
//! are the caller's types.

mod error;
mod publisher;
mod writer;

pub use error::{Closed, TryEnqueueError, Unanswered};
pub use publisher::{Intake, Ticket};
pub use writer::{Batch, Batches, Entry, Reply};

use futures::channel::oneshot;

/// A queued item and, unless it is urgent, where its answer goes.
struct Queued<T, R> {
    item: T,
    reply: Option<oneshot::Sender<R>>,
}

/// A bounded publish intake of `capacity` waited-on items: the publishers'
/// end and the writer's end.
///
/// # Panics
///
/// If `capacity` is zero: such a queue could never accept anything.
///
/// ```
/// use tidings_core::intake::{intake, TryEnqueueError};
///
/// let (publisher, _batches) = intake::<u32, ()>(2);
/// assert!(publisher.try_enqueue(1).is_ok());
/// assert!(publisher.try_enqueue(2).is_ok());
/// // The third does not fit until the writer takes a batch.
/// assert_eq!(publisher.try_enqueue(3).unwrap_err(), TryEnqueueError::Full(3));
/// assert_eq!((publisher.len(), publisher.capacity()), (2, 2));
/// ```
pub fn intake<T, R>(capacity: usize) -> (Intake<T, R>, Batches<T, R>) {
    assert!(capacity > 0, "an intake needs a capacity of at least 1");
    let (queue_tx, queue_rx) = async_channel::unbounded();
    let (permit_tx, permit_rx) = async_channel::bounded(capacity);
    (
        Intake::new(queue_tx, permit_tx),
        Batches::new(queue_rx, permit_rx),
    )
}
