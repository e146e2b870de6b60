//! A real S3-compatible server for storage tests: `s3s-fs`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Access key the test store accepts.
pub const ACCESS_KEY: &str = "tidings-test";
/// Secret key the test store accepts.
pub const SECRET_KEY: &str = "tidings-test-secret";

/// A running `s3s-fs`, serving buckets from a temporary folder.
#[derive(Debug)]
pub struct S3sFs {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The port it listens on (kept across restarts).
    pub port: u16,
}

fn s3s_fs_bin() -> PathBuf {
    if let Ok(path) = std::env::var("TIDINGS_S3S_FS") {
        return path.into();
    }
    let home = std::env::var("HOME").expect("HOME");
    let bin = PathBuf::from(home).join(".cache/tidings/tools/bin/s3s-fs");
    assert!(
        bin.exists(),
        "{} missing: ./scripts/test installs it",
        bin.display()
    );
    bin
}

impl S3sFs {
    /// Starts a store holding one empty `bucket`.
    pub async fn start(bucket: &str) -> S3sFs {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join(bucket)).expect("bucket dir");
        let port = crate::free_port().await;
        let mut store = S3sFs {
            child: None,
            dir,
            port,
        };
        store.resume().await;
        store
    }

    /// Stops the store: requests to it now fail at once.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Freezes the store (`SIGSTOP`): connections are still accepted by the
    /// kernel, but nothing is answered until [`thaw`](Self::thaw).
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Lets a frozen store answer again (`SIGCONT`), requests that waited
    /// meanwhile included.
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().and_then(Child::id).expect("running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Starts it again on the same port with the same data.
    pub async fn resume(&mut self) {
        let child = Command::new(s3s_fs_bin())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("s3s-fs starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "s3s-fs did not listen");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The `--storage` value for `bucket`.
    pub fn storage_url(&self, bucket: &str) -> String {
        format!(
            "s3://{bucket}?endpoint=http://127.0.0.1:{}&region=us-east-1",
            self.port
        )
    }

    /// Environment the `tidings` process needs to sign requests.
    pub fn credentials() -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ]
    }
}
