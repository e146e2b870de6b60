//! A subscriber's doorbell: what a subscription awaits between reads of
//! the ring.
//!
//! It holds at most one ring (ringing a bell that is already rung costs
//! nothing), carrying the generation of the wake-up that rang it (see
//! [`wakes`](crate::wakes)), plus a flag saying whether the subscription is
//! waiting on it. An atomic word and a [`AtomicWaker`]: ringing is one
//! compare-and-swap and a wake, waiting is a swap and a waker registration,
//! with no lock and no allocation — this is paid once per delivery at paced
//! rates. It also keeps the newest seq its subscription has read through,
//! so a ring for events already read (a woken subscription reads on past
//! the ring that woke it) is not made.

use std::sync::atomic::{
    AtomicBool, AtomicU64, Ordering::AcqRel, Ordering::Acquire, Ordering::Release,
};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

/// The bell holds no ring.
const SILENT: u64 = u64::MAX - 1;

#[derive(Debug)]
pub(crate) struct Doorbell {
    /// The generation of the pending ring, or [`SILENT`].
    rung: AtomicU64,
    /// The subscription waits on the bell: its next ring schedules its task.
    waiting: AtomicBool,
    /// The newest seq the subscription has read through: a ring for events
    /// up to it would find nothing to deliver, so none is made.
    read_through: AtomicU64,
    closed: AtomicBool,
    waker: AtomicWaker,
}

impl Default for Doorbell {
    fn default() -> Self {
        Doorbell {
            rung: AtomicU64::new(SILENT),
            waiting: AtomicBool::new(false),
            read_through: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }
}

impl Doorbell {
    /// Rings with `generation` unless already rung; whether this ring took.
    pub(crate) fn ring(&self, generation: u64) -> bool {
        let took = self
            .rung
            .compare_exchange(SILENT, generation, AcqRel, Acquire)
            .is_ok();
        if took {
            self.waker.wake();
        }
        took
    }

    /// Notes that the subscription has read every event up to `seq`.
    pub(crate) fn read_through(&self, seq: u64) {
        self.read_through.store(seq, Release);
    }

    /// Whether the subscription has already read every event up to `head`:
    /// then a ring for them would wake it for nothing.
    pub(crate) fn has_read(&self, head: u64) -> bool {
        self.read_through.load(Acquire) >= head
    }

    /// Whether the subscription waits on the bell.
    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting.load(Acquire)
    }

    /// Takes the pending ring, if any: the subscription reads the ring, so
    /// it is not waiting.
    pub(crate) fn take(&self) -> Option<u64> {
        self.waiting.store(false, Release);
        self.swap_out()
    }

    fn swap_out(&self) -> Option<u64> {
        match self.rung.swap(SILENT, AcqRel) {
            SILENT => None,
            generation => Some(generation),
        }
    }

    /// Ends the bell: a waiting subscription wakes and finds it closed.
    pub(crate) fn close(&self) {
        self.closed.store(true, Release);
        self.waker.wake();
    }

    /// A pending ring (`Some`), the bell's end (`None`), or `Pending` once
    /// registered for the next ring and marked as waiting.
    pub(crate) fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<Option<u64>> {
        if let Some(generation) = self.take() {
            return Poll::Ready(Some(generation));
        }
        self.waker.register(cx.waker());
        self.waiting.store(true, Release);
        // A ring between the first look and the registration found no waker
        // to wake: look again.
        if let Some(generation) = self.swap_out() {
            self.waiting.store(false, Release);
            return Poll::Ready(Some(generation));
        }
        if self.closed.load(Acquire) {
            self.waiting.store(false, Release);
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::noop_waker_ref;

    #[test]
    fn holds_one_ring_and_marks_the_waiter() {
        let bell = Doorbell::default();
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(bell.poll_wait(&mut cx).is_pending());
        assert!(bell.is_waiting());
        assert!(bell.ring(7));
        assert!(!bell.ring(8)); // already rung: the first generation stays
        assert_eq!(bell.poll_wait(&mut cx), Poll::Ready(Some(7)));
        assert!(!bell.is_waiting());
        assert_eq!(bell.take(), None);
        bell.close();
        assert_eq!(bell.poll_wait(&mut cx), Poll::Ready(None));
    }
}
