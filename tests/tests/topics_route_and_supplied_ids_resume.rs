//! Topics on the native API, against the real binary: selectors route
//! events (live and replayed), private events never reach a stream without
//! a grant (live, replayed, after a restart on fs storage, on another node
//! of a bus), publisher-supplied ids are SSE ids and resume positions (on a
//! node alone, after a restart, on another bus node; a reused id resolves
//! to the earliest held), and a quiet topic's stream gets no reset however
//! often the ring wraps over other topics.

use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::bus::{common_epoch, start_nodes, wait_head};
use tidings_tests::{EDITOR_TOKEN, RedisServer, SseClient, SseEvent, Tidings, http};

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);
const BOOK: &str = "https://example.com/books/1";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Publishes `body` (type `t` unless given) on `url`; returns the id.
async fn publish(url: &str, body: Value) -> String {
    let mut full = json!({"type": "t", "data": {}});
    for (k, v) in body.as_object().unwrap() {
        full[k] = v.clone();
    }
    let resp = http()
        .post(url)
        .bearer_auth(EDITOR_TOKEN)
        .json(&full)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The data `n` of every stored event until the stream is quiet.
async fn stored_ns(client: &mut SseClient) -> Vec<u64> {
    let mut ns = Vec::new();
    while let Some(ev) = client.next_stored(QUIET).await {
        ns.push(n_of(&ev));
    }
    ns
}

fn n_of(ev: &SseEvent) -> u64 {
    let data: Value = serde_json::from_str(&ev.data).unwrap();
    data["n"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selectors_route_private_events_stay_private_and_supplied_ids_resume() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("fs:{}", dir.path().display());
    let server = Tidings::start(&["--storage", &storage]).await;
    let pub_url = server.url("/api/publish");
    let events = |q: &str| server.url(&format!("/api/events?{q}"));
    let mut all = SseClient::connect(&events(""), None).await;
    let mut book = SseClient::connect(&events(&format!("match={}", enc(BOOK))), None).await;
    let pattern = format!("match_urlpattern={}", enc("https://example.com/books/:id"));
    let mut books = SseClient::connect(&events(&pattern), None).await;

    publish(&pub_url, json!({"data": {"n": 1}, "topics": [BOOK]})).await;
    publish(
        &pub_url,
        json!({"data": {"n": 2}, "topics": ["https://example.com/books/2"]}),
    )
    .await;
    publish(
        &pub_url,
        json!({"data": {"n": 3}, "topics": [BOOK], "private": true}),
    )
    .await;
    let order = publish(&pub_url, json!({"data": {"n": 4}, "id": "order-42"})).await;
    assert_eq!(order, "order-42", "the answer names the supplied id");
    // No type: the frame has no event line, so a browser sees `message`.
    publish(
        &pub_url,
        json!({"type": null, "data": {"n": 5}, "topics": [BOOK], "id": "order-42"}),
    )
    .await;

    assert_eq!(stored_ns(&mut all).await, [1, 2, 4, 5], "no private event");
    assert_eq!(stored_ns(&mut book).await, [1, 5]);
    assert_eq!(stored_ns(&mut books).await, [1, 2, 5]);

    // Resume by the supplied id: after the earliest event that has it,
    // later events with the same id included; order-42 is not seq 42.
    let mut resumed = SseClient::connect(&events(""), Some("order-42")).await;
    let first = resumed.next_stored(WAIT).await.expect("replayed");
    assert_eq!(
        (first.id.as_deref(), first.event.as_str()),
        (Some("order-42"), "message")
    );
    assert_eq!(n_of(&first), 5);
    // Replay obeys the selectors and the private rule too.
    let mut replayed = SseClient::connect(&events(&pattern), Some("earliest-unknown")).await;
    let mut reset = replayed.next(WAIT).await.unwrap();
    while reset.event == "server.state" {
        reset = replayed.next(WAIT).await.unwrap();
    }
    assert_eq!(
        reset.event, "stream.reset",
        "an unknown id is an explicit reset"
    );
    let epoch = server.epoch().await;
    let mut from_start = SseClient::connect(&events(&pattern), Some(&format!("{epoch}-0"))).await;
    assert_eq!(stored_ns(&mut from_start).await, [1, 2, 5]);

    // After a restart on fs storage: the same routing, the same ids.
    let server = server.restart().await;
    let events = |q: &str| server.url(&format!("/api/events?{q}"));
    let mut again = SseClient::connect(&events(""), Some(&format!("{epoch}-0"))).await;
    assert_eq!(
        stored_ns(&mut again).await,
        [1, 2, 4, 5],
        "still no private event"
    );
    let mut by_id = SseClient::connect(&events(""), Some("order-42")).await;
    assert_eq!(stored_ns(&mut by_id).await, [5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_topic_is_never_reset_while_the_ring_wraps_over_others() {
    let server = Tidings::start(&["--history-size", "8"]).await;
    let pub_url = server.url("/api/publish");
    let quiet = server.url(&format!("/api/events?match={}", enc("/quiet")));
    let mut client = SseClient::connect(&quiet, None).await;
    let mut expected = Vec::new();
    for n in 0..200u64 {
        let topic = if n % 50 == 0 { "/quiet" } else { "/busy" };
        if topic == "/quiet" {
            expected.push(n);
        }
        publish(&pub_url, json!({"data": {"n": n}, "topics": [topic]})).await;
    }
    let mut got = Vec::new();
    while let Some(ev) = client.next(QUIET).await {
        assert_ne!(ev.event, "stream.reset", "a quiet stream lost nothing");
        if ev.id.is_some() {
            got.push(n_of(&ev));
        }
    }
    assert_eq!(got, expected);
    // Woken for its own events only: no wake-up found nothing to deliver.
    assert_eq!(server.metric("tidings_idle_wakeups_total").await, 0);
    assert!(server.metric("tidings_stream_wakeups_total").await <= expected.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_selectors_answer_400() {
    let server = Tidings::start(&[]).await;
    for query in [
        "match_regex=.*",
        "Match=x",
        "matches=x",
        "topic=x",
        "match_urlpattern=https%3A%2F%2Fex.com%2F%28",
        "match=a%0Ab",
        "match=",
    ] {
        let resp = http()
            .get(server.url(&format!("/api/events?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{query}");
    }
    let many: Vec<String> = (0..33).map(|i| format!("match=%2Ft%2F{i}")).collect();
    let resp = http()
        .get(server.url(&format!("/api/events?{}", many.join("&"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400, "33 selectors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_bus_every_node_routes_alike_and_resolves_supplied_ids_alike() {
    let redis = RedisServer::start().await;
    // Node 1's ring holds two events: older ones come from the bus.
    let nodes = start_nodes(&redis, 2, &["--history-size", "2"]).await;
    let epoch = common_epoch(&nodes).await;
    let pub_url = nodes[0].url("/api/publish");
    publish(
        &pub_url,
        json!({"data": {"n": 1}, "topics": [BOOK], "id": "a"}),
    )
    .await;
    publish(
        &pub_url,
        json!({"data": {"n": 2}, "topics": [BOOK], "private": true}),
    )
    .await;
    publish(
        &pub_url,
        json!({"data": {"n": 3}, "topics": [BOOK], "id": "a"}),
    )
    .await;
    let last = publish(&pub_url, json!({"data": {"n": 4}, "topics": ["/other"]})).await;
    assert_eq!(last, format!("{epoch}-4"));
    wait_head(&nodes[1], &last).await;
    let book = nodes[1].url(&format!("/api/events?match={}", enc(BOOK)));
    // `a` is first held by seq 1, older than node 1's ring: the bus
    // resolves it, and the replay from the bus skips the private event.
    let mut resumed = SseClient::connect(&book, Some("a")).await;
    let got: Vec<_> = {
        let mut got = Vec::new();
        while let Some(ev) = resumed.next_stored(QUIET).await {
            got.push((ev.id.clone().unwrap(), n_of(&ev)));
        }
        got
    };
    assert_eq!(got, [("a".to_owned(), 3)]);
    let all = nodes[1].url("/api/events");
    let mut from_start = SseClient::connect(&all, Some(&format!("{epoch}-0"))).await;
    assert_eq!(
        stored_ns(&mut from_start).await,
        [1, 3, 4],
        "no private event from the bus"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v0_topic_selectors_take_uri_templates_under_mercure_v0() {
    let server = Tidings::start(&["--mercure-v0"]).await;
    let pub_url = server.url("/api/publish");
    let template = enc("https://example.com/books/{id}");
    let url = server.url(&format!("/api/events?topic={template}&topic=%2Fexact"));
    let mut client = SseClient::connect(&url, None).await;
    publish(&pub_url, json!({"data": {"n": 1}, "topics": [BOOK]})).await;
    publish(
        &pub_url,
        json!({"data": {"n": 2}, "topics": ["https://example.com/authors/1"]}),
    )
    .await;
    publish(&pub_url, json!({"data": {"n": 3}, "topics": ["/exact"]})).await;
    assert_eq!(stored_ns(&mut client).await, [1, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimming_the_bus_moves_a_reused_id_to_its_next_event() {
    let redis = RedisServer::start().await;
    let nodes = start_nodes(&redis, 1, &["--bus-history", "3", "--history-size", "1"]).await;
    let url = nodes[0].url("/api/publish");
    publish(&url, json!({"data": {"n": 1}, "id": "x"})).await;
    publish(&url, json!({"data": {"n": 2}, "id": "y"})).await;
    publish(&url, json!({"data": {"n": 3}, "id": "x"})).await;
    publish(&url, json!({"data": {"n": 4}})).await;
    let last = publish(&url, json!({"data": {"n": 5}})).await;
    wait_head(&nodes[0], &last).await;
    // Seqs 1 and 2 are trimmed: `x` now names seq 3, `y` nothing.
    let first = redis.cli(&["HGET", "{tidings}:v2:ids-first", "x"]).await;
    assert_eq!(first.text().as_deref(), Some("3"));
    let gone = redis.cli(&["HEXISTS", "{tidings}:v2:ids-first", "y"]).await;
    assert_eq!(gone.int(), Some(0));
    let events = nodes[0].url("/api/events");
    let mut from_x = SseClient::connect(&events, Some("x")).await;
    assert_eq!(stored_ns(&mut from_x).await, [4, 5]);
    let mut from_y = SseClient::connect(&events, Some("y")).await;
    let mut first = from_y.next(WAIT).await.unwrap();
    while first.event == "server.state" {
        first = from_y.next(WAIT).await.unwrap();
    }
    assert_eq!(
        first.event, "stream.reset",
        "a trimmed id is an explicit reset"
    );
}
