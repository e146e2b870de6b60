//! TLS served by the binary itself (`--tls-cert`, `--tls-key`), with a
//! certificate made by `rcgen`:
//!
//! - ALPN gives `h2` to a client that offers it: reqwest (hyper's HTTP/2)
//!   and curl (nghttp2) each receive a stream and publish over HTTP/2, and
//!   many streams and publishes share one connection.
//! - HTTP/1.1 over TLS is served too, streams by the lean path.
//! - A certificate renewed on disk and `SIGHUP` is served to new
//!   connections, while streams opened before go on receiving; a client
//!   that trusts only the old certificate can no longer connect.
//! - A key that does not fit its certificate, or a missing file, refuses
//!   to start with a message naming the problem.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tidings_core::wire::Parser;
use tidings_tests::tls::{self, TestCert, Version};
use tidings_tests::{EDITOR_TOKEN, SseClient, Tidings};
use tokio::io::AsyncReadExt;

const WAIT: Duration = Duration::from_secs(20);

/// Publishes `n` with `client` over the server's URL; asserts 202 and the
/// HTTP version; returns the id.
async fn publish(
    server: &Tidings,
    client: &reqwest::Client,
    n: u64,
    version: reqwest::Version,
) -> String {
    let resp = client
        .post(server.url("/api/publish"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({ "type": "demo.tick", "data": { "n": n } }))
        .send()
        .await
        .expect("publish");
    assert_eq!(resp.version(), version);
    assert_eq!(resp.status().as_u16(), 202);
    let body: serde_json::Value = resp.json().await.expect("json");
    body["id"].as_str().expect("id").to_string()
}

/// The next stored event's id on `stream`.
async fn next_id(stream: &mut SseClient) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = stream
            .next(left)
            .await
            .expect("an event before the deadline");
        if let Some(id) = ev.id {
            return id;
        }
    }
}

#[tokio::test]
async fn http2_and_http1_over_tls_stream_and_publish() {
    let cert = TestCert::new();
    let server = Tidings::start_tls(&cert, &[]).await;
    assert!(server.url("/").starts_with("https://"));

    // HTTP/2: ten streams and the publishes on one connection.
    let h2 = tls::stream_client(&cert.pem, Version::Negotiated);
    let mut streams = Vec::new();
    for _ in 0..10 {
        let stream = SseClient::connect_via(&h2, &server.url("/api/events"), &[]).await;
        assert_eq!(stream.status, 200);
        assert_eq!(stream.version, reqwest::Version::HTTP_2);
        streams.push(stream);
    }
    // HTTP/1.1 over TLS: the lean path.
    let h1 = tls::stream_client(&cert.pem, Version::Http1);
    let mut lean = SseClient::connect_via(&h1, &server.url("/api/events"), &[]).await;
    assert_eq!(
        (lean.status, lean.version),
        (200, reqwest::Version::HTTP_11)
    );

    for n in 0..5 {
        let id = publish(&server, &h2, n, reqwest::Version::HTTP_2).await;
        for stream in streams.iter_mut().chain([&mut lean]) {
            assert_eq!(next_id(stream).await, id);
        }
    }
    let id = publish(&server, &h1, 5, reqwest::Version::HTTP_11).await;
    for stream in streams.iter_mut().chain([&mut lean]) {
        assert_eq!(next_id(stream).await, id);
    }
    // The metadata and health endpoints over HTTP/2.
    let resp = h2.get(server.url("/health")).send().await.expect("health");
    assert_eq!(
        (resp.status().as_u16(), resp.version()),
        (200, reqwest::Version::HTTP_2)
    );

    // A plain-HTTP request to the TLS port gets nothing served.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/health", server.addr))
        .timeout(WAIT)
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

/// curl, with its own HTTP/2 (nghttp2) and TLS, trusting the test
/// certificate only.
fn curl(cert: &TestCert) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("curl");
    command
        .args(["--silent", "--show-error", "--http2", "--cacert"])
        .arg(&cert.cert)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn curl_streams_and_publishes_over_http2() {
    let cert = TestCert::new();
    let server = Tidings::start_tls(&cert, &[]).await;

    let mut stream = curl(&cert)
        .args(["--no-buffer", "--write-out", "\nversion %{http_version}\n"])
        .arg(server.url("/api/events?types=demo.tick"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl runs");
    let mut out = stream.stdout.take().expect("stdout");
    // Until the stream is open: its first frame is the retry and the state.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + WAIT;
    while !String::from_utf8_lossy(&seen).contains("retry:") {
        assert!(Instant::now() < deadline, "no stream from curl");
        let n = tokio::time::timeout(WAIT, out.read(&mut buf))
            .await
            .expect("read")
            .expect("read");
        assert!(n > 0, "curl's stream ended");
        seen.extend_from_slice(&buf[..n]);
    }

    let publish = curl(&cert)
        .args(["--write-out", "\n%{http_code} %{http_version}", "-H"])
        .arg(format!("authorization: Bearer {EDITOR_TOKEN}"))
        .args(["-H", "content-type: application/json", "--data"])
        .arg(r#"{"type":"demo.tick","data":{"n":1}}"#)
        .arg(server.url("/api/publish"))
        .output()
        .await
        .expect("curl publishes");
    let answer = String::from_utf8_lossy(&publish.stdout).into_owned();
    assert!(answer.ends_with("\n202 2"), "curl's publish: {answer:?}");
    let id =
        serde_json::from_str::<serde_json::Value>(answer.lines().next().unwrap()).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();

    let mut parser = Parser::new();
    let mut events = Vec::new();
    parser.feed(&seen, &mut events).expect("SSE");
    while !events.iter().any(|e| e.id.as_deref() == Some(id.as_str())) {
        assert!(Instant::now() < deadline, "the event never reached curl");
        let n = tokio::time::timeout(WAIT, out.read(&mut buf))
            .await
            .expect("read")
            .expect("read");
        assert!(n > 0, "curl's stream ended");
        parser.feed(&buf[..n], &mut events).expect("SSE");
    }
    let ev = events
        .iter()
        .find(|e| e.id.as_deref() == Some(id.as_str()))
        .unwrap();
    assert_eq!(ev.event, "demo.tick");
    assert_eq!(ev.data, r#"{"n":1}"#);
    let _ = stream.kill().await;
}

#[tokio::test]
async fn a_renewed_certificate_is_served_after_sighup_and_open_streams_go_on() {
    let mut cert = TestCert::new();
    let old = cert.pem.clone();
    let server = Tidings::start_tls(&cert, &[]).await;
    let h2_old = tls::stream_client(&old, Version::Negotiated);
    let h1_old = tls::stream_client(&old, Version::Http1);
    let mut h2_stream = SseClient::connect_via(&h2_old, &server.url("/api/events"), &[]).await;
    let mut h1_stream = SseClient::connect_via(&h1_old, &server.url("/api/events"), &[]).await;
    assert_eq!((h2_stream.status, h1_stream.status), (200, 200));

    let new = cert.renew();
    server.signal("HUP");
    // New connections get the new certificate: a client trusting only it
    // connects, one trusting only the old one no longer does.
    let trusts_new = tls::client(&new, Version::Negotiated);
    let deadline = Instant::now() + WAIT;
    while trusts_new.get(server.url("/health")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate is never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let trusts_old = tls::client(&old, Version::Http1);
    assert!(
        trusts_old.get(server.url("/health")).send().await.is_err(),
        "the old certificate is still served to new connections"
    );
    // Streams opened before the reload still receive.
    let id = publish(&server, &trusts_new, 1, reqwest::Version::HTTP_2).await;
    assert_eq!(next_id(&mut h2_stream).await, id);
    assert_eq!(next_id(&mut h1_stream).await, id);

    // A broken file on the next reload leaves the current certificate.
    std::fs::write(&cert.key, "not a key").expect("write");
    server.signal("HUP");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = tls::client(&new, Version::Negotiated)
        .get(server.url("/health"))
        .send()
        .await
        .expect("still served with the renewed certificate");
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn bad_certificate_files_refuse_to_start() {
    let cert = TestCert::new();
    let other = TestCert::new();
    let (c, k) = (
        cert.cert.display().to_string(),
        other.key.display().to_string(),
    );
    let mismatch = tidings_tests::jwt::refused_start(&["--tls-cert", &c, "--tls-key", &k]).await;
    assert!(mismatch.contains("TLS"), "{mismatch}");
    let missing = tidings_tests::jwt::refused_start(&[
        "--tls-cert",
        "/nonexistent/cert.pem",
        "--tls-key",
        &k,
    ])
    .await;
    assert!(missing.contains("/nonexistent/cert.pem"), "{missing}");
    let half = tidings_tests::jwt::refused_start(&["--tls-cert", &c]).await;
    assert!(half.contains("--tls-key"), "{half}");
}
