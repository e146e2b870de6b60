//! `/.well-known/mercure` against the real binary: the protocol's publish
//! (form fields, every 400 the draft lists, the id as the answer), its
//! stream (selectors required, `#<epoch>-<seq>` ids that resume on both
//! endpoints, `Mercure-Last-Event-ID`, keep-alive comments), on the same
//! history as `/api/events`.

use std::time::Duration;

use futures::StreamExt;
use tidings_tests::{EDITOR_TOKEN, SseClient, Tidings, http};

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);
const BOOK: &str = "https://example.com/books/1";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// POSTs a form `body` to the hub; returns status and text.
async fn post(server: &Tidings, body: &str) -> (u16, String) {
    let resp = http()
        .post(server.url("/.well-known/mercure"))
        .bearer_auth(EDITOR_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    if status == 200 {
        assert_eq!(ct.as_deref(), Some("text/plain; charset=utf-8"));
    }
    (status, text)
}

async fn get_status(server: &Tidings, query: &str) -> u16 {
    http()
        .get(server.url(&format!("/.well-known/mercure?{query}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_publish_reaches_both_endpoints_with_each_ones_id() {
    let server = Tidings::start(&[]).await;
    let hub = server.url(&format!("/.well-known/mercure?match={}", enc(BOOK)));
    let mut mercure = SseClient::connect(&hub, None).await;
    let mut native = SseClient::connect(&server.url("/api/events"), None).await;
    let epoch = server.epoch().await;

    let (status, id) = post(
        &server,
        &format!("topic={}&data=line+one%0Aline+two", enc(BOOK)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(id, format!("#{epoch}-1"), "a generated id is a fragment");
    let ev = mercure.next_stored(WAIT).await.unwrap();
    assert_eq!(ev.id.as_deref(), Some(id.as_str()));
    assert_eq!(
        (ev.event.as_str(), ev.data.as_str()),
        ("message", "line one\nline two")
    );
    let ev = native.next_stored(WAIT).await.unwrap();
    assert_eq!(ev.id, Some(format!("{epoch}-1")), "the native spelling");

    let body = format!(
        "topic={}&topic=%2Falt&data=x&id=urn%3Auuid%3A1&type=book.updated&retry=500&unknown=1",
        enc(BOOK)
    );
    let (status, id) = post(&server, &body).await;
    assert_eq!(
        (status, id.as_str()),
        (200, "urn:uuid:1"),
        "the publisher's id, as given"
    );
    let ev = mercure.next_stored(WAIT).await.unwrap();
    assert_eq!(
        (ev.id.as_deref(), ev.event.as_str()),
        (Some("urn:uuid:1"), "book.updated")
    );
    assert_eq!(
        mercure.retry(),
        Some(500),
        "the update's retry: reaches the client"
    );

    // Each spelling resumes on each endpoint.
    let native_url = server.url("/api/events");
    for last in [format!("#{epoch}-1"), format!("{epoch}-1")] {
        let mut from_hub = SseClient::connect(&hub, Some(&last)).await;
        let ev = from_hub.next_stored(WAIT).await.unwrap();
        assert_eq!(ev.id.as_deref(), Some("urn:uuid:1"), "{last} on the hub");
        let mut from_native = SseClient::connect(&native_url, Some(&last)).await;
        let ev = from_native.next_stored(WAIT).await.unwrap();
        assert_eq!(
            ev.id.as_deref(),
            Some("urn:uuid:1"),
            "{last} on /api/events"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_publish_answers_400_and_stores_nothing() {
    let server = Tidings::start(&[]).await;
    let book = enc(BOOK);
    let cases = [
        ("no topic", "data=x".to_owned()),
        ("topic *", "topic=*".to_owned()),
        (
            "the hub's path",
            format!("topic={}", enc("/.well-known/mercure")),
        ),
        (
            "below the hub's path",
            format!("topic={}", enc("/.well-known/mercure/subscriptions/x")),
        ),
        (
            "an escaped letter",
            format!("topic={}", enc("/.well-known/%6Dercure/x")),
        ),
        (
            "dot-segments",
            format!("topic={}", enc("/a/../.well-known/mercure/x")),
        ),
        (
            "an absolute URL on the hub's path",
            format!(
                "topic={}",
                enc("https://elsewhere.example/.well-known/mercure/x")
            ),
        ),
        (
            "a second topic reserved",
            format!("topic={book}&topic={}", enc("/.well-known/mercure")),
        ),
        ("type mercure", format!("topic={book}&type=mercure")),
        (
            "type server.state",
            format!("topic={book}&type=server.state"),
        ),
        ("id starting with #", format!("topic={book}&id=%23x")),
        ("id earliest", format!("topic={book}&id=earliest")),
        (
            "a control character in a topic",
            format!("topic={}", enc("https://example.com/a\u{1}b")),
        ),
        (
            "a format character in a topic",
            format!("topic={}", enc("https://example.com/a\u{200b}b")),
        ),
        (
            "a control character in the id",
            format!("topic={book}&id=a%0Db"),
        ),
        (
            "a format character in the type",
            format!("topic={book}&type=a%E2%80%8Eb"),
        ),
        ("a non-digit retry", format!("topic={book}&retry=1s")),
        ("a negative retry", format!("topic={book}&retry=-1")),
        ("not UTF-8", format!("topic={book}&data=%FF")),
    ];
    let head = server.head().await;
    for (name, body) in cases {
        let (status, text) = post(&server, &body).await;
        assert_eq!(status, 400, "{name}: {text}");
    }
    assert_eq!(server.head().await, head, "nothing was stored");
    let topics: Vec<String> = (0..33).map(|i| format!("topic=%2Ft%2F{i}")).collect();
    assert_eq!(post(&server, &topics.join("&")).await.0, 413, "33 topics");
    let resp = http()
        .post(server.url("/.well-known/mercure"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&serde_json::json!({"topic": BOOK}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415, "a JSON body");
    let resp = http()
        .post(server.url("/.well-known/mercure"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("topic={book}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "no credentials");
    assert_eq!(server.head().await, head, "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_subscriptions_answer_400() {
    let server = Tidings::start(&[]).await;
    for query in [
        "",
        "last_event_id=x",
        "match_regex=.*",
        "MATCH=x",
        "matchx=1",
        "match=a%01b",
        "match=a%E2%80%8Bb",
        "match=%FF",
        "match_urlpattern=https%3A%2F%2Fex.com%2F%28",
    ] {
        assert_eq!(get_status(&server, query).await, 400, "{query:?}");
    }
    let many: Vec<String> = (0..33).map(|i| format!("match=%2Ft%2F{i}")).collect();
    assert_eq!(
        get_status(&server, &many.join("&")).await,
        400,
        "33 selectors"
    );
    // The selector limits answer before any request-head limit does: 33
    // selectors of 1000 bytes are a 33 KB request line.
    let long = format!("%2F{}", "a".repeat(999));
    let many: Vec<String> = (0..33).map(|i| format!("match={long}{i}")).collect();
    assert_eq!(
        get_status(&server, &many.join("&")).await,
        400,
        "33 long selectors"
    );
    let too_long = format!("match={}", enc(&"a".repeat(1025)));
    assert_eq!(
        get_status(&server, &too_long).await,
        400,
        "a selector over 1 KiB"
    );
    // Parameters the protocol does not define are the client's own.
    let mut ok =
        SseClient::connect(&server.url("/.well-known/mercure?match=%2Fa&cache=1"), None).await;
    assert_eq!(ok.status, 200);
    assert!(ok.next(WAIT).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mercure_last_event_id_names_where_delivery_continues() {
    let server = Tidings::start(&["--history-size", "4"]).await;
    let book = enc(BOOK);
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(post(&server, &format!("topic={book}&data={n}")).await.1);
    }
    let hub = server.url(&format!("/.well-known/mercure?match={book}"));
    let header = |client: &SseClient| {
        client
            .headers
            .get("mercure-last-event-id")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let fresh = SseClient::connect(&hub, None).await;
    assert_eq!(header(&fresh), None, "no last id, no header");
    let mut held = SseClient::connect(&hub, Some(&ids[3])).await;
    assert_eq!(header(&held).as_deref(), Some(ids[3].as_str()));
    assert_eq!(
        held.next_stored(WAIT).await.unwrap().id.as_ref(),
        Some(&ids[4])
    );
    let evicted = SseClient::connect(&hub, Some(&ids[0])).await;
    assert_eq!(header(&evicted).as_deref(), Some("earliest"), "discarded");
    let unknown = SseClient::connect(&hub, Some("urn:uuid:nothing")).await;
    assert_eq!(
        header(&unknown).as_deref(),
        Some("earliest"),
        "no such event"
    );
    let mut earliest = SseClient::connect(&hub, Some("earliest")).await;
    assert_eq!(header(&earliest).as_deref(), Some("earliest"));
    let mut got = Vec::new();
    while let Some(ev) = earliest.next_stored(QUIET).await {
        got.push(ev.id.unwrap());
    }
    assert_eq!(got, ids[2..], "everything the ring holds");
    // The query parameter, when no header: the header wins over it.
    let query = server.url(&format!(
        "/.well-known/mercure?match={book}&last_event_id={}",
        enc(&ids[4])
    ));
    let by_query = SseClient::connect(&query, None).await;
    assert_eq!(header(&by_query).as_deref(), Some(ids[4].as_str()));
    let both = SseClient::connect(&query, Some(&ids[3])).await;
    assert_eq!(header(&both).as_deref(), Some(ids[3].as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_hub_stream_gets_keep_alive_comments() {
    let server = Tidings::start(&["--heartbeat-interval", "200ms"]).await;
    let resp = http()
        .get(server.url("/.well-known/mercure?match=%2Fquiet"))
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !String::from_utf8_lossy(&seen).contains("\n:\n\n") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("a keep-alive within the wait")
            .unwrap()
            .unwrap();
        seen.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(
        !text.contains("event: heartbeat"),
        "no heartbeat events on the hub: {text}"
    );
    // The native stream keeps its heartbeat events.
    let mut native = SseClient::connect(&server.url("/api/events"), None).await;
    let mut kinds = Vec::new();
    while let Some(ev) = native.next(Duration::from_millis(500)).await {
        kinds.push(ev.event);
        if kinds.last().is_some_and(|k| k == "heartbeat") {
            break;
        }
    }
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("heartbeat"),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_responses_link_the_hub_and_the_metadata_names_the_resource() {
    let server = Tidings::start(&[]).await;
    let origin = format!("http://{}", server.addr);
    let resp = http()
        .post(server.url("/api/items"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&serde_json::json!({"part_number": "X-1", "description": "a part"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let head = server.head().await;
    let links = |resp: &reqwest::Response| -> Vec<String> {
        resp.headers()
            .get_all("link")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    let hub = format!("<{origin}/.well-known/mercure>; rel=\"mercure\"; last-event-id=\"#{head}\"");
    let me = format!("<{origin}/items/X-1>; rel=\"self\"");
    assert_eq!(links(&resp), [hub.clone(), me.clone()]);
    let got = http()
        .get(server.url("/api/items/X-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(links(&got), [hub, me]);

    // The link's last id resumes on the hub after the create's event.
    let url = server.url(&format!(
        "/.well-known/mercure?match={}&last_event_id={}",
        enc(&format!("{origin}/items/X-1")),
        enc(&format!("#{head}"))
    ));
    let mut client = SseClient::connect(&url, None).await;
    assert!(client.next_stored(QUIET).await.is_none(), "nothing missed");
    http()
        .put(server.url("/api/items/X-1"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&serde_json::json!({"description": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        client.next_stored(WAIT).await.unwrap().event,
        "item.updated"
    );

    let (status, doc) = server
        .get_json("/.well-known/oauth-protected-resource/.well-known/mercure")
        .await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], format!("{origin}/.well-known/mercure"));
    assert_eq!(
        doc["authorization_details_types_supported"][0],
        "https://mercure.rocks/authorization-detail"
    );
    assert_eq!(
        doc["mercure_matcher_types_supported"],
        serde_json::json!(["exact", "urlpattern"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_lifetime_ends_streams_with_retry_and_they_resume() {
    let server = Tidings::start(&["--stream-lifetime", "700ms", "--retry-ms", "1234"]).await;
    let book = enc(BOOK);
    let hub = server.url(&format!("/.well-known/mercure?match={book}"));
    let mut client = SseClient::connect(&hub, None).await;
    let first = post(&server, &format!("topic={book}&data=1")).await.1;
    assert_eq!(
        client.next_stored(WAIT).await.unwrap().id.as_ref(),
        Some(&first)
    );
    let started = tokio::time::Instant::now();
    while client.next(WAIT).await.is_some() {}
    assert!(client.ended(), "the lifetime ended the stream");
    assert!(started.elapsed() < WAIT, "on time");
    assert_eq!(
        client.retry(),
        Some(1234),
        "its last frame says when to come back"
    );
    let second = post(&server, &format!("topic={book}&data=2")).await.1;
    let mut again = SseClient::connect(&hub, Some(client.last_event_id())).await;
    assert_eq!(again.next_stored(WAIT).await.unwrap().id, Some(second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_streams_resume_across_a_restart_and_on_another_bus_node() {
    let book = enc(BOOK);
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("fs:{}", dir.path().display());
    let server = Tidings::start(&["--storage", &storage]).await;
    let first = post(&server, &format!("topic={book}&data=1")).await.1;
    let second = post(&server, &format!("topic={book}&data=2&id=urn%3Aa"))
        .await
        .1;
    let third = post(&server, &format!("topic={book}&data=3")).await.1;
    let server = server.restart().await;
    let hub = server.url(&format!("/.well-known/mercure?match={book}"));
    for (last, next) in [(&first, &second), (&second, &third)] {
        let mut client = SseClient::connect(&hub, Some(last)).await;
        assert_eq!(
            client.next_stored(WAIT).await.unwrap().id.as_ref(),
            Some(next),
            "after {last}"
        );
    }

    let redis = tidings_tests::RedisServer::start().await;
    let nodes = tidings_tests::bus::start_nodes(&redis, 2, &["--history-size", "1"]).await;
    let first = post(&nodes[0], &format!("topic={book}&data=1")).await.1;
    let second = post(&nodes[0], &format!("topic={book}&data=2&id=urn%3Ab"))
        .await
        .1;
    let third = post(&nodes[0], &format!("topic={book}&data=3")).await.1;
    tidings_tests::bus::wait_head(&nodes[1], third.trim_start_matches('#')).await;
    let hub = nodes[1].url(&format!("/.well-known/mercure?match={book}"));
    // Older than node 1's ring: replayed from the bus, in the hub's spelling.
    let mut client = SseClient::connect(&hub, Some(&first)).await;
    let got: Vec<_> = [
        client.next_stored(WAIT).await,
        client.next_stored(WAIT).await,
    ]
    .into_iter()
    .map(|e| e.unwrap().id.unwrap())
    .collect();
    assert_eq!(got, [second.clone(), third.clone()]);
    let mut by_supplied = SseClient::connect(&hub, Some(&second)).await;
    assert_eq!(by_supplied.next_stored(WAIT).await.unwrap().id, Some(third));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_publish_from_a_foreign_origin_is_refused() {
    use tidings_tests::jwt::{Token, detail, sign};
    use tidings_tests::token_catalogue::{APP, COOKIE, HOUR, PUBLISHER, server as keyed};
    let server = keyed().await;
    let token = sign(Token::access(
        PUBLISHER,
        HOUR,
        vec![detail(&["publish"], &[(BOOK, None)])],
    ))
    .await;
    let form = |origin: &str| {
        http()
            .post(server.url("/.well-known/mercure"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("{COOKIE}={token}"))
            .header("origin", origin.to_owned())
            .body(format!("topic={}&data=x", enc(BOOK)))
            .send()
    };
    let head = server.head().await;
    let foreign = form("https://evil.example").await.unwrap();
    assert_eq!(
        foreign.status().as_u16(),
        403,
        "a cross-site request forged with the cookie"
    );
    assert_eq!(server.head().await, head, "nothing was stored");
    let allowed = form(APP).await.unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    assert!(allowed.text().await.unwrap().starts_with('#'));
}

/// Long enough that a token signed by a cold Python start is still
/// valid when the stream opens on a slow machine.
const LIFETIME: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_stream_gets_its_private_updates_and_ends_with_its_token() {
    use tidings_tests::jwt::{Token, bearer, detail, sign};
    use tidings_tests::token_catalogue::{SUBSCRIBER, server as keyed};
    let server = keyed().await;
    let token = sign(Token::access(
        SUBSCRIBER,
        LIFETIME,
        vec![detail(&["subscribe"], &[(BOOK, None)])],
    ))
    .await;
    let hub = server.url(&format!("/.well-known/mercure?match={}", enc(BOOK)));
    let mut client = SseClient::connect_with(&hub, &[("authorization", &bearer(&token))]).await;
    assert_eq!(client.status, 200);
    let (status, id) = post(
        &server,
        &format!("topic={}&data=secret&private=", enc(BOOK)),
    )
    .await;
    assert_eq!(status, 200, "{id}");
    let ev = client
        .next_stored(WAIT)
        .await
        .expect("the granted stream gets it");
    assert_eq!(
        (ev.id.as_deref(), ev.data.as_str()),
        (Some(id.as_str()), "secret")
    );
    let mut last = None;
    while let Some(ev) = client.next(LIFETIME + WAIT).await {
        last = Some(ev);
    }
    assert!(client.ended(), "the stream outlived its token");
    assert_eq!(last.map(|e| e.event).as_deref(), Some("stream.expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_hub_refuses_publishes_and_exposes_its_headers_to_allowed_origins() {
    let app = "https://app.example.com";
    let server = Tidings::start(&["--cors-origin", app]).await;
    let set = |read_only: bool| {
        http()
            .put(server.url("/api/admin/read-only"))
            .bearer_auth(tidings_tests::ADMIN_TOKEN)
            .json(&serde_json::json!({ "read_only": read_only }))
            .send()
    };
    assert_eq!(set(true).await.unwrap().status().as_u16(), 200);
    let resp = http()
        .post(server.url("/.well-known/mercure"))
        .bearer_auth(EDITOR_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("topic={}", enc(BOOK)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(set(false).await.unwrap().status().as_u16(), 200);

    // A browser on an allowed origin may read the reconciliation header.
    let url = server.url(&format!("/.well-known/mercure?match={}", enc(BOOK)));
    let client =
        SseClient::connect_with(&url, &[("origin", app), ("last-event-id", "earliest")]).await;
    let header = |name: &str| {
        client
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .unwrap_or_default()
    };
    assert_eq!(header("access-control-allow-origin"), app);
    assert_eq!(header("access-control-allow-credentials"), "true");
    let exposed = header("access-control-expose-headers");
    for name in ["link", "mercure-last-event-id"] {
        assert!(exposed.contains(name), "{name} in {exposed:?}");
    }
    assert_eq!(header("mercure-last-event-id"), "earliest");
}
