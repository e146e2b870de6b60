//! A client that drops its stream and comes back with its last id receives
//! exactly the events it missed, in order, then live ones — whether the id
//! comes in the `Last-Event-ID` header or the `last_event_id` query
//! parameter, and the header wins when both are given. Every stream starts
//! with `retry:` and an id-less `server.state`.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tidings_tests::{EDITOR_TOKEN, SseClient, SseEvent, Tidings, content_type, http};

const WAIT: Duration = Duration::from_secs(30);

/// Publishes `kind` events numbered `from..to`, one after the other, and
/// returns the ids the server answered.
async fn publish_range(server: &Tidings, kind: &str, from: usize, to: usize) -> Vec<String> {
    let client = http();
    let mut ids = Vec::new();
    for n in from..to {
        let resp = client
            .post(server.url("/api/publish"))
            .bearer_auth(EDITOR_TOKEN)
            .json(&json!({ "type": kind, "data": { "n": n } }))
            .send()
            .await
            .expect("publish request");
        assert_eq!(resp.status().as_u16(), 202, "publish {n}");
        let body: Value = resp.json().await.expect("publish answers JSON");
        ids.push(body["id"].as_str().expect("id in the answer").to_string());
    }
    ids
}

/// Reads the connect-time `server.state` and checks it is id-less.
async fn expect_state(client: &mut SseClient) {
    let ev = client
        .next_non_heartbeat(WAIT)
        .await
        .expect("a server.state on connect");
    assert_eq!(ev.event, "server.state", "first event: {ev:?}");
    assert_eq!(ev.id, None, "the connect-time state carries no id: {ev:?}");
}

/// Reads `n` stored events (skipping heartbeats) and fails on any other
/// control event in between.
async fn read_stored(client: &mut SseClient, n: usize) -> Vec<SseEvent> {
    let mut out = Vec::new();
    while out.len() < n {
        let ev = client.next_non_heartbeat(WAIT).await.unwrap_or_else(|| {
            panic!(
                "stream ended or stalled after {} of {n} events: {out:?}",
                out.len()
            )
        });
        assert!(
            ev.id.is_some(),
            "unexpected control event {ev:?} after {:?}",
            out.last()
        );
        out.push(ev);
    }
    out
}

fn ids_of(events: &[SseEvent]) -> Vec<String> {
    events.iter().map(|e| e.id.clone().expect("id")).collect()
}

/// Checks every event's kind and `n` in its data, from `first` on.
fn check_payloads(events: &[SseEvent], kind: &str, first: usize) {
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(ev.event, kind, "{ev:?}");
        let data: Value = serde_json::from_str(&ev.data).expect("JSON data");
        assert_eq!(data, json!({ "n": first + i }), "{ev:?}");
    }
}

/// The scenario every resume test shares: a live client reads 8 of 20
/// events and drops; 10 more are published while it is away. Returns the
/// server, all 30 ids and the id the client last saw (`ids[7]`).
async fn client_drops_after_eight() -> (Tidings, Vec<String>, String) {
    let server = Tidings::start(&["--history-size", "1000"]).await;
    let mut first = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(first.status, 200);
    expect_state(&mut first).await;
    let mut ids = publish_range(&server, "demo.tick", 0, 20).await;
    let seen = read_stored(&mut first, 8).await;
    assert_eq!(ids_of(&seen), ids[..8], "live delivery in publish order");
    check_payloads(&seen, "demo.tick", 0);
    // The cursor at the last event handled: what the client resumes from
    // (the parser may already have read further into its buffer).
    let last = seen[7].last_event_id.clone();
    assert_eq!(last, ids[7], "the cursor follows the events' ids");
    drop(first);
    ids.extend(publish_range(&server, "demo.tick", 20, 30).await);
    (server, ids, last)
}

/// After the replay, live events follow; a final sentinel proves nothing
/// else (no duplicate, no stray event) was queued in between.
async fn expect_missed_then_live(server: &Tidings, client: &mut SseClient, ids: &[String]) {
    expect_state(client).await;
    let replay = read_stored(client, 22).await;
    assert_eq!(
        ids_of(&replay),
        ids[8..30],
        "exactly the missed events, in order"
    );
    check_payloads(&replay, "demo.tick", 8);

    let live_ids = publish_range(server, "demo.tick", 30, 35).await;
    let live = read_stored(client, 5).await;
    assert_eq!(ids_of(&live), live_ids, "live events after the replay");
    check_payloads(&live, "demo.tick", 30);

    let sentinel = publish_range(server, "demo.sentinel", 35, 36).await;
    let next = read_stored(client, 1).await;
    assert_eq!(
        ids_of(&next),
        sentinel,
        "nothing between the live events and the sentinel"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_starts_with_retry_then_idless_state() {
    let server = Tidings::start(&["--retry-ms", "1234"]).await;

    // The raw bytes: `retry:` comes before anything else.
    let resp = reqwest::Client::new()
        .get(server.url("/api/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("stream request");
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = content_type(&resp);
    assert!(
        content_type.starts_with("text/event-stream"),
        "content-type {content_type:?}"
    );
    let mut body = resp.bytes_stream();
    let mut raw = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while raw.windows(2).filter(|w| w == b"\n\n").count() < 2 {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("first frames within the deadline")
            .expect("stream open")
            .expect("chunk");
        raw.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(raw).expect("UTF-8");
    assert!(
        text.starts_with("retry: 1234\n\n"),
        "the stream starts with the configured retry: {text:?}"
    );
    let state = &text["retry: 1234\n\n".len()..];
    assert!(
        state.starts_with("event: server.state\n"),
        "then the current state: {text:?}"
    );
    let state_frame = state.split("\n\n").next().unwrap_or_default();
    assert!(
        !state_frame.lines().any(|l| l.starts_with("id")),
        "the connect-time state has no id: {state_frame:?}"
    );

    // The same through the parser.
    let mut client = SseClient::connect(&server.url("/api/events"), None).await;
    let ev = client
        .next_non_heartbeat(WAIT)
        .await
        .expect("a first event");
    assert_eq!(client.retry(), Some(1234), "retry parsed before the state");
    assert_eq!(ev.event, "server.state");
    assert_eq!(ev.id, None);
    assert_eq!(
        ev.last_event_id, "",
        "an id-less event leaves the cursor empty"
    );
    let data: Value = serde_json::from_str(&ev.data).expect("state is JSON");
    assert_eq!(data["to"], "normal", "{data}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_resume_gets_exactly_the_missed_events_then_live() {
    let (server, ids, last) = client_drops_after_eight().await;
    let mut client = SseClient::connect(&server.url("/api/events"), Some(&last)).await;
    assert_eq!(client.status, 200);
    expect_missed_then_live(&server, &mut client, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_resume_gets_exactly_the_missed_events_then_live() {
    let (server, ids, last) = client_drops_after_eight().await;
    let url = server.url(&format!("/api/events?last_event_id={last}"));
    let mut client = SseClient::connect(&url, None).await;
    assert_eq!(client.status, 200);
    expect_missed_then_live(&server, &mut client, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_wins_over_query() {
    let (server, ids, last) = client_drops_after_eight().await;
    // The query names an earlier position (would replay from ids[3]); the
    // header's position must be the one used.
    let url = server.url(&format!("/api/events?last_event_id={}", ids[2]));
    let mut client = SseClient::connect(&url, Some(&last)).await;
    assert_eq!(client.status, 200);
    expect_missed_then_live(&server, &mut client, &ids).await;

    // And a bad query id does not spoil a good header: no reset.
    let url = server.url("/api/events?last_event_id=zzzz-1");
    let mut client = SseClient::connect(&url, Some(&ids[28])).await;
    expect_state(&mut client).await;
    let replay = read_stored(&mut client, 1).await;
    assert_eq!(ids_of(&replay), ids[29..30]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_at_the_head_replays_nothing() {
    let (server, ids, _) = client_drops_after_eight().await;
    let head = ids.last().expect("ids").clone();
    let mut client = SseClient::connect(&server.url("/api/events"), Some(&head)).await;
    expect_state(&mut client).await;
    let live = publish_range(&server, "demo.sentinel", 100, 101).await;
    let next = read_stored(&mut client, 1).await;
    assert_eq!(
        ids_of(&next),
        live,
        "a caught-up client gets only new events"
    );
}
