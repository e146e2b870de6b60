//! Bad request bodies: malformed JSON, wrong types, unknown and missing
//! fields, values the validation refuses, bodies and event data over their
//! limits, and event types that are not SSE-safe or are reserved.
//!
//! Each case must get a 4xx with a JSON `error` and `message`, and change
//! nothing: no item, no revision, no stored event on an open stream (the
//! next good publish takes the very next id). The harness is
//! `tidings_tests::bad_requests`.

use serde_json::json;
use tidings_tests::bad_requests::{
    Auth, GOOD, case, import_case, json_case, publish_type, publish_with, run_catalogue,
};

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
            r#"{"type":"a.b","data":{},"topic":"/x"}"#,
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
        json_case("empty type", "POST", "/api/publish", publish_type(""), 400),
        json_case(
            "type of 129 bytes",
            "POST",
            "/api/publish",
            publish_type(&"t".repeat(129)),
            400,
        ),
        json_case(
            "type with DEL",
            "POST",
            "/api/publish",
            publish_type("a\u{7f}b"),
            400,
        ),
        json_case(
            "type with a zero-width space",
            "POST",
            "/api/publish",
            publish_type("a\u{200b}b"),
            400,
        ),
        json_case(
            "reserved mercure",
            "POST",
            "/api/publish",
            publish_type("mercure"),
            400,
        ),
        // Topics and ids.
        json_case(
            "topic with LF",
            "POST",
            "/api/publish",
            publish_with(json!({"topics": ["https://ex.com/a\nb"]})),
            400,
        ),
        json_case(
            "topic *",
            "POST",
            "/api/publish",
            publish_with(json!({"topics": ["*"]})),
            400,
        ),
        json_case(
            "33 topics",
            "POST",
            "/api/publish",
            publish_with(json!({"topics": (0..33).map(|i| format!("/t/{i}")).collect::<Vec<_>>()})),
            413,
        ),
        json_case(
            "topics not a list",
            "POST",
            "/api/publish",
            publish_with(json!({"topics": "/t/1"})),
            400,
        ),
        json_case(
            "topic in the hub's namespace",
            "POST",
            "/api/publish",
            publish_with(json!({"topics": ["/.well-known/mercure/subscriptions/x"]})),
            400,
        ),
        json_case(
            "private without a topic",
            "POST",
            "/api/publish",
            publish_with(json!({"private": true})),
            400,
        ),
        json_case(
            "id starting with #",
            "POST",
            "/api/publish",
            publish_with(json!({"id": "#e1-4"})),
            400,
        ),
        json_case(
            "id earliest",
            "POST",
            "/api/publish",
            publish_with(json!({"id": "earliest"})),
            400,
        ),
        json_case(
            "id with CR",
            "POST",
            "/api/publish",
            publish_with(json!({"id": "a\rid: 9"})),
            400,
        ),
        json_case(
            "empty id",
            "POST",
            "/api/publish",
            publish_with(json!({"id": ""})),
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
