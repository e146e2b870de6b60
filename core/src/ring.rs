//! The history ring: the last events of one history, bounded by count and
//! optionally by bytes.
//!
//! Seqs are contiguous, so the slot of a seq is derived from the seq of the
//! oldest event held: locating the events after an id is O(1), copying them
//! O(k). Ids supplied by publishers are indexed too, each to the seqs of
//! the held events that carry it, so resuming from one is O(1) as well.

use std::collections::{HashMap, VecDeque};

use crate::event::SharedEvent;
use crate::id::SuppliedId;

/// Where the events after a given seq start, if the ring still holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locate {
    /// Every event after the seq is held (possibly none yet); the first to
    /// deliver has this seq.
    From(u64),
    /// Some events after the seq were already evicted.
    Evicted,
    /// The seq is beyond the newest event ever stored.
    Ahead,
}

/// A bounded window over one history's events.
///
/// ```
/// use tidings_core::{HistoryRing, Locate};
/// let ring = HistoryRing::new(4, None, 1);
/// assert_eq!(ring.head(), 0);                   // nothing stored yet
/// assert_eq!(ring.locate_after(0), Locate::From(1));
/// assert_eq!(ring.locate_after(1), Locate::Ahead);
/// ```
#[derive(Debug)]
pub struct HistoryRing {
    events: VecDeque<SharedEvent>,
    capacity: usize,
    max_bytes: Option<usize>,
    bytes: usize,
    /// The seq the next stored event must have.
    next_seq: u64,
    /// The seqs of the held events with each supplied id, oldest first.
    supplied: HashMap<SuppliedId, VecDeque<u64>>,
}

impl HistoryRing {
    /// An empty ring holding at most `capacity` events (at least one) and, if
    /// given, at most `max_bytes` of encoded events — though always the newest
    /// one, whatever its size. The first event stored will have `next_seq`.
    pub fn new(capacity: usize, max_bytes: Option<usize>, next_seq: u64) -> HistoryRing {
        let capacity = capacity.max(1);
        HistoryRing {
            // Grow on demand: a large ring bounded by bytes may never fill.
            events: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            max_bytes,
            bytes: 0,
            next_seq: next_seq.max(1),
            supplied: HashMap::new(),
        }
    }

    /// The seq of the newest event stored, or the one before the first if
    /// none was (`0` for a fresh history).
    pub fn head(&self) -> u64 {
        self.next_seq - 1
    }

    /// The seq the next stored event must have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The seq of the oldest event held (`next_seq` when empty).
    pub fn tail(&self) -> u64 {
        self.next_seq - self.events.len() as u64
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Stores `event`, whose seq must be [`next_seq`](Self::next_seq), and
    /// evicts the oldest events beyond the bounds. Returns how many were
    /// evicted.
    pub(crate) fn push(&mut self, event: SharedEvent) -> usize {
        debug_assert_eq!(event.id().seq(), self.next_seq);
        if let Some(id) = event.supplied_id() {
            let seqs = self.supplied.entry(id.clone()).or_default();
            seqs.push_back(self.next_seq);
        }
        self.bytes += event.weight();
        self.events.push_back(event);
        self.next_seq += 1;
        let mut evicted = 0;
        while self.events.len() > 1
            && (self.events.len() > self.capacity
                || self.max_bytes.is_some_and(|max| self.bytes > max))
        {
            let old = self.events.pop_front().expect("len > 1");
            self.bytes -= old.weight();
            if let Some(id) = old.supplied_id()
                && let Some(seqs) = self.supplied.get_mut(id)
            {
                seqs.pop_front();
                if seqs.is_empty() {
                    self.supplied.remove(id);
                }
            }
            evicted += 1;
        }
        evicted
    }

    /// Where delivery resumes for a client that has seen everything up to
    /// and including `seq`.
    pub fn locate_after(&self, seq: u64) -> Locate {
        if seq > self.head() {
            Locate::Ahead
        } else if seq + 1 < self.tail() {
            Locate::Evicted
        } else {
            Locate::From(seq + 1)
        }
    }

    /// The seq of the earliest held event whose publisher gave it the id
    /// `text`, if any.
    pub fn earliest_supplied(&self, text: &str) -> Option<u64> {
        let seqs = self.supplied.get(text)?;
        seqs.front().copied()
    }

    /// The event with `seq`, if held.
    pub fn get(&self, seq: u64) -> Option<&SharedEvent> {
        let index = seq.checked_sub(self.tail())?;
        self.events.get(usize::try_from(index).ok()?)
    }

    /// The held events with seqs in `from..` (at most `max` of them), oldest
    /// first. `from` below the tail starts at the tail.
    pub fn range_from(&self, from: u64, max: usize) -> impl Iterator<Item = &SharedEvent> {
        let skip = from.saturating_sub(self.tail());
        let skip = usize::try_from(skip).unwrap_or(usize::MAX);
        self.events.range(skip.min(self.events.len())..).take(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Kind, StoredEvent};
    use crate::id::{Epoch, EventId};
    use std::sync::Arc;

    fn push(ring: &mut HistoryRing, data: &str) -> usize {
        let id = EventId::new(Epoch::new("e").unwrap(), ring.next_seq());
        let ev = StoredEvent::encode(id, Event::new(Kind::new("k").unwrap(), data));
        ring.push(Arc::new(ev))
    }

    fn seqs<'a>(it: impl Iterator<Item = &'a SharedEvent>) -> Vec<u64> {
        it.map(|e| e.id().seq()).collect()
    }

    #[test]
    fn bounded_by_count() {
        let mut ring = HistoryRing::new(3, None, 1);
        for i in 0..5 {
            push(&mut ring, &i.to_string());
        }
        assert_eq!((ring.tail(), ring.head(), ring.len()), (3, 5, 3));
        assert_eq!(seqs(ring.range_from(0, 10)), [3, 4, 5]);
        assert_eq!(seqs(ring.range_from(4, 10)), [4, 5]);
        assert_eq!(seqs(ring.range_from(4, 1)), [4]);
        assert_eq!(seqs(ring.range_from(6, 10)), Vec::<u64>::new());
        assert!(ring.get(2).is_none());
        assert_eq!(ring.get(5).unwrap().data(), "4");
    }

    #[test]
    fn locate() {
        let mut ring = HistoryRing::new(3, None, 1);
        for _ in 0..5 {
            push(&mut ring, "x");
        }
        // Holds 3, 4, 5.
        assert_eq!(ring.locate_after(1), Locate::Evicted);
        assert_eq!(ring.locate_after(2), Locate::From(3));
        assert_eq!(ring.locate_after(5), Locate::From(6));
        assert_eq!(ring.locate_after(6), Locate::Ahead);
        assert_eq!(ring.locate_after(u64::MAX), Locate::Ahead);
    }

    #[test]
    fn bounded_by_bytes_keeps_newest() {
        let mut ring = HistoryRing::new(100, Some(60), 1);
        push(&mut ring, "aaaaaaaaaa"); // 31-byte frame
        assert_eq!(push(&mut ring, "bbbbbbbbbb"), 1);
        assert_eq!(ring.len(), 1);
        push(&mut ring, &"c".repeat(500));
        assert_eq!(ring.len(), 1, "the newest event stays even if oversized");
        assert_eq!(ring.tail(), 3);
        push(&mut ring, "d");
        assert_eq!(ring.len(), 1);
        assert!(ring.bytes() <= 60);
    }

    #[test]
    fn starts_at_restored_seq() {
        let mut ring = HistoryRing::new(2, None, 41);
        assert_eq!(ring.head(), 40);
        assert_eq!(ring.locate_after(40), Locate::From(41));
        assert_eq!(ring.locate_after(39), Locate::Evicted);
        push(&mut ring, "x");
        assert_eq!(ring.get(41).unwrap().id().seq(), 41);
    }
}
