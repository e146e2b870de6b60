//! `--max-clients` bounds concurrent streams: one more answers 503 with
//! `Retry-After` and a JSON error, and a slot freed by a disconnect is given
//! to the next client.
//!
//! A closed stream must release its slot promptly, not when a later write
//! to it fails: `disconnect_frees_slot_without_waiting_for_heartbeats`
//! holds the default configuration (15 s heartbeats) to that. The main test
//! runs with `--heartbeat-interval 1s` so it does not depend on how the
//! close is noticed.

use std::time::{Duration, Instant};

use serde_json::Value;
use tidings_tests::{SseClient, Tidings, content_type};

const WAIT: Duration = Duration::from_secs(30);

async fn admitted(server: &Tidings) -> SseClient {
    let mut client = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(client.status, 200, "a stream within the limit is admitted");
    let state = client.next_non_heartbeat(WAIT).await.expect("state");
    assert_eq!(state.event, "server.state");
    client
}

/// Opens one stream too many and checks the refusal.
async fn assert_refused(server: &Tidings) {
    let resp = reqwest::Client::new()
        .get(server.url("/api/events"))
        .header("accept", "text/event-stream")
        .timeout(WAIT)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 503, "beyond the limit");
    let retry_after = resp
        .headers()
        .get("retry-after")
        .expect("Retry-After on a refused stream")
        .to_str()
        .expect("ASCII")
        .to_string();
    let secs: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After in seconds: {retry_after:?}"));
    assert!(secs >= 1, "Retry-After {secs}");
    let content_type = content_type(&resp);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = resp.json().await.expect("a JSON body");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "an error field: {body}"
    );
}

async fn sse_clients(server: &Tidings) -> u64 {
    let (status, health) = server.get_json("/health").await;
    assert_eq!(status, 200);
    health["sse_clients"].as_u64().expect("sse_clients")
}

async fn wait_clients(server: &Tidings, want: u64) -> Duration {
    let started = Instant::now();
    loop {
        let now = sse_clients(server).await;
        if now == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < WAIT,
            "sse_clients stayed {now}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fourth_stream_is_refused_until_one_leaves() {
    let server = Tidings::start(&["--max-clients", "3", "--heartbeat-interval", "1s"]).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(admitted(&server).await);
    }
    assert_eq!(sse_clients(&server).await, 3);

    assert_refused(&server).await;
    // A refusal does not take a slot.
    assert_eq!(sse_clients(&server).await, 3);
    assert_refused(&server).await;

    // Other routes still answer while the streams are full.
    assert_eq!(server.get_json("/ready").await.0, 200);

    drop(clients.remove(1));
    let took = wait_clients(&server, 2).await;
    println!("the server noticed the disconnect after {took:?}");

    clients.push(admitted(&server).await);
    assert_eq!(sse_clients(&server).await, 3);
    assert_refused(&server).await;

    // The streams admitted still work.
    for client in &mut clients {
        assert!(!client.ended());
    }
    drop(clients);
    wait_clients(&server, 0).await;
    let last = admitted(&server).await;
    assert_eq!(sse_clients(&server).await, 1);
    drop(last);
}

/// A stream whose client closed the socket releases its subscription and
/// its `--max-clients` slot at once, with the default heartbeat interval.
///
/// Regression guard: the poem-served stream noticed a close only when a
/// write failed, i.e. at the second heartbeat after it (~30 s); clients
/// coming back after a network blip were refused with 503 that long when
/// the server was at its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_frees_slot_without_waiting_for_heartbeats() {
    let server = Tidings::start(&["--max-clients", "1"]).await;
    let client = admitted(&server).await;
    assert_refused(&server).await;
    drop(client);
    let started = Instant::now();
    while sse_clients(&server).await != 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a closed stream still held its slot after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    drop(admitted(&server).await);
}
