//! The benchmark's two own programs work together: `tidings-load` against
//! `tidings-floor` (the minimal sender the paced rows are compared with)
//! delivers every event to every stream, once and in order, and reports
//! the sender's CPU. A floor that lost, repeated or reordered a frame, or a
//! load tool that miscounted, fails here before it skews a benchmark.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn every_event_reaches_every_stream_of_the_floor() {
    let mut floor = Command::new(env!("CARGO_BIN_EXE_tidings-floor"))
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tidings-floor");
    let mut line = String::new();
    BufReader::new(floor.stderr.take().expect("stderr"))
        .read_line(&mut line)
        .expect("read the address");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let pid = floor.id().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_tidings-load"))
        .args(["--sub-url", &format!("http://{addr}/sub")])
        .args(["--pub-url", &format!("http://{addr}/pub")])
        .args(["--pub-body-template", r#"{"seq":{seq},"ts":{ts}}"#])
        .args(["--clients", "50", "--events", "200", "--rate", "200"])
        .args([
            "--progress",
            "0",
            "--drain-timeout",
            "5",
            "--server-pid",
            &pid,
        ])
        .output()
        .expect("run tidings-load");
    floor.kill().ok();
    floor.wait().ok();
    assert!(
        out.status.success(),
        "tidings-load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(r["published"], 200);
    assert_eq!(r["expected"], 50 * 200);
    assert_eq!(r["delivered"], 50 * 200, "{r}");
    assert_eq!(r["gaps"], 0, "{r}");
    assert_eq!(r["duplicates"], 0, "{r}");
    assert_eq!(r["out_of_order"], 0, "{r}");
    assert!(
        r["server_cpu_us_per_delivery"]
            .as_f64()
            .is_some_and(|c| c > 0.0),
        "the sender's CPU is measured: {r}"
    );
}
