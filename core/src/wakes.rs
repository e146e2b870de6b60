//! Outstanding wake-ups by age and depth: how many subscribers were woken
//! for new events and have not read the ring since, since when, and for
//! which events.
//!
//! This is the broker's measure of how far fan-out is behind publishing. A
//! server saturated by fan-out sees wake-ups age; a publisher that waits
//! while they are old keeps delivery latency bounded instead of queueing
//! without limit (see [`Broker::lagging`](crate::Broker::lagging)).
//!
//! Each ring of the doorbells that delivers events is a generation with the
//! time it was rung and the newest seq it announced; a bell carries its
//! generation, and the subscriber that takes it counts it off. Counters are
//! atomics in a fixed table indexed by generation, so taking a wake-up never
//! waits on a lock. A generation older than the table shares its slot with
//! a newer one: the count stays right and only its age and seq are lost (it
//! reads as recent), so memory stays bounded and no wake-up can hold
//! publishers back for good.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::Millis;

/// The generation of rings that carry no events (heartbeats, mode
/// announcements, rebases): not counted.
pub(crate) const UNTRACKED: u64 = u64::MAX;

/// Generations told apart; at most one ring per flush interval is tracked,
/// so with the default 1 ms interval about half a second.
const SLOTS: usize = 512;

#[derive(Debug, Default)]
struct Slot {
    /// When the newest generation using this slot was rung.
    at: AtomicU64,
    /// The newest seq stored when it was rung.
    seq: AtomicU64,
    /// Bells of this slot's generations not yet taken. Briefly negative when
    /// a subscriber takes its bell before the ring adds the count.
    outstanding: AtomicI64,
}

#[derive(Debug)]
pub(crate) struct Wakes {
    next: AtomicU64,
    slots: Box<[Slot]>,
}

impl Default for Wakes {
    fn default() -> Self {
        Wakes {
            next: AtomicU64::new(0),
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
        }
    }
}

impl Wakes {
    fn slot(&self, generation: u64) -> &Slot {
        &self.slots[(generation % SLOTS as u64) as usize]
    }

    /// Opens the generation of a ring at `now` that announces events up to
    /// `seq`. Called by one ringer at a time (under the bells' lock).
    pub(crate) fn begin(&self, now: Millis, seq: u64) -> u64 {
        let generation = self.next.fetch_add(1, Relaxed);
        let slot = self.slot(generation);
        slot.at.store(now.0, Relaxed);
        slot.seq.store(seq, Relaxed);
        generation
    }

    /// Records that `rung` bells were rung in `generation`.
    pub(crate) fn rung(&self, generation: u64, rung: usize) {
        if generation != UNTRACKED && rung > 0 {
            let rung = i64::try_from(rung).unwrap_or(i64::MAX);
            self.slot(generation).outstanding.fetch_add(rung, Relaxed);
        }
    }

    /// A subscriber took a bell of `generation`.
    pub(crate) fn taken(&self, generation: u64) {
        if generation != UNTRACKED {
            self.slot(generation).outstanding.fetch_sub(1, Relaxed);
        }
    }

    /// Subscribers woken at or before `at`, for events up to `through` at
    /// most, that have not read the ring since.
    pub(crate) fn outstanding_since(&self, at: Millis, through: u64) -> usize {
        self.slots
            .iter()
            .filter(|s| s.at.load(Relaxed) <= at.0 && s.seq.load(Relaxed) <= through)
            .map(|s| usize::try_from(s.outstanding.load(Relaxed)).unwrap_or(0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_wakeups_until_taken_by_age() {
        let wakes = Wakes::default();
        let old = wakes.begin(Millis(10), 4);
        wakes.rung(old, 3);
        let new = wakes.begin(Millis(20), 7);
        wakes.rung(new, 2);
        let all = u64::MAX;
        assert_eq!(wakes.outstanding_since(Millis(9), all), 0);
        assert_eq!(wakes.outstanding_since(Millis(10), all), 3);
        assert_eq!(wakes.outstanding_since(Millis(20), all), 5);
        assert_eq!(wakes.outstanding_since(Millis(20), 6), 3, "woken for seq 4");
        assert_eq!(wakes.outstanding_since(Millis(20), 3), 0);
        wakes.taken(old);
        wakes.taken(new);
        wakes.taken(UNTRACKED);
        assert_eq!(wakes.outstanding_since(Millis(10), all), 2);
        assert_eq!(wakes.outstanding_since(Millis(20), all), 3);
    }

    #[test]
    fn a_bell_taken_before_its_ring_is_counted_never_goes_negative() {
        let wakes = Wakes::default();
        let g = wakes.begin(Millis(5), 1);
        wakes.taken(g);
        assert_eq!(wakes.outstanding_since(Millis(5), 1), 0);
        wakes.rung(g, 1);
        assert_eq!(wakes.outstanding_since(Millis(5), 1), 0);
    }

    #[test]
    fn a_generation_older_than_the_table_counts_as_the_newest_in_its_slot() {
        let wakes = Wakes::default();
        let stalled = wakes.begin(Millis(0), 0);
        wakes.rung(stalled, 1);
        for t in 1..=SLOTS as u64 {
            wakes.begin(Millis(t), t);
        }
        // The stalled bell's slot now carries the time of a recent ring.
        let (last, all) = (SLOTS as u64, u64::MAX);
        assert_eq!(wakes.outstanding_since(Millis(last - 1), all), 0);
        assert_eq!(wakes.outstanding_since(Millis(last), last - 1), 0);
        assert_eq!(wakes.outstanding_since(Millis(last), last), 1);
        wakes.taken(stalled);
        assert_eq!(wakes.outstanding_since(Millis(last), all), 0);
    }
}
