//! Read-only mode, entered by SIGUSR1, by the admin API or by `--read-only`:
//! every write answers 503 with `Retry-After` and a JSON error naming the
//! mode, nothing is stored and no event goes out; leaving it makes writes
//! work again. Mode changes are stored `server.state` events.

use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::{ADMIN_TOKEN, EDITOR_TOKEN, SseClient, SseEvent, Tidings, http, seq_of};

const WAIT: Duration = Duration::from_secs(10);

/// The part number that exists before read-only is entered.
const EXISTING: &str = "RO-1";

/// Creates `part_number`, asserting 201.
async fn create(server: &Tidings, part_number: &str) {
    let resp = http()
        .post(server.url("/api/items"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({ "part_number": part_number, "description": "before", "properties": {"k": "v"} }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 201, "create {part_number}");
}

/// Every kind of write, each valid so that only the mode can refuse it.
fn writes(server: &Tidings) -> Vec<(&'static str, reqwest::RequestBuilder)> {
    let c = http();
    vec![
        (
            "POST /api/publish",
            c.post(server.url("/api/publish"))
                .json(&json!({ "type": "test.ping", "data": {"n": 1} })),
        ),
        (
            "POST /api/items",
            c.post(server.url("/api/items"))
                .json(&json!({ "part_number": "RO-NEW", "description": "new" })),
        ),
        (
            "PUT /api/items/{pn}",
            c.put(server.url(&format!("/api/items/{EXISTING}")))
                .json(&json!({ "description": "changed" })),
        ),
        (
            "DELETE /api/items/{pn}",
            c.delete(server.url(&format!("/api/items/{EXISTING}"))),
        ),
        (
            "POST /api/items/{pn}/revisions",
            c.post(server.url(&format!("/api/items/{EXISTING}/revisions")))
                .json(&json!({ "comment": "rev" })),
        ),
        (
            "POST /api/items/import",
            c.post(server.url("/api/items/import"))
                .header("content-type", "text/csv")
                .body(format!(
                    "part_number,description\nRO-IMPORTED,x\n{EXISTING},imported\n"
                )),
        ),
    ]
}

/// Sends every write and asserts each is refused with 503, `Retry-After`
/// and `{"error": .., "mode": mode}`.
async fn assert_writes_refused(server: &Tidings, mode: &str) {
    for (what, req) in writes(server) {
        let resp = req.bearer_auth(EDITOR_TOKEN).send().await.expect("request");
        assert_eq!(resp.status().as_u16(), 503, "{what} in {mode}");
        let retry_after = resp
            .headers()
            .get("retry-after")
            .unwrap_or_else(|| panic!("{what}: no Retry-After"))
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(
            retry_after.parse::<u64>().is_ok_and(|s| s > 0),
            "{what}: Retry-After {retry_after:?}"
        );
        let body: Value = resp.json().await.expect("JSON error body");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {body}"
        );
        assert_eq!(body["mode"], mode, "{what}: {body}");
    }
}

/// The next stored event, which must be a `server.state` to `to` with the
/// id right after `after`; returns it.
async fn expect_state(stream: &mut SseClient, to: &str, after: &str) -> SseEvent {
    let ev = stream
        .next_stored(WAIT)
        .await
        .unwrap_or_else(|| panic!("no server.state to {to} on the stream"));
    assert_eq!(ev.event, "server.state", "{ev:?}");
    let id = ev.id.as_deref().expect("stored");
    assert_eq!(
        seq_of(id),
        seq_of(after) + 1,
        "server.state to {to} is not the next stored event after {after}: {ev:?}"
    );
    let data: Value = serde_json::from_str(&ev.data).expect("JSON data");
    assert_eq!(data["to"], to, "{data}");
    ev
}

/// Opens a stream and reads its connect-time `server.state` (no id).
async fn open_stream(server: &Tidings, mode: &str) -> SseClient {
    let mut stream = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    let first = stream
        .next_non_heartbeat(WAIT)
        .await
        .expect("connect-time server.state");
    assert_eq!(first.event, "server.state", "{first:?}");
    assert_eq!(first.id, None, "the connect-time state carries no id");
    let data: Value = serde_json::from_str(&first.data).expect("JSON");
    assert_eq!(data["to"], mode, "{data}");
    stream
}

async fn assert_mode_reported(server: &Tidings, mode: &str) {
    assert!(
        server.wait_mode(mode, WAIT).await,
        "/health never said {mode}"
    );
    let (status, ready) = server.get_json("/ready").await;
    assert_eq!(status, 200, "/ready while {mode}: {ready}");
    assert_eq!(ready["mode"], mode, "{ready}");
}

/// After leaving read-only: a create works and its event follows `after`.
async fn assert_writes_work(server: &Tidings, stream: &mut SseClient, after: &str) {
    create(server, "RO-AFTER").await;
    let ev = stream.next_stored(WAIT).await.expect("item.created");
    assert_eq!(ev.event, "item.created", "{ev:?}");
    assert_eq!(seq_of(ev.id.as_deref().expect("id")), seq_of(after) + 1);
    let data: Value = serde_json::from_str(&ev.data).expect("JSON");
    assert_eq!(data["part_number"], "RO-AFTER");
    let (status, body) = server.publish("test.after", json!({"ok": true})).await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr1_toggles_read_only_and_every_write_is_refused() {
    let server = Tidings::start(&[]).await;
    create(&server, EXISTING).await;
    let mut stream = open_stream(&server, "normal").await;
    let items_before = server.items().await;
    let head_before = server.head().await;

    server.signal("USR1");
    assert_mode_reported(&server, "read_only").await;
    let entered = expect_state(&mut stream, "read_only", &head_before).await;
    let entered_id = entered.id.clone().expect("id");
    let data: Value = serde_json::from_str(&entered.data).expect("JSON");
    assert_eq!(data["from"], "normal", "{data}");

    assert_writes_refused(&server, "read_only").await;
    assert_eq!(
        server.items().await,
        items_before,
        "a refused write changed items"
    );
    assert_eq!(
        server.head().await,
        entered_id,
        "a refused write stored an event"
    );

    server.signal("USR1");
    assert_mode_reported(&server, "normal").await;
    // The very next stored event is the way back: nothing went out between.
    let left = expect_state(&mut stream, "normal", &entered_id).await;
    assert_writes_work(&server, &mut stream, left.id.as_deref().expect("id")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoint_sets_and_clears_read_only() {
    let server = Tidings::start(&[]).await;
    create(&server, EXISTING).await;
    let mut stream = open_stream(&server, "normal").await;
    let items_before = server.items().await;
    let head_before = server.head().await;
    let url = server.url("/api/admin/read-only");

    // Without a token, or with the editor's, nothing changes.
    let resp = http()
        .put(&url)
        .json(&json!({"read_only": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.expect("JSON");
    assert!(body["error"].is_string(), "{body}");
    let resp = http()
        .put(&url)
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({"read_only": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 403);
    let body: Value = resp.json().await.expect("JSON");
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(server.get_json("/health").await.1["mode"], "normal");
    assert_eq!(server.head().await, head_before);

    let set = |on: bool| {
        let url = url.clone();
        async move {
            let resp = http()
                .put(&url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({ "read_only": on }))
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("JSON"))
        }
    };

    let (status, body) = set(true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "read_only", "{body}");
    assert_mode_reported(&server, "read_only").await;
    let entered = expect_state(&mut stream, "read_only", &head_before).await;
    let entered_id = entered.id.clone().expect("id");

    assert_writes_refused(&server, "read_only").await;
    // Setting it again is a no-op: no transition is stored.
    let (status, body) = set(true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "read_only", "{body}");
    assert_eq!(
        server.items().await,
        items_before,
        "a refused write changed items"
    );
    assert_eq!(server.head().await, entered_id, "something was stored");

    let (status, body) = set(false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "normal", "{body}");
    assert_mode_reported(&server, "normal").await;
    let left = expect_state(&mut stream, "normal", &entered_id).await;
    assert_writes_work(&server, &mut stream, left.id.as_deref().expect("id")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_flag_starts_read_only() {
    let server = Tidings::start(&["--read-only"]).await;
    assert_mode_reported(&server, "read_only").await;
    let mut stream = open_stream(&server, "read_only").await;
    let head_before = server.head().await;

    assert_writes_refused(&server, "read_only").await;
    assert_eq!(
        server.items().await,
        json!([]),
        "a refused write stored items"
    );
    assert_eq!(server.head().await, head_before, "something was stored");

    let resp = http()
        .put(server.url("/api/admin/read-only"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"read_only": false}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_mode_reported(&server, "normal").await;
    let left = expect_state(&mut stream, "normal", &head_before).await;
    assert_writes_work(&server, &mut stream, left.id.as_deref().expect("id")).await;
}
