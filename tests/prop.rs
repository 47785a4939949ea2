//! Laws checked over generated inputs, 10,000 cases each:
//!
//! - round trip: decode(encode(e)) == e for every event the builder accepts, and every
//!   rejection names a rule the input really breaks;
//! - chunking invariance: any chunking of any bytes gives the frames of feeding them whole,
//!   with or without a size limit;
//! - agreement with the naive oracle in `tests/oracle`;
//! - proxying: re-encoding the frames of a stream gives a stream with the same frames.

mod oracle;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use sse_wire::{Config, EncodeError, Event, Frame, Parser};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(10_000)
}

/// Text that is mostly what makes the wire format tricky: line breaks, colons, spaces,
/// NUL, non-ASCII, plus any character at all.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-z0-9]{1,4}",
        2 => Just("\n".to_string()),
        2 => Just("\r".to_string()),
        2 => Just("\r\n".to_string()),
        2 => Just(" ".to_string()),
        1 => Just(":".to_string()),
        1 => Just("\0".to_string()),
        1 => Just("\u{FEFF}".to_string()),
        1 => Just("é🎉".to_string()),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// Bytes that look like an event stream, with the hard parts overrepresented: BOMs, every
/// kind of line ending, field names, invalid UTF-8.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        3 => Just(b"data".to_vec()),
        2 => Just(b"event".to_vec()),
        2 => Just(b"id".to_vec()),
        2 => Just(b"retry".to_vec()),
        1 => Just(b"dat".to_vec()),
        4 => Just(b":".to_vec()),
        3 => Just(b" ".to_vec()),
        4 => Just(b"\n".to_vec()),
        3 => Just(b"\r".to_vec()),
        3 => Just(b"\r\n".to_vec()),
        1 => Just(b"\xEF\xBB\xBF".to_vec()),
        1 => Just(b"\xEF\xBB".to_vec()),
        1 => Just(b"\0".to_vec()),
        1 => Just(b"\xFF".to_vec()),
        1 => Just(b"\xE2\x82".to_vec()),
        1 => Just("é".as_bytes().to_vec()),
        3 => "[0-9]{1,3}".prop_map(String::into_bytes),
        3 => "[a-z]{1,3}".prop_map(String::into_bytes),
        // Whole lines, so that complete blocks of every kind are common.
        2 => Just(b"data: x\n".to_vec()),
        2 => Just(b"retry: 7\n".to_vec()),
        2 => Just(b"id: 3\n".to_vec()),
        1 => Just(b"event: e\n".to_vec()),
        1 => Just(b": c\n".to_vec()),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

/// Splits `input` at the given positions (taken modulo its length, in order).
fn chunked<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for point in points {
        chunks.push(&input[start..point]);
        start = point;
    }
    chunks.push(&input[start..]);
    chunks
}

fn frames(config: Config, chunks: &[&[u8]]) -> Vec<oracle::Seen> {
    oracle::run_parser(&mut Parser::with_config(config), chunks)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn builder_round_trip(
        event_type in proptest::option::of(tricky_text()),
        id in proptest::option::of(tricky_text()),
        data in proptest::option::of(tricky_text()),
        comment in proptest::option::of(tricky_text()),
        retry_ms in proptest::option::of(any::<u64>()),
    ) {
        let mut builder = Event::builder();
        if let Some(t) = &event_type { builder = builder.event(t.as_str()); }
        if let Some(i) = &id { builder = builder.id(i.as_str()); }
        if let Some(c) = &comment { builder = builder.comment(c.as_str()); }
        if let Some(ms) = retry_ms { builder = builder.retry(Duration::from_millis(ms)); }
        if let Some(d) = &data { builder = builder.data(d.as_str()); }

        let breaks = |s: &str| s.contains(['\r', '\n']);
        let expected_error = match (&event_type, &id) {
            (Some(t), _) if breaks(t) => Some(EncodeError::EventTypeLineBreak),
            (_, Some(i)) if breaks(i) => Some(EncodeError::IdLineBreak),
            (_, Some(i)) if i.contains('\0') => Some(EncodeError::IdNul),
            _ => None,
        };
        let event = match builder.build() {
            Err(error) => {
                prop_assert_eq!(Some(error), expected_error);
                return Ok(());
            }
            Ok(event) => event,
        };
        prop_assert_eq!(expected_error, None);

        // The event holds what a client will see: line breaks normalised to LF.
        let normal = |s: &str| s.replace("\r\n", "\n").replace('\r', "\n");
        prop_assert_eq!(event.data(), normal(data.as_deref().unwrap_or("")));

        let wire = event.to_bytes();
        prop_assert_eq!(wire.len(), event.encoded_len());
        let mut parser = Parser::new();
        parser.feed_bytes(wire);
        parser.finish();
        let mut decoded = Vec::new();
        while let Some(frame) = parser.next_frame() {
            decoded.push(frame.unwrap());
        }
        let parsed_events: Vec<&Event> = decoded
            .iter()
            .filter_map(|f| match f { Frame::Event(e) => Some(e), _ => None })
            .collect();
        let comments: Vec<String> = decoded
            .iter()
            .filter_map(|f| match f { Frame::Comment(c) => Some(c.to_string()), _ => None })
            .collect();
        prop_assert_eq!(comments, event.comments().collect::<Vec<_>>());
        prop_assert_eq!(parser.retry(), event.retry());
        prop_assert_eq!(parser.last_event_id(), event.last_event_id());
        if event.has_data() {
            prop_assert_eq!(parsed_events.len(), 1);
            let parsed = parsed_events[0];
            prop_assert_eq!(parsed.event_type(), event.event_type());
            prop_assert_eq!(parsed.data(), event.data());
            prop_assert_eq!(parsed.id(), event.id());
            prop_assert_eq!(parsed.retry(), event.retry());
            // And as a whole, less the comments (the parser reports those as frames).
            let mut bare = event.clone();
            if bare.comments().next().is_some() {
                let mut b = Event::builder().event(bare.event_type()).data(bare.data());
                if let Some(i) = bare.id() { b = b.id(i); }
                if let Some(r) = bare.retry() { b = b.retry(r); }
                bare = b.build().unwrap();
            }
            prop_assert_eq!(parsed, &bare);
        } else {
            prop_assert!(parsed_events.is_empty());
        }
    }

    #[test]
    fn any_chunking_gives_the_frames_of_the_whole(
        input in stream_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = frames(Config::new(), &[&input]);
        prop_assert_eq!(frames(Config::new(), &chunked(&input, &cuts)), whole);
    }

    #[test]
    fn any_chunking_gives_the_same_frames_under_a_limit(
        input in stream_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        limit in 0usize..24,
    ) {
        let config = Config::new().max_event_size(limit);
        let whole = frames(config, &[&input]);
        prop_assert_eq!(frames(config, &chunked(&input, &cuts)), whole);
    }

    #[test]
    fn parser_agrees_with_the_naive_oracle(
        input in stream_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        prop_assert_eq!(frames(Config::new(), &chunked(&input, &cuts)), oracle::parse(&input));
    }

    #[test]
    fn reencoded_frames_parse_to_the_same_frames(input in stream_bytes()) {
        let mut parser = Parser::new();
        parser.feed_bytes(Bytes::from(input));
        parser.finish();
        let mut upstream = Vec::new();
        let mut wire = BytesMut::new();
        while let Some(frame) = parser.next_frame() {
            let frame = frame.unwrap();
            frame.encode(&mut wire);
            upstream.push(frame);
        }
        let mut again = Parser::new();
        again.feed_bytes(wire.freeze());
        again.finish();
        let downstream: Vec<Frame> = std::iter::from_fn(|| again.next_frame()).map(Result::unwrap).collect();
        // Downstream, an event's retry is reported by the `Retry` frame before it alone.
        let downstream: Vec<oracle::Seen> = downstream.into_iter().map(|f| oracle::seen(Ok(f))).collect();
        let expected: Vec<oracle::Seen> = upstream
            .into_iter()
            .map(|f| oracle::without_event_retry(oracle::seen(Ok(f))))
            .collect();
        prop_assert_eq!(downstream, expected);
    }

    #[test]
    fn held_memory_stays_within_the_limit(
        input in stream_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        limit in 0usize..24,
    ) {
        let mut parser = Parser::with_config(Config::new().max_event_size(limit));
        for chunk in chunked(&input, &cuts) {
            parser.feed(chunk);
            while parser.next_frame().is_some() {
                prop_assert!(parser.buffered_len() <= limit, "{} > {}", parser.buffered_len(), limit);
            }
            prop_assert!(parser.buffered_len() <= limit);
        }
    }
}
