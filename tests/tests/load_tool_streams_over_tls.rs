//! `tidings-load` over the hub's own TLS (a certificate made by `rcgen`):
//! 400 streams over HTTP/1.1 with TLS, each its own connection opened at
//! once with the others, and 400 over HTTP/2, 100 per connection, each
//! receive every event once and in order, and the server's memory per
//! stream is reported. (Hundreds of TLS connections opened together are
//! where a write left unflushed in the TLS session stalls a stream.)

use serde_json::Value;
use tidings_tests::Tidings;
use tidings_tests::load_runs::{load_tool, report};
use tidings_tests::tls::TestCert;

fn load(server: &Tidings, cert: &TestCert, extra: &[&str]) -> Value {
    let mut cmd = load_tool(env!("CARGO_BIN_EXE_tidings-load"), server);
    cmd.arg("--ca")
        .arg(&cert.cert)
        .args(["--clients", "400", "--events", "50", "--rate", "100"])
        .args([
            "--progress",
            "0",
            "--drain-timeout",
            "10",
            "--connect-timeout",
            "20",
        ])
        .args(["--server-pid", &server.pid().to_string()])
        .args(extra);
    report(&mut cmd).0
}

#[tokio::test]
async fn every_event_reaches_every_stream_over_tls_http1_and_http2() {
    let cert = TestCert::new();
    let server = Tidings::start_tls(&cert, &[]).await;
    for extra in [&[][..], &["--http2", "--streams-per-connection", "100"]] {
        let r = load(&server, &cert, extra);
        assert_eq!(r["published"], 50, "{extra:?}: {r}");
        assert_eq!(r["delivered"], 400 * 50, "{extra:?}: {r}");
        for zero in ["gaps", "duplicates", "out_of_order"] {
            assert_eq!(r[zero], 0, "{extra:?} {zero}: {r}");
        }
        assert!(
            r["server_rss_kb_per_connection"].as_f64().is_some(),
            "memory per stream is measured: {r}"
        );
    }
}
