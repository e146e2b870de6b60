//! Publish admission over real sockets: a publish waits while the server's
//! streams are behind its fan-out budget, never because a client is slow,
//! and nothing is lost or reordered either way.

use std::time::Duration;

use futures::{StreamExt, stream};
use tidings_tests::{SseClient, Tidings, publish_bulk, seq_of};
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(60);

/// How long the server lets one publish wait at most (`admission::MAX_WAIT`).
const MAX_WAIT: Duration = Duration::from_secs(1);

/// Reads `n` stored events and checks they are seqs 1..=n in order.
async fn read_all_in_order(mut client: SseClient, n: u64) {
    for expected in 1..=n {
        let ev = client
            .next_stored(WAIT)
            .await
            .unwrap_or_else(|| panic!("stream stalled before seq {expected}"));
        let id = ev.id.as_deref().expect("stored");
        assert_eq!(seq_of(id), expected, "gap, duplicate or reorder");
    }
}

/// A server whose publishes wait while any one stream is behind `budget`,
/// by age alone, with room in its ring for every event of these tests.
async fn strict(budget: &str) -> Tidings {
    Tidings::start(&[
        "--fanout-budget",
        budget,
        "--fanout-share",
        "0",
        "--fanout-depth",
        "0",
        "--history-size",
        "10000",
    ])
    .await
}

/// Publishes event `n` with `pad` bytes of padding; how long it took.
async fn publish(client: &reqwest::Client, url: &str, n: u64, pad: &str) -> Duration {
    let start = Instant::now();
    publish_bulk(client, url, n, pad).await;
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_never_holds_publishes() {
    // The strictest budget: any one stream behind by 5 ms holds publishes,
    // however few events wait for it.
    let server = strict("5ms").await;
    let _stalled = server.subscribed().await;
    const EVENTS: u64 = 800;
    let reader = tokio::spawn(read_all_in_order(server.subscribed().await, EVENTS));

    // 800 events of 32 KiB: 25 MiB, far more than the stalled client's
    // socket buffers hold, so its stream blocks on the socket.
    let http = tidings_tests::http();
    let url = server.url("/api/publish");
    let pad = "x".repeat(32 * 1024);
    for n in 0..EVENTS {
        // Were the stalled stream counted as behind, every publish after its
        // socket filled would wait the whole MAX_WAIT.
        let took = publish(&http, &url, n, &pad).await;
        assert!(
            took < MAX_WAIT * 8 / 10,
            "publish {n} took {took:?}: a slow client held publishing"
        );
    }
    reader
        .await
        .expect("the reading client got every event in order");

    let published = server.metric("tidings_events_published_total").await;
    let delivered = server.metric("tidings_events_delivered_total").await;
    assert_eq!(published, EVENTS);
    assert!(
        2 * published >= delivered + 200,
        "the stalled client did not stall its stream (published {published}, delivered \
         {delivered}): the test would prove nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_wait_for_streams_behind_the_budget_and_lose_nothing() {
    // A 1 ms budget: with 200 streams each writing 16 KiB per event, a pass
    // over them takes longer than that, so publishes wait.
    let server = strict("1ms").await;
    const CLIENTS: usize = 200;
    const EVENTS: u64 = 300;
    let clients = stream::iter(0..CLIENTS)
        .map(|_| server.subscribed())
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(read_all_in_order(c, EVENTS)))
        .collect();

    let http = tidings_tests::http();
    let url = server.url("/api/publish");
    let pad = "x".repeat(16 * 1024);
    let took: Vec<Duration> = stream::iter(0..EVENTS)
        .map(|n| publish(&http, &url, n, &pad))
        .buffered(8)
        .collect()
        .await;
    for reader in readers {
        reader.await.expect("every client got every event in order");
    }

    let held = server.metric("tidings_publish_held_total").await;
    let held_us = server
        .metric("tidings_publish_held_microseconds_total")
        .await;
    assert!(
        held > 0,
        "no publish waited for 200 streams on a 1 ms budget"
    );
    assert!(held_us > 0, "{held} publishes held for no time");
    assert!(held <= EVENTS, "{held} holds for {EVENTS} publishes");
    // A hold ends when the streams catch up, or after MAX_WAIT at most.
    let slowest = took.iter().max().expect("publishes");
    assert!(*slowest < MAX_WAIT * 3, "a publish took {slowest:?}");
}
