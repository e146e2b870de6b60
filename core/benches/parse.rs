//! Parsing a stream as clients read it: each read hands the parser a chunk
//! of whole frames, as many as the server wrote since the last read. The
//! figure is the parser's cost per event, which every SSE client of the
//! hub pays (the wasm bindings, the bus, the load tool).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tidings_core::wire::Parser;

/// `k` frames spelled as the hub writes them: an id and one line of data.
fn chunk(first: u64, k: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for seq in first..first + k {
        out.extend_from_slice(
            format!("id: 747mrh8hez-{seq}\ndata: {{\"seq\":{seq},\"ts\":1764750000123456}}\n\n")
                .as_bytes(),
        );
    }
    out
}

fn feed(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_feed");
    for k in [1u64, 4, 32] {
        let bytes = chunk(1_000_000, k);
        group.throughput(Throughput::Elements(k));
        group.bench_with_input(
            BenchmarkId::new("frames_per_read", k),
            &bytes,
            |b, bytes| {
                let mut parser = Parser::new();
                b.iter(|| {
                    let mut events = 0u64;
                    parser
                        .feed_with(black_box(bytes), |e| {
                            events += e.data.len() as u64;
                        })
                        .unwrap();
                    black_box(events)
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, feed);
criterion_main!(benches);
