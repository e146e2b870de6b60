//! Form and query decoding (`host/src/http/form.rs`): the pairs of a query
//! or body, the stream query (`selectors.rs`), the Mercure form publish
//! (`routes/mercure.rs`) and the pre-standard `authorization` query
//! parameter (`credentials/presented.rs`).
//!
//! The first input byte picks the mode. Even: the rest is a query, decoded
//! every way. Properties: no panic; when `form_pairs` accepts it,
//! `serde_urlencoded` (which the token lookup uses) reads the same pairs;
//! an accepted stream query has at most `MAX_SELECTORS` selectors, no value
//! with a control or format character, and on the hub at least one
//! selector. Odd: pairs, a stream query, a Mercure form and a token are
//! built from the input and form-encoded (`+` or `%20` for spaces, or by
//! `serde_urlencoded`); decoding gives them back.

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tidings_core::topic::{MatcherKind, has_forbidden};
use tidings_fuzz::form::{
    EventsQuery, Fields, MAX_SELECTORS, events_query, form_pairs, mercure_fields, query_token,
};

fn decode_any(query: &str) {
    let pairs = form_pairs(query);
    if let Ok(pairs) = &pairs {
        let other: Vec<(String, String)> =
            serde_urlencoded::from_str(query).expect("serde_urlencoded reads every query");
        assert_eq!(&other, pairs, "both decoders read the same pairs");
    }
    for v0 in [false, true] {
        for hub in [false, true] {
            let Ok(q) = events_query(query, v0, hub) else {
                continue;
            };
            assert!(pairs.is_ok());
            let selectors = q.selectors.as_deref().unwrap_or_default();
            assert!(selectors.len() <= MAX_SELECTORS);
            assert!(!hub || !selectors.is_empty());
            assert!(
                v0 || selectors
                    .iter()
                    .all(|(k, _)| *k != MatcherKind::UriTemplate)
            );
            for value in selectors
                .iter()
                .map(|(_, p)| p)
                .chain(&q.last_event_id)
                .chain(&q.types)
            {
                assert!(!has_forbidden(value));
            }
        }
    }
    if let Ok(fields) = mercure_fields(query) {
        assert!(!fields.topics.is_empty());
    }
    if let Ok(Some(token)) = query_token(query) {
        assert!(!token.is_empty());
    }
}

/// Form-encodes `pairs`, spelling spaces `+` or `%20` as `plus` says.
fn encode(pairs: &[(String, String)], plus: bool) -> String {
    let part = |s: &str| {
        let encoded = utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        if plus {
            encoded.replace("%20", "+")
        } else {
            encoded
        }
    };
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", part(n), part(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn clean(text: String) -> String {
    text.chars()
        .filter(|c| !has_forbidden(c.encode_utf8(&mut [0; 4])))
        .collect()
}

fn built(u: &mut Unstructured<'_>) -> Result<()> {
    let plus = bool::arbitrary(u)?;
    let pairs: Vec<(String, String)> = u.arbitrary()?;
    assert_eq!(form_pairs(&encode(&pairs, plus)).as_ref(), Ok(&pairs));
    let by_serde = serde_urlencoded::to_string(&pairs).unwrap();
    assert_eq!(form_pairs(&by_serde).as_ref(), Ok(&pairs));

    // A stream query.
    let v0 = bool::arbitrary(u)?;
    let hub = bool::arbitrary(u)?;
    let n = u.int_in_range(0..=MAX_SELECTORS)?;
    let mut selectors = Vec::new();
    let mut query = Vec::new();
    for _ in 0..n {
        let (kind, name) = *u.choose(&[
            (MatcherKind::Exact, "match"),
            (MatcherKind::Exact, "match_exact"),
            (MatcherKind::UrlPattern, "match_urlpattern"),
            (MatcherKind::UriTemplate, "topic"),
        ])?;
        if kind == MatcherKind::UriTemplate && !v0 {
            continue;
        }
        let pattern = clean(String::arbitrary(u)?);
        selectors.push((kind, pattern.clone()));
        query.push((name.to_owned(), pattern));
    }
    let last_event_id = Option::<String>::arbitrary(u)?.map(clean);
    let types = Option::<String>::arbitrary(u)?.map(clean);
    // The other parameters go anywhere among the selectors, whose order
    // is kept.
    let mut extras: Vec<(String, String)> = Vec::new();
    extras.extend(
        last_event_id
            .clone()
            .map(|v| ("last_event_id".to_owned(), v)),
    );
    extras.extend(types.clone().map(|v| ("types".to_owned(), v)));
    if v0 && bool::arbitrary(u)? {
        extras.push(("authorization".to_owned(), "a.b.c".to_owned()));
    }
    for extra in extras {
        let at = u.int_in_range(0..=query.len())?;
        query.insert(at, extra);
    }
    let decoded = events_query(&encode(&query, plus), v0, hub);
    if hub && selectors.is_empty() {
        assert!(decoded.is_err());
    } else {
        let want = EventsQuery {
            last_event_id,
            types,
            selectors: (!selectors.is_empty()).then_some(selectors),
        };
        assert_eq!(decoded, Ok(want));
    }

    // A Mercure form publish.
    let mut fields = Fields {
        kind: u.arbitrary()?,
        data: u.arbitrary()?,
        topics: u.arbitrary()?,
        private: u.arbitrary()?,
        id: u.arbitrary()?,
        retry: u.arbitrary()?,
    };
    if fields.topics.is_empty() {
        fields.topics.push("https://example.com/books/1".to_owned());
    }
    let mut form: Vec<(String, String)> = fields
        .topics
        .iter()
        .map(|t| ("topic".to_owned(), t.clone()))
        .collect();
    form.push(("data".to_owned(), fields.data.clone()));
    if fields.private {
        form.push(("private".to_owned(), "on".to_owned()));
    }
    form.extend(fields.id.clone().map(|v| ("id".to_owned(), v)));
    form.extend(fields.kind.clone().map(|v| ("type".to_owned(), v)));
    form.extend(fields.retry.map(|v| ("retry".to_owned(), v.to_string())));
    form.push(("unknown".to_owned(), "ignored".to_owned()));
    assert_eq!(mercure_fields(&encode(&form, plus)), Ok(fields));

    // The pre-standard token parameter.
    let token: String = u.arbitrary()?;
    let mut with_token = pairs
        .into_iter()
        .filter(|(n, _)| n != "authorization")
        .collect::<Vec<_>>();
    assert_eq!(query_token(&encode(&with_token, plus)), Ok(None));
    with_token.push(("authorization".to_owned(), token.clone()));
    let found = query_token(&encode(&with_token, plus));
    if token.is_empty() {
        assert!(found.is_err());
    } else {
        assert_eq!(found, Ok(Some(token)));
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(query) = std::str::from_utf8(rest) {
            decode_any(query);
        }
    } else {
        let _ = built(&mut Unstructured::new(rest));
    }
});
