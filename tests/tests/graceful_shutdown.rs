//! SIGTERM shuts down gracefully: `/ready` turns 503 (or the listener
//! closes), every stream delivers what was stored and ends with an id-less
//! `server.state` whose reason is `shutdown` followed by a jittered
//! `retry:` no shorter than the configured one, writes under way finish and
//! their events reach the streams, and the process exits 0 within the
//! deadline.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tidings_tests::{EDITOR_TOKEN, SseClient, SseEvent, Tidings, http};

const WAIT: Duration = Duration::from_secs(30);

/// Reads a stream to its end; returns the events and the last `retry:`.
async fn read_to_end(mut client: SseClient, deadline: Duration) -> (Vec<SseEvent>, Option<u64>) {
    let until = tokio::time::Instant::now() + deadline;
    let mut events = Vec::new();
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        match client.next(left).await {
            Some(ev) => events.push(ev),
            None => {
                assert!(
                    client.ended(),
                    "the stream did not end within {deadline:?}; last events {:?}",
                    events.iter().rev().take(3).collect::<Vec<_>>()
                );
                return (events, client.retry());
            }
        }
    }
}

/// Polls `/ready` until it stops answering 200: it answers 503, or the
/// listener is closed. Returns what was seen.
async fn wait_not_ready(server: &Tidings) -> String {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let started = Instant::now();
    loop {
        match client.get(server.url("/ready")).send().await {
            Ok(resp) if resp.status().as_u16() == 503 => {
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                assert_eq!(body["status"], "stopping", "{body}");
                return "503".into();
            }
            Ok(resp) => assert_eq!(resp.status().as_u16(), 200, "/ready answered oddly"),
            Err(e) => return format!("not accepting ({e})"),
        }
        assert!(
            started.elapsed() < WAIT,
            "/ready still answered 200 {:?} after SIGTERM",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Checks the farewell: the last event is an id-less `server.state` with
/// reason `shutdown`, and the final `retry:` is in `[retry_ms, 3 × retry_ms]`.
fn assert_farewell(events: &[SseEvent], retry: Option<u64>, retry_ms: u64) {
    let last = events.last().expect("at least the farewell");
    assert_eq!(last.event, "server.state", "the stream ends with the state");
    assert_eq!(last.id, None, "the farewell carries no id: {last:?}");
    let data: Value = serde_json::from_str(&last.data).expect("JSON");
    assert_eq!(data["reason"], "shutdown", "{data}");
    assert!(data["to"].is_string(), "{data}");
    let retry = retry.expect("a retry: value");
    assert!(
        (retry_ms..=3 * retry_ms).contains(&retry),
        "final retry {retry} outside [{retry_ms}, {}]",
        3 * retry_ms
    );
    let farewells = events
        .iter()
        .filter(|e| e.event == "server.state" && e.id.is_none())
        .count();
    assert_eq!(farewells, 2, "one state on connect, one farewell");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_streams_with_farewell_and_exits_zero() {
    let mut server = Tidings::start(&["--shutdown-timeout", "4s", "--retry-ms", "1000"]).await;
    let mut client = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(client.status, 200);
    let state = client.next_non_heartbeat(WAIT).await.expect("state");
    assert_eq!(state.event, "server.state");
    assert_eq!(client.retry(), Some(1000));

    // A second stream read as raw bytes, to check the order of the last
    // frames: the farewell state, then a new `retry:`.
    let raw = reqwest::Client::new()
        .get(server.url("/api/events"))
        .send()
        .await
        .expect("raw stream");
    assert_eq!(raw.status().as_u16(), 200);
    let raw = tokio::spawn(async move {
        let mut body = raw.bytes_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = tokio::time::timeout(WAIT, body.next())
            .await
            .expect("the raw stream ends within the deadline")
        {
            bytes.extend_from_slice(&chunk.expect("chunk"));
        }
        String::from_utf8(bytes).expect("UTF-8")
    });

    // Stored but not yet read when the signal comes: still delivered.
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(server.publish_tick(n).await);
    }

    let signalled = Instant::now();
    server.signal("TERM");
    let ready = wait_not_ready(&server).await;
    println!("after SIGTERM /ready: {ready}");

    let (events, retry) = read_to_end(client, WAIT).await;
    let stream_ended = signalled.elapsed();
    let got: Vec<String> = events.iter().filter_map(|e| e.id.clone()).collect();
    assert_eq!(got, ids, "what was stored is delivered before the end");
    assert_farewell(&[vec![state], events.clone()].concat(), retry, 1000);

    let raw = raw.await.expect("raw reader");
    let blocks: Vec<&str> = raw.split("\n\n").filter(|b| !b.is_empty()).collect();
    let [.., state_block, retry_block] = blocks[..] else {
        panic!("too few frames: {raw:?}");
    };
    assert!(
        state_block.starts_with("event: server.state\ndata: ")
            && state_block.contains(r#""reason":"shutdown""#)
            && !state_block.contains("\nid:"),
        "the next-to-last frame is the id-less farewell state: {state_block:?}"
    );
    let final_retry: u64 = retry_block
        .strip_prefix("retry: ")
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("the last frame is a retry: {retry_block:?}"));
    assert!(
        (1000..=3000).contains(&final_retry),
        "final retry {final_retry} not in [1000, 3000]"
    );

    let status = server
        .wait_exit(Duration::from_secs(6))
        .await
        .expect("the process exits within the shutdown deadline");
    let exited = signalled.elapsed();
    println!("stream ended after {stream_ended:?}, process exited after {exited:?}");
    assert!(status.success(), "exit status {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_running_import_finish() {
    const ROWS: usize = 2000;
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = format!("fs:{}", dir.path().display());
    let mut server = Tidings::start(&[
        "--storage",
        &storage,
        "--history-size",
        "20000",
        "--shutdown-timeout",
        "60s",
        "--retry-ms",
        "1000",
    ])
    .await;

    let mut client = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(client.status, 200);
    let state = client.next_non_heartbeat(WAIT).await.expect("state");
    assert_eq!(state.event, "server.state");
    let reader = tokio::spawn(read_to_end(client, Duration::from_secs(120)));

    let mut csv = String::from("part_number,description,color\n");
    for i in 0..ROWS {
        csv.push_str(&format!("P-{i:05},Part number {i},c{}\n", i % 7));
    }
    let import = {
        let url = server.url("/api/items/import");
        tokio::spawn(async move {
            let resp = reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("client")
                .post(url)
                .bearer_auth(EDITOR_TOKEN)
                .header("content-type", "text/csv")
                .body(csv)
                .send()
                .await
                .expect("the import is answered");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        })
    };

    // Signal once the import is writing (its first item is on disk).
    let items = dir.path().join("items");
    let started = Instant::now();
    while !has_entries(&items) && !import.is_finished() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "import never wrote"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let in_flight = !import.is_finished();
    let signalled = Instant::now();
    server.signal("TERM");
    assert!(
        in_flight,
        "the import of {ROWS} rows finished before the signal: raise ROWS"
    );
    let ready = wait_not_ready(&server).await;
    println!("after SIGTERM /ready: {ready}");

    // A new write while draining is refused, not started.
    if let Ok(resp) = http()
        .post(server.url("/api/publish"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({ "type": "demo.late", "data": {} }))
        .send()
        .await
    {
        assert_eq!(resp.status().as_u16(), 503, "a write after SIGTERM");
        assert!(resp.headers().contains_key("retry-after"));
    }

    let (status, body) = import.await.expect("import task");
    println!(
        "import answered {status} {body} after {:?} ({:?} after SIGTERM)",
        started.elapsed(),
        signalled.elapsed()
    );
    let (events, retry) = reader.await.expect("reader task");
    let created: Vec<&SseEvent> = events
        .iter()
        .filter(|e| e.event == "item.created")
        .collect();
    match status {
        201 => {
            assert_eq!(body, json!({ "created": ROWS, "updated": 0 }));
            assert_eq!(
                created.len(),
                ROWS,
                "every item.created reached the stream before it ended"
            );
            for (i, ev) in created.iter().enumerate() {
                let item: Value = serde_json::from_str(&ev.data).expect("item JSON");
                assert_eq!(item["part_number"], format!("P-{i:05}"));
            }
            let on_disk = std::fs::read_dir(&items).expect("items dir").count();
            assert_eq!(on_disk, ROWS, "every item is durable");
        }
        503 => {
            assert_eq!(body["error"], "shutting_down", "{body}");
            assert!(created.is_empty(), "a refused import emits nothing");
        }
        other => panic!("import answered {other} {body}"),
    }
    assert!(
        events.iter().all(|e| e.event != "demo.late"),
        "the refused write emitted nothing"
    );
    assert_farewell(&[vec![state], events].concat(), retry, 1000);

    let exit = server
        .wait_exit(Duration::from_secs(60))
        .await
        .expect("the process exits within the shutdown deadline");
    println!("process exited {:?} after SIGTERM", signalled.elapsed());
    assert!(exit.success(), "exit status {exit}");
}

fn has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}
