//! The exposition, in both formats, from a known server state.

use super::*;

/// A server state with every scrape-time family non-zero and distinct.
fn render(metrics: &Metrics, format: Format) -> String {
    let broker = BrokerStats {
        published: 7,
        delivered: 21,
        catch_ups: 2,
        resets: 3,
        lagged: 1,
        wakeups: 9,
    };
    let bus = BusStatus {
        up: true,
        head: 12,
        applied: 10,
    };
    let held = Held {
        publishes: 4,
        micros: 1500,
    };
    let routing = RoutingStats {
        routes: 6,
        groups: 4,
        recorded: 30,
        rung: 40,
        idle_wakeups: 1,
        pattern_evaluations: 11,
    };
    let snapshot = Snapshot {
        clients: 5,
        broker,
        routing,
        mode: Mode::ReadOnly,
        bus: Some(bus),
        held,
    };
    metrics.render(format, snapshot)
}

/// The value of the sample `series` (name and labels as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("numeric sample"))
}

fn measured() -> Metrics {
    let metrics = Metrics::default();
    metrics.record_request("/api/publish", 202);
    metrics.record_request("/api/publish", 202);
    metrics.record_request("/api/publish", 400);
    metrics.record_probe(Duration::from_micros(1800), true);
    metrics.record_probe(Duration::from_millis(700), false);
    metrics.record_runtime_workers("requests", 1);
    metrics.record_runtime_workers("streams", 3);
    metrics
}

#[test]
fn classic_text_keeps_names_types_labels_and_values() {
    let text = render(&measured(), Format::Prometheus);
    assert!(!text.contains("# EOF"), "{text}");
    for (kind, name) in [
        ("gauge", "tidings_bus_up"),
        ("gauge", "tidings_bus_lag_events"),
        ("gauge", "tidings_sse_clients"),
        ("gauge", "tidings_mode"),
        ("gauge", "tidings_runtime_workers"),
        ("counter", "tidings_events_published_total"),
        ("counter", "tidings_publish_held_microseconds_total"),
        ("counter", "tidings_probe_failures_total"),
        ("counter", "tidings_http_requests_total"),
        ("histogram", "tidings_probe_seconds"),
        ("histogram", "tidings_publish_duration_seconds"),
    ] {
        assert!(
            text.contains(&format!("\n# TYPE {name} {kind}\n")),
            "{name}:\n{text}"
        );
    }
    for (series, value) in [
        ("tidings_bus_up", 1.0),
        ("tidings_bus_head_seq", 12.0),
        ("tidings_bus_applied_seq", 10.0),
        ("tidings_bus_lag_events", 2.0),
        ("tidings_sse_clients", 5.0),
        ("tidings_events_published_total", 7.0),
        ("tidings_events_delivered_total", 21.0),
        ("tidings_catch_ups_total", 2.0),
        ("tidings_resets_total", 3.0),
        ("tidings_lagged_total", 1.0),
        ("tidings_wakeups_total", 9.0),
        ("tidings_routes", 6.0),
        ("tidings_route_groups", 4.0),
        ("tidings_stream_wakeups_total", 40.0),
        ("tidings_idle_wakeups_total", 1.0),
        ("tidings_pattern_evaluations_total", 11.0),
        ("tidings_publish_held_total", 4.0),
        ("tidings_publish_held_microseconds_total", 1500.0),
        ("tidings_probe_failures_total", 1.0),
        (r#"tidings_mode{mode="normal"}"#, 0.0),
        (r#"tidings_mode{mode="read_only"}"#, 1.0),
        (r#"tidings_mode{mode="degraded"}"#, 0.0),
        (r#"tidings_runtime_workers{runtime="requests"}"#, 1.0),
        (r#"tidings_runtime_workers{runtime="streams"}"#, 3.0),
        (
            r#"tidings_http_requests_total{route="/api/publish",status="202"}"#,
            2.0,
        ),
        (
            r#"tidings_http_requests_total{route="/api/publish",status="400"}"#,
            1.0,
        ),
        (r#"tidings_probe_seconds_bucket{le="0.001"}"#, 0.0),
        (r#"tidings_probe_seconds_bucket{le="0.0025"}"#, 1.0),
        (r#"tidings_probe_seconds_bucket{le="0.25"}"#, 1.0),
        (r#"tidings_probe_seconds_bucket{le="1"}"#, 2.0),
        (r#"tidings_probe_seconds_bucket{le="+Inf"}"#, 2.0),
        ("tidings_probe_seconds_count", 2.0),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series}:\n{text}");
    }
    let sum = sample(&text, "tidings_probe_seconds_sum").expect("sum");
    assert!((sum - 0.7018).abs() < 1e-9, "{sum}");
}

#[test]
fn without_a_bus_there_are_no_bus_gauges() {
    let metrics = Metrics::default();
    let snapshot = Snapshot {
        clients: 0,
        broker: BrokerStats::default(),
        routing: RoutingStats::default(),
        mode: Mode::Normal,
        bus: None,
        held: Held::default(),
    };
    let text = metrics.render(Format::Prometheus, snapshot);
    assert!(!text.contains("tidings_bus_"), "{text}");
    assert_eq!(sample(&text, r#"tidings_mode{mode="normal"}"#), Some(1.0));
}

#[test]
fn open_metrics_names_counter_families_without_total_and_ends_with_eof() {
    let text = render(&measured(), Format::OpenMetrics);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1, "{text}");
    for line in [
        "# TYPE tidings_events_published counter",
        "# TYPE tidings_http_requests counter",
        "# TYPE tidings_publish_held_microseconds counter",
        "# UNIT tidings_publish_held_microseconds microseconds",
        "# TYPE tidings_probe_seconds histogram",
        "# UNIT tidings_probe_seconds seconds",
        "# TYPE tidings_sse_clients gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}:\n{text}");
    }
    // The series themselves are the classic format's.
    for (series, value) in [
        ("tidings_events_published_total", 7.0),
        ("tidings_publish_held_microseconds_total", 1500.0),
        (
            r#"tidings_http_requests_total{route="/api/publish",status="202"}"#,
            2.0,
        ),
        (r#"tidings_mode{mode="read_only"}"#, 1.0),
        (r#"tidings_probe_seconds_bucket{le="1.0"}"#, 2.0),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series}:\n{text}");
    }
}

#[test]
fn publish_latency_is_a_histogram_from_a_tenth_of_a_millisecond_to_ten_seconds() {
    let metrics = Metrics::default();
    let empty = render(&metrics, Format::Prometheus);
    assert_eq!(
        sample(
            &empty,
            r#"tidings_publish_duration_seconds_bucket{le="+Inf"}"#
        ),
        Some(0.0),
        "{empty}"
    );
    for micros in [50, 80, 400, 3_000, 2_000_000, 30_000_000] {
        metrics.record_publish(Duration::from_micros(micros));
    }
    let text = render(&metrics, Format::Prometheus);
    assert!(
        text.contains(
            "# HELP tidings_publish_duration_seconds Time from a publish's arrival until its event is stored.\n\
             # TYPE tidings_publish_duration_seconds histogram\n"
        ),
        "{text}"
    );
    let buckets: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("tidings_publish_duration_seconds_bucket{le=\""))
        .map(|l| {
            let (le, count) = l.split_once("\"} ").expect("bucket line");
            (le.to_string(), count.parse().expect("count"))
        })
        .collect();
    let les: Vec<&str> = buckets.iter().map(|(le, _)| le.as_str()).collect();
    assert_eq!(
        les,
        [
            "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
            "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"
        ]
    );
    let count = |le: &str| buckets.iter().find(|(l, _)| l == le).map(|(_, c)| *c);
    assert_eq!(count("0.0001"), Some(2.0));
    assert_eq!(count("0.0005"), Some(3.0));
    assert_eq!(count("0.005"), Some(4.0));
    assert_eq!(count("2.5"), Some(5.0));
    assert_eq!(count("10"), Some(5.0), "30 s lies beyond the last bound");
    assert_eq!(count("+Inf"), Some(6.0));
    assert_eq!(
        sample(&text, "tidings_publish_duration_seconds_count"),
        Some(6.0)
    );
    let sum = sample(&text, "tidings_publish_duration_seconds_sum").expect("sum");
    assert!((sum - 32.00353).abs() < 1e-9, "{sum}");

    let open = render(&metrics, Format::OpenMetrics);
    assert!(
        open.lines()
            .any(|l| l == "# UNIT tidings_publish_duration_seconds seconds"),
        "{open}"
    );
    assert_eq!(
        sample(
            &open,
            r#"tidings_publish_duration_seconds_bucket{le="0.0001"}"#
        ),
        Some(2.0),
        "{open}"
    );
}

#[test]
fn scrapers_get_the_format_they_prefer() {
    let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let prometheus_3_classic_first = "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,*/*;q=0.1";
    for (accept, format) in [
        (Some(prometheus_2), Format::OpenMetrics),
        (Some(prometheus_3_classic_first), Format::Prometheus),
        (
            Some("Application/OpenMetrics-Text; Q=0.9, text/plain; q=0.9"),
            Format::OpenMetrics,
        ),
        (Some("application/openmetrics-text;q=0"), Format::Prometheus),
        (
            Some("application/openmetrics-text;q=oops"),
            Format::Prometheus,
        ),
        (Some("*/*"), Format::Prometheus),
        (Some("text/html,*/*;q=0.8"), Format::Prometheus),
        (Some(""), Format::Prometheus),
        (None, Format::Prometheus),
    ] {
        assert_eq!(Format::negotiate(accept), format, "{accept:?}");
    }
    assert!(
        Format::OpenMetrics
            .content_type()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    assert!(
        Format::Prometheus
            .content_type()
            .starts_with("text/plain; version=0.0.4")
    );
}
