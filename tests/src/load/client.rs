//! One SSE client of a run: it opens its stream over a bare connection
//! with the selectors of its topic selection, parses events with the core's
//! parser, tallies which seqs arrived (and which it did not ask for), and
//! reconnects with `Last-Event-ID` when told to or when the stream breaks.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tidings_core::RESET_KIND;
use tidings_core::wire::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::conn::connect;
use super::h2::Source;
use super::http::{BodyDecoder, Framing, Url, head_len, parse_head, sse_request};
use super::shared::Shared;
use super::tally::{Outcome, Tally, seq_and_ts};
use super::topics::Selection;

/// Bytes read at once from one stream; also the most a response head may take.
const READ_BUF: usize = 8 * 1024;

/// Latencies a client keeps before adding them to the shared histogram.
const LATENCY_BATCH: usize = 256;

/// Adds `latencies` to the run's histogram and empties it.
fn record_latencies(sh: &Shared, latencies: &mut Vec<u64>) {
    if latencies.is_empty() {
        return;
    }
    let mut h = sh.latency.lock().expect("latency lock");
    for l in latencies.drain(..) {
        h.saturating_record(l.max(1));
    }
}

/// Client `index`: connects with its selectors, reads, reconnects with
/// `Last-Event-ID` when told to (`--reconnect-after`) or when the stream
/// breaks, until stopped. Returns its selection, its tally and whether it
/// ever connected.
pub async fn client(
    sh: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    index: usize,
) -> (Selection, Tally, bool) {
    let args = &sh.args;
    let selection = sh.plan.selection(index);
    let query = sh.plan.query(&selection);
    // A hub that routes by path has one URL per channel.
    let routes: Option<Vec<Url>> = sh
        .plan
        .channel(&selection)
        .map(|channel| sh.sub.iter().map(|u| u.with_channel(&channel)).collect());
    let subs = routes.as_deref().unwrap_or(&sh.sub);
    let mut node = index;
    let mut tally = Tally::new(args.events);
    let mut buf = vec![0u8; READ_BUF];
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
            r = tokio::time::timeout(timeout, open(&sh, index, &subs[node % subs.len()], &query, last_id.as_deref(), &mut buf)) => {
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
            sh.up[index].store(true, Relaxed);
            sh.established.fetch_add(1, Relaxed);
        }
        failures = 0;
        sh.connected_now.fetch_add(1, Relaxed);
        let mut parser = Parser::with_max_line(1 << 20);
        let mut decoder = BodyDecoder::new(framing);
        let mut since_connect = 0u64;
        // The stop signal is watched once per stream, not once per read, and
        // latencies reach the shared histogram in batches: both were a
        // measurable part of the tool's cost per delivery.
        let reading = async {
            loop {
                let now = sh.now_us();
                let fresh = latencies.len();
                let mut bad = None;
                // Each event is tallied as the parser dispatches it,
                // borrowed: nothing is allocated per event.
                let fed = decoder.feed(&buf[body.clone()], |payload| {
                    if bad.is_some() {
                        return;
                    }
                    let parsed = parser.feed_with(payload, |ev| {
                        let Some((seq, ts)) = seq_and_ts(ev.data) else {
                            if ev.event == RESET_KIND {
                                tally.resets += 1;
                            } else {
                                tally.other += 1;
                            }
                            return;
                        };
                        since_connect += 1;
                        let wanted = sh.plan.wants(&selection, seq);
                        if tally.record(seq, wanted, &sh.ledger) == Outcome::First {
                            latencies.push(now.saturating_sub(ts));
                        }
                    });
                    if let Err(e) = parsed {
                        bad = Some(e);
                    }
                });
                if latencies.len() > fresh {
                    sh.delivered
                        .fetch_add((latencies.len() - fresh) as u64, Relaxed);
                    if latencies.len() >= LATENCY_BATCH {
                        record_latencies(&sh, &mut latencies);
                    }
                }
                if let Err(e) = fed {
                    sh.error(format!("stream: {e}"));
                    break Some(false);
                }
                if let Some(e) = bad {
                    sh.error(format!("stream: {e}"));
                    break Some(false);
                }
                if decoder.done() {
                    sh.error("stream: the response ended".into());
                    break Some(false);
                }
                if args.reconnect_after.is_some_and(|k| since_connect >= k) {
                    break Some(true);
                }
                match stream.read(&mut buf).await {
                    Ok(0) => {
                        sh.error("stream: closed by the server".into());
                        break Some(false);
                    }
                    Ok(n) => body = 0..n,
                    Err(e) => {
                        sh.error(format!("stream: {e}"));
                        break Some(false);
                    }
                }
            }
        };
        let planned = tokio::select! {
            planned = reading => planned,
            _ = stop.changed() => None,
        };
        record_latencies(&sh, &mut latencies);
        sh.connected_now.fetch_sub(1, Relaxed);
        let Some(planned) = planned else {
            return (selection, tally, established);
        };
        if !planned {
            sh.disconnects.fetch_add(1, Relaxed);
        }
        if !parser.last_event_id().is_empty() {
            last_id = Some(parser.last_event_id().to_owned());
        }
        drop(stream);
    }
    (selection, tally, established)
}

/// Connects, sends the SSE request (with `query` added to the URL's) and
/// reads the response head into `buf`; returns the stream, where body bytes
/// already read lie in `buf`, and the body's framing.
async fn open(
    sh: &Shared,
    index: usize,
    url: &Url,
    query: &str,
    last_id: Option<&str>,
    buf: &mut [u8],
) -> Result<(Source, std::ops::Range<usize>, Framing), String> {
    let _permit = sh.connect_gate.acquire().await.expect("gate never closes");
    if let Some(pool) = &sh.h2 {
        let source = pool.open(index, url, query, last_id).await?;
        return Ok((source, 0..0, Framing::Close));
    }
    let mut stream = connect(url).await.map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(&sse_request(url, query, last_id))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    // Over TLS, what the socket did not take at once waits for a flush.
    stream.flush().await.map_err(|e| format!("connect: {e}"))?;
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
            return Ok((Source::Own(stream), len..filled, head.framing));
        }
    }
}
