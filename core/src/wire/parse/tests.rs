//! The parser against the WHATWG rules, case by case.

use super::*;

fn feed_chunks(chunks: &[&[u8]]) -> (Parser, Vec<ParsedEvent>) {
    let mut parser = Parser::new();
    let mut events = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut events).unwrap();
    }
    (parser, events)
}

fn parse(bytes: &[u8]) -> Vec<ParsedEvent> {
    parse_all(bytes).unwrap()
}

fn datas(events: &[ParsedEvent]) -> Vec<&str> {
    events.iter().map(|e| e.data.as_str()).collect()
}

fn every_split(bytes: &[u8]) {
    let whole = parse(bytes);
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            let (_, events) = feed_chunks(&[&bytes[..i], &bytes[i..j], &bytes[j..]]);
            assert_eq!(events, whole, "split at {i}, {j}");
        }
    }
}

#[test]
fn simple_event() {
    let events = parse(b"data: hello\n\n");
    assert_eq!(
        events,
        [ParsedEvent {
            event: "message".into(),
            data: "hello".into(),
            id: None,
            last_event_id: String::new(),
        }]
    );
}

#[test]
fn bom_at_start_is_skipped() {
    // Without the skip the first field name would be "\u{FEFF}data".
    assert_eq!(datas(&parse(b"\xEF\xBB\xBFdata: x\n\n")), ["x"]);
}

#[test]
fn bom_split_across_chunks_is_skipped() {
    let (_, events) = feed_chunks(&[b"\xEF", b"\xBB", b"", b"\xBFdata: x\n\n"]);
    assert_eq!(datas(&events), ["x"]);
    let (_, events) = feed_chunks(&[b"\xEF\xBB", b"\xBFdata: y\n\n"]);
    assert_eq!(datas(&events), ["y"]);
}

#[test]
fn only_one_bom_is_skipped() {
    let events = parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\ndata: z\n\n");
    // The second BOM makes the first line's field name "\u{FEFF}data",
    // an unknown field; a BOM later in the stream is likewise content.
    assert_eq!(datas(&events), ["z"]);
}

#[test]
fn bom_not_at_start_is_data() {
    let events = parse(b"data: \xEF\xBB\xBFx\n\n");
    assert_eq!(datas(&events), ["\u{FEFF}x"]);
}

#[test]
fn partial_bom_followed_by_other_bytes_is_content() {
    // EF BB then ':' - the held-back bytes become part of the line, which
    // then decodes (lossily) as a field name, not a comment.
    let (parser, events) = feed_chunks(&[b"\xEF\xBB", b":x\n\ndata: y\n\n"]);
    assert_eq!(datas(&events), ["y"]);
    assert!(!parser.finish());
    let (_, events) = feed_chunks(&[b"\xEF", b"\xBB", b"\nd", b"ata: y\n\n"]);
    assert_eq!(datas(&events), ["y"]);
    every_split(b"\xEF\xBBdata: y\n\n");
}

#[test]
fn three_line_endings() {
    for stream in [
        &b"data: a\ndata: b\n\n"[..],
        b"data: a\rdata: b\r\r",
        b"data: a\r\ndata: b\r\n\r\n",
        b"data: a\rdata: b\n\r\n",
    ] {
        assert_eq!(datas(&parse(stream)), ["a\nb"], "{stream:?}");
    }
}

#[test]
fn lf_cr_is_two_line_breaks() {
    // "\n\r" ends the data line and then a blank line: dispatch.
    assert_eq!(datas(&parse(b"data: a\n\rdata: b\n\n")), ["a", "b"]);
}

#[test]
fn cr_at_chunk_end_then_lf_is_one_break() {
    let (_, events) = feed_chunks(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
    assert_eq!(datas(&events), ["a\nb"]);
}

#[test]
fn cr_at_chunk_end_survives_empty_chunk() {
    let (_, events) = feed_chunks(&[b"data: a\r", b"", b"\n\r", b"", b"\n"]);
    assert_eq!(datas(&events), ["a"]);
}

#[test]
fn cr_at_chunk_end_then_other_byte() {
    let (_, events) = feed_chunks(&[b"data: a\r", b"data: b\r", b"\r"]);
    assert_eq!(datas(&events), ["a\nb"]);
}

#[test]
fn every_two_way_split_matches_whole() {
    every_split(b"\xEF\xBB\xBFid: 1\r\nevent: e\r\ndata: a\r\rdata\n: c\n\nretry: 7\n\n");
}

#[test]
fn split_inside_field_name() {
    let (_, events) = feed_chunks(&[b"da", b"ta", b": x\n", b"\n"]);
    assert_eq!(datas(&events), ["x"]);
}

#[test]
fn comments_are_ignored() {
    let events = parse(b": hello\ndata: a\n:data: b\n\n:\n\n");
    assert_eq!(datas(&events), ["a"]);
}

#[test]
fn line_without_colon_is_field_with_empty_value() {
    assert_eq!(datas(&parse(b"data\ndata\n\n")), ["\n"]);
    assert_eq!(datas(&parse(b"data\n\n")), [""]);
    let events = parse(b"event: x\nevent\ndata: y\n\n");
    assert_eq!(events[0].event, "message");
}

#[test]
fn only_one_leading_space_is_stripped() {
    let events = parse(b"data:  two\ndata:none\ndata:\t tab\ndata: trailing \n\n");
    assert_eq!(datas(&events), [" two\nnone\n\t tab\ntrailing "]);
}

#[test]
fn value_split_at_first_colon() {
    let events = parse(b"data: a: b:c\nevent:x:y\n\n");
    assert_eq!(events[0].data, "a: b:c");
    assert_eq!(events[0].event, "x:y");
}

#[test]
fn unknown_fields_are_ignored() {
    let events = parse(b"foo: bar\nData: x\ndata : y\nDATA\ndata: z\n\n");
    assert_eq!(datas(&events), ["z"]);
    assert!(parse(b"foo: bar\n\n").is_empty());
}

#[test]
fn event_type_is_set_and_reset_after_dispatch() {
    let events = parse(b"event: a\nevent: b\ndata: 1\n\ndata: 2\n\n");
    assert_eq!(events[0].event, "b");
    assert_eq!(events[1].event, "message");
}

#[test]
fn empty_event_type_is_message() {
    assert_eq!(parse(b"event:\ndata\n\n")[0].event, "message");
}

#[test]
fn event_type_reset_by_blank_line_without_data() {
    let events = parse(b"event: lost\n\ndata: x\n\n");
    assert_eq!(events[0].event, "message");
}

#[test]
fn id_with_nul_is_ignored() {
    let events = parse(b"id: 1\n\nid: 2\0\ndata: x\n\n");
    assert_eq!(events[0].id, None);
    assert_eq!(events[0].last_event_id, "1");
}

#[test]
fn id_persists_across_events_but_block_id_does_not() {
    let (parser, events) = feed_chunks(&[b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"]);
    assert_eq!(events[0].id.as_deref(), Some("1"));
    assert_eq!(events[0].last_event_id, "1");
    assert_eq!(events[1].id, None);
    assert_eq!(events[1].last_event_id, "1");
    // An empty id resets the last event id.
    assert_eq!(events[2].id.as_deref(), Some(""));
    assert_eq!(events[2].last_event_id, "");
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn last_id_of_block_wins() {
    let events = parse(b"id: 1\nid: 2\ndata\n\n");
    assert_eq!(events[0].id.as_deref(), Some("2"));
}

#[test]
fn id_of_unclosed_block_is_not_committed() {
    let (parser, _) = feed_chunks(&[b"id: 1\ndata\n\nid: 2\n"]);
    assert_eq!(parser.last_event_id(), "1");
    assert!(parser.finish());
}

#[test]
fn block_id_reset_by_blank_line_without_data() {
    let events = parse(b"id: 1\n\ndata: x\n\n");
    assert_eq!(events[0].id, None);
    assert_eq!(events[0].last_event_id, "1");
}

#[test]
fn retry_accepts_digits_only() {
    let mut parser = Parser::new();
    let mut events = Vec::new();
    for (line, expected) in [
        (&b"retry: 100\n"[..], Some(100)),
        (b"retry: 1e3\n", Some(100)),
        (b"retry: -5\n", Some(100)),
        (b"retry: +5\n", Some(100)),
        (b"retry:  5\n", Some(100)),
        (b"retry: 5 \n", Some(100)),
        (b"retry:\n", Some(100)),
        (b"retry\n", Some(100)),
        (b"retry: \xD9\xA3\n", Some(100)), // ARABIC-INDIC DIGIT THREE
        (b"retry:007\n", Some(7)),
        (b"retry: 0\n", Some(0)),
        (b"retry: 99999999999999999999999\n", Some(u64::MAX)),
    ] {
        parser.feed(line, &mut events).unwrap();
        assert_eq!(parser.retry(), expected, "{line:?}");
    }
    assert!(events.is_empty());
}

#[test]
fn retry_applies_without_blank_line() {
    let (parser, _) = feed_chunks(&[b"retry: 3000\n"]);
    assert_eq!(parser.retry(), Some(3000));
}

#[test]
fn empty_data_buffer_dispatches_nothing() {
    assert!(parse(b"\n\n\n").is_empty());
    assert!(parse(b"event: x\nid: 3\n\n").is_empty());
}

#[test]
fn data_alone_dispatches_empty_event() {
    assert_eq!(datas(&parse(b"data:\n\n")), [""]);
    assert_eq!(datas(&parse(b"data: \n\n")), [""]);
}

#[test]
fn only_one_trailing_lf_removed() {
    assert_eq!(datas(&parse(b"data: a\ndata:\n\n")), ["a\n"]);
    assert_eq!(datas(&parse(b"data:\ndata:\n\n")), ["\n"]);
}

#[test]
fn partial_event_at_end_is_discarded() {
    assert!(parse(b"data: x\n").is_empty());
    assert!(parse(b"data: x").is_empty());
    assert!(parse(b"data: x\r").is_empty());
    let (parser, events) = feed_chunks(&[b"data: a\n\ndata: b"]);
    assert_eq!(datas(&events), ["a"]);
    assert!(parser.finish());
}

#[test]
fn unterminated_line_is_not_processed() {
    // "retry: 5" never got its line break.
    let (parser, _) = feed_chunks(&[b"retry: 5"]);
    assert_eq!(parser.retry(), None);
}

#[test]
fn finish_reports_nothing_pending_on_clean_end() {
    assert!(!Parser::new().finish());
    let (parser, _) = feed_chunks(&[b"data: a\n\n: bye\n"]);
    assert!(!parser.finish());
    let (parser, _) = feed_chunks(&[b"event: a\n"]);
    assert!(parser.finish());
    let (parser, _) = feed_chunks(&[b"\xEF\xBB"]);
    assert!(parser.finish());
}

#[test]
fn multibyte_utf8_split_across_chunks() {
    let bytes = "event: 日本\ndata: é🦀\n\n".as_bytes();
    for i in 0..=bytes.len() {
        let (_, events) = feed_chunks(&[&bytes[..i], &bytes[i..]]);
        assert_eq!(events.len(), 1, "split at {i}");
        assert_eq!(events[0].event, "日本");
        assert_eq!(events[0].data, "é🦀");
    }
}

#[test]
fn one_byte_at_a_time() {
    let bytes = "\u{FEFF}id: 9\r\nevent: é\r\ndata: a\r\rdata: 🦀\r\n\r\n".as_bytes();
    let mut parser = Parser::new();
    let mut events = Vec::new();
    for b in bytes {
        parser.feed(std::slice::from_ref(b), &mut events).unwrap();
    }
    assert_eq!(events, parse(bytes));
    assert_eq!(datas(&events), ["a", "🦀"]);
    assert_eq!(events[0].event, "é");
    assert_eq!(events[0].id.as_deref(), Some("9"));
    assert_eq!(events[1].event, "message");
}

#[test]
fn invalid_utf8_is_replaced() {
    let events = parse(b"data: a\xFFb\xE6\x97\n\n");
    assert_eq!(datas(&events), ["a\u{FFFD}b\u{FFFD}"]);
}

#[test]
fn lines_after_invalid_utf8_in_one_chunk_are_decoded() {
    // The chunk's valid prefix ends inside the second event: the lines
    // before it, at it and after it must all read as they would alone.
    let bytes = [
        b"data: ok\n\ndata: a\xFFb\xE6\x97\n\n".as_slice(),
        "id: é\ndata: 🦀\n\n".as_bytes(),
    ]
    .concat();
    let events = parse(&bytes);
    assert_eq!(datas(&events), ["ok", "a\u{FFFD}b\u{FFFD}", "🦀"]);
    assert_eq!(events[2].id.as_deref(), Some("é"));
    every_split(&bytes);
}

#[test]
fn nul_in_data_is_kept() {
    assert_eq!(datas(&parse(b"data: a\0b\n\n")), ["a\0b"]);
}

#[test]
fn line_limit_counts_buffered_and_direct_lines() {
    let mut events = Vec::new();
    let mut parser = Parser::with_max_line(10);
    parser.feed(b"data: 1234\n\n", &mut events).unwrap();
    parser.feed(b"data: ", &mut events).unwrap();
    parser.feed(b"1234", &mut events).unwrap();
    assert_eq!(
        parser.feed(b"5", &mut events),
        Err(WireError::LineTooLong { limit: 10 })
    );
    let mut parser = Parser::with_max_line(10);
    assert_eq!(
        parser.feed(b"data: 12345\n", &mut events),
        Err(WireError::LineTooLong { limit: 10 })
    );
    assert_eq!(datas(&events), ["1234"]);
}

#[test]
fn line_limit_keeps_earlier_events_and_drops_pending_event() {
    let mut events = Vec::new();
    let mut parser = Parser::with_max_line(10);
    let err = parser.feed(
        b"data: a\n\nevent: e\ndata: b\ndata: 0123456789\n\n",
        &mut events,
    );
    assert_eq!(err, Err(WireError::LineTooLong { limit: 10 }));
    assert_eq!(datas(&events), ["a"]);
    assert!(!parser.finish());
}

#[test]
fn data_limit() {
    let mut events = Vec::new();
    let mut parser = Parser::with_max_line(10);
    parser.feed(b"data:1234\ndata:5\n\n", &mut events).unwrap();
    assert_eq!(
        parser.feed(b"data:1234\ndata:56789\n", &mut events),
        Err(WireError::EventTooLarge { limit: 10 })
    );
    assert_eq!(datas(&events), ["1234\n5"]);
}

#[test]
fn parse_all_matches_feed() {
    let bytes = b"data: a\n\nid: 2\nevent: e\ndata: b\n\n";
    let (_, events) = feed_chunks(&[bytes]);
    assert_eq!(parse(bytes), events);
}

proptest::proptest! {
    /// The borrowing callback sees exactly the events `feed` collects, for
    /// any stream split anywhere: ids carried over, types defaulted,
    /// invalid UTF-8 replaced, the same errors.
    #[test]
    fn feed_with_sees_what_feed_collects(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(b"".to_vec()),
                proptest::strategy::Just(b"id: 1".to_vec()),
                proptest::strategy::Just(b"id".to_vec()),
                proptest::strategy::Just(b"event: e".to_vec()),
                proptest::strategy::Just(b"data: \xff\xfe x".to_vec()),
                proptest::strategy::Just(b": comment".to_vec()),
                proptest::collection::vec(proptest::num::u8::ANY, 0..12),
            ],
            0..24,
        ),
        cut in 0usize..200,
    ) {
        let mut bytes = Vec::new();
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.push(b'\n');
        }
        let cut = cut.min(bytes.len());
        let (mut owned, mut borrowed) = (Parser::with_max_line(64), Parser::with_max_line(64));
        let mut collected = Vec::new();
        let mut seen = Vec::new();
        for part in [&bytes[..cut], &bytes[cut..]] {
            let a = owned.feed(part, &mut collected);
            let b = borrowed.feed_with(part, |e| seen.push(e.to_owned()));
            proptest::prop_assert_eq!(a, b);
        }
        proptest::prop_assert_eq!(collected, seen);
        proptest::prop_assert_eq!(owned.last_event_id(), borrowed.last_event_id());
    }
}
