//! Bus outages on a real Redis shared by three nodes: Redis paused
//! (`CLIENT PAUSE … ALL`), and Redis stopped then restarted from its
//! append-only file. With fast probes every node turns `degraded`,
//! publishes answer 503 naming the mode while the SSE streams stay open,
//! and once Redis answers again every node returns to `normal`. A publisher
//! that keeps publishing throughout, retrying on refusals: every event
//! acknowledged with 202 reaches the clients of every node exactly once, in
//! id order, the seqs with no gap; `/ready` and `/metrics` show the bus.
//! And with no outage at all, frequent probes while publishes stream in
//! never mistake the bus for one that lost its history.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_tests::bus::{
    EVENTS_KEY, Stored, WAIT, as_stored, common_epoch, next_event, start_nodes, try_publish,
};
use tidings_tests::{RedisServer, SseClient, Tidings, seq_of};

/// Heartbeats every second, and fast probes: degraded after two failures,
/// normal after two successes.
const NODE_ARGS: [&str; 10] = [
    "--heartbeat-interval",
    "1s",
    "--probe-interval",
    "200ms",
    "--probe-timeout",
    "300ms",
    "--fail-threshold",
    "2",
    "--recover-threshold",
    "2",
];
/// Events acknowledged before the outage and after the recovery.
const ACKS_AROUND: usize = 10;

/// Every node still reports `epoch`: the history was kept.
async fn same_epoch(nodes: &[Tidings], epoch: &str, when: &str) {
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(
            node.epoch().await,
            epoch,
            "node {i}: the epoch changed {when}: the bus history was dropped"
        );
    }
}

/// What one client saw on its one connection.
#[derive(Debug)]
struct Seen {
    events: Vec<Stored>,
    /// The `to` of every id-less `server.state`, the connect-time one first.
    states: Vec<String>,
}

/// Reads one stream until the `bus.end` event. The stream must stay open
/// throughout and never reset.
async fn follow(mut client: SseClient, name: String) -> Seen {
    let mut seen = Seen {
        events: Vec::new(),
        states: Vec::new(),
    };
    loop {
        let ev = next_event(&mut client).await.unwrap_or_else(|| {
            panic!(
                "{name}: stream {} after {:?} (states {:?})",
                if client.ended() { "ended" } else { "stalled" },
                client.last_event_id(),
                seen.states
            )
        });
        // An `unknown_epoch` here would mean a probe dropped the bus
        // history although Redis kept it.
        assert_ne!(
            ev.event,
            "stream.reset",
            "{name}: reset after {:?}: {}",
            client.last_event_id(),
            ev.data
        );
        let Some(id) = ev.id.clone() else {
            assert_eq!(ev.event, "server.state", "{name}: {ev:?}");
            let data: Value = serde_json::from_str(&ev.data).expect("JSON");
            seen.states
                .push(data["to"].as_str().expect("to").to_string());
            continue;
        };
        let done = ev.event == "bus.end";
        seen.events.push(Stored::from_event(id, ev));
        if done {
            return seen;
        }
    }
}

/// Opens two streams per node (one live, one from before the first event)
/// and follows each in its own task.
async fn follow_all(
    nodes: &[Tidings],
    epoch: &str,
) -> Vec<(String, tokio::task::JoinHandle<Seen>)> {
    let mut out = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let url = node.url("/api/events");
        let from_start = format!("{epoch}-0");
        for (kind, last) in [("live", None), ("from start", Some(from_start.as_str()))] {
            let client = SseClient::connect(&url, last).await;
            assert_eq!(client.status, 200);
            let name = format!("node {i} {kind}");
            out.push((name.clone(), tokio::spawn(follow(client, name))));
        }
    }
    out
}

/// Three nodes on one Redis, in normal mode, each followed by two streams,
/// with the publisher running and its first acknowledgements in.
struct UnderLoad {
    nodes: Vec<Tidings>,
    epoch: String,
    followers: Vec<(String, tokio::task::JoinHandle<Seen>)>,
    publisher: Publisher,
}

impl UnderLoad {
    /// Lets more publishes be acknowledged, then checks that every one was
    /// delivered exactly once, in order, on every stream.
    async fn finish(self, redis: &RedisServer, started: Instant) {
        self.publisher
            .wait_acked(self.publisher.acked() + ACKS_AROUND)
            .await;
        check_delivery(
            redis,
            &self.nodes,
            &self.epoch,
            self.publisher,
            self.followers,
        )
        .await;
        eprintln!("done in {:?}", started.elapsed());
    }
}

async fn under_load(redis: &RedisServer, started: Instant) -> UnderLoad {
    let nodes = start_nodes(redis, 3, &NODE_ARGS).await;
    let epoch = common_epoch(&nodes).await;
    wait_all(&nodes, "normal", started).await;
    let followers = follow_all(&nodes, &epoch).await;
    let publisher = Publisher::start(nodes.iter().map(|n| n.url("/api/publish")).collect());
    publisher.wait_acked(ACKS_AROUND).await;
    UnderLoad {
        nodes,
        epoch,
        followers,
        publisher,
    }
}

/// What the publisher saw.
#[derive(Debug, Default)]
struct Outcomes {
    acked: Vec<Stored>,
    /// Attempts answered 503, and of those the ones naming the mode.
    refused: Vec<u64>,
    refused_by_mode: usize,
    /// Attempts whose request failed.
    failed: Vec<u64>,
}

/// Publishes round-robin on every node until told to stop, each attempt a
/// new `attempt` number, pausing a little after a refusal.
struct Publisher {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    outcomes: Arc<Mutex<Outcomes>>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    fn start(urls: Vec<String>) -> Publisher {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let outcomes = Arc::new(Mutex::new(Outcomes::default()));
        let task = {
            let (stop, acked, refused, outcomes) = (
                stop.clone(),
                acked.clone(),
                refused.clone(),
                outcomes.clone(),
            );
            tokio::spawn(async move {
                let mut attempt = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    attempt += 1;
                    let node = attempt as usize % urls.len();
                    let data = json!({ "attempt": attempt, "node": node });
                    let pause = match try_publish(&urls[node], "bus.tick", &data).await {
                        Ok((202, body)) => {
                            let id = body["id"].as_str().expect("id").to_string();
                            let mut o = outcomes.lock().unwrap();
                            o.acked.push(Stored {
                                id,
                                kind: "bus.tick".into(),
                                data,
                            });
                            acked.fetch_add(1, Ordering::SeqCst);
                            10
                        }
                        Ok((503, body)) => {
                            assert!(body["error"].is_string(), "503 body: {body}");
                            let mut o = outcomes.lock().unwrap();
                            o.refused.push(attempt);
                            if body["mode"] == "degraded" {
                                o.refused_by_mode += 1;
                            }
                            refused.fetch_add(1, Ordering::SeqCst);
                            25
                        }
                        Ok((status, body)) => {
                            panic!("publish {attempt} on node {node}: {status} {body}")
                        }
                        Err(_) => {
                            outcomes.lock().unwrap().failed.push(attempt);
                            25
                        }
                    };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            })
        };
        Publisher {
            stop,
            acked,
            refused,
            outcomes,
            task,
        }
    }

    /// Waits until at least `n` publishes were acknowledged in all.
    async fn wait_acked(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.acked.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} publishes acknowledged within {WAIT:?}",
                self.acked.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn acked(&self) -> usize {
        self.acked.load(Ordering::SeqCst)
    }

    async fn finish(self) -> Outcomes {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("publisher");
        Arc::try_unwrap(self.outcomes)
            .expect("publisher done")
            .into_inner()
            .unwrap()
    }
}

/// Waits until every node's `/health` reports `mode`.
async fn wait_all(nodes: &[Tidings], mode: &str, since: Instant) {
    for (i, node) in nodes.iter().enumerate() {
        assert!(
            node.wait_mode(mode, WAIT).await,
            "node {i} not {mode} within {WAIT:?}: {}",
            node.get_json("/health").await.1
        );
    }
    eprintln!("every node {mode} {:?} after the change", since.elapsed());
}

/// While the bus is down: publishing is refused naming the mode, `/ready`
/// and `/metrics` show the bus down, and the streams stay open.
async fn check_degraded(nodes: &[Tidings]) {
    for (i, node) in nodes.iter().enumerate() {
        let (status, body) = node.publish("bus.refused", json!({ "node": i })).await;
        assert_eq!(status, 503, "node {i}: publish while degraded: {body}");
        assert_eq!(body["mode"], "degraded", "node {i}: {body}");
        let (status, ready) = node.get_json("/ready").await;
        assert_eq!(status, 200, "node {i}: {ready}");
        assert_eq!(ready["mode"], "degraded", "node {i}: {ready}");
        assert_eq!(ready["bus"]["healthy"], false, "node {i}: {ready}");
        assert_eq!(ready["bus"]["connected"], false, "node {i}: {ready}");
        let metrics = node.metrics().await;
        assert!(
            metrics.lines().any(|l| l == "tidings_bus_up 0"),
            "node {i}:\n{metrics}"
        );
    }
}

/// Stops the publisher, publishes the end marker and checks what every
/// client saw against what Redis holds and what was acknowledged.
async fn check_delivery(
    redis: &RedisServer,
    nodes: &[Tidings],
    epoch: &str,
    publisher: Publisher,
    followers: Vec<(String, tokio::task::JoinHandle<Seen>)>,
) {
    let outcomes = publisher.finish().await;
    let (status, body) = nodes[0].publish("bus.end", json!({})).await;
    assert_eq!(status, 202, "end marker: {body}");
    let end = body["id"].as_str().expect("id").to_string();
    let last = seq_of(&end);

    // Redis holds seqs 1..=end, each once: no gap, no duplicate.
    let held = as_stored(epoch, &redis.stream(EVENTS_KEY).await);
    let held_ids: Vec<String> = held.iter().map(|e| e.id.clone()).collect();
    let expected: Vec<String> = (1..=last).map(|s| format!("{epoch}-{s}")).collect();
    assert_eq!(held_ids, expected, "the Redis stream");
    // Every acknowledged event is there under the id it was given.
    for e in &outcomes.acked {
        let at = seq_of(&e.id) as usize - 1;
        assert_eq!(&held[at], e, "acknowledged event");
    }
    let mut attempts: Vec<u64> = held
        .iter()
        .filter_map(|e| e.data["attempt"].as_u64())
        .collect();
    let stored = attempts.len();
    attempts.sort_unstable();
    attempts.dedup();
    assert_eq!(attempts.len(), stored, "an attempt stored twice");
    let unacked: Vec<u64> = attempts
        .iter()
        .copied()
        .filter(|a| !outcomes.acked.iter().any(|e| e.data["attempt"] == *a))
        .collect();
    eprintln!(
        "{} acknowledged, {} refused with 503 ({} naming the mode), {} failed requests; \
         {} events in Redis, of which stored though not acknowledged: {unacked:?}",
        outcomes.acked.len(),
        outcomes.refused.len(),
        outcomes.refused_by_mode,
        outcomes.failed.len(),
        held.len()
    );
    assert!(
        !outcomes.refused.is_empty(),
        "the publisher was never refused during the outage"
    );
    assert!(
        outcomes.refused_by_mode > 0,
        "no refusal named the mode: {outcomes:?}"
    );

    // Every client, on its one connection, saw exactly that, and was told
    // of the outage and of the recovery.
    for (name, task) in followers {
        let seen = task.await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(seen.events, held, "{name}");
        let changes = &seen.states[1..];
        assert!(
            changes.iter().any(|s| s == "degraded")
                && changes.last().map(String::as_str) == Some("normal"),
            "{name}: server.state changes {changes:?}"
        );
    }

    // Every node applied everything; `/ready` and `/metrics` say so.
    for (i, node) in nodes.iter().enumerate() {
        let deadline = Instant::now() + WAIT;
        let want = json!({
            "healthy": true, "connected": true, "head": last, "applied": last, "lag": 0,
        });
        loop {
            let (status, ready) = node.get_json("/ready").await;
            assert_eq!(status, 200, "node {i}: {ready}");
            if ready["bus"] == want {
                assert_eq!(ready["head"], end, "node {i}: {ready}");
                assert_eq!(ready["mode"], "normal", "node {i}: {ready}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {i}: /ready bus is {} not {want}",
                ready["bus"]
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let metrics = node.metrics().await;
        for line in [
            "tidings_bus_up 1".to_string(),
            format!("tidings_bus_head_seq {last}"),
            format!("tidings_bus_applied_seq {last}"),
            "tidings_bus_lag_events 0".to_string(),
            "tidings_resets_total 0".to_string(),
        ] {
            assert!(
                metrics.lines().any(|l| l == line),
                "node {i}: no line {line:?} in\n{metrics}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_redis_degrades_every_node_then_they_recover() {
    let started = Instant::now();
    let redis = RedisServer::start().await;
    let load = under_load(&redis, started).await;

    // Redis stops answering anyone for 6 s, then resumes by itself.
    let paused = Instant::now();
    redis.cli(&["CLIENT", "PAUSE", "6000", "ALL"]).await;
    wait_all(&load.nodes, "degraded", paused).await;
    check_degraded(&load.nodes).await;
    let during = load.publisher.acked();
    wait_all(&load.nodes, "normal", paused).await;
    // A probe must not take entries the reader applied after the probe read
    // the stream's head for a Redis that lost its history (which would
    // delete the stream and start a new epoch). The burst of publishes Redis
    // runs when the pause ends makes that race likely here.
    same_epoch(&load.nodes, &load.epoch, "over a pause").await;
    let refused = load.publisher.refused.load(Ordering::SeqCst);
    eprintln!("{during} acknowledged before the outage was noticed, {refused} refused by then",);
    load.finish(&redis, started).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_from_its_append_only_file_keeps_the_history() {
    let started = Instant::now();
    let mut redis = RedisServer::start_durable().await;
    let load = under_load(&redis, started).await;

    let stopped = Instant::now();
    redis.stop().await;
    eprintln!("Redis stopped in {:?}", stopped.elapsed());
    wait_all(&load.nodes, "degraded", stopped).await;
    check_degraded(&load.nodes).await;
    // Refusals go on while Redis is away.
    let refused = load.publisher.refused.load(Ordering::SeqCst);
    let deadline = Instant::now() + WAIT;
    while load.publisher.refused.load(Ordering::SeqCst) < refused + 5 {
        assert!(Instant::now() < deadline, "the publisher stalled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let restarted = Instant::now();
    redis.start_again().await;
    eprintln!("Redis answers again after {:?}", restarted.elapsed());
    wait_all(&load.nodes, "normal", restarted).await;
    // The same history goes on: same epoch everywhere.
    same_epoch(&load.nodes, &load.epoch, "over a restart").await;
    load.finish(&redis, started).await;
}

/// No outage at all: a node probing often while publishes stream in must
/// never take the bus for one that lost its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frequent_probes_under_steady_publishing_keep_the_history() {
    const PUBLISHERS: usize = 4;
    const RUN: Duration = Duration::from_secs(3);
    let started = Instant::now();
    let redis = RedisServer::start().await;
    let url = redis.url();
    // A ring that holds every event: the client reads only at the end.
    let node = Tidings::start(&[
        "--bus",
        &url,
        "--probe-interval",
        "10ms",
        "--history-size",
        "100000",
    ])
    .await;
    let epoch = node.epoch().await;
    let mut client = SseClient::connect(&node.url("/api/events"), None).await;
    assert_eq!(client.status, 200);

    let publish_url = node.url("/api/publish");
    let tasks: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let url = publish_url.clone();
            tokio::spawn(async move {
                let (mut acked, mut refused) = (Vec::new(), Vec::new());
                let mut n = 0;
                while started.elapsed() < RUN {
                    let data = json!({ "p": p, "n": n });
                    match try_publish(&url, "bus.tick", &data).await {
                        Ok((202, body)) => acked.push(Stored {
                            id: body["id"].as_str().expect("id").to_string(),
                            kind: "bus.tick".into(),
                            data,
                        }),
                        other => refused.push(format!("{other:?}")),
                    }
                    n += 1;
                }
                (acked, refused)
            })
        })
        .collect();
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for t in tasks {
        let (a, r) = t.await.expect("publisher");
        acked.extend(a);
        refused.extend(r);
    }
    acked.sort_by_key(|e| seq_of(&e.id));
    eprintln!(
        "{} acknowledged, {} refused in {:?}",
        acked.len(),
        refused.len(),
        started.elapsed()
    );

    // Guards the same race as above: a probe comparing the head it read with
    // what the reader applied since would wipe the stream and start a new
    // epoch; publishes would then fail and every client be reset.
    assert_eq!(
        node.epoch().await,
        epoch,
        "the epoch changed with no outage: the bus history was dropped"
    );
    assert!(
        refused.is_empty(),
        "publishes refused with no outage: {:?}",
        &refused[..refused.len().min(5)]
    );
    let held = as_stored(&epoch, &redis.stream(EVENTS_KEY).await);
    assert_eq!(held, acked, "the Redis stream");
    for e in &acked {
        let ev = next_event(&mut client).await.expect("an event");
        let ev = if ev.event == "server.state" {
            next_event(&mut client).await.expect("an event")
        } else {
            ev
        };
        assert_eq!(
            ev.id.as_deref(),
            Some(e.id.as_str()),
            "{}: {}",
            ev.event,
            ev.data
        );
    }
    eprintln!("done in {:?}", started.elapsed());
}
