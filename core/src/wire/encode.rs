//! Encoding events into `text/event-stream` frames.

use bytes::{BufMut, Bytes, BytesMut};

use super::WireError;

/// Appends one complete event frame to `out`.
///
/// Writes `id: …` and `event: …` lines when given, then one `data:` line per
/// line of `data`, then the blank line that makes a client dispatch the event.
/// `data` is split on CRLF, lone LF and lone CR (CRLF is one break), which is
/// exactly how a client splits lines, so the client sees `data` with every
/// line break turned into LF. An empty `data` still gets one `data:` line,
/// since a client dispatches nothing for a block without data.
///
/// An `id` or `event` containing CR, LF or NUL is refused and nothing is
/// appended to `out`.
///
/// ```
/// use bytes::BytesMut;
/// use tidings_core::wire::{WireError, encode_event};
///
/// let mut out = BytesMut::new();
/// encode_event(&mut out, Some("7"), Some("tick"), "a\r\nb").unwrap();
/// assert_eq!(&out[..], b"id: 7\nevent: tick\ndata: a\ndata: b\n\n");
///
/// // An empty payload is still one (empty) data line.
/// out.clear();
/// encode_event(&mut out, None, None, "").unwrap();
/// assert_eq!(&out[..], b"data:\n\n");
///
/// // A CR in the id would let the id forge further fields: refused, and
/// // `out` is left untouched.
/// let err = encode_event(&mut out, Some("1\rdata: x"), None, "y").unwrap_err();
/// assert_eq!(err, WireError::InvalidId);
/// assert_eq!(&out[..], b"data:\n\n");
/// ```
pub fn encode_event(
    out: &mut BytesMut,
    id: Option<&str>,
    event: Option<&str>,
    data: &str,
) -> Result<(), WireError> {
    if id.is_some_and(has_forbidden) {
        return Err(WireError::InvalidId);
    }
    if event.is_some_and(has_forbidden) {
        return Err(WireError::InvalidEvent);
    }
    out.reserve(frame_len(id, event, data));
    if let Some(id) = id {
        put_field(out, b"id", id);
    }
    if let Some(event) = event {
        put_field(out, b"event", event);
    }
    for line in DataLines::new(data) {
        put_field(out, b"data", line);
    }
    out.put_u8(b'\n');
    Ok(())
}

/// Encodes one event frame into a new buffer of exactly the frame's size.
///
/// Same rules as [`encode_event`].
///
/// ```
/// use tidings_core::wire::{WireError, event_frame};
///
/// let frame = event_frame(None, Some("note"), "line 1\nline 2").unwrap();
/// assert_eq!(&frame[..], b"event: note\ndata: line 1\ndata: line 2\n\n");
///
/// assert_eq!(event_frame(None, Some("a\nb"), "x"), Err(WireError::InvalidEvent));
/// ```
pub fn event_frame(id: Option<&str>, event: Option<&str>, data: &str) -> Result<Bytes, WireError> {
    let mut out = BytesMut::with_capacity(frame_len(id, event, data));
    encode_event(&mut out, id, event, data)?;
    Ok(out.freeze())
}

/// Appends a `retry:` block telling the client how many milliseconds to wait
/// before reconnecting.
///
/// The block ends with a blank line; as it carries no data, a client
/// dispatches no event for it.
///
/// ```
/// use bytes::BytesMut;
/// use tidings_core::wire::encode_retry;
///
/// let mut out = BytesMut::new();
/// encode_retry(&mut out, 1500);
/// encode_retry(&mut out, 0);
/// assert_eq!(&out[..], b"retry: 1500\n\nretry: 0\n\n");
/// ```
pub fn encode_retry(out: &mut BytesMut, ms: u64) {
    let mut buf = [0; crate::decimal::MAX_DIGITS];
    let digits = crate::decimal::digits(ms, &mut buf);
    out.reserve(b"retry: \n\n".len() + digits.len());
    out.put_slice(b"retry: ");
    out.put_slice(digits);
    out.put_slice(b"\n\n");
}

/// Appends a comment block `: <text>` followed by a blank line.
///
/// Clients ignore comments; they are useful as keep-alives that stop proxies
/// from closing an idle connection. Text containing CR or LF is refused, since
/// the part after the break would be read as a field, and nothing is appended.
///
/// ```
/// use bytes::BytesMut;
/// use tidings_core::wire::{WireError, encode_comment};
///
/// let mut out = BytesMut::new();
/// encode_comment(&mut out, "keep-alive").unwrap();
/// assert_eq!(&out[..], b": keep-alive\n\n");
///
/// assert_eq!(encode_comment(&mut out, "a\r\nb"), Err(WireError::InvalidComment));
/// assert_eq!(&out[..], b": keep-alive\n\n");
/// ```
pub fn encode_comment(out: &mut BytesMut, text: &str) -> Result<(), WireError> {
    if text.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(WireError::InvalidComment);
    }
    out.reserve(b": \n\n".len() + text.len());
    out.put_slice(b": ");
    out.put_slice(text.as_bytes());
    out.put_slice(b"\n\n");
    Ok(())
}

fn has_forbidden(value: &str) -> bool {
    value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// Writes `name: value\n`, or `name:\n` for an empty value: the parser strips
/// exactly one space after the colon, so the single space keeps values that
/// start with a space intact, and leaving it out for empty values avoids
/// trailing whitespace.
fn put_field(out: &mut BytesMut, name: &[u8], value: &str) {
    out.put_slice(name);
    out.put_u8(b':');
    if !value.is_empty() {
        out.put_u8(b' ');
        out.put_slice(value.as_bytes());
    }
    out.put_u8(b'\n');
}

fn field_len(name: &[u8], value: &str) -> usize {
    let space = usize::from(!value.is_empty());
    name.len() + 1 + space + value.len() + 1
}

/// The exact number of bytes [`encode_event`] writes, so buffers are sized
/// once.
fn frame_len(id: Option<&str>, event: Option<&str>, data: &str) -> usize {
    let id = id.map_or(0, |id| field_len(b"id", id));
    let event = event.map_or(0, |event| field_len(b"event", event));
    let data: usize = DataLines::new(data)
        .map(|line| field_len(b"data", line))
        .sum();
    id + event + data + 1
}

/// The lines of an event payload, split the way an SSE client splits them:
/// on CRLF, lone CR and lone LF. Always yields at least one (possibly empty)
/// line.
struct DataLines<'a> {
    rest: Option<&'a str>,
}

impl<'a> DataLines<'a> {
    fn new(data: &'a str) -> Self {
        DataLines { rest: Some(data) }
    }
}

impl<'a> Iterator for DataLines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let bytes = rest.as_bytes();
        match bytes.iter().position(|&b| b == b'\r' || b == b'\n') {
            None => {
                self.rest = None;
                Some(rest)
            }
            Some(i) => {
                let crlf = bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n');
                let next = i + if crlf { 2 } else { 1 };
                // CR and LF are ASCII, so both cuts fall on char boundaries.
                self.rest = Some(&rest[next..]);
                Some(&rest[..i])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: Option<&str>, event: Option<&str>, data: &str) -> String {
        let mut out = BytesMut::new();
        encode_event(&mut out, id, event, data).unwrap();
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn data_only() {
        assert_eq!(frame(None, None, "hello"), "data: hello\n\n");
    }

    #[test]
    fn id_and_event_precede_data() {
        assert_eq!(
            frame(Some("42"), Some("update"), "x"),
            "id: 42\nevent: update\ndata: x\n\n"
        );
    }

    #[test]
    fn empty_id_and_event_have_no_trailing_space() {
        assert_eq!(frame(Some(""), Some(""), ""), "id:\nevent:\ndata:\n\n");
    }

    #[test]
    fn empty_data_is_one_data_line() {
        assert_eq!(frame(None, None, ""), "data:\n\n");
    }

    #[test]
    fn all_line_endings_split_data() {
        assert_eq!(
            frame(None, None, "a\nb\rc\r\nd"),
            "data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
    }

    #[test]
    fn crlf_is_one_break_but_lfcr_is_two() {
        assert_eq!(frame(None, None, "a\r\nb"), "data: a\ndata: b\n\n");
        assert_eq!(frame(None, None, "a\n\rb"), "data: a\ndata:\ndata: b\n\n");
    }

    #[test]
    fn leading_and_trailing_breaks_give_empty_lines() {
        assert_eq!(frame(None, None, "\n"), "data:\ndata:\n\n");
        assert_eq!(frame(None, None, "\r\nx\r"), "data:\ndata: x\ndata:\n\n");
    }

    #[test]
    fn leading_space_in_values_is_kept_by_the_single_separator_space() {
        assert_eq!(frame(Some(" 1"), None, " x"), "id:  1\ndata:  x\n\n");
    }

    #[test]
    fn nul_and_non_ascii_data_pass_through() {
        assert_eq!(frame(None, None, "\0é日🦀"), "data: \0é日🦀\n\n");
    }

    #[test]
    fn forbidden_bytes_in_id_or_event_leave_out_untouched() {
        for bad in ["\r", "\n", "\0", "a\r\nb", "x\0"] {
            let mut out = BytesMut::from(&b"prefix"[..]);
            assert_eq!(
                encode_event(&mut out, Some(bad), None, "d"),
                Err(WireError::InvalidId)
            );
            assert_eq!(
                encode_event(&mut out, None, Some(bad), "d"),
                Err(WireError::InvalidEvent)
            );
            assert_eq!(
                encode_event(&mut out, Some("ok"), Some(bad), "d"),
                Err(WireError::InvalidEvent)
            );
            assert_eq!(&out[..], b"prefix");
        }
    }

    #[test]
    fn appends_after_existing_content() {
        let mut out = BytesMut::new();
        encode_event(&mut out, None, None, "1").unwrap();
        encode_event(&mut out, None, None, "2").unwrap();
        assert_eq!(&out[..], b"data: 1\n\ndata: 2\n\n");
    }

    #[test]
    fn frame_len_is_exact() {
        let cases: &[(Option<&str>, Option<&str>, &str)] = &[
            (None, None, ""),
            (Some(""), Some(""), ""),
            (Some("id"), Some("ev"), "a\r\nb\rc\nd"),
            (None, None, "\r\n\r\n"),
            (Some("日"), None, "🦀\n"),
        ];
        for &(id, event, data) in cases {
            let mut out = BytesMut::new();
            encode_event(&mut out, id, event, data).unwrap();
            assert_eq!(
                frame_len(id, event, data),
                out.len(),
                "{id:?} {event:?} {data:?}"
            );
        }
    }

    #[test]
    fn event_frame_matches_encode_event() {
        let frame = event_frame(Some("1"), Some("e"), "a\rb").unwrap();
        let mut out = BytesMut::new();
        encode_event(&mut out, Some("1"), Some("e"), "a\rb").unwrap();
        assert_eq!(frame, out.freeze());
        assert_eq!(event_frame(Some("\n"), None, ""), Err(WireError::InvalidId));
    }

    #[test]
    fn retry_formats_edge_values() {
        let mut out = BytesMut::new();
        encode_retry(&mut out, 0);
        encode_retry(&mut out, 10);
        encode_retry(&mut out, u64::MAX);
        assert_eq!(
            &out[..],
            b"retry: 0\n\nretry: 10\n\nretry: 18446744073709551615\n\n"
        );
    }

    #[test]
    fn comments() {
        let mut out = BytesMut::new();
        encode_comment(&mut out, "").unwrap();
        encode_comment(&mut out, "a: b").unwrap();
        assert_eq!(&out[..], b": \n\n: a: b\n\n");
        assert_eq!(
            encode_comment(&mut out, "\r"),
            Err(WireError::InvalidComment)
        );
        assert_eq!(
            encode_comment(&mut out, "\n"),
            Err(WireError::InvalidComment)
        );
        assert_eq!(&out[..], b": \n\n: a: b\n\n");
    }

    #[test]
    fn data_lines_always_yield_at_least_one_line() {
        assert_eq!(DataLines::new("").collect::<Vec<_>>(), [""]);
        assert_eq!(DataLines::new("\r").collect::<Vec<_>>(), ["", ""]);
        assert_eq!(DataLines::new("\r\n").collect::<Vec<_>>(), ["", ""]);
        assert_eq!(DataLines::new("\n\n").collect::<Vec<_>>(), ["", "", ""]);
    }
}
