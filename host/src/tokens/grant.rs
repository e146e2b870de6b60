//! What a valid token allows: publish and subscribe selectors, parsed from
//! the draft's `authorization_details` or the pre-standard `mercure` claim.

use serde_json::{Map, Value};

use super::error::TokenError;

/// The `type` of a Mercure authorization detail (compared byte by byte).
pub const DETAIL_TYPE: &str = "https://mercure.rocks/authorization-detail";

/// How a [`Selector`]'s pattern is matched against topics. Compiling the
/// pattern happens elsewhere; a pattern that does not compile there must
/// refuse the token as `invalid_token` too (the draft forbids acting on the
/// remaining entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectorKind {
    /// `*`: every topic, whatever the matcher type said.
    Any,
    /// Byte-for-byte equality (the draft's `exact`, and pre-standard
    /// selectors without a `{`).
    Exact,
    /// A WHATWG URL pattern (the draft's `urlpattern`), relative patterns
    /// resolved against the hub's URL.
    UrlPattern,
    /// An RFC 6570 URI template (pre-standard selectors with a `{`): a topic
    /// matches when it equals the template or is one of its expansions.
    UriTemplate,
}

/// One topic matcher of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    /// How to match.
    pub kind: SelectorKind,
    /// The pattern, as the token gave it (`*` for [`SelectorKind::Any`]).
    pub pattern: String,
}

impl Selector {
    /// A selector of `kind` for `pattern`.
    pub fn new(kind: SelectorKind, pattern: impl Into<String>) -> Self {
        Self {
            kind,
            pattern: pattern.into(),
        }
    }
}

/// What a valid token allows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grant {
    /// Topics the bearer may publish to (empty: none).
    pub publish: Vec<Selector>,
    /// Topics whose private updates the bearer may receive (empty: none).
    pub subscribe: Vec<Selector>,
    /// The token's `exp` (seconds since the epoch): a stream opened with
    /// this token must end by then. `None` only for pre-standard tokens.
    pub expires_at: Option<u64>,
    /// The token's `sub`, when present.
    pub subject: Option<String>,
}

/// Bounds on what one token may carry; a token past any of them is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole token, in bytes.
    pub max_token_bytes: usize,
    /// Mercure authorization details in one token.
    pub max_details: usize,
    /// Entries in one `topics` array (or one pre-standard `publish` or
    /// `subscribe` array).
    pub max_topics: usize,
    /// One pattern, in bytes.
    pub max_pattern_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_token_bytes: 8 * 1024,
            max_details: 32,
            max_topics: 64,
            max_pattern_bytes: 1024,
        }
    }
}

/// Parses the draft's `authorization_details` claim (absent: no grants).
/// Entries of other types are ignored; one bad Mercure entry refuses the
/// whole token. Unknown actions are ignored, as the draft requires.
pub(super) fn from_details(details: Option<&Value>, limits: &Limits) -> Result<Grant, TokenError> {
    let mut grant = Grant::default();
    let Some(details) = details else {
        return Ok(grant);
    };
    let entries = details
        .as_array()
        .ok_or_else(|| invalid("authorization_details is not an array"))?;
    let mut mercure = 0;
    for entry in entries {
        let entry = entry
            .as_object()
            .ok_or_else(|| invalid("an authorization detail is not an object"))?;
        let kind = entry
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("an authorization detail has no string type"))?;
        if kind != DETAIL_TYPE {
            continue;
        }
        mercure += 1;
        if mercure > limits.max_details {
            return Err(TokenError::LimitExceeded(format!(
                "more than {} Mercure authorization details",
                limits.max_details
            )));
        }
        let (publish, subscribe) = actions(entry)?;
        let topics = topics(entry, limits)?;
        if let Some(payload) = entry.get("payload")
            && !payload.is_object()
        {
            return Err(invalid("a payload is not an object"));
        }
        if publish {
            grant.publish.extend(topics.iter().cloned());
        }
        if subscribe {
            grant.subscribe.extend(topics);
        }
    }
    Ok(grant)
}

/// Parses the pre-standard `mercure` claim: `{"publish": [..], "subscribe":
/// [..], "payload": ..}`, each list of selectors optional.
pub(super) fn from_legacy(claim: &Value, limits: &Limits) -> Result<Grant, TokenError> {
    let claim = claim
        .as_object()
        .ok_or_else(|| invalid("the mercure claim is not an object"))?;
    Ok(Grant {
        publish: legacy_list(claim, "publish", limits)?,
        subscribe: legacy_list(claim, "subscribe", limits)?,
        ..Grant::default()
    })
}

fn legacy_list(
    claim: &Map<String, Value>,
    name: &str,
    limits: &Limits,
) -> Result<Vec<Selector>, TokenError> {
    let Some(list) = claim.get(name) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| invalid(&format!("mercure.{name} is not an array")))?;
    if list.len() > limits.max_topics {
        return Err(too_many_topics(limits));
    }
    list.iter()
        .map(|selector| {
            let selector = selector
                .as_str()
                .ok_or_else(|| invalid(&format!("mercure.{name} holds a non-string")))?;
            check_pattern(selector, limits)?;
            let kind = if selector == "*" {
                SelectorKind::Any
            } else if selector.contains('{') {
                SelectorKind::UriTemplate
            } else {
                // A URI template without expressions matches only itself.
                SelectorKind::Exact
            };
            Ok(Selector::new(kind, selector))
        })
        .collect()
}

/// Whether the detail grants (publish, subscribe).
fn actions(entry: &Map<String, Value>) -> Result<(bool, bool), TokenError> {
    let actions = entry
        .get("actions")
        .and_then(Value::as_array)
        .filter(|actions| !actions.is_empty())
        .ok_or_else(|| invalid("a Mercure detail has no actions array"))?;
    let (mut publish, mut subscribe) = (false, false);
    for action in actions {
        match action.as_str() {
            Some("publish") => publish = true,
            Some("subscribe") => subscribe = true,
            Some(_) => {}
            None => return Err(invalid("an action is not a string")),
        }
    }
    Ok((publish, subscribe))
}

fn topics(entry: &Map<String, Value>, limits: &Limits) -> Result<Vec<Selector>, TokenError> {
    let topics = entry
        .get("topics")
        .and_then(Value::as_array)
        .filter(|topics| !topics.is_empty())
        .ok_or_else(|| invalid("a Mercure detail has no topics array"))?;
    if topics.len() > limits.max_topics {
        return Err(too_many_topics(limits));
    }
    topics
        .iter()
        .map(|topic| {
            let topic = topic
                .as_object()
                .ok_or_else(|| invalid("a topic matcher is not an object"))?;
            let pattern = topic
                .get("match")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("a topic matcher has no string match"))?;
            // The type is checked before the wildcard is recognised: an
            // unsupported type refuses the token even for `*`.
            let kind = match topic.get("match_type") {
                None => SelectorKind::Exact,
                Some(Value::String(kind)) if kind == "exact" => SelectorKind::Exact,
                Some(Value::String(kind)) if kind == "urlpattern" => SelectorKind::UrlPattern,
                Some(_) => return Err(invalid("unsupported match_type")),
            };
            check_pattern(pattern, limits)?;
            let kind = if pattern == "*" {
                SelectorKind::Any
            } else {
                kind
            };
            Ok(Selector::new(kind, pattern))
        })
        .collect()
}

fn check_pattern(pattern: &str, limits: &Limits) -> Result<(), TokenError> {
    if pattern.len() > limits.max_pattern_bytes {
        return Err(TokenError::LimitExceeded(format!(
            "a pattern longer than {} bytes",
            limits.max_pattern_bytes
        )));
    }
    // The draft forbids C0, DEL and C1 controls in topics and matchers.
    if pattern.chars().any(char::is_control) {
        return Err(invalid("a pattern holds a control character"));
    }
    Ok(())
}

fn too_many_topics(limits: &Limits) -> TokenError {
    TokenError::LimitExceeded(format!(
        "more than {} topic matchers in one list",
        limits.max_topics
    ))
}

fn invalid(why: &str) -> TokenError {
    TokenError::InvalidClaims(why.to_owned())
}
