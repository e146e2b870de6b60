//! Nodes on one real Redis (`--bus`) with rings smaller than the history:
//! a client resuming from an id older than a node's ring gets the missing
//! events from the Redis stream, with no reset, on a node there from the
//! start as on one that joined later, and goes on with live events.

use std::time::Instant;

use serde_json::json;
use tidings_tests::bus::{
    common_epoch, ids, ids_of, publish_ok, read_stored, start_nodes, wait_head,
};
use tidings_tests::{RedisServer, SseClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_older_than_the_ring_is_read_from_redis() {
    let started = Instant::now();
    let redis = RedisServer::start().await;
    let mut nodes = start_nodes(&redis, 1, &[]).await;
    // A node with a ring of 4, there from the start.
    nodes.extend(start_nodes(&redis, 1, &["--history-size", "4"]).await);
    let epoch = common_epoch(&nodes).await;

    let a_url = nodes[0].url("/api/publish");
    let mut published = Vec::new();
    for n in 0..30 {
        published.push(publish_ok(&a_url, "bus.tick", json!({ "n": n })).await);
    }
    assert_eq!(ids_of(&published), ids(&epoch, 1, 30));
    wait_head(&nodes[1], &format!("{epoch}-30")).await;

    // The ring of the small node holds 27..=30: 6..=30 come from Redis.
    let b_events = nodes[1].url("/api/events");
    let mut from_5 = SseClient::connect(&b_events, Some(&format!("{epoch}-5"))).await;
    assert_eq!(from_5.status, 200);
    assert_eq!(
        read_stored(&mut from_5, 25, "from 5 on the small node").await,
        published[5..],
        "resumed from 5 on the small node"
    );
    let mut from_0 = SseClient::connect(&b_events, Some(&format!("{epoch}-0"))).await;
    assert_eq!(
        read_stored(&mut from_0, 30, "from 0 on the small node").await,
        published,
        "resumed from 0 on the small node"
    );
    // In the ring: no Redis needed, same answer.
    let mut from_28 = SseClient::connect(&b_events, Some(&format!("{epoch}-28"))).await;
    assert_eq!(
        read_stored(&mut from_28, 2, "from 28 on the small node").await,
        published[28..]
    );
    eprintln!("replays on the small node done at {:?}", started.elapsed());

    // A node joining later with a ring of 4 loads the newest 4 events and
    // replays older ones from Redis too.
    nodes.extend(start_nodes(&redis, 1, &["--history-size", "4"]).await);
    assert_eq!(nodes[2].epoch().await, epoch, "the late node's epoch");
    assert_eq!(nodes[2].head().await, format!("{epoch}-30"));
    let mut late_from_7 =
        SseClient::connect(&nodes[2].url("/api/events"), Some(&format!("{epoch}-7"))).await;
    assert_eq!(
        read_stored(&mut late_from_7, 23, "from 7 on the late node").await,
        published[7..],
        "resumed from 7 on the late node"
    );

    // Every resumed stream goes on with live events, published on the
    // small node.
    let b_url = nodes[1].url("/api/publish");
    let mut more = Vec::new();
    for n in 30..35 {
        more.push(publish_ok(&b_url, "bus.tick", json!({ "n": n })).await);
    }
    assert_eq!(ids_of(&more), ids(&epoch, 31, 35));
    for (name, client) in [
        ("from 5", &mut from_5),
        ("from 0", &mut from_0),
        ("from 28", &mut from_28),
        ("late from 7", &mut late_from_7),
    ] {
        assert_eq!(read_stored(client, 5, name).await, more, "{name}: live");
    }
    for (i, node) in nodes.iter().enumerate() {
        let metrics = node.metrics().await;
        assert!(
            metrics.lines().any(|l| l == "tidings_resets_total 0"),
            "node {i} sent resets:\n{metrics}"
        );
    }
    eprintln!("done in {:?}", started.elapsed());
}
