//! Tokens that pass, against the real binary: a publish grant publishes
//! (the header winning over a bad cookie, a cookie from an allowed origin,
//! the editor token beside a publisher key), a private event reaches only
//! the streams whose token grants one of its topics, and a stream ends when
//! its token expires. The harness is `tidings_tests::token_catalogue`.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tidings_tests::jwt::{Token, bearer, detail, send, sign, sign_all};
use tidings_tests::token_catalogue::{
    APP, BOOK, COOKIE, HOUR, INVALID_TOKEN, OTHER_BOOK, PUBLISHER, SUBSCRIBER, WAIT, check,
    observer, publish_body, server,
};
use tidings_tests::{EDITOR_TOKEN, SseClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granted_publishes_reach_subscribers() {
    let server = server().await;
    let mut observer = observer(&server).await;
    let url = server.url("/api/publish");
    let good = sign(Token::access(
        PUBLISHER,
        HOUR,
        vec![detail(
            &["publish"],
            &[("https://example.com/books/:id", Some("urlpattern"))],
        )],
    ))
    .await;
    let cookie = format!("{COOKIE}={good}");
    for (name, headers) in [
        ("the header", vec![("authorization", bearer(&good))]),
        (
            "a good header with a bad cookie: the header wins",
            vec![
                ("authorization", bearer(&good)),
                ("cookie", format!("{COOKIE}=not-a-jwt")),
            ],
        ),
        (
            "a cookie from an allowed origin",
            vec![("cookie", cookie.clone()), ("origin", APP.into())],
        ),
        (
            "the editor token, with a publisher key",
            vec![("authorization", bearer(EDITOR_TOKEN))],
        ),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let answer = send(
            Method::POST,
            &url,
            &headers,
            Some(&publish_body(&[BOOK, OTHER_BOOK])),
        )
        .await;
        assert_eq!(answer.status, 202, "{name}: {answer:?}");
        let got = observer.collect_ids(1, WAIT).await;
        assert!(
            got.iter().any(|e| e.event == "t"),
            "{name}: the observer did not get the event: {got:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_events_reach_only_granted_streams() {
    let server = server().await;
    let tokens = sign_all(&[
        Token::access(
            SUBSCRIBER,
            HOUR,
            vec![detail(&["subscribe"], &[(BOOK, None)])],
        ),
        Token::access(
            SUBSCRIBER,
            HOUR,
            vec![detail(&["subscribe"], &[(OTHER_BOOK, None)])],
        ),
    ])
    .await;
    let stream = |token: String| {
        let url = server.url(&format!("/api/events?match={BOOK}"));
        async move {
            let mut client =
                SseClient::connect_with(&url, &[("authorization", &bearer(&token))]).await;
            assert_eq!(client.status, 200);
            assert_eq!(
                client.next_non_heartbeat(WAIT).await.unwrap().event,
                "server.state"
            );
            client
        }
    };
    let mut granted = stream(tokens[0].clone()).await;
    let mut other = stream(tokens[1].clone()).await;
    let answer = send(
        Method::POST,
        &server.url("/api/publish"),
        &[("authorization", &bearer(EDITOR_TOKEN))],
        Some(&json!({"type": "secret", "data": {}, "topics": [BOOK], "private": true})),
    )
    .await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let got = granted.collect_ids(1, WAIT).await;
    assert!(got.iter().any(|e| e.event == "secret"), "{got:?}");
    let leaked = other.collect_ids(1, Duration::from_millis(500)).await;
    assert!(leaked.iter().all(|e| e.event != "secret"), "{leaked:?}");
}

/// Long enough that a token signed by a cold Python start is still
/// valid when the stream opens on a slow machine.
const LIFETIME: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_its_token_expires() {
    let server = server().await;
    let token = sign(Token::access(
        SUBSCRIBER,
        LIFETIME,
        vec![detail(&["subscribe"], &[("*", None)])],
    ))
    .await;
    let mut client = SseClient::connect_with(
        &server.url("/api/events"),
        &[("authorization", &bearer(&token))],
    )
    .await;
    assert_eq!(client.status, 200);
    let mut last = None;
    while let Some(ev) = client.next(LIFETIME + WAIT).await {
        last = Some(ev);
    }
    assert!(client.ended(), "the stream outlived its token");
    assert_eq!(last.map(|e| e.event).as_deref(), Some("stream.expired"));
    // The same token now opens nothing.
    let answer = send(
        Method::GET,
        &server.url("/api/events"),
        &[("authorization", &bearer(&token))],
        None,
    )
    .await;
    check("the expired token again", &answer, INVALID_TOKEN);
}
