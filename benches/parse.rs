//! Parsing throughput: every workload of `benches/workloads` in every chunk size.
//!
//! `cargo bench --bench parse`. Bytes/s per chunk size, and events/s at 1460-byte chunks
//! (criterion reports one throughput unit per group). The comparison with other crates is
//! in `benches/compare`.

// criterion's macros generate public functions that cannot carry docs.
#![allow(missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

// Part of the module serves only the comparison crate.
#[allow(dead_code)]
mod workloads;

/// Parses `input` fed as `chunk`-byte slices of one `Bytes`; returns the events seen.
fn parse(input: &Bytes, chunk: usize) -> u64 {
    let mut parser = sse_wire::Parser::new();
    let mut events = 0;
    let mut start = 0;
    while start < input.len() {
        let end = start.saturating_add(chunk).min(input.len());
        parser.feed_bytes(input.slice(start..end));
        start = end;
        while let Some(event) = parser.next_event() {
            events += u64::from(event.is_ok());
        }
    }
    parser.finish();
    while let Some(event) = parser.next_event() {
        events += u64::from(event.is_ok());
    }
    events
}

/// The same through `feed(&[u8])`, which copies.
fn parse_slices(input: &[u8], chunk: usize) -> u64 {
    let mut parser = sse_wire::Parser::new();
    let mut events = 0;
    for piece in input.chunks(chunk.min(input.len()).max(1)) {
        parser.feed(piece);
        while let Some(event) = parser.next_event() {
            events += u64::from(event.is_ok());
        }
    }
    events
}

fn config(c: &mut Criterion) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group("parse");
    // Two shared cores: few, flat samples keep a full run to a few minutes.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group
}

fn bench(c: &mut Criterion) {
    let all = workloads::all();
    for workload in &all {
        let mut group = config(c);
        for chunk in workloads::CHUNKS {
            let input = Bytes::copy_from_slice(workloads::input(workload, chunk));
            group.throughput(Throughput::Bytes(input.len() as u64));
            let id = BenchmarkId::new(workload.name, workloads::chunk_label(chunk));
            group.bench_with_input(id, &input, |b, input| b.iter(|| parse(input, chunk)));
        }
        let input = Bytes::copy_from_slice(&workload.wire);
        let id = BenchmarkId::new(workload.name, "1460 B, feed(&[u8])");
        group.bench_with_input(id, &input, |b, input| b.iter(|| parse_slices(input, 1460)));
        group.finish();
    }
    let mut group = config(c);
    group.sample_size(10);
    for workload in &all {
        let input = Bytes::copy_from_slice(&workload.wire);
        group.throughput(Throughput::Elements(workload.specs.len() as u64));
        let id = BenchmarkId::new("events", workload.name);
        group.bench_with_input(id, &input, |b, input| b.iter(|| parse(input, 1460)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
