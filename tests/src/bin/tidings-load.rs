//! `tidings-load`: opens many SSE streams against a hub (Tidings, nchan, or
//! anything speaking SSE over HTTP/1.1), publishes numbered, timestamped
//! events over HTTP at a set rate, and reports what arrived: deliveries,
//! gaps, duplicates, order, publish-to-receive latency, and the CPU time
//! and memory of the server and of the tool itself.
//!
//! One run per invocation: a JSON object on stdout, progress and a summary
//! on stderr. See `--help` and `scripts/bench`.

#![recursion_limit = "256"]

#[path = "../load/mod.rs"]
mod load;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser as _;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tidings_core::wire::{ParsedEvent, Parser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};

use load::http::{BodyDecoder, Framing, Poster, Url, head_len, parse_head, sse_request};
use load::procfs::{self, Usage};
use load::tally::{Ledger, Outcome, Tally, seq_and_ts};

/// The publish body for Tidings' `POST /api/publish`.
const TIDINGS_TEMPLATE: &str = r#"{"type":"load","data":{"seq":{seq},"ts":{ts}}}"#;

/// Bytes read at once from one stream; also the most a response head may take.
const READ_BUF: usize = 8 * 1024;

/// Load generator for SSE hubs.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "tidings-load",
    version,
    about = "Load generator for SSE hubs: N streams, M numbered events at a rate; \
             reports deliveries, gaps, duplicates, order, latency, server CPU and RSS \
             (one JSON line on stdout, a summary on stderr)."
)]
struct Args {
    /// SSE endpoint the clients subscribe to; several (comma-separated, one
    /// per node) spread the clients over them, and a reconnecting client
    /// moves to the next one.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8080/api/events",
        value_delimiter = ','
    )]
    sub_url: Vec<String>,

    /// Endpoint the events are POSTed to; several (comma-separated) spread
    /// the publishing connections over them.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8080/api/publish",
        value_delimiter = ','
    )]
    pub_url: Vec<String>,

    /// Publish body; `{seq}` becomes the event's sequence number and `{ts}`
    /// its send time in µs since the tool started. For nchan use
    /// '{"seq":{seq},"ts":{ts}}'.
    #[arg(long, default_value = TIDINGS_TEMPLATE)]
    pub_body_template: String,

    /// Extra header of every publish request, as 'Name: value' (repeatable),
    /// e.g. 'Authorization: Bearer TOKEN'.
    #[arg(long = "pub-header")]
    pub_headers: Vec<String>,

    /// Content-Type of publish requests.
    #[arg(long, default_value = "application/json")]
    pub_content_type: String,

    /// Keep-alive connections publishing concurrently.
    #[arg(long, default_value_t = 4)]
    pub_conns: usize,

    /// Concurrent SSE clients.
    #[arg(short, long, default_value_t = 100)]
    clients: usize,

    /// Events to publish.
    #[arg(short = 'n', long, default_value_t = 2000)]
    events: u64,

    /// Target publish rate in events per second; 0 publishes as fast as the
    /// publish connections are answered.
    #[arg(short, long, default_value_t = 100.0)]
    rate: f64,

    /// Each client drops its stream after this many events and reconnects
    /// with `Last-Event-ID`.
    #[arg(long)]
    reconnect_after: Option<u64>,

    /// Connection attempts in flight at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,

    /// Attempts a client makes at its first connection before giving up.
    #[arg(long, default_value_t = 3)]
    connect_attempts: u32,

    /// Seconds allowed for one connection attempt (connect and response head).
    #[arg(long, default_value_t = 30.0)]
    connect_timeout: f64,

    /// Seconds to wait after the clients are connected, before publishing.
    #[arg(long, default_value_t = 0.5)]
    settle: f64,

    /// After the last publish, stop once this many seconds pass without a
    /// new delivery (or once everything arrived).
    #[arg(long, default_value_t = 5.0)]
    drain_timeout: f64,

    /// Stop publishing this many seconds after the first publish, even if
    /// not all events went out (0: no limit). Events not sent are not
    /// expected; `published` in the result tells how many went out.
    #[arg(long, default_value_t = 0.0)]
    time_limit: f64,

    /// Seconds allowed for one publish request.
    #[arg(long, default_value_t = 30.0)]
    publish_timeout: f64,

    /// Server process to measure (repeatable: CPU and RSS are summed, e.g.
    /// an nginx master and its workers).
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,

    /// Name of this run in the output, e.g. the server's.
    #[arg(long, default_value = "")]
    label: String,

    /// Runtime worker threads of the tool (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,

    /// Seconds between progress lines on stderr; 0 for none.
    #[arg(long, default_value_t = 1.0)]
    progress: f64,
}

/// State shared by every task of a run.
#[derive(Debug)]
struct Shared {
    args: Args,
    sub: Vec<Url>,
    start: Instant,
    ledger: Ledger,
    connect_gate: Semaphore,
    connected_now: AtomicU64,
    established: AtomicU64,
    connect_failures: AtomicU64,
    reconnects: AtomicU64,
    reconnect_failures: AtomicU64,
    disconnects: AtomicU64,
    /// First copies received, over all clients.
    delivered: AtomicU64,
    published: AtomicU64,
    publish_errors: AtomicU64,
    time_limited: std::sync::atomic::AtomicBool,
    latency: Mutex<Histogram<u64>>,
    publish_latency: Mutex<Histogram<u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    server_rss_peak: AtomicU64,
}

impl Shared {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn error(&self, what: String) {
        *self
            .errors
            .lock()
            .expect("errors lock")
            .entry(what)
            .or_default() += 1;
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Err(e) = check(&args) {
        eprintln!("tidings-load: {e}");
        return std::process::ExitCode::from(2);
    }
    let mut rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.threads);
        b
    };
    let rt = rt.enable_all().build().expect("tokio runtime");
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidings-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn check(args: &Args) -> Result<(), String> {
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

async fn run(args: Args) -> Result<(), String> {
    let start = Instant::now();
    let nofile = procfs::raise_nofile((args.clients + 1024) as libc::rlim_t)
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    if (nofile as usize) < args.clients + 64 {
        eprintln!(
            "tidings-load: warning: the open-file limit is {nofile}, too low for {} clients",
            args.clients
        );
    }
    let mut sub = Vec::new();
    for url in &args.sub_url {
        sub.push(Url::parse(url).await?);
    }
    let mut publish_urls = Vec::new();
    for url in &args.pub_url {
        publish_urls.push(Url::parse(url).await?);
    }
    let sh = Arc::new(Shared {
        sub,
        start,
        ledger: Ledger::new(args.events),
        connect_gate: Semaphore::new(args.connect_concurrency),
        connected_now: AtomicU64::new(0),
        established: AtomicU64::new(0),
        connect_failures: AtomicU64::new(0),
        reconnects: AtomicU64::new(0),
        reconnect_failures: AtomicU64::new(0),
        disconnects: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        published: AtomicU64::new(0),
        publish_errors: AtomicU64::new(0),
        time_limited: std::sync::atomic::AtomicBool::new(false),
        latency: Mutex::new(histogram()),
        publish_latency: Mutex::new(histogram()),
        errors: Mutex::new(BTreeMap::new()),
        server_rss_peak: AtomicU64::new(0),
        args,
    });
    let args = &sh.args;
    let server = |sh: &Shared| {
        let u = procfs::usage_of(&sh.args.server_pids);
        if let Some(u) = u {
            sh.server_rss_peak.fetch_max(u.rss_kb, Relaxed);
        }
        u
    };
    let me = || procfs::usage("self").unwrap_or_default();

    let phase = Arc::new(Mutex::new("connect"));
    let (stop_tx, stop_rx) = watch::channel(false);
    let reporter = tokio::spawn(report_progress(
        Arc::clone(&sh),
        Arc::clone(&phase),
        stop_rx.clone(),
    ));

    // Idle, then connect every client.
    let server_idle = server(&sh);
    let connect_start = Instant::now();
    let mut clients = Vec::with_capacity(args.clients);
    for index in 0..args.clients {
        clients.push(tokio::spawn(client(
            Arc::clone(&sh),
            stop_rx.clone(),
            index,
        )));
    }
    loop {
        let settled = sh.established.load(Relaxed) + sh.connect_failures.load(Relaxed);
        if settled >= args.clients as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_s = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    let established = sh.established.load(Relaxed);
    let server_connected = server(&sh);
    if established == 0 {
        let _ = stop_tx.send(true);
        let _ = reporter.await;
        return Err(format!(
            "no client could connect to {}: {:?}",
            args.sub_url.join(","),
            sh.errors.lock().expect("errors lock")
        ));
    }

    // Publish, then wait for the deliveries to drain.
    *phase.lock().expect("phase lock") = "publish";
    let server_before = server(&sh);
    let me_before = me();
    let machine_before = procfs::machine_busy_s();
    let publish_start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    // The publishers get a thread of their own: sharing the readers' threads,
    // a publish would wait for a tool busy reading thousands of streams, and
    // the latency measured would be the tool's, not the server's.
    let posters: Vec<Poster> = (0..args.pub_conns)
        .map(|i| {
            let url = &publish_urls[i % publish_urls.len()];
            Poster::new(url, &args.pub_content_type, &args.pub_headers)
        })
        .collect();
    let publishing = {
        let sh = Arc::clone(&sh);
        std::thread::Builder::new()
            .name("publishers".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("publisher runtime: {e}"))?;
                rt.block_on(async move {
                    let tasks: Vec<_> = posters
                        .into_iter()
                        .map(|poster| {
                            tokio::spawn(publisher(
                                Arc::clone(&sh),
                                poster,
                                Arc::clone(&next),
                                publish_start,
                            ))
                        })
                        .collect();
                    for t in tasks {
                        t.await.map_err(|e| format!("publisher failed: {e}"))?;
                    }
                    Ok::<(), String>(())
                })
            })
            .map_err(|e| format!("publisher thread: {e}"))?
    };
    tokio::task::spawn_blocking(move || publishing.join())
        .await
        .map_err(|e| format!("publisher thread: {e}"))?
        .map_err(|_| "publisher thread panicked".to_string())??;
    let publish_s = publish_start.elapsed().as_secs_f64();

    *phase.lock().expect("phase lock") = "drain";
    let expected = established * sh.ledger.ok_count();
    let drain_timeout = Duration::from_secs_f64(args.drain_timeout);
    let mut last = (sh.delivered.load(Relaxed), Instant::now());
    while last.0 < expected && last.1.elapsed() < drain_timeout {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = sh.delivered.load(Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    let run_s = publish_start.elapsed().as_secs_f64();
    let server_after = server(&sh);
    let me_after = me();
    let machine_after = procfs::machine_busy_s();

    // Stop and add up.
    let _ = stop_tx.send(true);
    let _ = reporter.await;
    let mut total = Tally::default();
    let mut missing = 0;
    for c in clients {
        let (tally, ok) = c.await.map_err(|e| format!("client task failed: {e}"))?;
        if ok {
            missing += tally.missing(&sh.ledger);
            total.unique += tally.unique;
            total.duplicates += tally.duplicates;
            total.out_of_order += tally.out_of_order;
            total.foreign += tally.foreign;
            total.other += tally.other;
        }
    }

    let result = Report {
        sh: &sh,
        established,
        connect_s,
        publish_s,
        run_s,
        expected,
        delivered: total.unique,
        missing,
        tally: &total,
        server: [server_idle, server_connected, server_before, server_after],
        me: [me_before, me_after],
        machine_busy_s: machine_before.zip(machine_after).map(|(b, a)| a - b),
    }
    .json();
    println!("{result}");
    std::io::stdout().flush().ok();
    eprint!("{}", summary(&result));
    Ok(())
}

/// One SSE client: connects, reads, reconnects with `Last-Event-ID` when
/// told to (`--reconnect-after`) or when the stream breaks, until stopped.
/// Returns its tally and whether it ever connected.
async fn client(
    sh: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut node: usize,
) -> (Tally, bool) {
    let args = &sh.args;
    let mut tally = Tally::new(args.events);
    let mut buf = vec![0u8; READ_BUF];
    let mut events: Vec<ParsedEvent> = Vec::new();
    let mut latencies: Vec<u64> = Vec::new();
    let mut last_id: Option<String> = None;
    let mut established = false;
    let mut failures = 0u32;
    let timeout = Duration::from_secs_f64(args.connect_timeout);
    let mut first = true;
    loop {
        if *stop.borrow() {
            break;
        }
        // Each reconnect (or retry) goes to the next node, if several.
        if !first {
            node += 1;
        }
        first = false;
        let opened = tokio::select! {
            r = tokio::time::timeout(timeout, open(&sh, node, last_id.as_deref(), &mut buf)) => {
                r.unwrap_or_else(|_| Err("connect: timed out".into()))
            }
            _ = stop.changed() => break,
        };
        let (mut stream, mut body, framing) = match opened {
            Ok(o) => o,
            Err(e) => {
                sh.error(e);
                failures += 1;
                if established {
                    sh.reconnect_failures.fetch_add(1, Relaxed);
                } else if failures >= args.connect_attempts {
                    sh.connect_failures.fetch_add(1, Relaxed);
                    break;
                }
                let backoff = Duration::from_millis(100 * u64::from(failures.min(20)));
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => continue,
                    _ = stop.changed() => break,
                }
            }
        };
        if established {
            sh.reconnects.fetch_add(1, Relaxed);
        } else {
            established = true;
            sh.established.fetch_add(1, Relaxed);
        }
        failures = 0;
        sh.connected_now.fetch_add(1, Relaxed);
        let mut parser = Parser::with_max_line(1 << 20);
        let mut decoder = BodyDecoder::new(framing);
        let mut since_connect = 0u64;
        let planned = loop {
            let now = sh.now_us();
            let mut bad = None;
            let fed = decoder.feed(&buf[body.clone()], |payload| {
                if bad.is_none()
                    && let Err(e) = parser.feed(payload, &mut events)
                {
                    bad = Some(e);
                }
            });
            for ev in events.drain(..) {
                let Some((seq, ts)) = seq_and_ts(&ev.data) else {
                    tally.other += 1;
                    continue;
                };
                since_connect += 1;
                if tally.record(seq, &sh.ledger) == Outcome::First {
                    latencies.push(now.saturating_sub(ts));
                }
            }
            if !latencies.is_empty() {
                sh.delivered.fetch_add(latencies.len() as u64, Relaxed);
                let mut h = sh.latency.lock().expect("latency lock");
                for l in latencies.drain(..) {
                    h.saturating_record(l.max(1));
                }
            }
            if let Err(e) = fed {
                sh.error(format!("stream: {e}"));
                break false;
            }
            if let Some(e) = bad {
                sh.error(format!("stream: {e}"));
                break false;
            }
            if decoder.done() {
                sh.error("stream: the response ended".into());
                break false;
            }
            if args.reconnect_after.is_some_and(|k| since_connect >= k) {
                break true;
            }
            let read = tokio::select! {
                r = stream.read(&mut buf) => r,
                _ = stop.changed() => {
                    sh.connected_now.fetch_sub(1, Relaxed);
                    return (tally, established);
                }
            };
            match read {
                Ok(0) => {
                    sh.error("stream: closed by the server".into());
                    break false;
                }
                Ok(n) => body = 0..n,
                Err(e) => {
                    sh.error(format!("stream: {e}"));
                    break false;
                }
            }
        };
        sh.connected_now.fetch_sub(1, Relaxed);
        if !planned {
            sh.disconnects.fetch_add(1, Relaxed);
        }
        if !parser.last_event_id().is_empty() {
            last_id = Some(parser.last_event_id().to_owned());
        }
        drop(stream);
    }
    (tally, established)
}

/// Connects, sends the SSE request and reads the response head into `buf`;
/// returns the stream, where body bytes already read lie in `buf`, and the
/// body's framing.
async fn open(
    sh: &Shared,
    node: usize,
    last_id: Option<&str>,
    buf: &mut [u8],
) -> Result<(TcpStream, std::ops::Range<usize>, Framing), String> {
    let _permit = sh.connect_gate.acquire().await.expect("gate never closes");
    let url = &sh.sub[node % sh.sub.len()];
    let mut stream = TcpStream::connect(url.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(&sse_request(url, last_id))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            return Err("connect: response head too large".into());
        }
        let n = stream
            .read(&mut buf[filled..])
            .await
            .map_err(|e| format!("connect: {e}"))?;
        if n == 0 {
            return Err("connect: closed before a response".into());
        }
        filled += n;
        if let Some(len) = head_len(&buf[..filled]) {
            let head = parse_head(&buf[..len]).map_err(|e| format!("connect: {e}"))?;
            if head.status != 200 {
                return Err(format!("connect: status {}", head.status));
            }
            return Ok((stream, len..filled, head.framing));
        }
    }
}

/// One publishing connection: takes the next seq, waits for its slot in
/// the schedule (if paced), sends it, records the outcome.
async fn publisher(sh: Arc<Shared>, mut poster: Poster, next: Arc<AtomicU64>, start: Instant) {
    let args = &sh.args;
    let timeout = Duration::from_secs_f64(args.publish_timeout);
    let deadline =
        (args.time_limit > 0.0).then(|| start + Duration::from_secs_f64(args.time_limit));
    loop {
        let seq = next.fetch_add(1, Relaxed);
        if seq >= args.events {
            return;
        }
        if args.rate > 0.0 {
            let at = start + Duration::from_secs_f64(seq as f64 / args.rate);
            tokio::time::sleep_until(at.into()).await;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            sh.time_limited.store(true, Relaxed);
            next.store(args.events, Relaxed);
            return;
        }
        sh.ledger.sending(seq);
        let ts = sh.now_us();
        let body = args
            .pub_body_template
            .replace("{seq}", &seq.to_string())
            .replace("{ts}", &ts.to_string());
        let sent = Instant::now();
        let outcome = tokio::time::timeout(timeout, poster.post(body.as_bytes())).await;
        let took = sent.elapsed().as_micros() as u64;
        let ok = match outcome {
            Ok(Ok(status)) if (200..300).contains(&status) => true,
            Ok(Ok(status)) => {
                sh.error(format!("publish: status {status}"));
                false
            }
            Ok(Err(e)) => {
                sh.error(format!("publish: {e}"));
                false
            }
            Err(_) => {
                sh.error("publish: timed out".into());
                poster.reset();
                false
            }
        };
        if ok {
            sh.published.fetch_add(1, Relaxed);
            sh.publish_latency
                .lock()
                .expect("latency lock")
                .saturating_record(took.max(1));
        } else {
            sh.publish_errors.fetch_add(1, Relaxed);
        }
        sh.ledger.answered(seq, ok);
    }
}

/// Samples the server's RSS for its peak, and prints a progress line.
async fn report_progress(
    sh: Arc<Shared>,
    phase: Arc<Mutex<&'static str>>,
    mut stop: watch::Receiver<bool>,
) {
    let tty = std::io::stderr().is_terminal();
    let every = sh.args.progress;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut last_print = Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let rss = procfs::usage_of(&sh.args.server_pids).map(|u| u.rss_kb);
        if let Some(rss) = rss {
            sh.server_rss_peak.fetch_max(rss, Relaxed);
        }
        if every <= 0.0 || last_print.elapsed().as_secs_f64() < every {
            continue;
        }
        last_print = Instant::now();
        let a = &sh.args;
        let line = format!(
            "[{}] {:5.1}s {:7} conn {}/{} pub {}/{} deliv {} rss {}",
            if a.label.is_empty() { "load" } else { &a.label },
            sh.start.elapsed().as_secs_f64(),
            *phase.lock().expect("phase lock"),
            sh.connected_now.load(Relaxed),
            a.clients,
            sh.published.load(Relaxed) + sh.publish_errors.load(Relaxed),
            a.events,
            sh.delivered.load(Relaxed),
            rss.map_or("-".to_owned(), |kb| format!("{:.1}MB", kb as f64 / 1024.0)),
        );
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }
    if tty && every > 0.0 {
        eprint!("\r\x1b[2K");
    }
}

/// Everything a run measured.
struct Report<'a> {
    sh: &'a Shared,
    established: u64,
    connect_s: f64,
    publish_s: f64,
    run_s: f64,
    expected: u64,
    delivered: u64,
    missing: u64,
    tally: &'a Tally,
    /// Server usage: idle, connected, before publishing, after draining.
    server: [Option<Usage>; 4],
    /// The tool's usage before publishing and after draining.
    me: [Usage; 2],
    /// CPU seconds the whole machine was busy over the same time.
    machine_busy_s: Option<f64>,
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

impl Report<'_> {
    fn json(&self) -> Value {
        let sh = self.sh;
        let a = &sh.args;
        let lat = sh.latency.lock().expect("latency lock");
        let publat = sh.publish_latency.lock().expect("latency lock");
        let q = |h: &Histogram<u64>, p: f64| (!h.is_empty()).then(|| h.value_at_quantile(p));
        let per = |cpu_s: f64| {
            (self.delivered > 0).then(|| round(cpu_s * 1e6 / self.delivered as f64, 3))
        };
        let published = sh.published.load(Relaxed);
        let [idle, connected, before, after] = self.server;
        let server_cpu = before.zip(after).map(|(b, a)| a.cpu_s - b.cpu_s);
        let server_connect_cpu = idle.zip(connected).map(|(i, c)| c.cpu_s - i.cpu_s);
        let per_conn = idle.zip(connected).and_then(|(i, c)| {
            (self.established > 0).then(|| {
                round(
                    (c.rss_kb as f64 - i.rss_kb as f64) / self.established as f64,
                    2,
                )
            })
        });
        let me_cpu = self.me[1].cpu_s - self.me[0].cpu_s;
        let peak = sh.server_rss_peak.load(Relaxed);
        let errors: serde_json::Map<String, Value> = sh
            .errors
            .lock()
            .expect("errors lock")
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        json!({
            "label": a.label,
            "sub_url": a.sub_url,
            "pub_url": a.pub_url,
            "unix_time": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            "clients": a.clients,
            "events": a.events,
            "rate": a.rate,
            "reconnect_after": a.reconnect_after,
            "pub_conns": a.pub_conns,
            "threads": a.threads,
            "connected": self.established,
            "connect_failures": sh.connect_failures.load(Relaxed),
            "connect_s": round(self.connect_s, 3),
            "published": published,
            "publish_errors": sh.publish_errors.load(Relaxed),
            "time_limited": sh.time_limited.load(Relaxed),
            "publish_s": round(self.publish_s, 3),
            "publish_rate": round(published as f64 / self.publish_s.max(1e-9), 1),
            "publish_latency_p50_us": q(&publat, 0.5),
            "publish_latency_p99_us": q(&publat, 0.99),
            "publish_latency_max_us": (!publat.is_empty()).then(|| publat.max()),
            "run_s": round(self.run_s, 3),
            "expected": self.expected,
            "delivered": self.delivered,
            "gaps": self.missing,
            "duplicates": self.tally.duplicates,
            "out_of_order": self.tally.out_of_order,
            "foreign": self.tally.foreign,
            "other_events": self.tally.other,
            "reconnects": sh.reconnects.load(Relaxed),
            "reconnect_failures": sh.reconnect_failures.load(Relaxed),
            "disconnects": sh.disconnects.load(Relaxed),
            "latency_p50_us": q(&lat, 0.5),
            "latency_p90_us": q(&lat, 0.9),
            "latency_p99_us": q(&lat, 0.99),
            "latency_max_us": (!lat.is_empty()).then(|| lat.max()),
            "latency_mean_us": (!lat.is_empty()).then(|| round(lat.mean(), 1)),
            "server_pids": a.server_pids,
            "server_cpu_connect_s": server_connect_cpu.map(|c| round(c, 3)),
            "server_cpu_s": server_cpu.map(|c| round(c, 3)),
            "server_cpu_us_per_delivery": server_cpu.and_then(per),
            "server_rss_idle_kb": idle.map(|u| u.rss_kb),
            "server_rss_connected_kb": connected.map(|u| u.rss_kb),
            "server_rss_peak_kb": (peak > 0).then_some(peak),
            "server_rss_kb_per_connection": per_conn,
            "tool_cpu_s": round(me_cpu, 3),
            "tool_cpu_us_per_delivery": per(me_cpu),
            "machine_busy_cpu_s": self.machine_busy_s.map(|c| round(c, 3)),
            "other_cpu_s": self.machine_busy_s.map(|m| {
                round((m - me_cpu - server_cpu.unwrap_or(0.0)).max(0.0), 3)
            }),
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "tool_rss_peak_kb": procfs::status_kb("self", "VmHWM:").ok().flatten(),
            "errors": errors,
        })
    }
}

/// The human summary of a run's JSON.
fn summary(r: &Value) -> String {
    let n = |k: &str| r[k].as_f64();
    let ms = |k: &str| n(k).map_or("-".into(), |us| format!("{:.2} ms", us / 1000.0));
    let f = |k: &str, places: usize| n(k).map_or("-".into(), |v| format!("{v:.places$}"));
    let mb = |k: &str| n(k).map_or("-".into(), |kb| format!("{:.1} MB", kb / 1024.0));
    let rate = match n("rate") {
        Some(x) if x > 0.0 => format!("{x}/s"),
        _ => "max".into(),
    };
    let reconnect = r["reconnect_after"]
        .as_u64()
        .map_or("never".into(), |k| format!("every {k} events"));
    let expected = n("expected").unwrap_or(0.0);
    let share = if expected > 0.0 {
        100.0 * n("delivered").unwrap_or(0.0) / expected
    } else {
        0.0
    };
    let mut out = String::new();
    let label = r["label"].as_str().unwrap_or_default();
    out.push_str(&format!(
        "\n== {label} {} clients, {} events at {rate}, reconnect {reconnect}\n",
        r["clients"], r["events"]
    ));
    let rows = [
        (
            "connections",
            format!(
                "{} established, {} failed, in {} s",
                r["connected"],
                r["connect_failures"],
                f("connect_s", 2)
            ),
        ),
        (
            "published",
            format!(
                "{} ok{}, {} errors, {}/s over {} s; publish latency p50 {}, p99 {}",
                r["published"],
                if r["time_limited"].as_bool() == Some(true) {
                    " (stopped by --time-limit)"
                } else {
                    ""
                },
                r["publish_errors"],
                f("publish_rate", 1),
                f("publish_s", 2),
                ms("publish_latency_p50_us"),
                ms("publish_latency_p99_us")
            ),
        ),
        (
            "delivered",
            format!(
                "{} of {} ({share:.2}%), gaps {}, duplicates {}, out of order {}, foreign {}",
                r["delivered"],
                r["expected"],
                r["gaps"],
                r["duplicates"],
                r["out_of_order"],
                r["foreign"]
            ),
        ),
        (
            "streams",
            format!(
                "{} reconnects, {} failed reconnects, {} unplanned disconnects",
                r["reconnects"], r["reconnect_failures"], r["disconnects"]
            ),
        ),
        (
            "latency",
            format!(
                "p50 {}, p90 {}, p99 {}, max {}",
                ms("latency_p50_us"),
                ms("latency_p90_us"),
                ms("latency_p99_us"),
                ms("latency_max_us")
            ),
        ),
        (
            "server cpu",
            format!(
                "{} s while publishing ({} µs per delivery), {} s while connecting",
                f("server_cpu_s", 2),
                f("server_cpu_us_per_delivery", 2),
                f("server_cpu_connect_s", 2)
            ),
        ),
        (
            "server rss",
            format!(
                "idle {}, connected {} ({} KB per connection), peak {}",
                mb("server_rss_idle_kb"),
                mb("server_rss_connected_kb"),
                f("server_rss_kb_per_connection", 2),
                mb("server_rss_peak_kb")
            ),
        ),
        (
            "tool",
            format!(
                "cpu {} s ({} µs per delivery), peak rss {}",
                f("tool_cpu_s", 2),
                f("tool_cpu_us_per_delivery", 2),
                mb("tool_rss_peak_kb")
            ),
        ),
        (
            "machine",
            format!(
                "{} cores; {} CPU s busy while publishing, {} s of it by other processes",
                r["cores"],
                f("machine_busy_cpu_s", 2),
                f("other_cpu_s", 2)
            ),
        ),
    ];
    for (k, v) in rows {
        out.push_str(&format!("  {k:<12} {v}\n"));
    }
    if let Some(errors) = r["errors"].as_object().filter(|e| !e.is_empty()) {
        out.push_str("  errors\n");
        for (k, v) in errors {
            out.push_str(&format!("    {v:>7} × {k}\n"));
        }
    }
    out
}
