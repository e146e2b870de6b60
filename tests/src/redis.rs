//! A real Redis for bus tests: `redis-server` on a free loopback port, with
//! its data in a temporary folder, spoken to in RESP over a real socket.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How long starting or stopping may take before the test fails.
const START_LIMIT: Duration = Duration::from_secs(15);

/// A running `redis-server`, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The port it listens on (kept across restarts).
    pub port: u16,
    durable: bool,
}

/// A reply, as RESP2 gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK` and the like.
    Status(String),
    /// `-ERR …`: the command failed.
    Error(String),
    /// `:42`.
    Int(i64),
    /// A bulk string; `None` for the null bulk string.
    Bulk(Option<Vec<u8>>),
    /// An array; `None` for the null array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text: a status, a bulk string (lossy) or an integer.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Status(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Reply::Int(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The integer of a `:n` reply.
    pub fn int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The elements of an array reply (empty for a null array).
    pub fn items(&self) -> &[Reply] {
        match self {
            Reply::Array(Some(items)) => items,
            _ => &[],
        }
    }
}

/// One stream entry: its id and its fields in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// The entry id, `<ms>-<seq>`.
    pub id: String,
    /// Field names and values, in the order stored.
    pub fields: Vec<(String, String)>,
}

impl StreamEntry {
    /// The value of `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `TIDINGS_REDIS_SERVER`, or `redis-server` on `PATH`.
fn redis_server_bin() -> PathBuf {
    if let Ok(path) = std::env::var("TIDINGS_REDIS_SERVER") {
        return path.into();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
        .expect("redis-server is not on PATH (set TIDINGS_REDIS_SERVER)")
}

impl RedisServer {
    /// Starts a Redis that keeps nothing on disk.
    pub async fn start() -> RedisServer {
        RedisServer::start_with(false).await
    }

    /// Starts a Redis with an append-only file synced on every write, so a
    /// stop and [`start_again`](Self::start_again) keep every acknowledged
    /// write.
    pub async fn start_durable() -> RedisServer {
        RedisServer::start_with(true).await
    }

    async fn start_with(durable: bool) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = crate::free_port().await;
        let mut server = RedisServer {
            child: None,
            dir,
            port,
            durable,
        };
        server.start_again().await;
        server
    }

    /// `redis://127.0.0.1:<port>/`, the `--bus` value.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server again on the same port with the same folder (and,
    /// when durable, the data it held), and waits until it answers `PING`.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server is already running");
        let mut cmd = Command::new(redis_server_bin());
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .args(["--daemonize", "no"]);
        if self.durable {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + START_LIMIT;
        loop {
            // `-LOADING` while it reads its append-only file: not ready yet.
            if let Ok(Ok(Reply::Status(pong))) =
                tokio::time::timeout(Duration::from_secs(1), self.try_cli(&["PING"])).await
                && pong == "PONG"
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "redis-server exited with {status} on port {}:\n{}",
                    self.port,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING on port {}:\n{}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server with `SHUTDOWN` (an append-only file is synced and
    /// closed first) and waits until the process has exited; kills it if it
    /// does not exit in time.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The connection closes without a reply when the shutdown succeeds.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.try_cli(&["SHUTDOWN"])).await;
        if tokio::time::timeout(START_LIMIT, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// Kills the server (SIGKILL) and waits until the process has exited.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Whether the process is running (started and not stopped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Runs one command on a fresh connection and returns its reply,
    /// panicking if the server cannot be reached or answers an error.
    pub async fn cli(&self, args: &[&str]) -> Reply {
        match self.try_cli(args).await {
            Ok(Reply::Error(e)) => panic!("redis {args:?}: {e}"),
            Ok(reply) => reply,
            Err(e) => panic!("redis {args:?} on port {}: {e}", self.port),
        }
    }

    /// Runs one command on a fresh connection; an error reply is returned
    /// as [`Reply::Error`], a failure to talk to the server as `Err`.
    pub async fn try_cli(&self, args: &[&str]) -> std::io::Result<Reply> {
        let mut socket = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        socket.write_all(&request).await?;
        let mut reader = BufReader::new(socket);
        read_reply(&mut reader).await
    }

    /// Every entry of stream `key`, oldest first (`XRANGE key - +`).
    pub async fn stream(&self, key: &str) -> Vec<StreamEntry> {
        self.cli(&["XRANGE", key, "-", "+"])
            .await
            .items()
            .iter()
            .map(|entry| {
                let [id, fields] = entry.items() else {
                    panic!("not a stream entry: {entry:?}");
                };
                let fields = fields
                    .items()
                    .chunks(2)
                    .map(|kv| {
                        let text = |r: &Reply| r.text().expect("field text");
                        (text(&kv[0]), text(&kv[1]))
                    })
                    .collect();
                StreamEntry {
                    id: id.text().expect("entry id"),
                    fields,
                }
            })
            .collect()
    }
}

/// Reads one RESP2 reply.
fn read_reply<'a>(
    reader: &'a mut BufReader<TcpStream>,
) -> futures::future::BoxFuture<'a, std::io::Result<Reply>> {
    use futures::FutureExt;
    async move {
        let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches("\r\n");
        let (tag, rest) = line.split_at(1.min(line.len()));
        let number = || {
            rest.parse::<i64>()
                .map_err(|_| bad(format!("bad RESP line {line:?}")))
        };
        Ok(match tag {
            "+" => Reply::Status(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(number()?),
            "$" => {
                let len = number()?;
                if len < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut buf = vec![0u8; len as usize + 2];
                    tokio::io::AsyncReadExt::read_exact(reader, &mut buf).await?;
                    buf.truncate(len as usize);
                    Reply::Bulk(Some(buf))
                }
            }
            "*" => {
                let len = number()?;
                if len < 0 {
                    Reply::Array(None)
                } else {
                    let mut items = Vec::with_capacity(len as usize);
                    for _ in 0..len {
                        items.push(read_reply(reader).await?);
                    }
                    Reply::Array(Some(items))
                }
            }
            _ => return Err(bad(format!("bad RESP line {line:?}"))),
        })
    }
    .boxed()
}
