//! Runs of the benchmark's load tool, `tidings-load`, from a test: the
//! command aimed at a server the test started, and what the run reported.

use std::process::Command;

use serde_json::Value;

use crate::{EDITOR_TOKEN, Tidings};

/// `tidings-load` at `bin` (the test's `env!("CARGO_BIN_EXE_tidings-load")`:
/// only tests know it) aimed at `server`'s stream and publish routes,
/// publishing with the editor token.
pub fn load_tool(bin: &str, server: &Tidings) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["--sub-url", &server.url("/api/events")])
        .args(["--pub-url", &server.url("/api/publish")])
        .args([
            "--pub-header",
            &format!("Authorization: Bearer {EDITOR_TOKEN}"),
        ]);
    cmd
}

/// Runs `cmd`, asserting that it succeeds; returns its JSON report (stdout)
/// and its summary (stderr).
pub fn report(cmd: &mut Command) -> (Value, String) {
    let out = cmd.output().expect("run tidings-load");
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tidings-load failed: {summary}");
    let report = serde_json::from_slice(&out.stdout).expect("one JSON line");
    (report, summary)
}
