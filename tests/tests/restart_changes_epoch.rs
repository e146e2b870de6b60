//! History lives in memory, so a restart starts a new epoch: ids before and
//! after differ in their epoch, and an id from before the restart is never
//! taken for a position in the new stream — it gets `stream.reset` with
//! reason `unknown_epoch` (the Go original silently skipped events here).

use std::time::Duration;

use serde_json::{Value, json};
use tidings_tests::{SseClient, SseEvent, Tidings};

const WAIT: Duration = Duration::from_secs(30);

fn split(id: &str) -> (String, u64) {
    let (epoch, seq) = id
        .rsplit_once('-')
        .unwrap_or_else(|| panic!("not an event id: {id:?}"));
    (epoch.to_string(), seq.parse().expect("seq"))
}

async fn next(client: &mut SseClient) -> SseEvent {
    client
        .next_non_heartbeat(WAIT)
        .await
        .expect("an event within the deadline")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_gives_new_epoch_and_old_ids_reset() {
    let server = Tidings::start(&[]).await;
    let epoch_before = server.epoch().await;

    // A client follows three events before the restart.
    let mut client = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(next(&mut client).await.event, "server.state");
    let mut before = Vec::new();
    for n in 0..3 {
        before.push(server.publish_tick(n).await);
    }
    let mut last_before = String::new();
    for id in &before {
        let ev = next(&mut client).await;
        assert_eq!(ev.id.as_deref(), Some(id.as_str()));
        last_before = ev.last_event_id;
    }
    assert_eq!(last_before, before[2]);
    for (i, id) in before.iter().enumerate() {
        assert_eq!(split(id), (epoch_before.clone(), i as u64 + 1), "{id}");
    }

    // Before the restart that id is a valid position: resuming from the
    // first id replays the other two, no reset.
    let mut resumed = SseClient::connect(&server.url("/api/events"), Some(&before[0])).await;
    assert_eq!(next(&mut resumed).await.event, "server.state");
    for id in &before[1..] {
        let ev = next(&mut resumed).await;
        assert_eq!(ev.id.as_deref(), Some(id.as_str()), "{ev:?}");
    }
    drop(resumed);
    drop(client);

    let server = server.restart().await;
    let epoch_after = server.epoch().await;
    assert_ne!(epoch_after, epoch_before, "a restart starts a new epoch");

    let mut after = Vec::new();
    for n in 3..5 {
        after.push(server.publish_tick(n).await);
    }
    for (i, id) in after.iter().enumerate() {
        let (epoch, seq) = split(id);
        assert_eq!(epoch, epoch_after, "{id}");
        assert_ne!(epoch, epoch_before, "{id}");
        assert_eq!(seq, i as u64 + 1, "seqs start again in the new epoch: {id}");
    }
    // Same seqs, different epochs: the ids themselves never collide.
    assert!(after.iter().all(|id| !before.contains(id)));

    // The old client comes back with its pre-restart id, once by header and
    // once by query parameter.
    for in_query in [false, true] {
        let head = after.last().expect("after").clone();
        let mut client = if in_query {
            let url = server.url(&format!("/api/events?last_event_id={last_before}"));
            SseClient::connect(&url, None).await
        } else {
            SseClient::connect(&server.url("/api/events"), Some(&last_before)).await
        };
        assert_eq!(client.status, 200);
        let state = next(&mut client).await;
        assert_eq!(state.event, "server.state");
        assert_eq!(state.id, None);

        let reset = next(&mut client).await;
        assert_eq!(reset.event, "stream.reset", "{reset:?}");
        assert_eq!(reset.id, None);
        let data: Value = serde_json::from_str(&reset.data).expect("JSON");
        assert_eq!(data, json!({ "reason": "unknown_epoch", "head": head }));

        // Live events only: not the new epoch's 1..=2 mistaken for a
        // continuation of the old 3.
        let live = server.publish_tick(100).await;
        let ev = next(&mut client).await;
        assert_eq!(ev.id.as_deref(), Some(live.as_str()), "{ev:?}");
        assert_eq!(split(&live).0, epoch_after);
        after.push(live);
    }
}
