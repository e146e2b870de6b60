//! Encoder to parser (`core/src/wire/`): events built from the input (any
//! data; ids and types without CR, LF or NUL), with comments and retry
//! blocks between them, encoded by the core's encoder and parsed back in
//! chunks cut where the input says.
//!
//! Properties: the encoder accepts every such event, `event_frame` and
//! `encode_event` write the same bytes, and the parser gives back exactly
//! the encoded events: the type (`message` when none or empty), the data
//! with CRLF and lone CR turned into LF, the id, the stream's last id, and
//! the last retry; nothing is left pending. A field with CR, LF or NUL is
//! refused and leaves the buffer untouched.

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tidings_core::wire::{
    ParsedEvent, Parser, WireError, encode_comment, encode_event, encode_retry, event_frame,
};
use tidings_fuzz::chunks;

#[derive(Debug, Arbitrary)]
enum Block {
    Event {
        id: Option<String>,
        event: Option<String>,
        data: String,
    },
    Comment(String),
    Retry(u64),
}

/// `text` with CR, LF and NUL removed: a valid id or type.
fn field(text: &str) -> String {
    text.replace(['\r', '\n', '\0'], "")
}

fn normalised(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

fn check(u: &mut Unstructured<'_>) -> Result<()> {
    let blocks: Vec<Block> = u.arbitrary()?;
    let cuts: Vec<u16> = u.arbitrary()?;
    let mut out = BytesMut::new();
    let mut expected = Vec::new();
    let mut last_id = String::new();
    let mut retry = None;
    for block in &blocks {
        match block {
            Block::Event { id, event, data } => {
                let before = out.len();
                // The raw fields are refused exactly when they hold CR, LF or NUL.
                let raw = encode_event(&mut out, id.as_deref(), event.as_deref(), data);
                let bad_id = id.as_deref().is_some_and(|i| i != field(i));
                let bad_event = event.as_deref().is_some_and(|e| e != field(e));
                match raw {
                    Ok(()) => assert!(!bad_id && !bad_event),
                    Err(WireError::InvalidId) => assert!(bad_id),
                    Err(WireError::InvalidEvent) => assert!(!bad_id && bad_event),
                    Err(other) => panic!("unexpected {other}"),
                }
                if raw.is_err() {
                    assert_eq!(out.len(), before, "a refused event wrote nothing");
                }
                out.truncate(before);
                let id = id.as_deref().map(field);
                let event = event.as_deref().map(field);
                encode_event(&mut out, id.as_deref(), event.as_deref(), data)
                    .expect("valid fields encode");
                let frame = event_frame(id.as_deref(), event.as_deref(), data).unwrap();
                assert_eq!(&out[before..], &frame[..]);
                if let Some(id) = &id {
                    last_id.clone_from(id);
                }
                expected.push(ParsedEvent {
                    event: match event {
                        Some(e) if !e.is_empty() => e,
                        _ => "message".to_owned(),
                    },
                    data: normalised(data),
                    id,
                    last_event_id: last_id.clone(),
                });
            }
            Block::Comment(text) => {
                let clean = text.replace(['\r', '\n'], "");
                let before = out.len();
                if clean != *text {
                    assert_eq!(
                        encode_comment(&mut out, text),
                        Err(WireError::InvalidComment)
                    );
                    assert_eq!(out.len(), before);
                }
                encode_comment(&mut out, &clean).unwrap();
            }
            Block::Retry(ms) => {
                encode_retry(&mut out, *ms);
                retry = Some(*ms);
            }
        }
    }
    let mut parser = Parser::new();
    let mut got = Vec::new();
    for piece in chunks(&out, &cuts) {
        parser
            .feed(piece, &mut got)
            .expect("the encoder's output parses");
    }
    assert_eq!(got, expected);
    assert_eq!(parser.last_event_id(), last_id);
    assert_eq!(parser.retry(), retry);
    assert!(!parser.finish(), "every encoded block is closed");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = check(&mut Unstructured::new(data));
});
