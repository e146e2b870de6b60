//! The writer's end: taking everything queued as one batch, and answering
//! each of its entries.

use std::fmt;

use futures::channel::oneshot;

use crate::intake::Queued;

/// The writer's end of an intake: yields everything queued as one batch at
/// a time. Dropping it closes the intake and drops what is still queued,
/// so no ticket waits for good.
pub struct Batches<T, R> {
    queue: async_channel::Receiver<Queued<T, R>>,
    permits: async_channel::Receiver<()>,
}

impl<T, R> fmt::Debug for Batches<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batches")
            .field("len", &self.queue.len())
            .field("closed", &self.queue.is_closed())
            .finish()
    }
}

impl<T, R> Batches<T, R> {
    pub(super) fn new(
        queue: async_channel::Receiver<Queued<T, R>>,
        permits: async_channel::Receiver<()>,
    ) -> Self {
        Batches { queue, permits }
    }

    /// Waits for at least one item, then takes everything queued at that
    /// moment as one batch, in queue order; `None` once the intake is
    /// closed and everything queued before was taken.
    ///
    /// Dropping the future while it waits takes nothing.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<u8, ()>(4);
    /// for i in 1..=3 {
    ///     drop(publisher.try_enqueue(i).unwrap());
    /// }
    /// drop(publisher); // closed: the last publisher is gone
    /// let batch = block_on(batches.next()).unwrap();
    /// assert_eq!(batch.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
    /// assert!(block_on(batches.next()).is_none());
    /// ```
    pub async fn next(&self) -> Option<Batch<T, R>> {
        let first = self.queue.recv().await.ok()?;
        Some(self.take(first))
    }

    /// Takes everything queued now as one batch, without waiting; `None`
    /// if nothing is queued (see [`is_closed`](Self::is_closed) to tell
    /// whether more can come).
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<u8, ()>(2);
    /// assert!(batches.try_next().is_none()); // empty: no waiting
    /// publisher.enqueue_urgent(1).unwrap();
    /// assert_eq!(batches.try_next().unwrap().len(), 1);
    /// assert!(batches.try_next().is_none());
    /// ```
    pub fn try_next(&self) -> Option<Batch<T, R>> {
        let first = self.queue.try_recv().ok()?;
        Some(self.take(first))
    }

    /// Whether the intake is closed. Items queued before the close may
    /// still wait to be taken.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<u8, ()>(2);
    /// publisher.enqueue_urgent(1).unwrap();
    /// publisher.close();
    /// assert!(batches.is_closed());
    /// assert!(batches.try_next().is_some()); // closed, yet not empty
    /// ```
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// `first` and everything queued after it, then room for as many
    /// waited-on items as were taken.
    fn take(&self, first: Queued<T, R>) -> Batch<T, R> {
        let mut entries = vec![Entry { queued: first }];
        while let Ok(queued) = self.queue.try_recv() {
            entries.push(Entry { queued });
        }
        // Room is given back only now, so a batch holds at most `capacity`
        // waited-on items even while publishers keep coming.
        for entry in &entries {
            if entry.queued.reply.is_some() {
                // Its permit was sent before the item was queued, so it is
                // there; after a close it can still be received.
                let _ = self.permits.try_recv();
            }
        }
        Batch { entries }
    }
}

impl<T, R> Drop for Batches<T, R> {
    fn drop(&mut self) {
        self.permits.close();
        self.queue.close();
        // Closed, so nothing more can be queued: dropping what is left
        // resolves every outstanding ticket to `Unanswered`.
        while self.queue.try_recv().is_ok() {}
    }
}

/// Items taken from the queue in one go, in queue order, for one write.
/// Iterate it (by value) for the [`Entry`]s to answer; dropping an entry
/// unanswered resolves its ticket to [`Unanswered`](crate::intake::Unanswered).
pub struct Batch<T, R> {
    entries: Vec<Entry<T, R>>,
}

impl<T: fmt::Debug, R> fmt::Debug for Batch<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

impl<T, R> Batch<T, R> {
    /// Number of items, urgent ones included; never zero for a batch the
    /// intake handed out.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<u8, ()>(1);
    /// let _ticket = publisher.try_enqueue(1).unwrap();
    /// publisher.enqueue_urgent(2).unwrap(); // beyond the capacity of 1
    /// assert_eq!(batches.try_next().unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch holds no item (never, for one the intake handed
    /// out).
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<u8, ()>(1);
    /// publisher.enqueue_urgent(1).unwrap();
    /// assert!(!batches.try_next().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The items in queue order, to write them before answering.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<&str, ()>(1);
    /// let _ticket = publisher.try_enqueue("publish").unwrap();
    /// publisher.enqueue_urgent("mode").unwrap();
    /// let batch = batches.try_next().unwrap();
    /// assert_eq!(batch.iter().collect::<Vec<_>>(), [&"publish", &"mode"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|entry| &entry.queued.item)
    }
}

impl<T, R> IntoIterator for Batch<T, R> {
    type Item = Entry<T, R>;
    type IntoIter = std::vec::IntoIter<Entry<T, R>>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// One item of a [`Batch`], with the way to answer its publisher.
pub struct Entry<T, R> {
    queued: Queued<T, R>,
}

impl<T: fmt::Debug, R> fmt::Debug for Entry<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("item", &self.queued.item)
            .field("urgent", &self.is_urgent())
            .finish()
    }
}

impl<T, R> Entry<T, R> {
    /// The item.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<String, ()>(1);
    /// publisher.enqueue_urgent("x".to_owned()).unwrap();
    /// let entry = batches.try_next().unwrap().into_iter().next().unwrap();
    /// assert_eq!(entry.item(), "x");
    /// ```
    pub fn item(&self) -> &T {
        &self.queued.item
    }

    /// Whether it was queued by
    /// [`Intake::enqueue_urgent`](crate::intake::Intake::enqueue_urgent), so
    /// nobody waits for an answer.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<u8, ()>(1);
    /// let _ticket = publisher.try_enqueue(1).unwrap();
    /// publisher.enqueue_urgent(2).unwrap();
    /// let urgent: Vec<bool> = batches.try_next().unwrap().into_iter().map(|e| e.is_urgent()).collect();
    /// assert_eq!(urgent, [false, true]);
    /// ```
    pub fn is_urgent(&self) -> bool {
        self.queued.reply.is_none()
    }

    /// Resolves the publisher's ticket to `answer`. A no-op for an urgent
    /// item, and when the publisher dropped its ticket.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<&str, u64>(2);
    /// let ticket = publisher.try_enqueue("kept").unwrap();
    /// drop(publisher.try_enqueue("gone").unwrap()); // nobody listens
    /// for entry in batches.try_next().unwrap() {
    ///     entry.answer(7); // answering the dropped ticket is harmless
    /// }
    /// assert_eq!(block_on(ticket), Ok(7));
    /// ```
    pub fn answer(self, answer: R) {
        self.into_parts().1.answer(answer);
    }

    /// The item and its [`Reply`], to move the item on (into the broker)
    /// and answer afterwards.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<String, usize>(1);
    /// let ticket = publisher.try_enqueue("moved".to_owned()).unwrap();
    /// let entry = batches.try_next().unwrap().into_iter().next().unwrap();
    /// let (item, reply) = entry.into_parts();
    /// let stored = item.len(); // the item is owned now
    /// reply.answer(stored);
    /// assert_eq!(block_on(ticket), Ok(5));
    /// ```
    pub fn into_parts(self) -> (T, Reply<R>) {
        let Queued { item, reply } = self.queued;
        (item, Reply { reply })
    }
}

/// Where the answer of one taken item goes; dropping it unanswered resolves
/// the ticket to [`Unanswered`](crate::intake::Unanswered).
#[derive(Debug)]
pub struct Reply<R> {
    reply: Option<oneshot::Sender<R>>,
}

impl<R> Reply<R> {
    /// Resolves the publisher's ticket to `answer`; a no-op for an urgent
    /// item, and when the publisher dropped its ticket.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<u8, &str>(1);
    /// publisher.enqueue_urgent(1).unwrap();
    /// let (_, reply) = batches.try_next().unwrap().into_iter().next().unwrap().into_parts();
    /// reply.answer("nobody waits for this"); // urgent: a no-op
    /// ```
    pub fn answer(self, answer: R) {
        if let Some(reply) = self.reply {
            // An `Err` means the publisher dropped its ticket; nobody to tell.
            let _ = reply.send(answer);
        }
    }
}
