//! Round-trip properties holding the SSE encoder and parser to each other.

use bytes::BytesMut;
use proptest::prelude::*;
use tidings_core::wire::{
    ParsedEvent, Parser, WireError, encode_comment, encode_event, encode_retry, event_frame,
    parse_all,
};

/// Payloads made mostly of the pieces that stress line splitting and
/// decoding: every kind of line break, NUL, multi-byte characters, and empty
/// pieces, with arbitrary characters mixed in.
fn data() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => Just("\r"),
        3 => Just("\n"),
        3 => Just("\r\n"),
        1 => Just("\n\r"),
        1 => Just("\0"),
        1 => Just(""),
        1 => Just(" "),
        1 => Just(":"),
        1 => Just("é"),
        1 => Just("日"),
        1 => Just("🦀"),
        1 => Just("\u{FEFF}"),
        2 => Just("data: x"),
        2 => Just("abc"),
    ]
    .prop_map(str::to_owned);
    let any = any::<char>().prop_map(String::from);
    proptest::collection::vec(prop_oneof![4 => piece, 1 => any], 0..24)
        .prop_map(|pieces| pieces.concat())
}

/// Ids and event types the encoder accepts: anything without CR, LF or NUL,
/// leaning on spaces, colons and non-ASCII.
fn field() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(" ".to_owned()),
        Just(":".to_owned()),
        Just("é".to_owned()),
        Just("日".to_owned()),
        Just("🦀".to_owned()),
        Just("id".to_owned()),
        r"[^\r\n\x00]",
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// A string containing at least one of CR, LF or NUL.
fn bad_field() -> impl Strategy<Value = String> {
    (
        field(),
        prop_oneof![Just("\r"), Just("\n"), Just("\0"), Just("\r\n")],
        field(),
    )
        .prop_map(|(before, bad, after)| format!("{before}{bad}{after}"))
}

/// Bytes biased towards the ones the parser treats specially, so that
/// arbitrary input still forms fields, comments, blank lines and BOMs.
fn stream_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(&b"data:idevntry \r\n\0\xEF\xBB\xBF"[..]),
        1 => any::<u8>(),
    ]
}

fn normalise(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

#[derive(Debug, Clone)]
enum Block {
    Event {
        id: Option<String>,
        event: Option<String>,
        data: String,
    },
    Retry(u64),
    Comment(String),
}

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![
        6 => (proptest::option::of(field()), proptest::option::of(field()), data())
            .prop_map(|(id, event, data)| Block::Event { id, event, data }),
        1 => any::<u64>().prop_map(Block::Retry),
        1 => field().prop_map(Block::Comment),
    ]
}

fn encode_blocks(blocks: &[Block]) -> BytesMut {
    let mut out = BytesMut::new();
    for block in blocks {
        match block {
            Block::Event { id, event, data } => {
                encode_event(&mut out, id.as_deref(), event.as_deref(), data).unwrap()
            }
            Block::Retry(ms) => encode_retry(&mut out, *ms),
            Block::Comment(text) => encode_comment(&mut out, text).unwrap(),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn one_event_round_trips(
        id in proptest::option::of(field()),
        event in proptest::option::of(field()),
        data in data(),
    ) {
        let frame = event_frame(id.as_deref(), event.as_deref(), &data).unwrap();
        let events = parse_all(&frame).unwrap();
        let expected_event = match event.as_deref() {
            None | Some("") => "message".to_owned(),
            Some(event) => event.to_owned(),
        };
        prop_assert_eq!(
            events,
            vec![ParsedEvent {
                event: expected_event,
                data: normalise(&data),
                last_event_id: id.clone().unwrap_or_default(),
                id,
            }]
        );
    }

    #[test]
    fn chunked_feed_matches_whole_feed(
        blocks in proptest::collection::vec(block(), 0..6),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ending in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
    ) {
        // Encoded lines hold no CR or LF of their own, so every LF is a line
        // break and may be swapped for any other: the parser must not care.
        let bytes = encode_blocks(&blocks);
        let lf_whole = parse_all(&bytes).unwrap();
        let bytes = String::from_utf8(bytes.to_vec()).unwrap().replace('\n', ending).into_bytes();
        let whole = parse_all(&bytes).unwrap();
        prop_assert_eq!(&whole, &lf_whole);

        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut parser = Parser::new();
        let mut chunked = Vec::new();
        for pair in cuts.windows(2) {
            parser.feed(&bytes[pair[0]..pair[1]], &mut chunked).unwrap();
        }
        prop_assert_eq!(&chunked, &whole);

        // Every event block comes back, in order, with ids carried over.
        let mut last_id = String::new();
        let mut expected = Vec::new();
        let mut retry = None;
        for block in &blocks {
            match block {
                Block::Event { id, event, data } => {
                    if let Some(id) = id {
                        last_id.clone_from(id);
                    }
                    expected.push(ParsedEvent {
                        event: event.clone().filter(|e| !e.is_empty()).unwrap_or_else(|| "message".to_owned()),
                        data: normalise(data),
                        id: id.clone(),
                        last_event_id: last_id.clone(),
                    });
                }
                Block::Retry(ms) => retry = Some(*ms),
                Block::Comment(_) => {}
            }
        }
        prop_assert_eq!(&whole, &expected);
        prop_assert_eq!(parser.retry(), retry);
        prop_assert_eq!(parser.last_event_id(), last_id.as_str());
        prop_assert!(!parser.finish(), "encoded blocks leave nothing pending");
    }

    #[test]
    fn bad_id_or_event_is_refused_and_out_unchanged(
        prefix in data(),
        bad in bad_field(),
        good in proptest::option::of(field()),
        data in data(),
    ) {
        let mut out = BytesMut::from(prefix.as_bytes());
        prop_assert_eq!(
            encode_event(&mut out, Some(&bad), good.as_deref(), &data),
            Err(WireError::InvalidId)
        );
        prop_assert_eq!(
            encode_event(&mut out, good.as_deref(), Some(&bad), &data),
            Err(WireError::InvalidEvent)
        );
        prop_assert_eq!(&out[..], prefix.as_bytes());
        prop_assert_eq!(event_frame(Some(&bad), None, &data), Err(WireError::InvalidId));
        prop_assert_eq!(event_frame(None, Some(&bad), &data), Err(WireError::InvalidEvent));
    }

    #[test]
    fn comment_with_line_break_is_refused(
        before in field(),
        brk in prop_oneof![Just("\r"), Just("\n"), Just("\r\n")],
        after in field(),
    ) {
        let mut out = BytesMut::from(&b"data: x\n\n"[..]);
        let text = format!("{before}{brk}{after}");
        prop_assert_eq!(encode_comment(&mut out, &text), Err(WireError::InvalidComment));
        prop_assert_eq!(&out[..], b"data: x\n\n");
    }

    #[test]
    fn arbitrary_bytes_parse_the_same_however_split(
        bytes in proptest::collection::vec(stream_byte(), 0..256),
        split in any::<prop::sample::Index>(),
    ) {
        let whole = parse_all(&bytes).unwrap();
        let at = split.index(bytes.len() + 1);
        let mut parser = Parser::new();
        let mut chunked = Vec::new();
        parser.feed(&bytes[..at], &mut chunked).unwrap();
        parser.feed(&bytes[at..], &mut chunked).unwrap();
        prop_assert_eq!(&chunked, &whole);

        let mut parser = Parser::new();
        let mut bytewise = Vec::new();
        for byte in &bytes {
            parser.feed(std::slice::from_ref(byte), &mut bytewise).unwrap();
        }
        prop_assert_eq!(&bytewise, &whole);
    }
}
