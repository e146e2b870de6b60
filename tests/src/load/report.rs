//! What a run measured: the JSON object `tidings-load` prints on stdout
//! (one line, the fields `scripts/bench` and `bench-chart` read) and the
//! human summary it prints on stderr.

use std::sync::atomic::Ordering::Relaxed;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::args::Subscribe;
use super::metrics::Counters;
use super::procfs::{self, Usage};
use super::shared::Shared;
use super::tally::Tally;

/// Everything a run measured.
#[derive(Debug)]
pub struct Report<'a> {
    /// The counters and histograms of the run.
    pub sh: &'a Shared,
    /// Clients that connected at least once.
    pub established: u64,
    /// Seconds until every client connected or gave up.
    pub connect_s: f64,
    /// Seconds from the first publish to the last answer.
    pub publish_s: f64,
    /// Seconds from the first publish to the end of the drain.
    pub run_s: f64,
    /// First copies due: connected clients × events the server accepted.
    pub expected: u64,
    /// First copies received.
    pub delivered: u64,
    /// Accepted events not received, summed over the connected clients.
    pub missing: u64,
    /// Of those, the ones of streams never told to resynchronise.
    pub silent: u64,
    /// Streams that got at least one `stream.reset`.
    pub reset_streams: u64,
    /// The clients' tallies, added up.
    pub tally: &'a Tally,
    /// Server usage: idle, connected, before publishing, after draining.
    pub server: [Option<Usage>; 4],
    /// The tool's usage before publishing and after draining.
    pub me: [Usage; 2],
    /// CPU seconds the whole machine was busy over the same time.
    pub machine_busy_s: Option<f64>,
    /// How much the server's counters grew over the same time, when
    /// `--metrics-url` was given and both scrapes answered.
    pub counters: Option<Counters>,
}

/// `x` rounded to `places` decimals, so the JSON carries no float noise.
fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

impl Report<'_> {
    /// The run as one JSON object, the line `scripts/bench` collects.
    pub fn json(&self) -> Value {
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
        let plan = &sh.plan;
        let counters = self.counters.as_ref().map(|c| {
            c.iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
        });
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
            "topics": a.topics,
            "topic_seed": a.seed,
            "subscribe": format!("{:?}", a.subscribe).to_lowercase(),
            "exact_per_client": (a.subscribe == Subscribe::Exact).then_some(a.exact_per_client),
            "pattern": (a.subscribe == Subscribe::Pattern).then_some(&a.pattern),
            "pattern_topics": (a.subscribe == Subscribe::Pattern).then(|| plan.pattern_topics()),
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
            "deliveries_per_s": round(self.delivered as f64 / self.run_s.max(1e-9), 1),
            "gaps": self.missing,
            "silent_gaps": self.silent,
            "resets": self.tally.resets,
            "reset_streams": self.reset_streams,
            "duplicates": self.tally.duplicates,
            "out_of_order": self.tally.out_of_order,
            "foreign": self.tally.foreign,
            "strays": self.tally.strays,
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
            "server_counters": counters,
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
pub fn summary(r: &Value) -> String {
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
    let topics = match r["topics"].as_u64() {
        Some(n) if n > 0 => {
            let chose = match r["subscribe"].as_str() {
                Some("exact") => match r["exact_per_client"].as_u64() {
                    Some(1) => "one exact topic each".into(),
                    k => format!("{} exact topics each", k.unwrap_or(0)),
                },
                Some("pattern") => format!(
                    "the pattern {} ({} of the topics)",
                    r["pattern"].as_str().unwrap_or_default(),
                    r["pattern_topics"]
                ),
                _ => "every topic".into(),
            };
            format!("{n}, one per event; clients select {chose}")
        }
        _ => "none; every client is due every event".into(),
    };
    let counters = r["server_counters"].as_object().map_or("-".into(), |c| {
        let grown: Vec<String> = c
            .iter()
            .filter(|(k, v)| k.contains("wake") && v.as_f64().is_some_and(|v| v > 0.0))
            .map(|(k, v)| format!("{k} +{v}"))
            .collect();
        if grown.is_empty() {
            "no wake-up counter grew".into()
        } else {
            grown.join(", ")
        }
    });
    let rows = [
        ("topics", topics),
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
                "{} of {} ({share:.2}%, {}/s), gaps {} ({} silent, {} streams reset), \
                 duplicates {}, strays {}, out of order {}, foreign {}",
                r["delivered"],
                r["expected"],
                f("deliveries_per_s", 0),
                r["gaps"],
                r["silent_gaps"],
                r["reset_streams"],
                r["duplicates"],
                r["strays"],
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
        ("counters", counters),
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
