//! The harness of the bad-request catalogues (`tests/tests/bad_*.rs`): each
//! request gets a 4xx with a JSON body naming the `error` and giving a
//! `message`, and afterwards the stored items and the event stream are
//! exactly as before (no new stored event on an open stream: the next good
//! publish takes the very next id).
//!
//! Requests are written by hand over a TCP socket, so paths reach the server
//! as written (`..`, `%2F`) and bodies are sent byte for byte. A
//! `Last-Event-ID` with CR or LF cannot be sent at all; the core's parser
//! tests cover it.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{ADMIN_TOKEN, EDITOR_TOKEN, SseClient, Tidings, http, seq_of};

/// How long a request or the marker event may take.
const WAIT: Duration = Duration::from_secs(10);
/// The media type of an OpenDocument spreadsheet, as imports take it.
pub const ODS_MIME: &str = "application/vnd.oasis.opendocument.spreadsheet";
/// The item every server starts with, with one revision.
pub const GOOD: &str = "GOOD-1";

/// The `Authorization` a request carries.
#[derive(Debug, Clone, Copy)]
pub enum Auth {
    /// None at all.
    None,
    /// The editor's bearer token.
    Editor,
    /// The admin's bearer token.
    Admin,
    /// An `Authorization` header exactly as given.
    Header(&'static str),
}

/// One bad request and the status it must get.
#[derive(Debug)]
pub struct Case {
    name: String,
    method: &'static str,
    path: String,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
}

/// A request named `name` (in failure messages), sent exactly as given,
/// that must be answered with `status`.
pub fn case(
    name: impl Into<String>,
    method: &'static str,
    path: impl Into<String>,
    auth: Auth,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Case {
    Case {
        name: name.into(),
        method,
        path: path.into(),
        auth,
        content_type,
        body: body.into(),
        status,
    }
}

/// An editor's request with a JSON (or would-be JSON) body.
pub fn json_case(
    name: impl Into<String>,
    method: &'static str,
    path: impl Into<String>,
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Case {
    case(
        name,
        method,
        path,
        Auth::Editor,
        Some("application/json"),
        body,
        status,
    )
}

/// An editor's import.
pub fn import_case(
    name: impl Into<String>,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Case {
    case(
        name,
        "POST",
        "/api/items/import",
        Auth::Editor,
        content_type,
        body,
        status,
    )
}

/// A response read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// Sends one HTTP/1.1 request exactly as given and reads the answer.
async fn send_raw(server: &Tidings, c: &Case) -> Answer {
    let mut socket = TcpStream::connect(server.addr).await.expect("connect");
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
        c.method,
        c.path,
        server.addr,
        c.body.len()
    );
    match c.auth {
        Auth::None => {}
        Auth::Editor => head.push_str(&format!("authorization: Bearer {EDITOR_TOKEN}\r\n")),
        Auth::Admin => head.push_str(&format!("authorization: Bearer {ADMIN_TOKEN}\r\n")),
        Auth::Header(value) => head.push_str(&format!("authorization: {value}\r\n")),
    }
    if let Some(ct) = c.content_type {
        head.push_str(&format!("content-type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(&c.body);
    // The server may answer (413) before reading the whole body; what it
    // answered is still read below.
    let _ = socket.write_all(&request).await;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("{}: no complete answer within {WAIT:?}", c.name));
    parse_answer(&raw).unwrap_or_else(|| {
        panic!(
            "{}: unreadable answer {:?}",
            c.name,
            String::from_utf8_lossy(&raw)
        )
    })
}

fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut content_type = String::new();
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.to_string(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-length" => length = value.parse::<usize>().ok(),
            _ => {}
        }
    }
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&rest[..eol]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                break body;
            }
            body.extend_from_slice(rest.get(eol + 2..eol + 2 + size)?);
            rest.drain(..eol + 2 + size + 2);
        }
    } else {
        let length = length.unwrap_or(rest.len());
        rest.get(..length)?.to_vec()
    };
    Some(Answer {
        status,
        content_type,
        body,
    })
}

/// Starts a server with small limits, one item and one revision.
async fn start() -> Tidings {
    let server = Tidings::start(&["--max-body-bytes", "1024", "--max-event-bytes", "256"]).await;
    let resp = http()
        .post(server.url("/api/items"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({"part_number": GOOD, "description": "good", "properties": {"k": "v"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 201);
    let resp = http()
        .post(server.url(&format!("/api/items/{GOOD}/revisions")))
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({"comment": "first"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 201);
    server
}

/// Runs `cases` against a fresh server and checks each answer, then that
/// nothing was stored and nothing reached an open stream.
pub async fn run_catalogue(cases: Vec<Case>) {
    let server = start().await;
    let mut stream = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    let items = server.items().await;
    let revisions = server
        .get_json(&format!("/api/items/{GOOD}/revisions"))
        .await;
    let head = server.head().await;

    let mut failures = Vec::new();
    for c in &cases {
        let answer = send_raw(&server, c).await;
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let text = String::from_utf8_lossy(&answer.body);
        if answer.status != c.status {
            failures.push(format!(
                "{}: {} {} answered {} (expected {}): {text}",
                c.name, c.method, c.path, answer.status, c.status
            ));
            continue;
        }
        if !(400..500).contains(&answer.status) {
            failures.push(format!("{}: status {} is not 4xx", c.name, answer.status));
        }
        if !answer.content_type.starts_with("application/json") {
            failures.push(format!(
                "{}: content-type {:?}: {text}",
                c.name, answer.content_type
            ));
        }
        let has = |field: &str| body[field].as_str().is_some_and(|s| !s.is_empty());
        if !has("error") || !has("message") {
            failures.push(format!("{}: body lacks error/message: {text}", c.name));
        }
        // Nothing changed after each one, so a failure names its case.
        if server.head().await != head {
            failures.push(format!("{}: an event was stored", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    assert_eq!(server.items().await, items, "items changed");
    assert_eq!(
        server
            .get_json(&format!("/api/items/{GOOD}/revisions"))
            .await,
        revisions,
        "revisions changed"
    );
    assert_eq!(server.head().await, head, "an event was stored");
    // The open stream got no stored event: a short bounded wait, then the
    // next good event must carry the very next id.
    if let Some(ev) = stream.next_stored(Duration::from_millis(500)).await {
        panic!("a stored event reached the stream: {ev:?}");
    }
    let (status, published) = server.publish("test.marker", json!({"ok": 1})).await;
    assert_eq!(status, 202, "{published}");
    let ev = stream.next_stored(WAIT).await.expect("the marker event");
    assert_eq!(ev.event, "test.marker", "{ev:?}");
    assert_eq!(seq_of(ev.id.as_deref().expect("id")), seq_of(&head) + 1);
    assert_eq!(ev.id.as_deref(), published["id"].as_str());
    assert!(!stream.ended());
}

/// A publish body of `kind` with empty data.
pub fn publish_type(kind: &str) -> Vec<u8> {
    json!({"type": kind, "data": {}}).to_string().into_bytes()
}

/// A publish body of type `t` with the fields of `extra` (an object) added.
pub fn publish_with(extra: serde_json::Value) -> Vec<u8> {
    let mut body = json!({"type": "t", "data": {}});
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    body.to_string().into_bytes()
}
