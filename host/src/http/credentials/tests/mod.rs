//! Finding the token, the answer to each refusal, and the keys, here; the
//! subscriber rules in `subscriber.rs` and the publisher rules in
//! `publisher.rs`. Tokens are signed by jsonwebtoken (the end-to-end tests
//! sign theirs with PyJWT).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use poem::IntoResponse;
use serde_json::{Value, json};

use super::*;

mod publisher;
mod subscriber;
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
