//! `PatternError`: why a matcher pattern does not compile.

use super::name::Forbidden;

/// Longest accepted matcher pattern, in bytes of UTF-8.
///
/// The protocol asks hubs to bound pattern length. The bound matches
/// [`MAX_TOPIC_LEN`](super::MAX_TOPIC_LEN): a pattern longer than the
/// longest topic gains nothing, and the bound caps the work of compiling.
pub const MAX_PATTERN_LEN: usize = 1024;

/// Why a pattern does not compile into a [`Matcher`](super::Matcher).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern is empty.
    #[error("pattern is empty")]
    Empty,
    /// The pattern is longer than [`MAX_PATTERN_LEN`] bytes.
    #[error("pattern is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The bound, [`MAX_PATTERN_LEN`].
        max: usize,
    },
    /// The pattern holds a C0 or C1 control character or DEL.
    #[error("pattern has a control character (U+{code:04X}) at byte {at}")]
    Control {
        /// Byte offset of the character.
        at: usize,
        /// Its code point.
        code: u32,
    },
    /// The pattern holds a Unicode format character (general category Cf).
    #[error("pattern has a unicode format character (U+{code:04X}) at byte {at}")]
    Format {
        /// Byte offset of the character.
        at: usize,
        /// Its code point.
        code: u32,
    },
    /// The pattern is not an RFC 6570 URI template.
    #[error("invalid uri template at byte {at}: {reason}")]
    InvalidTemplate {
        /// Byte offset where reading stopped.
        at: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// The pattern is not a WHATWG URL pattern (or is relative and no hub
    /// URL was given to resolve it against).
    #[error("invalid url pattern: {reason}")]
    InvalidUrlPattern {
        /// The URL pattern parser's own words.
        reason: String,
    },
    /// The pattern is well formed but compiles to an automaton larger than
    /// the size bound (a long prefix modifier, many variables in one
    /// expression).
    #[error("pattern is too complex: it compiles past the size bound")]
    TooComplex,
}

impl PatternError {
    /// Checks what every pattern must satisfy, whatever its kind.
    pub(crate) fn check(pattern: &str) -> Result<(), PatternError> {
        if pattern.is_empty() {
            return Err(PatternError::Empty);
        }
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(PatternError::TooLong {
                len: pattern.len(),
                max: MAX_PATTERN_LEN,
            });
        }
        match super::name::first_forbidden(pattern) {
            Some(Forbidden::Control { at, code }) => Err(PatternError::Control { at, code }),
            Some(Forbidden::Format { at, code }) => Err(PatternError::Format { at, code }),
            None => Ok(()),
        }
    }
}

/// Bound on the compiled size of each regular expression a pattern makes,
/// and on each lazy DFA cache: whatever a client sends, one pattern holds
/// automata of a bounded size, and compiling it stops at the bound.
pub(crate) const REGEX_SIZE_LIMIT: usize = 256 * 1024;
