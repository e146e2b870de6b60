//! Mercure clients nobody here wrote, against the real binary: PyPI's
//! `mercure-publisher` (which signs its own pre-standard publisher token)
//! publishes, and npm's `eventsource` subscribes to `/.well-known/mercure`;
//! the stream is cut by `--stream-lifetime` between two batches, and the
//! package's own reconnection with `Last-Event-ID` must get every update,
//! once, in order. `scripts/test` installs both (tests/clients/).

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tidings_tests::Tidings;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const SECRET: &str = "a publisher secret of thirty-two bytes or more";
const TOPIC: &str = "https://example.com/books/1";

fn clients_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/clients").to_owned()
}

/// Runs the Python publisher for updates `first..first + count`; the ids
/// the hub answered.
async fn publish(hub: &str, first: u64, count: u64) -> Vec<String> {
    let out = Command::new(tidings_tests::python())
        .arg(format!("{}/publish.py", clients_dir()))
        .args([hub, SECRET, TOPIC, &first.to_string(), &count.to_string()])
        .output()
        .await
        .expect("python runs");
    assert!(
        out.status.success(),
        "mercure-publisher failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_publisher_and_subscriber_lose_nothing_across_a_reconnect() {
    let modules = format!("{}/node_modules/eventsource", clients_dir());
    assert!(
        std::path::Path::new(&modules).exists(),
        "{modules} is missing: run scripts/test once (it runs npm ci in tests/clients)"
    );
    let server = Tidings::start(&[
        "--mercure-v0",
        "--publisher-jwt-key",
        SECRET,
        "--jwt-issuer",
        "https://example.com",
        "--hub-url",
        "https://hub.example.com/.well-known/mercure",
        "--stream-lifetime",
        "1s",
        "--retry-ms",
        "100",
    ])
    .await;
    let hub = server.url("/.well-known/mercure");
    let topic: String = form_urlencoded::byte_serialize(TOPIC.as_bytes()).collect();
    let mut node = Command::new("node")
        .arg(format!("{}/subscribe.mjs", clients_dir()))
        .arg(format!("{hub}?topic={topic}"))
        .arg("10")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("the subscriber speaks within 10 s")
            .unwrap()
            .expect("the subscriber is still running");
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next().await["open"], 1);

    let mut published = publish(&hub, 0, 5).await;
    let mut seen = Vec::new();
    let mut opens = 1;
    while seen.len() < 5 {
        let line = next().await;
        if let Some(id) = line["id"].as_str() {
            seen.push((id.to_owned(), line["data"].as_str().unwrap().to_owned()));
        }
    }
    // Past the stream's lifetime: the package reconnects on its own.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    published.extend(publish(&hub, 5, 5).await);
    while seen.len() < 10 {
        let line = next().await;
        if let Some(id) = line["id"].as_str() {
            seen.push((id.to_owned(), line["data"].as_str().unwrap().to_owned()));
        } else if line["open"].is_number() {
            opens += 1;
        }
    }
    assert!(
        opens >= 2,
        "the stream was cut and reopened ({opens} opens)"
    );
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids, published,
        "every update once, in order, with the hub's ids"
    );
    for (n, (_, data)) in seen.iter().enumerate() {
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(data["n"], n, "{seen:?}");
    }
    let status = tokio::time::timeout(Duration::from_secs(5), node.wait())
        .await
        .expect("the subscriber exits")
        .unwrap();
    assert!(status.success());
}
