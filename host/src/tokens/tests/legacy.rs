//! Pre-standard (Mercure v0.x) tokens: accepted only on request, and still
//! checked.

use super::*;

fn legacy_claims() -> Value {
    json!({
        "mercure": {
            "publish": ["https://example.com/books/{id}", "*"],
            "subscribe": ["https://example.com/users/42"],
            "payload": {"user": 42},
        }
    })
}

#[test]
fn pre_standard_tokens_only_with_mercure_v0() {
    let key = hmac_key(SECRET.as_bytes());
    let token = sign(Algorithm::HS256, &key, Some("JWT"), &legacy_claims());
    assert_eq!(check(&token).unwrap_err(), TokenError::LegacyRefused);
    let v0 = TokenRules {
        mercure_v0: true,
        issuer: None,
        ..rules()
    };
    let grant = validate(&hmac(), &v0, &token, NOW).unwrap();
    assert_eq!(
        grant.publish,
        vec![
            Selector::new(SelectorKind::UriTemplate, "https://example.com/books/{id}"),
            Selector::new(SelectorKind::Any, "*"),
        ]
    );
    assert_eq!(
        grant.subscribe,
        vec![Selector::new(
            SelectorKind::Exact,
            "https://example.com/users/42"
        )]
    );
    assert_eq!((grant.expires_at, grant.subject), (None, None));
    // Without typ too; and without the issuer such tokens never carried,
    // though a configured one is still checked when the token names one.
    let untyped = sign(Algorithm::HS256, &key, None, &legacy_claims());
    assert!(validate(&hmac(), &v0, &untyped, NOW).is_ok());
    let with_issuer = TokenRules {
        mercure_v0: true,
        ..rules()
    };
    assert!(validate(&hmac(), &with_issuer, &untyped, NOW).is_ok());
    let mut claims = legacy_claims();
    claims["iss"] = "https://elsewhere.example".into();
    let foreign = sign(Algorithm::HS256, &key, None, &claims);
    assert_eq!(
        validate(&hmac(), &with_issuer, &foreign, NOW).unwrap_err(),
        TokenError::WrongIssuer
    );
}

#[test]
fn pre_standard_tokens_still_have_their_claims_checked() {
    let key = hmac_key(SECRET.as_bytes());
    let v0 = TokenRules {
        mercure_v0: true,
        issuer: None,
        ..rules()
    };
    let run = |claims: Value| {
        validate(
            &hmac(),
            &v0,
            &sign(Algorithm::HS256, &key, Some("JWT"), &claims),
            NOW,
        )
    };
    assert!(matches!(
        run(with(legacy_claims(), "exp", json!(NOW - 1))),
        Err(TokenError::Expired { .. })
    ));
    assert_eq!(
        run(with(legacy_claims(), "exp", json!(NOW + 60)))
            .unwrap()
            .expires_at,
        Some(NOW + 60)
    );
    assert_eq!(
        run(with(legacy_claims(), "aud", json!("https://other.example"))).unwrap_err(),
        TokenError::WrongAudience
    );
    assert!(matches!(
        run(json!({"mercure": {"publish": "*"}})),
        Err(TokenError::InvalidClaims(_))
    ));
    assert!(matches!(
        run(json!({"mercure": []})),
        Err(TokenError::InvalidClaims(_))
    ));
    let many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    assert!(matches!(
        run(json!({"mercure": {"subscribe": many}})),
        Err(TokenError::LimitExceeded(_))
    ));
    // A signed JWT without the claim is some other token, not a v0 one.
    assert_eq!(
        run(json!({"sub": "x"})).unwrap_err(),
        TokenError::WrongType(Some("JWT".into()))
    );
    // An ID token's typ is not the pre-standard one either.
    let id = sign(Algorithm::HS256, &key, Some("id+jwt"), &legacy_claims());
    assert!(matches!(
        validate(&hmac(), &v0, &id, NOW),
        Err(TokenError::WrongType(_))
    ));
    // A v0 token signed with another key is still forged.
    let other = sign(
        Algorithm::HS256,
        &hmac_key(b"another secret, also long enough!!"),
        Some("JWT"),
        &legacy_claims(),
    );
    assert_eq!(
        validate(&hmac(), &v0, &other, NOW).unwrap_err(),
        TokenError::BadSignature
    );
}

#[test]
fn access_tokens_ignore_the_mercure_claim() {
    let claims = with(
        without(claims(), "authorization_details"),
        "mercure",
        json!({"publish": ["*"]}),
    );
    let v0 = TokenRules {
        mercure_v0: true,
        ..rules()
    };
    let grant = validate(&hmac(), &v0, &hs(&claims), NOW).unwrap();
    assert!(grant.publish.is_empty());
}
