//! `/metrics` is Prometheus text whose counters follow what the server does,
//! in OpenMetrics to a scraper that asks for it; `/health` and `/ready`
//! report mode, streams, storage, version and uptime.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_tests::{SseClient, Tidings, content_type, http};

const WAIT: Duration = Duration::from_secs(10);

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
    let (status, _) = server.publish("bad kind", json!({})).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_speak_open_metrics_to_a_scraper_that_asks() {
    let server = Tidings::start(&[]).await;
    let (status, body) = server.publish("test.metric", json!({})).await;
    assert_eq!(status, 202, "{body}");
    // What Prometheus sends by default.
    let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let resp = http()
        .get(server.url("/metrics"))
        .header("accept", accept)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    let ct = content_type(&resp);
    assert!(
        ct.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ct:?}"
    );
    let text = resp.text().await.expect("metrics text");
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
