//! CSV import: one `item.created` per new item and one `item.updated` per
//! existing one, each carrying the item as stored; an import with a bad row
//! is refused as a whole, naming the row, and writes and emits nothing.

use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::imports::{
    assert_consecutive_after, assert_item_events, by_part_number, import, stored_events,
};
use tidings_tests::{SseClient, Tidings, seq_of};

const WAIT: Duration = Duration::from_secs(10);

async fn import_csv(server: &Tidings, csv: &str) -> (u16, Value) {
    import(server, "text/csv", csv.as_bytes().to_vec()).await
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
    let events = stored_events(&mut stream, 3, WAIT).await;
    assert_item_events(
        &events,
        "item.created",
        &["CSV-1", "CSV-2", "CSV-3"],
        &stored,
    );
    assert_consecutive_after(&events, &head);

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
    let events = stored_events(&mut stream, 4, WAIT).await;
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
