//! The harness of Tidings' end-to-end tests: it starts the real `tidings`
//! binary (and real services such as `s3s-fs`) on free loopback ports and
//! talks to them over real sockets, parsing streams with the core's SSE
//! parser.
#![warn(missing_docs, missing_debug_implementations)]

pub mod bad_requests;
pub mod bus;
pub mod imports;
pub mod jwt;
pub mod load_runs;
pub mod redis;
mod s3;
mod server;
mod sse;
pub mod tls;
pub mod token_catalogue;

pub use redis::RedisServer;
pub use s3::S3sFs;
pub use server::{
    ADMIN_TOKEN, EDITOR_TOKEN, Tidings, content_type, free_port, hung_listener, publish_bulk,
    seq_of,
};
pub use sse::{SseClient, SseEvent};

/// The HTTP client for the API calls of a test: built once (building one
/// loads the system's TLS roots) and shared; cloning it is cheap.
pub fn http() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("client builds")
        })
        .clone()
}

/// The Python with the PyPI packages the tests use (`PyJWT[crypto]`, which
/// signs test tokens, and `prometheus-client`, which parses `/metrics`):
/// `TIDINGS_PYTHON`, else the venv `scripts/test` makes in the tools cache.
pub fn python() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(path) = std::env::var_os("TIDINGS_PYTHON") {
        return path.into();
    }
    let tools = std::env::var_os("TIDINGS_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tidings/tools")))
        .expect("neither TIDINGS_TOOLS nor HOME is set");
    let default = tools.join("py/bin/python");
    assert!(
        default.exists(),
        "TIDINGS_PYTHON is not set and {} does not exist: run scripts/test once \
         (it installs PyJWT and prometheus-client there), or point TIDINGS_PYTHON \
         at a Python that has them",
        default.display()
    );
    default
}

/// Runs [`python`] with `args`, `input` on its stdin; its output, within a
/// minute.
pub async fn run_python(args: &[&str], input: &[u8]) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let python = python();
    let mut child = tokio::process::Command::new(&python)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).await.expect("write to python");
    drop(stdin);
    tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("python answers within a minute")
        .expect("python runs")
}
