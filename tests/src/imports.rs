//! Helpers of the import tests: send an import, collect the events it
//! emitted, check them against the stored items.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::{EDITOR_TOKEN, SseClient, SseEvent, Tidings, http};

/// POSTs `body` as `content_type` to `/api/items/import` with the editor
/// token; returns the status and the JSON body.
pub async fn import(server: &Tidings, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = http()
        .post(server.url("/api/items/import"))
        .bearer_auth(EDITOR_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The next `n` stored events, each within `wait`.
pub async fn stored_events(stream: &mut SseClient, n: usize, wait: Duration) -> Vec<SseEvent> {
    let mut out = Vec::new();
    while out.len() < n {
        match stream.next_stored(wait).await {
            Some(ev) => out.push(ev),
            None => panic!("only {} of {n} events arrived: {out:?}", out.len()),
        }
    }
    out
}

/// Items by part number, as `GET /api/items` lists them.
pub fn by_part_number(items: &Value) -> BTreeMap<String, Value> {
    items
        .as_array()
        .expect("array")
        .iter()
        .map(|i| {
            (
                i["part_number"].as_str().expect("pn").to_string(),
                i.clone(),
            )
        })
        .collect()
}

/// Asserts that `events` hold exactly one `kind` event per part number of
/// `expected`, each carrying the item as `stored` lists it now.
pub fn assert_item_events(events: &[SseEvent], kind: &str, expected: &[&str], stored: &Value) {
    let stored = by_part_number(stored);
    let mut seen = Vec::new();
    for ev in events.iter().filter(|e| e.event == kind) {
        let data: Value = serde_json::from_str(&ev.data).expect("JSON data");
        let pn = data["part_number"].as_str().expect("pn").to_string();
        assert_eq!(
            Some(&data),
            stored.get(&pn),
            "{kind} data is not the stored item"
        );
        seen.push(pn);
    }
    seen.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected, "{kind} events: {events:?}");
}

/// Asserts that `events` carry the ids right after `head`, consecutively.
pub fn assert_consecutive_after(events: &[SseEvent], head: &str) {
    for (n, ev) in events.iter().enumerate() {
        assert_eq!(
            crate::seq_of(ev.id.as_deref().expect("id")),
            crate::seq_of(head) + 1 + n as u64,
            "ids are not consecutive after {head}: {events:?}"
        );
    }
}
