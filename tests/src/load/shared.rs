//! The state every task of a run shares: the settings, the topic plan, the
//! publisher's ledger, which clients are up, the counters the progress line and the report read, and the
//! latency histograms. Counters are relaxed atomics: each is read on its
//! own, and the report reads them after every task has stopped.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Instant;

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;

use super::args::Args;
use super::http::Url;
use super::tally::Ledger;
use super::topics::Plan;

/// State shared by every task of a run.
#[derive(Debug)]
pub struct Shared {
    /// The command line.
    pub args: Args,
    /// The SSE endpoints, resolved; client `i` starts on `sub[i % len]`.
    pub sub: Vec<Url>,
    /// When the tool started: publish timestamps (`{ts}`) count from here.
    pub start: Instant,
    /// Which topic each event goes to and what each client selects.
    pub plan: Plan,
    /// What the publishers know about each seq, read by every client.
    pub ledger: Ledger,
    /// For each client: whether it connected at least once, so that what
    /// the connected clients are due can be counted while they still run.
    pub up: Vec<AtomicBool>,
    /// Bounds the connection attempts in flight (`--connect-concurrency`).
    pub connect_gate: Semaphore,
    /// Streams open at this moment.
    pub connected_now: AtomicU64,
    /// Clients that connected at least once.
    pub established: AtomicU64,
    /// Clients that gave up on their first connection.
    pub connect_failures: AtomicU64,
    /// Streams opened again after the first.
    pub reconnects: AtomicU64,
    /// Failed attempts to open a stream again.
    pub reconnect_failures: AtomicU64,
    /// Streams that ended without the client asking.
    pub disconnects: AtomicU64,
    /// First copies received, over all clients.
    pub delivered: AtomicU64,
    /// Publishes answered with a 2xx.
    pub published: AtomicU64,
    /// Publishes that failed or were refused.
    pub publish_errors: AtomicU64,
    /// Whether `--time-limit` stopped the publishers early.
    pub time_limited: AtomicBool,
    /// Publish-to-receive latency of first copies, in µs.
    pub latency: Mutex<Histogram<u64>>,
    /// Time a publish request took to be answered, in µs.
    pub publish_latency: Mutex<Histogram<u64>>,
    /// Errors by their message, counted.
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// The highest resident set of the server seen, in KiB.
    pub server_rss_peak: AtomicU64,
    /// With `--http2`: the clients that carry the streams.
    pub h2: Option<super::h2::H2Pool>,
}

impl Shared {
    /// Microseconds since the tool started.
    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Counts one occurrence of the error `what`.
    pub fn error(&self, what: String) {
        *self
            .errors
            .lock()
            .expect("errors lock")
            .entry(what)
            .or_default() += 1;
    }
}

/// An empty latency histogram.
pub fn histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}
