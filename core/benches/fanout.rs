//! Fan-out: one publisher, N subscribers drained concurrently on a tokio
//! runtime (as the host runs them), the publisher on the runtime's own
//! threads and a 1 ms flush timer.
//!
//! Criterion measures unpaced fan-out (deliveries/s; ns per publish). A table
//! after it reports, per row, deliveries, losses (events skipped after a
//! `stream.reset`), ns per publish and the publish→receive latency, for
//! unpaced and paced runs; `FANOUT_RATES` and `FANOUT_N` change the paced
//! rows (defaults `10000,40000,80000` and `1000`), `FANOUT_HISTORY` the ring
//! sizes they run with (default `256,4096`: the Go original's history and
//! the server's default).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput};
use futures::future::poll_fn;
use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions};
use tokio::runtime::Runtime;

const PAYLOAD: usize = 120;
/// The server's default ring size.
const HOST_HISTORY: usize = 4096;

struct Outcome {
    published: u64,
    delivered: u64,
    resets: u64,
    publish_time: Duration,
    publish_busy: Duration,
    total: Duration,
    latency_us: Vec<u64>,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn now_ms(start: Instant) -> Millis {
    Millis(start.elapsed().as_millis() as u64)
}

/// Publishes `events` to `n` subscribers, paced at `rate` per second if
/// given, and waits until every subscriber has seen the last one.
fn fanout(rt: &Runtime, n: usize, history: usize, events: u64, rate: Option<u64>) -> Outcome {
    rt.block_on(async move {
        let config = BrokerConfig {
            history_size: history,
            ..BrokerConfig::default()
        };
        let broker = Broker::new(Epoch::new("bench").unwrap(), config);
        let start = Instant::now();
        // Publish instants by seq, so receivers measure latency without parsing.
        let sent_at: Arc<Vec<AtomicU64>> =
            Arc::new((0..=events).map(|_| AtomicU64::new(0)).collect());
        let delivered = Arc::new(AtomicU64::new(0));
        let resets = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
            let (delivered, resets, sent_at) = (delivered.clone(), resets.clone(), sent_at.clone());
            // Latency is sampled on a few subscribers to keep the cost off the measurement.
            let sample = i % (n / 8).max(1) == 0;
            tasks.push(tokio::spawn(async move {
                // As a server connection does: every ready frame copied into
                // one buffer, one write per wake-up.
                let (mut got, mut lat) = (0u64, Vec::new());
                let mut buf = BytesMut::with_capacity(64 << 10);
                while let Some(batch) = poll_fn(|cx| sub.poll_frames(cx, &mut buf)).await {
                    buf.clear();
                    resets.fetch_add(batch.resets as u64, Relaxed);
                    let Some(last) = batch.last_seq else { continue };
                    got += batch.events as u64;
                    if sample {
                        // The oldest event of the batch waited longest.
                        let first = last + 1 - batch.events as u64;
                        let received = start.elapsed().as_micros() as u64;
                        lat.push(received.saturating_sub(sent_at[first as usize].load(Relaxed)));
                    }
                    if last == events {
                        break;
                    }
                }
                delivered.fetch_add(got, Relaxed);
                lat
            }));
        }
        let flusher = {
            let broker = broker.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(1));
                loop {
                    tick.tick().await;
                    broker.flush(now_ms(start));
                }
            })
        };
        let kind = Kind::new("bench.event").unwrap();
        let data = "x".repeat(PAYLOAD);
        let publisher = {
            let broker = broker.clone();
            let sent_at = sent_at.clone();
            tokio::spawn(async move {
                let t0 = Instant::now();
                let mut busy = Duration::ZERO;
                let mut tick = tokio::time::interval(Duration::from_millis(1));
                let per_tick = rate.map(|r| (r / 1000).max(1));
                let mut seq = 0;
                while seq < events {
                    let burst = match per_tick {
                        Some(k) => {
                            tick.tick().await;
                            k
                        }
                        None => 64,
                    };
                    let b0 = Instant::now();
                    for _ in 0..burst.min(events - seq) {
                        seq += 1;
                        sent_at[seq as usize].store(start.elapsed().as_micros() as u64, Relaxed);
                        broker
                            .publish(Event::new(kind.clone(), data.clone()), now_ms(start))
                            .unwrap();
                    }
                    busy += b0.elapsed();
                    if per_tick.is_none() {
                        // Let subscribers run, as a request handler would.
                        tokio::task::yield_now().await;
                    }
                }
                (t0.elapsed(), busy)
            })
        };
        let (publish_time, publish_busy) = publisher.await.unwrap();
        let mut latency_us = Vec::new();
        for t in tasks {
            latency_us.extend(t.await.unwrap());
        }
        let total = start.elapsed();
        flusher.abort();
        latency_us.sort_unstable();
        Outcome {
            published: events,
            delivered: delivered.load(Relaxed),
            resets: resets.load(Relaxed),
            publish_time,
            publish_busy,
            total,
            latency_us,
        }
    })
}

fn bench_fanout(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("fanout");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    for n in [1usize, 100, 1000, 10_000] {
        let events = (200_000 / n as u64).clamp(200, 20_000);
        group.throughput(Throughput::Elements(events * n as u64));
        group.bench_with_input(BenchmarkId::new("unpaced_deliveries", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += black_box(fanout(&rt, n, HOST_HISTORY, events, None)).total;
                }
                total
            })
        });
    }
    group.finish();
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn table() {
    let rt = runtime();
    let env_list = |name: &str, default: &str| -> Vec<u64> {
        std::env::var(name)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .map(|s| s.trim().parse().expect("comma-separated numbers"))
            .collect()
    };
    let paced_n = env_list("FANOUT_N", "1000");
    let rates = env_list("FANOUT_RATES", "10000,40000,80000");
    let histories = env_list("FANOUT_HISTORY", "256,4096");
    println!();
    println!(
        "{:<16} {:>6} {:>5} {:>8} {:>13} {:>12} {:>8} {:>7} {:>11} {:>8} {:>8} {:>8}",
        "row",
        "N",
        "ring",
        "E",
        "events/s",
        "deliveries/s",
        "lost",
        "resets",
        "ns/publish",
        "p50 µs",
        "p99 µs",
        "max µs"
    );
    let mut rows: Vec<(String, usize, usize, u64, Option<u64>)> = [1usize, 100, 1000, 10_000]
        .into_iter()
        .map(|n| {
            let events = (400_000 / n as u64).clamp(500, 40_000);
            ("unpaced".to_string(), n, HOST_HISTORY, events, None)
        })
        .collect();
    for &history in &histories {
        for &n in &paced_n {
            for &rate in &rates {
                let name = format!("paced@{rate}/s");
                rows.push((name, n as usize, history as usize, rate * 2, Some(rate)));
            }
        }
    }
    for (name, n, history, events, rate) in rows {
        let o = fanout(&rt, n, history, events, rate);
        let expected = o.published * n as u64;
        let ns_per_publish = match rate {
            Some(_) => o.publish_busy.as_nanos() as f64 / o.published as f64,
            None => o.publish_time.as_nanos() as f64 / o.published as f64,
        };
        println!(
            "{:<16} {:>6} {:>5} {:>8} {:>13.0} {:>12.0} {:>8} {:>7} {:>11.0} {:>8} {:>8} {:>8}",
            name,
            n,
            history,
            o.published,
            o.published as f64 / o.publish_time.as_secs_f64(),
            o.delivered as f64 / o.total.as_secs_f64(),
            expected - o.delivered,
            o.resets,
            ns_per_publish,
            percentile(&o.latency_us, 0.5),
            percentile(&o.latency_us, 0.99),
            o.latency_us.last().copied().unwrap_or(0),
        );
    }
    println!(
        "# lost = E*N - delivered (events skipped after a lagged stream.reset); latency = publish -> subscriber receive"
    );
    println!(
        "# ns/publish: unpaced = publish phase / E (includes yielding to subscribers); paced = time inside publish / E"
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_fanout(&mut c);
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        table();
    }
}
