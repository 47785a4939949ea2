//! The hub's memory, measured by a counting global allocator: 10,000 subscribers (one of
//! which never polls) and a million publishes keep the live heap within the ring's limit
//! plus a constant per subscriber, and delivering an event allocates nothing.
#![cfg(feature = "hub")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::{Context, Poll};

use futures_util::StreamExt;
use sse_wire::{Event, Hub, Lag, Subscription};

struct Counting;

/// Live bytes across all threads, and the most seen since the last reset.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn grow(bytes: usize) {
    let live = LIVE.fetch_add(bytes as isize, Ordering::Relaxed) + bytes as isize;
    PEAK.fetch_max(live, Ordering::Relaxed);
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn shrink(bytes: usize) {
    LIVE.fetch_sub(bytes as isize, Ordering::Relaxed);
}

// SAFETY: defers every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        shrink(layout.size());
        grow(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

const SUBSCRIBERS: usize = 10_000;
const PUBLISHES: usize = 1_000_000;
const MAX_EVENTS: usize = 1024;
const MAX_BYTES: usize = 32 << 10;
/// What one held event costs besides its wire bytes: the unused room in front of its id
/// line (at most 47 bytes), `bytes`' shared header (24), its `Bytes` in the ring (32), and
/// the allocator's rounding.
const PER_EVENT: usize = 128;
/// The stated bound on what one subscriber costs: its `Subscription` and the hub's slot for
/// its waker, waiting-list and free-list entries, with the vectors' spare capacity.
const PER_SUBSCRIBER: usize = 192;
/// Publishes between two rounds of polling.
const ROUND: usize = 500;
/// Subscribers drained every round: they keep up and never lag.
const FAST: usize = 4;

/// Polls `sub` until it has nothing ready; returns how many items it yielded.
fn drain(sub: &mut Subscription, cx: &mut Context<'_>) -> usize {
    let mut n = 0;
    while let Poll::Ready(Some(_)) = sub.poll_next_unpin(cx) {
        n += 1;
    }
    n
}

#[test]
fn ten_thousand_subscribers_and_a_million_publishes_stay_within_the_ring_and_deliveries_allocate_nothing(
) {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    let hub = Hub::builder()
        .epoch(1)
        .max_events(MAX_EVENTS)
        .max_bytes(MAX_BYTES)
        .on_lag(Lag::Gap)
        .build();
    let before = live();
    // Counted: the `Subscription`s themselves are part of what a subscriber costs.
    let mut subs: Vec<Subscription> = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        subs.push(hub.subscribe(None));
    }
    // Every subscriber but the last reads its position block and registers its waker;
    // the last one never polls.
    for sub in &mut subs[..SUBSCRIBERS - 1] {
        assert_eq!(drain(sub, &mut cx), 1);
    }
    let per_subscriber = (live() - before) as usize / SUBSCRIBERS;
    println!(
        "hub memory per subscriber: {per_subscriber} bytes ({} of them the Subscription)",
        std::mem::size_of::<Subscription>()
    );
    assert!(
        per_subscriber <= PER_SUBSCRIBER,
        "{per_subscriber} bytes per subscriber"
    );

    let limit = before as usize + MAX_BYTES + MAX_EVENTS * PER_EVENT + SUBSCRIBERS * PER_SUBSCRIBER;
    PEAK.store(live(), Ordering::Relaxed);
    let (mut fast_delivered, mut fast_allocations, mut slow_delivered) = (0, 0, 0);
    let mut next_slow = FAST;
    let mut tick = String::new();
    for round in 0..PUBLISHES / ROUND {
        for i in 0..ROUND {
            tick.clear();
            std::fmt::Write::write_fmt(&mut tick, format_args!("tick {}", round * ROUND + i))
                .unwrap();
            hub.publish(Event::from_data(tick.as_str()));
        }
        // The first rounds warm up the vectors the hub reuses.
        let warm = round >= 4;
        let allocations_before = allocations();
        for sub in &mut subs[..FAST] {
            let n = drain(sub, &mut cx);
            assert_eq!(n, ROUND, "a fast subscriber keeps up");
            fast_delivered += if warm { n } else { 0 };
        }
        if warm {
            fast_allocations += allocations() - allocations_before;
        }
        // One slow subscriber in turn catches up: a gap event (it fell out of the ring),
        // then what the ring holds.
        slow_delivered += drain(&mut subs[next_slow], &mut cx);
        next_slow = if next_slow + 2 == SUBSCRIBERS {
            FAST
        } else {
            next_slow + 1
        };
    }
    let peak = PEAK.load(Ordering::Relaxed) as usize;
    println!(
        "peak live heap {} KiB over {} KiB before the subscribers; limit {} KiB",
        peak / 1024,
        before / 1024,
        limit / 1024
    );
    println!(
        "fast subscribers: {fast_delivered} events delivered, {fast_allocations} allocations; \
         slow ones: {slow_delivered} events"
    );
    assert!(peak <= limit, "peak {peak} over {limit}");
    assert_eq!(fast_delivered, (PUBLISHES / ROUND - 4) * ROUND * FAST);
    assert_eq!(
        fast_allocations, 0,
        "allocations for {fast_delivered} delivered events"
    );
    assert!(slow_delivered > 0);

    // The subscriber that never polled still holds only its cursor: it is owed its
    // position, then (under `Lag::Gap`) a gap event and the ring.
    let last = subs.last_mut().unwrap();
    let position = futures_executor::block_on(last.next()).unwrap();
    assert_eq!(position.as_bytes(), "id: 1-0\n\n");
    let gap = futures_executor::block_on(last.next()).unwrap();
    assert!(gap.as_bytes().starts_with(b"event: sse-wire-gap\n"));
}
