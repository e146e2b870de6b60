//! What a stream may receive: anonymous without a key, a token with one,
//! grants compiled into shared matchers, and when the stream must end.

use super::*;

#[test]
fn without_a_subscriber_key_every_stream_is_anonymous() {
    let creds = editor_only(Some(EDITOR));
    for headers in [
        vec![],
        vec![("authorization", "Bearer garbage")],
        vec![("authorization", "Basic x"), ("authorization", "y")],
    ] {
        let access = creds.subscriber(&presented(&headers), None, now()).unwrap();
        assert!(access.authorization.is_empty());
        assert_eq!(access.expires_at, None);
    }
}

#[test]
fn with_a_subscriber_key_a_token_is_needed_unless_anonymous() {
    let creds = credentials(&[]);
    assert_eq!(
        creds.subscriber(&presented(&[]), None, now()).unwrap_err(),
        Denied::Missing
    );
    let anonymous = credentials(&["--anonymous"]);
    let access = anonymous.subscriber(&presented(&[]), None, now()).unwrap();
    assert!(access.authorization.is_empty());
    // A bad token is refused even where anonymous subscribers are let in.
    let expired = sign(
        SUBSCRIBER_SECRET,
        &json!({"iss": ISS, "aud": HUB, "exp": NOW - 1}),
    );
    let refused = anonymous
        .subscriber(
            &presented(&[("authorization", &bearer(&expired))]),
            None,
            now(),
        )
        .unwrap_err();
    assert_eq!(refused.status().as_u16(), 401);
    // A publisher's token is not a subscriber's.
    let publisher = publisher_token(json!([{"match": BOOK}]));
    let refused = creds
        .subscriber(
            &presented(&[("authorization", &bearer(&publisher))]),
            None,
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(refused, Denied::Token(TokenError::BadSignature)),
        "{refused}"
    );
}

#[test]
fn subscribe_grants_become_shared_matchers_and_the_expiry_counts_the_leeway() {
    let creds = credentials(&["--jwt-leeway", "5"]);
    let token = subscriber_token(json!([
        {"match": BOOK},
        {"match": "/users/:id", "match_type": "urlpattern"},
    ]));
    let header = bearer(&token);
    let first = creds
        .subscriber(&presented(&[("authorization", &header)]), None, now())
        .unwrap();
    assert_eq!(patterns(&first), [BOOK, "/users/:id"]);
    // The relative pattern resolved against --hub-url.
    assert!(first.authorization[1].matches(&topic("https://hub.example.com/users/7")));
    assert!(!first.authorization[1].matches(&topic("https://example.com/users/7")));
    assert_eq!(
        first.expires_at,
        Some(UNIX_EPOCH + Duration::from_secs(NOW + 300 + 5))
    );
    assert_eq!(first.time_left(now()), Some(Duration::from_secs(305)));
    // Equal grants are one compiled matcher, so equal filters share a route.
    let second = creds
        .subscriber(&presented(&[("authorization", &header)]), None, now())
        .unwrap();
    for (a, b) in first.authorization.iter().zip(&second.authorization) {
        assert!(Arc::ptr_eq(a, b));
    }
}

#[test]
fn a_grant_that_does_not_compile_refuses_the_token() {
    let creds = credentials(&[]);
    let token =
        subscriber_token(json!([{"match": "https://example.com/(", "match_type": "urlpattern"}]));
    let refused = creds
        .subscriber(
            &presented(&[("authorization", &bearer(&token))]),
            None,
            now(),
        )
        .unwrap_err();
    assert_eq!(refused.status().as_u16(), 401);
    assert!(refused.challenge().unwrap().contains("invalid_token"));
}

#[test]
fn pre_standard_grants_are_templates_or_match_themselves() {
    let creds = credentials(&["--mercure-v0"]);
    // A pre-standard token: typ JWT, a mercure claim, no aud, no exp.
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JWT".into());
    let token = encode(
        &header,
        &json!({"iss": ISS, "mercure": {"subscribe": ["https://example.com/books/{id}", "https://example.com/{broken"]}}),
        &EncodingKey::from_secret(SUBSCRIBER_SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    let access = creds
        .subscriber(
            &presented(&[("authorization", &bearer(&token))]),
            None,
            now(),
        )
        .unwrap();
    assert_eq!(
        access.expires_at, None,
        "no exp: the stream never ends for it"
    );
    let [template, broken] = &access.authorization[..] else {
        panic!("two matchers: {:?}", access.authorization);
    };
    assert_eq!(template.kind(), MatcherKind::UriTemplate);
    assert!(template.matches(&topic(BOOK)));
    assert_eq!(broken.kind(), MatcherKind::Exact);
    assert!(broken.matches(&topic("https://example.com/{broken")));
}

#[test]
fn the_expiry_notice_is_an_id_less_event() {
    let events = tidings_core::wire::parse_all(&expiry_notice()).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, EXPIRED_KIND);
    assert_eq!(events[0].id, None);
}
