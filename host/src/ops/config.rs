//! Configuration: command-line flags, each with a `TIDINGS_*` environment
//! equivalent.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::storage::StorageUrl;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

fn duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

/// Parses a byte-size flag as the README writes sizes: a plain number of
/// bytes (`65536`) or a number with a unit, binary (`64KiB`, `64 MiB`) or
/// decimal (`64KB`, `1GB`), case-insensitive.
///
/// `bytesize` saturates a product that does not fit in 64 bits instead of
/// failing, so `20EiB` would silently become `u64::MAX`; that is refused
/// here rather than turned into a limit nobody asked for.
fn byte_size(text: &str) -> Result<usize, String> {
    if let Ok(bytes) = text.parse::<usize>() {
        return Ok(bytes);
    }
    let size: bytesize::ByteSize = text.parse().map_err(|_| {
        "not a size: write bytes (`65536`) or a number and a unit (`64KiB`, `8MiB`, `1GB`)"
            .to_string()
    })?;
    if size.as_u64() == u64::MAX {
        return Err("too large".into());
    }
    usize::try_from(size.as_u64()).map_err(|_| "too large for this machine".into())
}

/// Everything the server is told at start-up.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tidings",
    version,
    about = "A live-event hub: mutation events over Server-Sent Events, with replay.",
    args_override_self = true
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "TIDINGS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Storage (items, and the history when there is no bus): `fs:<dir>`, `memory`, or `s3://<bucket>?endpoint=<url>&region=<r>`
    /// (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
    #[arg(long, env = "TIDINGS_STORAGE", default_value = "fs:./data")]
    pub storage: StorageUrl,

    /// Redis Streams bus shared with other nodes (`redis://host:port/`).
    /// Without it the node works alone and keeps its history in storage.
    #[arg(long, env = "TIDINGS_BUS")]
    pub bus: Option<String>,

    /// Name of the bus's keys, so several hubs can share one Redis.
    #[arg(long, env = "TIDINGS_BUS_KEY", default_value = "tidings")]
    pub bus_key: String,

    /// Events the bus stream keeps (approximately) for replay beyond a
    /// node's ring.
    #[arg(long, env = "TIDINGS_BUS_HISTORY", default_value_t = 100_000)]
    pub bus_history: usize,

    /// Bearer token for writes and publishing. Required unless listening on loopback.
    #[arg(long, env = "TIDINGS_EDITOR_TOKEN", hide_env_values = true)]
    pub editor_token: Option<String>,

    /// Bearer token for the admin API; without it the admin API is disabled.
    #[arg(long, env = "TIDINGS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Events kept for replay.
    #[arg(long, env = "TIDINGS_HISTORY_SIZE", default_value_t = 4096)]
    pub history_size: usize,

    /// Bytes of encoded events kept for replay (`65536`, `512KiB`, `64MiB`,
    /// `1GB`).
    #[arg(long, env = "TIDINGS_HISTORY_BYTES", default_value = "64 MiB", value_parser = byte_size)]
    pub history_bytes: usize,

    /// Time between storage (and bus) probes.
    #[arg(long, env = "TIDINGS_PROBE_INTERVAL", default_value = "5s", value_parser = duration)]
    pub probe_interval: Duration,

    /// A probe not answered within this time counts as failed.
    #[arg(long, env = "TIDINGS_PROBE_TIMEOUT", default_value = "2s", value_parser = duration)]
    pub probe_timeout: Duration,

    /// Bound on every storage operation of a request; beyond it the request
    /// fails with 503 instead of hanging on a stalled store.
    #[arg(long, env = "TIDINGS_STORAGE_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub storage_timeout: Duration,

    /// Publishes that may wait for their durable write (to the history or
    /// the bus); further publishers wait for room.
    #[arg(long, env = "TIDINGS_PUBLISH_QUEUE", default_value_t = 1024, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub publish_queue: usize,

    /// How long a publish waits for room in a full queue before it answers
    /// 503 with `Retry-After`.
    #[arg(long, env = "TIDINGS_PUBLISH_QUEUE_WAIT", default_value = "1s", value_parser = duration)]
    pub publish_queue_wait: Duration,

    /// Consecutive failed probes before the server turns degraded.
    #[arg(long, env = "TIDINGS_FAIL_THRESHOLD", default_value_t = 3)]
    pub fail_threshold: u32,

    /// Consecutive successful probes before it turns back to normal.
    #[arg(long, env = "TIDINGS_RECOVER_THRESHOLD", default_value_t = 2)]
    pub recover_threshold: u32,

    /// Start in read-only mode.
    #[arg(long, env = "TIDINGS_READ_ONLY")]
    pub read_only: bool,

    /// Interval of heartbeat events on idle streams.
    #[arg(long, env = "TIDINGS_HEARTBEAT_INTERVAL", default_value = "15s", value_parser = duration)]
    pub heartbeat_interval: Duration,

    /// Reconnection delay advertised to clients with `retry:`, in milliseconds.
    #[arg(long, env = "TIDINGS_RETRY_MS", default_value_t = 2000)]
    pub retry_ms: u64,

    /// Delivery-latency budget of fan-out: a publish waits (up to 1 s) while
    /// more than `--fanout-share` percent of the streams were woken for
    /// events longer ago than this, `--fanout-depth` or more events were
    /// stored since, and they have not read them; `0` never waits.
    #[arg(long, env = "TIDINGS_FANOUT_BUDGET", default_value = "5ms", value_parser = duration)]
    pub fanout_budget: Duration,

    /// Percent of the streams that may be behind the fan-out budget before
    /// publishes wait.
    #[arg(long, env = "TIDINGS_FANOUT_SHARE", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub fanout_share: u32,

    /// Events stored since a stream's unread wake-up from which it counts
    /// as behind the fan-out budget: a server that keeps up finishes a
    /// pass over its streams before that many pile up.
    #[arg(long, env = "TIDINGS_FANOUT_DEPTH", default_value_t = 8)]
    pub fanout_depth: u64,

    /// Most concurrent SSE clients; beyond it `/api/events` answers 503.
    #[arg(long, env = "TIDINGS_MAX_CLIENTS", default_value_t = 10_000)]
    pub max_clients: usize,

    /// Largest request body (imports included), in bytes or with a unit
    /// like `--history-bytes`; larger answers 413.
    #[arg(long, env = "TIDINGS_MAX_BODY_BYTES", default_value = "8 MiB", value_parser = byte_size)]
    pub max_body_bytes: usize,

    /// Largest event data, in bytes or with a unit like `--history-bytes`;
    /// larger answers 413.
    #[arg(long, env = "TIDINGS_MAX_EVENT_BYTES", default_value = "64 KiB", value_parser = byte_size)]
    pub max_event_bytes: usize,

    /// Origins allowed to call the API from a browser (repeatable).
    #[arg(
        long = "cors-origin",
        env = "TIDINGS_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Time allowed for a graceful shutdown.
    #[arg(long, env = "TIDINGS_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub shutdown_timeout: Duration,

    /// Folder of the browser demo, served at `/` (built by `scripts/run`).
    #[arg(long, env = "TIDINGS_WEB_DIR", default_value = "web-demo")]
    pub web_dir: std::path::PathBuf,

    /// Log line format.
    #[arg(long, env = "TIDINGS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Writes would be open to a network by accident.
    #[error("listening on {0}, which is not loopback, needs --editor-token")]
    OpenWrites(SocketAddr),
    /// A hysteresis threshold of zero.
    #[error("--fail-threshold and --recover-threshold must be at least 1")]
    Threshold,
    /// An empty token would match an empty header.
    #[error("tokens must not be empty")]
    EmptyToken,
}

impl Config {
    /// Checks the rules clap cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if [&self.editor_token, &self.admin_token]
            .iter()
            .any(|t| t.as_deref() == Some(""))
        {
            return Err(ConfigError::EmptyToken);
        }
        if self.editor_token.is_none() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::OpenWrites(self.listen));
        }
        if self.fail_threshold == 0 || self.recover_threshold == 0 {
            return Err(ConfigError::Threshold);
        }
        Ok(())
    }

    /// The configuration for tests: memory storage, fast probes, port 0.
    pub fn for_tests() -> Config {
        Config::parse_from(["tidings", "--listen", "127.0.0.1:0", "--storage", "memory"])
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn sizes_take_plain_bytes_and_units() {
        for (text, bytes) in [
            ("0", 0),
            ("65536", 65536),
            ("64MiB", 64 << 20),
            ("64 MiB", 64 << 20),
            ("64mib", 64 << 20),
            ("64KiB", 64 << 10),
            ("1GiB", 1 << 30),
            ("64KB", 64_000),
            ("1GB", 1_000_000_000),
            ("512B", 512),
            ("1.5MiB", 3 << 19),
        ] {
            assert_eq!(byte_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn sizes_refuse_other_spellings() {
        for text in [
            "", "MiB", "-1", "64MiBs", "64 MiB ", " 64MiB", "64XiB", "1.2.3MiB", "0x40",
            "64 MiB 2", "20EiB",
        ] {
            assert!(byte_size(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn size_flags_parse_units_and_default_as_documented() {
        let defaults = Config::for_tests();
        assert_eq!(defaults.history_bytes, 64 << 20);
        assert_eq!(defaults.max_body_bytes, 8 << 20);
        assert_eq!(defaults.max_event_bytes, 64 << 10);

        let config = Config::try_parse_from([
            "tidings",
            "--history-bytes",
            "1GiB",
            "--max-body-bytes",
            "2MB",
            "--max-event-bytes",
            "1024",
        ])
        .expect("sizes with units");
        assert_eq!(config.history_bytes, 1 << 30);
        assert_eq!(config.max_body_bytes, 2_000_000);
        assert_eq!(config.max_event_bytes, 1024);

        let refused = Config::try_parse_from(["tidings", "--max-event-bytes", "64 kilobytes"])
            .expect_err("an unknown unit");
        assert!(
            refused.to_string().contains("--max-event-bytes"),
            "{refused}"
        );

        // The defaults read as the README's configuration table writes them
        // (clap quotes a value with a space, so it can be pasted as is).
        let help = Config::command().render_long_help().to_string();
        for default in [
            r#"[default: "64 MiB"]"#,
            r#"[default: "8 MiB"]"#,
            r#"[default: "64 KiB"]"#,
        ] {
            assert!(help.contains(default), "{default} not in:\n{help}");
        }
    }
}
