//! `EncodeStream`: keep-alive, coalescing, lone events, errors, end and drop; and
//! `TokioTimer`. Time is a manual clock (or tokio's paused one), never a real sleep.
#![cfg(feature = "stream")]

mod manual;

use std::cell::RefCell;
use std::convert::Infallible;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_executor::block_on;
use futures_util::stream::{self, FusedStream, StreamExt};
use futures_util::task::{waker, ArcWake};
use manual::{poll, Manual};
use sse_wire::{DecodeStream, EncodeStream, Event, KeepAliveTimer, KEEP_ALIVE};

// ---------------------------------------------------------------------------------------
// Test doubles

/// A manual clock shared by the timers made from it.
#[derive(Clone, Default)]
struct Clock(Rc<RefCell<(Duration, Vec<Waker>)>>);

impl Clock {
    fn advance(&self, by: Duration) {
        let wakers = {
            let mut inner = self.0.borrow_mut();
            inner.0 += by;
            std::mem::take(&mut inner.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    fn timer(&self) -> ManualTimer {
        ManualTimer {
            clock: self.clone(),
            deadline: None,
        }
    }
}

struct ManualTimer {
    clock: Clock,
    deadline: Option<Duration>,
}

impl KeepAliveTimer for ManualTimer {
    fn reset(mut self: Pin<&mut Self>, after: Duration) {
        let now = self.clock.0.borrow().0;
        self.deadline = Some(now + after);
    }

    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut clock = self.clock.0.borrow_mut();
        match self.deadline {
            Some(deadline) if clock.0 >= deadline => Poll::Ready(()),
            _ => {
                clock.1.push(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Counts wake-ups.
#[derive(Default)]
struct WakeCount(AtomicUsize);

impl ArcWake for WakeCount {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn chunk<E: std::fmt::Debug>(polled: Poll<Option<Result<Bytes, E>>>) -> Bytes {
    match polled {
        Poll::Ready(Some(Ok(bytes))) => bytes,
        other => panic!("expected a chunk, got {other:?}"),
    }
}

fn ev(data: &str) -> Event {
    Event::from_data(data)
}

const SECOND: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------
// EncodeStream

#[test]
fn events_ready_together_leave_as_one_chunk() {
    let events = stream::iter([ev("a"), ev("b"), ev("c")]);
    let chunks: Vec<_> = block_on(EncodeStream::new(events).collect());
    assert_eq!(
        chunks,
        [Ok(Bytes::from("data: a\n\ndata: b\n\ndata: c\n\n"))]
    );
}

#[test]
fn coalescing_stops_at_the_chunk_size_bound() {
    let events: Vec<Event> = (0..100).map(|i| ev(&format!("event {i:03}"))).collect();
    let expected: Vec<u8> = events.iter().flat_map(|e| e.to_bytes().to_vec()).collect();
    let one = events[0].encoded_len(); // every event has the same length
    let bound = 5 * one + 1;
    let chunks: Vec<Bytes> = block_on(
        EncodeStream::new(stream::iter(events))
            .max_chunk_size(bound)
            .map(|c| c.unwrap())
            .collect(),
    );
    // A chunk is cut once it reaches the bound: at most one event past it.
    assert!(chunks.iter().all(|c| c.len() < bound + one), "{chunks:?}");
    assert!(chunks.len() > 1 && chunks.len() <= 100 / 5 + 1);
    assert_eq!(chunks.concat(), expected);
}

#[test]
fn zero_chunk_size_means_one_event_per_chunk() {
    let events = stream::iter([ev("a"), ev("b")]);
    let chunks: Vec<_> = block_on(EncodeStream::new(events).max_chunk_size(0).collect());
    assert_eq!(
        chunks,
        [
            Ok(Bytes::from("data: a\n\n")),
            Ok(Bytes::from("data: b\n\n"))
        ]
    );
}

#[test]
fn a_lone_event_is_not_held_back() {
    let (events, handle) = Manual::new();
    let mut encoder = EncodeStream::new(events);
    assert!(poll(&mut encoder).is_pending());
    handle.borrow_mut().push(ev("alone"));
    assert_eq!(chunk(poll(&mut encoder)), "data: alone\n\n");
    // The adapter yielded as soon as the inner stream said Pending, and did not poll it
    // again in between: one poll for the event, one that returned Pending.
    assert_eq!(handle.borrow().polls, 3);
    assert!(poll(&mut encoder).is_pending());
}

#[test]
fn the_inner_stream_wakes_the_task() {
    let (events, handle) = Manual::new();
    let mut encoder = EncodeStream::new(events);
    let count = Arc::new(WakeCount::default());
    let waker = waker(count.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(encoder.poll_next_unpin(&mut cx).is_pending());
    handle.borrow_mut().push(ev("x"));
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
}

#[test]
fn keep_alive_fires_after_a_quiet_interval() {
    let clock = Clock::default();
    let (events, handle) = Manual::<Event>::new();
    let mut encoder = EncodeStream::new(events).keep_alive(15 * SECOND, clock.timer());
    let count = Arc::new(WakeCount::default());
    let waker = waker(count.clone());
    let mut cx = Context::from_waker(&waker);

    assert!(encoder.poll_next_unpin(&mut cx).is_pending());
    clock.advance(14 * SECOND);
    assert!(encoder.poll_next_unpin(&mut cx).is_pending());
    let woken = count.0.load(Ordering::SeqCst);
    clock.advance(SECOND);
    // The timer wakes the task: nobody has to poll by chance.
    assert!(count.0.load(Ordering::SeqCst) > woken);
    assert_eq!(chunk(encoder.poll_next_unpin(&mut cx)), KEEP_ALIVE);
    assert!(encoder.poll_next_unpin(&mut cx).is_pending());
    // And again after another quiet interval, counted from the keep-alive.
    clock.advance(15 * SECOND);
    assert_eq!(chunk(encoder.poll_next_unpin(&mut cx)), KEEP_ALIVE);
    assert!(encoder.poll_next_unpin(&mut cx).is_pending());
    drop(handle);
}

#[test]
fn keep_alive_timer_restarts_on_every_event() {
    let clock = Clock::default();
    let (events, handle) = Manual::new();
    let mut encoder = EncodeStream::new(events).keep_alive(10 * SECOND, clock.timer());

    assert!(poll(&mut encoder).is_pending()); // t = 0: the timer is armed
    for _ in 0..3 {
        clock.advance(9 * SECOND);
        handle.borrow_mut().push(ev("tick"));
        assert_eq!(chunk(poll(&mut encoder)), "data: tick\n\n");
    }
    // 27 s since the start, 0 s since the last event: no keep-alive yet.
    clock.advance(9 * SECOND);
    assert!(poll(&mut encoder).is_pending());
    clock.advance(SECOND);
    assert_eq!(chunk(poll(&mut encoder)), KEEP_ALIVE);
}

#[test]
fn no_keep_alive_by_default() {
    let (events, _handle) = Manual::<Event>::new();
    let mut encoder = EncodeStream::new(events);
    for _ in 0..3 {
        assert!(poll(&mut encoder).is_pending());
    }
}

#[test]
fn an_inner_error_comes_after_the_events_before_it_and_does_not_end_the_stream() {
    let items = stream::iter([Ok(ev("a")), Ok(ev("b")), Err("boom"), Ok(ev("c"))]);
    let out: Vec<_> = block_on(EncodeStream::new(items).collect());
    assert_eq!(
        out,
        [
            Ok(Bytes::from("data: a\n\ndata: b\n\n")),
            Err("boom"),
            Ok(Bytes::from("data: c\n\n")),
        ]
    );
}

#[test]
fn an_error_first_is_yielded_at_once() {
    let items = stream::iter([Err::<Event, _>(7), Err(8)]);
    let out: Vec<_> = block_on(EncodeStream::new(items).collect());
    assert_eq!(out, [Err(7), Err(8)]);
}

#[test]
fn the_end_is_clean_and_fused() {
    let (events, handle) = Manual::new();
    let mut encoder = EncodeStream::new(events);
    handle.borrow_mut().push(ev("last"));
    handle.borrow_mut().closed = true;
    assert!(!encoder.is_terminated());
    assert_eq!(chunk(poll(&mut encoder)), "data: last\n\n");
    for _ in 0..3 {
        assert!(matches!(poll(&mut encoder), Poll::Ready(None)));
        assert!(encoder.is_terminated());
    }
    assert!(!handle.borrow().polled_after_end);
}

#[test]
fn the_end_does_not_wait_for_the_keep_alive_timer() {
    let clock = Clock::default();
    let events = stream::iter([ev("x")]);
    let mut encoder = EncodeStream::new(events).keep_alive(SECOND, clock.timer());
    assert_eq!(chunk(poll(&mut encoder)), "data: x\n\n");
    assert!(matches!(poll(&mut encoder), Poll::Ready(None)));
    clock.advance(SECOND);
    assert!(matches!(poll(&mut encoder), Poll::Ready(None)));
}

#[test]
fn dropping_the_adapter_drops_the_inner_stream() {
    let resource = Arc::new(());
    let held = resource.clone();
    let events = stream::iter([ev("a")])
        .chain(stream::pending())
        .map(move |event| {
            let _keep = &held;
            event
        });
    let clock = Clock::default();
    let mut encoder = EncodeStream::new(events).keep_alive(SECOND, clock.timer());
    assert_eq!(chunk(poll(&mut encoder)), "data: a\n\n");
    assert!(poll(&mut encoder).is_pending());
    assert_eq!(Arc::strong_count(&resource), 2);
    drop(encoder);
    assert_eq!(Arc::strong_count(&resource), 1);
}

#[test]
fn frames_reencode_to_the_stream_they_came_from() {
    // In the encoder's field order, so the bytes can be compared as they are.
    let upstream = ": hello\nretry: 300\nevent: tick\nid: 7\ndata: a\ndata: b\n\nid: 8\n\n";
    let chunks = stream::iter([Ok::<_, Infallible>(upstream)]);
    let frames = DecodeStream::new(chunks)
        .frames()
        .map(|frame| frame.map_err(|_| "decode failed"));
    let out: Vec<Bytes> = block_on(EncodeStream::new(frames).map(|c| c.unwrap()).collect());
    let reencoded = out.concat();
    // The retry goes out as a block of its own (so that it can never join another block),
    // and the event leaves its retry line to it; the rest is byte for byte.
    let expected = upstream.replacen("retry: 300\n", "retry: 300\n\n", 1);
    assert_eq!(reencoded, expected.as_bytes());
}

#[test]
fn adapters_are_send_and_sync_when_their_parts_are() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let encoder = EncodeStream::new(stream::iter([ev("x")]));
    send_sync(&encoder);
    let decoder = DecodeStream::new(stream::iter([Ok::<_, std::io::Error>(Bytes::new())]));
    send_sync(&decoder);
    send_sync(&decoder.frames());
}

// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// TokioTimer

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn tokio_timer_sends_keep_alives_on_tokio_time() {
    use tokio::time::{sleep, Instant};

    let start = Instant::now();
    // Events at 10 s and 20 s, then silence.
    let events = stream::iter([10u64, 10])
        .then(|secs| async move {
            sleep(Duration::from_secs(secs)).await;
            ev("tick")
        })
        .chain(stream::pending());
    let mut encoder = std::pin::pin!(
        EncodeStream::new(events).keep_alive(15 * SECOND, sse_wire::TokioTimer::new())
    );
    let mut seen = Vec::new();
    for _ in 0..4 {
        let chunk = encoder.next().await.unwrap().unwrap();
        seen.push((chunk, start.elapsed().as_secs()));
    }
    let tick = Bytes::from("data: tick\n\n");
    let keep_alive = Bytes::from_static(KEEP_ALIVE);
    assert_eq!(
        seen,
        [
            (tick.clone(), 10),
            (tick, 20),
            (keep_alive.clone(), 35),
            (keep_alive, 50)
        ]
    );
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn tokio_timer_is_unpin_and_an_unrepresentable_interval_never_fires() {
    fn unpin<T: Unpin>(_: &T) {}
    let events = stream::iter([ev("x")]).chain(stream::pending());
    let mut encoder =
        EncodeStream::new(events).keep_alive(Duration::MAX, sse_wire::TokioTimer::new());
    unpin(&encoder);
    assert_eq!(encoder.next().await.unwrap().unwrap(), "data: x\n\n");
    let quiet = tokio::time::timeout(Duration::from_secs(1 << 40), encoder.next()).await;
    assert!(quiet.is_err(), "a keep-alive went out: {quiet:?}");
}

#[test]
fn an_always_ready_stream_of_empty_events_yields_to_other_tasks() {
    // `Event::default()` encodes to nothing, so no chunk ever fills up.
    let mut encoder = EncodeStream::new(stream::repeat(Event::default()));
    let count = Arc::new(WakeCount::default());
    let waker = waker(count.clone());
    assert!(encoder
        .poll_next_unpin(&mut Context::from_waker(&waker))
        .is_pending());
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "the task must be woken to come back"
    );
}

#[test]
fn an_always_ready_stream_still_gets_its_events_out() {
    let mut encoder = EncodeStream::new(stream::repeat_with(|| ev("x")));
    let first = chunk(poll(&mut encoder));
    assert_eq!(first.len(), 1024 * "data: x\n\n".len());
    assert_eq!(chunk(poll(&mut encoder)), first);
}

#[test]
fn a_timer_given_after_polling_started_is_armed_before_it_is_asked() {
    let clock = Clock::default();
    let (events, _handle) = Manual::<Event>::new();
    let mut encoder = EncodeStream::new(events);
    assert!(poll(&mut encoder).is_pending());
    clock.advance(100 * SECOND);
    let mut encoder = encoder.keep_alive(10 * SECOND, clock.timer());
    // An unarmed `ManualTimer` would never fire; armed now, it fires 10 s from now.
    assert!(poll(&mut encoder).is_pending());
    clock.advance(10 * SECOND);
    assert_eq!(chunk(poll(&mut encoder)), KEEP_ALIVE);
}
