//! `Matcher`: one compiled topic matcher, of any kind.

use std::fmt;

use url::Url;

use super::error::PatternError;
use super::name::Topic;
use super::template::Template;
use super::urlpat::{self, HubUrl, UrlMatcher};

/// How a matcher's pattern is read.
///
/// The `*` pattern is the wildcard whatever the kind: the protocol
/// recognises it before the matcher type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatcherKind {
    /// The current draft's `exact`: byte-for-byte equality, never resolved
    /// against a base, never normalised.
    Exact,
    /// The current draft's `urlpattern`: a WHATWG URL pattern; relative
    /// patterns and relative topics resolve against the hub URL.
    UrlPattern,
    /// The `topic` selector of the protocol's earlier revisions (v0.24): a
    /// topic matches when it equals the pattern, or when the pattern is an
    /// RFC 6570 URI template and some expansion of it is the topic.
    UriTemplate,
}

impl MatcherKind {
    /// The kind's name: the draft's `match_type` value for the two kinds it
    /// defines, and `uritemplate` for the earlier selector.
    ///
    /// ```
    /// use tidings_core::topic::MatcherKind;
    /// assert_eq!(MatcherKind::UrlPattern.name(), "urlpattern");
    /// assert_eq!(MatcherKind::UriTemplate.name(), "uritemplate");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            MatcherKind::Exact => "exact",
            MatcherKind::UrlPattern => "urlpattern",
            MatcherKind::UriTemplate => "uritemplate",
        }
    }

    /// The kind a draft `match_type` (or `match_<type>` suffix) names.
    /// Names are case-sensitive, and only the draft's two are recognised:
    /// the earlier selector has no such name on the wire.
    ///
    /// ```
    /// use tidings_core::topic::MatcherKind;
    /// assert_eq!(MatcherKind::from_match_type("exact"), Some(MatcherKind::Exact));
    /// assert_eq!(MatcherKind::from_match_type("URLPattern"), None);
    /// assert_eq!(MatcherKind::from_match_type("uritemplate"), None);
    /// ```
    pub fn from_match_type(name: &str) -> Option<MatcherKind> {
        match name {
            "exact" => Some(MatcherKind::Exact),
            "urlpattern" => Some(MatcherKind::UrlPattern),
            _ => None,
        }
    }
}

impl fmt::Display for MatcherKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fixed start that every topic a matcher matches begins with, and what
/// it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralPrefix<'a> {
    /// A start of the topic's own text (exact, URI template, wildcard).
    Raw(&'a str),
    /// A start of the topic once resolved against the matcher's base, in
    /// the form `scheme://host[:port]/path` (no credentials, query or
    /// fragment); empty when the pattern's scheme is not fixed.
    Resolved(&'a str),
}

/// A compiled topic matcher.
///
/// ```
/// use tidings_core::topic::{HubUrl, Matcher, MatcherKind, Topic};
///
/// let hub = HubUrl::parse("https://example.com/.well-known/mercure").unwrap();
/// let topic = Topic::new("/books/1").unwrap();
///
/// // Exact never resolves: the relative topic is not the absolute pattern.
/// let exact = Matcher::compile(MatcherKind::Exact, "https://example.com/books/1", Some(&hub)).unwrap();
/// assert!(!exact.matches(&topic));
///
/// // A URL pattern resolves the relative topic against the hub URL.
/// let pattern = Matcher::compile(MatcherKind::UrlPattern, "https://example.com/books/:id", Some(&hub)).unwrap();
/// assert!(pattern.matches(&topic));
/// ```
pub struct Matcher {
    kind: MatcherKind,
    pattern: Box<str>,
    compiled: Compiled,
}

enum Compiled {
    Wildcard,
    Exact,
    Template(Template),
    Url(Box<UrlMatcher>),
}

/// What makes two matchers the same: kind and pattern, and the base for a
/// URL pattern (the only kind that reads it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MatcherKey {
    kind: MatcherKind,
    pattern: Box<str>,
    base: Option<Box<str>>,
}

impl MatcherKey {
    pub(crate) fn new(kind: MatcherKind, pattern: &str, base: Option<&HubUrl>) -> MatcherKey {
        let base = match kind {
            MatcherKind::UrlPattern if pattern != "*" => base.map(|b| b.as_str().into()),
            _ => None,
        };
        MatcherKey {
            kind,
            pattern: pattern.into(),
            base,
        }
    }
}

impl Matcher {
    /// Compiles `pattern` as a matcher of `kind`. `base` is the hub URL; only
    /// [`MatcherKind::UrlPattern`] reads it (to resolve relative patterns,
    /// and relative topics at match time), the other kinds ignore it.
    ///
    /// Every pattern obeys the topic character rules and is 1 to
    /// [`MAX_PATTERN_LEN`](super::MAX_PATTERN_LEN) bytes. A
    /// [`MatcherKind::UriTemplate`] pattern that is no valid template is an
    /// error here; the earlier protocol revision let such a selector match
    /// itself only, which a caller gets by compiling it as
    /// [`MatcherKind::Exact`] instead.
    ///
    /// ```
    /// use tidings_core::topic::{Matcher, MatcherKind, PatternError, Topic};
    ///
    /// // `*` is the wildcard, whatever the kind.
    /// let all = Matcher::compile(MatcherKind::Exact, "*", None).unwrap();
    /// assert!(all.is_wildcard());
    /// assert!(all.matches(&Topic::new("anything at all").unwrap()));
    ///
    /// // A relative URL pattern needs the hub URL.
    /// assert!(matches!(
    ///     Matcher::compile(MatcherKind::UrlPattern, "/books/:id", None),
    ///     Err(PatternError::InvalidUrlPattern { .. })
    /// ));
    /// assert!(matches!(
    ///     Matcher::compile(MatcherKind::UriTemplate, "https://example.com/{id", None),
    ///     Err(PatternError::InvalidTemplate { at: 20, .. })
    /// ));
    /// ```
    pub fn compile(
        kind: MatcherKind,
        pattern: &str,
        base: Option<&HubUrl>,
    ) -> Result<Matcher, PatternError> {
        PatternError::check(pattern)?;
        let compiled = if pattern == "*" {
            Compiled::Wildcard
        } else {
            match kind {
                MatcherKind::Exact => Compiled::Exact,
                MatcherKind::UriTemplate => Compiled::Template(Template::compile(pattern)?),
                MatcherKind::UrlPattern => {
                    Compiled::Url(Box::new(UrlMatcher::compile(pattern, base)?))
                }
            }
        };
        Ok(Matcher {
            kind,
            pattern: pattern.into(),
            compiled,
        })
    }

    /// Whether `topic` matches.
    ///
    /// ```
    /// use tidings_core::topic::{Matcher, MatcherKind, Topic};
    ///
    /// let books = Matcher::compile(MatcherKind::UriTemplate, "https://example.com/books/{id}", None).unwrap();
    /// assert!(books.matches(&Topic::new("https://example.com/books/1").unwrap()));
    /// // A simple expression's value cannot hold an unencoded `/`.
    /// assert!(!books.matches(&Topic::new("https://example.com/books/1/2").unwrap()));
    /// // The earlier revision's selectors also match themselves.
    /// assert!(books.matches(&Topic::new("https://example.com/books/{id}").unwrap()));
    /// ```
    pub fn matches(&self, topic: &Topic) -> bool {
        match &self.compiled {
            Compiled::Wildcard => true,
            Compiled::Exact => *self.pattern == *topic.as_str(),
            Compiled::Template(template) => {
                *self.pattern == *topic.as_str() || template.is_match(topic.as_str())
            }
            Compiled::Url(url) => urlpat::resolve(url.base(), topic.as_str())
                .is_some_and(|resolved| url.matches_url(&resolved)),
        }
    }

    /// Like [`matches`](Matcher::matches), for a topic already resolved
    /// against this matcher's base (`None`: it is no URL reference). Kinds
    /// other than URL patterns read the text.
    pub(crate) fn matches_resolved(&self, topic: &Topic, resolved: Option<&Url>) -> bool {
        match &self.compiled {
            Compiled::Url(url) => resolved.is_some_and(|resolved| url.matches_url(resolved)),
            _ => self.matches(topic),
        }
    }

    /// The kind the matcher was compiled as.
    ///
    /// ```
    /// use tidings_core::topic::{Matcher, MatcherKind};
    /// let m = Matcher::compile(MatcherKind::UrlPattern, "*", None).unwrap();
    /// assert_eq!(m.kind(), MatcherKind::UrlPattern); // and it is the wildcard
    /// ```
    pub fn kind(&self) -> MatcherKind {
        self.kind
    }

    /// The pattern as given.
    ///
    /// ```
    /// use tidings_core::topic::{Matcher, MatcherKind};
    /// // Patterns are kept as written; the URL pattern parser's
    /// // canonical form is internal.
    /// let m = Matcher::compile(MatcherKind::UrlPattern, "HTTPS://EXAMPLE.COM/:id", None).unwrap();
    /// assert_eq!(m.pattern(), "HTTPS://EXAMPLE.COM/:id");
    /// ```
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether this is the `*` wildcard, which matches every topic.
    ///
    /// ```
    /// use tidings_core::topic::{Matcher, MatcherKind};
    /// assert!(Matcher::compile(MatcherKind::UriTemplate, "*", None).unwrap().is_wildcard());
    /// // Only the bare star is the wildcard.
    /// assert!(!Matcher::compile(MatcherKind::Exact, "**", None).unwrap().is_wildcard());
    /// ```
    pub fn is_wildcard(&self) -> bool {
        matches!(self.compiled, Compiled::Wildcard)
    }

    /// The base a URL pattern resolves against; `None` for the other kinds,
    /// which never read one.
    ///
    /// ```
    /// use tidings_core::topic::{HubUrl, Matcher, MatcherKind};
    /// let hub = HubUrl::parse("https://hub.example.com/").unwrap();
    /// let exact = Matcher::compile(MatcherKind::Exact, "/a", Some(&hub)).unwrap();
    /// assert_eq!(exact.base(), None);
    /// let url = Matcher::compile(MatcherKind::UrlPattern, "/a", Some(&hub)).unwrap();
    /// assert_eq!(url.base(), Some(&hub));
    /// ```
    pub fn base(&self) -> Option<&HubUrl> {
        match &self.compiled {
            Compiled::Url(url) => url.base(),
            _ => None,
        }
    }

    /// The fixed start of every topic this matcher matches: the whole
    /// pattern for exact, the text before the first expression for a URI
    /// template, nothing for the wildcard, and for a URL pattern the fixed
    /// start of its resolved form. A [`PatternIndex`](super::PatternIndex)
    /// buckets matchers by it.
    ///
    /// ```
    /// use tidings_core::topic::{HubUrl, LiteralPrefix, Matcher, MatcherKind};
    ///
    /// let t = Matcher::compile(MatcherKind::UriTemplate, "https://example.com/users/42/{x}", None).unwrap();
    /// assert_eq!(t.literal_prefix(), LiteralPrefix::Raw("https://example.com/users/42/"));
    ///
    /// // A relative URL pattern's prefix is that of its resolved form; the
    /// // `/` before `:id` is left out, since `/:id?` would make it optional.
    /// let hub = HubUrl::parse("https://hub.example.com/").unwrap();
    /// let u = Matcher::compile(MatcherKind::UrlPattern, "/books/:id", Some(&hub)).unwrap();
    /// assert_eq!(u.literal_prefix(), LiteralPrefix::Resolved("https://hub.example.com/books"));
    /// ```
    pub fn literal_prefix(&self) -> LiteralPrefix<'_> {
        match &self.compiled {
            Compiled::Wildcard => LiteralPrefix::Raw(""),
            Compiled::Exact => LiteralPrefix::Raw(&self.pattern),
            Compiled::Template(template) => LiteralPrefix::Raw(template.literal_prefix()),
            Compiled::Url(url) => LiteralPrefix::Resolved(url.prefix()),
        }
    }

    pub(crate) fn key(&self) -> MatcherKey {
        MatcherKey::new(self.kind, &self.pattern, self.base())
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Matcher");
        out.field("kind", &self.kind)
            .field("pattern", &&*self.pattern);
        if let Some(base) = self.base() {
            out.field("base", &base.as_str());
        }
        out.finish()
    }
}
