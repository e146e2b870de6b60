//! `tidings-load` tells the gaps a hub announced from silent ones: against
//! a hub whose history holds one event, clients that reconnect while
//! events are published as fast as answered resume from an id the hub no
//! longer holds, get `stream.reset`, and miss events. Those gaps are
//! counted, and counted as announced: none is silent, as the hub's
//! contract requires, and the tool reports which streams were reset.

use std::process::Command;

use serde_json::Value;
use tidings_tests::{EDITOR_TOKEN, Tidings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_after_a_reset_are_announced_not_silent() {
    let server = Tidings::start(&["--history-size", "1"]).await;
    let out = Command::new(env!("CARGO_BIN_EXE_tidings-load"))
        .args(["--sub-url", &server.url("/api/events")])
        .args(["--pub-url", &server.url("/api/publish")])
        .args([
            "--pub-header",
            &format!("Authorization: Bearer {EDITOR_TOKEN}"),
        ])
        .args(["--clients", "20", "--events", "2000", "--rate", "0"])
        .args(["--reconnect-after", "25"])
        .args(["--progress", "0", "--drain-timeout", "3"])
        .output()
        .expect("run tidings-load");
    assert!(
        out.status.success(),
        "tidings-load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(r["published"], 2000, "{r}");
    assert!(r["reconnects"].as_u64() > Some(0), "{r}");
    let resets = r["resets"].as_u64().expect("resets");
    let reset_streams = r["reset_streams"].as_u64().expect("reset_streams");
    assert!(resets > 0 && reset_streams > 0, "no stream was reset: {r}");
    assert!(resets >= reset_streams && reset_streams <= 20, "{r}");
    assert!(
        r["gaps"].as_u64() > Some(0),
        "a reset stream missed nothing: {r}"
    );
    assert_eq!(r["silent_gaps"], 0, "{r}");
    assert_eq!(r["duplicates"], 0, "{r}");
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains(&format!("0 silent, {reset_streams} streams reset")),
        "{summary}"
    );
}
