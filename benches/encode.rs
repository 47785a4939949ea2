//! Encoding throughput: ready events into one reused `BytesMut`, and building them too.
//!
//! `cargo bench --bench encode`. Bytes/s of output and events/s, per workload.

// criterion's macros generate public functions that cannot carry docs.
#![allow(missing_docs)]

use std::time::Duration;

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use sse_wire::{EncodeStream, Event, EventRef};

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

fn event_ref(spec: &Spec) -> EventRef<'_> {
    let mut event = EventRef::new(&spec.data);
    if let Some(name) = &spec.event {
        event = event.event(name);
    }
    if let Some(id) = &spec.id {
        event = event.id(id);
    }
    event
}

/// A server writes to its socket and reuses the buffer: flush (here, clear) every 64 KiB.
const FLUSH: usize = 64 * 1024;

/// A group of few, short samples: the workloads are large enough to measure in one second.
fn short_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group
}

fn bench(c: &mut Criterion) {
    let mut group = short_group(c, "encode");
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
        let id = BenchmarkId::new("EventRef", workload.name);
        group.bench_function(id, |b| {
            b.iter(|| {
                for spec in &workload.specs {
                    if let Err(error) = event_ref(spec).encode(&mut buf) {
                        panic!("workload event rejected: {error}");
                    }
                    if buf.len() >= FLUSH {
                        buf.clear();
                    }
                }
                buf.clear();
            })
        });
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

/// `EncodeStream` on large events into a sink that copies each chunk once, as a socket
/// write does: the adapter as it is (one-line data of 16 KiB and more handed out as its own
/// chunk), against the same events copied into the adapter's buffer first ("copy", what the
/// adapter did before, and still does for smaller data).
fn stream(c: &mut Criterion) {
    let mut group = short_group(c, "stream");
    for workload in workloads::all() {
        if !workload.name.contains("64 KiB") && !workload.name.contains("MiB line") {
            continue;
        }
        let events: Vec<Event> = workload.specs.iter().map(build).collect();
        let mut socket: Vec<u8> = Vec::with_capacity(4 * FLUSH);
        let mut write = |chunk: &[u8]| {
            if socket.len() + chunk.len() > socket.capacity() {
                socket.clear();
            }
            socket.extend_from_slice(chunk);
        };
        group.throughput(Throughput::Bytes(workload.wire.len() as u64));
        group.bench_function(BenchmarkId::new("EncodeStream", workload.name), |b| {
            b.iter(|| {
                let chunks = EncodeStream::new(futures_util::stream::iter(events.iter().cloned()));
                for chunk in futures_executor::block_on_stream(chunks) {
                    let Ok(chunk) = chunk;
                    write(&chunk);
                }
            })
        });
        let mut buf = BytesMut::new();
        group.bench_function(BenchmarkId::new("copy", workload.name), |b| {
            b.iter(|| {
                for event in &events {
                    event.encode(&mut buf);
                    write(&buf.split().freeze());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, stream);
criterion_main!(benches);
