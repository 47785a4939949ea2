//! Encoding throughput: ready events into one reused `BytesMut`, and building them too.
//!
//! `cargo bench --bench encode`. Bytes/s of output and events/s, per workload.

// criterion's macros generate public functions that cannot carry docs.
#![allow(missing_docs)]

use std::time::Duration;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sse_wire::Event;

// Part of the module serves only the parse benches and the comparison crate.
#[allow(dead_code)]
mod workloads;

use workloads::Spec;

fn build(spec: &Spec) -> Event {
    let mut builder = Event::builder();
    if let Some(event) = &spec.event {
        builder = builder.event(event.as_str());
    }
    if let Some(id) = &spec.id {
        builder = builder.id(id.as_str());
    }
    match builder.data(spec.data.as_str()).build() {
        Ok(event) => event,
        Err(error) => panic!("workload event rejected: {error}"),
    }
}

/// A server writes to its socket and reuses the buffer: flush (here, clear) every 64 KiB.
const FLUSH: usize = 64 * 1024;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for workload in workloads::all() {
        if workload.name.contains("CRLF") || workload.name.contains("MiB line") {
            continue; // the same events as other workloads
        }
        let events: Vec<Event> = workload.specs.iter().map(build).collect();
        let mut buf = BytesMut::with_capacity(2 * FLUSH);
        for (unit, throughput) in [
            ("bytes", Throughput::Bytes(workload.wire.len() as u64)),
            ("events", Throughput::Elements(events.len() as u64)),
        ] {
            group.throughput(throughput);
            let id = BenchmarkId::new(format!("encode ({unit})"), workload.name);
            group.bench_function(id, |b| {
                b.iter(|| {
                    for event in &events {
                        event.encode(&mut buf);
                        if buf.len() >= FLUSH {
                            buf.clear();
                        }
                    }
                    buf.clear();
                })
            });
        }
        group.throughput(Throughput::Bytes(workload.wire.len() as u64));
        let id = BenchmarkId::new("build + encode", workload.name);
        group.bench_function(id, |b| {
            b.iter(|| {
                for spec in &workload.specs {
                    build(spec).encode(&mut buf);
                    if buf.len() >= FLUSH {
                        buf.clear();
                    }
                }
                buf.clear();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
