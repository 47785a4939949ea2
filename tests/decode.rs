//! `DecodeStream`, of events and of frames: the same events as the parser for every chunking,
//! transport errors apart from parse errors, the end, reconnection state and frames.
#![cfg(feature = "stream")]

mod manual;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_executor::block_on;
use futures_util::stream::{self, FusedStream, StreamExt};
use manual::{poll, Manual};
use sse_wire::{Config, DecodeError, DecodeStream, Event, Frame, ParseError, Parser};

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
    block_on(
        DecodeStream::new(chunks)
            .frames()
            .map(|f| f.unwrap())
            .collect(),
    )
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
    let frames: Vec<Frame> = block_on(
        DecodeStream::new(chunks)
            .frames()
            .map(|f| f.unwrap())
            .collect(),
    );
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

/// A transport error reads as its cause: the adapter adds no message that hides it, and
/// passes on the cause's own source (reporters that walk the chain see each message once).
#[test]
fn decode_errors_display_their_cause_and_pass_on_its_source() {
    #[derive(Debug)]
    struct Tls;
    impl std::fmt::Display for Tls {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("certificate expired")
        }
    }
    impl std::error::Error for Tls {}

    #[derive(Debug)]
    struct Body(Tls);
    impl std::fmt::Display for Body {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("body read failed")
        }
    }
    impl std::error::Error for Body {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    let transport: DecodeError<Body> = DecodeError::Transport(Body(Tls));
    assert_eq!(transport.to_string(), "body read failed");
    let source = std::error::Error::source(&transport).unwrap();
    assert_eq!(source.to_string(), "certificate expired");
    let parse = DecodeError::<std::io::Error>::Parse(ParseError::EventTooLarge { limit: 3 });
    assert_eq!(parse.to_string(), "event exceeds the size limit of 3 bytes");
    assert!(std::error::Error::source(&parse).is_none());
}

#[test]
fn an_always_ready_stream_of_empty_chunks_yields_to_other_tasks() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Context;

    struct WakeCount(AtomicUsize);
    impl futures_util::task::ArcWake for WakeCount {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = Arc::new(WakeCount(AtomicUsize::new(0)));
    let waker = futures_util::task::waker(count.clone());
    let chunks = stream::repeat(Ok::<_, Infallible>(Bytes::new()));
    let mut decoder = DecodeStream::new(chunks);
    assert!(decoder
        .poll_next_unpin(&mut Context::from_waker(&waker))
        .is_pending());
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "the task must be woken to come back"
    );

    // An event split into more pieces than one poll reads still comes out.
    let drip = stream::iter(b"data: ".iter().chain(&[b'x'; 3000]).chain(b"\n\n"))
        .map(|byte| Ok::<_, Infallible>(Bytes::copy_from_slice(&[*byte])));
    let events: Vec<_> = block_on(DecodeStream::new(drip).collect());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap().data().len(), 3000);
}
