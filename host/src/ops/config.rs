//! Configuration: command-line flags, each with a `TIDINGS_*` environment
//! equivalent, and [`Config::validate`], the rules clap cannot express:
//! writes are never open to a network by accident, and access tokens are
//! never accepted without an issuer and an audience to check, nor over a
//! network without TLS in front.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tidings_core::topic::HubUrl;

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

    /// Events the bus stream keeps for replay beyond a node's ring
    /// (approximately while no publisher-supplied id is held, else exactly).
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

    /// End every stream after this long (`30m`, `1h`), with a `retry:`, so
    /// the client reconnects with its last id: long-lived connections get
    /// rebalanced and pick up a rotated token. Off by default.
    #[arg(long, env = "TIDINGS_STREAM_LIFETIME", value_parser = duration)]
    pub stream_lifetime: Option<Duration>,

    /// Worker threads of the runtime that serves streams (and rings their
    /// doorbells). Default: one fewer than the cores, at least one, so the
    /// runtime that answers publishes and the API always has a core of its
    /// own and the stream workers do not outnumber the cores they share
    /// with it.
    #[arg(long, env = "TIDINGS_STREAM_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    pub stream_workers: Option<u16>,

    /// Worker threads of the runtime that answers publishes and the rest
    /// of the API. Default: the cores the stream workers leave, at least
    /// one, so the two runtimes share the cores without outnumbering them:
    /// threads of one runtime handing requests to each other cost a
    /// publish more than they give it.
    #[arg(long, env = "TIDINGS_REQUEST_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    pub request_workers: Option<u16>,

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

    /// Most concurrent streams per client address, and per token subject
    /// (`sub`), each counted on its own; beyond it a stream answers 429
    /// with `Retry-After`. Default: unlimited (load tests open thousands of
    /// streams from one address).
    #[arg(long, env = "TIDINGS_MAX_STREAMS_PER_CLIENT", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_streams_per_client: Option<usize>,

    /// A proxy (address or CIDR range, repeatable) whose `X-Forwarded-For`
    /// names the client for `--max-streams-per-client`; from any other
    /// peer the header is ignored.
    #[arg(long = "trusted-proxy", env = "TIDINGS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::http::client_limit::trusted_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

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

    /// A connection that has not sent a complete request head (and, with
    /// TLS, finished its handshake) within this time is closed; so is a
    /// kept-alive one that starts a request head and does not finish it.
    #[arg(long, env = "TIDINGS_HEAD_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub head_timeout: Duration,

    /// Time allowed for a graceful shutdown.
    #[arg(long, env = "TIDINGS_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub shutdown_timeout: Duration,

    /// Folder of the browser demo, served at `/` (built by `scripts/run`).
    #[arg(long, env = "TIDINGS_WEB_DIR", default_value = "web-demo")]
    pub web_dir: std::path::PathBuf,

    /// Log line format.
    #[arg(long, env = "TIDINGS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// Key of publishers' access tokens: an HMAC secret, or `@path` to a
    /// PEM or JWK public key. With it, publishing takes such a token (or
    /// the editor token) and the token's grants decide the topics.
    #[arg(long, env = "TIDINGS_PUBLISHER_JWT_KEY", hide_env_values = true)]
    pub publisher_jwt_key: Option<String>,

    /// Algorithms publishers' tokens may be signed with (repeatable, or
    /// comma-separated); they must fit the key.
    #[arg(
        long,
        env = "TIDINGS_PUBLISHER_JWT_ALG",
        value_delimiter = ',',
        default_value = "HS256"
    )]
    pub publisher_jwt_alg: Vec<String>,

    /// Key of subscribers' access tokens (as `--publisher-jwt-key`). With
    /// it, a stream takes a token, whose grants decide the private events
    /// it receives.
    #[arg(long, env = "TIDINGS_SUBSCRIBER_JWT_KEY", hide_env_values = true)]
    pub subscriber_jwt_key: Option<String>,

    /// Algorithms subscribers' tokens may be signed with (as
    /// `--publisher-jwt-alg`).
    #[arg(
        long,
        env = "TIDINGS_SUBSCRIBER_JWT_ALG",
        value_delimiter = ',',
        default_value = "HS256"
    )]
    pub subscriber_jwt_alg: Vec<String>,

    /// The `iss` every access token must carry. Required with a key.
    #[arg(long, env = "TIDINGS_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// The hub's URL: the `aud` every access token must name, and the base
    /// of relative URL patterns in grants. Required with a key.
    #[arg(long, env = "TIDINGS_HUB_URL")]
    pub hub_url: Option<String>,

    /// Seconds of clock skew allowed on a token's `exp` and `nbf`.
    #[arg(long, env = "TIDINGS_JWT_LEEWAY", default_value_t = 0)]
    pub jwt_leeway: u64,

    /// Also accept pre-standard tokens (Mercure v0.x: a `mercure` claim,
    /// no `aud`), the `mercureAuthorization` cookie, and the
    /// `authorization` query parameter of a stream.
    #[arg(long, env = "TIDINGS_MERCURE_V0")]
    pub mercure_v0: bool,

    /// Name of the cookie that may carry the access token (browsers'
    /// `EventSource` cannot set headers).
    #[arg(
        long,
        env = "TIDINGS_JWT_COOKIE",
        default_value = "__Secure-mercure_access_token"
    )]
    pub jwt_cookie: String,

    /// With `--subscriber-jwt-key`, still let subscribers without a token
    /// in; they receive public events only.
    #[arg(long, env = "TIDINGS_ANONYMOUS")]
    pub anonymous: bool,

    /// Item events are private: only streams whose token grants their
    /// topic (`<origin>/items/<part_number>`) receive them.
    #[arg(long, env = "TIDINGS_PRIVATE_ITEMS")]
    pub private_items: bool,

    /// TLS is done by a proxy in front: lets access tokens be accepted on a
    /// non-loopback address, where they must not travel in the clear.
    #[arg(long, env = "TIDINGS_BEHIND_TLS_PROXY")]
    pub behind_tls_proxy: bool,

    /// Certificate chain (PEM) to serve TLS with, HTTP/2 and HTTP/1.1 by
    /// ALPN; with `--tls-key`. Both files are read again on `SIGHUP`.
    #[arg(long, env = "TIDINGS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of `--tls-cert`.
    #[arg(long, env = "TIDINGS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Writes would be open to a network by accident.
    #[error("listening on {0}, which is not loopback, needs --editor-token or --publisher-jwt-key")]
    OpenWrites(SocketAddr),
    /// A hysteresis threshold of zero.
    #[error("--fail-threshold and --recover-threshold must be at least 1")]
    Threshold,
    /// An empty token would match an empty header.
    #[error("tokens must not be empty")]
    EmptyToken,
    /// An empty key would be no key at all.
    #[error("--publisher-jwt-key and --subscriber-jwt-key must not be empty")]
    EmptyKey,
    /// A token key without the claims that bind tokens to this hub.
    #[error(
        "--publisher-jwt-key and --subscriber-jwt-key need --jwt-issuer and --hub-url \
         (the iss and aud every token must carry); missing: {0}"
    )]
    UnboundTokens(&'static str),
    /// `--hub-url` is not an absolute URL.
    #[error("--hub-url: {0}")]
    HubUrl(#[from] tidings_core::topic::HubUrlError),
    /// Tokens would travel in the clear on a network.
    #[error(
        "listening on {0}, which is not loopback, with access tokens needs TLS: \
         pass --tls-cert and --tls-key, or put a TLS proxy in front and pass \
         --behind-tls-proxy"
    )]
    TokensInTheClear(SocketAddr),
    /// A CORS origin of `*`, which would hand credentials to any site.
    #[error("--cors-origin must name origins (https://app.example), never *")]
    WildcardOrigin,
    /// A cookie name that is not an RFC 6265 token.
    #[error("--jwt-cookie {0:?} is not a cookie name")]
    CookieName(String),
}

/// Worker threads of the server's two runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workers {
    /// Of the runtime that answers publishes and the API.
    pub requests: usize,
    /// Of the runtime that serves streams and rings their doorbells.
    pub streams: usize,
}

impl Config {
    /// The hub's URL: `--hub-url`, else `http://<listen address>` (`https`
    /// with `--tls-cert`) with the protocol's path. Relative URL patterns
    /// resolve against it, and topics below its path are the hub's own.
    pub fn hub(&self) -> HubUrl {
        let configured = self.hub_url.as_deref().and_then(|u| HubUrl::parse(u).ok());
        configured.unwrap_or_else(|| {
            let scheme = if self.tls() { "https" } else { "http" };
            HubUrl::parse(&format!("{scheme}://{}/.well-known/mercure", self.listen))
                .expect("a socket address makes a URL")
        })
    }

    /// Worker threads of the two runtimes on this machine's cores (see
    /// [`workers_on`](Self::workers_on)).
    pub fn workers(&self) -> Workers {
        self.workers_on(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Worker threads of the two runtimes on `cores` cores:
    /// `--stream-workers`, else one fewer than the cores; `--request-workers`,
    /// else the cores the stream workers leave; each at least one.
    pub fn workers_on(&self, cores: usize) -> Workers {
        let streams = self
            .stream_workers
            .map_or(cores.saturating_sub(1), usize::from)
            .max(1);
        let requests = self
            .request_workers
            .map_or(cores.saturating_sub(streams), usize::from)
            .max(1);
        Workers { requests, streams }
    }

    /// Whether the server serves TLS itself.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// Checks the rules clap cannot express. Whether the keys themselves
    /// load and fit their algorithms is checked when the server builds its
    /// credentials (`http::credentials`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if [&self.editor_token, &self.admin_token]
            .iter()
            .any(|t| t.as_deref() == Some(""))
        {
            return Err(ConfigError::EmptyToken);
        }
        let keys = [&self.publisher_jwt_key, &self.subscriber_jwt_key];
        if keys.iter().any(|k| k.as_deref() == Some("")) {
            return Err(ConfigError::EmptyKey);
        }
        let loopback = self.listen.ip().is_loopback();
        if self.editor_token.is_none() && self.publisher_jwt_key.is_none() && !loopback {
            return Err(ConfigError::OpenWrites(self.listen));
        }
        if self.fail_threshold == 0 || self.recover_threshold == 0 {
            return Err(ConfigError::Threshold);
        }
        if let Some(url) = &self.hub_url {
            tidings_core::topic::HubUrl::parse(url)?;
        }
        if keys.iter().any(|k| k.is_some()) {
            match (&self.jwt_issuer, &self.hub_url) {
                (None, None) => return Err(ConfigError::UnboundTokens("--jwt-issuer, --hub-url")),
                (None, Some(_)) => return Err(ConfigError::UnboundTokens("--jwt-issuer")),
                (Some(_), None) => return Err(ConfigError::UnboundTokens("--hub-url")),
                (Some(_), Some(_)) => {}
            }
            if !loopback && !self.behind_tls_proxy && !self.tls() {
                return Err(ConfigError::TokensInTheClear(self.listen));
            }
        }
        // Origins are compared as strings, so `*` would match nothing; it
        // is refused so that nobody believes it opens the API to every site.
        if self.cors_origins.iter().any(|o| o.trim() == "*") {
            return Err(ConfigError::WildcardOrigin);
        }
        if !is_cookie_name(&self.jwt_cookie) {
            return Err(ConfigError::CookieName(self.jwt_cookie.clone()));
        }
        Ok(())
    }

    /// The configuration for tests: memory storage, fast probes, port 0.
    pub fn for_tests() -> Config {
        Config::parse_from(["tidings", "--listen", "127.0.0.1:0", "--storage", "memory"])
    }
}

/// Whether `name` is an RFC 6265 cookie name (an RFC 9110 token).
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests;
