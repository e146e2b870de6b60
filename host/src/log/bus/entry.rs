//! A bus entry as the nodes write it (format `v2`, see the
//! [bus docs](super)): its id carries the seq, its fields the event.

use redis::Value;
use redis::streams::StreamId;
use tidings_core::topic::Topic;
use tidings_core::{Event, Kind, SuppliedId};

use super::BusError;
use crate::log::history::Record;

pub(super) fn seq_of(id: &str) -> Result<u64, BusError> {
    id.strip_prefix("0-")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| BusError::Corrupt(format!("entry id {id:?}")))
}

pub(super) fn record_of(entry: &StreamId) -> Result<Record, BusError> {
    let seq = seq_of(&entry.id)?;
    let event = event_of(entry).ok_or_else(|| BusError::Corrupt(format!("entry {}", entry.id)))?;
    Ok(Record { seq, event })
}

/// The event of an entry, if every field is one a node writes.
fn event_of(entry: &StreamId) -> Option<Event> {
    // `None`: absent; `Some(None)`: present but not text.
    let field = |name: &str| match entry.map.get(name) {
        None => Some(None),
        Some(Value::BulkString(b)) => std::str::from_utf8(b).ok().map(Some),
        Some(_) => None,
    };
    let kind = match field("k")? {
        Some(k) => Some(Kind::new(k).ok()?),
        None => None,
    };
    let data = field("d")??;
    let topics = match field("t")? {
        Some(t) => t
            .split('\n')
            .map(|t| Topic::new(t).ok())
            .collect::<Option<Vec<_>>>()?,
        None => Vec::new(),
    };
    let private = match field("p")? {
        None => false,
        Some("1") => true,
        Some(_) => return None,
    };
    let id = match field("i")? {
        Some(i) => Some(SuppliedId::new(i).ok()?),
        None => None,
    };
    let retry = match field("r")? {
        Some(r) if r.bytes().all(|b| b.is_ascii_digit()) => Some(r.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    Some(
        Event::untyped(data)
            .with_kind(kind)
            .with_topics(topics)
            .private(private)
            .with_supplied_id(id)
            .with_retry(retry),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_carry_the_seq() {
        assert_eq!(seq_of("0-42").unwrap(), 42);
        for bad in ["1-42", "0-", "42", "0-x"] {
            assert!(seq_of(bad).is_err(), "{bad}");
        }
    }

    fn entry(fields: &[(&str, &[u8])]) -> StreamId {
        StreamId {
            id: "0-7".into(),
            map: fields
                .iter()
                .map(|(k, v)| (k.to_string(), Value::BulkString(v.to_vec())))
                .collect(),
            ..StreamId::default()
        }
    }

    #[test]
    fn entries_become_records() {
        let r = record_of(&entry(&[("k", b"note"), ("d", b"{}")])).unwrap();
        assert_eq!(r.seq, 7);
        assert_eq!(r.event, Event::new(Kind::new("note").unwrap(), "{}"));
        let full = entry(&[
            ("d", b"x"),
            ("t", b"https://ex.com/a\n/b"),
            ("p", b"1"),
            ("i", b"order-1"),
            ("r", b"2500"),
        ]);
        let r = record_of(&full).unwrap();
        assert_eq!(r.event.kind, None);
        assert_eq!(r.event.topics.len(), 2);
        assert!(r.event.private);
        assert_eq!(r.event.supplied_id.unwrap().as_str(), "order-1");
        assert_eq!(r.event.retry, Some(2500));
        for bad in [
            entry(&[("k", b"bad\x01kind"), ("d", b"{}")]),
            entry(&[("k", b"note"), ("d", &[0xff])]),
            entry(&[("k", b"note")]),
            entry(&[("d", b""), ("p", b"yes")]),
            entry(&[("d", b""), ("t", b"a\n\nb")]),
            entry(&[("d", b""), ("i", b"#frag")]),
            entry(&[("d", b""), ("r", b"-1")]),
        ] {
            assert!(record_of(&bad).is_err(), "{bad:?}");
        }
    }
}
