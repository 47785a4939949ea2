//! The encoder's exact bytes for tricky values, and every builder rejection.

use std::time::Duration;

use bytes::BytesMut;
use sse_wire::{EncodeError, Event, EventBuilder, EventRef, Frame, Parser, KEEP_ALIVE};

/// Builds, checks the exact wire bytes, and checks `encoded_len` and the round trip.
fn wire(builder: EventBuilder, expected: &str) {
    let event = builder.build().expect("valid event");
    assert_eq!(event.to_bytes(), expected.as_bytes(), "{event:?}");
    assert_eq!(
        event.encoded_len(),
        expected.len(),
        "encoded_len of {event:?}"
    );
    let mut parser = Parser::new();
    parser.feed_bytes(event.to_bytes());
    if event.has_data() {
        assert_eq!(
            parser.next_event().unwrap().unwrap(),
            event.clone().without_comments()
        );
    } else {
        assert!(
            parser.next_event().is_none(),
            "a block without data dispatches nothing"
        );
    }
}

/// Parsed events carry no comments (those are frames); compare the rest.
trait WithoutComments {
    fn without_comments(self) -> Event;
}

impl WithoutComments for Event {
    fn without_comments(self) -> Event {
        let mut b = Event::builder();
        if self.event_type() != "message" {
            b = b.event(self.event_type());
        }
        if let Some(id) = self.id() {
            b = b.id(id);
        }
        if let Some(retry) = self.retry() {
            b = b.retry(retry);
        }
        if self.has_data() {
            b = b.data(self.data());
        }
        b.build().unwrap()
    }
}

macro_rules! encodes {
    ($($rule:ident: $builder:expr => $expected:expr;)*) => {$(
        #[test]
        fn $rule() {
            wire($builder, $expected);
        }
    )*};
}

encodes! {
    data_single_line: Event::builder().data("hello") => "data: hello\n\n";
    data_lf_splits_lines: Event::builder().data("a\nb") => "data: a\ndata: b\n\n";
    data_cr_splits_lines: Event::builder().data("a\rb") => "data: a\ndata: b\n\n";
    data_crlf_is_one_break: Event::builder().data("a\r\nb") => "data: a\ndata: b\n\n";
    data_lf_cr_is_two_breaks: Event::builder().data("a\n\rb") => "data: a\ndata: \ndata: b\n\n";
    data_trailing_break_keeps_empty_line: Event::builder().data("a\n") => "data: a\ndata: \n\n";
    data_only_breaks: Event::builder().data("\r\n\r\n") => "data: \ndata: \ndata: \n\n";
    data_leading_space_survives: Event::builder().data("  two spaces") => "data:   two spaces\n\n";
    data_empty_still_dispatches: Event::builder().data("") => "data: \n\n";
    data_unicode: Event::builder().data("naïve ☕ 🎉") => "data: naïve ☕ 🎉\n\n";
    data_nul_is_fine: Event::builder().data("a\0b") => "data: a\0b\n\n";
    data_colons: Event::builder().data(": not a comment") => "data: : not a comment\n\n";
    data_twice_adds_lines: Event::builder().data("a").data("b\r\nc") => "data: a\ndata: b\ndata: c\n\n";
    event_type_named: Event::builder().event("tick").data("1") => "event: tick\ndata: 1\n\n";
    event_type_empty_is_default: Event::builder().event("").data("1") => "data: 1\n\n";
    event_type_leading_space_survives: Event::builder().event(" x").data("1") => "event:  x\ndata: 1\n\n";
    id_written: Event::builder().id("42").data("1") => "id: 42\ndata: 1\n\n";
    id_empty_resets: Event::builder().id("") => "id: \n\n";
    id_unicode: Event::builder().id("ключ-1").data("1") => "id: ключ-1\ndata: 1\n\n";
    retry_in_milliseconds: Event::builder().retry(Duration::from_millis(1500)) => "retry: 1500\n\n";
    retry_seconds_become_milliseconds: Event::builder().retry(Duration::from_secs(3)) => "retry: 3000\n\n";
    retry_zero: Event::builder().retry(Duration::ZERO) => "retry: 0\n\n";
    retry_fraction_truncates: Event::builder().retry(Duration::from_micros(2999)) => "retry: 2\n\n";
    retry_largest: Event::builder().retry(Duration::from_millis(u64::MAX)) => "retry: 18446744073709551615\n\n";
    comment_line: Event::builder().comment("hi") => ": hi\n\n";
    comment_breaks_split: Event::builder().comment("a\r\nb\rc") => ": a\n: b\n: c\n\n";
    comment_empty: Event::builder().comment("") => ": \n\n";
    comments_then_fields_in_order: Event::builder()
        .data("d").retry(Duration::from_millis(5)).id("i").event("e").comment("c")
        => ": c\nevent: e\nid: i\nretry: 5\ndata: d\n\n";
    empty_builder_writes_nothing: Event::builder() => "";
}

macro_rules! rejects {
    ($($rule:ident: $builder:expr => $error:expr, $message:expr;)*) => {$(
        #[test]
        fn $rule() {
            let error = $builder.build().unwrap_err();
            assert_eq!(error, $error);
            assert_eq!(error.to_string(), $message);
        }
    )*};
}

rejects! {
    event_type_with_lf_is_rejected: Event::builder().event("a\nb").data("x")
        => EncodeError::EventTypeLineBreak, "event type contains a line break (CR or LF)";
    event_type_with_cr_is_rejected: Event::builder().event("a\r")
        => EncodeError::EventTypeLineBreak, "event type contains a line break (CR or LF)";
    id_with_lf_is_rejected: Event::builder().id("1\ndata: injected")
        => EncodeError::IdLineBreak, "id contains a line break (CR or LF)";
    id_with_cr_is_rejected: Event::builder().id("\r1")
        => EncodeError::IdLineBreak, "id contains a line break (CR or LF)";
    id_with_nul_is_rejected: Event::builder().id("a\0")
        => EncodeError::IdNul, "id contains U+0000 NULL, which clients ignore";
    retry_past_u64_millis_is_rejected: Event::builder().retry(Duration::from_secs(u64::MAX))
        => EncodeError::RetryTooLarge, "retry delay does not fit in 64-bit milliseconds";
    first_error_wins: Event::builder().id("\0").event("\n")
        => EncodeError::IdNul, "id contains U+0000 NULL, which clients ignore";
    later_valid_value_does_not_clear_an_error: Event::builder().event("\n").event("ok")
        => EncodeError::EventTypeLineBreak, "event type contains a line break (CR or LF)";
}

#[test]
fn id_line_break_is_reported_before_nul() {
    assert_eq!(
        Event::builder().id("\0\n").build(),
        Err(EncodeError::IdLineBreak)
    );
}

#[test]
fn from_data_matches_the_builder() {
    for data in ["", "a", "a\r\nb\rc\n", " lead"] {
        assert_eq!(
            Event::from_data(data),
            Event::builder().data(data).build().unwrap()
        );
        assert_eq!(
            Event::from_data(data).to_bytes(),
            Event::builder().data(data).build().unwrap().to_bytes()
        );
    }
}

#[test]
fn encode_appends_to_a_reused_buffer() {
    let mut buf = BytesMut::from(&b"prefix|"[..]);
    Event::from_data("a").encode(&mut buf);
    Event::from_data("b").encode(&mut buf);
    assert_eq!(&buf[..], b"prefix|data: a\n\ndata: b\n\n");
}

#[test]
fn keep_alive_is_a_comment_block() {
    assert_eq!(KEEP_ALIVE, b":\n\n");
    let mut parser = Parser::new();
    parser.feed(KEEP_ALIVE);
    parser.feed(b"data: after\n\n");
    assert!(matches!(parser.next_frame(), Some(Ok(Frame::Comment(c))) if c.is_empty()));
    assert_eq!(parser.next_event().unwrap().unwrap().data(), "after");
}

#[test]
fn built_event_accessors() {
    let event = Event::builder()
        .event("e")
        .id("7")
        .retry(Duration::from_millis(9))
        .comment("c1\nc2")
        .data("d")
        .build()
        .unwrap();
    assert_eq!(event.event_type(), "e");
    assert_eq!(event.data(), "d");
    assert_eq!(event.data_bytes().as_ref(), b"d");
    assert_eq!(event.id(), Some("7"));
    assert_eq!(event.last_event_id(), "7");
    assert_eq!(event.retry(), Some(Duration::from_millis(9)));
    assert_eq!(event.comments().collect::<Vec<_>>(), ["c1", "c2"]);
    assert!(event.has_data());
    let bare = Event::builder().build().unwrap();
    assert!(!bare.has_data());
    assert_eq!(
        (
            bare.event_type(),
            bare.data(),
            bare.id(),
            bare.last_event_id()
        ),
        ("message", "", None, "")
    );
    assert!(bare.data_bytes().is_empty());
}

#[test]
fn event_equality_treats_absent_type_as_message() {
    let mut parser = Parser::new();
    parser.feed(b"event: message\ndata: x\n\n");
    let parsed = parser.next_event().unwrap().unwrap();
    assert_eq!(parsed, Event::from_data("x"));
    assert_ne!(parsed, Event::from_data("y"));
    assert_ne!(
        Event::from_data(""),
        Event::builder().build().unwrap(),
        "empty data is not no data"
    );
}

#[test]
fn frames_reencode_to_a_stream_with_the_same_effect() {
    let upstream: &[u8] =
        b": hi\nretry: 10\nevent: e\nid: 1\ndata: a\r\ndata: b\n\nid: 2\n\n:\nid\n\ndata: c\n\n";
    let frames = |input: &[u8]| {
        let mut parser = Parser::new();
        parser.feed(input);
        parser.finish();
        std::iter::from_fn(|| parser.next_frame())
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    let first = frames(upstream);
    let mut downstream = BytesMut::new();
    for frame in &first {
        frame.encode(&mut downstream);
    }
    // The retry is a block of its own, so it cannot join another block; the event leaves
    // its retry to it.
    assert_eq!(
        std::str::from_utf8(&downstream).unwrap(),
        ": hi\nretry: 10\n\nevent: e\nid: 1\ndata: a\ndata: b\n\nid: 2\n\n: \nid: \n\ndata: c\n\n"
    );
    let second = frames(&downstream);
    assert_eq!(second.len(), first.len());
    for (a, b) in first.iter().zip(&second) {
        match (a, b) {
            (Frame::Event(a), Frame::Event(b)) => {
                assert_eq!(
                    a.retry(),
                    Some(Duration::from_millis(10)).filter(|_| a.id() == Some("1"))
                );
                assert_eq!(b.retry(), None);
                assert_eq!(
                    (a.event_type(), a.data(), a.id(), a.last_event_id()),
                    (b.event_type(), b.data(), b.id(), b.last_event_id())
                );
            }
            (a, b) => assert_eq!(a, b),
        }
    }
}

#[test]
fn public_types_are_send_sync_and_static() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Event>();
    check::<EventBuilder>();
    check::<Frame>();
    check::<Parser>();
    check::<sse_wire::Config>();
    check::<sse_wire::Text>();
    check::<sse_wire::ParseError>();
    check::<EncodeError>();
    check::<EventRef<'static>>();
}

// ---------------------------------------------------------------------------------------
// `EventRef`: the borrowed path writes what the builder's event writes, and refuses what
// the builder refuses, writing nothing.

/// Encodes `event` after some bytes already in the buffer; checks they are kept.
fn encode_ref(event: EventRef<'_>) -> Result<String, EncodeError> {
    let mut buf = BytesMut::from(&b"kept"[..]);
    let result = event.encode(&mut buf);
    assert_eq!(&buf[..4], b"kept", "bytes before the event changed");
    match result {
        Ok(()) => Ok(String::from_utf8(buf[4..].to_vec()).expect("UTF-8 out")),
        Err(error) => {
            assert_eq!(&buf[..], b"kept", "{error:?}, yet bytes were written");
            Err(error)
        }
    }
}

macro_rules! encodes_ref {
    ($($rule:ident: $event:expr => $expected:expr;)*) => {$(
        #[test]
        fn $rule() {
            assert_eq!(encode_ref($event).as_deref(), Ok($expected));
        }
    )*};
}

encodes_ref! {
    event_ref_data_single_line: EventRef::new("hello") => "data: hello\n\n";
    event_ref_data_lf_cr_crlf_split_lines: EventRef::new("a\nb\rc\r\nd") => "data: a\ndata: b\ndata: c\ndata: d\n\n";
    event_ref_data_lf_cr_is_two_breaks: EventRef::new("a\n\rb") => "data: a\ndata: \ndata: b\n\n";
    event_ref_data_trailing_cr_keeps_empty_line: EventRef::new("a\r") => "data: a\ndata: \n\n";
    event_ref_data_only_breaks: EventRef::new("\r\n\r\n") => "data: \ndata: \ndata: \n\n";
    event_ref_data_empty_still_dispatches: EventRef::new("") => "data: \n\n";
    event_ref_data_leading_space_survives: EventRef::new("  x") => "data:   x\n\n";
    event_ref_event_type_empty_is_default: EventRef::new("1").event("") => "data: 1\n\n";
    event_ref_id_empty_resets: EventRef::new("1").id("") => "id: \ndata: 1\n\n";
    event_ref_retry_largest: EventRef::new("1").retry(Duration::from_millis(u64::MAX))
        => "retry: 18446744073709551615\ndata: 1\n\n";
    event_ref_comment_breaks_split: EventRef::new("1").comment("a\r\nb\rc") => ": a\n: b\n: c\ndata: 1\n\n";
    event_ref_second_comment_replaces_the_first: EventRef::new("1").comment("a").comment("b") => ": b\ndata: 1\n\n";
    event_ref_fields_in_builder_order: EventRef::new("d").retry(Duration::from_millis(5)).id("i").event("e").comment("c")
        => ": c\nevent: e\nid: i\nretry: 5\ndata: d\n\n";
}

macro_rules! rejects_ref {
    ($($rule:ident: $event:expr => $error:expr;)*) => {$(
        #[test]
        fn $rule() {
            assert_eq!(encode_ref($event), Err($error));
        }
    )*};
}

/// Long values (24 bytes and up) take memchr rather than the plain loop: both are covered.
const LONG: &str = "0123456789abcdefghijklmnopqrstuvwxyz";

rejects_ref! {
    event_ref_event_type_with_lf_is_rejected: EventRef::new("x").event("a\nb") => EncodeError::EventTypeLineBreak;
    event_ref_event_type_with_cr_is_rejected: EventRef::new("x").event("a\r") => EncodeError::EventTypeLineBreak;
    event_ref_long_event_type_with_lf_is_rejected: EventRef::new("x").event(&format!("{LONG}\n")) => EncodeError::EventTypeLineBreak;
    event_ref_id_with_lf_is_rejected: EventRef::new("x").id("1\ndata: injected") => EncodeError::IdLineBreak;
    event_ref_id_with_cr_is_rejected: EventRef::new("x").id("\r1") => EncodeError::IdLineBreak;
    event_ref_id_with_nul_is_rejected: EventRef::new("x").id("a\0") => EncodeError::IdNul;
    event_ref_long_id_with_cr_is_rejected: EventRef::new("x").id(&format!("{LONG}\r")) => EncodeError::IdLineBreak;
    event_ref_long_id_with_nul_is_rejected: EventRef::new("x").id(&format!("{LONG}\0")) => EncodeError::IdNul;
    event_ref_id_line_break_is_reported_before_nul: EventRef::new("x").id("\0\n") => EncodeError::IdLineBreak;
    event_ref_retry_past_u64_millis_is_rejected: EventRef::new("x").retry(Duration::MAX) => EncodeError::RetryTooLarge;
    event_ref_event_type_is_checked_before_id: EventRef::new("x").id("\0").event("\n") => EncodeError::EventTypeLineBreak;
    event_ref_id_is_checked_before_retry: EventRef::new("x").retry(Duration::MAX).id("\n") => EncodeError::IdLineBreak;
}

mod event_ref_agrees_with_the_builder {
    use super::*;
    use proptest::prelude::*;

    /// Text rich in what the encoder must get right: every kind of line break, NUL, leading
    /// spaces, colons, multi-byte characters, the empty string; long enough to cross the
    /// plain-loop length of the checks. Arbitrary strings too.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "a",
            " ",
            "  ",
            "\r",
            "\n",
            "\r\n",
            "\n\r",
            "\0",
            ":",
            "é",
            "🙂",
            "data: x",
            "0123456789",
        ]);
        prop_oneof![
            3 => prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat()),
            1 => any::<String>(),
        ]
    }

    fn retry() -> impl Strategy<Value = Duration> {
        prop_oneof![
            (0u64..100_000).prop_map(Duration::from_millis),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Same fields, same result: the same bytes, or the same error and nothing
        /// written. The builder is called in the order `EventRef` checks its fields.
        #[test]
        fn same_bytes_or_same_error(
            data in text(),
            event_type in prop::option::of(text()),
            id in prop::option::of(text()),
            retry in prop::option::of(retry()),
            comment in prop::option::of(text()),
        ) {
            let mut event = EventRef::new(&data);
            let mut builder = Event::builder();
            if let Some(comment) = &comment {
                event = event.comment(comment);
                builder = builder.comment(comment.as_str());
            }
            if let Some(event_type) = &event_type {
                event = event.event(event_type);
                builder = builder.event(event_type);
            }
            if let Some(id) = &id {
                event = event.id(id);
                builder = builder.id(id);
            }
            if let Some(retry) = retry {
                event = event.retry(retry);
                builder = builder.retry(retry);
            }
            let built = builder.data(data.as_str()).build();
            let want = built.map(|event| {
                String::from_utf8(event.to_bytes().to_vec()).expect("UTF-8 out")
            });
            prop_assert_eq!(encode_ref(event), want);
        }
    }
}

// ---------------------------------------------------------------------------------------
// `EncodeStream` hands one-line data of 16 KiB or more to the connection as it is.

#[cfg(feature = "stream")]
mod large_data_passes_through {
    use bytes::Bytes;
    use futures_executor::block_on;
    use futures_util::{stream, StreamExt};
    use sse_wire::{EncodeStream, Event, Frame};

    const PASS_THROUGH: usize = 16 * 1024;

    fn chunks<I>(items: Vec<I>) -> Vec<Bytes>
    where
        I: sse_wire::EncodeItem<Error = std::convert::Infallible>,
    {
        block_on(
            EncodeStream::new(stream::iter(items))
                .map(|chunk| chunk.unwrap_or_else(|never| match never {}))
                .collect(),
        )
    }

    fn big(len: usize) -> Event {
        Event::builder()
            .event("image")
            .id("7")
            .data("x".repeat(len))
            .build()
            .unwrap()
    }

    #[test]
    fn one_line_data_of_16_kib_is_its_own_chunk_the_events_own_bytes() {
        let large = big(PASS_THROUGH);
        let events = vec![Event::from_data("a"), large.clone(), Event::from_data("b")];
        let want: Vec<u8> = events.iter().flat_map(|e| e.to_bytes().to_vec()).collect();
        let got = chunks(events);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], "data: a\n\nevent: image\nid: 7\ndata: ");
        assert_eq!(
            got[1].as_ptr(),
            large.data_bytes().as_ptr(),
            "data was copied"
        );
        assert_eq!(got[1].len(), PASS_THROUGH);
        assert_eq!(got[2], "\n\ndata: b\n\n");
        assert_eq!(got.concat(), want);
    }

    #[test]
    fn the_block_end_goes_out_alone_when_the_stream_ends() {
        let large = big(PASS_THROUGH + 1);
        let got = chunks(vec![large.clone()]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], "\n\n");
        assert_eq!(got.concat(), large.to_bytes());
    }

    #[test]
    fn smaller_or_multi_line_data_is_copied_and_coalesced() {
        let below = big(PASS_THROUGH - 1);
        let multi = Event::from_data(format!("{}\n{}", "y".repeat(PASS_THROUGH), "z"));
        let events = vec![below.clone(), multi.clone()];
        let got = chunks(events);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0], [below.to_bytes(), multi.to_bytes()].concat());
    }

    #[test]
    fn a_frames_event_passes_through_without_its_retry() {
        let event = Event::builder()
            .retry(std::time::Duration::from_millis(5))
            .data("w".repeat(PASS_THROUGH))
            .build()
            .unwrap();
        let frame = Frame::Event(event.clone());
        let mut want = bytes::BytesMut::new();
        frame.encode(&mut want);
        let got = chunks(vec![frame]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], "data: ");
        assert_eq!(got[1].as_ptr(), event.data_bytes().as_ptr());
        assert_eq!(got.concat(), want);
    }

    #[test]
    fn results_pass_through_and_errors_keep_their_place() {
        let large = big(PASS_THROUGH);
        let items = vec![
            Ok(large.clone()),
            Err("upstream"),
            Ok(Event::from_data("c")),
        ];
        let got: Vec<Result<Bytes, &str>> =
            block_on(EncodeStream::new(stream::iter(items)).collect());
        let want: Vec<Result<Bytes, &str>> = vec![
            Ok(Bytes::from("event: image\nid: 7\ndata: ")),
            Ok(large.data_bytes().clone()),
            Ok(Bytes::from("\n\n")),
            Err("upstream"),
            Ok(Bytes::from("data: c\n\n")),
        ];
        assert_eq!(got, want);
    }

    mod law {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Whatever is passed through, the chunks put together are the events' bytes,
            /// and no chunk is empty.
            #[test]
            fn chunks_concatenate_to_the_events(
                shapes in prop::collection::vec(
                    (prop::sample::select(vec![0, 1, PASS_THROUGH - 1, PASS_THROUGH, PASS_THROUGH + 3000]), any::<bool>(), any::<bool>()),
                    0..6,
                ),
            ) {
                let events: Vec<Event> = shapes
                    .iter()
                    .map(|&(len, multi_line, retry)| {
                        let mut data = "d".repeat(len);
                        if multi_line {
                            data.insert(len / 2, '\n');
                        }
                        let mut builder = Event::builder().data(data);
                        if retry {
                            builder = builder.retry(std::time::Duration::from_millis(9));
                        }
                        builder.build().unwrap()
                    })
                    .collect();
                let want: Vec<u8> = events.iter().flat_map(|e| e.to_bytes().to_vec()).collect();
                let got = chunks(events);
                prop_assert!(got.iter().all(|c| !c.is_empty()));
                prop_assert_eq!(got.concat(), want);
            }
        }
    }
}
