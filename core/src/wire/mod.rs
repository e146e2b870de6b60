//! The server-sent events wire format: an encoder that turns events into
//! WHATWG-conformant `text/event-stream` frames and a streaming parser that
//! interprets such a stream exactly as a browser's `EventSource` would. The
//! two live side by side so that round-trip property tests can hold them to
//! each other: whatever the encoder accepts, the parser must give back
//! unchanged (apart from the line-break normalisation the format imposes).

mod encode;
mod parse;

pub use encode::{encode_comment, encode_event, encode_retry, event_frame};
pub use parse::{DEFAULT_MAX_LINE, EventRef, ParsedEvent, Parser, parse_all};

/// Errors from encoding or parsing the SSE wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// An event id contained CR, LF or NUL.
    #[error("event id contains cr, lf or nul")]
    InvalidId,
    /// An event type contained CR, LF or NUL.
    #[error("event type contains cr, lf or nul")]
    InvalidEvent,
    /// A comment contained CR or LF.
    #[error("comment contains cr or lf")]
    InvalidComment,
    /// A single line of the stream exceeded the parser's limit.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The parser's limit in bytes.
        limit: usize,
    },
    /// The data of one event exceeded the parser's limit.
    #[error("event data longer than {limit} bytes")]
    EventTooLarge {
        /// The parser's limit in bytes.
        limit: usize,
    },
}
