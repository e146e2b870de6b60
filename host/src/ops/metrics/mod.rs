//! Counters and histograms exposed on `/metrics`, encoded by
//! `prometheus-client`.
//!
//! The server's own measurements (requests, probes, publish latency) live in
//! a [`Registry`] that [`Metrics`] owns. What other parts of the server
//! already count (the broker's counters, connected streams, the mode, the
//! bus, admission holds) is read at each scrape and encoded by a collector
//! over that snapshot, so nothing is counted twice and no gauge goes stale
//! between scrapes.
//!
//! # Format
//!
//! Both text formats Prometheus reads are served, chosen by the scrape's
//! `Accept` header ([`Format::negotiate`]): OpenMetrics 1.0 to a scraper
//! that prefers it (Prometheus asks for it first by default, and its
//! parser keeps counter metadata and units), the classic text format 0.0.4
//! to everyone else (`curl`, a browser, older agents, a Prometheus set to
//! prefer it). Both come from the same registry through the crate's two
//! encoders, so negotiating costs one header comparison. They differ only
//! as the formats do: OpenMetrics names a counter's family without
//! `_total` in `# HELP`/`# TYPE`, adds `# UNIT` lines, writes bucket bounds
//! as canonical floats (`le="1.0"`) and ends with `# EOF`; the series and
//! their values are the same.

use std::fmt;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, prometheus_text, text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::log::admission::Held;
use crate::log::bus::BusStatus;
use tidings_core::mode::Mode;
use tidings_core::{BrokerStats, RoutingStats};

/// Upper bounds, in seconds, of the probe latency histogram buckets.
const PROBE_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5];

/// Upper bounds, in seconds, of the publish latency histogram buckets: from
/// 0.1 ms (an append to the ring with nothing to wait for) to 10 s (a
/// durable write on a struggling store), 1–2.5–5 per decade.
const PUBLISH_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Which text exposition format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// The classic Prometheus text format, version 0.0.4.
    Prometheus,
}

impl Format {
    /// The format an `Accept` header prefers: OpenMetrics when it lists
    /// `application/openmetrics-text` with a quality at least that of
    /// `text/plain` (or a wildcard), the classic format otherwise, and with
    /// no header at all. Versions are not compared: every scraper that asks
    /// for OpenMetrics reads 1.0.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let (mut open_metrics, mut classic) = (0.0_f32, 0.0_f32);
        for range in accept.unwrap_or_default().split(',') {
            let mut params = range.split(';');
            let media = params.next().unwrap_or_default().trim();
            let quality = params
                .filter_map(|param| param.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, q)| q.trim().parse::<f32>().ok());
            let Some(quality) = quality else { continue };
            if media.eq_ignore_ascii_case("application/openmetrics-text") {
                open_metrics = open_metrics.max(quality);
            } else if ["text/plain", "text/*", "*/*"]
                .iter()
                .any(|m| media.eq_ignore_ascii_case(m))
            {
                classic = classic.max(quality);
            }
        }
        if open_metrics > 0.0 && open_metrics >= classic {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
        }
    }
}

/// Labels of `tidings_http_requests_total`: both come from bounded sets (a
/// route pattern, an HTTP status), so the family cannot grow without bound.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

/// The label of `tidings_runtime_workers`: which of the server's two
/// runtimes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RuntimeLabels {
    runtime: &'static str,
}

/// The server's own measurements (the broker keeps its own counters).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    runtime_workers: Family<RuntimeLabels, Gauge>,
    probe_seconds: Histogram,
    probe_failures: Counter,
    publish_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let runtime_workers = Family::<RuntimeLabels, Gauge>::default();
        let probe_seconds = Histogram::new(PROBE_BUCKETS);
        let probe_failures = Counter::default();
        let publish_seconds = Histogram::new(PUBLISH_BUCKETS);
        // The registry appends the full stop to each help text itself.
        let mut registry = Registry::default();
        registry.register(
            "tidings_probe_failures",
            "Failed or timed-out storage probes",
            probe_failures.clone(),
        );
        registry.register_with_unit(
            "tidings_probe",
            "Storage probe latency",
            Unit::Seconds,
            probe_seconds.clone(),
        );
        registry.register_with_unit(
            "tidings_publish_duration",
            "Time from a publish's arrival until its event is stored",
            Unit::Seconds,
            publish_seconds.clone(),
        );
        registry.register(
            "tidings_http_requests",
            "Answered HTTP requests",
            requests.clone(),
        );
        registry.register(
            "tidings_runtime_workers",
            "Worker threads of each runtime: requests (publishes and the API) and streams",
            runtime_workers.clone(),
        );
        Metrics {
            registry,
            requests,
            runtime_workers,
            probe_seconds,
            probe_failures,
            publish_seconds,
        }
    }
}

impl Metrics {
    /// Counts one answered request by route pattern and status.
    pub fn record_request(&self, route: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
    }

    /// Records how many worker threads `runtime` runs, as read off the
    /// runtime itself once it is built.
    pub fn record_runtime_workers(&self, runtime: &'static str, workers: usize) {
        let workers = i64::try_from(workers).unwrap_or(i64::MAX);
        self.runtime_workers
            .get_or_create(&RuntimeLabels { runtime })
            .set(workers);
    }

    /// Records one storage probe.
    pub fn record_probe(&self, took: Duration, ok: bool) {
        self.probe_seconds.observe(took.as_secs_f64());
        if !ok {
            self.probe_failures.inc();
        }
    }

    /// Records how long one publish took, from its arrival until its event
    /// was stored (durable where the history is), waits for admission
    /// included.
    pub fn record_publish(&self, took: Duration) {
        self.publish_seconds.observe(took.as_secs_f64());
    }

    /// The exposition in `format`, with the values only the rest of the
    /// server knows read now.
    pub fn render(&self, format: Format, snapshot: Snapshot) -> String {
        let mut now = Registry::default();
        now.register_collector(Box::new(snapshot));
        let mut out = String::with_capacity(4096);
        let written = match format {
            Format::OpenMetrics => text::encode_registry(&mut out, &now)
                .and_then(|()| text::encode(&mut out, &self.registry)),
            Format::Prometheus => prometheus_text::encode(&mut out, &now)
                .and_then(|()| prometheus_text::encode(&mut out, &self.registry)),
        };
        // A `String` never refuses a write, so this is a metric that failed
        // to encode; the scrape still gets every family written before it.
        if let Err(error) = written {
            tracing::error!(%error, "encoding /metrics failed");
        }
        out
    }
}

/// The values other parts of the server keep, read at one scrape.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Connected streams.
    pub clients: usize,
    /// The broker's counters.
    pub broker: BrokerStats,
    /// How targeted wake-ups are.
    pub routing: RoutingStats,
    /// The current mode.
    pub mode: Mode,
    /// The bus, when there is one.
    pub bus: Option<BusStatus>,
    /// Publishes held by admission.
    pub held: Held,
}

/// Writes one unlabelled gauge.
fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

/// Writes one unlabelled counter; `name` is without `_total`, which the
/// encoder adds where the format wants it.
fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: u64,
) -> fmt::Result {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, unit, counter.metric_type())?)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let e = &mut encoder;
        if let Some(bus) = self.bus {
            let up = u64::from(bus.up);
            gauge(
                e,
                "tidings_bus_up",
                "1 while the last bus probe succeeded.",
                up,
            )?;
            let (head, applied) = (bus.head, bus.applied);
            gauge(
                e,
                "tidings_bus_head_seq",
                "Seq of the newest entry on the bus.",
                head,
            )?;
            let help = "Seq of the last bus entry this node delivered.";
            gauge(e, "tidings_bus_applied_seq", help, applied)?;
            let help = "Bus entries this node has not delivered yet.";
            gauge(e, "tidings_bus_lag_events", help, bus.lag())?;
        }
        gauge(
            e,
            "tidings_sse_clients",
            "Connected SSE clients.",
            self.clients as u64,
        )?;
        let b = self.broker;
        counter(
            e,
            "tidings_events_published",
            "Events stored.",
            None,
            b.published,
        )?;
        let help = "Stored events handed to streams.";
        counter(e, "tidings_events_delivered", help, None, b.delivered)?;
        let help = "Reconnects resumed from the ring.";
        counter(e, "tidings_catch_ups", help, None, b.catch_ups)?;
        counter(
            e,
            "tidings_resets",
            "stream.reset notices sent.",
            None,
            b.resets,
        )?;
        let help = "Resets because a stream fell behind the ring.";
        counter(e, "tidings_lagged", help, None, b.lagged)?;
        counter(
            e,
            "tidings_wakeups",
            "Batched stream wake-ups.",
            None,
            b.wakeups,
        )?;
        let r = self.routing;
        let help = "Distinct stream filters (selectors, grants, types) in use.";
        gauge(e, "tidings_routes", help, r.routes as u64)?;
        let help = "Distinct stream selections (selectors, types) in use.";
        gauge(e, "tidings_route_groups", help, r.groups as u64)?;
        let help = "Streams woken for stored events.";
        counter(e, "tidings_stream_wakeups", help, None, r.rung)?;
        let help = "Stream wake-ups that found nothing to deliver.";
        counter(e, "tidings_idle_wakeups", help, None, r.idle_wakeups)?;
        let help = "Topic matcher evaluations made to route events.";
        counter(
            e,
            "tidings_pattern_evaluations",
            help,
            None,
            r.pattern_evaluations,
        )?;
        let help = "Publishes that waited for fan-out to catch up.";
        counter(e, "tidings_publish_held", help, None, self.held.publishes)?;
        let help = "Time publishes waited for fan-out to catch up.";
        let micros = Unit::Other("microseconds".into());
        counter(
            e,
            "tidings_publish_held",
            help,
            Some(&micros),
            self.held.micros,
        )?;
        let help = "Current mode (1 for the active one).";
        let mut family = e.encode_descriptor("tidings_mode", help, None, MetricType::Gauge)?;
        for m in [Mode::Normal, Mode::ReadOnly, Mode::Degraded] {
            let active = ConstGauge::new(u64::from(m == self.mode));
            active.encode(family.encode_family(&[("mode", m.as_str())])?)?;
        }
        Ok(())
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
        ["", ".well-known", "mercure"] => "/.well-known/mercure",
        _ => "static",
    }
}

#[cfg(test)]
mod tests;
