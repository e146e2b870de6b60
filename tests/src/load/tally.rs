//! What each client received: which sequence numbers, how many twice, how
//! many out of order, how many it was not due (strays), and what the
//! publisher knew when it sent each one.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use memchr::memmem::Finder;

/// Finds `"seq"` and `"ts"` in an event's data: a JSON object holding both
/// as non-negative integers, at any depth (`{"seq":1,"ts":2}` as nchan
/// forwards the published body, or inside Tidings' `data`).
pub fn seq_and_ts(data: &str) -> Option<(u64, u64)> {
    if let Some(found) = compact_seq_and_ts(data) {
        return Some(found);
    }
    static SEQ: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"seq\""));
    static TS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"ts\""));
    Some((number_after(data, &SEQ)?, number_after(data, &TS)?))
}

/// The body as the publisher sends it and both hubs forward it,
/// `{"seq":N,"ts":T}`, read without a search.
fn compact_seq_and_ts(data: &str) -> Option<(u64, u64)> {
    let (seq, rest) = leading_number(data.strip_prefix("{\"seq\":")?)?;
    let (ts, rest) = leading_number(rest.strip_prefix(",\"ts\":")?)?;
    (rest == "}").then_some((seq, ts))
}

/// The number that `text` starts with, and what follows it.
fn leading_number(text: &str) -> Option<(u64, &str)> {
    let end = text
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len());
    Some((text[..end].parse().ok()?, &text[end..]))
}

/// The number after the first `key` (a JSON key with its quotes) and a
/// colon. The searchers are built once: building one per call, as
/// `str::find` does, was a visible share of the tool's cost per event.
fn number_after(data: &str, key: &Finder<'_>) -> Option<u64> {
    let at = key.find(data.as_bytes())? + key.needle().len();
    let rest = data[at..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    Some(leading_number(rest)?.0)
}

/// What the publisher knows about each sequence number, shared with every
/// client.
#[derive(Debug)]
pub struct Ledger {
    /// For each seq: how many leading seqs (`0..n`) had their publish
    /// answered before this one was sent. Those were certainly accepted by
    /// the server before this one, so a client that gets this one and then
    /// one of those got them out of order.
    before: Vec<AtomicU64>,
    /// For each seq: whether the server accepted it (2xx).
    ok: Vec<AtomicBool>,
    answered: std::sync::Mutex<Answered>,
    prefix: AtomicU64,
}

#[derive(Debug)]
struct Answered {
    done: Vec<bool>,
    prefix: u64,
}

impl Ledger {
    /// A ledger for seqs `0..events`.
    pub fn new(events: u64) -> Ledger {
        let n = usize::try_from(events).expect("events fit in memory");
        Ledger {
            before: (0..n).map(|_| AtomicU64::new(0)).collect(),
            ok: (0..n).map(|_| AtomicBool::new(false)).collect(),
            answered: std::sync::Mutex::new(Answered {
                done: vec![false; n],
                prefix: 0,
            }),
            prefix: AtomicU64::new(0),
        }
    }

    /// Number of seqs.
    pub fn events(&self) -> u64 {
        self.ok.len() as u64
    }

    /// Called just before `seq` is sent.
    pub fn sending(&self, seq: u64) {
        self.before[seq as usize].store(self.prefix.load(Ordering::Acquire), Ordering::Release);
    }

    /// Called when the publish of `seq` was answered (or failed).
    pub fn answered(&self, seq: u64, ok: bool) {
        self.ok[seq as usize].store(ok, Ordering::Release);
        let mut a = self.answered.lock().expect("ledger lock");
        a.done[seq as usize] = true;
        while (a.prefix as usize) < a.done.len() && a.done[a.prefix as usize] {
            a.prefix += 1;
        }
        self.prefix.store(a.prefix, Ordering::Release);
    }

    fn before(&self, seq: u64) -> u64 {
        self.before[seq as usize].load(Ordering::Acquire)
    }

    /// Whether the server accepted `seq`.
    pub fn ok(&self, seq: u64) -> bool {
        self.ok[seq as usize].load(Ordering::Acquire)
    }
}

/// How one received event counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The first copy of this seq.
    First,
    /// A copy of a seq already received.
    Duplicate,
    /// A seq outside `0..events`: from another run or publisher.
    Foreign,
    /// A seq of this run that the client's selectors do not select.
    Stray,
}

/// One client's record of the seqs it received, across reconnects.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    seen: Vec<u64>,
    /// First copies.
    pub unique: u64,
    /// Further copies.
    pub duplicates: u64,
    /// First copies that came after an event published strictly later.
    pub out_of_order: u64,
    /// Events whose seq is outside the run.
    pub foreign: u64,
    /// Events of the run the client did not ask for.
    pub strays: u64,
    /// Events without seq and ts (control events, heartbeats), resets
    /// aside.
    pub other: u64,
    /// `stream.reset` notices: the hub told the client it may have missed
    /// events and must resynchronise.
    pub resets: u64,
    /// The largest `Ledger::before` of any seq received so far.
    horizon: u64,
}

impl Tally {
    /// An empty tally for a run of `events` seqs.
    pub fn new(events: u64) -> Tally {
        Tally {
            seen: vec![0; events.div_ceil(64) as usize],
            ..Tally::default()
        }
    }

    /// Records the receipt of `seq`; `wanted`: whether the client's
    /// selectors select it. A stray is counted, not marked received, so it
    /// never stands in for an event the client is due.
    pub fn record(&mut self, seq: u64, wanted: bool, ledger: &Ledger) -> Outcome {
        if seq >= ledger.events() {
            self.foreign += 1;
            return Outcome::Foreign;
        }
        if !wanted {
            self.strays += 1;
            return Outcome::Stray;
        }
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if self.seen[word] & bit != 0 {
            self.duplicates += 1;
            return Outcome::Duplicate;
        }
        self.seen[word] |= bit;
        self.unique += 1;
        if seq < self.horizon {
            self.out_of_order += 1;
        }
        self.horizon = self.horizon.max(ledger.before(seq));
        Outcome::First
    }

    /// Accepted seqs this client was due (`expected` of them) and never
    /// received. Only seqs it asked for are marked received, so this is
    /// `expected` less the accepted ones among them: the cost is one step
    /// per seq received, not per seq of the run.
    pub fn missing(&self, expected: u64, ledger: &Ledger) -> u64 {
        let mut received = 0;
        for (w, &word) in self.seen.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let seq = w as u64 * 64 + u64::from(bits.trailing_zeros());
                received += u64::from(ledger.ok(seq));
                bits &= bits - 1;
            }
        }
        expected.saturating_sub(received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_seq_and_ts() {
        assert_eq!(seq_and_ts(r#"{"seq":12,"ts":345}"#), Some((12, 345)));
        assert_eq!(seq_and_ts(r#"{ "ts" : 7 , "seq": 3 }"#), Some((3, 7)));
        assert_eq!(seq_and_ts(r#"{"x":{"seq":1,"ts":2}}"#), Some((1, 2)));
        assert_eq!(seq_and_ts(r#"{"from":"normal"}"#), None);
        assert_eq!(seq_and_ts(r#"{"seq":-1,"ts":2}"#), None);
        // The compact body and what only looks like it.
        assert_eq!(seq_and_ts(r#"{"seq":4,"ts":5}"#), Some((4, 5)));
        assert_eq!(
            seq_and_ts(r#"{"seq":4,"ts":5,"x":{"seq":9}}"#),
            Some((4, 5))
        );
        assert_eq!(seq_and_ts(r#"{"seq":,"ts":5}"#), None);
    }

    fn sequential(n: u64) -> Ledger {
        let ledger = Ledger::new(n);
        for s in 0..n {
            ledger.sending(s);
            ledger.answered(s, true);
        }
        ledger
    }

    #[test]
    fn counts_gaps_duplicates_and_order() {
        let ledger = sequential(10);
        let mut t = Tally::new(10);
        for s in [0, 1, 3, 2, 3, 4, 42] {
            t.record(s, true, &ledger);
        }
        assert_eq!(
            (t.unique, t.duplicates, t.out_of_order, t.foreign),
            (5, 1, 1, 1)
        );
        assert_eq!(t.missing(10, &ledger), 5);
    }

    #[test]
    fn strays_are_counted_and_never_received() {
        // Due the even seqs only; 3 comes, unasked, and 4 never does.
        let ledger = sequential(6);
        let mut t = Tally::new(6);
        for s in [0, 3, 2, 3] {
            let wanted = s % 2 == 0;
            t.record(s, wanted, &ledger);
        }
        assert_eq!((t.unique, t.strays, t.duplicates), (2, 2, 0));
        assert_eq!(t.missing(3, &ledger), 1);
    }

    #[test]
    fn refused_publishes_are_not_missing() {
        let ledger = Ledger::new(3);
        for (s, ok) in [(0, true), (1, false), (2, true)] {
            ledger.sending(s);
            ledger.answered(s, ok);
        }
        // 1 was refused yet arrived: it does not count against the two due.
        let mut t = Tally::new(3);
        t.record(1, true, &ledger);
        t.record(2, true, &ledger);
        assert_eq!(t.missing(2, &ledger), 1);
    }

    #[test]
    fn concurrent_publishes_are_not_ordered() {
        // 1 and 2 were in flight together: either order is fine, but 0 was
        // answered before 2 was sent.
        let ledger = Ledger::new(3);
        ledger.sending(0);
        ledger.answered(0, true);
        ledger.sending(1);
        ledger.sending(2);
        ledger.answered(2, true);
        ledger.answered(1, true);
        let mut t = Tally::new(3);
        for s in [2, 1, 0] {
            t.record(s, true, &ledger);
        }
        assert_eq!(t.out_of_order, 1);
    }
}
