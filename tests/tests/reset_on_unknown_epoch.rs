//! A `Last-Event-ID` the server cannot resume from — another epoch, a
//! malformed id, one ahead of the head, one older than the ring — gets an
//! id-less `stream.reset` naming the reason and the current head, and then
//! live events only: never a silent gap, never a stale replay.

use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::{SseClient, Tidings};

const WAIT: Duration = Duration::from_secs(30);

/// A server with a ring of 4 that has stored 10 events: it holds 7..=10.
async fn server_with_ten_events() -> (Tidings, String) {
    let server = Tidings::start(&["--history-size", "4"]).await;
    for n in 0..10 {
        server.publish_tick(n).await;
    }
    let (status, health) = server.get_json("/health").await;
    assert_eq!(status, 200);
    let epoch = health["epoch"].as_str().expect("epoch").to_string();
    assert_eq!(health["head"], format!("{epoch}-10"), "{health}");
    (server, epoch)
}

/// Connects with `last_id` (as a header, or as the query parameter when
/// `in_query`), expects `server.state`, then `stream.reset` with `reason`
/// and the current head, then exactly the next event published.
async fn expect_reset_then_live(server: &Tidings, last_id: &str, in_query: bool, reason: &str) {
    let head_before = server.head().await;
    let mut client = if in_query {
        let url = reqwest::Url::parse_with_params(
            &server.url("/api/events"),
            &[("last_event_id", last_id)],
        )
        .expect("url");
        SseClient::connect(url.as_str(), None).await
    } else {
        SseClient::connect(&server.url("/api/events"), Some(last_id)).await
    };
    assert_eq!(client.status, 200, "{last_id:?}");

    let state = client.next_non_heartbeat(WAIT).await.expect("server.state");
    assert_eq!(state.event, "server.state", "{last_id:?}: {state:?}");
    assert_eq!(state.id, None);

    let reset = client.next_non_heartbeat(WAIT).await.expect("stream.reset");
    assert_eq!(reset.event, "stream.reset", "{last_id:?}: {reset:?}");
    assert_eq!(reset.id, None, "a reset never moves the cursor: {reset:?}");
    let data: Value = serde_json::from_str(&reset.data).expect("reset data is JSON");
    assert_eq!(
        data,
        json!({ "reason": reason, "head": head_before }),
        "{last_id:?}"
    );
    assert_eq!(
        reset.last_event_id, "",
        "the client's cursor is untouched by control events"
    );

    // Live only: nothing from the ring, just the next event published.
    let live = server.publish_tick(1000).await;
    let next = client.next_non_heartbeat(WAIT).await.expect("live event");
    assert_eq!(
        next.id.as_deref(),
        Some(live.as_str()),
        "{last_id:?}: after the reset, live events only: {next:?}"
    );
    assert_eq!(next.event, "demo.tick");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_of_another_epoch_resets_with_unknown_epoch() {
    let (server, epoch) = server_with_ten_events().await;
    assert_ne!(epoch, "zzzz");
    expect_reset_then_live(&server, "zzzz-5", false, "unknown_epoch").await;
    expect_reset_then_live(&server, "zzzz-5", true, "unknown_epoch").await;
    // Same seq as a held event, other epoch: still never a position.
    expect_reset_then_live(&server, "zzzz-9", false, "unknown_epoch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_id_resets_with_invalid_id() {
    let (server, epoch) = server_with_ten_events().await;
    for bad in [
        "not an id".to_string(),
        "garbage".to_string(),
        format!("{epoch}-"),
        format!("{epoch}-x9"),
        format!("{epoch}-09"),
        format!("{epoch}--9"),
    ] {
        expect_reset_then_live(&server, &bad, false, "invalid_id").await;
    }
    expect_reset_then_live(&server, "garbage", true, "invalid_id").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_ahead_of_the_head_resets_with_invalid_id() {
    let (server, epoch) = server_with_ten_events().await;
    // The head moves by one per case (each publishes one live event).
    expect_reset_then_live(&server, &format!("{epoch}-12"), false, "invalid_id").await;
    expect_reset_then_live(&server, &format!("{epoch}-999"), true, "invalid_id").await;
    expect_reset_then_live(
        &server,
        &format!("{epoch}-18446744073709551615"),
        false,
        "invalid_id",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_older_than_the_ring_resets_with_history_exceeded() {
    let (server, epoch) = server_with_ten_events().await;
    // The ring holds 7..=10: resuming after 5 would need 6, which is gone.
    expect_reset_then_live(&server, &format!("{epoch}-5"), false, "history_exceeded").await;
    // Now it holds 8..=11.
    expect_reset_then_live(&server, &format!("{epoch}-1"), true, "history_exceeded").await;
    // 9..=12; "before the first event" is long gone too.
    expect_reset_then_live(&server, &format!("{epoch}-0"), false, "history_exceeded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_at_the_ring_boundary_replays_without_reset() {
    let (server, epoch) = server_with_ten_events().await;
    // The ring holds 7..=10: after 6, all four are replayed.
    let mut client =
        SseClient::connect(&server.url("/api/events"), Some(&format!("{epoch}-6"))).await;
    let state = client.next_non_heartbeat(WAIT).await.expect("state");
    assert_eq!(state.event, "server.state");
    let mut ids = Vec::new();
    for _ in 0..4 {
        let ev = client.next_non_heartbeat(WAIT).await.expect("replayed");
        assert_eq!(ev.event, "demo.tick", "no reset at the boundary: {ev:?}");
        ids.push(ev.id.expect("id"));
    }
    let expected: Vec<String> = (7..=10).map(|s| format!("{epoch}-{s}")).collect();
    assert_eq!(ids, expected);
    let live = server.publish_tick(11).await;
    let next = client.next_non_heartbeat(WAIT).await.expect("live");
    assert_eq!(next.id.as_deref(), Some(live.as_str()));
}
