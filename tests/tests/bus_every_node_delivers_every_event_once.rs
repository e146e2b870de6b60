//! Three nodes on one real Redis (`--bus`): every event published on any
//! node reaches the clients of every node with the same id, in the same
//! order, exactly once, and a client may take its last id from one node to
//! another.

use std::time::{Duration, Instant};

use serde_json::json;
use tidings_tests::bus::{
    EVENTS_KEY, Stored, as_stored, common_epoch, ids, ids_of, next_stored, publish_ok, read_stored,
    start_nodes,
};
use tidings_tests::{RedisServer, SseClient, seq_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_delivers_every_event_once_in_one_order() {
    let started = Instant::now();
    let redis = RedisServer::start().await;
    let nodes = start_nodes(&redis, 3, &[]).await;
    let epoch = common_epoch(&nodes).await;
    eprintln!("3 nodes up in {:?}, epoch {epoch}", started.elapsed());

    // On every node: one live client, and one resuming from before the
    // first event.
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let url = node.url("/api/events");
        let live = SseClient::connect(&url, None).await;
        let from_start = SseClient::connect(&url, Some(&format!("{epoch}-0"))).await;
        for (name, c) in [("live", live), ("from start", from_start)] {
            assert_eq!(c.status, 200);
            clients.push((format!("node {i} {name}"), c));
        }
    }

    // 30 events published round-robin, one publisher per node running at
    // the same time, then a burst of 30 at once.
    let urls: Vec<String> = nodes.iter().map(|n| n.url("/api/publish")).collect();
    let mut published = Vec::new();
    let tasks: Vec<_> = (0..3)
        .map(|p| {
            let url = urls[p].clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                for k in 0..10 {
                    let n = k * 3 + p;
                    out.push(publish_ok(&url, "bus.tick", json!({ "n": n, "node": p })).await);
                }
                out
            })
        })
        .collect();
    for t in tasks {
        published.extend(t.await.expect("publisher"));
    }
    let burst: Vec<_> = (30..60)
        .map(|n| {
            let url = urls[n % 3].clone();
            tokio::spawn(async move {
                publish_ok(&url, "bus.tick", json!({ "n": n, "node": n % 3 })).await
            })
        })
        .collect();
    for t in burst {
        published.push(t.await.expect("publisher"));
    }
    eprintln!("60 events published in {:?}", started.elapsed());

    // The answers name seqs 1..=60 of the one epoch, each once.
    published.sort_by_key(|e| seq_of(&e.id));
    assert_eq!(ids_of(&published), ids(&epoch, 1, 60), "ids answered");
    // Redis holds exactly these, in this order.
    let held = as_stored(&epoch, &redis.stream(EVENTS_KEY).await);
    assert_eq!(held, published, "the Redis stream");

    for (name, client) in &mut clients {
        let got = read_stored(client, 60, name).await;
        assert_eq!(got, published, "{name}");
    }
    eprintln!("every client has every event at {:?}", started.elapsed());

    // Every node applied everything, and the next event each client gets
    // is the next one published: nothing extra came after the 60.
    for (i, node) in nodes.iter().enumerate() {
        let (status, ready) = node.get_json("/ready").await;
        assert_eq!(status, 200, "{ready}");
        assert_eq!(ready["head"], format!("{epoch}-60"), "node {i}: {ready}");
        assert_eq!(ready["bus"]["applied"], 60, "node {i}: {ready}");
        assert_eq!(ready["bus"]["head"], 60, "node {i}: {ready}");
        assert_eq!(ready["bus"]["lag"], 0, "node {i}: {ready}");
    }
    let last = publish_ok(&urls[1], "bus.last", json!({ "n": 60 })).await;
    assert_eq!(last.id, format!("{epoch}-61"));
    for (name, client) in &mut clients {
        assert_eq!(next_stored(client, name).await, last, "{name}: after 60");
    }
    eprintln!("done in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_moving_between_nodes_sees_every_event_once() {
    const EVENTS: usize = 60;
    let started = Instant::now();
    let redis = RedisServer::start().await;
    let nodes = start_nodes(&redis, 3, &[]).await;
    let epoch = common_epoch(&nodes).await;

    // The client starts on node 0 before anything is published.
    let mut client = SseClient::connect(&nodes[0].url("/api/events"), None).await;
    assert_eq!(client.status, 200);

    // Events published round-robin on every node while the client moves.
    let urls: Vec<String> = nodes.iter().map(|n| n.url("/api/publish")).collect();
    let publisher = tokio::spawn(async move {
        let mut out = Vec::new();
        for n in 0..EVENTS {
            out.push(publish_ok(&urls[n % 3], "bus.tick", json!({ "n": n })).await);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        out
    });

    let mut got: Vec<Stored> = Vec::new();
    let mut hops = 0;
    let mut node = 0;
    while got.len() < EVENTS {
        // A few events here, then on to the next node with the last id.
        let take = (1 + hops * 7 % 5).min(EVENTS - got.len());
        let what = format!("hop {hops} on node {node}");
        got.extend(read_stored(&mut client, take, &what).await);
        let last = client.last_event_id().to_string();
        assert_eq!(last, got.last().expect("read some").id);
        drop(client);
        hops += 1;
        node = (node + 1) % 3;
        client = SseClient::connect(&nodes[node].url("/api/events"), Some(&last)).await;
        assert_eq!(client.status, 200, "{what}");
    }
    let mut published = publisher.await.expect("publisher");
    published.sort_by_key(|e| seq_of(&e.id));
    assert_eq!(ids_of(&published), ids(&epoch, 1, EVENTS as u64));
    assert_eq!(got, published, "what the moving client saw");
    eprintln!(
        "{EVENTS} events over {hops} hops in {:?}",
        started.elapsed()
    );

    // The last connection goes on with live events.
    let last = publish_ok(&nodes[2].url("/api/publish"), "bus.last", json!({})).await;
    assert_eq!(next_stored(&mut client, "after the hops").await, last);
}
