//! ODS import, with spreadsheets built here: one `item.created` per new item
//! and one `item.updated` per existing one, each carrying the item as
//! stored; a bad row or a file that is not an ODS spreadsheet is refused as
//! a whole and writes and emits nothing.

use std::io::{Cursor, Write};
use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::imports::{
    assert_consecutive_after, assert_item_events, by_part_number, import, stored_events,
};
use tidings_tests::{SseClient, Tidings, seq_of};

const WAIT: Duration = Duration::from_secs(10);
const ODS_MIME: &str = "application/vnd.oasis.opendocument.spreadsheet";

/// One cell of a sheet.
enum Cell {
    Text(&'static str),
    Float(&'static str),
    Empty,
}

/// A minimal ODS file: `mimetype` first and stored, a manifest, and a
/// `content.xml` with one table holding `rows`.
fn ods(rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut table = String::new();
    for row in rows {
        table.push_str("<table:table-row>");
        for cell in row {
            match cell {
                Cell::Text(t) => table.push_str(&format!(
                    r#"<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#
                )),
                Cell::Float(v) => table.push_str(&format!(
                    r#"<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>"#
                )),
                Cell::Empty => table.push_str("<table:table-cell/>"),
            }
        }
        table.push_str("</table:table-row>");
    }
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Parts">{table}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_MIME}"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#
    );
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).expect("zip");
    zip.write_all(ODS_MIME.as_bytes()).expect("zip");
    zip.start_file("META-INF/manifest.xml", deflated)
        .expect("zip");
    zip.write_all(manifest.as_bytes()).expect("zip");
    zip.start_file("content.xml", deflated).expect("zip");
    zip.write_all(content.as_bytes()).expect("zip");
    zip.finish().expect("zip").into_inner()
}

/// A zip that is not a spreadsheet.
fn plain_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("readme.txt", zip::write::SimpleFileOptions::default())
        .expect("zip");
    zip.write_all(b"part_number,description\nZIP-1,x\n")
        .expect("zip");
    zip.finish().expect("zip").into_inner()
}

fn header() -> Vec<Cell> {
    use Cell::Text;
    vec![
        Text("part_number"),
        Text("description"),
        Text("color"),
        Text("qty"),
    ]
}

async fn import_ods(server: &Tidings, bytes: Vec<u8>) -> (u16, Value) {
    import(server, ODS_MIME, bytes).await
}

/// Asserts a refused import: 400 JSON, no item changed, no event stored.
async fn assert_refused(server: &Tidings, bytes: Vec<u8>, what: &str) -> Value {
    let items = server.items().await;
    let head = server.head().await;
    let (status, body) = import_ods(server, bytes).await;
    assert_eq!(status, 400, "{what}: {body}");
    assert!(body["error"].is_string(), "{what}: {body}");
    assert!(body["message"].is_string(), "{what}: {body}");
    assert_eq!(server.items().await, items, "{what} changed items");
    assert_eq!(server.head().await, head, "{what} stored an event");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ods_import_creates_updates_and_refuses_bad_files() {
    use Cell::*;
    let server = Tidings::start(&[]).await;
    let mut stream = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    let head = server.head().await;

    let (status, body) = import_ods(
        &server,
        ods(&[
            header(),
            vec![Text("ODS-1"), Text("hex bolt"), Text("red"), Float("12")],
            vec![Text("ODS-2"), Text("nut"), Text("blue"), Float("1.5")],
            vec![Text("ODS-3"), Text("washer"), Text("green"), Empty],
            vec![Empty, Empty, Empty, Empty],
        ]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"created": 3, "updated": 0}));
    let stored = server.items().await;
    let items = by_part_number(&stored);
    assert_eq!(items.len(), 3, "{stored}");
    assert_eq!(items["ODS-1"]["description"], "hex bolt");
    assert_eq!(
        items["ODS-1"]["properties"],
        json!({"color": "red", "qty": "12"}),
        "a float cell 12 is the text 12"
    );
    assert_eq!(items["ODS-2"]["properties"]["qty"], "1.5");
    assert_eq!(items["ODS-3"]["properties"], json!({"color": "green"}));
    let events = stored_events(&mut stream, 3, WAIT).await;
    assert_item_events(
        &events,
        "item.created",
        &["ODS-1", "ODS-2", "ODS-3"],
        &stored,
    );
    assert_consecutive_after(&events, &head);

    // One row changed: every existing row counts as updated.
    let (status, body) = import_ods(
        &server,
        ods(&[
            header(),
            vec![Text("ODS-1"), Text("hex bolt"), Text("red"), Float("12")],
            vec![Text("ODS-2"), Text("nut"), Text("blue"), Float("40")],
            vec![Text("ODS-3"), Text("washer"), Text("green"), Empty],
        ]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"created": 0, "updated": 3}));
    let stored = server.items().await;
    assert_eq!(
        by_part_number(&stored)["ODS-2"]["properties"]["qty"],
        "40",
        "{stored}"
    );
    let events = stored_events(&mut stream, 3, WAIT).await;
    assert_item_events(
        &events,
        "item.updated",
        &["ODS-1", "ODS-2", "ODS-3"],
        &stored,
    );

    // A bad part number on data row 2.
    let body = assert_refused(
        &server,
        ods(&[
            header(),
            vec![Text("ODS-9"), Text("new"), Text("red"), Float("1")],
            vec![Text("bad part"), Text("broken"), Empty, Empty],
            vec![Text("ODS-1"), Text("changed"), Empty, Empty],
        ]),
        "bad row",
    )
    .await;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("row 2")),
        "the error does not name row 2: {body}"
    );

    // Files that are not spreadsheets.
    assert_refused(
        &server,
        b"definitely not a spreadsheet \x00\x01\x02".to_vec(),
        "garbage",
    )
    .await;
    assert_refused(&server, Vec::new(), "empty body").await;
    assert_refused(&server, plain_zip(), "a zip that is not ODS").await;

    // The stream saw nothing of the refused imports.
    let head = server.head().await;
    let (status, published) = server.publish("test.marker", json!({})).await;
    assert_eq!(status, 202, "{published}");
    let ev = stream.next_stored(WAIT).await.expect("marker");
    assert_eq!(ev.event, "test.marker", "{ev:?}");
    assert_eq!(seq_of(ev.id.as_deref().expect("id")), seq_of(&head) + 1);
}
