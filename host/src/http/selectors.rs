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
//! No selector means every topic, topic-less events included. At most
//! [`MAX_SELECTORS`] selectors; each value obeys the protocol's character
//! rules and the pattern length bound. Any other parameter is a 400.
//! Compiled selectors are interned: streams asking for the same pattern
//! share one matcher, which lets equal filters share one route.

use std::sync::Arc;

use tidings_core::topic::{HubUrl, Interner, Matcher, MatcherKind};

use crate::http::error::ApiError;
use crate::ops::config::Config;

/// Most selectors one stream may give.
pub const MAX_SELECTORS: usize = 32;

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
    /// Decodes `query` (the part after `?`); `v0` admits the earlier
    /// revision's `topic` and `authorization` parameters.
    ///
    /// ```
    /// use tidings_core::topic::MatcherKind;
    /// use tidings_host::http::selectors::EventsQuery;
    ///
    /// let q = EventsQuery::parse("match=https%3A%2F%2Fex.com%2Fa&match_urlpattern=/b/:id&match=x", false).unwrap();
    /// assert_eq!(q.selectors.unwrap().len(), 3);
    /// assert!(EventsQuery::parse("match_regex=.*", false).is_err());
    /// assert!(EventsQuery::parse("MATCHES=1", false).is_err());
    /// assert!(EventsQuery::parse("topic=*", false).is_err());
    /// assert_eq!(EventsQuery::parse("topic=*", true).unwrap().selectors.unwrap()[0].0, MatcherKind::UriTemplate);
    /// ```
    pub fn parse(query: &str, v0: bool) -> Result<EventsQuery, ApiError> {
        let mut out = EventsQuery::default();
        let mut selectors = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let kind = match &*name {
                "match" | "match_exact" => MatcherKind::Exact,
                "match_urlpattern" => MatcherKind::UrlPattern,
                "topic" if v0 => MatcherKind::UriTemplate,
                "authorization" if v0 => continue,
                "last_event_id" => {
                    out.last_event_id = Some(value.into_owned());
                    continue;
                }
                "types" => {
                    out.types = Some(value.into_owned());
                    continue;
                }
                other if reserved(other) => {
                    return Err(ApiError::bad_request(format!(
                        "{other}: not a matcher type this hub supports \
                         (match, match_exact, match_urlpattern)"
                    )));
                }
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
            selectors.push((kind, value.into_owned()));
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
