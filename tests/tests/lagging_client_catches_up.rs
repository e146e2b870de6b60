//! A client that stops reading while events are published: when the ring
//! still covers what it missed, it catches up with every event in order and
//! no reset; when the ring moved past it, it gets `stream.reset` with
//! reason `lagged` and continues from the ring's tail, in order, with no
//! duplicates.
//!
//! The stalled client really stalls the server: its stream is not polled,
//! so the client's socket and then the server's fill up, and the server's
//! `tidings_events_delivered_total` stops short of what was published.

use std::time::Duration;

use futures::{StreamExt, stream};
use serde_json::Value;
use tidings_tests::{SseClient, SseEvent, Tidings, publish_bulk};

const WAIT: Duration = Duration::from_secs(60);

/// The seq of an id `<epoch>-<seq>`.
fn seq(id: &str) -> u64 {
    id.rsplit_once('-')
        .and_then(|(_, s)| s.parse().ok())
        .unwrap_or_else(|| panic!("not an event id: {id:?}"))
}

/// Publishes `count` events whose data carries `pad_bytes` of padding, with
/// a few requests in flight at a time; returns the ids, sorted by seq.
async fn publish_many(server: &Tidings, count: usize, pad_bytes: usize) -> Vec<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let pad = "x".repeat(pad_bytes);
    let url = server.url("/api/publish");
    let mut ids: Vec<String> = stream::iter(0..count)
        .map(|n| {
            let (client, url, pad) = (client.clone(), url.clone(), pad.clone());
            async move { publish_bulk(&client, &url, n as u64, &pad).await }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    ids.sort_by_key(|id| seq(id));
    ids
}

/// Reads until the event with id `last` arrived (heartbeats skipped).
async fn read_until(client: &mut SseClient, last: &str) -> Vec<SseEvent> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut out: Vec<SseEvent> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(ev) = client.next_non_heartbeat(left).await else {
            panic!(
                "stream ended or stalled after {} events; last {:?}",
                out.len(),
                out.last().map(|e| (&e.event, &e.id, &e.data))
            );
        };
        let done = ev.id.as_deref() == Some(last);
        out.push(ev);
        if done {
            return out;
        }
    }
}

/// Checks that, while the client was stalled, the server could not hand it
/// everything: at least `min_behind` published events were still undelivered.
async fn assert_server_stalled(server: &Tidings, min_behind: u64) {
    let published = server.metric("tidings_events_published_total").await;
    let delivered = server.metric("tidings_events_delivered_total").await;
    println!("stalled client: published {published}, delivered {delivered}");
    assert!(
        published >= delivered + min_behind,
        "the stalled client did not stall the server (published {published}, delivered \
         {delivered}): the test would prove nothing; raise the volume"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_client_within_the_ring_gets_every_event_in_order() {
    let server = Tidings::start(&["--history-size", "10000"]).await;
    let mut stalled = server.subscribed().await;

    // 2000 events of ~8 KiB: 16 MiB, more than the socket buffers hold.
    let ids = publish_many(&server, 2000, 8 * 1024).await;
    assert_eq!(ids.len(), 2000);
    assert_server_stalled(&server, 200).await;

    let events = read_until(&mut stalled, ids.last().expect("ids")).await;
    let resets: Vec<&SseEvent> = events.iter().filter(|e| e.id.is_none()).collect();
    assert!(
        resets.is_empty(),
        "no control event while the ring covered the lag: {:?}",
        resets
            .iter()
            .map(|e| (&e.event, &e.data))
            .collect::<Vec<_>>()
    );
    let got: Vec<String> = events.iter().filter_map(|e| e.id.clone()).collect();
    assert_eq!(got.len(), ids.len(), "every event once");
    assert_eq!(got, ids, "every event, in order");
    for ev in &events {
        let data: Value = serde_json::from_str(&ev.data).expect("JSON");
        assert_eq!(data["pad"].as_str().map(str::len), Some(8 * 1024));
    }
    assert_eq!(server.metric("tidings_lagged_total").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_client_past_the_ring_gets_lagged_reset_then_continues() {
    let server = Tidings::start(&["--history-size", "16", "--max-event-bytes", "40000"]).await;
    let mut stalled = server.subscribed().await;
    let epoch = {
        let (_, health) = server.get_json("/health").await;
        health["epoch"].as_str().expect("epoch").to_string()
    };

    // 600 events of 32 KiB: ~19 MiB, far beyond socket buffers and a ring
    // of 16.
    let ids = publish_many(&server, 600, 32 * 1024).await;
    assert_eq!(ids.len(), 600);
    assert_eq!(seq(&ids[0]), 1);
    assert_server_stalled(&server, 100).await;

    let last = ids.last().expect("ids").clone();
    let events = read_until(&mut stalled, &last).await;

    let mut resets = 0;
    let mut prev: Option<u64> = None;
    let mut reset_head: Option<u64> = None;
    for ev in &events {
        match ev.id.as_deref() {
            None => {
                assert_eq!(ev.event, "stream.reset", "unexpected control {ev:?}");
                let data: Value = serde_json::from_str(&ev.data).expect("JSON");
                assert_eq!(data["reason"], "lagged", "{data}");
                let head = data["head"].as_str().expect("head");
                assert!(head.starts_with(&format!("{epoch}-")), "{head}");
                reset_head = Some(seq(head));
                resets += 1;
            }
            Some(id) => {
                assert!(id.starts_with(&format!("{epoch}-")), "{id}");
                let s = seq(id);
                assert_eq!(ev.event, "demo.bulk");
                match (prev, reset_head.take()) {
                    // Without a reset in between: the very next event.
                    (Some(p), None) => assert_eq!(s, p + 1, "gap or duplicate after {p}"),
                    (None, None) => assert_eq!(s, 1, "the stream starts at the first event"),
                    // After a reset: strictly later, within what the head was.
                    (p, Some(head)) => {
                        assert!(
                            p.is_none_or(|p| s > p + 1),
                            "a lagged reset skips ahead: {p:?} then {s}"
                        );
                        assert!(s <= head, "resumes from the ring, at most its head");
                    }
                }
                prev = Some(s);
            }
        }
    }
    assert!(
        resets >= 1,
        "a client stalled past a ring of 16 must get a lagged reset"
    );
    assert_eq!(prev, Some(seq(&last)), "it catches up to the last event");
    let lagged = server.metric("tidings_lagged_total").await;
    assert_eq!(lagged, resets, "the server counted the resets it sent");

    // And the stream is live again.
    let mut after = publish_many(&server, 1, 10).await;
    let next = read_until(&mut stalled, &after.remove(0)).await;
    assert_eq!(next.len(), 1, "exactly the next event: {next:?}");
}
