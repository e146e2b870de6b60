//! The catalogue of tokens that must be refused, and of those that must pass:
//! access tokens here, keys and algorithms in `keys.rs`, pre-standard tokens
//! in `legacy.rs`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::*;

mod keys;
mod legacy;

const SECRET: &str = "an HMAC secret of thirty-two bytes or more";
const NOW: u64 = 1_767_225_300;
const HUB: &str = "https://hub.example.com/.well-known/mercure";
const ISS: &str = "https://example.com";

const RSA: &[u8] = include_bytes!("../../../tests/keys/rsa.pem");
const RSA_PUB: &[u8] = include_bytes!("../../../tests/keys/rsa.pub.pem");
const RSA_JWK: &str = include_str!("../../../tests/keys/rsa.pub.jwk.json");
const RSA_1024_PUB: &[u8] = include_bytes!("../../../tests/keys/rsa1024.pub.pem");
const EC: &[u8] = include_bytes!("../../../tests/keys/ec.pem");
const EC_PUB: &[u8] = include_bytes!("../../../tests/keys/ec.pub.pem");
const EC_JWK: &str = include_str!("../../../tests/keys/ec.pub.jwk.json");
const EC_384_PUB: &[u8] = include_bytes!("../../../tests/keys/ec384.pub.pem");
const ED: &[u8] = include_bytes!("../../../tests/keys/ed25519.pem");
const ED_PUB: &[u8] = include_bytes!("../../../tests/keys/ed25519.pub.pem");

fn rules() -> TokenRules {
    TokenRules {
        issuer: Some(ISS.into()),
        audience: Some(HUB.into()),
        ..TokenRules::default()
    }
}

fn hmac() -> Verifier {
    Verifier::from_flag(SECRET, &["HS256"]).unwrap()
}

/// RFC 9068 claims as a self-issuing publisher would write them.
fn claims() -> Value {
    json!({
        "iss": ISS,
        "aud": HUB,
        "sub": "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
        "client_id": ISS,
        "iat": NOW - 10,
        "exp": NOW + 300,
        "jti": "urn:uuid:e70ff8d7-59d5-4a92-b0b7-505e8f6d09fa",
        "authorization_details": [{
            "type": DETAIL_TYPE,
            "actions": ["subscribe"],
            "topics": [{"match": "https://example.com/books/:id", "match_type": "urlpattern"}]
        }]
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn hmac_key(secret: &[u8]) -> EncodingKey {
    EncodingKey::from_secret(secret).unwrap()
}

fn sign(alg: Algorithm, key: &EncodingKey, typ: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    encode(&header, claims, key).unwrap()
}

/// An HS256 access token signed with [`SECRET`].
fn hs(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        &hmac_key(SECRET.as_bytes()),
        Some("at+jwt"),
        claims,
    )
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn check(token: &str) -> Result<Grant, TokenError> {
    validate(&hmac(), &rules(), token, NOW)
}

#[test]
fn a_valid_access_token_grants_what_it_says() {
    let claims = with(
        claims(),
        "authorization_details",
        json!([
            {"type": DETAIL_TYPE, "actions": ["publish", "subscribe", "future-action"], "topics": [
                {"match": "https://example.com/a"},
                {"match": "https://example.com/b/:id", "match_type": "urlpattern"},
            ]},
            {"type": "https://other.example/detail", "actions": [1], "topics": "ignored"},
            {"type": DETAIL_TYPE, "actions": ["subscribe"], "topics": [{"match": "*", "match_type": "exact"}],
             "payload": {"tenant": "t1"}},
            {"type": "mercure", "actions": ["publish"], "topics": [{"match": "*"}]},
        ]),
    );
    let grant = check(&hs(&claims)).unwrap();
    let a = Selector::new(SelectorKind::Exact, "https://example.com/a");
    let b = Selector::new(SelectorKind::UrlPattern, "https://example.com/b/:id");
    assert_eq!(grant.publish, vec![a.clone(), b.clone()]);
    assert_eq!(
        grant.subscribe,
        vec![a, b, Selector::new(SelectorKind::Any, "*")]
    );
    assert_eq!(grant.expires_at, Some(NOW + 300));
    assert_eq!(
        grant.subject.as_deref(),
        Some("urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6")
    );
}

#[test]
fn a_token_without_details_grants_nothing() {
    let grant = check(&hs(&without(claims(), "authorization_details"))).unwrap();
    assert!(grant.publish.is_empty() && grant.subscribe.is_empty());
}

#[test]
fn alg_none_is_refused() {
    let claims = b64(&claims());
    for alg in ["none", "None", "NONE"] {
        let header = b64(&json!({"alg": alg, "typ": "at+jwt"}));
        for signature in ["", "c2ln"] {
            let err = check(&format!("{header}.{claims}.{signature}")).unwrap_err();
            assert_eq!(err, TokenError::AlgorithmNotAllowed(alg.into()));
            assert_eq!(err.error_code(), "invalid_token");
        }
    }
}

#[test]
fn expiry_and_not_before_are_enforced() {
    let expired = hs(&with(claims(), "exp", json!(NOW - 1)));
    assert_eq!(
        check(&expired).unwrap_err(),
        TokenError::Expired {
            exp: NOW - 1,
            now: NOW
        }
    );
    // RFC 7519: the current time must be before `exp`.
    let at_exp = hs(&with(claims(), "exp", json!(NOW)));
    assert!(matches!(check(&at_exp), Err(TokenError::Expired { .. })));
    let early = hs(&with(claims(), "nbf", json!(NOW + 10)));
    assert_eq!(
        check(&early).unwrap_err(),
        TokenError::NotYetValid {
            nbf: NOW + 10,
            now: NOW
        }
    );
    assert!(check(&hs(&with(claims(), "nbf", json!(NOW)))).is_ok());
    let fractional = hs(&with(claims(), "exp", json!(NOW as f64 + 0.5)));
    assert!(matches!(
        check(&fractional),
        Err(TokenError::Expired { .. })
    ));
    let string = hs(&with(claims(), "nbf", json!("soon")));
    assert!(matches!(check(&string), Err(TokenError::InvalidClaims(_))));
    for err in [check(&expired).unwrap_err(), check(&early).unwrap_err()] {
        assert_eq!(err.error_code(), "invalid_token");
    }
}

#[test]
fn leeway_is_honoured_and_no_more() {
    let lenient = TokenRules {
        leeway: 5,
        ..rules()
    };
    let just_expired = hs(&with(claims(), "exp", json!(NOW - 4)));
    assert!(validate(&hmac(), &lenient, &just_expired, NOW).is_ok());
    assert!(check(&just_expired).is_err(), "the default leeway is 0");
    let long_expired = hs(&with(claims(), "exp", json!(NOW - 5)));
    assert!(validate(&hmac(), &lenient, &long_expired, NOW).is_err());
    let soon = hs(&with(claims(), "nbf", json!(NOW + 5)));
    assert!(validate(&hmac(), &lenient, &soon, NOW).is_ok());
    let later = hs(&with(claims(), "nbf", json!(NOW + 6)));
    assert!(validate(&hmac(), &lenient, &later, NOW).is_err());
}

#[test]
fn audience_must_name_this_hub() {
    let other = hs(&with(
        claims(),
        "aud",
        json!("https://other-hub.example/.well-known/mercure"),
    ));
    assert_eq!(check(&other).unwrap_err(), TokenError::WrongAudience);
    let several = hs(&with(claims(), "aud", json!(["https://api.example", HUB])));
    assert!(check(&several).is_ok());
    assert_eq!(
        check(&hs(&without(claims(), "aud"))).unwrap_err(),
        TokenError::MissingClaim("aud")
    );
}

#[test]
fn issuer_must_be_the_configured_one() {
    let other = hs(&with(claims(), "iss", json!("https://evil.example")));
    assert_eq!(check(&other).unwrap_err(), TokenError::WrongIssuer);
    assert_eq!(
        check(&hs(&without(claims(), "iss"))).unwrap_err(),
        TokenError::MissingClaim("iss")
    );
    // jsonwebtoken accepts an array holding the issuer; `iss` is one string.
    let array = hs(&with(claims(), "iss", json!([ISS, "https://evil.example"])));
    assert_eq!(check(&array).unwrap_err(), TokenError::WrongIssuer);
    let open = TokenRules {
        issuer: None,
        ..rules()
    };
    assert!(validate(&hmac(), &open, &hs(&without(claims(), "iss")), NOW).is_ok());
}

#[test]
fn an_access_token_needs_typ_at_jwt() {
    let key = hmac_key(SECRET.as_bytes());
    for typ in [Some("JWT"), None, Some("application/jwt"), Some("at+jwt2")] {
        let token = sign(Algorithm::HS256, &key, typ, &claims());
        let err = check(&token).unwrap_err();
        assert_eq!(
            err,
            TokenError::WrongType(typ.map(str::to_owned)),
            "{typ:?}"
        );
        assert_eq!(err.error_code(), "invalid_token");
    }
    for typ in ["AT+JWT", "application/at+jwt", "Application/At+JWT"] {
        assert!(
            check(&sign(Algorithm::HS256, &key, Some(typ), &claims())).is_ok(),
            "{typ}"
        );
    }
}

#[test]
fn an_access_token_needs_exp() {
    assert_eq!(
        check(&hs(&without(claims(), "exp"))).unwrap_err(),
        TokenError::MissingClaim("exp")
    );
    let open = TokenRules::default();
    let err = validate(&hmac(), &open, &hs(&without(claims(), "exp")), NOW).unwrap_err();
    assert_eq!(err, TokenError::MissingClaim("exp"));
}

#[test]
fn malformed_tokens_are_bad_requests() {
    let header = b64(&json!({"alg": "HS256", "typ": "at+jwt"}));
    let valid = hs(&claims());
    let cases = [
        String::new(),
        "abc".into(),
        format!("{header}.{}", b64(&claims())),
        format!("{valid}.extra"),
        format!("{header}.not json.sig"),
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode("{not json"),
            b64(&claims())
        ),
        format!("{}.{}.c2ln", b64(&json!(["alg", "HS256"])), b64(&claims())),
        format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode("[1,2]")),
        format!("{header}.{}=.c2ln", b64(&claims())),
        format!("{header}.{}.sig+/", b64(&claims())),
        format!("{}.{}.c2ln", b64(&json!({"typ": "at+jwt"})), b64(&claims())),
    ];
    for token in &cases {
        let err = check(token).unwrap_err();
        assert!(matches!(err, TokenError::Malformed(_)), "{token}: {err}");
        assert_eq!(err.error_code(), "invalid_request");
        assert_eq!(err.public_message(), "the access token is malformed");
    }
}

#[test]
fn oversized_tokens_are_refused_before_anything_else() {
    let big = hs(&with(claims(), "padding", json!("x".repeat(8 * 1024))));
    let err = check(&big).unwrap_err();
    assert!(
        matches!(err, TokenError::Oversized { max: 8192, .. }),
        "{err}"
    );
    assert_eq!(err.error_code(), "invalid_request");
    let roomy = TokenRules {
        limits: Limits {
            max_token_bytes: 16 * 1024,
            ..Limits::default()
        },
        ..rules()
    };
    assert!(validate(&hmac(), &roomy, &big, NOW).is_ok());
}

#[test]
fn grants_past_the_limits_or_malformed_refuse_the_token() {
    let detail =
        |topics: Value| json!([{"type": DETAIL_TYPE, "actions": ["publish"], "topics": topics}]);
    let many_topics: Vec<Value> = (0..65).map(|i| json!({"match": format!("t{i}")})).collect();
    let many_details: Vec<Value> = (0..33)
        .map(|_| json!({"type": DETAIL_TYPE, "actions": ["publish"], "topics": [{"match": "t"}]}))
        .collect();
    let limits = [
        detail(json!(many_topics)),
        json!(many_details),
        detail(json!([{"match": "x".repeat(1025)}])),
    ];
    for details in limits {
        let err = check(&hs(&with(claims(), "authorization_details", details))).unwrap_err();
        assert!(matches!(err, TokenError::LimitExceeded(_)), "{err}");
        assert_eq!(err.error_code(), "invalid_token");
    }
    let bad = [
        json!({"type": DETAIL_TYPE}),
        json!([{"type": DETAIL_TYPE, "actions": [], "topics": [{"match": "t"}]}]),
        json!([{"type": DETAIL_TYPE, "actions": ["publish", 7], "topics": [{"match": "t"}]}]),
        json!([{"type": DETAIL_TYPE, "actions": ["publish"], "topics": []}]),
        detail(json!(["t"])),
        detail(json!([{"match": 7}])),
        detail(json!([{"match": "*", "match_type": "regex"}])),
        detail(json!([{"match": "t", "match_type": "URLPattern"}])),
        detail(json!([{"match": "a\u{7}b"}])),
        json!([{"type": DETAIL_TYPE, "actions": ["subscribe"], "topics": [{"match": "t"}], "payload": 3}]),
        json!([{"type": DETAIL_TYPE, "actions": ["publish"], "topics": [{"match": "t"}]}, "text"]),
        json!([{"actions": ["publish"]}]),
    ];
    for details in bad {
        let err = check(&hs(&with(
            claims(),
            "authorization_details",
            details.clone(),
        )))
        .unwrap_err();
        assert!(
            matches!(err, TokenError::InvalidClaims(_)),
            "{details}: {err}"
        );
    }
    assert!(matches!(
        check(&hs(&with(claims(), "sub", json!(42)))),
        Err(TokenError::InvalidClaims(_))
    ));
}

#[test]
fn unsupported_critical_headers_are_refused() {
    let header = b64(&json!({"alg": "HS256", "typ": "at+jwt", "crit": ["exp"], "exp": 1}));
    let message = format!("{header}.{}", b64(&claims()));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &hmac_key(SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    let err = check(&format!("{message}.{signature}")).unwrap_err();
    assert_eq!(err, TokenError::UnsupportedHeader);
}

#[test]
fn public_messages_reveal_nothing() {
    let errors = [
        TokenError::BadSignature,
        TokenError::Expired { exp: 1, now: 2 },
        TokenError::WrongAudience,
        TokenError::AlgorithmNotAllowed("none".into()),
        TokenError::InvalidClaims("sub is not a string".into()),
    ];
    for err in errors {
        assert_eq!(err.public_message(), "the access token is invalid");
        assert_ne!(err.to_string(), err.public_message());
    }
    let long = format!(
        "{}.{}.",
        b64(&json!({"alg": "x".repeat(500)})),
        b64(&claims())
    );
    let err = check(&long).unwrap_err();
    assert!(err.to_string().len() < 64, "{err}");
}
