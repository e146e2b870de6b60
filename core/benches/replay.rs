//! Locating replay on a full ring: the cost of `subscribe` with a last id
//! must not grow with the ring, and copying k events is O(k).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use futures::executor::block_on;
use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions};

fn full_broker(size: usize) -> Broker {
    let config = BrokerConfig {
        history_size: size,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("bench").unwrap(), config);
    let kind = Kind::new("bench.event").unwrap();
    for _ in 0..size * 2 {
        broker
            .publish(Event::new(kind.clone(), "x".repeat(120)), Millis(0))
            .unwrap();
    }
    broker
}

fn locate(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay_locate");
    for size in [256usize, 4096, 65_536] {
        let broker = full_broker(size);
        // Resume 1 event behind the head: locating dominates.
        let last = format!("bench-{}", broker.head().seq() - 1);
        group.bench_with_input(BenchmarkId::new("ring", size), &size, |b, _| {
            b.iter(|| {
                let mut sub = broker
                    .subscribe(SubscribeOptions::resume(last.as_str()))
                    .unwrap();
                black_box(block_on(sub.next()))
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("replay_read");
    let broker = full_broker(4096);
    for k in [16u64, 256, 4096] {
        let last = format!("bench-{}", broker.head().seq() - k);
        group.throughput(Throughput::Elements(k));
        group.bench_with_input(BenchmarkId::new("events", k), &k, |b, &k| {
            b.iter(|| {
                let sub = broker
                    .subscribe(SubscribeOptions::resume(last.as_str()))
                    .unwrap();
                let got = block_on(sub.take(k as usize).count());
                assert_eq!(got as u64, k);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, locate);
criterion_main!(benches);
