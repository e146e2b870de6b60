//! The SSE parser (`core/src/wire/parse.rs`) on arbitrary bytes.
//!
//! Input: a control byte (low four bits: how many cut points follow; bit
//! 0x10: a small line limit, taken from the next byte), the cut points as
//! u16 LE, then the stream.
//!
//! Properties: no panic; the events dispatched, the first error, the last
//! event id, the retry and whether anything was left pending are the same
//! whether the stream is fed whole, one byte at a time or cut at the given
//! points, and through `feed` or `feed_with`; every event obeys the format
//! (a non-empty type, no CR in data, no CR, LF or NUL in ids).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::wire::{DEFAULT_MAX_LINE, ParsedEvent, Parser, WireError, parse_all};
use tidings_fuzz::chunks;

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    events: Vec<ParsedEvent>,
    error: Option<WireError>,
    /// Last id, retry and `finish()`, when no error came.
    end: Option<(String, Option<u64>, bool)>,
}

fn run(max: usize, pieces: &[&[u8]], borrowed: bool) -> Outcome {
    let mut parser = Parser::with_max_line(max);
    let mut events = Vec::new();
    for piece in pieces {
        let fed = if borrowed {
            parser.feed_with(piece, |e| events.push(e.to_owned()))
        } else {
            parser.feed(piece, &mut events)
        };
        if let Err(error) = fed {
            return Outcome {
                events,
                error: Some(error),
                end: None,
            };
        }
    }
    let end = (
        parser.last_event_id().to_owned(),
        parser.retry(),
        parser.finish(),
    );
    Outcome {
        events,
        error: None,
        end: Some(end),
    }
}

fn well_formed(event: &ParsedEvent) {
    assert!(!event.event.is_empty());
    assert!(!event.event.contains(['\r', '\n']));
    assert!(!event.data.contains('\r'));
    for id in event.id.iter().chain([&event.last_event_id]) {
        assert!(!id.contains(['\r', '\n', '\0']), "{id:?}");
    }
    if let Some(id) = &event.id {
        assert_eq!(id, &event.last_event_id);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let mut max = DEFAULT_MAX_LINE;
    if control & 0x10 != 0 {
        let Some((&limit, tail)) = rest.split_first() else {
            return;
        };
        max = usize::from(limit) + 1;
        rest = tail;
    }
    let n = usize::from(control & 0x0f);
    if rest.len() < 2 * n {
        return;
    }
    let (cut_bytes, stream) = rest.split_at(2 * n);
    let cuts: Vec<u16> = cut_bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();

    let whole = run(max, &[stream], false);
    whole.events.iter().for_each(well_formed);
    if let Some(error) = &whole.error {
        assert!(
            max < DEFAULT_MAX_LINE,
            "no fuzz input reaches the default limit: {error}"
        );
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(max, &bytes, true), whole, "fed one byte at a time");
    let cut = chunks(stream, &cuts);
    assert_eq!(run(max, &cut, true), whole, "cut at {cuts:?}");
    assert_eq!(run(max, &cut, false), whole, "cut at {cuts:?}, owned");
    if max == DEFAULT_MAX_LINE {
        assert_eq!(parse_all(stream).ok(), Some(whole.events));
    }
});
