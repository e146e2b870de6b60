//! `Topic`: a checked topic string, and the character rule topics and
//! matcher patterns share.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use icu_properties::CodePointMapData;
use icu_properties::props::GeneralCategory;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted topic, in bytes of UTF-8.
///
/// The protocol leaves the bound to the hub. 1024 bytes holds any URL a
/// browser or proxy passes along comfortably, and bounds the work one
/// topic costs a URL parser or a pattern.
pub const MAX_TOPIC_LEN: usize = 1024;

/// Why a string is not a topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// The string is empty.
    #[error("topic is empty")]
    Empty,
    /// The string is longer than [`MAX_TOPIC_LEN`] bytes.
    #[error("topic is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The bound, [`MAX_TOPIC_LEN`].
        max: usize,
    },
    /// The string holds a C0 or C1 control character or DEL.
    #[error("topic has a control character (U+{code:04X}) at byte {at}")]
    Control {
        /// Byte offset of the character.
        at: usize,
        /// Its code point.
        code: u32,
    },
    /// The string holds a Unicode format character (general category Cf),
    /// such as a zero-width space or a bidirectional override.
    #[error("topic has a unicode format character (U+{code:04X}) at byte {at}")]
    Format {
        /// Byte offset of the character.
        at: usize,
        /// Its code point.
        code: u32,
    },
    /// The string is `*`, which the protocol reserves for the wildcard
    /// matcher: no matcher could select that topic alone.
    #[error("topic `*` is reserved for the wildcard matcher")]
    Wildcard,
}

/// A character the protocol refuses in topics and matcher values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forbidden {
    /// C0, DEL or C1 (general category Cc).
    Control { at: usize, code: u32 },
    /// General category Cf.
    Format { at: usize, code: u32 },
}

/// Whether `s` holds a character the protocol refuses in every value it
/// defines (topics, matchers, ids, event types): a C0 or C1 control, DEL,
/// or a Unicode format character.
///
/// ```
/// use tidings_core::topic::has_forbidden;
/// assert!(has_forbidden("a\u{200B}b") && has_forbidden("a\tb"));
/// assert!(!has_forbidden("https://example.com/bücher/1"));
/// ```
pub fn has_forbidden(s: &str) -> bool {
    first_forbidden(s).is_some()
}

/// The first character of `s` that the protocol refuses in a topic or a
/// matcher value, if any.
pub(crate) fn first_forbidden(s: &str) -> Option<Forbidden> {
    // Printable ASCII is by far the common case and is never refused; only
    // the rest needs the general category table.
    let category = CodePointMapData::<GeneralCategory>::new();
    s.char_indices().find_map(|(at, c)| {
        let code = u32::from(c);
        if (0x20..0x7f).contains(&code) {
            None
        } else if c.is_control() {
            // `is_control` is general category Cc: exactly C0, DEL and C1.
            Some(Forbidden::Control { at, code })
        } else if category.get(c) == GeneralCategory::Format {
            Some(Forbidden::Format { at, code })
        } else {
            None
        }
    })
}

/// A topic: the string an update is about, checked against the protocol's
/// character rules.
///
/// A topic is 1 to [`MAX_TOPIC_LEN`] bytes of UTF-8 with no C0 or C1
/// control character, no DEL and no Unicode format character (general
/// category Cf, from the Unicode tables of `icu_properties`), and is not
/// `*`. It is often an IRI, but need not be: nothing here parses it, and
/// it is never normalised (the protocol compares topics byte for byte).
/// Cloning a topic copies no text.
///
/// ```
/// use tidings_core::topic::{Topic, TopicError};
///
/// let topic = Topic::new("https://example.com/books/1").unwrap();
/// assert_eq!(topic.as_str(), "https://example.com/books/1");
///
/// // A zero-width space (U+200B) would make two topics look alike.
/// assert_eq!(
///     Topic::new("https://example.com/books/\u{200B}1"),
///     Err(TopicError::Format { at: 26, code: 0x200B })
/// );
/// assert!(matches!(Topic::new("a\nb"), Err(TopicError::Control { at: 1, .. })));
/// assert_eq!(Topic::new("*"), Err(TopicError::Wildcard));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic(Arc<str>);

impl Topic {
    /// Checks `text` and makes it a topic.
    ///
    /// ```
    /// use tidings_core::topic::{MAX_TOPIC_LEN, Topic, TopicError};
    ///
    /// // Relative references and plain names are topics too.
    /// assert!(Topic::new("/books/1").is_ok());
    /// assert!(Topic::new("bar").is_ok());
    /// assert_eq!(Topic::new(""), Err(TopicError::Empty));
    /// let long = "a".repeat(MAX_TOPIC_LEN + 1);
    /// assert!(matches!(Topic::new(&long), Err(TopicError::TooLong { .. })));
    /// ```
    pub fn new(text: &str) -> Result<Topic, TopicError> {
        check(text)?;
        Ok(Topic(text.into()))
    }

    /// The topic as text, exactly as it was given.
    ///
    /// ```
    /// use tidings_core::topic::Topic;
    /// // No case folding, no percent-decoding.
    /// let topic = Topic::new("HTTPS://Example.com/a%2Fb").unwrap();
    /// assert_eq!(topic.as_str(), "HTTPS://Example.com/a%2Fb");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check(text: &str) -> Result<(), TopicError> {
    if text.is_empty() {
        return Err(TopicError::Empty);
    }
    if text.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong {
            len: text.len(),
            max: MAX_TOPIC_LEN,
        });
    }
    if text == "*" {
        return Err(TopicError::Wildcard);
    }
    match first_forbidden(text) {
        Some(Forbidden::Control { at, code }) => Err(TopicError::Control { at, code }),
        Some(Forbidden::Format { at, code }) => Err(TopicError::Format { at, code }),
        None => Ok(()),
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Topic {
    type Err = TopicError;

    fn from_str(text: &str) -> Result<Topic, TopicError> {
        Topic::new(text)
    }
}

impl TryFrom<&str> for Topic {
    type Error = TopicError;

    fn try_from(text: &str) -> Result<Topic, TopicError> {
        Topic::new(text)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({:?})", &*self.0)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Topic, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Topic::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_is_refused() {
        for code in (0..0x20).chain([0x7f]).chain(0x80..0xa0) {
            let c = char::from_u32(code).unwrap();
            let text = format!("a{c}");
            assert_eq!(
                Topic::new(&text),
                Err(TopicError::Control { at: 1, code }),
                "U+{code:04X}"
            );
        }
    }

    #[test]
    fn format_characters_are_refused_wherever_they_are() {
        // Soft hyphen, Arabic number sign, ZWSP, ZWJ, LRM, RLO, word
        // joiner, BOM, interlinear annotation, a tag character.
        for code in [
            0xad, 0x600, 0x200b, 0x200d, 0x200e, 0x202e, 0x2060, 0xfeff, 0xfff9, 0xe0041,
        ] {
            let c = char::from_u32(code).unwrap();
            assert_eq!(
                Topic::new(&format!("{c}x")),
                Err(TopicError::Format { at: 0, code }),
                "U+{code:04X}"
            );
        }
    }

    #[test]
    fn other_unicode_is_kept() {
        // Letters, a combining mark, an emoji, private use, a space: only
        // Cc and Cf are refused.
        for text in [
            "https://example.com/café",
            "e\u{301}",
            "😀",
            "\u{e000}",
            "a b",
        ] {
            assert_eq!(Topic::new(text).unwrap().as_str(), text);
        }
    }

    #[test]
    fn the_length_bound_counts_bytes() {
        assert!(Topic::new(&"é".repeat(MAX_TOPIC_LEN / 2)).is_ok());
        assert_eq!(
            Topic::new(&"é".repeat(MAX_TOPIC_LEN / 2 + 1)),
            Err(TopicError::TooLong {
                len: MAX_TOPIC_LEN + 2,
                max: MAX_TOPIC_LEN
            })
        );
    }

    #[test]
    fn only_the_bare_star_is_reserved() {
        assert!(Topic::new("**").is_ok());
        assert!(Topic::new("https://example.com/*").is_ok());
    }

    #[test]
    fn serde_checks_what_it_reads() {
        let topic: Topic = serde_json::from_str(r#""https://example.com/1""#).unwrap();
        assert_eq!(
            serde_json::to_string(&topic).unwrap(),
            r#""https://example.com/1""#
        );
        let err = serde_json::from_str::<Topic>(r#""a\u200bb""#).unwrap_err();
        assert!(err.to_string().contains("format character"), "{err}");
    }
}
