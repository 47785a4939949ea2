//! The stream adapters: keep-alive, coalescing, errors, end and drop for `EncodeStream`;
//! chunking invariance, errors, reconnection state and frames for `DecodeStream` /
//! `FrameStream`. Time is a manual clock, never a real sleep.
#![cfg(feature = "stream")]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_executor::block_on;
use futures_util::stream::{self, FusedStream, Stream, StreamExt};
use futures_util::task::{noop_waker_ref, waker, ArcWake};
use sse_wire::{
    Config, DecodeError, DecodeStream, EncodeStream, Event, Frame, FrameStream, KeepAliveTimer,
    ParseError, Parser, KEEP_ALIVE,
};

// ---------------------------------------------------------------------------------------
// Test doubles

/// A stream the test feeds by hand; records how it is polled.
struct Manual<T>(Rc<RefCell<ManualState<T>>>);

struct ManualState<T> {
    queue: VecDeque<T>,
    closed: bool,
    waker: Option<Waker>,
    polls: usize,
    polled_after_end: bool,
    ended: bool,
}

impl<T> Manual<T> {
    fn new() -> (Self, Rc<RefCell<ManualState<T>>>) {
        let state = Rc::new(RefCell::new(ManualState {
            queue: VecDeque::new(),
            closed: false,
            waker: None,
            polls: 0,
            polled_after_end: false,
            ended: false,
        }));
        (Manual(state.clone()), state)
    }
}

impl<T> ManualState<T> {
    fn push(&mut self, item: T) {
        self.queue.push_back(item);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

impl<T> Stream for Manual<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.0.borrow_mut();
        state.polls += 1;
        if state.ended {
            state.polled_after_end = true;
        }
        if let Some(item) = state.queue.pop_front() {
            return Poll::Ready(Some(item));
        }
        if state.closed {
            state.ended = true;
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

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

fn poll<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    stream.poll_next_unpin(&mut Context::from_waker(noop_waker_ref()))
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
    let frames = FrameStream::new(chunks).map(|frame| frame.map_err(|_| "decode failed"));
    let out: Vec<Bytes> = block_on(EncodeStream::new(frames).map(|c| c.unwrap()).collect());
    let reencoded = out.concat();
    assert_eq!(reencoded, upstream.as_bytes());
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
// DecodeStream and FrameStream

/// What the parser makes of `input` fed whole: the oracle for the adapters.
fn parse_whole(input: &[u8], frames: bool) -> Vec<Frame> {
    let mut parser = Parser::new();
    parser.feed(input);
    parser.finish();
    let mut out = Vec::new();
    loop {
        let next = if frames {
            parser.next_frame()
        } else {
            parser.next_event().map(|e| e.map(Frame::Event))
        };
        match next {
            Some(item) => out.push(item.unwrap()),
            None => return out,
        }
    }
}

fn decode_chunks(chunks: Vec<Vec<u8>>) -> Vec<Frame> {
    let chunks = stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
    block_on(
        DecodeStream::new(chunks)
            .map(|e| Frame::Event(e.unwrap()))
            .collect(),
    )
}

fn decode_frame_chunks(chunks: Vec<Vec<u8>>) -> Vec<Frame> {
    let chunks = stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
    block_on(FrameStream::new(chunks).map(|f| f.unwrap()).collect())
}

const TRICKY: &[u8] = b"\xEF\xBB\xBFid: 1\r\nevent: a\r\ndata: x\r\ndata:  y\r\r\n: c\ndata: \xFF\n\nretry: 10\rid: 2\n\ndata: z\r\n\r\ndata: unterminated";

#[test]
fn decoding_is_the_same_for_every_split_into_two_and_three_chunks() {
    let events = parse_whole(TRICKY, false);
    let frames = parse_whole(TRICKY, true);
    assert_eq!(events.len(), 3, "{events:?}");
    for i in 0..=TRICKY.len() {
        for j in i..=TRICKY.len() {
            let chunks = vec![
                TRICKY[..i].to_vec(),
                TRICKY[i..j].to_vec(),
                TRICKY[j..].to_vec(),
            ];
            assert_eq!(decode_chunks(chunks.clone()), events, "split at {i}, {j}");
            assert_eq!(decode_frame_chunks(chunks), frames, "split at {i}, {j}");
        }
    }
}

#[test]
fn decoding_one_byte_at_a_time_and_with_empty_chunks() {
    let drip: Vec<Vec<u8>> = TRICKY.iter().flat_map(|&b| [vec![], vec![b]]).collect();
    assert_eq!(decode_chunks(drip.clone()), parse_whole(TRICKY, false));
    assert_eq!(decode_frame_chunks(drip), parse_whole(TRICKY, true));
}

#[test]
fn chunks_are_not_copied() {
    let chunk = Bytes::from_static(b"data: a payload that stays where it arrived\n\n");
    let range = chunk.as_ptr_range();
    let chunks = stream::iter([Ok::<_, Infallible>(chunk.clone())]);
    let events: Vec<Event> = block_on(DecodeStream::new(chunks).map(|e| e.unwrap()).collect());
    let data = events[0].data_bytes();
    assert!(range.contains(&data.as_ptr()), "the data was copied");
}

#[test]
fn a_transport_error_is_yielded_and_decoding_goes_on() {
    let chunks = stream::iter([
        Ok("id: 1\ndata: a\n\ndata: half"),
        Err("connection reset"),
        Ok(" and more\n\nretry: 40\n\n"),
    ]);
    let mut decoder = DecodeStream::new(chunks);
    assert_eq!(block_on(decoder.next()).unwrap().unwrap().data(), "a");
    assert_eq!(
        block_on(decoder.next()),
        Some(Err(DecodeError::Transport("connection reset")))
    );
    // The parser's state survives the error: what a reconnection needs is there.
    assert_eq!(decoder.last_event_id(), "1");
    // The inner stream went on, and so does the event in progress.
    assert_eq!(
        block_on(decoder.next()).unwrap().unwrap().data(),
        "half and more"
    );
    assert!(block_on(decoder.next()).is_none());
    assert_eq!(decoder.retry(), Some(Duration::from_millis(40)));
}

#[test]
fn a_parse_error_is_kept_apart_from_transport_errors_and_skips_one_event() {
    let chunks = stream::iter([Ok::<_, &str>("data: far too long\n\ndata: ok\n\n")]);
    let mut decoder = DecodeStream::with_config(chunks, Config::new().max_event_size(8));
    assert_eq!(
        block_on(decoder.next()),
        Some(Err(DecodeError::Parse(ParseError::EventTooLarge {
            limit: 8
        })))
    );
    assert_eq!(block_on(decoder.next()).unwrap().unwrap().data(), "ok");
}

#[test]
fn the_end_discards_an_unterminated_event_and_is_fused() {
    let (chunks, handle) = Manual::<Result<&'static str, Infallible>>::new();
    let mut decoder = DecodeStream::new(chunks);
    handle.borrow_mut().push(Ok("data: done\n\ndata: cut"));
    handle.borrow_mut().closed = true;
    assert!(matches!(poll(&mut decoder), Poll::Ready(Some(Ok(e))) if e.data() == "done"));
    for _ in 0..3 {
        assert!(matches!(poll(&mut decoder), Poll::Ready(None)));
        assert!(decoder.is_terminated());
    }
    assert!(!handle.borrow().polled_after_end);
}

#[test]
fn events_already_complete_come_out_before_the_inner_stream_is_polled() {
    let (chunks, handle) = Manual::<Result<&'static str, Infallible>>::new();
    let mut decoder = DecodeStream::new(chunks);
    handle.borrow_mut().push(Ok("data: 1\n\ndata: 2\n\n"));
    assert!(matches!(poll(&mut decoder), Poll::Ready(Some(Ok(_)))));
    let polls = handle.borrow().polls;
    assert!(matches!(poll(&mut decoder), Poll::Ready(Some(Ok(e))) if e.data() == "2"));
    assert_eq!(handle.borrow().polls, polls);
    assert!(poll(&mut decoder).is_pending());
}

#[test]
fn frames_report_comments_retry_and_id_only_blocks() {
    let chunks = stream::iter([Ok::<_, Infallible>(":\n\nretry: 250\nid: 9\n\ndata: x\n\n")]);
    let frames: Vec<Frame> = block_on(FrameStream::new(chunks).map(|f| f.unwrap()).collect());
    assert!(matches!(&frames[0], Frame::Comment(text) if text.is_empty()));
    assert_eq!(frames[1], Frame::Retry(Duration::from_millis(250)));
    assert!(matches!(&frames[2], Frame::Id(id) if id == "9"));
    assert!(matches!(&frames[3], Frame::Event(e) if e.data() == "x" && e.last_event_id() == "9"));
    assert_eq!(frames.len(), 4);
}

#[test]
fn switching_between_events_and_frames_loses_nothing() {
    let chunks = stream::iter([Ok::<_, Infallible>("data: 1\n\n: c\ndata: 2\n\n")]);
    let mut events = DecodeStream::new(chunks);
    assert_eq!(block_on(events.next()).unwrap().unwrap().data(), "1");
    let mut frames = events.frames();
    assert!(matches!(
        block_on(frames.next()),
        Some(Ok(Frame::Comment(_)))
    ));
    let mut events = frames.events();
    assert_eq!(block_on(events.next()).unwrap().unwrap().data(), "2");
    assert!(block_on(events.next()).is_none());
}

#[test]
fn reconnect_keeps_the_last_event_id_and_retry_and_drops_the_cut_event() {
    let (first, first_handle) = Manual::<Result<&'static str, &'static str>>::new();
    let mut decoder = DecodeStream::new(first);
    first_handle
        .borrow_mut()
        .push(Ok("retry: 1500\nid: 41\ndata: a\n\ndata: cut off"));
    first_handle.borrow_mut().push(Err("reset"));
    assert_eq!(block_on(decoder.next()).unwrap().unwrap().data(), "a");
    assert_eq!(
        block_on(decoder.next()),
        Some(Err(DecodeError::Transport("reset")))
    );

    let (second, second_handle) = Manual::new();
    Pin::new(&mut decoder).reconnect(second);
    // The old stream ended mid-event: that event is gone; a BOM opens the new stream.
    second_handle.borrow_mut().push(Ok("\u{FEFF}data: b\n\n"));
    second_handle.borrow_mut().closed = true;
    let event = block_on(decoder.next()).unwrap().unwrap();
    assert_eq!((event.data(), event.last_event_id()), ("b", "41"));
    assert!(block_on(decoder.next()).is_none());
    assert_eq!(decoder.retry(), Some(Duration::from_millis(1500)));

    // A stream that had ended can be reconnected too.
    Pin::new(&mut decoder).reconnect(Manual::new().0);
    assert!(!decoder.is_terminated());
}

#[test]
fn decode_error_messages_and_sources() {
    let transport: DecodeError<std::io::Error> =
        DecodeError::Transport(std::io::Error::other("reset by peer"));
    assert_eq!(transport.to_string(), "event stream transport failed");
    let source = std::error::Error::source(&transport).unwrap();
    assert_eq!(source.to_string(), "reset by peer");
    let parse = DecodeError::<std::io::Error>::Parse(ParseError::EventTooLarge { limit: 3 });
    assert_eq!(parse.to_string(), "event exceeds the size limit of 3 bytes");
}

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
