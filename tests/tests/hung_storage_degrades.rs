//! A store that accepts connections and never answers: probes are bounded
//! by `--probe-timeout`, so the server turns `degraded` in bounded time,
//! keeps answering `/health` fast, and refuses item writes at once instead
//! of hanging on the store.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_tests::{EDITOR_TOKEN, S3sFs, Tidings, hung_listener};

/// Starts tidings on a store at a hung listener with fast probes,
/// `fail_threshold`, and storage operations bounded by 1 s.
async fn start_on_hung_store(fail_threshold: &str, probe_interval: &str) -> Tidings {
    let (addr, _task) = hung_listener().await;
    let storage = format!("s3://bucket?endpoint=http://{addr}&region=us-east-1");
    Tidings::start_env(
        &[
            "--storage",
            &storage,
            "--probe-interval",
            probe_interval,
            "--probe-timeout",
            "300ms",
            "--fail-threshold",
            fail_threshold,
            "--storage-timeout",
            "1s",
        ],
        &S3sFs::credentials(),
    )
    .await
}

/// A client with its own bound, so a hang shows as a timeout of ours.
fn bounded_client(limit: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(limit)
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_store_degrades_in_bounded_time_and_writes_fail_fast() {
    let started = Instant::now();
    let server = start_on_hung_store("2", "200ms").await;

    // Two probes of at most 300 ms each, 200 ms apart: well under 5 s. Every
    // /health call on the way answers within 1 s although probes hang.
    let health_client = bounded_client(Duration::from_secs(5));
    let mut slowest = Duration::ZERO;
    let mut calls = 0;
    loop {
        let t = Instant::now();
        let resp = health_client
            .get(server.url("/health"))
            .send()
            .await
            .expect("/health answers");
        let body: Value = resp.json().await.expect("JSON");
        let took = t.elapsed();
        calls += 1;
        slowest = slowest.max(took);
        assert!(took < Duration::from_secs(1), "/health took {took:?}");
        if body["mode"] == "degraded" {
            assert_eq!(body["storage"]["healthy"], false, "{body}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not degraded 5 s after start: {body}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    eprintln!(
        "degraded {:?} after start; {calls} /health calls, slowest {slowest:?}",
        started.elapsed()
    );

    // Probes keep hanging; /health keeps answering fast meanwhile.
    for _ in 0..10 {
        let t = Instant::now();
        let (status, body) = server.get_json("/health").await;
        assert_eq!(status, 200);
        assert_eq!(body["mode"], "degraded", "{body}");
        assert!(t.elapsed() < Duration::from_secs(1), "/health slow");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An item write is refused promptly, naming the mode.
    let client = bounded_client(Duration::from_secs(10));
    let t = Instant::now();
    let resp = client
        .post(server.url("/api/items"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({"part_number": "HUNG-1", "description": "x"}))
        .send()
        .await
        .expect("the write answers instead of hanging");
    let took = t.elapsed();
    assert!(took < Duration::from_secs(2), "write took {took:?}");
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["mode"], "degraded", "{body}");

    // Publishing stores the event in the history on the same store: refused
    // at once too.
    let t = Instant::now();
    let (status, body) = server.publish("test.hung", json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "publish took {:?}",
        t.elapsed()
    );
}

/// A write admitted while the server still counts storage healthy reaches
/// the hung store: it must answer 503 within a bounded time (here
/// `--storage-timeout 1s`), not hang holding the write lock, and publish
/// nothing. (Before `--storage-timeout` existed only probes were bounded and
/// this write hung.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_reaching_a_hung_store_is_bounded() {
    // One probe an hour, and a threshold it never reaches: the mode stays
    // normal, so writes are admitted and go to the store.
    let server = start_on_hung_store("1000", "1h").await;
    assert_eq!(server.get_json("/health").await.1["mode"], "normal");
    let head = server.head().await;

    let client = bounded_client(Duration::from_secs(15));
    // Twice: the first must not leave the write lock held.
    for part_number in ["HUNG-2", "HUNG-3"] {
        let t = Instant::now();
        let resp = client
            .post(server.url("/api/items"))
            .bearer_auth(EDITOR_TOKEN)
            .json(&json!({"part_number": part_number, "description": "x"}))
            .send()
            .await;
        let took = t.elapsed();
        let resp = resp.unwrap_or_else(|e| panic!("write still unanswered after {took:?}: {e}"));
        eprintln!(
            "write {part_number} answered {} after {took:?}",
            resp.status()
        );
        assert!(took < Duration::from_secs(5), "write took {took:?}");
        assert_eq!(resp.status().as_u16(), 503);
        assert!(resp.headers().contains_key("retry-after"));
        let body: Value = resp.json().await.expect("JSON");
        assert!(body["error"].is_string(), "{body}");
    }
    assert_eq!(
        server.head().await,
        head,
        "a failed write published an event"
    );

    // Reads go to the store too, and are bounded as well.
    let t = Instant::now();
    let resp = client.get(server.url("/api/items")).send().await;
    let took = t.elapsed();
    let resp = resp.unwrap_or_else(|e| panic!("read still unanswered after {took:?}: {e}"));
    assert!(took < Duration::from_secs(5), "read took {took:?}");
    assert_eq!(resp.status().as_u16(), 503);
}
