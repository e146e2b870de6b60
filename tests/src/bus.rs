//! Helpers for tests of several nodes on one Redis bus (`tests/tests/bus_*.rs`):
//! starting the nodes, publishing with or without panicking on a failed
//! request, reading streams and what Redis holds as the same stored events,
//! and the `stream.reset` a trimmed id must get.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::redis::StreamEntry;
use crate::{EDITOR_TOKEN, RedisServer, SseClient, SseEvent, Tidings, http};

/// How long a bus test waits for an event or a state before failing.
pub const WAIT: Duration = Duration::from_secs(30);

/// The stream the nodes share (default `--bus-key`).
pub const EVENTS_KEY: &str = "{tidings}:v2:events";

/// One stored event: its id, kind and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The event id, `<epoch>-<seq>`.
    pub id: String,
    /// The event type.
    pub kind: String,
    /// The event data.
    pub data: Value,
}

impl Stored {
    /// The stored event `ev` received under `id`.
    pub fn from_event(id: String, ev: SseEvent) -> Stored {
        Stored {
            id,
            kind: ev.event,
            data: serde_json::from_str(&ev.data).expect("JSON data"),
        }
    }
}

/// Starts `n` nodes on `redis`, each with `args`.
pub async fn start_nodes(redis: &RedisServer, n: usize, args: &[&str]) -> Vec<Tidings> {
    let url = redis.url();
    let mut nodes = Vec::new();
    for _ in 0..n {
        let mut all = vec!["--bus", url.as_str()];
        all.extend_from_slice(args);
        nodes.push(Tidings::start(&all).await);
    }
    nodes
}

/// The one epoch every node reports.
pub async fn common_epoch(nodes: &[Tidings]) -> String {
    let epoch = nodes[0].epoch().await;
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(node.epoch().await, epoch, "node {i} has another epoch");
    }
    epoch
}

/// POST `/api/publish` at `url`; `Err` when the request itself fails.
pub async fn try_publish(url: &str, kind: &str, data: &Value) -> Result<(u16, Value), String> {
    let resp = http()
        .post(url)
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({ "type": kind, "data": data }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

/// The next event that is not a heartbeat, within [`WAIT`] (heartbeats do
/// not extend it); `None` on timeout or end of stream.
pub async fn next_event(client: &mut SseClient) -> Option<SseEvent> {
    let deadline = Instant::now() + WAIT;
    loop {
        let ev = client
            .next(deadline.saturating_duration_since(Instant::now()))
            .await?;
        if ev.event != "heartbeat" {
            return Some(ev);
        }
    }
}

/// What Redis holds, as events of `epoch`.
pub fn as_stored(epoch: &str, entries: &[StreamEntry]) -> Vec<Stored> {
    entries
        .iter()
        .map(|e| {
            let seq =
                e.id.strip_prefix("0-")
                    .unwrap_or_else(|| panic!("entry id {:?} is not 0-<seq>", e.id));
            Stored {
                id: format!("{epoch}-{seq}"),
                kind: e.field("k").expect("k").to_string(),
                data: serde_json::from_str(e.field("d").expect("d")).expect("JSON data"),
            }
        })
        .collect()
}

/// Publishes and asserts 202; returns the event as clients must see it.
pub async fn publish_ok(url: &str, kind: &str, data: Value) -> Stored {
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
pub async fn wait_head(node: &Tidings, id: &str) {
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
pub async fn next_stored(client: &mut SseClient, what: &str) -> Stored {
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
pub async fn read_stored(client: &mut SseClient, n: usize, what: &str) -> Vec<Stored> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(next_stored(client, what).await);
    }
    out
}

/// The first event that is not a heartbeat nor a `server.state`.
pub async fn next_non_state(client: &mut SseClient, what: &str) -> SseEvent {
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
pub fn ids(epoch: &str, from: u64, to: u64) -> Vec<String> {
    (from..=to).map(|s| format!("{epoch}-{s}")).collect()
}

/// The ids of `events`, in their order.
pub fn ids_of(events: &[Stored]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

/// Reads the `stream.reset` a stream resuming from a trimmed id must start
/// with (after the connect-time state) and checks its data exactly.
pub async fn expect_reset(client: &mut SseClient, head: &str, what: &str) {
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
