//! The durable history of a single node: every stored event is written to
//! the node's storage before it is delivered, so a restarted node keeps its
//! epoch and its ring and clients resume without a reset.
//!
//! # Layout
//!
//! - `history/epoch` holds the epoch token.
//! - `history/<epoch>/<first seq, 20 digits>.seg` are the segments. A new
//!   segment is created whole; later batches are appended where the backend
//!   can (fs: segments of up to 1024 events or 1 MiB), else the segment is
//!   rewritten from memory (S3: up to 128 events or 256 KiB, so a rewrite
//!   stays cheap). Segments no longer needed to refill the ring are deleted,
//!   so the history is bounded.
//! - With `memory` storage nothing would outlive the process, so nothing is
//!   written.
//!
//! Records are as [`record`](crate::log::record) describes (topics, the
//! private flag and supplied ids included; histories of the previous
//! record version still load).
//!
//! # Failure
//!
//! A failed write leaves its batch undelivered (the caller answers 503) and
//! closes the segment; the next batch reuses those seqs in a new segment,
//! whose first seq supersedes whatever the failed write left behind.
//!
//! At load, a segment that starts past the end of the previous one cuts the
//! history to what follows the gap (older ids then get `history_exceeded`).
//! A corrupt or truncated record at the end of the newest segment means the
//! true head is unknown, so reusing its seqs could hand a client a different
//! event under an id it already saw: the node logs it and starts a new
//! epoch (clients get `unknown_epoch` and resynchronise). Load never fails
//! on bad content; only an unreachable store is an error.

use std::collections::VecDeque;

use tidings_core::Epoch;

pub use crate::log::record::Record;
use crate::log::record::{decode, encode};
use crate::storage::{StorageError, Store};

/// Most events in one segment, and size past which it is closed, on a
/// backend that appends.
const APPENDED: (usize, usize) = (1024, 1 << 20);
/// The same where every write rewrites the segment.
const REWRITTEN: (usize, usize) = (128, 256 << 10);

const EPOCH_PATH: &str = "history/epoch";

/// What [`load`] found.
#[derive(Debug)]
pub struct Loaded {
    /// The epoch to continue (or a new one).
    pub epoch: Epoch,
    /// The seq the next event gets.
    pub next_seq: u64,
    /// The newest events, contiguous and oldest first, ending at
    /// `next_seq - 1` (at most the retention asked for).
    pub events: Vec<Record>,
}

impl Loaded {
    /// A new, empty history named `epoch`.
    pub fn fresh(epoch: Epoch) -> Loaded {
        Loaded {
            epoch,
            next_seq: 1,
            events: Vec::new(),
        }
    }
}

fn segment_dir(epoch: &Epoch) -> String {
    format!("history/{epoch}/")
}

fn segment_path(epoch: &Epoch, first: u64) -> String {
    format!("history/{epoch}/{first:020}.seg")
}

/// Reads the history on `store`: its epoch and its newest `retain` events.
/// Without a history, or when it cannot be trusted (see the module docs),
/// returns `fresh` with no events.
pub async fn load(store: &Store, retain: usize, fresh: Epoch) -> Result<Loaded, StorageError> {
    let start_over = |why: &str| {
        tracing::warn!(epoch = %fresh, why, "history not resumed: starting a new epoch");
        Loaded::fresh(fresh.clone())
    };
    let Some(token) = store.read_bytes(EPOCH_PATH).await? else {
        return Ok(Loaded::fresh(fresh));
    };
    let Some(epoch) = std::str::from_utf8(&token)
        .ok()
        .and_then(|t| Epoch::new(t.trim()).ok())
    else {
        return Ok(start_over("history/epoch is corrupt"));
    };
    let mut firsts: Vec<u64> = store
        .list_names(&segment_dir(&epoch))
        .await?
        .iter()
        .filter_map(|name| name.strip_suffix(".seg")?.parse().ok())
        .collect();
    firsts.sort_unstable();
    let mut events: VecDeque<Record> = VecDeque::new();
    let mut clean_end = true;
    for &first in &firsts {
        // A segment that vanished since the listing was pruned: skip it.
        let Some(bytes) = store.read_bytes(&segment_path(&epoch, first)).await? else {
            continue;
        };
        let (records, clean) = decode(&bytes, first);
        if !clean {
            tracing::warn!(%epoch, first, kept = records.len(), "history segment has a bad record; the rest of it is skipped");
        }
        let next = events.back().map_or(first, |r| r.seq + 1);
        if first > next {
            tracing::warn!(%epoch, missing_from = next, missing_to = first - 1, "history has a gap; older events are dropped");
            events.clear();
        }
        // A later segment supersedes what a failed write left at the end of
        // the one before.
        while events.back().is_some_and(|r| r.seq >= first) {
            events.pop_back();
        }
        events.extend(records);
        clean_end = clean;
        while events.len() > retain.max(1) {
            events.pop_front();
        }
    }
    if !clean_end {
        return Ok(start_over(
            "the newest history segment ends in a corrupt or truncated record",
        ));
    }
    let next_seq = events.back().map_or(1, |r| r.seq + 1);
    tracing::info!(%epoch, events = events.len(), next_seq, "history loaded");
    Ok(Loaded {
        epoch,
        next_seq,
        events: events.into(),
    })
}

/// The open segment.
#[derive(Debug)]
struct Segment {
    first: u64,
    events: usize,
    size: usize,
    /// The whole segment, kept only when the backend cannot append.
    bytes: Vec<u8>,
}

/// Writes batches of events to the history. One writer per node.
#[derive(Debug)]
pub struct Writer {
    store: Store,
    epoch: Epoch,
    retain: usize,
    durable: bool,
    append: bool,
    /// Most events and bytes of a segment.
    limits: (usize, usize),
    epoch_written: bool,
    open: Option<Segment>,
    /// First seq and event count of the closed segments still kept.
    closed: VecDeque<(u64, usize)>,
}

impl Writer {
    /// A writer continuing `epoch` on `store`, keeping about `retain` events.
    pub fn new(store: Store, epoch: Epoch, retain: usize) -> Writer {
        let append = store.can_append();
        Writer {
            durable: store.is_durable(),
            append,
            limits: if append { APPENDED } else { REWRITTEN },
            store,
            epoch,
            retain: retain.max(1),
            epoch_written: false,
            open: None,
            closed: VecDeque::new(),
        }
    }

    /// The epoch written to.
    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }

    /// Writes `records` (contiguous, following what was written before or
    /// replacing a failed batch); returns once they are on the backend.
    pub async fn write(&mut self, records: &[Record]) -> Result<(), StorageError> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        if !self.durable {
            return Ok(());
        }
        let result = self.try_write(first.seq, records).await;
        if result.is_err() {
            // What the backend holds of this batch is unknown: the next
            // batch starts a new segment that supersedes it.
            if let Some(seg) = self.open.take()
                && seg.events > 0
            {
                self.closed.push_back((seg.first, seg.events));
            }
        }
        result
    }

    async fn try_write(&mut self, first_seq: u64, records: &[Record]) -> Result<(), StorageError> {
        if !self.epoch_written {
            self.start_epoch().await?;
        }
        let mut buf = Vec::new();
        for r in records {
            encode(&mut buf, r.seq, &r.event);
        }
        let full = self
            .open
            .as_ref()
            .is_some_and(|s| s.events >= self.limits.0 || s.size >= self.limits.1);
        if full {
            let seg = self.open.take().expect("checked");
            self.closed.push_back((seg.first, seg.events));
        }
        match &mut self.open {
            Some(seg) => {
                let path = segment_path(&self.epoch, seg.first);
                if self.append {
                    self.store.append_bytes(&path, buf.clone()).await?;
                } else {
                    let mut whole = seg.bytes.clone();
                    whole.extend_from_slice(&buf);
                    self.store.write_bytes(&path, whole.clone()).await?;
                    seg.bytes = whole;
                }
                seg.events += records.len();
                seg.size += buf.len();
            }
            None => {
                let path = segment_path(&self.epoch, first_seq);
                // Created whole: replaces anything a failed write left under
                // the same name.
                self.store.write_bytes(&path, buf.clone()).await?;
                self.open = Some(Segment {
                    first: first_seq,
                    events: records.len(),
                    size: buf.len(),
                    bytes: if self.append { Vec::new() } else { buf },
                });
                self.prune().await;
            }
        }
        Ok(())
    }

    /// Names the epoch on the backend and removes other epochs' segments.
    async fn start_epoch(&mut self) -> Result<(), StorageError> {
        let current = store_epoch(&self.store).await?;
        if current.as_deref() != Some(self.epoch.as_str()) {
            self.store
                .write_bytes(EPOCH_PATH, self.epoch.as_str().as_bytes().to_vec())
                .await?;
            if let Some(old) = current
                && let Err(e) = self.store.delete_dir(&format!("history/{old}/")).await
            {
                tracing::warn!(error = %e, "old history not removed");
            }
        } else {
            // Continuing: the segments already there are pruned in turn.
            let mut firsts: Vec<u64> = self
                .store
                .list_names(&segment_dir(&self.epoch))
                .await?
                .iter()
                .filter_map(|name| name.strip_suffix(".seg")?.parse().ok())
                .collect();
            firsts.sort_unstable();
            let counts: Vec<usize> = firsts
                .windows(2)
                .map(|w| usize::try_from(w[1] - w[0]).unwrap_or(usize::MAX))
                .chain(std::iter::once(self.limits.0))
                .collect();
            self.closed = firsts.into_iter().zip(counts).collect();
        }
        self.epoch_written = true;
        Ok(())
    }

    /// Deletes the oldest closed segments while the rest still hold
    /// `retain` events.
    async fn prune(&mut self) {
        let open = self.open.as_ref().map_or(0, |s| s.events);
        let mut kept: usize = open + self.closed.iter().map(|c| c.1).sum::<usize>();
        while let Some(&(first, events)) = self.closed.front() {
            if kept.saturating_sub(events) < self.retain {
                break;
            }
            if let Err(e) = self
                .store
                .delete_object(&segment_path(&self.epoch, first))
                .await
            {
                tracing::warn!(error = %e, first, "old history segment not removed");
                break;
            }
            kept -= events;
            self.closed.pop_front();
        }
    }
}

async fn store_epoch(store: &Store) -> Result<Option<String>, StorageError> {
    Ok(store
        .read_bytes(EPOCH_PATH)
        .await?
        .and_then(|b| String::from_utf8(b).ok())
        .map(|s| s.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use tidings_core::{Event, Kind};

    use super::*;
    use crate::storage::StorageUrl;

    fn records(from: u64, n: u64) -> Vec<Record> {
        (from..from + n)
            .map(|seq| Record {
                seq,
                event: Event::new(Kind::new("note").unwrap(), format!("{{\"n\":{seq}}}")),
            })
            .collect()
    }

    fn fs_store(dir: &std::path::Path) -> Store {
        Store::open(&StorageUrl::Fs(dir.to_path_buf())).unwrap()
    }

    fn epoch(s: &str) -> Epoch {
        Epoch::new(s).unwrap()
    }

    #[test]
    fn records_round_trip_and_corruption_is_detected() {
        let mut buf = Vec::new();
        for r in records(5, 3) {
            encode(&mut buf, r.seq, &r.event);
        }
        assert_eq!(decode(&buf, 5), (records(5, 3), true));
        // Truncated anywhere inside the last record: the first two survive.
        for cut in 1..20 {
            let (got, clean) = decode(&buf[..buf.len() - cut], 5);
            assert_eq!((got, clean), (records(5, 2), false), "cut {cut}");
        }
        // A flipped bit is caught by the checksum.
        let mut flipped = buf.clone();
        let at = flipped.len() - 3;
        flipped[at] ^= 1;
        assert_eq!(decode(&flipped, 5), (records(5, 2), false));
        // A record out of sequence is refused.
        assert_eq!(decode(&buf, 6), (vec![], false));
    }

    #[tokio::test]
    async fn written_batches_load_back_bounded_by_retention() {
        for append in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let store = fs_store(dir.path());
            let mut w = Writer::new(store.clone(), epoch("e1"), 1500);
            if !append {
                // As on S3: every write rewrites the segment.
                w.append = false;
                w.limits = REWRITTEN;
            }
            let mut seq = 1;
            while seq <= 3000 {
                w.write(&records(seq, 100)).await.unwrap();
                seq += 100;
            }
            let loaded = load(&store, 1500, epoch("fresh")).await.unwrap();
            assert_eq!(loaded.epoch, epoch("e1"));
            assert_eq!(loaded.next_seq, 3001);
            assert_eq!(loaded.events, records(1501, 1500));
            // Pruned: segments beyond what refills the ring are gone.
            let segments = store.list_names("history/e1/").await.unwrap().len();
            let most = if append { 3 } else { 1500 / 128 + 2 };
            assert!(segments <= most, "{segments} segments kept");
        }
    }

    #[tokio::test]
    async fn memory_storage_writes_nothing() {
        let store = Store::open(&StorageUrl::Memory).unwrap();
        let mut w = Writer::new(store.clone(), epoch("e1"), 100);
        w.write(&records(1, 10)).await.unwrap();
        assert!(store.read_bytes(EPOCH_PATH).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_continued_history_appends_to_new_segments() {
        let dir = tempfile::tempdir().unwrap();
        let store = fs_store(dir.path());
        let mut w = Writer::new(store.clone(), epoch("e1"), 100);
        w.write(&records(1, 10)).await.unwrap();
        let loaded = load(&store, 100, epoch("fresh")).await.unwrap();
        let mut w = Writer::new(store.clone(), loaded.epoch, 100);
        w.write(&records(loaded.next_seq, 5)).await.unwrap();
        let again = load(&store, 100, epoch("fresh")).await.unwrap();
        assert_eq!(again.events, records(1, 15));
    }

    #[tokio::test]
    async fn a_truncated_tail_starts_a_new_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let store = fs_store(dir.path());
        let mut w = Writer::new(store.clone(), epoch("e1"), 100);
        w.write(&records(1, 10)).await.unwrap();
        let path = dir.path().join("history/e1/00000000000000000001.seg");
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 7)
            .unwrap();
        let loaded = load(&store, 100, epoch("fresh")).await.unwrap();
        assert_eq!((loaded.epoch, loaded.next_seq), (epoch("fresh"), 1));
        assert!(loaded.events.is_empty());
        // Writing the new epoch replaces the old history.
        let mut w = Writer::new(store.clone(), epoch("fresh"), 100);
        w.write(&records(1, 2)).await.unwrap();
        assert!(
            !dir.path()
                .join("history/e1")
                .join("00000000000000000001.seg")
                .exists()
        );
        assert_eq!(
            load(&store, 100, epoch("x")).await.unwrap().events,
            records(1, 2)
        );
    }

    #[tokio::test]
    async fn a_later_segment_supersedes_a_failed_tail_and_a_gap_cuts_history() {
        let store = Store::open(&StorageUrl::Memory).unwrap();
        let e = epoch("e1");
        store.write_bytes(EPOCH_PATH, b"e1".to_vec()).await.unwrap();
        let seg = |first: u64, recs: Vec<Record>| {
            let mut buf = Vec::new();
            for r in recs {
                encode(&mut buf, r.seq, &r.event);
            }
            (segment_path(&e, first), buf)
        };
        // 1..=8, then a batch 9..=10 that failed (torn), retried in a new
        // segment from 9.
        let (p1, mut b1) = seg(1, records(1, 10));
        b1.truncate(b1.len() - 5);
        store.write_bytes(&p1, b1).await.unwrap();
        let (p2, b2) = seg(9, records(9, 4));
        store.write_bytes(&p2, b2).await.unwrap();
        let loaded = load(&store, 100, epoch("fresh")).await.unwrap();
        assert_eq!(loaded.events, records(1, 12));

        // A missing segment: only what follows the gap is kept.
        let (p3, b3) = seg(20, records(20, 3));
        store.write_bytes(&p3, b3).await.unwrap();
        let loaded = load(&store, 100, epoch("fresh")).await.unwrap();
        assert_eq!((loaded.epoch, loaded.events), (e, records(20, 3)));
    }

    #[tokio::test]
    async fn garbage_in_the_history_never_fails_the_load() {
        let store = Store::open(&StorageUrl::Memory).unwrap();
        store
            .write_bytes(EPOCH_PATH, b"not an epoch!".to_vec())
            .await
            .unwrap();
        let loaded = load(&store, 10, epoch("fresh")).await.unwrap();
        assert_eq!(loaded.epoch, epoch("fresh"));
        store.write_bytes(EPOCH_PATH, b"e1".to_vec()).await.unwrap();
        store
            .write_bytes("history/e1/00000000000000000001.seg", vec![0xff; 64])
            .await
            .unwrap();
        store
            .write_bytes("history/e1/stray.txt", b"x".to_vec())
            .await
            .unwrap();
        let loaded = load(&store, 10, epoch("fresh")).await.unwrap();
        assert_eq!(loaded.epoch, epoch("fresh"));
    }
}
