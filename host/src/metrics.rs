//! Counters and histograms exposed on `/metrics` in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::admission::Held;
use crate::bus::BusStatus;
use tidings_core::BrokerStats;
use tidings_core::mode::Mode;

/// Upper bounds, in seconds, of the probe latency histogram buckets.
const PROBE_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5];

/// The server's own measurements (the broker keeps its own counters).
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    probe_buckets: [AtomicU64; PROBE_BUCKETS.len()],
    probe_count: AtomicU64,
    probe_sum_us: AtomicU64,
    probe_failures: AtomicU64,
}

impl Metrics {
    /// Counts one answered request by route pattern and status.
    pub fn record_request(&self, route: &'static str, status: u16) {
        let mut map = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry((route, status)).or_default() += 1;
    }

    /// Records one storage probe.
    pub fn record_probe(&self, took: Duration, ok: bool) {
        let secs = took.as_secs_f64();
        for (bucket, bound) in self.probe_buckets.iter().zip(PROBE_BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.probe_count.fetch_add(1, Relaxed);
        self.probe_sum_us
            .fetch_add(took.as_micros() as u64, Relaxed);
        if !ok {
            self.probe_failures.fetch_add(1, Relaxed);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(
        &self,
        clients: usize,
        broker: BrokerStats,
        mode: Mode,
        bus: Option<BusStatus>,
        held: Held,
    ) -> String {
        let mut out = String::with_capacity(2048);
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        if let Some(bus) = bus {
            metric(
                "tidings_bus_up",
                "gauge",
                "1 while the last bus probe succeeded.",
                u64::from(bus.up),
            );
            metric(
                "tidings_bus_head_seq",
                "gauge",
                "Seq of the newest entry on the bus.",
                bus.head,
            );
            metric(
                "tidings_bus_applied_seq",
                "gauge",
                "Seq of the last bus entry this node delivered.",
                bus.applied,
            );
            metric(
                "tidings_bus_lag_events",
                "gauge",
                "Bus entries this node has not delivered yet.",
                bus.lag(),
            );
        }
        metric(
            "tidings_sse_clients",
            "gauge",
            "Connected SSE clients.",
            clients as u64,
        );
        metric(
            "tidings_events_published_total",
            "counter",
            "Events stored.",
            broker.published,
        );
        metric(
            "tidings_events_delivered_total",
            "counter",
            "Stored events handed to streams.",
            broker.delivered,
        );
        metric(
            "tidings_catch_ups_total",
            "counter",
            "Reconnects resumed from the ring.",
            broker.catch_ups,
        );
        metric(
            "tidings_resets_total",
            "counter",
            "stream.reset notices sent.",
            broker.resets,
        );
        metric(
            "tidings_lagged_total",
            "counter",
            "Resets because a stream fell behind the ring.",
            broker.lagged,
        );
        metric(
            "tidings_wakeups_total",
            "counter",
            "Batched stream wake-ups.",
            broker.wakeups,
        );
        metric(
            "tidings_publish_held_total",
            "counter",
            "Publishes that waited for fan-out to catch up.",
            held.publishes,
        );
        metric(
            "tidings_publish_held_microseconds_total",
            "counter",
            "Time publishes waited for fan-out to catch up.",
            held.micros,
        );
        metric(
            "tidings_probe_failures_total",
            "counter",
            "Failed or timed-out storage probes.",
            self.probe_failures.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP tidings_mode Current mode (1 for the active one).\n# TYPE tidings_mode gauge"
        );
        for m in [Mode::Normal, Mode::ReadOnly, Mode::Degraded] {
            let _ = writeln!(out, "tidings_mode{{mode=\"{m}\"}} {}", u8::from(m == mode));
        }
        let _ = writeln!(
            out,
            "# HELP tidings_probe_seconds Storage probe latency.\n# TYPE tidings_probe_seconds histogram"
        );
        for (bucket, bound) in self.probe_buckets.iter().zip(PROBE_BUCKETS) {
            let _ = writeln!(
                out,
                "tidings_probe_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.probe_count.load(Relaxed);
        let _ = writeln!(out, "tidings_probe_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "tidings_probe_seconds_sum {}",
            self.probe_sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "tidings_probe_seconds_count {count}");
        let _ = writeln!(
            out,
            "# HELP tidings_http_requests_total Answered HTTP requests.\n# TYPE tidings_http_requests_total counter"
        );
        let map = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((route, status), n) in map.iter() {
            let _ = writeln!(
                out,
                "tidings_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out
    }
}

/// The route pattern of a path, so metrics labels stay bounded.
pub fn route_label(path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", "api", "events"] => "/api/events",
        ["", "api", "publish"] => "/api/publish",
        ["", "api", "items"] => "/api/items",
        ["", "api", "items", "import"] => "/api/items/import",
        ["", "api", "items", _] => "/api/items/{part_number}",
        ["", "api", "items", _, "revisions"] => "/api/items/{part_number}/revisions",
        ["", "api", "admin", "read-only"] => "/api/admin/read-only",
        ["", "health"] => "/health",
        ["", "ready"] => "/ready",
        ["", "metrics"] => "/metrics",
        ["", "api", "openapi.json"] => "/api/openapi.json",
        _ => "static",
    }
}
