//! The command line of `tidings-load`, and the checks of it that clap's
//! attributes cannot say (non-zero counts, finite rates, header syntax,
//! topic flags that need each other).

use super::http::TOPIC;

/// The publish body for Tidings' `POST /api/publish`.
pub const TIDINGS_TEMPLATE: &str = r#"{"type":"load","data":{"seq":{seq},"ts":{ts}}}"#;

/// The publish body for Tidings when events carry topics (`--topics`).
pub const TIDINGS_TOPIC_TEMPLATE: &str =
    r#"{"type":"load","data":{"seq":{seq},"ts":{ts}},"topics":["{topic}"]}"#;

/// What each client subscribes to (`--subscribe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Subscribe {
    /// No selector: every event.
    All,
    /// Its own exact topics (`match=`), `--exact-per-client` of them.
    Exact,
    /// The `--pattern` URL pattern (`match_urlpattern=`), the same for all.
    Pattern,
}

/// Load generator for SSE hubs.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "tidings-load",
    version,
    about = "Load generator for SSE hubs: N streams, M numbered events at a rate; \
             reports deliveries, gaps, duplicates, order, latency, server CPU and RSS \
             (one JSON line on stdout, a summary on stderr)."
)]
pub struct Args {
    /// SSE endpoint the clients subscribe to; several (comma-separated, one
    /// per node) spread the clients over them, and a reconnecting client
    /// moves to the next one.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8080/api/events",
        value_delimiter = ','
    )]
    pub sub_url: Vec<String>,

    /// Endpoint the events are POSTed to; several (comma-separated) spread
    /// the publishing connections over them.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8080/api/publish",
        value_delimiter = ','
    )]
    pub pub_url: Vec<String>,

    /// Publish body; `{seq}` becomes the event's sequence number, `{ts}`
    /// its send time in µs since the tool started and `{topic}` its topic
    /// (verbatim, with `--topics`). Default: Tidings' body, with a
    /// `"topics"` member when `--topics` is set. For nchan use
    /// '{"seq":{seq},"ts":{ts}}'.
    #[arg(long)]
    pub pub_body_template: Option<String>,

    /// Extra header of every publish request, as 'Name: value' (repeatable),
    /// e.g. 'Authorization: Bearer TOKEN'.
    #[arg(long = "pub-header")]
    pub pub_headers: Vec<String>,

    /// Content-Type of publish requests.
    #[arg(long, default_value = "application/json")]
    pub pub_content_type: String,

    /// Keep-alive connections publishing concurrently.
    #[arg(long, default_value_t = 4)]
    pub pub_conns: usize,

    /// Concurrent SSE clients.
    #[arg(short, long, default_value_t = 100)]
    pub clients: usize,

    /// Topics the events go to, `{topic-prefix}0` to `{topic-prefix}N-1`:
    /// each event to one of them, drawn uniformly by a seeded hash of its
    /// seq. 0: events carry no topic.
    #[arg(long, default_value_t = 0)]
    pub topics: u32,

    /// Start of every topic name; the topic's number follows.
    #[arg(long, default_value = "https://example.com/t/")]
    pub topic_prefix: String,

    /// Seed of the topic each event goes to.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// What each client subscribes to: `all` (no selector, every event),
    /// `exact` (client c asks for topics c·K … c·K+K−1 modulo --topics, K =
    /// --exact-per-client, with one `match=` each) or `pattern` (every
    /// client asks for --pattern with `match_urlpattern=`). Each client is
    /// then checked against the events of its topics only: every one
    /// delivered once and in order, and nothing else (strays).
    #[arg(long, value_enum, default_value_t = Subscribe::All)]
    pub subscribe: Subscribe,

    /// Exact topics per client with `--subscribe exact`.
    #[arg(long, default_value_t = 1)]
    pub exact_per_client: u32,

    /// The WHATWG URL pattern of `--subscribe pattern`, absolute; e.g.
    /// 'https://example.com/t/:id(\d*0)' selects the topics whose number
    /// ends in 0.
    #[arg(long, default_value = "https://example.com/t/:id")]
    pub pattern: String,

    /// With `{topic}` in the URLs and `--subscribe pattern`: the channel
    /// every pattern client subscribes to, and to which the events of the
    /// matching topics are posted.
    #[arg(long, default_value = "pattern")]
    pub pattern_channel: String,

    /// Events to publish.
    #[arg(short = 'n', long, default_value_t = 2000)]
    pub events: u64,

    /// Target publish rate in events per second; 0 publishes as fast as the
    /// publish connections are answered.
    #[arg(short, long, default_value_t = 100.0)]
    pub rate: f64,

    /// Each client drops its stream after this many events and reconnects
    /// with `Last-Event-ID`.
    #[arg(long)]
    pub reconnect_after: Option<u64>,

    /// A PEM certificate to trust for `https://` URLs (the only one).
    #[arg(long)]
    pub ca: Option<std::path::PathBuf>,

    /// Streams over HTTP/2 (needs an `https://` --sub-url and --ca);
    /// publishes stay on HTTP/1.1.
    #[arg(long)]
    pub http2: bool,

    /// With --http2, streams carried by each connection.
    #[arg(long, default_value_t = 100)]
    pub streams_per_connection: usize,

    /// Connection attempts in flight at once.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,

    /// Attempts a client makes at its first connection before giving up.
    #[arg(long, default_value_t = 3)]
    pub connect_attempts: u32,

    /// Seconds allowed for one connection attempt (connect and response head).
    #[arg(long, default_value_t = 30.0)]
    pub connect_timeout: f64,

    /// Seconds to wait after the clients are connected, before publishing.
    #[arg(long, default_value_t = 0.5)]
    pub settle: f64,

    /// After the last publish, stop once this many seconds pass without a
    /// new delivery (or once everything arrived).
    #[arg(long, default_value_t = 5.0)]
    pub drain_timeout: f64,

    /// Stop publishing this many seconds after the first publish, even if
    /// not all events went out (0: no limit). Events not sent are not
    /// expected; `published` in the result tells how many went out.
    #[arg(long, default_value_t = 0.0)]
    pub time_limit: f64,

    /// Seconds allowed for one publish request.
    #[arg(long, default_value_t = 30.0)]
    pub publish_timeout: f64,

    /// Server process to measure (repeatable: CPU and RSS are summed, e.g.
    /// an nginx master and its workers).
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,

    /// The server's Prometheus endpoint (e.g. http://127.0.0.1:8080/metrics):
    /// read just before publishing and just after draining, and how much
    /// each `*_total` counter grew is reported.
    #[arg(long)]
    pub metrics_url: Option<String>,

    /// Name of this run in the output, e.g. the server's.
    #[arg(long, default_value = "")]
    pub label: String,

    /// Runtime worker threads of the tool (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,

    /// Seconds between progress lines on stderr; 0 for none.
    #[arg(long, default_value_t = 1.0)]
    pub progress: f64,
}

impl Args {
    /// Whether the hub routes by path: `{topic}` in the subscribe URL
    /// stands for the channel of a client's selection.
    pub fn routed(&self) -> bool {
        self.sub_url.iter().any(|u| u.contains(TOPIC))
    }

    /// The publish body template in force.
    pub fn body_template(&self) -> &str {
        match &self.pub_body_template {
            Some(t) => t,
            None if self.topics > 0 => TIDINGS_TOPIC_TEMPLATE,
            None => TIDINGS_TEMPLATE,
        }
    }
}

/// Refuses settings that would make a run meaningless or hang: no clients,
/// no events, a negative or infinite rate or duration, a malformed header,
/// selectors without topics, topics the body would not carry.
pub fn check(args: &Args) -> Result<(), String> {
    if args.clients == 0 || args.events == 0 {
        return Err("--clients and --events must be at least 1".into());
    }
    if args.http2 && (args.ca.is_none() || args.streams_per_connection == 0) {
        return Err("--http2 needs --ca and a --streams-per-connection of at least 1".into());
    }
    if args.pub_conns == 0 || args.connect_concurrency == 0 || args.connect_attempts == 0 {
        return Err(
            "--pub-conns, --connect-concurrency and --connect-attempts must be at least 1".into(),
        );
    }
    for (name, v) in [("--rate", args.rate), ("--time-limit", args.time_limit)] {
        if !(v >= 0.0 && v.is_finite()) {
            return Err(format!("{name} must be a non-negative number"));
        }
    }
    for (name, v) in [
        ("--connect-timeout", args.connect_timeout),
        ("--settle", args.settle),
        ("--drain-timeout", args.drain_timeout),
        ("--publish-timeout", args.publish_timeout),
        ("--progress", args.progress),
    ] {
        if !(0.0..1e9).contains(&v) {
            return Err(format!("{name} must be a non-negative number of seconds"));
        }
    }
    if args.reconnect_after == Some(0) {
        return Err("--reconnect-after must be at least 1".into());
    }
    if args.subscribe != Subscribe::All && args.topics == 0 {
        return Err("--subscribe exact or pattern needs --topics".into());
    }
    if args.topics > 0 && !args.routed() && !args.body_template().contains(TOPIC) {
        return Err("--topics needs {topic} in --pub-body-template".into());
    }
    // The server takes at most 32 selectors a stream.
    if !(1..=32).contains(&args.exact_per_client) {
        return Err("--exact-per-client must be 1 to 32".into());
    }
    if args.topic_prefix.contains(['"', '\\']) || args.topic_prefix.contains(char::is_control) {
        return Err(
            "--topic-prefix is put into JSON verbatim: no quotes, backslashes or controls".into(),
        );
    }
    if args.routed() || args.pub_url.iter().any(|u| u.contains(TOPIC)) {
        let exact_one = args.subscribe == Subscribe::Exact && args.exact_per_client == 1;
        if !(exact_one || args.subscribe == Subscribe::Pattern) {
            return Err(format!(
                "{TOPIC} in the URLs needs --subscribe exact with one topic a client, or pattern"
            ));
        }
        if !args.routed() || !args.pub_url.iter().all(|u| u.contains(TOPIC)) {
            return Err(format!("{TOPIC} must be in every --sub-url and --pub-url"));
        }
        let path_safe = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if args.pattern_channel.is_empty() || !path_safe(&args.pattern_channel) {
            return Err("--pattern-channel must be of [A-Za-z0-9._-]".into());
        }
    }
    for h in &args.pub_headers {
        if !h.contains(':') || h.contains(['\r', '\n']) {
            return Err(format!("--pub-header {h:?} is not 'Name: value'"));
        }
    }
    Ok(())
}
