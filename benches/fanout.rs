//! Fan-out of small events to 1,000 subscribers: the hub against the axum idiom (a
//! `tokio::sync::broadcast` receiver per connection, each message turned into an axum
//! `Event` and encoded by axum's `Sse` body per connection), in the same run.
//!
//! `cargo bench --bench fanout --features hub`. Single-threaded and without a runtime:
//! after each publish every subscriber is polled until it has nothing ready, with a no-op
//! waker, so both sides pay for the work itself and nothing for scheduling. Prints, per
//! delivered event, the thread's CPU time (from `/proc/thread-self/schedstat`) and the
//! allocations, of delivery and of publishing apart.

// A bench binary: its items need no docs.
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::response::sse::{Event as AxumEvent, Sse};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sse_wire::{EncodeStream, Event, Hub, Subscription};
use tokio::sync::broadcast;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SUBSCRIBERS: usize = 1000;
const EVENTS: usize = 2000;
const WARM_UP: usize = 200;
const CAPACITY: usize = 1024;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// This thread's CPU time in nanoseconds (wall time where the kernel does not say).
fn cpu_ns(start: Instant) -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| start.elapsed().as_nanos() as u64)
}

/// A small event's data, like a ticker's.
fn message(i: usize) -> String {
    format!("{{\"symbol\":\"ACME\",\"price\":{}.25}}", 100 + i % 900)
}

#[derive(Default, Clone, Copy)]
struct Tally {
    cpu_ns: u64,
    delivered: u64,
    bytes: u64,
    delivery_allocations: u64,
    publish_allocations: u64,
}

/// One side of the comparison: publishes, and subscribers that are drained.
trait Fanout {
    fn publish(&mut self, i: usize);
    /// Polls subscriber `s` until it has nothing ready; returns (events, bytes).
    fn drain(&mut self, s: usize, cx: &mut Context<'_>) -> (u64, u64);
}

fn measure(side: &mut dyn Fanout) -> Tally {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    let mut tally = Tally::default();
    let start = Instant::now();
    let mut cpu0 = 0;
    for i in 0..WARM_UP + EVENTS {
        let measured = i >= WARM_UP;
        if i == WARM_UP {
            cpu0 = cpu_ns(start);
        }
        let a0 = allocations();
        side.publish(i);
        let a1 = allocations();
        let mut delivered = 0;
        let mut bytes = 0;
        for s in 0..SUBSCRIBERS {
            let (e, b) = side.drain(s, &mut cx);
            delivered += e;
            bytes += b;
        }
        let a2 = allocations();
        assert_eq!(
            delivered, SUBSCRIBERS as u64,
            "every subscriber gets event {i}"
        );
        if measured {
            tally.publish_allocations += a1 - a0;
            tally.delivery_allocations += a2 - a1;
            tally.delivered += delivered;
            tally.bytes += bytes;
        }
    }
    // Publishing included: it is part of what fan-out costs.
    tally.cpu_ns = cpu_ns(start) - cpu0;
    tally
}

/// sse-wire: one hub, a `Subscription` per subscriber.
struct HubSide {
    hub: Hub,
    subs: Vec<Subscription>,
}

impl HubSide {
    fn new() -> Self {
        let hub = Hub::builder().max_events(CAPACITY).epoch(1).build();
        // Resuming from before the first event: no position block to skip.
        let subs = (0..SUBSCRIBERS)
            .map(|_| hub.subscribe(Some("1-0")))
            .collect();
        HubSide { hub, subs }
    }
}

impl Fanout for HubSide {
    fn publish(&mut self, i: usize) {
        self.hub.publish(Event::from_data(message(i)));
    }

    fn drain(&mut self, s: usize, cx: &mut Context<'_>) -> (u64, u64) {
        let (mut n, mut bytes) = (0, 0);
        while let Poll::Ready(Some(item)) = self.subs[s].poll_next_unpin(cx) {
            n += 1;
            bytes += item.as_bytes().len() as u64;
        }
        (n, bytes)
    }
}

/// sse-wire: the same, each subscription behind the `EncodeStream` an `SseBody` polls.
struct HubBodySide {
    hub: Hub,
    bodies: Vec<EncodeStream<Subscription>>,
}

impl Fanout for HubBodySide {
    fn publish(&mut self, i: usize) {
        self.hub.publish(Event::from_data(message(i)));
    }

    fn drain(&mut self, s: usize, cx: &mut Context<'_>) -> (u64, u64) {
        let (mut n, mut bytes) = (0, 0);
        while let Poll::Ready(Some(Ok(chunk))) = self.bodies[s].poll_next_unpin(cx) {
            // One event per publish, so one chunk is one event.
            n += 1;
            bytes += chunk.len() as u64;
        }
        (n, bytes)
    }
}

/// The axum idiom's stream: a broadcast receiver whose messages become axum `Event`s,
/// lagged messages skipped. Uses `try_recv`, which registers no waker: cheaper than
/// `BroadcastStream`, so the baseline is if anything favoured.
struct Receiver<T> {
    rx: broadcast::Receiver<T>,
    with_id: bool,
}

impl<T: Clone + AsRef<str>> Stream for Receiver<T> {
    type Item = Result<AxumEvent, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            return match self.rx.try_recv() {
                Ok(message) => {
                    let event = AxumEvent::default();
                    let event = if self.with_id {
                        // The id the sender gave, carried as the message's first line.
                        let (id, data) = message.as_ref().split_once('\n').unwrap_or(("", ""));
                        event.id(id).data(data)
                    } else {
                        event.data(message.as_ref())
                    };
                    Poll::Ready(Some(Ok(event)))
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(broadcast::error::TryRecvError::Empty) => Poll::Pending,
                Err(broadcast::error::TryRecvError::Closed) => Poll::Ready(None),
            };
        }
    }
}

type AxumBody = axum::body::BodyDataStream;

/// axum: a broadcast channel of `T`, one receiver and `Sse` response body per subscriber.
struct AxumSide<T> {
    tx: broadcast::Sender<T>,
    bodies: Vec<AxumBody>,
    with_id: bool,
    make: fn(String) -> T,
}

impl<T: Clone + AsRef<str> + Send + 'static> AxumSide<T> {
    fn new(with_id: bool, make: fn(String) -> T) -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        let bodies = (0..SUBSCRIBERS)
            .map(|_| {
                let stream = Receiver {
                    rx: tx.subscribe(),
                    with_id,
                };
                Sse::new(stream)
                    .into_response()
                    .into_body()
                    .into_data_stream()
            })
            .collect();
        AxumSide {
            tx,
            bodies,
            with_id,
            make,
        }
    }
}

impl<T: Clone + AsRef<str> + Send + 'static> Fanout for AxumSide<T> {
    fn publish(&mut self, i: usize) {
        let text = if self.with_id {
            format!("{}\n{}", i + 1, message(i))
        } else {
            message(i)
        };
        let _ = self.tx.send((self.make)(text));
    }

    fn drain(&mut self, s: usize, cx: &mut Context<'_>) -> (u64, u64) {
        let (mut n, mut bytes) = (0, 0);
        while let Poll::Ready(Some(Ok(chunk))) = self.bodies[s].poll_next_unpin(cx) {
            let chunk: Bytes = chunk;
            n += 1;
            bytes += chunk.len() as u64;
        }
        (n, bytes)
    }
}

fn median(mut runs: Vec<Tally>) -> Tally {
    runs.sort_by_key(|t| t.cpu_ns);
    runs[runs.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported here.
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    type Make = fn() -> Box<dyn Fanout>;
    let sides: [(&str, Make); 5] = [
        ("sse-wire Hub, Subscription", || Box::new(HubSide::new())),
        ("sse-wire Hub, through EncodeStream", || {
            let HubSide { hub, subs } = HubSide::new();
            Box::new(HubBodySide {
                hub,
                bodies: subs.into_iter().map(EncodeStream::new).collect(),
            })
        }),
        ("axum, broadcast<Arc<str>>, no id", || {
            Box::new(AxumSide::<Arc<str>>::new(false, Arc::from))
        }),
        ("axum, broadcast<String>, no id", || {
            Box::new(AxumSide::<String>::new(false, |s| s))
        }),
        ("axum, broadcast<String>, with id", || {
            Box::new(AxumSide::<String>::new(true, |s| s))
        }),
    ];
    println!(
        "fan-out: {SUBSCRIBERS} subscribers, {EVENTS} small events each (median of {rounds} runs)\n"
    );
    println!(
        "| {:<36} | {:>13} | {:>10} | {:>15} | {:>13} | {:>8} |",
        "implementation", "CPU ns/event", "vs Hub", "allocs/delivery", "allocs/publish", "bytes/ev"
    );
    println!(
        "|{:-<38}|{:->15}|{:->12}|{:->17}|{:->15}|{:->10}|",
        "", ":", ":", ":", ":", ":"
    );
    // `ONLY=EncodeStream` runs the implementations whose name contains that text (for a
    // profiler); the "vs Hub" column is then relative to the first one run.
    let only = std::env::var("ONLY").unwrap_or_default();
    let mut hub_ns = None;
    for (name, make) in sides.into_iter().filter(|(name, _)| name.contains(&only)) {
        let runs = (0..rounds).map(|_| measure(&mut *make())).collect();
        let t = median(runs);
        let delivered = t.delivered as f64;
        let ns = t.cpu_ns as f64 / delivered;
        let base = *hub_ns.get_or_insert(ns);
        println!(
            "| {:<36} | {:>13.1} | {:>9.1}x | {:>15.3} | {:>13.2} | {:>8.1} |",
            name,
            ns,
            ns / base,
            t.delivery_allocations as f64 / delivered,
            t.publish_allocations as f64 / (delivered / SUBSCRIBERS as f64),
            t.bytes as f64 / delivered,
        );
    }
}
