//! The claim-to-grant conversion of access tokens (`host/src/tokens/
//! grant.rs`): the draft's `authorization_details` and the pre-standard
//! `mercure` claim, from any JSON value (input that is not JSON is
//! skipped), directly and through `validate` with the value signed into a
//! token.
//!
//! Properties: no panic. A grant holds only selectors the input gave: each
//! publish (subscribe) pattern is the `match` of a topic of a Mercure
//! detail whose actions include `publish` (`subscribe`), or, pre-standard,
//! exactly the claim's `publish` (`subscribe`) list in order; `*` and only
//! `*` is the wildcard, pre-standard patterns with `{` are URI templates
//! and draft patterns never are; every pattern is within the length bound
//! and holds no control character. `validate` on the signed token accepts
//! exactly when the conversion does, with the same selectors.

#![no_main]

use std::sync::LazyLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tidings_fuzz::claims::{self, Grant, Limits, Selector, SelectorKind};
use tidings_fuzz::tokens::{self, TokenRules, Verifier};

const DETAIL_TYPE: &str = "https://mercure.rocks/authorization-detail";
const SECRET: &[u8] = b"a secret of at least thirty-two bytes, for fuzzing";
const NOW: u64 = 1_700_000_000;

static VERIFIER: LazyLock<Verifier> =
    LazyLock::new(|| Verifier::from_secret(SECRET, &["HS256"]).unwrap());

fn limits() -> Limits {
    Limits {
        max_details: 4,
        max_topics: 8,
        max_pattern_bytes: 64,
        ..Limits::default()
    }
}

fn well_formed(selectors: &[Selector], limits: &Limits) {
    for s in selectors {
        assert_eq!(s.kind == SelectorKind::Any, s.pattern == "*", "{s:?}");
        assert!(s.pattern.len() <= limits.max_pattern_bytes);
        assert!(!s.pattern.chars().any(char::is_control));
    }
}

/// The patterns the Mercure details of `details` grant for `action`.
fn granted(details: &Value, action: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in details.as_array().into_iter().flatten() {
        if entry.get("type").and_then(Value::as_str) != Some(DETAIL_TYPE) {
            continue;
        }
        let acts = entry.get("actions").and_then(Value::as_array);
        if !acts.is_some_and(|a| a.iter().any(|x| x.as_str() == Some(action))) {
            continue;
        }
        let topics = entry.get("topics").and_then(Value::as_array);
        for topic in topics.into_iter().flatten() {
            if let Some(pattern) = topic.get("match").and_then(Value::as_str) {
                out.push(pattern.to_owned());
            }
        }
    }
    out
}

fn check_details(details: &Value, grant: &Grant, limits: &Limits) {
    for (list, action) in [(&grant.publish, "publish"), (&grant.subscribe, "subscribe")] {
        well_formed(list, limits);
        let allowed = granted(details, action);
        for s in list {
            assert!(allowed.contains(&s.pattern), "{s:?} was not granted");
            assert_ne!(s.kind, SelectorKind::UriTemplate);
        }
        assert!(list.len() <= limits.max_details * limits.max_topics);
    }
    assert_eq!((grant.expires_at, &grant.subject), (None, &None));
}

fn check_legacy(claim: &Value, grant: &Grant, limits: &Limits) {
    for (list, name) in [(&grant.publish, "publish"), (&grant.subscribe, "subscribe")] {
        well_formed(list, limits);
        let given: Vec<&str> = claim
            .get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
            .unwrap_or_default();
        let got: Vec<&str> = list.iter().map(|s| s.pattern.as_str()).collect();
        assert_eq!(got, given, "mercure.{name} given back in order");
        for s in list {
            let template = s.pattern != "*" && s.pattern.contains('{');
            assert_eq!(s.kind == SelectorKind::UriTemplate, template);
        }
    }
}

fn same(a: &[Selector], b: &[tokens::Selector]) -> bool {
    let kind = |k: tokens::SelectorKind| match k {
        tokens::SelectorKind::Any => SelectorKind::Any,
        tokens::SelectorKind::Exact => SelectorKind::Exact,
        tokens::SelectorKind::UrlPattern => SelectorKind::UrlPattern,
        tokens::SelectorKind::UriTemplate => SelectorKind::UriTemplate,
    };
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.kind == kind(y.kind) && x.pattern == y.pattern)
}

fn signed(typ: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(typ.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(SECRET).unwrap()).unwrap()
}

fn through_validate(token: &str, direct: &Result<Grant, claims::TokenError>, rules: &TokenRules) {
    let validated = tokens::validate(&VERIFIER, rules, token, NOW);
    match (direct, &validated) {
        (Ok(d), Ok(v)) => {
            assert!(same(&d.publish, &v.publish) && same(&d.subscribe, &v.subscribe));
        }
        (Err(d), Err(v)) => assert_eq!(d.to_string(), v.to_string()),
        _ => panic!("direct {direct:?}, validated {validated:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let limits = limits();
    assert_eq!(claims::from_details(None, &limits), Ok(Grant::default()));
    let details = claims::from_details(Some(&value), &limits);
    if let Ok(grant) = &details {
        check_details(&value, grant, &limits);
    }
    let legacy = claims::from_legacy(&value, &limits);
    if let Ok(grant) = &legacy {
        check_legacy(&value, grant, &limits);
    }

    let rules = TokenRules {
        mercure_v0: true,
        limits: tokens::Limits {
            max_details: limits.max_details,
            max_topics: limits.max_topics,
            max_pattern_bytes: limits.max_pattern_bytes,
            max_token_bytes: 1 << 20,
        },
        ..TokenRules::default()
    };
    let access = json!({ "exp": NOW + 60, "authorization_details": value });
    through_validate(&signed("at+jwt", &access), &details, &rules);
    let pre = json!({ "mercure": value });
    through_validate(&signed("JWT", &pre), &legacy, &rules);
});
