//! Streaming interpretation of a `text/event-stream`, following the WHATWG
//! "event stream interpretation" rules.

use super::WireError;

/// The default limit, in bytes, on one line and on one event's data.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// One event dispatched by the [`Parser`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParsedEvent {
    /// The event type: the last `event` field of the block, or `"message"`
    /// when there was none or it was empty.
    pub event: String,
    /// The `data` field values joined with LF.
    pub data: String,
    /// The value of the last valid `id` field in this event's own block, or
    /// `None` if the block had none.
    pub id: Option<String>,
    /// The stream's last event id when this event was dispatched: ids carry
    /// over from earlier blocks, as a reconnecting client would send it.
    pub last_event_id: String,
}

/// How far the byte-order mark at the start of the stream has been matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bom {
    /// This many leading bytes of the stream match the BOM so far.
    Matching(u8),
    /// The BOM was skipped or ruled out.
    Done,
}

/// A streaming `text/event-stream` parser.
///
/// Bytes may be fed in chunks split anywhere: inside a UTF-8 sequence, inside
/// the byte-order mark, between the CR and LF of a line break. Lines are
/// decoded as UTF-8 with invalid sequences replaced by U+FFFD.
///
/// A stream that ends without the blank line closing its last event does not
/// dispatch that event: once the last chunk is fed, whatever is still pending
/// is simply dropped (see [`Parser::finish`]).
///
/// ```
/// use tidings_core::wire::Parser;
///
/// let mut parser = Parser::new();
/// let mut events = Vec::new();
/// parser.feed(b"id: 1\r\nevent: greet\r\ndata: hel", &mut events).unwrap();
/// assert!(events.is_empty());
/// parser.feed(b"lo\r", &mut events).unwrap();
/// parser.feed(b"\n\r\ndata: partial\n", &mut events).unwrap();
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].event, "greet");
/// assert_eq!(events[0].data, "hello");
/// assert_eq!(events[0].id.as_deref(), Some("1"));
/// // The unterminated second event is discarded.
/// assert!(parser.finish());
/// ```
#[derive(Debug, Clone)]
pub struct Parser {
    max_line: usize,
    bom: Bom,
    /// The previous chunk ended in CR, so an LF opening this chunk belongs to
    /// that line break.
    last_was_cr: bool,
    /// Bytes of a line that is not yet terminated.
    line: Vec<u8>,
    data: String,
    event_type: String,
    id_buffer: String,
    /// The id of the current block, if it had a valid `id` field.
    block_id: Option<String>,
    last_event_id: String,
    retry: Option<u64>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    /// A parser at the start of a stream, with the [`DEFAULT_MAX_LINE`] limit.
    ///
    /// ```
    /// use tidings_core::wire::Parser;
    ///
    /// let parser = Parser::new();
    /// assert_eq!(parser.last_event_id(), "");
    /// assert_eq!(parser.retry(), None);
    /// ```
    pub fn new() -> Self {
        Parser::with_max_line(DEFAULT_MAX_LINE)
    }

    /// A parser that refuses lines, and event data, longer than `max` bytes.
    ///
    /// Without a limit a peer that never sends a line break (or never sends
    /// the blank line) makes the parser buffer without end.
    ///
    /// ```
    /// use tidings_core::wire::{Parser, WireError};
    ///
    /// let mut parser = Parser::with_max_line(10);
    /// let mut events = Vec::new();
    /// assert_eq!(
    ///     parser.feed(b"data: 0123456789", &mut events),
    ///     Err(WireError::LineTooLong { limit: 10 }),
    /// );
    ///
    /// // Each line fits, but together they are too much for one event.
    /// let mut parser = Parser::with_max_line(10);
    /// assert_eq!(
    ///     parser.feed(b"data:12345\ndata:67890\n", &mut events),
    ///     Err(WireError::EventTooLarge { limit: 10 }),
    /// );
    /// ```
    pub fn with_max_line(max: usize) -> Self {
        Parser {
            max_line: max,
            bom: Bom::Matching(0),
            last_was_cr: false,
            line: Vec::new(),
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            block_id: None,
            last_event_id: String::new(),
            retry: None,
        }
    }

    /// The last event id of the stream: what a reconnecting client sends as
    /// `Last-Event-ID`.
    ///
    /// It is taken from the `id` fields seen so far when a block ends, so an
    /// `id` in a block that was never closed by a blank line does not count.
    ///
    /// ```
    /// use tidings_core::wire::Parser;
    ///
    /// let mut parser = Parser::new();
    /// let mut events = Vec::new();
    /// parser.feed(b"id: 5\ndata: x\n\nid: 6\n", &mut events).unwrap();
    /// assert_eq!(parser.last_event_id(), "5");
    /// // A block without data dispatches nothing but still commits its id.
    /// parser.feed(b"\n", &mut events).unwrap();
    /// assert_eq!(parser.last_event_id(), "6");
    /// assert_eq!(events.len(), 1);
    /// ```
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time, in milliseconds, from the last valid `retry`
    /// field; `None` if there was none.
    ///
    /// Only a value made of ASCII digits is valid; one too large for `u64`
    /// saturates at `u64::MAX`.
    ///
    /// ```
    /// use tidings_core::wire::Parser;
    ///
    /// let mut parser = Parser::new();
    /// let mut events = Vec::new();
    /// parser.feed(b"retry: 1500\nretry: 2s\nretry:\nretry: -1\n", &mut events).unwrap();
    /// assert_eq!(parser.retry(), Some(1500));
    /// ```
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Parses the next chunk of the stream, appending every event it
    /// completes to `out`.
    ///
    /// On error, the events completed before it are in `out`, and the pending
    /// line, the event being built and the rest of the chunk are dropped. The
    /// parser can no longer tell where the next line starts, so the caller
    /// should close the stream.
    ///
    /// ```
    /// use tidings_core::wire::Parser;
    ///
    /// let mut parser = Parser::new();
    /// let mut events = Vec::new();
    /// // `data:` alone is an event with empty data; a block without any data
    /// // field dispatches nothing.
    /// parser.feed(b"data:\n\nevent: x\n\n: comment\n\n", &mut events).unwrap();
    /// assert_eq!(events.len(), 1);
    /// assert_eq!(events[0].event, "message");
    /// assert_eq!(events[0].data, "");
    /// ```
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<ParsedEvent>) -> Result<(), WireError> {
        let result = self.feed_inner(chunk, out);
        if result.is_err() {
            self.line.clear();
            self.last_was_cr = false;
            self.reset_block();
        }
        result
    }

    /// Ends the stream, dropping whatever was pending: an unterminated line
    /// and the fields of a block that no blank line closed. Returns whether
    /// anything was dropped.
    ///
    /// The spec has clients discard an incomplete event at end of stream, so
    /// this never yields an event; calling it is only needed to find out
    /// whether the stream was cut short.
    ///
    /// ```
    /// use tidings_core::wire::Parser;
    ///
    /// let mut events = Vec::new();
    /// let mut parser = Parser::new();
    /// parser.feed(b"data: complete\n\ndata: cut off\n", &mut events).unwrap();
    /// assert!(parser.finish());
    /// assert_eq!(events.len(), 1);
    ///
    /// let mut parser = Parser::new();
    /// parser.feed(b"data: complete\n\n", &mut events).unwrap();
    /// assert!(!parser.finish());
    /// ```
    pub fn finish(self) -> bool {
        !self.line.is_empty()
            || matches!(self.bom, Bom::Matching(n) if n > 0)
            || !self.data.is_empty()
            || !self.event_type.is_empty()
            || self.block_id.is_some()
    }

    fn feed_inner(&mut self, chunk: &[u8], out: &mut Vec<ParsedEvent>) -> Result<(), WireError> {
        let mut rest = chunk;
        if let Bom::Matching(seen) = self.bom {
            let seen = usize::from(seen);
            let matched = rest
                .iter()
                .zip(&BOM[seen..])
                .take_while(|(a, b)| a == b)
                .count();
            if seen + matched == BOM.len() {
                self.bom = Bom::Done;
                rest = &rest[matched..];
            } else if matched == rest.len() {
                // Still a possible BOM: wait for the next chunk to decide.
                self.bom = Bom::Matching((seen + matched) as u8);
                return Ok(());
            } else {
                // Not a BOM after all, so the bytes held back from earlier
                // chunks are content; those from this chunk are still in `rest`.
                self.bom = Bom::Done;
                self.push_partial(&BOM[..seen])?;
            }
        }
        if self.last_was_cr && !rest.is_empty() {
            self.last_was_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            if self.line.is_empty() {
                self.check_line(end)?;
                self.process_line(&rest[..end], out)?;
            } else {
                self.push_partial(&rest[..end])?;
                // Taken out and put back so the buffer keeps its allocation.
                let line = std::mem::take(&mut self.line);
                let processed = self.process_line(&line, out);
                self.line = line;
                self.line.clear();
                processed?;
            }
            let mut next = end + 1;
            if rest[end] == b'\r' {
                match rest.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.last_was_cr = true,
                }
            }
            rest = &rest[next..];
        }
        self.push_partial(rest)
    }

    fn check_line(&self, len: usize) -> Result<(), WireError> {
        if len > self.max_line {
            return Err(WireError::LineTooLong {
                limit: self.max_line,
            });
        }
        Ok(())
    }

    fn push_partial(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        self.check_line(self.line.len() + bytes.len())?;
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<ParsedEvent>) -> Result<(), WireError> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        // The colon is ASCII and never part of a multi-byte sequence, so
        // splitting bytes before decoding equals decoding then splitting.
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return Ok(()),
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&String::from_utf8_lossy(value));
            }
            b"data" => {
                let value = String::from_utf8_lossy(value);
                if self.data.len() + value.len() + 1 > self.max_line {
                    return Err(WireError::EventTooLarge {
                        limit: self.max_line,
                    });
                }
                self.data.push_str(&value);
                self.data.push('\n');
            }
            // A NUL in an id is refused because clients could not send it
            // back in a `Last-Event-ID` header.
            b"id" if !value.contains(&0) => {
                let value = String::from_utf8_lossy(value);
                self.id_buffer.clear();
                self.id_buffer.push_str(&value);
                self.block_id = Some(value.into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = Some(parse_digits(value));
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<ParsedEvent>) {
        self.last_event_id.clone_from(&self.id_buffer);
        if self.data.is_empty() {
            self.reset_block();
            return;
        }
        self.data.pop(); // Every data line appended an LF; drop the last.
        let event = if self.event_type.is_empty() {
            "message".to_owned()
        } else {
            std::mem::take(&mut self.event_type)
        };
        out.push(ParsedEvent {
            event,
            data: std::mem::take(&mut self.data),
            id: self.block_id.take(),
            last_event_id: self.last_event_id.clone(),
        });
        self.reset_block();
    }

    fn reset_block(&mut self) {
        self.data.clear();
        self.event_type.clear();
        self.block_id = None;
    }
}

/// Digits beyond `u64` saturate rather than being refused: the value is
/// well-formed, just absurdly long.
fn parse_digits(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

/// Parses a whole stream at once; an unterminated last event is discarded.
///
/// ```
/// use tidings_core::wire::parse_all;
///
/// let events = parse_all(b"\xEF\xBB\xBFdata: a\r\ndata: b\r\n\r\ndata: c").unwrap();
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].data, "a\nb");
/// assert!(parse_all(b"").unwrap().is_empty());
/// ```
pub fn parse_all(bytes: &[u8]) -> Result<Vec<ParsedEvent>, WireError> {
    let mut parser = Parser::new();
    let mut events = Vec::new();
    parser.feed(bytes, &mut events)?;
    parser.finish();
    Ok(events)
}

#[cfg(test)]
mod tests {
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
        let events =
            parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\ndata: z\n\n");
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
}
