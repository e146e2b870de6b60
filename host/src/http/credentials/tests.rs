//! Finding the token, the answer to each refusal, and the subscriber and
//! publisher rules, with tokens signed here by jsonwebtoken (the end-to-end
//! tests sign theirs with PyJWT).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use poem::IntoResponse;
use serde_json::{Value, json};

use super::*;
use crate::http::auth::{Role, require};
use crate::http::error::ApiError;
use crate::tokens::DETAIL_TYPE;

const PUBLISHER_SECRET: &str = "the publishers' secret, thirty-two bytes or more";
const SUBSCRIBER_SECRET: &str = "the subscribers' secret, thirty-two bytes or more";
const EDITOR: &str = "editor-secret";
const ISS: &str = "https://example.com";
const HUB: &str = "https://hub.example.com/.well-known/mercure";
const APP: &str = "https://app.example.com";
const NOW: u64 = 1_767_225_300;
const BOOK: &str = "https://example.com/books/1";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

/// Credentials from flags, on top of both keys, the issuer, the hub URL,
/// the editor token and one CORS origin.
fn credentials(extra: &[&str]) -> Credentials {
    let mut args = vec![
        "tidings",
        "--storage",
        "memory",
        "--editor-token",
        EDITOR,
        "--publisher-jwt-key",
        PUBLISHER_SECRET,
        "--subscriber-jwt-key",
        SUBSCRIBER_SECRET,
        "--jwt-issuer",
        ISS,
        "--hub-url",
        HUB,
        "--cors-origin",
        APP,
    ];
    args.extend_from_slice(extra);
    let config = Config::try_parse_from(args).expect("flags parse");
    config.validate().expect("flags are valid");
    Credentials::from_config(&config).expect("credentials")
}

/// Credentials without any key: the editor token only.
fn editor_only(editor: Option<&str>) -> Credentials {
    let mut config = Config::for_tests();
    config.editor_token = editor.map(str::to_owned);
    Credentials::from_config(&config).expect("credentials")
}

fn detail(actions: &[&str], topics: Value) -> Value {
    json!({"type": DETAIL_TYPE, "actions": actions, "topics": topics})
}

fn claims(details: Value) -> Value {
    json!({
        "iss": ISS,
        "aud": HUB,
        "sub": "someone",
        "exp": NOW + 300,
        "authorization_details": details,
    })
}

fn sign(secret: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn subscriber_token(topics: Value) -> String {
    sign(
        SUBSCRIBER_SECRET,
        &claims(json!([detail(&["subscribe"], topics)])),
    )
}

fn publisher_token(topics: Value) -> String {
    sign(
        PUBLISHER_SECRET,
        &claims(json!([detail(&["publish"], topics)])),
    )
}

fn presented(headers: &[(&str, &str)]) -> Presented {
    let mut presented = Presented::default();
    for (name, value) in headers {
        presented.header(name, value.as_bytes());
    }
    presented
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn topic(text: &str) -> Topic {
    Topic::new(text).unwrap()
}

fn patterns(access: &Access) -> Vec<&str> {
    access.authorization.iter().map(|m| m.pattern()).collect()
}

/// The response a refusal gets: status, `WWW-Authenticate`, JSON `error`.
async fn answer(denied: Denied) -> (u16, Option<String>, String) {
    let resp = ApiError::from(denied).into_response();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value =
        serde_json::from_slice(&resp.into_body().into_bytes().await.unwrap()).unwrap();
    (
        status,
        challenge,
        body["error"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn each_refusal_has_the_drafts_status_and_challenge() {
    let realm = r#"Bearer realm="tidings""#;
    for (denied, status, challenge, code) in [
        (Denied::Missing, 401, Some(realm.to_owned()), "unauthorized"),
        (
            Denied::Token(TokenError::Expired { exp: 1, now: 2 }),
            401,
            Some(format!(
                r#"{realm}, error="invalid_token", error_description="the access token is invalid""#
            )),
            "unauthorized",
        ),
        (
            Denied::Token(TokenError::Malformed("x")),
            400,
            Some(format!(
                r#"{realm}, error="invalid_request", error_description="the access token is malformed""#
            )),
            "bad_request",
        ),
        (
            Denied::Malformed("more than one Authorization header"),
            400,
            Some(format!(
                r#"{realm}, error="invalid_request", error_description="more than one Authorization header""#
            )),
            "bad_request",
        ),
        (
            Denied::Scope("this request takes the editor token"),
            403,
            Some(format!(
                r#"{realm}, error="insufficient_scope", error_description="this request takes the editor token""#
            )),
            "forbidden",
        ),
        (Denied::Origin, 403, None, "forbidden"),
        // Without a publisher key, writes answer as they always did.
        (Denied::NoEditorToken, 401, None, "unauthorized"),
        (Denied::WrongEditorToken, 403, None, "forbidden"),
    ] {
        let label = denied.to_string();
        assert_eq!(
            answer(denied).await,
            (status, challenge, code.to_owned()),
            "{label}"
        );
    }
}

#[test]
fn the_header_wins_over_the_cookie() {
    let creds = credentials(&[]);
    let good = subscriber_token(json!([{"match": BOOK}]));
    let cookie = "__Secure-mercure_access_token=not-a-token";
    let access = creds
        .subscriber(
            &presented(&[("authorization", &bearer(&good)), ("cookie", cookie)]),
            None,
            now(),
        )
        .expect("the header's token is used, the cookie ignored");
    assert_eq!(patterns(&access), [BOOK]);
    // The other way round: a good cookie does not rescue a bad header.
    let refused = creds
        .subscriber(
            &presented(&[
                ("authorization", "Bearer not-a-token"),
                ("cookie", &format!("__Secure-mercure_access_token={good}")),
            ]),
            None,
            now(),
        )
        .unwrap_err();
    assert_eq!(refused.status().as_u16(), 400, "{refused}");
}

#[test]
fn the_scheme_is_case_insensitive_and_the_token_follows_spaces() {
    let creds = credentials(&[]);
    let good = subscriber_token(json!([{"match": BOOK}]));
    for value in [
        format!("Bearer {good}"),
        format!("bearer {good}"),
        format!("BEARER {good}"),
        format!("Bearer   {good}"),
    ] {
        let access = creds
            .subscriber(&presented(&[("authorization", &value)]), None, now())
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(patterns(&access), [BOOK]);
    }
}

#[test]
fn malformed_presentations_are_bad_requests() {
    let creds = credentials(&[]);
    let good = subscriber_token(json!([{"match": BOOK}]));
    let two = [
        ("authorization", bearer(&good)),
        ("authorization", bearer(&good)),
    ];
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("two headers", two.to_vec()),
        (
            "another scheme",
            vec![("authorization", format!("Basic {good}"))],
        ),
        ("no scheme", vec![("authorization", good.clone())]),
        ("empty token", vec![("authorization", "Bearer ".into())]),
        ("scheme alone", vec![("authorization", "Bearer".into())]),
        (
            "empty cookie",
            vec![("cookie", "__Secure-mercure_access_token=".into())],
        ),
        ("not a JWS", vec![("authorization", "Bearer a.b".into())]),
        (
            "oversized",
            vec![("authorization", bearer(&"a".repeat(9000)))],
        ),
    ];
    for (label, headers) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let refused = creds
            .subscriber(&presented(&headers), None, now())
            .expect_err(label);
        assert_eq!(refused.status().as_u16(), 400, "{label}: {refused}");
        let challenge = refused.challenge().expect(label);
        assert!(
            challenge.contains(r#"error="invalid_request""#),
            "{label}: {challenge}"
        );
        // The same presentation is malformed for a publisher too.
        let refused = creds
            .publisher(&presented(&headers), now())
            .expect_err(label);
        assert_eq!(refused.status().as_u16(), 400, "{label}: {refused}");
    }
}

#[test]
fn cookies_carry_tokens_and_v0_adds_its_cookie_and_query_parameter() {
    let good = subscriber_token(json!([{"match": BOOK}]));
    let creds = credentials(&[]);
    for cookie in [
        format!("__Secure-mercure_access_token={good}"),
        format!("theme=dark; __Secure-mercure_access_token=\"{good}\"; lang=en"),
    ] {
        let access = creds
            .subscriber(&presented(&[("cookie", &cookie)]), None, now())
            .unwrap_or_else(|e| panic!("{cookie}: {e}"));
        assert_eq!(patterns(&access), [BOOK]);
    }
    let legacy_cookie = format!("mercureAuthorization={good}");
    let query = format!("authorization={good}");
    // Without --mercure-v0, neither the old cookie nor the query counts.
    for (cookie, query) in [
        (Some(legacy_cookie.as_str()), None),
        (None, Some(query.as_str())),
    ] {
        let headers: Vec<_> = cookie.map(|c| ("cookie", c)).into_iter().collect();
        let refused = creds
            .subscriber(&presented(&headers), query, now())
            .unwrap_err();
        assert_eq!(refused, Denied::Missing);
    }

    let v0 = credentials(&["--mercure-v0"]);
    let access = v0
        .subscriber(&presented(&[("cookie", &legacy_cookie)]), None, now())
        .unwrap();
    assert_eq!(patterns(&access), [BOOK]);
    let access = v0
        .subscriber(&presented(&[]), Some(&format!("match=x&{query}")), now())
        .unwrap();
    assert_eq!(patterns(&access), [BOOK]);
    // The query parameter comes before the cookie, as in v0.24.
    let refused = v0
        .subscriber(
            &presented(&[("cookie", &legacy_cookie)]),
            Some("authorization=bad"),
            now(),
        )
        .unwrap_err();
    assert_eq!(refused.status().as_u16(), 400);
    let twice = format!("{query}&{query}");
    assert!(matches!(
        v0.subscriber(&presented(&[]), Some(&twice), now()),
        Err(Denied::Malformed(_))
    ));
    // RFC 6750's access_token parameter is never read.
    let access_token = format!("access_token={good}");
    assert_eq!(
        v0.subscriber(&presented(&[]), Some(&access_token), now())
            .unwrap_err(),
        Denied::Missing
    );
}

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
fn without_a_publisher_key_the_editor_token_answers_as_before() {
    let creds = editor_only(Some(EDITOR));
    let editor = bearer(EDITOR);
    assert!(matches!(
        creds.publisher(&presented(&[("authorization", &editor)]), now()),
        Ok(Publisher::Editor)
    ));
    for (headers, denied) in [
        (vec![], Denied::NoEditorToken),
        (vec![("authorization", "Basic x")], Denied::NoEditorToken),
        (
            vec![("authorization", "bearer editor-secret")],
            Denied::NoEditorToken,
        ),
        (
            vec![("authorization", "Bearer wrong")],
            Denied::WrongEditorToken,
        ),
        // Cookies are not read without a publisher key.
        (
            vec![("cookie", "__Secure-mercure_access_token=editor-secret")],
            Denied::NoEditorToken,
        ),
    ] {
        assert_eq!(
            creds.publisher(&presented(&headers), now()).unwrap_err(),
            denied,
            "{headers:?}"
        );
    }
    // No editor token and no key: writes are open (loopback only).
    assert!(matches!(
        editor_only(None).publisher(&presented(&[]), now()),
        Ok(Publisher::Editor)
    ));
}

#[test]
fn with_a_publisher_key_the_editor_token_and_tokens_are_told_apart() {
    let creds = credentials(&[]);
    assert_eq!(
        creds.publisher(&presented(&[]), now()).unwrap_err(),
        Denied::Missing
    );
    let publisher = creds
        .publisher(
            &presented(&[("authorization", "bearer editor-secret")]),
            now(),
        )
        .unwrap();
    assert!(matches!(publisher, Publisher::Editor));
    publisher.may_publish(&[]).unwrap();
    publisher.editor_only().unwrap();
    // Anything else is a token to validate: a wrong editor token is no JWS.
    let refused = creds
        .publisher(&presented(&[("authorization", "Bearer wrong")]), now())
        .unwrap_err();
    assert_eq!(refused.status().as_u16(), 400);
    // A subscriber's token is not a publisher's.
    let subscriber = subscriber_token(json!([{"match": "*"}]));
    let refused = creds
        .publisher(
            &presented(&[("authorization", &bearer(&subscriber))]),
            now(),
        )
        .unwrap_err();
    assert_eq!(refused.status().as_u16(), 401);
}

#[test]
fn a_publisher_token_needs_a_grant_for_every_topic() {
    let creds = credentials(&[]);
    let token = publisher_token(json!([{"match": BOOK}]));
    let publisher = creds
        .publisher(&presented(&[("authorization", &bearer(&token))]), now())
        .unwrap();
    publisher.may_publish(&[topic(BOOK)]).unwrap();
    for topics in [
        vec![topic(BOOK), topic("https://example.com/books/2")],
        vec![topic("https://example.com/books/2")],
        vec![],
    ] {
        let refused = publisher.may_publish(&topics).unwrap_err();
        assert_eq!(refused.status().as_u16(), 403, "{topics:?}");
        assert!(refused.challenge().unwrap().contains("insufficient_scope"));
    }
    assert!(matches!(publisher.editor_only(), Err(Denied::Scope(_))));
    // A token that grants nothing to publish can publish nothing.
    let nothing = sign(PUBLISHER_SECRET, &claims(json!([])));
    let publisher = creds
        .publisher(&presented(&[("authorization", &bearer(&nothing))]), now())
        .unwrap();
    assert!(publisher.may_publish(&[topic(BOOK)]).is_err());
    // `*` grants every topic.
    let all = publisher_token(json!([{"match": "*"}]));
    let publisher = creds
        .publisher(&presented(&[("authorization", &bearer(&all))]), now())
        .unwrap();
    publisher
        .may_publish(&[topic(BOOK), topic("urn:anything")])
        .unwrap();
}

#[test]
fn a_cookie_token_publishes_only_from_an_allowed_origin() {
    let creds = credentials(&[]);
    let token = publisher_token(json!([{"match": BOOK}]));
    let cookie = format!("__Secure-mercure_access_token={token}");
    let publisher = creds
        .publisher(&presented(&[("cookie", &cookie), ("origin", APP)]), now())
        .unwrap();
    publisher.may_publish(&[topic(BOOK)]).unwrap();
    for origins in [
        vec![],
        vec!["https://evil.example"],
        vec![APP, "https://evil.example"],
        vec!["https://app.example.com.evil.example"],
    ] {
        let mut headers = vec![("cookie", cookie.as_str())];
        headers.extend(origins.iter().map(|o| ("origin", *o)));
        assert_eq!(
            creds.publisher(&presented(&headers), now()).unwrap_err(),
            Denied::Origin,
            "{origins:?}"
        );
    }
    // The same token in the header needs no Origin: no browser adds it.
    creds
        .publisher(&presented(&[("authorization", &bearer(&token))]), now())
        .unwrap();
}

#[test]
fn the_editor_check_of_write_routes_goes_through_the_credentials() {
    let request = |headers: &[(&str, &str)], creds: Option<Credentials>| {
        let mut builder = poem::Request::builder();
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut req = builder.finish();
        if let Some(creds) = creds {
            req.extensions_mut().insert(Arc::new(creds));
        }
        req
    };
    let editor = bearer(EDITOR);
    // `require` reads the clock: a token valid now.
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let grants = json!([detail(&["publish"], json!([{"match": "*"}]))]);
    let token = bearer(&sign(
        PUBLISHER_SECRET,
        &json!({"iss": ISS, "aud": HUB, "exp": exp, "authorization_details": grants}),
    ));
    require(
        &request(&[("authorization", &editor)], Some(credentials(&[]))),
        Role::Editor,
        None,
    )
    .unwrap();
    let refused = require(
        &request(&[("authorization", &token)], Some(credentials(&[]))),
        Role::Editor,
        None,
    )
    .unwrap_err();
    assert_eq!(refused.status().as_u16(), 403);
    let refused = require(&request(&[], Some(credentials(&[]))), Role::Editor, None).unwrap_err();
    assert_eq!(refused.status().as_u16(), 401);
    // A request that did not come through the app is refused, not let in.
    let refused = require(&request(&[], None), Role::Editor, None).unwrap_err();
    assert_eq!(refused.status().as_u16(), 500);
}

#[test]
fn keys_that_do_not_fit_their_algorithms_are_refused() {
    for (flags, expected) in [
        (
            vec!["--publisher-jwt-alg", "RS256"],
            "--publisher-jwt-key: algorithm RS256 does not fit an HMAC secret",
        ),
        (
            vec!["--subscriber-jwt-alg", "none"],
            "--subscriber-jwt-key: algorithm none is never accepted",
        ),
        (
            vec!["--subscriber-jwt-key", "@/nonexistent/key.pem"],
            "--subscriber-jwt-key: cannot read key file /nonexistent/key.pem",
        ),
        (
            vec!["--publisher-jwt-key", "short"],
            "--publisher-jwt-key: the secret is 5 bytes; HS256 needs at least 32",
        ),
    ] {
        let mut args = vec![
            "tidings",
            "--publisher-jwt-key",
            PUBLISHER_SECRET,
            "--subscriber-jwt-key",
            SUBSCRIBER_SECRET,
        ];
        args.extend(flags);
        let config = Config::try_parse_from(args).unwrap();
        let err = Credentials::from_config(&config).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err}");
    }
    let rsa = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/rsa.pub.pem");
    let key = format!("@{rsa}");
    let config = Config::try_parse_from([
        "tidings",
        "--publisher-jwt-key",
        &key,
        "--publisher-jwt-alg",
        "RS256,PS256",
    ])
    .unwrap();
    Credentials::from_config(&config).expect("an RSA key with RSA algorithms");
}

#[test]
fn the_expiry_notice_is_an_id_less_event() {
    let events = tidings_core::wire::parse_all(&expiry_notice()).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, EXPIRED_KIND);
    assert_eq!(events[0].id, None);
}
