//! `/metrics` is Prometheus text whose counters follow what the server does,
//! in OpenMetrics to a scraper that asks for it, and the Prometheus
//! project's own Python parsers read both formats; `/health` and `/ready`
//! report mode, streams, storage, version and uptime.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_tests::{SseClient, Tidings, content_type, http};

const WAIT: Duration = Duration::from_secs(10);

/// What Prometheus sends by default.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The value of the sample `series` (name plus labels, exactly as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("numeric sample"))
}

/// Polls `/metrics` until `series` satisfies `ok`; returns the last text.
async fn wait_sample(server: &Tidings, series: &str, ok: impl Fn(f64) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = server.metrics().await;
        if sample(&text, series).is_some_and(&ok) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never got the expected value:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every non-comment line is `name{labels} value` with a numeric value, and
/// every metric name has a `# TYPE`.
fn assert_exposition_format(text: &str) {
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(
                rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                "bad comment line {line:?}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series and value");
        assert!(value.parse::<f64>().is_ok(), "bad value in {line:?}");
        let name = series.split('{').next().expect("name");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "bad name in {line:?}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|base| text.contains(&format!("# TYPE {base} histogram")))
            .unwrap_or(name);
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "no # TYPE for {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_streams_publishes_and_probes() {
    let server = Tidings::start(&["--probe-interval", "100ms", "--heartbeat-interval", "1s"]).await;
    let text = server.metrics().await;
    assert_exposition_format(&text);
    assert!(text.contains("# TYPE tidings_sse_clients gauge"), "{text}");
    assert!(
        text.contains("# TYPE tidings_events_published_total counter"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE tidings_probe_seconds histogram"),
        "{text}"
    );
    assert_eq!(sample(&text, "tidings_sse_clients"), Some(0.0), "{text}");
    let published_before =
        sample(&text, "tidings_events_published_total").expect("published counter");

    // A stream is counted while open.
    let mut stream = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    wait_sample(&server, "tidings_sse_clients", |v| v == 1.0).await;

    // Publishes count, by route and status.
    for n in 0..3 {
        let (status, body) = server.publish("test.metric", json!({ "n": n })).await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, _) = server.publish("bad\nkind", json!({})).await;
    assert_eq!(status, 400);
    let text = server.metrics().await;
    assert_eq!(
        sample(&text, "tidings_events_published_total"),
        Some(published_before + 3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"tidings_http_requests_total{route="/api/publish",status="202"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"tidings_http_requests_total{route="/api/publish",status="400"}"#
        ),
        Some(1.0),
        "{text}"
    );
    // The stream did get them.
    for n in 0..3 {
        let ev = stream.next_stored(WAIT).await.expect("published event");
        assert_eq!(ev.event, "test.metric");
        assert_eq!(
            serde_json::from_str::<Value>(&ev.data).expect("JSON"),
            json!({ "n": n })
        );
    }

    // Probes run and are measured: buckets grow with `le`, and +Inf is the
    // count.
    let text = wait_sample(&server, r#"tidings_probe_seconds_bucket{le="+Inf"}"#, |v| {
        v >= 2.0
    })
    .await;
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("tidings_probe_seconds_bucket{"))
        .map(|l| {
            l.rsplit_once(' ')
                .expect("value")
                .1
                .parse()
                .expect("number")
        })
        .collect();
    assert!(buckets.len() >= 2, "{text}");
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]),
        "buckets not cumulative: {buckets:?}"
    );
    assert_eq!(
        sample(&text, "tidings_probe_seconds_count"),
        buckets.last().copied(),
        "{text}"
    );
    assert!(
        sample(&text, "tidings_probe_seconds_sum").is_some(),
        "{text}"
    );

    // Closing the stream uncounts it: the server notices at its next write
    // to the socket, a heartbeat at most 1 s later.
    drop(stream);
    wait_sample(&server, "tidings_sse_clients", |v| v == 0.0).await;
}

/// `GET /metrics` with Prometheus' default `Accept`: status, content type
/// and body.
async fn scrape_as_prometheus(server: &Tidings) -> (u16, String, String) {
    let resp = http()
        .get(server.url("/metrics"))
        .header("accept", PROMETHEUS_ACCEPT)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let ct = content_type(&resp);
    (status, ct, resp.text().await.expect("metrics text"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_speak_open_metrics_to_a_scraper_that_asks() {
    let server = Tidings::start(&[]).await;
    let (status, body) = server.publish("test.metric", json!({})).await;
    assert_eq!(status, 202, "{body}");
    let (status, ct, text) = scrape_as_prometheus(&server).await;
    assert_eq!(status, 200);
    assert!(
        ct.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ct:?}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    // Counter families are named without `_total`; their samples keep it.
    for line in [
        "# TYPE tidings_events_published counter",
        "# TYPE tidings_probe_seconds histogram",
        "# UNIT tidings_probe_seconds seconds",
        "# TYPE tidings_publish_duration_seconds histogram",
        "# TYPE tidings_sse_clients gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}:\n{text}");
    }
    assert!(
        sample(&text, "tidings_events_published_total").is_some_and(|v| v >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"tidings_http_requests_total{route="/api/publish",status="202"}"#
        ),
        Some(1.0),
        "{text}"
    );

    // Without an `Accept` that names OpenMetrics: the classic text.
    let classic = server.metrics().await;
    assert!(!classic.contains("# EOF"), "{classic}");
    assert!(
        classic.contains("# TYPE tidings_events_published_total counter"),
        "{classic}"
    );
}

/// What the Prometheus project's parser for `format` (`classic` or
/// `openmetrics`) reads in `text`: family name → type, unit and samples.
/// Panics, with the parser's error, when it refuses the text.
async fn parsed_by_prometheus(text: &str, format: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/parse_metrics.py");
    let out = tidings_tests::run_python(&[script, format], text.as_bytes()).await;
    assert!(
        out.status.success(),
        "{script} {format} failed ({}):\n{}\n--- /metrics was:\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the parser")
}

/// The value the parser read for sample `name` with exactly `labels`.
fn parsed_sample(families: &Value, family: &str, name: &str, labels: Value) -> Option<f64> {
    families[family]["samples"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name && s["labels"] == labels)?["value"]
        .as_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_parsers_read_both_formats() {
    const PUBLISHES: usize = 3;
    let server = Tidings::start(&[]).await;
    let mut stream = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    wait_sample(&server, "tidings_sse_clients", |v| v == 1.0).await;
    for n in 0..PUBLISHES {
        let (status, body) = server.publish("test.metric", json!({ "n": n })).await;
        assert_eq!(status, 202, "{body}");
    }
    for _ in 0..PUBLISHES {
        stream.next_stored(WAIT).await.expect("published event");
    }

    let classic = server.metrics().await;
    let (_, ct, open_metrics) = scrape_as_prometheus(&server).await;
    assert!(ct.starts_with("application/openmetrics-text"), "{ct:?}");
    let classic = parsed_by_prometheus(&classic, "classic").await;
    let open_metrics = parsed_by_prometheus(&open_metrics, "openmetrics").await;

    // Both readers see the same families with the same types.
    let types = |families: &Value| -> Vec<(String, String)> {
        let map = families.as_object().expect("families");
        map.iter()
            .map(|(name, f)| (name.clone(), f["type"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    assert_eq!(types(&classic), types(&open_metrics));
    let published = PUBLISHES as f64;
    for (format, families) in [("classic", &classic), ("openmetrics", &open_metrics)] {
        for (family, kind) in [
            ("tidings_events_published", "counter"),
            ("tidings_http_requests", "counter"),
            ("tidings_sse_clients", "gauge"),
            ("tidings_mode", "gauge"),
            ("tidings_publish_duration_seconds", "histogram"),
            ("tidings_probe_seconds", "histogram"),
        ] {
            assert_eq!(families[family]["type"], kind, "{format}: {family}");
        }
        let at =
            |family: &str, name: &str, labels: Value| parsed_sample(families, family, name, labels);
        assert_eq!(
            at(
                "tidings_events_published",
                "tidings_events_published_total",
                json!({})
            ),
            Some(published),
            "{format}"
        );
        assert_eq!(
            at(
                "tidings_http_requests",
                "tidings_http_requests_total",
                json!({ "route": "/api/publish", "status": "202" })
            ),
            Some(published),
            "{format}"
        );
        assert_eq!(
            at("tidings_sse_clients", "tidings_sse_clients", json!({})),
            Some(1.0),
            "{format}"
        );
        assert_eq!(
            at("tidings_mode", "tidings_mode", json!({ "mode": "normal" })),
            Some(1.0),
            "{format}"
        );
        let h = "tidings_publish_duration_seconds";
        assert_eq!(
            at(h, &format!("{h}_count"), json!({})),
            Some(published),
            "{format}"
        );
        assert_eq!(
            at(h, &format!("{h}_bucket"), json!({ "le": "+Inf" })),
            Some(published),
            "{format}"
        );
        let sum = at(h, &format!("{h}_sum"), json!({})).expect("sum");
        assert!(sum > 0.0 && sum < 10.0 * published, "{format}: sum {sum}");
    }
    // Only OpenMetrics carries units.
    assert_eq!(
        open_metrics["tidings_publish_duration_seconds"]["unit"],
        "seconds"
    );
    assert_eq!(classic["tidings_publish_duration_seconds"]["unit"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_ready_report_the_server() {
    let server = Tidings::start(&[]).await;
    let stream = SseClient::connect(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    let deadline = Instant::now() + WAIT;
    while server.get_json("/health").await.1["sse_clients"] != 1 {
        assert!(
            Instant::now() < deadline,
            "/health never counted the stream"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    for path in ["/health", "/ready"] {
        let resp = http().get(server.url(path)).send().await.expect("request");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let ct = content_type(&resp);
        assert!(ct.starts_with("application/json"), "{path}: {ct:?}");
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(body["mode"], "normal", "{path}: {body}");
        assert_eq!(body["sse_clients"], 1, "{path}: {body}");
        assert!(body["storage"].is_object(), "{path}: {body}");
        assert_eq!(body["storage"]["healthy"], true, "{path}: {body}");
        assert!(
            body["version"].as_str().is_some_and(|v| !v.is_empty()),
            "{path}: {body}"
        );
        assert!(body["uptime_seconds"].is_u64(), "{path}: {body}");
    }
    drop(stream);
}

/// The runtimes' worker counts, as `/metrics` reads them off the runtimes.
async fn runtime_workers(server: &Tidings) -> (f64, f64) {
    let text = server.metrics().await;
    let workers = |runtime: &str| {
        sample(
            &text,
            &format!(r#"tidings_runtime_workers{{runtime="{runtime}"}}"#),
        )
        .unwrap_or_else(|| panic!("no {runtime} workers in:\n{text}"))
    };
    (workers("requests"), workers("streams"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_flags_size_the_runtimes_that_serve() {
    // The defaults share the cores: streams get all but one, requests the
    // rest, each at least one.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let streams = cores.saturating_sub(1).max(1);
    let requests = cores.saturating_sub(streams).max(1);
    let server = Tidings::start(&[]).await;
    assert_eq!(
        runtime_workers(&server).await,
        (requests as f64, streams as f64)
    );
    drop(server);

    // Set by flag and by environment, beyond the cores; the server still
    // delivers what it accepts.
    let server = Tidings::start_env(
        &["--request-workers", "3"],
        &[("TIDINGS_STREAM_WORKERS", "4")],
    )
    .await;
    assert_eq!(runtime_workers(&server).await, (3.0, 4.0));
    let mut stream = server.subscribed().await;
    let id = server.publish_tick(1).await;
    let event = stream.next_stored(WAIT).await.expect("the published event");
    assert_eq!(event.id.as_deref(), Some(id.as_str()));
}
