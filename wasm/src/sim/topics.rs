//! Topics in the simulator: what a client selects and what its token
//! grants, and the updates published to topics, checked and compiled by
//! the core's own topic types as the server checks them.
//!
//! A client's [`ClientFilter`] holds its selectors (the `match=` and
//! `match_urlpattern=` parameters of `GET /api/events`; none selects every
//! event) and its grants (the `subscribe` matchers of a token). An
//! [`Update`] is the body of `POST /api/publish`: an optional type, data,
//! topics, the private flag and an optional id of the publisher's. Both
//! are plain values; [`ClientFilter::compile`] and [`Update::to_event`]
//! turn them into what the broker routes by, refusing what the server
//! refuses. Relative URL patterns and topics resolve against [`HUB_URL`].
//!
//! The delivery rule is the core's (see `tidings_core::Broker`, Routing):
//! an event reaches a client iff it has no selectors or one of the event's
//! topics matches one, and the event is public or one of its topics
//! matches a grant.

use serde::{Deserialize, Serialize};
use tidings_core::topic::{HubUrl, Interner, MatcherKind, Topic};
use tidings_core::{Epoch, Event, EventId, Kind, SuppliedId, TopicFilter};

use crate::sim::config::SimError;

/// The simulated hub's URL: the base of relative URL patterns and topics.
pub const HUB_URL: &str = "https://example.com/.well-known/mercure";
/// Most topics one update carries, as on the server.
pub const MAX_TOPICS: usize = 32;
/// Most selectors, and most grants, one client holds.
pub const MAX_MATCHERS: usize = 32;

/// How a matcher's pattern is read; `*` is every topic under any type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchType {
    /// Byte-for-byte equality, never resolved against the hub URL.
    #[default]
    Exact,
    /// A WHATWG URL pattern; relative ones resolve against [`HUB_URL`].
    Urlpattern,
    /// Mercure v0.24's selector: equality, or an RFC 6570 URI template.
    Uritemplate,
}

impl MatchType {
    /// The core's kind for this type.
    pub fn kind(self) -> MatcherKind {
        match self {
            MatchType::Exact => MatcherKind::Exact,
            MatchType::Urlpattern => MatcherKind::UrlPattern,
            MatchType::Uritemplate => MatcherKind::UriTemplate,
        }
    }

    /// The type's name, as in a token's `match_type`.
    pub fn name(self) -> &'static str {
        self.kind().name()
    }
}

/// One selector or grant: a pattern and how it is read, shaped like a
/// topic matcher of a Mercure token (`{"match": …, "matchType": …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicMatcher {
    /// The pattern (`*`: every topic).
    #[serde(rename = "match")]
    pub pattern: String,
    /// How it is read (default `exact`).
    #[serde(default)]
    pub match_type: MatchType,
}

impl TopicMatcher {
    /// A matcher of `match_type` for `pattern`.
    pub fn new(match_type: MatchType, pattern: &str) -> TopicMatcher {
        TopicMatcher {
            pattern: pattern.to_owned(),
            match_type,
        }
    }
}

/// What a client's connections ask for and may see: its selectors (none:
/// every event, topic-less ones included) and its grants (none: no
/// private event).
///
/// ```
/// use tidings_core::topic::{Interner, Topic};
/// use tidings_wasm::sim::{ClientFilter, MatchType, TopicMatcher};
///
/// let filter = ClientFilter {
///     selectors: vec![TopicMatcher::new(MatchType::Urlpattern, "/items/:pn")],
///     grants: vec![TopicMatcher::new(MatchType::Exact, "https://example.com/items/P-001")],
/// };
/// let compiled = filter.compile(&Interner::new()).unwrap();
/// let topic = |t: &str| vec![Topic::new(t).unwrap()];
/// assert!(compiled.admits(&topic("https://example.com/items/P-002"), false));
/// assert!(!compiled.admits(&topic("https://example.com/items/P-002"), true)); // not granted
/// assert!(compiled.admits(&topic("https://example.com/items/P-001"), true));
/// assert!(!compiled.admits(&[], false)); // a selector never matches a topic-less event
///
/// let bad = ClientFilter { selectors: vec![TopicMatcher::new(MatchType::Urlpattern, "(")], grants: vec![] };
/// assert!(bad.compile(&Interner::new()).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ClientFilter {
    /// The selectors; empty selects every event.
    pub selectors: Vec<TopicMatcher>,
    /// The grants of the client's token.
    pub grants: Vec<TopicMatcher>,
}

impl ClientFilter {
    /// Compiles the filter into shared matchers (equal patterns give the
    /// same matcher, so equal filters share one route in the broker), or
    /// says which matcher does not compile.
    pub fn compile(&self, interner: &Interner) -> Result<TopicFilter, SimError> {
        if self.selectors.len() > MAX_MATCHERS || self.grants.len() > MAX_MATCHERS {
            return Err(SimError::TooManyMatchers);
        }
        let hub = HubUrl::parse(HUB_URL).expect("the hub url is absolute");
        let compile = |list: &[TopicMatcher]| {
            list.iter()
                .map(|m| interner.intern(m.match_type.kind(), &m.pattern, Some(&hub)))
                .collect::<Result<Vec<_>, _>>()
        };
        let selectors = compile(&self.selectors)?;
        Ok(TopicFilter {
            selectors: (!selectors.is_empty()).then_some(selectors),
            authorization: compile(&self.grants)?,
        })
    }
}

/// One update, as the body of `POST /api/publish` describes it.
///
/// ```
/// use tidings_core::Epoch;
/// use tidings_wasm::sim::{SimError, Update};
///
/// let epoch = Epoch::new("s1").unwrap();
/// let secret = Update {
///     topics: vec!["https://example.com/items/P-001".into()],
///     private: true,
///     ..Update::default()
/// };
/// assert!(secret.to_event(&epoch).unwrap().private);
/// let nowhere = Update { private: true, ..Update::default() };
/// assert_eq!(nowhere.to_event(&epoch), Err(SimError::PrivateWithoutTopic));
/// let forged = Update { id: Some("s1-9".into()), ..Update::default() };
/// assert!(matches!(forged.to_event(&epoch), Err(SimError::GeneratedId(_))));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Update {
    /// The SSE event type; none: a browser's `message`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// The data, any text.
    pub data: String,
    /// The topics, the first canonical (at most [`MAX_TOPICS`]).
    pub topics: Vec<String>,
    /// Whether only clients granted one of its topics receive it.
    pub private: bool,
    /// The publisher's id: the event's SSE id instead of the generated one.
    pub id: Option<String>,
}

impl Update {
    /// The event to store, checked as `POST /api/publish` checks it: a
    /// valid, unreserved type; at most [`MAX_TOPICS`] valid topics; a
    /// private update needs a topic; an id is valid and not spelled like
    /// an id of `epoch`.
    pub fn to_event(&self, epoch: &Epoch) -> Result<Event, SimError> {
        let kind = match &self.event_type {
            Some(name) => {
                let kind = Kind::new(name)?;
                if kind.is_reserved() {
                    return Err(SimError::ReservedKind(name.clone()));
                }
                Some(kind)
            }
            None => None,
        };
        if self.topics.len() > MAX_TOPICS {
            return Err(SimError::TooManyTopics);
        }
        let topics = self
            .topics
            .iter()
            .map(|t| Topic::new(t))
            .collect::<Result<Vec<_>, _>>()?;
        if self.private && topics.is_empty() {
            return Err(SimError::PrivateWithoutTopic);
        }
        let id = match &self.id {
            Some(text) => {
                let id = SuppliedId::new(text)?;
                if generated_by(text, epoch).is_some() {
                    return Err(SimError::GeneratedId(text.clone()));
                }
                Some(id)
            }
            None => None,
        };
        Ok(Event::untyped(self.data.clone())
            .with_kind(kind)
            .with_topics(topics)
            .private(self.private)
            .with_supplied_id(id))
    }
}

/// The seq of `id` when it is an id `epoch`'s history generates.
pub(super) fn generated_by(id: &str, epoch: &Epoch) -> Option<u64> {
    id.parse::<EventId>()
        .ok()
        .filter(|id| id.epoch() == epoch)
        .map(|id| id.seq())
}
