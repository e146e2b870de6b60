//! One stored event as the durable history writes it: the record format.
//!
//! A record is `len: u32 LE | crc32(payload): u32 LE | payload`. Two
//! payload versions exist, told apart by the byte after the seq:
//!
//! - **v1** (written before topics existed; still read):
//!   `seq: u64 LE | kind length: u8 (1..=64) | kind | data`.
//! - **v2** (written now): `seq: u64 LE | 0xFF | flags: u8 | [kind length:
//!   u8 | kind] | [id length: u16 LE | id] | [retry: u64 LE] | topic count:
//!   u16 LE | (topic length: u16 LE | topic)* | data`. Flag bits: 1
//!   private, 2 has a kind, 4 has a publisher-supplied id, 8 has a retry;
//!   every other bit set refuses the record.
//!
//! Every field is checked again on the way in (kind, id and topic rules),
//! so a record that decodes is an event the server could have accepted,
//! and it re-encodes to the same bytes.

use tidings_core::topic::Topic;
use tidings_core::{Event, Kind, SuppliedId};

/// The record header: length and checksum.
pub const HEADER: usize = 8;

/// The byte after the seq that marks a v2 payload (no v1 kind is that long).
const V2: u8 = 0xFF;
const PRIVATE: u8 = 1;
const HAS_KIND: u8 = 2;
const HAS_ID: u8 = 4;
const HAS_RETRY: u8 = 8;

/// One event as written to (and read from) the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its seq in the epoch.
    pub seq: u64,
    /// The event: kind, data, topics, private flag and supplied id.
    pub event: Event,
}

/// Appends the encoded record of `event` at `seq` to `out`.
pub fn encode(out: &mut Vec<u8>, seq: u64, event: &Event) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.push(V2);
    let mut flags = 0;
    if event.private {
        flags |= PRIVATE;
    }
    if event.kind.is_some() {
        flags |= HAS_KIND;
    }
    if event.supplied_id.is_some() {
        flags |= HAS_ID;
    }
    if event.retry.is_some() {
        flags |= HAS_RETRY;
    }
    out.push(flags);
    if let Some(kind) = &event.kind {
        // Kinds are at most 128 bytes, ids 256 and topics 1024 (checked
        // when they were made), so every length fits its field.
        out.push(kind.as_str().len() as u8);
        out.extend_from_slice(kind.as_str().as_bytes());
    }
    if let Some(id) = &event.supplied_id {
        out.extend_from_slice(&(id.as_str().len() as u16).to_le_bytes());
        out.extend_from_slice(id.as_str().as_bytes());
    }
    if let Some(ms) = event.retry {
        out.extend_from_slice(&ms.to_le_bytes());
    }
    out.extend_from_slice(&(event.topics.len() as u16).to_le_bytes());
    for topic in &event.topics {
        out.extend_from_slice(&(topic.as_str().len() as u16).to_le_bytes());
        out.extend_from_slice(topic.as_str().as_bytes());
    }
    out.extend_from_slice(event.data.as_bytes());
    let payload = &out[start + HEADER..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// The records of one segment, up to the first bad one; the flag says
/// whether the segment ended cleanly.
pub fn decode(bytes: &[u8], first: u64) -> (Vec<Record>, bool) {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        // Past a record at `u64::MAX` no seq is left: the segment ends there.
        let Some(expected) = first.checked_add(records.len() as u64) else {
            return (records, false);
        };
        let Some((used, record)) = decode_one(&bytes[at..], expected) else {
            return (records, false);
        };
        at += used;
        records.push(record);
    }
    (records, true)
}

/// The record at the start of `bytes`, and its length, if it is whole,
/// intact and has `expected_seq`.
fn decode_one(bytes: &[u8], expected_seq: u64) -> Option<(usize, Record)> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..HEADER)?.try_into().ok()?);
    let payload = bytes.get(HEADER..HEADER.checked_add(len)?)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let mut r = Reader(payload);
    let seq = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
    (seq == expected_seq).then_some(())?;
    let event = match r.byte()? {
        V2 => decode_v2(r)?,
        kind_len => {
            let kind = Kind::new(r.text(usize::from(kind_len))?).ok()?;
            Event::new(kind, r.rest()?)
        }
    };
    Some((HEADER + len, Record { seq, event }))
}

fn decode_v2(mut r: Reader<'_>) -> Option<Event> {
    let flags = r.byte()?;
    if flags & !(PRIVATE | HAS_KIND | HAS_ID | HAS_RETRY) != 0 {
        return None;
    }
    let kind = if flags & HAS_KIND != 0 {
        let len = usize::from(r.byte()?);
        Some(Kind::new(r.text(len)?).ok()?)
    } else {
        None
    };
    let id = if flags & HAS_ID != 0 {
        let len = r.u16()?;
        Some(SuppliedId::new(r.text(len)?).ok()?)
    } else {
        None
    };
    let retry = if flags & HAS_RETRY != 0 {
        Some(u64::from_le_bytes(r.take(8)?.try_into().ok()?))
    } else {
        None
    };
    let count = r.u16()?;
    let mut topics = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let len = r.u16()?;
        topics.push(Topic::new(r.text(len)?).ok()?);
    }
    Some(
        Event::untyped(r.rest()?)
            .with_kind(kind)
            .with_supplied_id(id)
            .with_retry(retry)
            .with_topics(topics)
            .private(flags & PRIVATE != 0),
    )
}

/// Reads a payload front to back; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<usize> {
        Some(usize::from(u16::from_le_bytes(
            self.take(2)?.try_into().ok()?,
        )))
    }

    fn text(&mut self, n: usize) -> Option<&'a str> {
        std::str::from_utf8(self.take(n)?).ok()
    }

    fn rest(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.0);
        std::str::from_utf8(rest).ok().map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as the previous version wrote it.
    fn v1(seq: u64, kind: &str, data: &str) -> Vec<u8> {
        let mut payload = seq.to_le_bytes().to_vec();
        payload.push(kind.len() as u8);
        payload.extend_from_slice(kind.as_bytes());
        payload.extend_from_slice(data.as_bytes());
        let mut out = (payload.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    fn rich() -> Event {
        Event::untyped("line one\nline two")
            .with_supplied_id(Some(SuppliedId::new("order-42").unwrap()))
            .with_topics([
                Topic::new("https://example.com/books/1").unwrap(),
                Topic::new("/b/ü").unwrap(),
            ])
            .private(true)
    }

    #[test]
    fn every_field_round_trips_and_re_encodes_to_the_same_bytes() {
        let kind = Kind::new("book.updated").unwrap();
        let events = [
            rich(),
            rich().with_kind(Some(kind.clone())).with_retry(Some(1500)),
            Event::new(kind, "{}"),
            Event::untyped(""),
        ];
        let mut buf = Vec::new();
        for (seq, event) in (7..).zip(&events) {
            encode(&mut buf, seq, event);
        }
        let (records, clean) = decode(&buf, 7);
        assert!(clean);
        let got: Vec<Event> = records.iter().map(|r| r.event.clone()).collect();
        assert_eq!(got, events);
        let mut again = Vec::new();
        for r in &records {
            encode(&mut again, r.seq, &r.event);
        }
        assert_eq!(again, buf);
    }

    #[test]
    fn histories_of_the_previous_version_still_load() {
        let mut buf = v1(3, "item.created", r#"{"a":1}"#);
        buf.extend(v1(4, "note", ""));
        encode(&mut buf, 5, &rich());
        let (records, clean) = decode(&buf, 3);
        assert!(clean);
        let kinds: Vec<_> = records.iter().map(|r| r.event.kind.clone()).collect();
        assert_eq!(kinds[0], Some(Kind::new("item.created").unwrap()));
        assert_eq!(records[1].event.data, "");
        assert!(records[1].event.topics.is_empty() && !records[1].event.private);
        assert_eq!(records[2].event, rich());
    }

    #[test]
    fn a_record_after_the_last_seq_stops_the_segment() {
        // A record at seq u64::MAX, then one more: no seq is left for it.
        let segment = b"\x10\x00\x00\x00\x35\xb6\x01\x36\xff\xff\xff\xff\xff\xff\xff\xff\
            \xff\x00\x00\x00\x6c\x61\x73\x74\x13\x00\x00\x00\x38\xb4\xdf\x66\x00\x00\x00\x00\
            \x00\x00\x00\x00\xff\x00\x00\x00\x77\x72\x61\x70\x70\x65\x64";
        let (records, clean) = decode(segment, u64::MAX);
        assert!(!clean);
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].seq, records[0].event.data.as_str()),
            (u64::MAX, "last")
        );
        // The last seq alone is a clean segment.
        assert_eq!(decode(&segment[..24], u64::MAX), (records, true));
    }

    #[test]
    fn corruption_and_invalid_fields_stop_the_segment() {
        let mut good = Vec::new();
        encode(&mut good, 1, &rich());
        for cut in 1..good.len() {
            assert_eq!(decode(&good[..good.len() - cut], 1), (vec![], false));
        }
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped, 1).0, vec![]);
        // A well-formed record (checksum fixed up) with a forbidden value.
        let refit = |mut payload: Vec<u8>| {
            let mut out = (payload.len() as u32).to_le_bytes().to_vec();
            out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            out.append(&mut payload);
            out
        };
        let payload = good[HEADER..].to_vec();
        let mut unknown_flag = payload.clone();
        unknown_flag[9] |= 16;
        let mut bad_topic = payload.clone();
        let at = bad_topic.windows(5).position(|w| w == b"https").unwrap();
        bad_topic[at] = b'\n';
        for bad in [unknown_flag, bad_topic] {
            assert_eq!(decode(&refit(bad), 1), (vec![], false));
        }
    }
}
