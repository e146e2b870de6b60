//! CSV import: one `item.created` per new item and one `item.updated` per
//! existing one, each carrying the item as stored; an import with a bad row
//! is refused as a whole, naming the row, and writes and emits nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::{EDITOR_TOKEN, SseClient, SseEvent, Tidings, http, seq_of};

const WAIT: Duration = Duration::from_secs(10);

async fn import_csv(server: &Tidings, csv: &str) -> (u16, Value) {
    let resp = http()
        .post(server.url("/api/items/import"))
        .bearer_auth(EDITOR_TOKEN)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The next `n` stored events.
async fn stored_events(stream: &mut SseClient, n: usize) -> Vec<SseEvent> {
    let mut out = Vec::new();
    while out.len() < n {
        match stream.next_stored(WAIT).await {
            Some(ev) => out.push(ev),
            None => panic!("only {} of {n} events arrived: {out:?}", out.len()),
        }
    }
    out
}

/// Items by part number, as `GET /api/items` lists them.
fn by_part_number(items: &Value) -> BTreeMap<String, Value> {
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

/// Checks that `events` are exactly one `kind` event per item of `expected`
/// (part numbers), each whose data is that item as stored now.
fn assert_item_events(events: &[SseEvent], kind: &str, expected: &[&str], stored: &Value) {
    let stored = by_part_number(stored);
    let mut seen: Vec<String> = Vec::new();
    for ev in events.iter().filter(|e| e.event == kind) {
        let data: Value = serde_json::from_str(&ev.data).expect("JSON data");
        let pn = data["part_number"]
            .as_str()
            .expect("part_number")
            .to_string();
        assert_eq!(
            Some(&data),
            stored.get(&pn),
            "{kind} data differs from the stored item"
        );
        seen.push(pn);
    }
    seen.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected, "{kind} events: {events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_import_creates_updates_and_refuses_bad_rows() {
    let server = Tidings::start(&[]).await;
    let mut stream = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    let head = server.head().await;

    // Three new items.
    let (status, body) = import_csv(
        &server,
        "part_number,description,color\n\
         CSV-1,hex bolt,red\n\
         CSV-2,\"washer, flat\",blue\n\
         CSV-3,nut,green\n",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"created": 3, "updated": 0}));
    let stored = server.items().await;
    let items = by_part_number(&stored);
    assert_eq!(items.len(), 3, "{stored}");
    assert_eq!(items["CSV-2"]["description"], "washer, flat");
    assert_eq!(items["CSV-2"]["properties"], json!({"color": "blue"}));
    assert_eq!(items["CSV-1"]["properties"], json!({"color": "red"}));
    let events = stored_events(&mut stream, 3).await;
    assert_item_events(
        &events,
        "item.created",
        &["CSV-1", "CSV-2", "CSV-3"],
        &stored,
    );
    for (n, ev) in events.iter().enumerate() {
        assert_eq!(
            seq_of(ev.id.as_deref().expect("id")),
            seq_of(&head) + 1 + n as u64,
            "ids are not consecutive: {events:?}"
        );
    }

    // Again, with one row changed and one new row.
    let (status, body) = import_csv(
        &server,
        "part_number,description,color\n\
         CSV-1,hex bolt,red\n\
         CSV-2,\"washer, flat\",black\n\
         CSV-3,nut,green\n\
         CSV-4,spring,\n",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"created": 1, "updated": 3}));
    let stored = server.items().await;
    let items = by_part_number(&stored);
    assert_eq!(items.len(), 4, "{stored}");
    assert_eq!(items["CSV-2"]["properties"], json!({"color": "black"}));
    assert_eq!(
        items["CSV-4"]["properties"],
        json!({}),
        "empty cell omitted"
    );
    let events = stored_events(&mut stream, 4).await;
    assert_item_events(&events, "item.created", &["CSV-4"], &stored);
    assert_item_events(
        &events,
        "item.updated",
        &["CSV-1", "CSV-2", "CSV-3"],
        &stored,
    );

    // A bad part number on data row 2: nothing is written, nothing emitted.
    let head = server.head().await;
    let (status, body) = import_csv(
        &server,
        "part_number,description,color\n\
         CSV-5,new,red\n\
         bad part,broken,red\n\
         CSV-1,changed,white\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string(), "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains("row 2"),
        "message does not name row 2: {body}"
    );
    assert_eq!(
        server.items().await,
        stored,
        "a refused import changed items"
    );
    assert_eq!(
        server.head().await,
        head,
        "a refused import stored an event"
    );

    // The stream saw nothing either: the next stored event is this one.
    let (status, published) = server.publish("test.marker", json!({})).await;
    assert_eq!(status, 202, "{published}");
    let ev = stream.next_stored(WAIT).await.expect("marker");
    assert_eq!(ev.event, "test.marker", "{ev:?}");
    assert_eq!(ev.id.as_deref(), published["id"].as_str());
    assert_eq!(seq_of(ev.id.as_deref().expect("id")), seq_of(&head) + 1);
}
