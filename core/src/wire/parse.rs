//! Streaming interpretation of a `text/event-stream`, following the WHATWG
//! "event stream interpretation" rules.

use std::borrow::Cow;

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

/// One event dispatched by [`Parser::feed_with`], borrowed from the
/// parser: the same fields as [`ParsedEvent`], valid until the callback
/// returns, with nothing allocated per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The event type (`"message"` when the block had none).
    pub event: &'a str,
    /// The `data` field values joined with LF.
    pub data: &'a str,
    /// The id of this event's own block, if it had one.
    pub id: Option<&'a str>,
    /// The stream's last event id when this event was dispatched.
    pub last_event_id: &'a str,
}

impl EventRef<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> ParsedEvent {
        ParsedEvent {
            event: self.event.to_owned(),
            data: self.data.to_owned(),
            id: self.id.map(str::to_owned),
            last_event_id: self.last_event_id.to_owned(),
        }
    }
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
    /// The last valid `id` field so far (the current block's, when
    /// `block_has_id`).
    id_buffer: String,
    /// Whether the current block had a valid `id` field.
    block_has_id: bool,
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
            block_has_id: false,
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
        self.feed_with(chunk, |event| out.push(event.to_owned()))
    }

    /// [`Parser::feed`], handing each event to `on_event` as it is
    /// dispatched, borrowed: nothing is allocated per event once the
    /// parser's buffers have grown to the stream's sizes.
    ///
    /// ```
    /// use tidings_core::wire::Parser;
    ///
    /// let mut parser = Parser::new();
    /// let mut seen = Vec::new();
    /// parser
    ///     .feed_with(b"id: 7\ndata: a\n\ndata: b\n\n", |e| {
    ///         seen.push((e.id.map(str::to_owned), e.data.to_owned(), e.last_event_id.to_owned()))
    ///     })
    ///     .unwrap();
    /// assert_eq!(seen[0], (Some("7".into()), "a".into(), "7".into()));
    /// assert_eq!(seen[1], (None, "b".into(), "7".into()));
    /// ```
    pub fn feed_with(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(EventRef<'_>),
    ) -> Result<(), WireError> {
        let result = self.feed_inner(chunk, &mut on_event);
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
            || self.block_has_id
    }

    fn feed_inner(
        &mut self,
        chunk: &[u8],
        out: &mut impl FnMut(EventRef<'_>),
    ) -> Result<(), WireError> {
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
        // The chunk is decoded once: the lines inside its valid UTF-8
        // prefix (the whole chunk, as a rule) are sliced from it without
        // another check. Line breaks are ASCII, so every line of valid text
        // is valid text.
        let checked = match std::str::from_utf8(rest) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        // One search over the chunk finds every line break; a CR LF pair
        // is one break, so the LF of a pair is skipped.
        let mut start = 0;
        for end in memchr::memchr2_iter(b'\r', b'\n', rest) {
            if end < start {
                continue;
            }
            if self.line.is_empty() {
                self.check_line(end - start)?;
                let line = checked.get(start..end);
                self.process_line(&rest[start..end], line, out)?;
            } else {
                self.push_partial(&rest[start..end])?;
                // Taken out and put back so the buffer keeps its allocation.
                let line = std::mem::take(&mut self.line);
                let processed = self.process_line(&line, None, out);
                self.line = line;
                self.line.clear();
                processed?;
            }
            start = end + 1;
            if rest[end] == b'\r' {
                match rest.get(start) {
                    Some(b'\n') => start += 1,
                    Some(_) => {}
                    None => self.last_was_cr = true,
                }
            }
        }
        self.push_partial(&rest[start..])
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

    /// Interprets one line; `checked` is the same line as text when it is
    /// known to be valid UTF-8.
    fn process_line(
        &mut self,
        line: &[u8],
        checked: Option<&str>,
        out: &mut impl FnMut(EventRef<'_>),
    ) -> Result<(), WireError> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        // The colon is ASCII and never part of a multi-byte sequence, so
        // splitting bytes before decoding equals decoding then splitting.
        // Field names are short: a plain scan finds the colon soonest.
        let (name, start) = match line.iter().position(|&b| b == b':') {
            Some(0) => return Ok(()),
            Some(colon) => {
                let space = line.get(colon + 1) == Some(&b' ');
                (&line[..colon], colon + 1 + usize::from(space))
            }
            None => (line, line.len()),
        };
        let value = &line[start..];
        let value_text = || match checked.and_then(|line| line.get(start..)) {
            Some(value) => Cow::Borrowed(value),
            None => text(value),
        };
        match name {
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&value_text());
            }
            b"data" => {
                let value = value_text();
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
                self.id_buffer.clear();
                self.id_buffer.push_str(&value_text());
                self.block_has_id = true;
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = Some(parse_digits(value));
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut impl FnMut(EventRef<'_>)) {
        self.last_event_id.clone_from(&self.id_buffer);
        if self.data.is_empty() {
            self.reset_block();
            return;
        }
        self.data.pop(); // Every data line appended an LF; drop the last.
        let event = if self.event_type.is_empty() {
            "message"
        } else {
            &self.event_type
        };
        out(EventRef {
            event,
            data: &self.data,
            id: self.block_has_id.then_some(self.id_buffer.as_str()),
            last_event_id: &self.last_event_id,
        });
        self.reset_block();
    }

    fn reset_block(&mut self) {
        self.data.clear();
        self.event_type.clear();
        self.block_has_id = false;
    }
}

/// `bytes` as text, invalid sequences replaced by U+FFFD; valid UTF-8 (the
/// usual case) is borrowed after one fast check.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
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
mod tests;
