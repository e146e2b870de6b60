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
//! share one matcher, which lets equal filters share one route. The
//! decoding itself is in `form.rs`, apart from any request or state.

use std::sync::Arc;

use tidings_core::Dialect;
use tidings_core::topic::{HubUrl, Interner, Matcher, MatcherKind};

use crate::http::error::ApiError;
use crate::http::form::{self, FormError};
pub use crate::http::form::{EventsQuery, MAX_SELECTORS};
use crate::ops::config::Config;

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
/// kept; a name or value that does not decode to UTF-8 is a 400 (see
/// [`form::form_pairs`]).
pub fn form_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    form::form_pairs(query).map_err(bad_request)
}

fn bad_request(error: FormError) -> ApiError {
    ApiError::bad_request(error.0)
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
        form::events_query(query, v0, endpoint == Endpoint::Hub).map_err(bad_request)
    }
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
