//! The query of a stream request: topic selectors, `types`, the last id.
//!
//! Parameters are decoded with a form decoder that keeps repeated names:
//!
//! - `match` and `match_exact` (exact topics, never resolved against a
//!   base) and `match_urlpattern` (WHATWG URL patterns; relative ones
//!   resolve against `--hub-url`), repeatable, in any mix. Any other name
//!   in the reserved `match` namespace (an ASCII case-insensitive `match`
//!   prefix) is refused, so a misspelt matcher type fails loudly.
//! - With `--mercure-v0` only, `topic` (an exact topic, a URI template or
//!   `*`, the earlier revision's selector) and `authorization` (the earlier
//!   revision's token parameter, read by the credentials, not here).
//! - `types` (comma-separated kinds) and `last_event_id` (the
//!   `Last-Event-ID` header wins over it).
//!
//! On the native stream no selector means every topic, topic-less events
//! included, and an unknown parameter is a 400. On the hub's
//! (`/.well-known/mercure`) a selector is required and other parameters
//! are ignored, as the protocol lets clients add their own. At most
//! [`MAX_SELECTORS`] selectors; each value obeys the protocol's character
//! rules and the pattern length bound. Any other parameter is a 400.
//! Compiled selectors are interned: streams asking for the same pattern
//! share one matcher, which lets equal filters share one route.

use std::sync::Arc;

use tidings_core::Dialect;
use tidings_core::topic::{HubUrl, Interner, Matcher, MatcherKind, has_forbidden};

use crate::http::error::ApiError;
use crate::ops::config::Config;

/// Most selectors one stream may give.
pub const MAX_SELECTORS: usize = 32;

/// Which stream a request opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /api/events`.
    Native,
    /// `GET /.well-known/mercure`, the Mercure protocol's.
    Hub,
}

/// The Mercure protocol's path for the hub's streams and publishes.
pub const HUB_PATH: &str = "/.well-known/mercure";

impl Endpoint {
    /// Its path, which metrics label requests with.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Native => "/api/events",
            Endpoint::Hub => HUB_PATH,
        }
    }

    /// How its streams spell ids and keep-alives.
    pub fn dialect(self) -> Dialect {
        match self {
            Endpoint::Native => Dialect::Native,
            Endpoint::Hub => Dialect::Mercure,
        }
    }
}

/// Splits a form-encoded `query` (or body) into its pairs, repeated names
/// kept; a name or value that does not decode to UTF-8 is a 400. Which
/// characters a value may hold is each field's rule (a publish's `data`
/// may hold line breaks; no stream parameter may).
pub fn form_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |part: &str| {
        let spaced = part.replace('+', " ");
        let text = percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map_err(|_| ApiError::bad_request(format!("{part:?} is not UTF-8")))?;
        Ok::<_, ApiError>(text.into_owned())
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// A stream request's query, decoded.
#[derive(Debug, Default, Clone)]
pub struct EventsQuery {
    /// For clients that cannot set the `Last-Event-ID` header.
    pub last_event_id: Option<String>,
    /// Comma-separated kinds to receive (control events always come).
    pub types: Option<String>,
    /// The selectors, in request order: `None` when none was given.
    pub selectors: Option<Vec<(MatcherKind, String)>>,
}

impl EventsQuery {
    /// Decodes `query` (the part after `?`) with the rules of `endpoint`;
    /// `v0` admits the earlier revision's `topic` and `authorization`
    /// parameters.
    ///
    /// ```
    /// use tidings_core::topic::MatcherKind;
    /// use tidings_host::http::selectors::{Endpoint, EventsQuery};
    /// let native = |q| EventsQuery::parse(q, false, Endpoint::Native);
    ///
    /// let q = native("match=https%3A%2F%2Fex.com%2Fa&match_urlpattern=/b/:id&match=x").unwrap();
    /// assert_eq!(q.selectors.unwrap().len(), 3);
    /// assert!(native("match_regex=.*").is_err());
    /// assert!(native("MATCHES=1").is_err());
    /// assert!(native("topic=*").is_err());
    /// let v0 = EventsQuery::parse("topic=*", true, Endpoint::Native).unwrap();
    /// assert_eq!(v0.selectors.unwrap()[0].0, MatcherKind::UriTemplate);
    /// // The hub's stream needs a selector.
    /// assert!(EventsQuery::parse("", false, Endpoint::Hub).is_err());
    /// ```
    pub fn parse(query: &str, v0: bool, endpoint: Endpoint) -> Result<EventsQuery, ApiError> {
        let mut out = EventsQuery::default();
        let mut selectors = Vec::new();
        for (name, value) in form_pairs(query)? {
            if has_forbidden(&name) || has_forbidden(&value) {
                return Err(ApiError::bad_request(format!(
                    "{name:?}: a stream parameter has no control or format character"
                )));
            }
            let kind = match name.as_str() {
                "match" | "match_exact" => MatcherKind::Exact,
                "match_urlpattern" => MatcherKind::UrlPattern,
                "topic" if v0 => MatcherKind::UriTemplate,
                "authorization" if v0 => continue,
                "last_event_id" => {
                    out.last_event_id = Some(value);
                    continue;
                }
                "types" => {
                    out.types = Some(value);
                    continue;
                }
                other if reserved(other) => {
                    return Err(ApiError::bad_request(format!(
                        "{other}: not a matcher type this hub supports \
                         (match, match_exact, match_urlpattern)"
                    )));
                }
                _ if endpoint == Endpoint::Hub => continue,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown query parameter {other:?}"
                    )));
                }
            };
            if selectors.len() == MAX_SELECTORS {
                return Err(ApiError::bad_request(format!(
                    "at most {MAX_SELECTORS} topic selectors"
                )));
            }
            selectors.push((kind, value));
        }
        if selectors.is_empty() && endpoint == Endpoint::Hub {
            return Err(ApiError::bad_request(
                "a subscription needs a topic selector (match, match_urlpattern)".to_owned(),
            ));
        }
        out.selectors = (!selectors.is_empty()).then_some(selectors);
        Ok(out)
    }
}

/// Whether `name` is in the protocol's reserved `match` namespace.
fn reserved(name: &str) -> bool {
    name.get(..5)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("match"))
}

/// Compiles selectors into shared matchers.
#[derive(Debug, Default)]
pub struct Selectors {
    interner: Interner,
    hub: Option<HubUrl>,
}

impl Selectors {
    /// Resolving relative URL patterns against `--hub-url`, if set (the
    /// configuration check has already refused a malformed one).
    pub fn from_config(config: &Config) -> Selectors {
        Selectors {
            interner: Interner::new(),
            hub: config
                .hub_url
                .as_deref()
                .and_then(|u| HubUrl::parse(u).ok()),
        }
    }

    /// The matchers of `selectors`, or a 400 naming the first bad one.
    pub fn compile(
        &self,
        selectors: &[(MatcherKind, String)],
    ) -> Result<Vec<Arc<Matcher>>, ApiError> {
        selectors
            .iter()
            .map(|(kind, pattern)| {
                self.interner
                    .intern(*kind, pattern, self.hub.as_ref())
                    .map_err(|e| ApiError::bad_request(format!("{} {pattern:?}: {e}", kind.name())))
            })
            .collect()
    }
}
