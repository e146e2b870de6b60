//! A catalogue of bad requests: each gets a 4xx with a JSON body naming the
//! `error` and giving a `message`, and afterwards the stored items and the
//! event stream are exactly as before (no new stored event on an open
//! stream: the next good publish takes the very next id).
//!
//! Requests are written by hand over a TCP socket, so paths reach the server
//! as written (`..`, `%2F`) and bodies are sent byte for byte. A
//! `Last-Event-ID` with CR or LF cannot be sent at all; the core's parser
//! tests cover it.

use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::{ADMIN_TOKEN, EDITOR_TOKEN, SseClient, Tidings, http, seq_of};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);
const ODS_MIME: &str = "application/vnd.oasis.opendocument.spreadsheet";
/// The item every server starts with, with one revision.
const GOOD: &str = "GOOD-1";

#[derive(Debug, Clone, Copy)]
enum Auth {
    None,
    Editor,
    Admin,
    /// An `Authorization` header exactly as given.
    Header(&'static str),
}

#[derive(Debug)]
struct Case {
    name: String,
    method: &'static str,
    path: String,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
}

fn case(
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
fn json_case(
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
fn import_case(
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
async fn run_catalogue(cases: Vec<Case>) {
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
fn publish_type(kind: &str) -> Vec<u8> {
    json!({"type": kind, "data": {}}).to_string().into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_bodies_and_limits() {
    let item = format!("/api/items/{GOOD}");
    let revs = format!("/api/items/{GOOD}/revisions");
    let admin = "/api/admin/read-only";
    let admin_case = |name: &str, body: &str, status: u16| {
        case(
            name,
            "PUT",
            admin,
            Auth::Admin,
            Some("application/json"),
            body,
            status,
        )
    };
    // A body over 1024 bytes that is otherwise a valid item.
    let mut props = serde_json::Map::new();
    for n in 0..20 {
        props.insert(format!("key{n}"), json!("v".repeat(60)));
    }
    let big_item = json!({"part_number": "BIG-1", "description": "big", "properties": props});
    let big_item = big_item.to_string();
    assert!(big_item.len() > 1024);
    let big_publish = json!({"type": "test.big", "data": {"pad": "x".repeat(1100)}}).to_string();
    // Under the body limit, over the 256-byte event limit.
    let big_event = json!({"type": "test.big", "data": {"pad": "x".repeat(300)}}).to_string();
    assert!(big_event.len() < 1024);
    let big_csv = format!("part_number,description\nBIG-2,{}\n", "x".repeat(1100));

    let cases = vec![
        // Malformed JSON.
        json_case(
            "truncated item",
            "POST",
            "/api/items",
            r#"{"part_number": "X-1","#,
            400,
        ),
        json_case("empty item body", "POST", "/api/items", "", 400),
        json_case(
            "not JSON",
            "POST",
            "/api/items",
            "part_number=X-1&description=x",
            400,
        ),
        json_case(
            "truncated publish",
            "POST",
            "/api/publish",
            r#"{"type":"#,
            400,
        ),
        json_case("bare word update", "PUT", item.as_str(), "not json", 400),
        json_case(
            "unquoted key revision",
            "POST",
            revs.as_str(),
            "{comment: 1}",
            400,
        ),
        json_case(
            "trailing garbage",
            "POST",
            "/api/items",
            r#"{"part_number":"X-1","description":"x"} x"#,
            400,
        ),
        admin_case("truncated admin", "tru", 400),
        // Wrong types.
        json_case(
            "numeric part_number",
            "POST",
            "/api/items",
            r#"{"part_number": 5, "description": "x"}"#,
            400,
        ),
        json_case(
            "array properties",
            "POST",
            "/api/items",
            r#"{"part_number":"X-1","description":"x","properties":[1]}"#,
            400,
        ),
        json_case("array body", "POST", "/api/items", "[]", 400),
        json_case(
            "numeric description",
            "PUT",
            item.as_str(),
            r#"{"description": 7}"#,
            400,
        ),
        json_case(
            "numeric type",
            "POST",
            "/api/publish",
            r#"{"type": 5, "data": {}}"#,
            400,
        ),
        json_case(
            "null comment",
            "POST",
            revs.as_str(),
            r#"{"comment": null}"#,
            400,
        ),
        admin_case("string read_only", r#"{"read_only": "yes"}"#, 400),
        // Unknown fields.
        json_case(
            "item extra field",
            "POST",
            "/api/items",
            r#"{"part_number":"X-1","description":"x","extra":1}"#,
            400,
        ),
        json_case(
            "update renames",
            "PUT",
            item.as_str(),
            r#"{"description":"x","part_number":"X-2"}"#,
            400,
        ),
        json_case(
            "publish extra field",
            "POST",
            "/api/publish",
            r#"{"type":"a.b","data":{},"id":"x-1"}"#,
            400,
        ),
        json_case(
            "revision extra field",
            "POST",
            revs.as_str(),
            r#"{"comment":"c","number":9}"#,
            400,
        ),
        admin_case("admin extra field", r#"{"read_only":true,"x":1}"#, 400),
        // Missing fields.
        json_case(
            "item without description",
            "POST",
            "/api/items",
            r#"{"part_number":"X-1"}"#,
            400,
        ),
        json_case(
            "item without part_number",
            "POST",
            "/api/items",
            r#"{"description":"x"}"#,
            400,
        ),
        json_case(
            "publish without data",
            "POST",
            "/api/publish",
            r#"{"type":"a.b"}"#,
            400,
        ),
        json_case(
            "publish without type",
            "POST",
            "/api/publish",
            r#"{"data":1}"#,
            400,
        ),
        json_case("empty update", "PUT", item.as_str(), "{}", 400),
        json_case("empty revision", "POST", revs.as_str(), "{}", 400),
        admin_case("empty admin", "{}", 400),
        // Values the validation refuses.
        json_case(
            "property key of 65 characters",
            "PUT",
            item.as_str(),
            json!({"description": "x", "properties": {"k".repeat(65): 1}}).to_string(),
            400,
        ),
        json_case(
            "empty property key",
            "POST",
            "/api/items",
            r#"{"part_number":"X-1","description":"x","properties":{"":1}}"#,
            400,
        ),
        json_case(
            "NUL in description",
            "PUT",
            item.as_str(),
            r#"{"description":"a\u0000b"}"#,
            400,
        ),
        // Sizes.
        json_case("body over the limit", "POST", "/api/items", big_item, 413),
        json_case(
            "publish over the body limit",
            "POST",
            "/api/publish",
            big_publish,
            413,
        ),
        json_case(
            "event data over the event limit",
            "POST",
            "/api/publish",
            big_event,
            413,
        ),
        import_case("import over the limit", Some("text/csv"), big_csv, 413),
        // Event types.
        json_case(
            "type with CR",
            "POST",
            "/api/publish",
            publish_type("a\rb"),
            400,
        ),
        json_case(
            "type with LF",
            "POST",
            "/api/publish",
            publish_type("a\nb"),
            400,
        ),
        json_case(
            "type with CRLF",
            "POST",
            "/api/publish",
            publish_type("a\r\nid: 9"),
            400,
        ),
        json_case(
            "type with NUL",
            "POST",
            "/api/publish",
            publish_type("a\0b"),
            400,
        ),
        json_case(
            "type with a space",
            "POST",
            "/api/publish",
            publish_type("a b"),
            400,
        ),
        json_case("empty type", "POST", "/api/publish", publish_type(""), 400),
        json_case(
            "type of 65 characters",
            "POST",
            "/api/publish",
            publish_type(&"t".repeat(65)),
            400,
        ),
        json_case(
            "non-ASCII type",
            "POST",
            "/api/publish",
            publish_type("caf\u{e9}"),
            400,
        ),
        json_case(
            "reserved server.state",
            "POST",
            "/api/publish",
            publish_type("server.state"),
            400,
        ),
        json_case(
            "reserved stream.reset",
            "POST",
            "/api/publish",
            publish_type("stream.reset"),
            400,
        ),
        json_case(
            "reserved heartbeat",
            "POST",
            "/api/publish",
            publish_type("heartbeat"),
            400,
        ),
    ];
    run_catalogue(cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_part_numbers_routes_methods_and_tokens() {
    let long = "P".repeat(65);
    let update = r#"{"description":"x"}"#;
    let revision = r#"{"comment":"c"}"#;
    let mut cases = Vec::new();
    // Bad part numbers in the path, for every route that takes one.
    for (label, pn) in [
        ("space", "a%20b"),
        ("65 characters", long.as_str()),
        ("dot-dot", ".."),
        ("encoded dot-dot", "%2E%2E"),
        ("dot", "."),
        ("encoded slash", "a%2Fb"),
        ("encoded NUL", "a%00b"),
        ("non-ASCII", "caf%C3%A9"),
    ] {
        cases.push(json_case(
            format!("GET item, {label}"),
            "GET",
            format!("/api/items/{pn}"),
            "",
            400,
        ));
        cases.push(json_case(
            format!("PUT item, {label}"),
            "PUT",
            format!("/api/items/{pn}"),
            update,
            400,
        ));
        cases.push(json_case(
            format!("DELETE item, {label}"),
            "DELETE",
            format!("/api/items/{pn}"),
            "",
            400,
        ));
        cases.push(json_case(
            format!("POST revision, {label}"),
            "POST",
            format!("/api/items/{pn}/revisions"),
            revision,
            400,
        ));
    }
    // Bad part numbers in the body.
    for (label, pn) in [
        ("space", "a b"),
        ("65 characters", long.as_str()),
        ("dot-dot", ".."),
        ("dot", "."),
        ("slash", "a/b"),
        ("empty", ""),
        ("newline", "a\nb"),
    ] {
        cases.push(json_case(
            format!("create, {label}"),
            "POST",
            "/api/items",
            json!({"part_number": pn, "description": "x"}).to_string(),
            400,
        ));
    }
    // Items that are not there, or already are.
    cases.push(json_case(
        "update a missing item",
        "PUT",
        "/api/items/NOPE-1",
        update,
        404,
    ));
    cases.push(json_case(
        "delete a missing item",
        "DELETE",
        "/api/items/NOPE-1",
        "",
        404,
    ));
    cases.push(json_case(
        "revision of a missing item",
        "POST",
        "/api/items/NOPE-1/revisions",
        revision,
        404,
    ));
    cases.push(json_case(
        "create an existing item",
        "POST",
        "/api/items",
        json!({"part_number": GOOD, "description": "again"}).to_string(),
        409,
    ));
    // Tokens: missing → 401, wrong → 403, on every write route.
    let good_item = json!({"part_number": "AUTH-1", "description": "x"}).to_string();
    let writes: Vec<(&'static str, String, String, Option<&'static str>)> = vec![
        (
            "POST",
            "/api/publish".into(),
            json!({"type":"a.b","data":{}}).to_string(),
            Some("application/json"),
        ),
        (
            "POST",
            "/api/items".into(),
            good_item,
            Some("application/json"),
        ),
        (
            "PUT",
            format!("/api/items/{GOOD}"),
            update.into(),
            Some("application/json"),
        ),
        ("DELETE", format!("/api/items/{GOOD}"), String::new(), None),
        (
            "POST",
            format!("/api/items/{GOOD}/revisions"),
            revision.into(),
            Some("application/json"),
        ),
        (
            "POST",
            "/api/items/import".into(),
            "part_number,description\nAUTH-2,x\n".into(),
            Some("text/csv"),
        ),
    ];
    for (method, path, body, ct) in writes {
        for (label, auth, status) in [
            ("no token", Auth::None, 401),
            (
                "not a bearer token",
                Auth::Header("Basic ZWRpdG9yOnNlY3JldA=="),
                401,
            ),
            (
                "lower-case scheme",
                Auth::Header("bearer editor-secret"),
                401,
            ),
            ("wrong token", Auth::Header("Bearer wrong"), 403),
            ("admin token", Auth::Admin, 403),
            (
                "token with suffix",
                Auth::Header("Bearer editor-secretX"),
                403,
            ),
        ] {
            cases.push(case(
                format!("{method} {path}, {label}"),
                method,
                path.clone(),
                auth,
                ct,
                body.clone(),
                status,
            ));
        }
    }
    let admin_body = r#"{"read_only":true}"#;
    for (label, auth, status) in [
        ("no token", Auth::None, 401),
        ("editor token", Auth::Editor, 403),
        ("wrong token", Auth::Header("Bearer wrong"), 403),
    ] {
        cases.push(case(
            format!("admin, {label}"),
            "PUT",
            "/api/admin/read-only",
            auth,
            Some("application/json"),
            admin_body,
            status,
        ));
    }
    // Unknown routes.
    for path in [
        "/nope",
        "/api",
        "/api/nope",
        "/api/admin",
        "/api/admin/nope",
        "/api/items/GOOD-1/nope",
        "/api/items/GOOD-1/revisions/1",
        "/api/events/extra",
    ] {
        cases.push(json_case(format!("GET {path}"), "GET", path, "", 404));
    }
    // Wrong methods.
    for (method, path) in [
        ("GET", "/api/publish"),
        ("DELETE", "/api/publish"),
        ("PUT", "/api/publish"),
        ("PATCH", "/api/items/GOOD-1"),
        ("POST", "/api/items/GOOD-1"),
        ("DELETE", "/api/items"),
        ("PUT", "/api/items"),
        ("PUT", "/api/items/GOOD-1/revisions"),
        ("DELETE", "/api/items/GOOD-1/revisions"),
        ("GET", "/api/admin/read-only"),
        ("POST", "/api/admin/read-only"),
        ("POST", "/api/events"),
        ("POST", "/health"),
        ("DELETE", "/ready"),
        ("POST", "/metrics"),
    ] {
        cases.push(json_case(
            format!("{method} {path}"),
            method,
            path,
            "{}",
            405,
        ));
    }
    run_catalogue(cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_imports_and_stream_queries() {
    let csv = Some("text/csv");
    let cases = vec![
        import_case(
            "CSV without a part_number column",
            csv,
            "description,color\nx,red\n",
            400,
        ),
        import_case(
            "CSV row with too few fields",
            csv,
            "part_number,description\nIMP-1,x\nIMP-2\n",
            400,
        ),
        import_case(
            "CSV row with too many fields",
            csv,
            "part_number,description\nIMP-1,x,extra\n",
            400,
        ),
        import_case(
            "CSV with a duplicate part number",
            csv,
            "part_number,description\nIMP-1,x\nIMP-1,y\n",
            400,
        ),
        import_case(
            "CSV with a duplicate column",
            csv,
            "part_number,color,color\nIMP-1,x,y\n",
            400,
        ),
        import_case(
            "CSV with a bad part number",
            csv,
            "part_number\nIMP-1\n../etc\n",
            400,
        ),
        import_case(
            "CSV with an existing and a bad row",
            csv,
            format!("part_number,description\n{GOOD},changed\nbad pn,x\n"),
            400,
        ),
        import_case("empty CSV", csv, "", 400),
        import_case("CSV header only", csv, "part_number,description\n", 400),
        import_case(
            "CSV not UTF-8",
            csv,
            b"part_number,description\nIMP-1,caf\xe9\n".to_vec(),
            400,
        ),
        import_case(
            "CSV value under no header",
            csv,
            "part_number,\nIMP-1,stray\n",
            400,
        ),
        import_case(
            "garbage as ODS",
            Some(ODS_MIME),
            b"PK\x03\x04 not really a zip".to_vec(),
            400,
        ),
        import_case(
            "CSV sent as ODS",
            Some(ODS_MIME),
            "part_number,description\nIMP-1,x\n",
            400,
        ),
        import_case("empty ODS", Some(ODS_MIME), "", 400),
        import_case(
            "JSON import",
            Some("application/json"),
            r#"[{"part_number":"IMP-1","description":"x"}]"#,
            415,
        ),
        import_case(
            "import without a content type",
            None,
            "part_number,description\nIMP-1,x\n",
            415,
        ),
        import_case(
            "text/plain import",
            Some("text/plain"),
            "part_number,description\nIMP-1,x\n",
            415,
        ),
        import_case(
            "xlsx import",
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            b"PK\x03\x04".to_vec(),
            415,
        ),
        // Stream queries.
        case(
            "types with a space",
            "GET",
            "/api/events?types=item.created,bad%20kind",
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "empty types",
            "GET",
            "/api/events?types=",
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "types with an empty entry",
            "GET",
            "/api/events?types=a,,b",
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "types of 65 characters",
            "GET",
            format!("/api/events?types={}", "t".repeat(65)),
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "types with a newline",
            "GET",
            "/api/events?types=a%0Ab",
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "unknown stream parameter",
            "GET",
            "/api/events?bogus=1",
            Auth::None,
            None,
            "",
            400,
        ),
    ];
    run_catalogue(cases).await;
}

/// Unknown paths under `/api/` are 404 whatever the method, although the
/// demo's static files nested at `/` take only GET.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_routes_are_404_for_every_method() {
    let body = r#"{"type":"a.b","data":{}}"#;
    let cases = ["POST", "PUT", "DELETE", "PATCH"]
        .into_iter()
        .map(|method| {
            json_case(
                format!("{method} /api/nope"),
                method,
                "/api/nope",
                body,
                404,
            )
        })
        .collect();
    run_catalogue(cases).await;
}
