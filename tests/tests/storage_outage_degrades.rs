//! A storage outage on a real S3-compatible store (`s3s-fs`): the probes
//! turn the server `degraded`, writes that need storage answer 503 naming
//! the mode, publishing (no storage) and open streams go on; when the store
//! comes back the server returns to `normal`, writes work and the data
//! written before the outage is still there.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_tests::{EDITOR_TOKEN, S3sFs, SseClient, Tidings, http, seq_of};

const BUCKET: &str = "tidings-outage";
const WAIT: Duration = Duration::from_secs(10);

async fn create(server: &Tidings, part_number: &str) -> (u16, Value) {
    let resp = http()
        .post(server.url("/api/items"))
        .bearer_auth(EDITOR_TOKEN)
        .json(
            &json!({ "part_number": part_number, "description": "stored", "properties": {"n": 1} }),
        )
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn part_numbers(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("items array")
        .iter()
        .map(|i| i["part_number"].as_str().expect("part_number").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_degrades_then_recovers() {
    let mut store = S3sFs::start(BUCKET).await;
    let storage = store.storage_url(BUCKET);
    let server = Tidings::start_env(
        &[
            "--storage",
            &storage,
            "--probe-interval",
            "200ms",
            "--probe-timeout",
            "500ms",
            "--fail-threshold",
            "2",
            "--recover-threshold",
            "2",
        ],
        &S3sFs::credentials(),
    )
    .await;
    assert!(
        server.wait_mode("normal", WAIT).await,
        "not normal at start"
    );

    let (status, body) = create(&server, "BEFORE-1").await;
    assert_eq!(status, 201, "{body}");
    let before = server.items().await;
    assert_eq!(part_numbers(&before), ["BEFORE-1"]);

    let mut stream = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    let head = server.head().await;

    // The store goes away.
    let outage = Instant::now();
    store.stop().await;
    assert!(
        server.wait_mode("degraded", WAIT).await,
        "/health did not turn degraded within {WAIT:?}"
    );
    eprintln!("degraded after {:?}", outage.elapsed());
    // The history lives in the store too, so the change cannot be stored:
    // it is announced at once, without an id.
    let ev = loop {
        let ev = stream.next(WAIT).await.expect("server.state event");
        if ev.event == "server.state" && ev.data.contains(r#""to":"degraded""#) {
            break ev;
        }
    };
    assert_eq!(ev.id, None, "{ev:?}");
    let data: Value = serde_json::from_str(&ev.data).expect("JSON");
    assert_eq!(data["from"], "normal", "{data}");
    let (_, health) = server.get_json("/health").await;
    assert_eq!(health["storage"]["healthy"], false, "{health}");

    // Writes that need storage are refused, naming the mode.
    let c = http();
    let refused = [
        (
            "POST /api/items",
            c.post(server.url("/api/items"))
                .json(&json!({"part_number": "DURING", "description": "x"})),
        ),
        (
            "PUT /api/items/BEFORE-1",
            c.put(server.url("/api/items/BEFORE-1"))
                .json(&json!({"description": "changed"})),
        ),
        (
            "DELETE /api/items/BEFORE-1",
            c.delete(server.url("/api/items/BEFORE-1")),
        ),
        (
            "POST /api/items/BEFORE-1/revisions",
            c.post(server.url("/api/items/BEFORE-1/revisions"))
                .json(&json!({"comment": "c"})),
        ),
        (
            "POST /api/items/import",
            c.post(server.url("/api/items/import"))
                .header("content-type", "text/csv")
                .body("part_number,description\nDURING-CSV,x\n"),
        ),
    ];
    for (what, req) in refused {
        let resp = req.bearer_auth(EDITOR_TOKEN).send().await.expect("request");
        assert_eq!(resp.status().as_u16(), 503, "{what} while degraded");
        assert!(
            resp.headers().contains_key("retry-after"),
            "{what}: no Retry-After"
        );
        let body: Value = resp.json().await.expect("JSON");
        assert!(body["error"].is_string(), "{what}: {body}");
        assert_eq!(body["mode"], "degraded", "{what}: {body}");
    }

    // Publishing stores the event in the history, on the same store: refused
    // too, and nothing reaches the stream.
    let (status, body) = server
        .publish("test.during", json!({"during": "outage"}))
        .await;
    assert_eq!(status, 503, "publish while degraded: {body}");
    assert_eq!(body["mode"], "degraded", "{body}");
    assert!(!stream.ended(), "the stream ended during the outage");

    // The store comes back.
    store.resume().await;
    assert!(
        server.wait_mode("normal", WAIT).await,
        "/health did not return to normal within {WAIT:?}"
    );
    let ev = stream.next_stored(WAIT).await.expect("server.state event");
    assert_eq!(ev.event, "server.state", "{ev:?}");
    // Stored once the store is back, right after the last event stored.
    assert_eq!(seq_of(ev.id.as_deref().expect("id")), seq_of(&head) + 1);
    let data: Value = serde_json::from_str(&ev.data).expect("JSON");
    assert_eq!(data["to"], "normal", "{data}");
    assert!(!stream.ended(), "the stream ended");

    // Data from before the outage is intact; writes work again.
    assert_eq!(
        server.items().await,
        before,
        "items changed over the outage"
    );
    let (status, body) = create(&server, "AFTER-1").await;
    assert_eq!(status, 201, "{body}");
    let ev = stream.next_stored(WAIT).await.expect("item.created");
    assert_eq!(ev.event, "item.created", "{ev:?}");
    assert_eq!(part_numbers(&server.items().await), ["AFTER-1", "BEFORE-1"]);

    // It is really in the store: a new process on the same bucket sees it.
    let after = server.items().await;
    let server = server.restart().await;
    assert_eq!(server.items().await, after, "items differ after a restart");
}
