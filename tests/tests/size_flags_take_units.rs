//! Size flags take the units the README writes: the binary starts with
//! `--history-bytes 64MiB`, and a limit given as `1KiB` is 1024 bytes.

use serde_json::json;
use tidings_tests::Tidings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_flags_with_units_start_the_server_and_set_the_limits() {
    let server = Tidings::start(&[
        "--history-bytes",
        "64MiB",
        "--max-body-bytes",
        "8 MiB",
        "--max-event-bytes",
        "1KiB",
    ])
    .await;
    let (status, body) = server.get_json("/ready").await;
    assert_eq!(status, 200, "{body}");

    // Event data is measured as JSON: a string of n characters is n + 2
    // bytes with its quotes.
    let (status, body) = server
        .publish("test.size", json!("x".repeat(1024 - 2)))
        .await;
    assert_eq!(status, 202, "1024 bytes is within 1KiB: {body}");
    let (status, body) = server
        .publish("test.size", json!("x".repeat(1024 - 1)))
        .await;
    assert_eq!(status, 413, "1025 bytes is beyond 1KiB: {body}");
}
