//! Private events on replay, against the real binary and tokens signed by
//! PyJWT: a stream whose token grants the topic gets them, one granted
//! another topic and an anonymous one never do — replayed from the ring,
//! after a reconnect, after a restart on fs storage, and replayed from the
//! bus on another node.

use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::bus::{common_epoch, start_nodes, wait_head};
use tidings_tests::jwt::{HUB_URL, ISSUER, Token, bearer, detail, key_flag, sign_all};
use tidings_tests::token_catalogue::{BOOK, HOUR, OTHER_BOOK, SUBSCRIBER};
use tidings_tests::{EDITOR_TOKEN, RedisServer, SseClient, Tidings, http};

const QUIET: Duration = Duration::from_millis(400);

/// The flags of a hub that checks subscriber tokens and still lets
/// anonymous streams in (public events only).
fn token_flags(subscriber_key: &str) -> Vec<&str> {
    vec![
        "--subscriber-jwt-key",
        subscriber_key,
        "--subscriber-jwt-alg",
        "ES256",
        "--jwt-issuer",
        ISSUER,
        "--hub-url",
        HUB_URL,
        "--anonymous",
    ]
}

async fn publish(url: &str, n: u64, private: bool) -> String {
    let body = json!({"type": "t", "data": {"n": n}, "topics": [BOOK], "private": private});
    let resp = http()
        .post(url)
        .bearer_auth(EDITOR_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// The `n` of every stored event a stream replays from `last`, with
/// `token` (none: anonymous).
async fn replayed(node: &Tidings, token: Option<&str>, last: &str) -> Vec<u64> {
    let url = node.url(&format!(
        "/api/events?match={}",
        form_urlencoded::byte_serialize(BOOK.as_bytes()).collect::<String>()
    ));
    let auth = token.map(bearer);
    let mut headers = vec![("last-event-id", last)];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth.as_str()));
    }
    let mut client = SseClient::connect_with(&url, &headers).await;
    assert_eq!(client.status, 200);
    let mut ns = Vec::new();
    while let Some(ev) = client.next_stored(QUIET).await {
        let data: Value = serde_json::from_str(&ev.data).unwrap();
        ns.push(data["n"].as_u64().unwrap());
    }
    ns
}

/// A token granting `topic` for subscribe, and one granting another topic.
async fn tokens() -> (String, String) {
    let grant = |topic: &str| {
        Token::access(
            SUBSCRIBER,
            HOUR,
            vec![detail(&["subscribe"], &[(topic, None)])],
        )
    };
    let signed = sign_all(&[grant(BOOK), grant(OTHER_BOOK)]).await;
    (signed[0].clone(), signed[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_node_alone_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("fs:{}", dir.path().display());
    let key = key_flag("ec.pub.pem");
    let mut args = token_flags(&key);
    args.extend(["--storage", &storage]);
    let server = Tidings::start(&args).await;
    let (granted, other) = tokens().await;
    let url = server.url("/api/publish");
    let first = publish(&url, 1, false).await;
    publish(&url, 2, true).await;
    publish(&url, 3, false).await;
    let epoch = server.epoch().await;
    let start = format!("{epoch}-0");

    assert_eq!(replayed(&server, Some(&granted), &start).await, [1, 2, 3]);
    assert_eq!(replayed(&server, Some(&other), &start).await, [1, 3]);
    assert_eq!(replayed(&server, None, &start).await, [1, 3]);
    // A reconnect after the first event.
    assert_eq!(replayed(&server, Some(&granted), &first).await, [2, 3]);
    assert_eq!(replayed(&server, Some(&other), &first).await, [3]);

    let server = server.restart().await;
    assert_eq!(replayed(&server, Some(&granted), &start).await, [1, 2, 3]);
    assert_eq!(replayed(&server, Some(&other), &start).await, [1, 3]);
    assert_eq!(replayed(&server, None, &start).await, [1, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_another_node_of_a_bus() {
    let redis = RedisServer::start().await;
    let key = key_flag("ec.pub.pem");
    let mut args = token_flags(&key);
    // A ring of one event: the rest is replayed from the bus.
    args.extend(["--history-size", "1"]);
    let nodes = start_nodes(&redis, 2, &args).await;
    let epoch = common_epoch(&nodes).await;
    let (granted, other) = tokens().await;
    let url = nodes[0].url("/api/publish");
    publish(&url, 1, false).await;
    publish(&url, 2, true).await;
    let last = publish(&url, 3, false).await;
    wait_head(&nodes[1], &last).await;
    let start = format!("{epoch}-0");
    assert_eq!(replayed(&nodes[1], Some(&granted), &start).await, [1, 2, 3]);
    assert_eq!(replayed(&nodes[1], Some(&other), &start).await, [1, 3]);
    assert_eq!(replayed(&nodes[1], None, &start).await, [1, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_items_reach_only_streams_granted_their_topic() {
    let key = key_flag("ec.pub.pem");
    let mut args = token_flags(&key);
    args.push("--private-items");
    let server = Tidings::start(&args).await;
    // Item topics are on the origin of --hub-url.
    let item = "https://hub.example.com/items/X-1";
    let grant = |topic: &str| {
        Token::access(
            SUBSCRIBER,
            HOUR,
            vec![detail(&["subscribe"], &[(topic, None)])],
        )
    };
    let signed = sign_all(&[grant(item), grant("https://hub.example.com/items/X-2")]).await;
    let open = |token: Option<String>| {
        let url = server.url("/api/events");
        async move {
            let auth = token.map(|t| bearer(&t));
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("authorization", a.as_str())).collect();
            SseClient::connect_with(&url, &headers).await
        }
    };
    let mut granted = open(Some(signed[0].clone())).await;
    let mut other = open(Some(signed[1].clone())).await;
    let mut anonymous = open(None).await;
    let resp = http()
        .post(server.url("/api/items"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({"part_number": "X-1", "description": "a part"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let ev = granted
        .next_stored(Duration::from_secs(5))
        .await
        .expect("the granted stream gets it");
    assert_eq!(ev.event, "item.created");
    assert!(
        other.next_stored(QUIET).await.is_none(),
        "granted another item"
    );
    assert!(anonymous.next_stored(QUIET).await.is_none(), "anonymous");
}
