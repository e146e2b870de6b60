//! `--max-streams-per-client`: concurrent streams per source address and
//! per token subject, each counted on its own. The stream beyond the limit
//! answers 429 with `Retry-After` and a JSON error, on the lean path and
//! over HTTP/2 alike; other clients are unaffected; a closed stream gives
//! its place back. `X-Forwarded-For` names the client only when the peer
//! is a `--trusted-proxy`: from anyone else it changes nothing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_tests::jwt::{HUB_URL, ISSUER, Key, Token, bearer, detail, sign_all};
use tidings_tests::tls::{self, TestCert, Version};
use tidings_tests::{SseClient, Tidings};

const WAIT: Duration = Duration::from_secs(20);

/// Opens a stream with `headers` through `client` and returns it if 200,
/// else asserts the 429 refusal and returns `None`.
async fn open(
    client: &reqwest::Client,
    server: &Tidings,
    headers: &[(&str, &str)],
) -> Option<SseClient> {
    let mut stream = SseClient::connect_via(client, &server.url("/api/events"), headers).await;
    if stream.status == 200 {
        stream.next_non_heartbeat(WAIT).await.expect("state");
        return Some(stream);
    }
    assert_eq!(stream.status, 429, "beyond the limit");
    let retry: u64 = stream.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let ct = stream.headers["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = serde_json::from_str(&stream.body_text().await).unwrap();
    assert_eq!(body["error"], "too_many_streams", "{body}");
    None
}

/// Opens a stream that must be admitted.
async fn admitted(
    client: &reqwest::Client,
    server: &Tidings,
    headers: &[(&str, &str)],
) -> SseClient {
    open(client, server, headers)
        .await
        .expect("admitted within the limit")
}

/// Waits until a stream of `headers` is admitted again (a closed stream's
/// place is given back when the server notices it left).
async fn admitted_eventually(
    client: &reqwest::Client,
    server: &Tidings,
    headers: &[(&str, &str)],
) -> SseClient {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(stream) = open(client, server, headers).await {
            return stream;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn one_address_gets_at_most_the_limit_and_others_are_unaffected() {
    let server = Tidings::start(&[
        "--max-streams-per-client",
        "2",
        "--trusted-proxy",
        "127.0.0.1",
    ])
    .await;
    let client = reqwest::Client::new();
    let a = [("x-forwarded-for", "198.51.100.1")];
    let b = [("x-forwarded-for", "198.51.100.2")];
    let first = admitted(&client, &server, &a).await;
    let _second = admitted(&client, &server, &a).await;
    assert!(
        open(&client, &server, &a).await.is_none(),
        "a third from one address"
    );
    // Another client, named by the trusted proxy, is unaffected.
    let _other = admitted(&client, &server, &b).await;
    // The nearest untrusted hop counts: a client cannot pose as another by
    // putting an address in front.
    let posing = [("x-forwarded-for", "198.51.100.9, 198.51.100.1")];
    assert!(open(&client, &server, &posing).await.is_none());
    // A closed stream gives its place back.
    drop(first);
    let _again = admitted_eventually(&client, &server, &a).await;
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let server = Tidings::start(&["--max-streams-per-client", "1"]).await;
    let client = reqwest::Client::new();
    let _one = admitted(&client, &server, &[]).await;
    // The peer is 127.0.0.1 whatever the header says.
    let forged = [("x-forwarded-for", "203.0.113.50")];
    assert!(open(&client, &server, &forged).await.is_none());
    assert!(open(&client, &server, &[]).await.is_none());
}

#[tokio::test]
async fn the_limit_holds_over_http2_too() {
    let cert = TestCert::new();
    let server = Tidings::start_tls(&cert, &["--max-streams-per-client", "2"]).await;
    let h2 = tls::stream_client(&cert.pem, Version::Negotiated);
    let _first = admitted(&h2, &server, &[]).await;
    let second = admitted(&h2, &server, &[]).await;
    assert_eq!(second.version, reqwest::Version::HTTP_2);
    assert!(
        open(&h2, &server, &[]).await.is_none(),
        "a third on the shared connection"
    );
    // The lean path over TLS counts the same address.
    let h1 = tls::stream_client(&cert.pem, Version::Http1);
    assert!(open(&h1, &server, &[]).await.is_none());
}

#[tokio::test]
async fn one_token_subject_gets_at_most_the_limit_from_any_address() {
    let secret = "subscriber-secret-of-at-least-32-bytes!";
    let server = Tidings::start(&[
        "--max-streams-per-client",
        "2",
        "--trusted-proxy",
        "127.0.0.1",
        "--subscriber-jwt-key",
        secret,
        "--jwt-issuer",
        ISSUER,
        "--hub-url",
        HUB_URL,
    ])
    .await;
    let token = |sub: &str| {
        Token::access(
            Key::Secret(secret.into()),
            Duration::from_secs(3600),
            vec![detail(
                &["subscribe"],
                &[("https://example.com/books/1", None)],
            )],
        )
        .claim("sub", json!(sub))
    };
    let signed = sign_all(&[token("alice"), token("bob")]).await;
    let (alice, bob) = (bearer(&signed[0]), bearer(&signed[1]));
    let client = reqwest::Client::new();
    let from = |addr: &'static str, auth: &str| {
        [
            ("x-forwarded-for", addr.to_string()),
            ("authorization", auth.to_string()),
        ]
    };
    let refs = |h: &[(&'static str, String); 2]| -> Vec<(&'static str, String)> { h.to_vec() };
    let mut held = Vec::new();
    for addr in ["198.51.100.1", "198.51.100.2"] {
        let h = refs(&from(addr, &alice));
        held.push(admitted(&client, &server, &pairs(&h)).await);
    }
    // Alice's third stream is refused from a fresh address.
    let h = refs(&from("198.51.100.3", &alice));
    assert!(
        open(&client, &server, &pairs(&h)).await.is_none(),
        "a third for one subject"
    );
    // Bob, from an address Alice uses, is unaffected.
    let h = refs(&from("198.51.100.1", &bob));
    let _bob = admitted(&client, &server, &pairs(&h)).await;
}

fn pairs<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
