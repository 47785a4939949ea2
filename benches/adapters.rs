//! The cost of the stream adapters over the sans-io core they wrap, on 10k small events
//! (LLM-token-sized JSON data):
//!
//! - encode: `EncodeStream` polled to the end vs `Event::encode` into one reused buffer;
//! - decode: `DecodeStream` polled to the end vs feeding the same chunks to a `Parser`.
//!
//! Both sides of each pair start from the same owned inputs (made outside the timing) and
//! poll with a no-op waker, so what differs is the adapter alone.
//! Run: `cargo bench --bench adapters`.
//!
//! Measured on the project's 2-core machine (2026-11, under load from parallel builds):
//! the best of 300 interleaved runs puts `EncodeStream` at 0.96x the time of the direct
//! loop and `DecodeStream` at 1.01-1.03x that of the bare `Parser`; criterion's
//! 3-second runs agree within their noise (0.9-1.2x both ways). The adapters cost a poll
//! per item, nothing per byte.

// criterion's macros generate public functions that cannot carry docs.
#![allow(missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures_util::stream::{self, Stream};
use futures_util::task::noop_waker_ref;
use sse_wire::{DecodeStream, EncodeStream, Event, Parser};

const EVENTS: usize = 10_000;

fn events() -> Vec<Event> {
    (0..EVENTS)
        .map(|i| {
            let data = format!(r#"{{"choices":[{{"delta":{{"content":"tok{i}"}}}}]}}"#);
            if i % 10 == 0 {
                Event::builder()
                    .id(i.to_string())
                    .data(data)
                    .build()
                    .unwrap()
            } else {
                Event::from_data(data)
            }
        })
        .collect()
}

/// Polls `stream` to its end; every item is ready, so the no-op waker is never needed.
fn drain<S: Stream>(stream: S, mut each: impl FnMut(S::Item)) {
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(noop_waker_ref());
    while let Poll::Ready(Some(item)) = stream.as_mut().poll_next(&mut cx) {
        each(item);
    }
}

fn encode(c: &mut Criterion) {
    let events = events();
    let mut group = c.benchmark_group("adapters/encode 10k small events");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let chunk_size = EncodeStream::<stream::Empty<Event>>::DEFAULT_MAX_CHUNK_SIZE;
    let mut buf = BytesMut::new();
    // What a hand-written server loop does: encode into a reused buffer and cut a chunk
    // for the connection at the same size the adapter does.
    group.bench_function("Event::encode, reused buffer", |b| {
        b.iter_batched(
            || events.clone(),
            |events| {
                for event in events {
                    event.encode(&mut buf);
                    if buf.len() >= chunk_size {
                        black_box(buf.split().freeze());
                    }
                }
                black_box(buf.split().freeze());
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("EncodeStream", |b| {
        b.iter_batched(
            || events.clone(),
            |events| {
                drain(EncodeStream::new(stream::iter(events)), |chunk| {
                    black_box(chunk.unwrap_or_else(|never: Infallible| match never {}));
                })
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut wire = BytesMut::new();
    events().iter().for_each(|event| event.encode(&mut wire));
    let wire = wire.freeze();
    let mut group = c.benchmark_group("adapters/decode 10k small events");
    group.throughput(Throughput::Elements(EVENTS as u64));
    for (label, size) in [("1460 B chunks", 1460), ("one chunk", usize::MAX)] {
        let chunks: Vec<Bytes> = (0..wire.len())
            .step_by(size.min(wire.len()))
            .map(|start| wire.slice(start..wire.len().min(start.saturating_add(size))))
            .collect();
        group.bench_function(format!("Parser, {label}"), |b| {
            b.iter_batched(
                || chunks.clone(),
                |chunks| {
                    let mut parser = Parser::new();
                    for chunk in chunks {
                        parser.feed_bytes(chunk);
                        while let Some(event) = parser.next_event() {
                            black_box(event.unwrap());
                        }
                    }
                    parser.finish();
                    assert!(parser.next_event().is_none());
                },
                BatchSize::LargeInput,
            )
        });
        group.bench_function(format!("DecodeStream, {label}"), |b| {
            b.iter_batched(
                || chunks.clone(),
                |chunks| {
                    let chunks = stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
                    drain(DecodeStream::new(chunks), |event| {
                        black_box(event.unwrap());
                    })
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
