//! A node on a real Redis (`--bus`) whose stream no longer holds what a
//! client asks for: ids trimmed from Redis (`--bus-history`, `XTRIM`), an
//! entry no node wrote and a hole each end in a `stream.reset` with
//! `history_exceeded`, and delivery goes on after it.

use std::time::Instant;

use serde_json::json;
use tidings_tests::bus::{
    EVENTS_KEY, as_stored, common_epoch, expect_reset, ids, ids_of, next_stored, publish_ok,
    read_stored, start_nodes, wait_head,
};
use tidings_tests::{RedisServer, SseClient, seq_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_trimmed_from_redis_get_a_history_exceeded_reset() {
    const EVENTS: usize = 250;
    let started = Instant::now();
    let redis = RedisServer::start().await;
    let nodes = start_nodes(&redis, 1, &["--bus-history", "10", "--history-size", "4"]).await;
    let node = &nodes[0];
    let epoch = common_epoch(&nodes).await;

    // Enough events for `MAXLEN ~ 10` to drop whole radix-tree nodes (of
    // 100 entries), from five publishers at once.
    let url = node.url("/api/publish");
    let tasks: Vec<_> = (0..5)
        .map(|p| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                for k in 0..EVENTS / 5 {
                    out.push(publish_ok(&url, "bus.tick", json!({ "n": k * 5 + p })).await);
                }
                out
            })
        })
        .collect();
    let mut published = Vec::new();
    for t in tasks {
        published.extend(t.await.expect("publisher"));
    }
    published.sort_by_key(|e| seq_of(&e.id));
    assert_eq!(ids_of(&published), ids(&epoch, 1, EVENTS as u64));
    let head = format!("{epoch}-{EVENTS}");
    wait_head(node, &head).await;
    eprintln!("{EVENTS} events published in {:?}", started.elapsed());

    // The stream was capped: it holds a contiguous tail, first..=250.
    let held = as_stored(&epoch, &redis.stream(EVENTS_KEY).await);
    let first = seq_of(&held.first().expect("Redis holds events").id);
    eprintln!("Redis holds {} entries, {first}..={EVENTS}", held.len());
    assert!(
        first > 1,
        "--bus-history 10 trimmed nothing: Redis holds {} entries",
        held.len()
    );
    assert!(held.len() < EVENTS, "the stream was not capped");
    assert_eq!(held, published[first as usize - 1..], "the Redis stream");

    // Resuming right before the oldest entry held: replayed from Redis.
    let events = node.url("/api/events");
    let before_first = format!("{epoch}-{}", first - 1);
    let mut held_client = SseClient::connect(&events, Some(&before_first)).await;
    assert_eq!(held_client.status, 200);
    assert_eq!(
        read_stored(
            &mut held_client,
            EVENTS + 1 - first as usize,
            "from before the first held"
        )
        .await,
        held,
        "resumed from {before_first}"
    );

    // One event further back is gone from Redis: reset, then live events.
    let trimmed = [format!("{epoch}-{}", first - 2), format!("{epoch}-1")];
    let mut reset_clients = Vec::new();
    for last in &trimmed {
        let mut client = SseClient::connect(&events, Some(last)).await;
        assert_eq!(client.status, 200);
        expect_reset(&mut client, &head, &format!("resumed from {last}")).await;
        reset_clients.push((last.clone(), client));
    }
    let next = publish_ok(&url, "bus.tick", json!({ "n": EVENTS })).await;
    assert_eq!(next.id, format!("{epoch}-{}", EVENTS + 1));
    for (last, client) in &mut reset_clients {
        assert_eq!(
            next_stored(client, last).await,
            next,
            "after the reset from {last}"
        );
    }
    assert_eq!(next_stored(&mut held_client, "held").await, next);

    // Trimmed by hand (`XTRIM … MINID`): what was held before is gone now.
    let trim_to = EVENTS as u64 - 10;
    let removed = redis
        .cli(&["XTRIM", EVENTS_KEY, "MINID", &format!("0-{trim_to}")])
        .await;
    eprintln!("XTRIM MINID 0-{trim_to} removed {removed:?}");
    let head = next.id.clone();
    let mut gone = SseClient::connect(&events, Some(&before_first)).await;
    expect_reset(
        &mut gone,
        &head,
        &format!("resumed from {before_first} after XTRIM"),
    )
    .await;
    let edge = format!("{epoch}-{}", trim_to - 1);
    let mut edge_client = SseClient::connect(&events, Some(&edge)).await;
    let rest = read_stored(&mut edge_client, 12, "from the new edge").await;
    assert_eq!(
        rest[..11],
        published[trim_to as usize - 1..],
        "resumed from {edge}"
    );
    assert_eq!(rest[11], next, "resumed from {edge}");
    eprintln!("done in {:?}", started.elapsed());
}

/// An entry no node wrote (added to the stream by hand, with a kind no
/// node would write) and a hole (an entry deleted by hand) never stop a
/// node: the entry is skipped like a trimmed one, clients are told with
/// `history_exceeded`, and delivery goes on; a node started after the hole
/// keeps what follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_entries_and_holes_are_skipped_with_a_reset() {
    let redis = RedisServer::start().await;
    let nodes = start_nodes(&redis, 1, &[]).await;
    let epoch = common_epoch(&nodes).await;
    let publish = nodes[0].url("/api/publish");
    let first = publish_ok(&publish, "bus.tick", json!({ "n": 1 })).await;
    let mut client = SseClient::connect(&nodes[0].url("/api/events"), Some(&first.id)).await;

    // Seq 2 is not an event a node would write: it has no data.
    let added = redis.cli(&["XADD", EVENTS_KEY, "0-*", "k", "note"]).await;
    assert_eq!(added.text().as_deref(), Some("0-2"));
    let third = publish_ok(&publish, "bus.tick", json!({ "n": 3 })).await;
    assert_eq!(third.id, format!("{epoch}-3"));
    expect_reset(&mut client, &format!("{epoch}-2"), "foreign entry").await;
    assert_eq!(
        next_stored(&mut client, "after the foreign entry").await,
        third
    );
    assert_eq!(nodes[0].head().await, third.id, "the node reads on");

    // A hole: a node started now fills its ring from what follows it.
    let deleted = redis.cli(&["XDEL", EVENTS_KEY, "0-2"]).await;
    assert_eq!(deleted.int(), Some(1));
    let late = start_nodes(&redis, 1, &[]).await;
    assert_eq!(late[0].head().await, third.id);
    let mut resumed = SseClient::connect(&late[0].url("/api/events"), Some(&first.id)).await;
    // Seq 2 is gone from the ring and from Redis: an explicit reset.
    expect_reset(&mut resumed, &third.id, "resume across the hole").await;
    let mut fine =
        SseClient::connect(&late[0].url("/api/events"), Some(&format!("{epoch}-2"))).await;
    assert_eq!(next_stored(&mut fine, "resume after the hole").await, third);
}
