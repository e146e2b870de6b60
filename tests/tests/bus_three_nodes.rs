//! Three nodes on one real Redis (`--bus`): every event published on any
//! node reaches the clients of every node with the same id, in the same
//! order, exactly once. A client may take its last id from one node to
//! another; replay older than a node's ring is read from the Redis stream,
//! and only events Redis no longer holds end in `stream.reset`; the clients
//! of a node killed mid-stream resume on the others without a gap or a
//! duplicate, and a node that is behind the bus resumes a client that is
//! ahead of it without a reset.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_tests::bus::{
    EVENTS_KEY, Stored, WAIT, as_stored, common_epoch, next_event, start_nodes, try_publish,
};
use tidings_tests::{RedisServer, SseClient, SseEvent, Tidings, seq_of};

/// Publishes and asserts 202; returns the event as clients must see it.
async fn publish_ok(url: &str, kind: &str, data: Value) -> Stored {
    let (status, body) = try_publish(url, kind, &data)
        .await
        .unwrap_or_else(|e| panic!("publish to {url}: {e}"));
    assert_eq!(status, 202, "publish to {url}: {body}");
    Stored {
        id: body["id"].as_str().expect("id").to_string(),
        kind: kind.to_string(),
        data,
    }
}

/// Waits until `node` has applied the event `id` (its `/health` head).
async fn wait_head(node: &Tidings, id: &str) {
    let deadline = Instant::now() + WAIT;
    while node.head().await != id {
        assert!(
            Instant::now() < deadline,
            "{} did not reach head {id} within {WAIT:?}",
            node.addr
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next stored event; panics on `stream.reset`, on a stall and on the
/// end of the stream. Id-less `server.state` events are skipped.
async fn next_stored(client: &mut SseClient, what: &str) -> Stored {
    loop {
        let ev = next_event(client).await.unwrap_or_else(|| {
            panic!(
                "{what}: stream ended or stalled (last id {:?})",
                client.last_event_id()
            )
        });
        assert_ne!(
            ev.event,
            "stream.reset",
            "{what}: unexpected reset after {:?}: {}",
            client.last_event_id(),
            ev.data
        );
        if let Some(id) = ev.id {
            return Stored {
                id,
                kind: ev.event,
                data: serde_json::from_str(&ev.data).expect("JSON data"),
            };
        }
        assert_eq!(ev.event, "server.state", "{what}: {ev:?}");
    }
}

/// Reads `n` stored events.
async fn read_stored(client: &mut SseClient, n: usize, what: &str) -> Vec<Stored> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(next_stored(client, what).await);
    }
    out
}

/// The first event that is not a heartbeat nor a `server.state`.
async fn next_non_state(client: &mut SseClient, what: &str) -> SseEvent {
    loop {
        let ev = next_event(client)
            .await
            .unwrap_or_else(|| panic!("{what}: stream ended or stalled"));
        if ev.event != "server.state" {
            return ev;
        }
    }
}

/// Ids `<epoch>-<from>..=<to>`.
fn ids(epoch: &str, from: u64, to: u64) -> Vec<String> {
    (from..=to).map(|s| format!("{epoch}-{s}")).collect()
}

fn ids_of(events: &[Stored]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

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

/// Reads the `stream.reset` a stream resuming from a trimmed id must start
/// with (after the connect-time state) and checks its data exactly.
async fn expect_reset(client: &mut SseClient, head: &str, what: &str) {
    let ev = next_non_state(client, what).await;
    assert_eq!(ev.event, "stream.reset", "{what}: {ev:?}");
    assert_eq!(ev.id, None, "{what}: {ev:?}");
    let data: Value = serde_json::from_str(&ev.data).expect("JSON");
    assert_eq!(
        data,
        json!({ "reason": "history_exceeded", "head": head }),
        "{what}"
    );
}

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

/// What one client of the kill test saw.
#[derive(Debug)]
struct Seen {
    events: Vec<Stored>,
    reconnects: Vec<String>,
}

/// Reads until the `bus.end` event; when the stream ends (its node was
/// killed), resumes with its last id on the next of `fallbacks`.
async fn follow(mut client: SseClient, fallbacks: Vec<String>, name: String) -> Seen {
    let mut seen = Seen {
        events: Vec::new(),
        reconnects: Vec::new(),
    };
    let mut fallbacks = fallbacks.into_iter();
    loop {
        let Some(ev) = next_event(&mut client).await else {
            assert!(
                client.ended(),
                "{name}: stalled for {WAIT:?} after {:?}",
                client.last_event_id()
            );
            let last = client.last_event_id().to_string();
            let url = fallbacks
                .next()
                .unwrap_or_else(|| panic!("{name}: stream ended after {last:?}, nowhere to go"));
            seen.reconnects.push(last.clone());
            client = SseClient::connect(&url, Some(&last)).await;
            assert_eq!(client.status, 200, "{name}: reconnect to {url}");
            continue;
        };
        assert_ne!(
            ev.event,
            "stream.reset",
            "{name}: reset after {:?} (reconnects {:?}): {}",
            client.last_event_id(),
            seen.reconnects,
            ev.data
        );
        let Some(id) = ev.id.clone() else {
            assert_eq!(ev.event, "server.state", "{name}: {ev:?}");
            continue;
        };
        let done = ev.event == "bus.end";
        seen.events.push(Stored::from_event(id, ev));
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_node_resume_on_the_others() {
    const EVENTS: usize = 90;
    const KILL_AFTER: usize = 30;
    let started = Instant::now();
    let redis = RedisServer::start().await;
    let nodes = start_nodes(&redis, 3, &[]).await;
    let epoch = common_epoch(&nodes).await;
    let events: Vec<String> = nodes.iter().map(|n| n.url("/api/events")).collect();
    let from_start = format!("{epoch}-0");

    // Four clients on node 0, which will be killed: two go on to node 1,
    // two to node 2. One client each on nodes 1 and 2 as witnesses.
    let mut followers = Vec::new();
    for i in 0..4 {
        let client = SseClient::connect(&events[0], Some(&from_start)).await;
        assert_eq!(client.status, 200);
        let fallback = events[1 + i % 2].clone();
        followers.push((
            format!("node 0 client {i}"),
            tokio::spawn(follow(client, vec![fallback], format!("node 0 client {i}"))),
        ));
    }
    for (n, url) in events.iter().enumerate().skip(1) {
        let client = SseClient::connect(url, Some(&from_start)).await;
        assert_eq!(client.status, 200);
        let name = format!("node {n} witness");
        followers.push((name.clone(), tokio::spawn(follow(client, vec![], name))));
    }

    // Published round-robin on all three nodes; once node 0 is gone, on the
    // other two. A publish cut by the kill has no known outcome: Redis says.
    let urls: Vec<String> = nodes.iter().map(|n| n.url("/api/publish")).collect();
    let acked = Arc::new(AtomicUsize::new(0));
    let publisher = {
        let (acked, urls) = (acked.clone(), urls.clone());
        tokio::spawn(async move {
            let mut out = Vec::new();
            let mut cut = Vec::new();
            let mut alive = [true; 3];
            let mut turn = 0;
            for n in 0..EVENTS {
                loop {
                    turn = (turn + 1) % 3;
                    if alive[turn] {
                        break;
                    }
                }
                let data = json!({ "n": n, "node": turn });
                match try_publish(&urls[turn], "bus.tick", &data).await {
                    Ok((202, body)) => {
                        out.push(Stored {
                            id: body["id"].as_str().expect("id").to_string(),
                            kind: "bus.tick".into(),
                            data,
                        });
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok((status, body)) => panic!("publish {n} on node {turn}: {status} {body}"),
                    Err(e) => {
                        assert_eq!(turn, 0, "publish {n} on node {turn}: {e}");
                        alive[0] = false;
                        cut.push(n);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (out, cut)
        })
    };

    // Node 0 dies mid-stream.
    let deadline = Instant::now() + WAIT;
    while acked.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(Instant::now() < deadline, "publishing stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    nodes[0].signal("KILL");
    eprintln!(
        "node 0 killed after {} acks at {:?}",
        acked.load(Ordering::SeqCst),
        started.elapsed()
    );

    let (acked_events, cut) = publisher.await.expect("publisher");
    let end = publish_ok(&urls[1], "bus.end", json!({})).await;
    eprintln!(
        "{} acked, cut by the kill: {cut:?}, end {} at {:?}",
        acked_events.len(),
        end.id,
        started.elapsed()
    );
    assert!(
        acked_events.len() >= EVENTS - 1,
        "publishes failed besides the one the kill cut: {cut:?}"
    );

    // Redis is the truth: seqs 1..=end, each once.
    let held = as_stored(&epoch, &redis.stream(EVENTS_KEY).await);
    assert_eq!(
        ids_of(&held),
        ids(&epoch, 1, seq_of(&end.id)),
        "the Redis stream"
    );
    for e in &acked_events {
        let at = seq_of(&e.id) as usize - 1;
        assert_eq!(&held[at], e, "acknowledged event");
    }

    for (name, task) in followers {
        let seen = task.await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            seen.events, held,
            "{name} (reconnects {:?})",
            seen.reconnects
        );
        if name.starts_with("node 0") {
            assert_eq!(seen.reconnects.len(), 1, "{name}: {:?}", seen.reconnects);
            eprintln!("{name} moved after {}", seen.reconnects[0]);
        } else {
            assert!(seen.reconnects.is_empty(), "{name}: {:?}", seen.reconnects);
        }
    }
    eprintln!("done in {:?}", started.elapsed());
}

/// A node whose reader is behind (here: the process was stopped while an
/// event was published elsewhere) is asked to resume a client from an id
/// it has not applied yet, though Redis holds it. The client must simply
/// go on after that id: no `stream.reset`, no event twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_the_bus_resumes_a_client_that_is_ahead_of_it() {
    const ROUNDS: usize = 12;
    let started = Instant::now();
    let redis = RedisServer::start().await;
    let nodes = start_nodes(&redis, 2, &[]).await;
    common_epoch(&nodes).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    for round in 0..ROUNDS {
        let mut on_a = SseClient::connect(&a.url("/api/events"), None).await;
        assert_eq!(on_a.status, 200);
        // Node b is frozen while the event is published on a and read
        // there, and the client's request reaches b's socket.
        b.signal("STOP");
        let seen = publish_ok(
            &a.url("/api/publish"),
            "bus.tick",
            json!({ "round": round }),
        )
        .await;
        assert_eq!(next_stored(&mut on_a, "on a").await, seen);
        let url = b.url("/api/events");
        let last = seen.id.clone();
        let moving = tokio::spawn(async move { SseClient::connect(&url, Some(&last)).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.signal("CONT");
        let mut on_b = moving.await.expect("connect");
        assert_eq!(on_b.status, 200);
        let next = publish_ok(
            &a.url("/api/publish"),
            "bus.tick",
            json!({ "round": round, "next": true }),
        )
        .await;
        // The node has not applied `seen` yet: it must wait for its reader,
        // not answer `stream.reset` (`invalid_id`) and send `seen` again.
        let ev = next_non_state(&mut on_b, &format!("round {round} on b")).await;
        assert_ne!(
            ev.event, "stream.reset",
            "round {round}: resuming from {} on a node behind the bus: {}",
            seen.id, ev.data
        );
        let got = Stored {
            id: ev.id.clone().unwrap_or_default(),
            kind: ev.event.clone(),
            data: serde_json::from_str(&ev.data).expect("JSON data"),
        };
        assert_eq!(got, next, "round {round}: the event after {}", seen.id);
    }
    eprintln!("{ROUNDS} rounds in {:?}", started.elapsed());
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

    // Seq 2 is not an event a node would write.
    let added = redis
        .cli(&["XADD", EVENTS_KEY, "0-*", "k", "not a kind", "d", "{}"])
        .await;
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
