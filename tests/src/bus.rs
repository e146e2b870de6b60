//! Helpers for tests of several nodes on one Redis bus: starting the nodes,
//! publishing without panicking on a failed request, reading streams and
//! what Redis holds as the same stored events.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::redis::StreamEntry;
use crate::{EDITOR_TOKEN, RedisServer, SseClient, SseEvent, Tidings, http};

/// How long a bus test waits for an event or a state before failing.
pub const WAIT: Duration = Duration::from_secs(30);

/// The stream the nodes share (default `--bus-key`).
pub const EVENTS_KEY: &str = "{tidings}:events";

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
