//! `tidings-load` tells the gaps a hub announced from silent ones: against
//! a hub whose history holds one event, clients that reconnect while
//! events are published as fast as answered resume from an id the hub no
//! longer holds, get `stream.reset`, and miss events. Those gaps are
//! counted, and counted as announced: none is silent, as the hub's
//! contract requires, and the tool reports which streams were reset.

use tidings_tests::Tidings;
use tidings_tests::load_runs::{load_tool, report};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_after_a_reset_are_announced_not_silent() {
    let server = Tidings::start(&["--history-size", "1"]).await;
    let mut cmd = load_tool(env!("CARGO_BIN_EXE_tidings-load"), &server);
    cmd.args(["--clients", "20", "--events", "2000", "--rate", "0"])
        .args(["--reconnect-after", "25"])
        .args(["--progress", "0", "--drain-timeout", "3"]);
    let (r, summary) = report(&mut cmd);
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
    assert!(
        summary.contains(&format!("0 silent, {reset_streams} streams reset")),
        "{summary}"
    );
}
