//! The history record format (`host/src/log/record.rs`), in two modes
//! chosen by the first input byte.
//!
//! Raw (even first byte): the next eight bytes are the first seq (LE), the
//! rest a segment. Properties: `decode` never panics; records have the
//! contiguous seqs from the first; a segment is clean exactly when every
//! byte was used; each v2 record re-encodes to exactly its own bytes, and a
//! v1 record to a v2 record that decodes to the same event.
//!
//! Built (odd first byte): events made from the input (kinds, ids and
//! topics that pass the core's checks, any data) are encoded from a seq,
//! then corrupted by one burst of up to four bytes (up to 32 bits, which
//! CRC-32 always detects) and cut short where the input says. Properties:
//! the intact segment decodes to the events, cleanly; the damaged one
//! decodes to a prefix of them, never to an event that differs.

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tidings_core::topic::Topic;
use tidings_core::{Event, Kind, SuppliedId};
use tidings_fuzz::record::{self, HEADER, Record};

/// The byte after the seq of a v2 payload.
const V2: u8 = 0xFF;

fn raw(bytes: &[u8]) {
    let Some((first, segment)) = bytes.split_first_chunk::<8>() else {
        return;
    };
    let first = u64::from_le_bytes(*first);
    let (records, clean) = record::decode(segment, first);
    let mut at = 0;
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.seq, first + i as u64);
        let len = u32::from_le_bytes(segment[at..at + 4].try_into().unwrap()) as usize;
        let own = &segment[at..at + HEADER + len];
        let mut again = Vec::new();
        record::encode(&mut again, record.seq, &record.event);
        if own[HEADER + 8] == V2 {
            assert_eq!(again, own, "a v2 record re-encodes to its own bytes");
        } else {
            let (back, clean) = record::decode(&again, record.seq);
            assert!(clean);
            assert_eq!(back, [record.clone()], "a v1 record re-encodes as v2");
        }
        at += own.len();
    }
    assert_eq!(clean, at == segment.len());
}

fn event(u: &mut Unstructured<'_>) -> Result<Event> {
    let kind = Option::<String>::arbitrary(u)?.and_then(|k| Kind::new(&k).ok());
    let id = Option::<String>::arbitrary(u)?.and_then(|i| SuppliedId::new(&i).ok());
    let count = u.int_in_range(0..=4)?;
    let mut topics = Vec::new();
    for _ in 0..count {
        if let Ok(topic) = Topic::new(&String::arbitrary(u)?) {
            topics.push(topic);
        }
    }
    Ok(Event::untyped(String::arbitrary(u)?)
        .with_kind(kind)
        .with_supplied_id(id)
        .with_retry(Option::arbitrary(u)?)
        .with_topics(topics)
        .private(bool::arbitrary(u)?))
}

fn built(u: &mut Unstructured<'_>) -> Result<()> {
    let first: u64 = u.int_in_range(0..=u64::MAX - 64)?;
    let count = u.int_in_range(1..=6)?;
    let mut records = Vec::new();
    let mut segment = Vec::new();
    for seq in first..first + count {
        let event = event(u)?;
        record::encode(&mut segment, seq, &event);
        records.push(Record { seq, event });
    }
    assert_eq!(record::decode(&segment, first), (records.clone(), true));

    let mut damaged = segment.clone();
    let at = u.choose_index(damaged.len())?;
    let width = u.int_in_range(1..=4usize)?.min(damaged.len() - at);
    for byte in &mut damaged[at..at + width] {
        *byte ^= u.int_in_range(1..=255u8)?;
    }
    let cut = u.int_in_range(0..=damaged.len())?;
    for bytes in [&damaged[..], &segment[..cut], &damaged[..cut]] {
        let (got, _) = record::decode(bytes, first);
        assert!(got.len() <= records.len());
        assert_eq!(
            got,
            records[..got.len()],
            "a damaged segment yields a prefix"
        );
    }
    // The records before the burst are intact and the one it starts in
    // fails: the prefix ends exactly there.
    let (got, clean) = record::decode(&damaged, first);
    assert!(!clean);
    let mut end = 0;
    let damaged_record = records
        .iter()
        .position(|r| {
            let mut one = Vec::new();
            record::encode(&mut one, r.seq, &r.event);
            end += one.len();
            end > at
        })
        .unwrap();
    assert_eq!(
        got.len(),
        damaged_record,
        "the records before the burst survive it"
    );
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        raw(rest);
    } else {
        let _ = built(&mut Unstructured::new(rest));
    }
});
