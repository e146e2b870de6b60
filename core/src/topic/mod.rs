//! Topics and topic matchers of the Mercure protocol: which updates a
//! subscription selects, and which private updates a token may see.
//!
//! The contract: a [`Topic`] is checked once, when it is made, against the
//! protocol's character rules; a [`Matcher`] is compiled once from a
//! [`MatcherKind`] and a pattern, and then answers
//! [`matches`](Matcher::matches) for any topic in time linear in the topic,
//! whatever the pattern (every regular expression here is the `regex`
//! crate's, which never backtracks, and each is bounded in compiled size).
//! Matching reads no clock and does no I/O.
//!
//! The kinds:
//!
//! - [`MatcherKind::Exact`]: byte-for-byte equality. Never resolved against
//!   a base and never normalised, as the protocol requires: `/books/1` does
//!   not match `https://example.com/books/1`, nor `%7E` match `~`.
//! - [`MatcherKind::UrlPattern`]: the WHATWG URL Pattern standard (the
//!   `urlpattern` crate), case-sensitive (`ignoreCase` is never enabled).
//!   Relative patterns, and relative topics at match time, resolve against
//!   the hub URL ([`HubUrl`]); a topic that is no URL reference matches no
//!   URL pattern.
//! - [`MatcherKind::UriTemplate`]: the `topic` selector of the protocol's
//!   earlier revisions (v0.24): equality, or an RFC 6570 URI template (all
//!   four levels) some expansion of which is the topic.
//! - `*`, under any kind: every topic.
//!
//! Around them: [`Interner`] gives every subscription asking for the same
//! kind, pattern and base one shared compiled matcher, and forgets it when
//! the last one is dropped; [`PatternIndex`] buckets matchers by their
//! [`literal_prefix`](Matcher::literal_prefix), so that an event is tested
//! only against the matchers that could match one of its topics.
//!
//! ```
//! use tidings_core::topic::{HubUrl, Interner, MatcherKind, PatternIndex, Topic};
//!
//! let hub = HubUrl::parse("https://example.com/.well-known/mercure").unwrap();
//! let interner = Interner::new();
//! let mut index = PatternIndex::new();
//! for (kind, pattern) in [
//!     (MatcherKind::Exact, "https://example.com/books/1"),
//!     (MatcherKind::UrlPattern, "/books/:id"),
//!     (MatcherKind::UriTemplate, "https://example.com/authors/{id}"),
//! ] {
//!     index.insert(interner.intern(kind, pattern, Some(&hub)).unwrap());
//! }
//! let topic = Topic::new("https://example.com/books/1").unwrap();
//! let mut hits: Vec<_> = index.matching(&topic).iter().map(|m| m.kind()).collect();
//! hits.sort();
//! assert_eq!(hits, [MatcherKind::Exact, MatcherKind::UrlPattern]);
//! ```
//!
//! What this module does not do: it does not decide authorization (whether
//! an update is delivered combines a subscription's matchers with its
//! token's, and the update's `private` flag, elsewhere); it does not apply
//! the publish rules that go beyond characters (the reserved
//! `/.well-known/mercure` namespace); it does not normalise topics (NFC,
//! IDNA, percent-encoding), which the protocol leaves to publishers and
//! subscribers; and it does not match one selector against another (the
//! earlier revision let a template in a token cover an equal template in a
//! request, which equality covers, but no more).

mod error;
mod index;
mod interner;
mod matcher;
mod name;
mod template;
mod urlpat;

pub use error::{MAX_PATTERN_LEN, PatternError};
pub use index::PatternIndex;
pub use interner::Interner;
pub use matcher::{LiteralPrefix, Matcher, MatcherKind};
pub(crate) use name::first_forbidden;
pub use name::{MAX_TOPIC_LEN, Topic, TopicError, has_forbidden};
pub use urlpat::{HubUrl, HubUrlError};
