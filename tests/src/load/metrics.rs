//! The server's own counters around a run: `GET` of its Prometheus text
//! endpoint before publishing and after draining, and how much each
//! counter (a sample whose name ends in `_total`, labels included) grew in
//! between. Gauges are left out (a difference of them says nothing), and so
//! are histograms' buckets, sums and counts. A scrape that fails is
//! reported as an error of the run, not as zeros.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::http::{BodyDecoder, Url, head_len, parse_head};

/// Counter samples by series (`name{labels}`).
pub type Counters = BTreeMap<String, f64>;

/// Reads the counters at `url`, within `timeout`.
pub async fn scrape(url: &Url, timeout: Duration) -> Result<Counters, String> {
    let body = tokio::time::timeout(timeout, get(url))
        .await
        .map_err(|_| "metrics: timed out".to_owned())??;
    Ok(parse(&String::from_utf8_lossy(&body)))
}

/// How much each counter of `after` grew since `before`. A series absent
/// before counts from 0: a labelled counter appears at its first increment.
pub fn growth(before: &Counters, after: &Counters) -> Counters {
    after
        .iter()
        .map(|(k, a)| (k.clone(), a - before.get(k).copied().unwrap_or(0.0)))
        .collect()
}

/// One `GET` on a connection of its own; the body of a 200.
async fn get(url: &Url) -> Result<Vec<u8>, String> {
    let err = |e: std::io::Error| format!("metrics: {e}");
    let mut stream = TcpStream::connect(url.addr).await.map_err(err)?;
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
        url.path, url.authority
    );
    stream.write_all(req.as_bytes()).await.map_err(err)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(err)?;
    let len = head_len(&raw).ok_or("metrics: no complete response head")?;
    let head = parse_head(&raw[..len]).map_err(|e| format!("metrics: {e}"))?;
    if head.status != 200 {
        return Err(format!("metrics: status {}", head.status));
    }
    let mut body = Vec::new();
    let mut decoder = BodyDecoder::new(head.framing);
    decoder
        .feed(&raw[len..], |b| body.extend_from_slice(b))
        .map_err(|e| format!("metrics: {e}"))?;
    Ok(body)
}

/// The `_total` samples of a Prometheus text exposition.
fn parse(text: &str) -> Counters {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            // The value follows the last space; labels may hold spaces.
            let (series, value) = l.trim_end().rsplit_once(' ')?;
            let name = series.split('{').next()?;
            if !name.ends_with("_total") {
                return None;
            }
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_their_growth() {
        let before = parse(
            "# HELP tidings_wakeups Batched stream wake-ups.\n\
             # TYPE tidings_wakeups counter\n\
             tidings_wakeups_total 9\n\
             tidings_sse_clients 3\n\
             tidings_http_requests_total{route=\"/a b\",status=\"200\"} 2\n\
             tidings_publish_duration_seconds_sum 0.5\n",
        );
        assert_eq!(before.len(), 2, "{before:?}");
        let after = parse(
            "tidings_wakeups_total 21\n\
             tidings_http_requests_total{route=\"/a b\",status=\"200\"} 5\n\
             tidings_resets_total 1\n",
        );
        let grown = growth(&before, &after);
        assert_eq!(grown["tidings_wakeups_total"], 12.0);
        assert_eq!(
            grown["tidings_http_requests_total{route=\"/a b\",status=\"200\"}"],
            3.0
        );
        // Absent before: counted from 0.
        assert_eq!(grown["tidings_resets_total"], 1.0);
        assert_eq!(grown.len(), 3);
    }
}
