//! Form-encoded text as the HTTP layer reads it: the pairs of a query or
//! an `application/x-www-form-urlencoded` body, the stream query
//! (`selectors.rs`), the Mercure form publish (`routes/mercure.rs`) and the
//! pre-standard `authorization` query parameter (`credentials/`).
//!
//! Pure decoding: no request, no state, no HTTP types; a refusal is a
//! [`FormError`] holding the message the caller answers 400 with. It names
//! only std, `percent-encoding`, `serde_urlencoded` and the core's topic
//! character rules, so the fuzz crate compiles it on its own.

use tidings_core::topic::{MatcherKind, has_forbidden};

/// Most selectors one stream may give.
pub const MAX_SELECTORS: usize = 32;

/// Why a form does not decode: the message of the 400 that refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError(pub String);

fn refuse(message: String) -> FormError {
    FormError(message)
}

/// Splits a form-encoded `query` (or body) into its pairs, repeated names
/// kept; a name or value that does not decode to UTF-8 is refused. Which
/// characters a value may hold is each field's rule (a publish's `data`
/// may hold line breaks; no stream parameter may).
///
/// ```
/// use tidings_host::http::form::form_pairs;
/// let pairs = form_pairs("a=1&&b&a=x+y%21").unwrap();
/// assert_eq!(pairs, [("a", "1"), ("b", ""), ("a", "x y!")].map(|(n, v)| (n.into(), v.into())));
/// assert!(form_pairs("a=%FF").is_err());
/// ```
pub fn form_pairs(query: &str) -> Result<Vec<(String, String)>, FormError> {
    let decode = |part: &str| {
        let spaced = part.replace('+', " ");
        let text = percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map_err(|_| refuse(format!("{part:?} is not UTF-8")))?;
        Ok::<_, FormError>(text.into_owned())
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
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EventsQuery {
    /// For clients that cannot set the `Last-Event-ID` header.
    pub last_event_id: Option<String>,
    /// Comma-separated kinds to receive (control events always come).
    pub types: Option<String>,
    /// The selectors, in request order: `None` when none was given.
    pub selectors: Option<Vec<(MatcherKind, String)>>,
}

/// Decodes a stream's `query` (the part after `?`) with the rules that
/// `selectors.rs` describes: `v0` admits the earlier revision's `topic` and
/// `authorization` parameters, and `hub` says the stream is the hub's
/// (`/.well-known/mercure`), where a selector is required and unknown
/// parameters are ignored rather than refused.
pub fn events_query(query: &str, v0: bool, hub: bool) -> Result<EventsQuery, FormError> {
    let mut out = EventsQuery::default();
    let mut selectors = Vec::new();
    for (name, value) in form_pairs(query)? {
        if has_forbidden(&name) || has_forbidden(&value) {
            return Err(refuse(format!(
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
                return Err(refuse(format!(
                    "{other}: not a matcher type this hub supports \
                     (match, match_exact, match_urlpattern)"
                )));
            }
            _ if hub => continue,
            other => return Err(refuse(format!("unknown query parameter {other:?}"))),
        };
        if selectors.len() == MAX_SELECTORS {
            return Err(refuse(format!("at most {MAX_SELECTORS} topic selectors")));
        }
        selectors.push((kind, value));
    }
    if selectors.is_empty() && hub {
        return Err(refuse(
            "a subscription needs a topic selector (match, match_urlpattern)".to_owned(),
        ));
    }
    out.selectors = (!selectors.is_empty()).then_some(selectors);
    Ok(out)
}

/// Whether `name` is in the protocol's reserved `match` namespace.
fn reserved(name: &str) -> bool {
    name.get(..5)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("match"))
}

/// An event's fields as a publisher sent them, before any check.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fields {
    /// The SSE event name, if any.
    pub kind: Option<String>,
    /// The payload.
    pub data: String,
    /// The topics, the first canonical.
    pub topics: Vec<String>,
    /// Whether only granted streams may receive it.
    pub private: bool,
    /// The publisher's id for it, if any.
    pub id: Option<String>,
    /// A reconnection delay for the client, in milliseconds.
    pub retry: Option<u64>,
}

/// The fields of a Mercure form publish body: `topic` (repeatable, at
/// least one), `data`, `private` (its presence alone), `id`, `type` and
/// `retry` (digits only); unknown fields are ignored, and of a repeated
/// single field the last wins.
///
/// ```
/// use tidings_host::http::form::mercure_fields;
/// let fields = mercure_fields("topic=%2Fa&topic=b&data=x%0Ay&private=&retry=15").unwrap();
/// assert_eq!(fields.topics, ["/a", "b"]);
/// assert_eq!((fields.data.as_str(), fields.private, fields.retry), ("x\ny", true, Some(15)));
/// assert!(mercure_fields("data=x").is_err());
/// assert!(mercure_fields("topic=a&retry=-1").is_err());
/// ```
pub fn mercure_fields(body: &str) -> Result<Fields, FormError> {
    let mut fields = Fields::default();
    let mut data = None;
    for (name, value) in form_pairs(body)? {
        match name.as_str() {
            "topic" => fields.topics.push(value),
            "data" => data = Some(value),
            "private" => fields.private = true,
            "id" => fields.id = Some(value),
            "type" => fields.kind = Some(value),
            "retry" => {
                let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                let ms = value.parse().ok().filter(|_| digits).ok_or_else(|| {
                    refuse(format!("retry: {value:?} is not a number of milliseconds"))
                })?;
                fields.retry = Some(ms);
            }
            _ => {} // the protocol: unknown fields are ignored
        }
    }
    if fields.topics.is_empty() {
        return Err(refuse("topic: an update needs at least one".to_owned()));
    }
    fields.data = data.unwrap_or_default();
    Ok(fields)
}

/// The `authorization` query parameter of `query`, if present once; the
/// error is why the query is refused (it does not parse, the parameter is
/// repeated, or it is empty).
///
/// ```
/// use tidings_host::http::form::query_token;
/// assert_eq!(query_token("topic=a&authorization=t%2Bk").unwrap().as_deref(), Some("t+k"));
/// assert_eq!(query_token("topic=a").unwrap(), None);
/// assert!(query_token("authorization=a&authorization=b").is_err());
/// assert!(query_token("authorization=").is_err());
/// ```
pub fn query_token(query: &str) -> Result<Option<String>, &'static str> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| "the query string does not parse")?;
    let mut tokens = pairs.into_iter().filter(|(k, _)| k == "authorization");
    let Some((_, token)) = tokens.next() else {
        return Ok(None);
    };
    if tokens.next().is_some() {
        return Err("more than one authorization query parameter");
    }
    if token.is_empty() {
        return Err("the access token is empty");
    }
    Ok(Some(token))
}
