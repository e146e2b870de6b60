//! WHATWG URL patterns through the `urlpattern` crate, and the hub URL that
//! relative patterns and topics resolve against.

use std::fmt;

use regex::RegexBuilder;
use url::Url;
use urlpattern::regexp::RegExp;
use urlpattern::{RegexSyntax, UrlPattern, UrlPatternInit, UrlPatternOptions};

use super::error::{PatternError, REGEX_SIZE_LIMIT};

/// The hub's own URL: the base that relative URL patterns and relative
/// topics resolve against (and nothing else: exact matchers never see it).
///
/// ```
/// use tidings_core::topic::HubUrl;
///
/// let hub = HubUrl::parse("https://hub.example.com/.well-known/mercure").unwrap();
/// assert_eq!(hub.as_str(), "https://hub.example.com/.well-known/mercure");
/// // A base must itself be absolute.
/// assert!(HubUrl::parse("/.well-known/mercure").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HubUrl {
    url: Url,
    /// The path's last segment, when it is plain unreserved text: a topic
    /// that does not contain it (and could not spell it otherwise, see
    /// [`HubUrl::reserves`]) can never resolve into the namespace.
    last_segment: Option<Box<str>>,
}

/// Why a string is not a hub URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hub url is not an absolute url: {reason}")]
pub struct HubUrlError {
    reason: String,
}

impl HubUrl {
    /// Parses an absolute URL (WHATWG URL parser, so it is also
    /// canonicalised: `HTTPS://Hub.Example.com` becomes
    /// `https://hub.example.com/`).
    ///
    /// ```
    /// use tidings_core::topic::HubUrl;
    /// let hub = HubUrl::parse("HTTPS://Hub.Example.com").unwrap();
    /// assert_eq!(hub.as_str(), "https://hub.example.com/");
    /// ```
    pub fn parse(text: &str) -> Result<HubUrl, HubUrlError> {
        let url = Url::parse(text).map_err(|err| HubUrlError {
            reason: err.to_string(),
        })?;
        let last_segment = url
            .path()
            .rsplit('/')
            .next()
            .filter(|last| !last.is_empty() && last.bytes().all(is_unreserved))
            .map(Box::from);
        Ok(HubUrl { url, last_segment })
    }

    /// The canonical URL as text.
    ///
    /// ```
    /// use tidings_core::topic::HubUrl;
    /// let hub = HubUrl::parse("https://hub.example.com:443/a/../mercure").unwrap();
    /// assert_eq!(hub.as_str(), "https://hub.example.com/mercure");
    /// ```
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The URL's origin (`scheme://host[:port]`) and its path.
    ///
    /// ```
    /// use tidings_core::topic::HubUrl;
    /// let hub = HubUrl::parse("https://hub.example.com:8443/.well-known/mercure").unwrap();
    /// assert_eq!(hub.origin(), "https://hub.example.com:8443");
    /// assert_eq!(hub.path(), "/.well-known/mercure");
    /// ```
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// The URL's path.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// Whether `topic` addresses the hub's reserved namespace: resolved
    /// against the hub URL (the WHATWG parser removes dot-segments), with
    /// percent-escapes of unreserved characters decoded, its path is the
    /// hub's path or lies below it, whatever its scheme and authority. A
    /// topic that is no URL reference addresses nothing.
    ///
    /// ```
    /// use tidings_core::topic::HubUrl;
    /// let hub = HubUrl::parse("https://hub.example.com/.well-known/mercure").unwrap();
    /// for reserved in [
    ///     "/.well-known/mercure",
    ///     "/.well-known/mercure/subscriptions/x",
    ///     "/.well-known/%6Dercure/x",
    ///     "/a/../.well-known/mercure/x",
    ///     "https://elsewhere.example/.well-known/mercure",
    /// ] {
    ///     assert!(hub.reserves(reserved), "{reserved}");
    /// }
    /// for free in ["/.well-known/mercurex", "https://example.com/books/1", "urn:isbn:1", "*x"] {
    ///     assert!(!hub.reserves(free), "{free}");
    /// }
    /// ```
    pub fn reserves(&self, topic: &str) -> bool {
        self.may_reserve(topic) && self.reserves_by_resolving(topic)
    }

    /// What [`reserves`](Self::reserves) answers, always found by
    /// resolving `topic`: the reference its shortcut is checked against.
    #[doc(hidden)]
    pub fn reserves_by_resolving(&self, topic: &str) -> bool {
        let Ok(url) = self.url.join(topic) else {
            return false;
        };
        if url.cannot_be_a_base() {
            return false;
        }
        let path = decode_unreserved(url.path());
        let hub = decode_unreserved(self.url.path());
        let hub = hub.trim_end_matches('/');
        path == hub
            || path
                .strip_prefix(hub)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// False only for a topic that cannot resolve into the namespace,
    /// decided without parsing it. A path in the namespace ends the hub's
    /// path with its last segment, and resolving against the hub keeps at
    /// most the hub's directory, which lacks it: so the segment's letters
    /// come from the topic, verbatim unless it holds a percent-escape, or a
    /// tab or newline (which the URL parser drops). The exceptions keep the
    /// whole hub path: a reference that is empty, or only a query or a
    /// fragment (after the leading spaces and controls the parser strips).
    fn may_reserve(&self, topic: &str) -> bool {
        let Some(last) = &self.last_segment else {
            return true;
        };
        let keeps_hub_path = match topic.as_bytes().first() {
            None => true,
            Some(&first) => first <= b' ' || first == b'?' || first == b'#',
        };
        keeps_hub_path
            || topic
                .bytes()
                .any(|b| matches!(b, b'%' | b'\t' | b'\n' | b'\r'))
            || topic.contains(&**last)
    }
}

/// An RFC 3986 unreserved character: a letter, a digit, `-`, `.`, `_`, `~`.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// `path` with percent-escapes of unreserved characters (RFC 3986:
/// letters, digits, `-`, `.`, `_`, `~`) decoded, and the dot-segments that
/// decoding reveals removed.
fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%'
            && let Some(hex) = path.get(at + 1..at + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
            && is_unreserved(byte)
        {
            out.push(char::from(byte));
            at += 3;
            continue;
        }
        let c = path[at..].chars().next().expect("at a char boundary");
        out.push(c);
        at += c.len_utf8();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in out.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    format!("/{}", segments.join("/"))
}

impl fmt::Debug for HubUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HubUrl({:?})", self.url.as_str())
    }
}

impl fmt::Display for HubUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// Resolves `topic` against `base` with the WHATWG URL parser; `None` when
/// it is no URL reference (such a topic matches no URL pattern).
pub(crate) fn resolve(base: Option<&HubUrl>, topic: &str) -> Option<Url> {
    Url::options()
        .base_url(base.map(HubUrl::url))
        .parse(topic)
        .ok()
}

/// Schemes whose URLs always serialise as `scheme://host[:port]/path`, so
/// that a literal prefix can be read off a pattern's components.
const PREFIXED_SCHEMES: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// The part of a resolved topic that URL pattern prefixes are compared
/// with: `scheme://host[:port]path`, without credentials, query or
/// fragment. Empty for URLs of other schemes.
pub(crate) fn resolved_key(url: &Url) -> String {
    let Some(host) = url
        .host_str()
        .filter(|_| PREFIXED_SCHEMES.contains(&url.scheme()))
    else {
        return String::new();
    };
    let mut key = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push_str(url.path());
    key
}

/// A compiled URL pattern with the base it was compiled against.
#[derive(Debug)]
pub(crate) struct UrlMatcher {
    pattern: UrlPattern<BoundedRegex>,
    base: Option<HubUrl>,
    /// Every matching topic's [`resolved_key`] starts with this.
    prefix: String,
}

impl UrlMatcher {
    /// Compiles `pattern`, resolving it against `base` when it is relative.
    pub(crate) fn compile(
        pattern: &str,
        base: Option<&HubUrl>,
    ) -> Result<UrlMatcher, PatternError> {
        let invalid = |err: urlpattern::Error| PatternError::InvalidUrlPattern {
            reason: match err {
                // The crate reports every refusal of a group's regular
                // expression alike; say what the two causes are.
                urlpattern::Error::RegExp(()) => {
                    "a regexp group is not valid in the regex crate's syntax \
                     (no look-around, no backreferences) or compiles past the size bound"
                        .to_owned()
                }
                err => err.to_string(),
            },
        };
        let init = UrlPatternInit::parse_constructor_string::<BoundedRegex>(
            pattern,
            base.map(|b| b.url().clone()),
        )
        .map_err(invalid)?;
        // `ignore_case` stays off, as the protocol requires.
        let options = UrlPatternOptions {
            regex_syntax: RegexSyntax::Rust,
            ignore_case: false,
        };
        let pattern = <UrlPattern<BoundedRegex>>::parse(init, options).map_err(invalid)?;
        let prefix = literal_prefix(&pattern);
        Ok(UrlMatcher {
            pattern,
            base: base.cloned(),
            prefix,
        })
    }

    /// Whether the topic, resolved already, matches.
    ///
    /// This is `UrlPattern::test` less its match result: each component's
    /// matcher is run on the same component text the crate would take from
    /// the URL, and the topic matches when all of them do. Skipping the
    /// result (eight maps of named groups, eight owned strings) makes a
    /// match about ten times cheaper, and the conjunction stops at the
    /// first component that fails, the path first.
    pub(crate) fn matches_url(&self, url: &Url) -> bool {
        let p = &self.pattern;
        let fits = |component: &urlpattern::component::Component<BoundedRegex>, text: &str| {
            component.matcher.matches(text).is_some()
        };
        fits(&p.pathname, url::quirks::pathname(url))
            && fits(&p.hostname, url.host_str().unwrap_or_default())
            && fits(&p.protocol, url.scheme())
            && fits(&p.port, url::quirks::port(url))
            && fits(&p.username, url.username())
            && fits(&p.password, url.password().unwrap_or_default())
            && fits(&p.search, url.query().unwrap_or_default())
            && fits(&p.hash, url.fragment().unwrap_or_default())
    }

    pub(crate) fn base(&self) -> Option<&HubUrl> {
        self.base.as_ref()
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// The fixed start of every URL this pattern matches, in the form of
/// [`resolved_key`]; empty when the protocol is not a fixed special scheme.
fn literal_prefix(pattern: &UrlPattern<BoundedRegex>) -> String {
    let protocol = pattern.protocol();
    if !PREFIXED_SCHEMES.contains(&protocol) {
        return String::new();
    }
    let mut prefix = format!("{protocol}://");
    // Credentials are left out of the key, so the username and password
    // components (`*` unless given) do not interrupt the prefix.
    let (host, host_fixed) = fixed_start(pattern.hostname());
    prefix.push_str(host);
    if !host_fixed {
        return prefix;
    }
    match fixed_start(pattern.port()) {
        ("", true) => {}
        (port, true) => {
            prefix.push(':');
            prefix.push_str(port);
        }
        (_, false) => return prefix,
    }
    let (path, path_fixed) = fixed_start(pattern.pathname());
    // In a pathname, a group written after `/` takes that `/` as its own
    // prefix, which a modifier can make optional (`/books/:id?` matches
    // `/books`): the slash is not part of the fixed start.
    let path = if path_fixed {
        path
    } else {
        path.strip_suffix('/').unwrap_or(path)
    };
    prefix.push_str(path);
    prefix
}

/// The text of a component pattern before its first special character, and
/// whether that is the whole pattern.
fn fixed_start(component: &str) -> (&str, bool) {
    match component.find([':', '*', '(', ')', '{', '}', '\\', '?', '+']) {
        Some(end) => (&component[..end], false),
        None => (component, true),
    }
}

/// The `regex` crate behind URL patterns, with the compiled size bounded:
/// its matching is linear-time, as the protocol requires, and the bound
/// keeps one pattern from holding megabytes.
#[derive(Debug)]
pub(crate) struct BoundedRegex(regex::Regex);

impl RegExp for BoundedRegex {
    fn syntax() -> RegexSyntax {
        RegexSyntax::Rust
    }

    fn parse(pattern: &str, _flags: &str, _force_eval: bool) -> Result<Self, ()> {
        // The only flag passed is `u` (Unicode, the crate's default), or `i`
        // with `ignore_case`, which is never set here.
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(BoundedRegex)
            .map_err(|_| ())
    }

    fn matches<'a>(&self, text: &'a str) -> Option<Vec<Option<&'a str>>> {
        let captures = self.0.captures(text)?;
        Some(
            captures
                .iter()
                .skip(1)
                .map(|c| c.map(|m| m.as_str()))
                .collect(),
        )
    }

    fn pattern_string(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_namespace_shortcut_answers_as_resolving_does() {
        let hubs = [
            "https://hub.example.com/.well-known/mercure",
            "https://hub.example.com/.well-known/mercure/",
            "https://hub.example.com/",
            "https://hub.example.com/a/mercure",
            "https://hub.example.com/mercure/mercure",
            "https://hub.example.com/my%20hub",
            "https://hub.example.com/%6Dercure",
            "http://127.0.0.1:8080/.well-known/mercure",
        ];
        let starts = [
            "",
            " ",
            "\t",
            "?",
            "#",
            "/",
            "//",
            ".",
            "..",
            "./",
            "../",
            "https://hub.example.com",
            "https://elsewhere.example",
            "HTTPS://HUB.example.com:443",
            "urn:x:",
            "a:",
            "file:",
        ];
        let middles = [
            "",
            ".well-known",
            "/.well-known",
            "%2Ewell-known",
            "mercure",
            "/mercure",
            "%6Dercure",
            "merc\ture",
            "merc\nure",
            "MERCURE",
            "mercurex",
            "a",
            "/a/..",
            "/%2E%2E",
            "\\mercure",
            "my hub",
            "my%20hub",
            "%",
        ];
        let ends = ["", "/", "/x", "?q", "#f", "/..", " ", "\n"];
        let mut checked = 0;
        for hub in hubs {
            let hub = HubUrl::parse(hub).unwrap();
            for start in starts {
                for a in middles {
                    for b in middles {
                        for end in ends {
                            let topic = format!("{start}{a}{b}{end}");
                            assert_eq!(
                                hub.reserves(&topic),
                                hub.reserves_by_resolving(&topic),
                                "{hub:?} and {topic:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 300_000);
    }

    fn prefix(pattern: &str) -> String {
        UrlMatcher::compile(pattern, None)
            .unwrap()
            .prefix()
            .to_owned()
    }

    #[test]
    fn a_stray_bracket_in_the_host_compiles_as_the_standard_says() {
        // The standard's bracket depth is signed; the crate's is unsigned and
        // wraps to the same result, which the workspace profile lets debug
        // builds do as release builds do (found by fuzzing).
        for pattern in ["https://a]b", "https://a]b/:id", "https://]]x[:8080/"] {
            // Panicked here under overflow checks before.
            let _ = UrlMatcher::compile(pattern, None);
        }
    }

    #[test]
    fn prefixes_follow_the_canonical_components() {
        assert_eq!(
            prefix("https://example.com/books/:id"),
            "https://example.com/books"
        );
        assert_eq!(
            prefix("https://EXAMPLE.com/books/1"),
            "https://example.com/books/1"
        );
        assert_eq!(
            prefix("https://example.com:443/a/*"),
            "https://example.com/a"
        );
        assert_eq!(
            prefix("https://example.com:8443/a/*"),
            "https://example.com:8443/a"
        );
        assert_eq!(prefix("https://example.com:*/a"), "https://example.com");
        assert_eq!(prefix("https://*.example.com/a"), "https://");
        assert_eq!(
            prefix("https://example.com/caf\u{e9}/:id"),
            "https://example.com/caf%C3%A9"
        );
        assert_eq!(
            prefix("https://example.com/a/../b/:id"),
            "https://example.com/b"
        );
        assert_eq!(prefix("https://example.com/{a}?/b"), "https://example.com");
        assert_eq!(prefix("*://example.com/a"), "");
        assert_eq!(prefix("urn\\:x\\:*"), "");
    }

    #[test]
    fn keys_leave_out_credentials_query_and_fragment() {
        let url = Url::parse("HTTPS://u:p@Example.COM:443/a%20b?q#f").unwrap();
        assert_eq!(resolved_key(&url), "https://example.com/a%20b");
        let url = Url::parse("wss://example.com:9/x").unwrap();
        assert_eq!(resolved_key(&url), "wss://example.com:9/x");
        assert_eq!(resolved_key(&Url::parse("urn:isbn:1").unwrap()), "");
        assert_eq!(resolved_key(&Url::parse("file:///tmp/x").unwrap()), "");
    }

    #[test]
    fn component_matching_agrees_with_the_crate() {
        let hub = HubUrl::parse("https://example.com/.well-known/mercure").unwrap();
        let patterns = [
            "https://example.com/books/:id",
            "https://example.com/books/:id?",
            "/books/(\\d+)",
            "https://u:p@example.com:8443/a/*?q=:v#:h",
            "http{s}?://*.example.com/*",
            "*",
        ];
        let topics = [
            "https://example.com/books/1",
            "https://example.com/books",
            "/books/12",
            "/books/x",
            "https://u:p@example.com:8443/a/b?q=1#top",
            "https://u:p@example.com:8443/a/b?r=1#top",
            "http://api.example.com/x",
            "urn:isbn:1",
        ];
        let mut outcomes = [0, 0];
        for pattern in patterns {
            let m = UrlMatcher::compile(pattern, Some(&hub)).unwrap();
            for topic in topics {
                let url = resolve(Some(&hub), topic).unwrap();
                let expected = m
                    .pattern
                    .test(urlpattern::UrlPatternMatchInput::Url(url.clone()))
                    .unwrap();
                assert_eq!(m.matches_url(&url), expected, "{pattern} {topic}");
                outcomes[usize::from(expected)] += 1;
            }
        }
        assert!(outcomes[0] >= 10 && outcomes[1] >= 10, "{outcomes:?}");
    }

    #[test]
    fn oversized_regular_expressions_are_refused() {
        let err = UrlMatcher::compile(r"https://example.com/(\w{500}){500}", None).unwrap_err();
        assert!(
            matches!(err, PatternError::InvalidUrlPattern { .. }),
            "{err:?}"
        );
    }
}
