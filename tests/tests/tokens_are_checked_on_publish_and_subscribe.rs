//! Access tokens against the real binary, signed by PyJWT: every token the
//! draft says to refuse gets its status and `WWW-Authenticate` challenge
//! (401 `invalid_token` saying nothing about which check failed, 400
//! `invalid_request` for a malformed presentation, 403
//! `insufficient_scope`, a bare challenge without a token) on publish and
//! on subscribe, and changes nothing: the head id is the same, and a
//! subscriber's next stored event is the next one published.
//!
//! Each key kind the server takes tells PyJWT's tokens from forgeries, and
//! CORS grants credentials to listed origins only. The harness is
//! `tidings_tests::token_catalogue`. The stream catalogue is `ignore`d until
//! `/api/events` calls `Credentials::subscriber` on both stream paths.

use reqwest::Method;
use serde_json::json;
use tidings_tests::jwt::{
    HUB_URL, ISSUER, Key, Token, bearer, detail, key_flag, send, sign, sign_all,
};
use tidings_tests::token_catalogue::{
    APP, BOOK, COOKIE, HOUR, INVALID_TOKEN, NO_TOKEN, OTHER_BOOK, PUBLISHER, SCOPE, SUBSCRIBER,
    check, forged, nothing_changed, observer, oversized, presentations, publish_body, server,
};
use tidings_tests::{EDITOR_TOKEN, Tidings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_publisher_tokens_publish_nothing() {
    let server = server().await;
    let mut observer = observer(&server).await;
    let head = server.head().await;
    let url = server.url("/api/publish");
    let body = publish_body(&[BOOK]);

    for (name, token) in forged(PUBLISHER, "rsa.pub.pem", "publish").await {
        let answer = send(
            Method::POST,
            &url,
            &[("authorization", &bearer(&token))],
            Some(&body),
        )
        .await;
        check(name, &answer, INVALID_TOKEN);
    }
    let good = sign(Token::access(
        PUBLISHER,
        HOUR,
        vec![detail(&["publish"], &[(BOOK, None)])],
    ))
    .await;
    let oversized = oversized(PUBLISHER).await;
    for case in presentations(&good, &oversized) {
        let url = if case.name.contains("access_token") {
            format!("{url}?access_token={good}")
        } else {
            url.clone()
        };
        let answer = send(Method::POST, &url, &case.headers(), Some(&body)).await;
        check(case.name, &answer, case.want);
    }
    // A grant for one of the event's two topics allows neither.
    let answer = send(
        Method::POST,
        &url,
        &[("authorization", &bearer(&good))],
        Some(&publish_body(&[BOOK, OTHER_BOOK])),
    )
    .await;
    check("a grant for one of two topics", &answer, SCOPE);
    // A subscribe grant is no publish grant.
    let subscriber_grant = sign(Token::access(
        PUBLISHER,
        HOUR,
        vec![detail(&["subscribe"], &[("*", None)])],
    ))
    .await;
    let answer = send(
        Method::POST,
        &url,
        &[("authorization", &bearer(&subscriber_grant))],
        Some(&body),
    )
    .await;
    check("a subscribe grant", &answer, SCOPE);
    // A token in a cookie publishes only from an allowed origin: a page on
    // another site must not publish with a visitor's cookie.
    let cookie = format!("{COOKIE}={good}");
    for (name, origin) in [
        ("a cookie without Origin", None),
        ("a cookie from another origin", Some("https://evil.example")),
    ] {
        let mut headers = vec![("cookie", cookie.as_str())];
        headers.extend(origin.map(|o| ("origin", o)));
        let answer = send(Method::POST, &url, &headers, Some(&body)).await;
        // (A foreign origin is turned away by the CORS layer already.)
        assert_eq!(answer.status, 403, "{name}: {answer:?}");
    }

    nothing_changed(&server, &head, &mut observer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_tokens_of_every_algorithm_are_told_from_forgeries() {
    // Item writes take the editor token: a valid publisher token is 403
    // insufficient_scope there, a forged one 401 — so this shows the server
    // verifies what PyJWT signed, with each kind of key.
    let secret = "the publishers' secret, thirty-two bytes or more";
    for (flags, key) in [
        (
            vec!["--publisher-jwt-key", secret],
            Key::Secret(secret.into()),
        ),
        (
            vec![
                "--publisher-jwt-key",
                &key_flag("rsa.pub.pem"),
                "--publisher-jwt-alg",
                "RS256",
            ],
            Key::Private {
                file: "rsa.pem",
                alg: "RS256",
            },
        ),
        (
            vec![
                "--publisher-jwt-key",
                &key_flag("ec.pub.jwk.json"),
                "--publisher-jwt-alg",
                "ES256",
            ],
            Key::Private {
                file: "ec.pem",
                alg: "ES256",
            },
        ),
        (
            vec![
                "--publisher-jwt-key",
                &key_flag("ed25519.pub.pem"),
                "--publisher-jwt-alg",
                "EdDSA",
            ],
            Key::Private {
                file: "ed25519.pem",
                alg: "EdDSA",
            },
        ),
    ] {
        let mut args = flags.clone();
        args.extend(["--jwt-issuer", ISSUER, "--hub-url", HUB_URL]);
        let server = Tidings::start(&args).await;
        let grant = vec![detail(&["publish"], &[("*", None)])];
        let forged_key = match &key {
            Key::Secret(_) => Key::Secret("another secret of thirty-two bytes or more".into()),
            Key::Private { alg, .. } => Key::Fresh(alg),
            _ => unreachable!(),
        };
        let tokens = sign_all(&[
            Token::access(key.clone(), HOUR, grant.clone()),
            Token::access(forged_key, HOUR, grant),
        ])
        .await;
        let item = json!({"part_number": "P-1", "description": "x"});
        let url = server.url("/api/items");
        let valid = send(
            Method::POST,
            &url,
            &[("authorization", &bearer(&tokens[0]))],
            Some(&item),
        )
        .await;
        check(&format!("{key:?}, valid"), &valid, SCOPE);
        let forged = send(
            Method::POST,
            &url,
            &[("authorization", &bearer(&tokens[1]))],
            Some(&item),
        )
        .await;
        check(&format!("{key:?}, forged"), &forged, INVALID_TOKEN);
        // The editor token still writes.
        let editor = send(
            Method::POST,
            &url,
            &[("authorization", &bearer(EDITOR_TOKEN))],
            Some(&item),
        )
        .await;
        assert_eq!(editor.status, 201, "{editor:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentialed_cors_goes_to_listed_origins_only() {
    let server = server().await;
    let preflight = |origin: &'static str| {
        let url = server.url("/api/publish");
        async move {
            tidings_tests::http()
                .request(Method::OPTIONS, url)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .expect("preflight")
        }
    };
    let allowed = preflight(APP).await;
    let header = |resp: &reqwest::Response, name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert_eq!(
        header(&allowed, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let other = preflight("https://evil.example").await;
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    assert_eq!(header(&other, "access-control-allow-credentials"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_subscriber_tokens_open_no_stream() {
    let server = server().await;
    let mut observer = observer(&server).await;
    let head = server.head().await;
    let url = server.url(&format!("/api/events?match={BOOK}"));

    for (name, token) in forged(SUBSCRIBER, "ec.pub.pem", "subscribe").await {
        let answer = send(
            Method::GET,
            &url,
            &[("authorization", &bearer(&token))],
            None,
        )
        .await;
        check(name, &answer, INVALID_TOKEN);
    }
    let good = sign(Token::access(
        SUBSCRIBER,
        HOUR,
        vec![detail(&["subscribe"], &[(BOOK, None)])],
    ))
    .await;
    let oversized = oversized(SUBSCRIBER).await;
    for case in presentations(&good, &oversized) {
        let url = if case.name.contains("access_token") {
            format!("{url}&access_token={good}")
        } else {
            url.clone()
        };
        let answer = send(Method::GET, &url, &case.headers(), None).await;
        check(case.name, &answer, case.want);
    }
    // The pre-standard query parameter is read only with --mercure-v0.
    let answer = send(
        Method::GET,
        &format!("{url}&authorization={good}"),
        &[],
        None,
    )
    .await;
    check(
        "the v0 query parameter without --mercure-v0",
        &answer,
        NO_TOKEN,
    );

    nothing_changed(&server, &head, &mut observer).await;
}
