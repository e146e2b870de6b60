//! Starting and stopping the real `tidings` binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// The editor token every test server is started with.
pub const EDITOR_TOKEN: &str = "editor-secret";
/// The admin token every test server is started with.
pub const ADMIN_TOKEN: &str = "admin-secret";

/// The `tidings` binary: `TIDINGS_BIN`, or the one cargo built next to the
/// running test (`target/<profile>/tidings`).
pub fn tidings_bin() -> PathBuf {
    if let Ok(path) = std::env::var("TIDINGS_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/tidings
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("tidings");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p tidings-host` first",
        bin.display()
    );
    bin
}

/// A free loopback port (bound, then released for the child to take).
pub async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A TCP listener that accepts connections and never answers: a hung store.
pub async fn hung_listener() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (addr, task)
}

/// A running `tidings` process, killed when dropped.
#[derive(Debug)]
pub struct Tidings {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// With TLS: the certificate (PEM) a client must trust.
    tls: Option<String>,
}

impl Tidings {
    /// Starts `tidings` with memory storage, the test tokens and `args`
    /// (later flags win), and waits until `/ready` answers 200.
    pub async fn start(args: &[&str]) -> Tidings {
        Tidings::start_env(args, &[]).await
    }

    /// As [`start`](Self::start), with extra environment variables.
    pub async fn start_env(args: &[&str], env: &[(&str, &str)]) -> Tidings {
        let mut all: Vec<String> = [
            "--storage",
            "memory",
            "--editor-token",
            EDITOR_TOKEN,
            "--admin-token",
            ADMIN_TOKEN,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Tidings::start_with(all, env).await
    }

    /// As [`start`](Self::start), serving TLS with `cert`: URLs are
    /// `https://127.0.0.1:<port>` and [`client`](Self::client) trusts it.
    pub async fn start_tls(cert: &crate::tls::TestCert, args: &[&str]) -> Tidings {
        let (c, k) = (
            cert.cert.display().to_string(),
            cert.key.display().to_string(),
        );
        let mut all = vec!["--tls-cert", c.as_str(), "--tls-key", k.as_str()];
        all.extend_from_slice(args);
        Tidings::start(&all).await
    }

    async fn start_with(args: Vec<String>, env: Vec<(String, String)>) -> Tidings {
        let port = free_port().await;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let child = Command::new(tidings_bin())
            .arg("--listen")
            .arg(addr.to_string())
            .args(&args)
            .env(
                "RUST_LOG",
                std::env::var("TIDINGS_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tidings starts");
        let tls = args
            .iter()
            .position(|a| a == "--tls-cert")
            .map(|i| std::fs::read_to_string(&args[i + 1]).expect("certificate file"));
        let server = Tidings {
            child,
            addr,
            args,
            env,
            tls,
        };
        server.wait_ready().await;
        server
    }

    /// Stops this process (SIGKILL) and starts a new one with the same flags
    /// on a new port.
    pub async fn restart(mut self) -> Tidings {
        let _ = self.child.kill().await;
        Tidings::start_with(
            std::mem::take(&mut self.args),
            std::mem::take(&mut self.env),
        )
        .await
    }

    /// Stops this process gracefully (SIGTERM, waiting for it to exit),
    /// runs `between` while it is down, and starts a new one with the same
    /// flags on a new port.
    pub async fn restart_gracefully(mut self, between: impl FnOnce()) -> Tidings {
        self.signal("TERM");
        let status = self
            .wait_exit(Duration::from_secs(20))
            .await
            .expect("tidings exits after SIGTERM");
        assert!(status.success(), "tidings exited with {status}");
        between();
        Tidings::start_with(
            std::mem::take(&mut self.args),
            std::mem::take(&mut self.env),
        )
        .await
    }

    async fn wait_ready(&self) {
        let client = self.client();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(resp) = client.get(self.url("/ready")).send().await
                && resp.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tidings did not become ready on {}",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `http://<addr><path>`, or `https://` with TLS.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// The client for this server's API: [`crate::http`], or with TLS one
    /// that trusts its certificate (HTTP/2 or HTTP/1.1, as ALPN decides).
    pub fn client(&self) -> reqwest::Client {
        match &self.tls {
            None => crate::http(),
            Some(pem) => crate::tls::client(pem, crate::tls::Version::Negotiated),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// The process's resident memory now, in KiB (`VmRSS` in
    /// `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// Sends `signal` (e.g. `"USR1"`, `"TERM"`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits at most `timeout` for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .map(|r| r.expect("wait"))
    }

    /// GET `path` and parse the JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .client()
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// POST `/api/publish` with the editor token; returns status and body.
    pub async fn publish(&self, kind: &str, data: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .client()
            .post(self.url("/api/publish"))
            .bearer_auth(EDITOR_TOKEN)
            .json(&serde_json::json!({ "type": kind, "data": data }))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Publishes a `demo.tick` event carrying `{"n": n}`, asserts 202 and
    /// returns its id.
    pub async fn publish_tick(&self, n: usize) -> String {
        let (status, body) = self
            .publish("demo.tick", serde_json::json!({ "n": n }))
            .await;
        assert_eq!(status, 202, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    /// Waits until `/health` reports `mode`, at most `timeout`.
    pub async fn wait_mode(&self, mode: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.get_json("/health").await.1["mode"] == mode {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }
}

impl Tidings {
    /// `GET /api/items`, asserting 200: the stored items as JSON.
    pub async fn items(&self) -> serde_json::Value {
        let (status, body) = self.get_json("/api/items").await;
        assert_eq!(status, 200, "GET /api/items: {body}");
        body
    }

    /// The id of the newest stored event, as `/health` reports it.
    pub async fn head(&self) -> String {
        let (_, body) = self.get_json("/health").await;
        body["head"]
            .as_str()
            .unwrap_or_else(|| panic!("/health has no head: {body}"))
            .to_string()
    }

    /// The epoch of the history, as `/health` reports it (asserting 200).
    pub async fn epoch(&self) -> String {
        let (status, body) = self.get_json("/health").await;
        assert_eq!(status, 200, "GET /health: {body}");
        body["epoch"]
            .as_str()
            .unwrap_or_else(|| panic!("/health has no epoch: {body}"))
            .to_string()
    }

    /// `GET /metrics`, asserting 200 and a text content type: the
    /// Prometheus text.
    pub async fn metrics(&self) -> String {
        let resp = self
            .client()
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 200, "GET /metrics");
        let ct = content_type(&resp);
        assert!(ct.starts_with("text/plain"), "content-type {ct:?}");
        resp.text().await.expect("metrics text")
    }

    /// One unlabelled counter or gauge from `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics"))
    }

    /// A stream client past its connect-time `server.state`, so it is
    /// subscribed before anything is published next.
    pub async fn subscribed(&self) -> crate::SseClient {
        let mut client = crate::SseClient::connect(&self.url("/api/events"), None).await;
        assert_eq!(client.status, 200);
        let state = client
            .next_non_heartbeat(Duration::from_secs(60))
            .await
            .expect("state");
        assert_eq!(state.event, "server.state");
        client
    }
}

/// POSTs a `demo.bulk` event `{"n": n, "pad": pad}` to the publish `url`
/// with the editor token, asserts `202` and returns its id.
pub async fn publish_bulk(client: &reqwest::Client, url: &str, n: u64, pad: &str) -> String {
    let resp = client
        .post(url)
        .bearer_auth(EDITOR_TOKEN)
        .json(&serde_json::json!({ "type": "demo.bulk", "data": { "n": n, "pad": pad } }))
        .send()
        .await
        .expect("publish request");
    assert_eq!(resp.status().as_u16(), 202, "publish {n}");
    let body: serde_json::Value = resp.json().await.expect("JSON");
    body["id"].as_str().expect("id").to_string()
}

/// The `Content-Type` of `resp` (empty when absent or not text).
pub fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The sequence number of an event id `<epoch>-<seq>`.
pub fn seq_of(id: &str) -> u64 {
    id.rsplit_once('-')
        .and_then(|(_, seq)| seq.parse().ok())
        .unwrap_or_else(|| panic!("not an event id: {id:?}"))
}
