//! The tokio-util codecs: `Ok(None)` until an event is complete, chunking invariance,
//! end of input, errors, and a FramedWrite / FramedRead round trip.
#![cfg(feature = "tokio-util")]

use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use sse_wire::{Config, DecodeError, Event, EventCodec, Frame, ParseError, Parser};
use tokio_util::codec::{Decoder, FramedRead, FramedWrite};

const INPUT: &[u8] =
    b"\xEF\xBB\xBF: hi\r\nid: 1\r\ndata: a\r\ndata: b\r\r\nretry: 70\nid: 2\n\ndata: c\r\n\r\ndata: cut";

fn parse_whole(frames: bool) -> Vec<Frame> {
    let mut parser = Parser::new();
    parser.feed(INPUT);
    parser.finish();
    let mut out = Vec::new();
    while let Some(item) = if frames {
        parser.next_frame()
    } else {
        parser.next_event().map(|e| e.map(Frame::Event))
    } {
        out.push(item.unwrap());
    }
    out
}

/// Feeds `INPUT` in pieces of `size` bytes, as `FramedRead` would, then ends it.
fn decode_in_pieces<D>(mut codec: D, size: usize, wrap: fn(D::Item) -> Frame) -> Vec<Frame>
where
    D: Decoder,
    D::Error: std::fmt::Debug,
{
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in INPUT.chunks(size) {
        buf.extend_from_slice(piece);
        while let Some(item) = codec.decode(&mut buf).unwrap() {
            out.push(wrap(item));
        }
    }
    while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
        out.push(wrap(item));
    }
    // `FramedRead` may call `decode_eof` again; the end is reported once.
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    out
}

#[test]
fn decoding_matches_the_parser_for_every_piece_size() {
    let (events, frames) = (parse_whole(false), parse_whole(true));
    assert_eq!(events.len(), 2);
    for size in 1..=INPUT.len() {
        assert_eq!(
            decode_in_pieces(EventCodec::new(), size, Frame::Event),
            events,
            "{size}"
        );
        assert_eq!(
            decode_in_pieces(EventCodec::new().frames(), size, |f| f),
            frames,
            "{size}"
        );
    }
}

#[test]
fn decode_returns_none_until_an_event_is_complete_and_takes_the_bytes() {
    let mut codec = EventCodec::new();
    let mut buf = BytesMut::from(&b"data: par"[..]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(
        buf.is_empty(),
        "the parser holds the bytes, not the read buffer"
    );
    buf.extend_from_slice(b"tial\n\n");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap().data(), "partial");
}

#[test]
fn the_end_discards_an_unterminated_event_and_bytes_after_it_start_a_new_stream() {
    let mut codec = EventCodec::new();
    let mut buf = BytesMut::from(&b"id: 5\ndata: a\n\ndata: cut"[..]);
    assert_eq!(codec.decode_eof(&mut buf).unwrap().unwrap().data(), "a");
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    // A reader that produces more after its end (a growing file): a new stream, whose
    // BOM is stripped, with the last event ID kept.
    buf.extend_from_slice("\u{FEFF}data: b\n\n".as_bytes());
    let event = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!((event.data(), event.last_event_id()), ("b", "5"));
    assert_eq!(codec.last_event_id(), "5");
}

#[test]
fn a_parse_error_is_reported_and_decoding_recovers() {
    let mut codec = EventCodec::with_config(Config::new().max_event_size(10)).frames();
    let mut buf = BytesMut::from(&b"data: far too long\n\nretry: 9\n"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(DecodeError::Parse(ParseError::EventTooLarge { limit: 10 }))
    ));
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Frame::Retry(Duration::from_millis(9)))
    );
    assert_eq!(codec.retry(), Some(Duration::from_millis(9)));
}

#[test]
fn io_errors_convert_into_transport_errors() {
    let error: DecodeError<std::io::Error> = std::io::Error::other("eof").into();
    assert!(matches!(error, DecodeError::Transport(_)));
}

#[tokio::test(flavor = "current_thread")]
async fn framed_write_then_framed_read_round_trips_events_and_frames() {
    let events = [
        Event::builder()
            .event("tick")
            .id("1")
            .data("a\nb")
            .build()
            .unwrap(),
        Event::builder()
            .retry(Duration::from_millis(300))
            .data("")
            .build()
            .unwrap(),
    ];
    let mut wire = Vec::new();
    let mut writer = FramedWrite::new(&mut wire, EventCodec::new());
    writer.send(events[0].clone()).await.unwrap();
    writer.send(&events[1]).await.unwrap();
    writer.send(Frame::Comment("bye".into())).await.unwrap();
    drop(writer);
    assert!(wire.ends_with(b": bye\n"));

    let read: Vec<Event> = FramedRead::new(&wire[..], EventCodec::new())
        .map(|e| e.unwrap())
        .collect()
        .await;
    let fields = |e: &Event| {
        (
            e.event_type().to_owned(),
            e.data().to_owned(),
            e.id().map(str::to_owned),
            e.retry(),
        )
    };
    assert_eq!(
        read.iter().map(fields).collect::<Vec<_>>(),
        events.iter().map(fields).collect::<Vec<_>>()
    );

    let mut frames = FramedRead::new(&wire[..], EventCodec::new().frames());
    let mut comments = 0;
    while let Some(frame) = frames.next().await {
        comments += usize::from(matches!(frame.unwrap(), Frame::Comment(c) if c == "bye"));
    }
    assert_eq!(comments, 1);
    assert_eq!(frames.decoder().last_event_id(), "1");
}
