//! The publishers' end: queueing with or without waiting, and the ticket
//! that carries the writer's answer back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::channel::oneshot;

use crate::intake::Queued;
use crate::intake::error::{Closed, TryEnqueueError, Unanswered};

/// The publishers' end of an intake. Cheap to clone; clones share the queue.
pub struct Intake<T, R> {
    queue: async_channel::Sender<Queued<T, R>>,
    /// One permit per waited-on item queued and not yet taken; bounded by
    /// the capacity, so a full permit channel is a full queue.
    permits: async_channel::Sender<()>,
}

impl<T, R> Clone for Intake<T, R> {
    fn clone(&self) -> Self {
        Intake {
            queue: self.queue.clone(),
            permits: self.permits.clone(),
        }
    }
}

impl<T, R> fmt::Debug for Intake<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Intake")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T, R> Intake<T, R> {
    pub(super) fn new(
        queue: async_channel::Sender<Queued<T, R>>,
        permits: async_channel::Sender<()>,
    ) -> Self {
        Intake { queue, permits }
    }

    /// Queues `item`, waiting while the queue is full (see
    /// [Waiting](crate::intake#waiting)); resolves once it is queued, with the
    /// ticket for the writer's answer. Gives the item back if the intake is
    /// closed, also to a publisher that was waiting when it closed.
    ///
    /// Dropping the future while it waits queues nothing.
    ///
    /// ```
    /// use futures::FutureExt;
    /// use futures::executor::block_on;
    /// use tidings_core::intake::{intake, Closed};
    ///
    /// let (publisher, batches) = intake::<&str, ()>(1);
    /// let _first = block_on(publisher.enqueue("first")).unwrap();
    /// // Full: the second publisher waits…
    /// let mut second = Box::pin(publisher.enqueue("second"));
    /// assert!((&mut second).now_or_never().is_none());
    /// // …until the writer takes a batch.
    /// assert_eq!(block_on(batches.next()).unwrap().len(), 1);
    /// assert!(block_on(second).is_ok());
    ///
    /// publisher.close();
    /// assert_eq!(block_on(publisher.enqueue("late")).unwrap_err(), Closed("late"));
    /// ```
    pub async fn enqueue(&self, item: T) -> Result<Ticket<R>, Closed<T>> {
        // The permit is taken and the item queued in the same poll, so a
        // future dropped at any await point holds neither.
        if self.permits.send(()).await.is_err() {
            return Err(Closed(item));
        }
        self.push(item, true).map_err(Closed)
    }

    /// Queues `item` if there is room, without waiting: for callers that
    /// cannot wait (a simulator that polls synchronously).
    ///
    /// ```
    /// use tidings_core::intake::{intake, TryEnqueueError};
    ///
    /// let (publisher, batches) = intake::<char, ()>(1);
    /// let _ticket = publisher.try_enqueue('a').unwrap();
    /// assert_eq!(publisher.try_enqueue('b').unwrap_err(), TryEnqueueError::Full('b'));
    /// drop(batches); // the writer is gone: the intake is closed
    /// assert_eq!(publisher.try_enqueue('c').unwrap_err(), TryEnqueueError::Closed('c'));
    /// ```
    pub fn try_enqueue(&self, item: T) -> Result<Ticket<R>, TryEnqueueError<T>> {
        match self.permits.try_send(()) {
            Ok(()) => self.push(item, true).map_err(TryEnqueueError::Closed),
            Err(async_channel::TrySendError::Full(())) => Err(TryEnqueueError::Full(item)),
            Err(async_channel::TrySendError::Closed(())) => Err(TryEnqueueError::Closed(item)),
        }
    }

    /// Queues `item` at once, even when the queue is full, with no answer
    /// to wait for: for mode changes, which must not wait behind a flood of
    /// publishes yet must keep their place among them (see
    /// [Ordering](crate::intake#ordering)).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use tidings_core::intake::{intake, Closed};
    ///
    /// let (publisher, batches) = intake::<&str, ()>(1);
    /// let _ticket = publisher.try_enqueue("event").unwrap();
    /// assert!(publisher.try_enqueue("more").is_err()); // full…
    /// publisher.enqueue_urgent("read_only").unwrap(); // …yet this is queued
    /// let batch = block_on(batches.next()).unwrap();
    /// assert_eq!(batch.iter().copied().collect::<Vec<_>>(), ["event", "read_only"]);
    ///
    /// publisher.close();
    /// assert_eq!(publisher.enqueue_urgent("normal"), Err(Closed("normal")));
    /// ```
    pub fn enqueue_urgent(&self, item: T) -> Result<(), Closed<T>> {
        self.push(item, false).map(drop).map_err(Closed)
    }

    /// Queues `item`, with a ticket if `answered`; gives it back if closed.
    fn push(&self, item: T, answered: bool) -> Result<Ticket<R>, T> {
        let (tx, rx) = oneshot::channel();
        let queued = Queued {
            item,
            reply: answered.then_some(tx),
        };
        match self.queue.try_send(queued) {
            Ok(()) => Ok(Ticket { answer: rx }),
            Err(refused) => Err(refused.into_inner().item),
        }
    }

    /// Refuses new items and gives waiting publishers their items back; what
    /// is queued is still handed to the writer. Returns whether this call
    /// closed it (`false` if it already was).
    ///
    /// ```
    /// use futures::FutureExt;
    /// use futures::executor::block_on;
    /// use tidings_core::intake::{intake, Closed};
    ///
    /// let (publisher, batches) = intake::<u8, ()>(1);
    /// let queued = publisher.try_enqueue(1).unwrap();
    /// let mut waiting = Box::pin(publisher.enqueue(2));
    /// assert!((&mut waiting).now_or_never().is_none()); // the queue is full
    /// assert!(publisher.close());
    /// assert!(!publisher.close());
    /// assert_eq!(block_on(waiting).unwrap_err(), Closed(2));
    /// // The item queued before the close still reaches the writer.
    /// let batch = block_on(batches.next()).unwrap();
    /// assert_eq!(batch.iter().copied().collect::<Vec<_>>(), [1]);
    /// drop(batch);
    /// assert!(block_on(batches.next()).is_none());
    /// assert!(block_on(queued).is_err()); // dropped unanswered
    /// ```
    pub fn close(&self) -> bool {
        // Permits first: from here no publisher gets room, so nothing
        // queues behind the close of the queue.
        let closed = self.permits.close();
        self.queue.close() || closed
    }

    /// Whether the intake is closed: by [`close`](Self::close), or because
    /// the writer's [`Batches`](crate::intake::Batches) was dropped.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<(), ()>(4);
    /// assert!(!publisher.is_closed());
    /// drop(batches);
    /// assert!(publisher.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Items queued now and not yet taken by the writer, urgent ones
    /// included.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<u8, ()>(1);
    /// let _ticket = publisher.try_enqueue(1).unwrap();
    /// publisher.enqueue_urgent(2).unwrap();
    /// // Above the capacity: urgent items do not count against it.
    /// assert_eq!((publisher.len(), publisher.capacity()), (2, 1));
    /// let _batch = block_on(batches.next()).unwrap();
    /// assert_eq!(publisher.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued now.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, _batches) = intake::<u8, ()>(1);
    /// assert!(publisher.is_empty());
    /// publisher.enqueue_urgent(7).unwrap();
    /// assert!(!publisher.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Most waited-on items queued at once; publishers wait beyond it.
    ///
    /// ```
    /// use tidings_core::intake::{intake, TryEnqueueError};
    ///
    /// let (publisher, _batches) = intake::<u8, ()>(3);
    /// assert_eq!(publisher.capacity(), 3);
    /// for i in 0..3 {
    ///     publisher.try_enqueue(i).unwrap();
    /// }
    /// assert!(matches!(publisher.try_enqueue(3), Err(TryEnqueueError::Full(3))));
    /// ```
    pub fn capacity(&self) -> usize {
        self.permits
            .capacity()
            .expect("the permit channel is bounded")
    }
}

/// The writer's answer to one queued item: a future that resolves once the
/// writer answers, or to [`Unanswered`] if the writer dropped the item (or
/// its [`Batches`](crate::intake::Batches)) without answering. Dropping a
/// ticket does not withdraw the item: it was queued, and the writer still
/// takes it.
///
/// ```
/// use futures::executor::block_on;
/// use tidings_core::intake::{intake, Unanswered};
///
/// let (publisher, batches) = intake::<&str, u64>(4);
/// let ticket = publisher.try_enqueue("lost").unwrap();
/// drop(block_on(batches.next())); // the writer gave up on the whole batch
/// assert_eq!(block_on(ticket), Err(Unanswered));
/// ```
#[derive(Debug)]
#[must_use = "a ticket does nothing unless awaited; dropping it does not withdraw the item"]
pub struct Ticket<R> {
    answer: oneshot::Receiver<R>,
}

impl<R> Future for Ticket<R> {
    type Output = Result<R, Unanswered>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.answer)
            .poll(cx)
            .map(|answer| answer.map_err(|oneshot::Canceled| Unanswered))
    }
}
