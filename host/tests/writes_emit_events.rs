//! Through poem's test client: a successful write publishes its event once
//! durable; a refused or failed write publishes nothing; modes and shutdown
//! refuse writes with 503, `Retry-After` and a JSON body naming the reason.

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use poem::http::StatusCode;
use poem::test::TestClient;
use serde_json::Value;
use tidings_core::mode::Component;
use tidings_core::{Delivery, SubscribeOptions, Subscription};
use tidings_host::{Config, Server, build};

/// A server whose flusher runs, so stored events reach subscriptions.
fn server() -> Server {
    let server = build(Config::for_tests()).unwrap();
    server.spawn_tasks(&tokio::runtime::Handle::current());
    server
}

/// Stored events that are ready now, without waiting.
fn ready_events(sub: &mut Subscription) -> Vec<Delivery> {
    let mut out = Vec::new();
    while let Some(Some(d)) = sub.next().now_or_never() {
        if d.id().is_some() {
            out.push(d);
        }
    }
    out
}

#[tokio::test]
async fn create_publishes_the_stored_item() {
    let server = server();
    let mut sub = server
        .state
        .hub
        .broker()
        .subscribe(SubscribeOptions::live())
        .unwrap();
    let cli = TestClient::new(server.endpoint());
    let resp = cli
        .post("/api/items")
        .content_type("application/json")
        .body(r#"{"part_number":"P-1","description":"pump","properties":{"kw":3}}"#)
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    let item: Value = resp.0.into_body().into_json().await.unwrap();
    // Batched wake-ups: give the flusher its millisecond.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let events = ready_events(&mut sub);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind(), "item.created");
    assert_eq!(
        serde_json::from_str::<Value>(events[0].data()).unwrap(),
        item
    );
}

#[tokio::test]
async fn failed_writes_publish_nothing() {
    let server = server();
    let mut sub = server
        .state
        .hub
        .broker()
        .subscribe(SubscribeOptions::live())
        .unwrap();
    let cli = TestClient::new(server.endpoint());
    let create = |body: &'static str| {
        cli.post("/api/items")
            .content_type("application/json")
            .body(body)
            .send()
    };
    create(r#"{"part_number":"P-1","description":"x"}"#)
        .await
        .assert_status(StatusCode::CREATED);
    // Exists, invalid, unknown item: none of them is an event.
    create(r#"{"part_number":"P-1","description":"x"}"#)
        .await
        .assert_status(StatusCode::CONFLICT);
    create(r#"{"part_number":"bad part","description":"x"}"#)
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    cli.delete("/api/items/NOPE")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let kinds: Vec<String> = ready_events(&mut sub)
        .iter()
        .map(|d| d.kind().to_owned())
        .collect();
    assert_eq!(kinds, ["item.created"]);
}

#[tokio::test]
async fn degraded_refuses_storage_writes_and_publish_on_a_node_alone() {
    let server = server();
    let cli = TestClient::new(server.endpoint());
    for _ in 0..server.state.config.fail_threshold {
        server.state.mode.probe(Component::Storage, false);
    }
    let resp = cli
        .post("/api/items")
        .content_type("application/json")
        .body(r#"{"part_number":"P-1","description":"x"}"#)
        .send()
        .await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    resp.assert_header_exist("retry-after");
    let body: Value = resp.0.into_body().into_json().await.unwrap();
    assert_eq!(body["mode"], "degraded");
    assert_eq!(body["error"], "mode_refuses_writes");
    // A node alone keeps its history in storage, so publishing needs it too.
    let resp = cli
        .post("/api/publish")
        .content_type("application/json")
        .body(r#"{"type":"note","data":1}"#)
        .send()
        .await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = resp.0.into_body().into_json().await.unwrap();
    assert_eq!(body["mode"], "degraded");
    let health: Value = cli
        .get("/health")
        .send()
        .await
        .0
        .into_body()
        .into_json()
        .await
        .unwrap();
    assert_eq!(health["mode"], "degraded");
    assert_eq!(health["storage"]["healthy"], false);
}

#[tokio::test]
async fn shutdown_turns_ready_503_and_refuses_writes() {
    let server = server();
    let cli = TestClient::new(server.endpoint());
    cli.get("/ready").send().await.assert_status_is_ok();
    assert!(server.state.lifecycle.stop(Duration::from_secs(1)).await);
    cli.get("/ready")
        .send()
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);
    cli.get("/health").send().await.assert_status_is_ok();
    let resp = cli
        .post("/api/publish")
        .content_type("application/json")
        .body(r#"{"type":"note","data":1}"#)
        .send()
        .await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = resp.0.into_body().into_json().await.unwrap();
    assert_eq!(body["error"], "shutting_down");
}

#[tokio::test]
async fn a_write_under_way_holds_shutdown_until_it_ends() {
    let server = server();
    let guard = server.state.begin_write(true).unwrap();
    let lifecycle = server.state.lifecycle.clone();
    let stop = tokio::spawn(async move { lifecycle.stop(Duration::from_secs(5)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!stop.is_finished(), "shutdown waits for the write");
    drop(guard);
    assert!(stop.await.unwrap(), "and ends once it completes");
}

#[tokio::test]
async fn non_loopback_without_editor_token_is_refused() {
    let mut config = Config::for_tests();
    config.listen = "0.0.0.0:0".parse().unwrap();
    assert!(build(config.clone()).is_err());
    config.editor_token = Some("t".into());
    assert!(build(config).is_ok());
}
