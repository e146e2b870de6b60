//! A node alone keeps its history on its storage: after a restart (graceful
//! or SIGKILL) it continues the same epoch with its ring refilled, so
//! clients resume with their last id and no `stream.reset`. A truncated
//! history file is survived: the node logs it and starts a new epoch, and
//! clients are told to resynchronise rather than handed a wrong event.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tidings_tests::{SseClient, Tidings, seq_of};

const WAIT: Duration = Duration::from_secs(30);

/// Reads stored events (and any reset) until `last` arrives.
async fn read_until(client: &mut SseClient, last: &str) -> Vec<(String, String)> {
    let mut got = Vec::new();
    loop {
        let ev = client.next_non_heartbeat(WAIT).await.expect("an event");
        if ev.event == "stream.reset" {
            panic!("unexpected reset: {}", ev.data);
        }
        if let Some(id) = ev.id {
            let done = id == last;
            got.push((id, ev.event));
            if done {
                return got;
            }
        }
    }
}

fn segments(data: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(data.join("history"))
        .expect("history dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .flat_map(|dir| std::fs::read_dir(dir).expect("epoch dir"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_resume_across_restarts_without_reset() {
    let data = tempfile::tempdir().expect("tempdir");
    let storage = format!("fs:{}", data.path().display());
    let server = Tidings::start(&["--storage", &storage]).await;
    let epoch = server.epoch().await;

    let mut before = Vec::new();
    for n in 0..5 {
        before.push(server.publish_tick(n).await);
    }
    // Graceful restart: same epoch, same head.
    let server = server.restart_gracefully(|| {}).await;
    assert_eq!(server.epoch().await, epoch, "the epoch survives");
    assert_eq!(server.head().await, before[4], "the head survives");

    // A client that saw only the first event resumes: the rest of the old
    // run replays from the restored ring, then new events follow.
    let mut client = SseClient::connect(&server.url("/api/events"), Some(&before[0])).await;
    let after = server.publish_tick(5).await;
    assert_eq!(seq_of(&after), seq_of(&before[4]) + 1, "seqs continue");
    let got = read_until(&mut client, &after).await;
    let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    let mut expected: Vec<&str> = before[1..].iter().map(String::as_str).collect();
    expected.push(&after);
    assert_eq!(ids, expected);

    // SIGKILL: every event was written before it was delivered, so the
    // node resumes just the same.
    let server = server.restart().await;
    assert_eq!(server.epoch().await, epoch, "the epoch survives a kill");
    assert_eq!(server.head().await, after);
    let mut client = SseClient::connect(&server.url("/api/events"), Some(&before[2])).await;
    let next = server.publish_tick(6).await;
    assert_eq!(seq_of(&next), seq_of(&after) + 1);
    let got = read_until(&mut client, &next).await;
    assert_eq!(got.len(), 4, "{got:?}"); // before[3], before[4], after, next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_history_file_is_survived_with_a_new_epoch() {
    let data = tempfile::tempdir().expect("tempdir");
    let storage = format!("fs:{}", data.path().display());
    let server = Tidings::start(&["--storage", &storage]).await;
    let epoch = server.epoch().await;
    let mut ids = Vec::new();
    for n in 0..8 {
        ids.push(server.publish_tick(n).await);
    }

    // Cut the newest segment in the middle of its last record.
    let server = server
        .restart_gracefully(|| {
            let newest = segments(data.path()).pop().expect("a segment");
            let len = std::fs::metadata(&newest).expect("size").len();
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&newest)
                .expect("open");
            file.set_len(len - 5).expect("truncate");
        })
        .await;

    let new_epoch = server.epoch().await;
    assert_ne!(
        new_epoch, epoch,
        "a history whose head is unknown is not continued"
    );
    assert_eq!(server.head().await, format!("{new_epoch}-0"));
    // A client from before is told to resynchronise, never given a wrong
    // event under an id it already saw.
    let mut client = SseClient::connect(&server.url("/api/events"), Some(&ids[3])).await;
    let reset = loop {
        let ev = client.next_non_heartbeat(WAIT).await.expect("an event");
        if ev.event == "stream.reset" {
            break ev;
        }
        assert!(ev.id.is_none(), "a stored event before the reset: {ev:?}");
    };
    assert!(reset.data.contains("unknown_epoch"), "{}", reset.data);
    let first = server.publish_tick(100).await;
    assert_eq!(first, format!("{new_epoch}-1"));
    let got = read_until(&mut client, &first).await;
    assert_eq!(got.len(), 1);

    // The new history is the one kept from now on.
    let server = server.restart_gracefully(|| {}).await;
    assert_eq!(server.epoch().await, new_epoch);
    assert_eq!(server.head().await, first);
}
