//! The command line of `tidings-load`, and the checks of it that clap's
//! attributes cannot say (non-zero counts, finite rates, header syntax).

/// The publish body for Tidings' `POST /api/publish`.
pub const TIDINGS_TEMPLATE: &str = r#"{"type":"load","data":{"seq":{seq},"ts":{ts}}}"#;

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

    /// Publish body; `{seq}` becomes the event's sequence number and `{ts}`
    /// its send time in µs since the tool started. For nchan use
    /// '{"seq":{seq},"ts":{ts}}'.
    #[arg(long, default_value = TIDINGS_TEMPLATE)]
    pub pub_body_template: String,

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

/// Refuses settings that would make a run meaningless or hang: no clients,
/// no events, a negative or infinite rate or duration, a malformed header.
pub fn check(args: &Args) -> Result<(), String> {
    if args.clients == 0 || args.events == 0 {
        return Err("--clients and --events must be at least 1".into());
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
    for h in &args.pub_headers {
        if !h.contains(':') || h.contains(['\r', '\n']) {
            return Err(format!("--pub-header {h:?} is not 'Name: value'"));
        }
    }
    Ok(())
}
