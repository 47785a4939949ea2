//! The WHATWG "Server-sent events" parsing rules, one named case each.
//!
//! Every case runs fed whole, split in two at every byte position, and one byte at a time;
//! through `feed` and `feed_bytes`; through `next_frame` and `next_event`; and the naive
//! oracle in `tests/oracle` must agree with the expected frames too.

mod oracle;

use bytes::Bytes;
use oracle::Seen;
use sse_wire::{Config, Parser};

/// An event of type `message` with `data`, no id, empty last event ID, no retry.
fn msg(data: &str) -> Seen {
    Seen::Event {
        event_type: "message".into(),
        data: data.into(),
        id: None,
        last_event_id: String::new(),
        retry: None,
    }
}

/// Field setters for the expected events of the table.
trait Expect {
    fn typ(self, event_type: &str) -> Seen;
    /// The block's id field; the last event ID follows it.
    fn id(self, id: &str) -> Seen;
    fn last(self, last_event_id: &str) -> Seen;
    fn retry(self, ms: u64) -> Seen;
}

impl Expect for Seen {
    fn typ(mut self, t: &str) -> Seen {
        if let Seen::Event { event_type, .. } = &mut self {
            *event_type = t.into();
        }
        self
    }
    fn id(mut self, value: &str) -> Seen {
        if let Seen::Event {
            id, last_event_id, ..
        } = &mut self
        {
            *id = Some(value.into());
            *last_event_id = value.into();
        }
        self
    }
    fn last(mut self, value: &str) -> Seen {
        if let Seen::Event { last_event_id, .. } = &mut self {
            *last_event_id = value.into();
        }
        self
    }
    fn retry(mut self, ms: u64) -> Seen {
        if let Seen::Event { retry, .. } = &mut self {
            *retry = Some(ms);
        }
        self
    }
}

fn comment(text: &str) -> Seen {
    Seen::Comment(text.into())
}

fn retry(ms: u64) -> Seen {
    Seen::Retry(ms)
}

fn id(value: &str) -> Seen {
    Seen::Id(value.into())
}

/// Runs `input` through every chunking and every entry point; all must give `expected`.
fn check_with(config: Config, rule: &str, input: &[u8], expected: &[Seen]) {
    let run = |chunks: &[&[u8]]| oracle::run_parser(&mut Parser::with_config(config), chunks);
    assert_eq!(run(&[input]), expected, "{rule}: fed whole");
    for at in 0..=input.len() {
        let (a, b) = input.split_at(at);
        assert_eq!(run(&[a, b]), expected, "{rule}: split at {at}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytes), expected, "{rule}: one byte at a time");

    // `feed` (copying) must behave like `feed_bytes`.
    let mut parser = Parser::with_config(config);
    let mut seen = Vec::new();
    for byte in input.chunks(1) {
        parser.feed(byte);
        while let Some(frame) = parser.next_frame() {
            seen.push(oracle::seen(frame));
        }
    }
    parser.finish();
    while let Some(frame) = parser.next_frame() {
        seen.push(oracle::seen(frame));
    }
    assert_eq!(seen, expected, "{rule}: through feed");

    // `next_event` reports exactly the events (and errors) among the frames.
    let mut parser = Parser::with_config(config);
    parser.feed_bytes(Bytes::copy_from_slice(input));
    parser.finish();
    let mut events = Vec::new();
    while let Some(event) = parser.next_event() {
        events.push(oracle::seen(event.map(sse_wire::Frame::Event)));
    }
    let expected_events: Vec<Seen> = expected
        .iter()
        .filter(|s| matches!(s, Seen::Event { .. } | Seen::TooLarge))
        .cloned()
        .collect();
    assert_eq!(events, expected_events, "{rule}: next_event");
}

fn check(rule: &str, input: &[u8], expected: &[Seen]) {
    check_with(Config::new(), rule, input, expected);
    assert_eq!(
        oracle::parse(input),
        expected,
        "{rule}: the oracle disagrees"
    );
}

macro_rules! spec {
    ($($rule:ident: $input:expr => [$($frame:expr),* $(,)?];)*) => {$(
        #[test]
        fn $rule() {
            check(stringify!($rule), $input, &[$($frame),*]);
        }
    )*};
}

spec! {
    // Rule 1: UTF-8, U+FFFD, BOM.
    utf8_invalid_byte_becomes_replacement_character: b"data: a\xFFb\n\n" => [msg("a\u{FFFD}b")];
    utf8_truncated_sequence_is_one_replacement_character: b"data: \xE2\x82\n\n" => [msg("\u{FFFD}")];
    utf8_multibyte_characters_survive_any_split: "data: café 🎉 日本\n\n".as_bytes() => [msg("café 🎉 日本")];
    utf8_invalid_in_event_type_and_id: b"event: \xC3\nid: \xFF\ndata: x\n\n"
        => [msg("x").typ("\u{FFFD}").id("\u{FFFD}")];
    // Regression: the size of a replaced value was taken from its decoded (longer) form.
    utf8_invalid_in_repeated_event_and_id: b"event: \xFF\xFF\nevent: \xFF\nid: \xFF\xFF\nid: \xFF\ndata: x\n\n"
        => [msg("x").typ("\u{FFFD}").id("\u{FFFD}")];
    utf8_invalid_in_comment: b": \xF0\x9F\x8E\n" => [comment("\u{FFFD}")];
    // Long enough that the parser checks the UTF-8 of a chunk's complete lines at once: the
    // invalid bytes of the middle event are replaced, the events around it are untouched.
    utf8_invalid_among_many_complete_lines: &[
        &b"event: first\nid: 1\ndata: 0123456789 0123456789 0123456789 0123456789\n\n"[..],
        b"event: \xFFx\nid: 2\xE2\x82\ndata: caf\xC3 \xF0\x9F\x8E\n\n",
        b"event: last\nid: 3\ndata: 0123456789 0123456789 0123456789 0123456789 \xC3\xA9\n\n",
    ].concat() => [
        msg("0123456789 0123456789 0123456789 0123456789").typ("first").id("1"),
        msg("caf\u{FFFD} \u{FFFD}").typ("\u{FFFD}x").id("2\u{FFFD}"),
        msg("0123456789 0123456789 0123456789 0123456789 é").typ("last").id("3"),
    ];
    bom_at_stream_start_is_stripped: b"\xEF\xBB\xBFdata: a\n\n" => [msg("a")];
    bom_before_comment_is_stripped: b"\xEF\xBB\xBF:c\n" => [comment("c")];
    bom_only_one_is_stripped: b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n" => [msg("b")];
    bom_later_in_stream_is_content: b"data: a\n\n\xEF\xBB\xBFdata: b\n\n" => [msg("a")];
    bom_prefix_that_is_not_a_bom_is_content: b"\xEF\xBBdata: a\n\ndata: b\n\n" => [msg("b")];
    bom_prefix_then_line_end: b"\xEF\n\ndata: b\n\n" => [msg("b")];

    // Rule 2: line endings.
    line_ending_lf: b"data: a\n\n" => [msg("a")];
    line_ending_cr: b"data: a\r\r" => [msg("a")];
    line_ending_crlf: b"data: a\r\n\r\n" => [msg("a")];
    line_endings_mixed: b"data: a\rdata: b\ndata: c\r\n\n" => [msg("a\nb\nc")];
    crlf_is_one_line_ending: b"data: a\r\ndata: b\r\n\r\n" => [msg("a\nb")];
    lf_then_cr_is_two_line_endings: b"data: a\n\rdata: b\n\n" => [msg("a"), msg("b")];
    cr_at_end_of_stream_ends_its_line: b"data: a\n\r" => [msg("a")];
    cr_cr_lf_is_two_line_endings: b"data: a\r\r\ndata: b\n\n" => [msg("a"), msg("b")];

    // Rule 3: empty lines, comments, field names and values.
    empty_line_dispatches: b"data: a\n\ndata: b\n\n" => [msg("a"), msg("b")];
    comment_line: b": hello\n" => [comment("hello")];
    comment_without_space: b":hello\n" => [comment("hello")];
    comment_keeps_second_space: b":  two\n" => [comment(" two")];
    comment_empty: b":\n" => [comment("")];
    comment_inside_event_does_not_split_it: b"data: a\n: c\ndata: b\n\n" => [comment("c"), msg("a\nb")];
    value_loses_one_leading_space: b"data:  a\n\n" => [msg(" a")];
    value_without_space: b"data:a\n\n" => [msg("a")];
    value_keeps_trailing_space: b"data: a \n\n" => [msg("a ")];
    value_keeps_later_colons: b"data: a: b:c\n\n" => [msg("a: b:c")];
    field_without_colon_has_empty_value: b"data\n\n" => [msg("")];
    field_names_are_case_sensitive: b"Data: a\nEVENT: x\n\ndata: b\n\n" => [msg("b")];
    field_name_with_space_is_unknown: b"data : a\n\n" => [];
    unknown_field_is_ignored: b"foo: bar\ndata: a\n\n" => [msg("a")];

    // Rule 4: event, data, id, retry.
    event_field_sets_type: b"event: tick\ndata: 1\n\n" => [msg("1").typ("tick")];
    event_field_last_one_wins: b"event: a\nevent: b\ndata: 1\n\n" => [msg("1").typ("b")];
    event_type_applies_to_one_block: b"event: a\ndata: 1\n\ndata: 2\n\n" => [msg("1").typ("a"), msg("2")];
    event_type_empty_is_message: b"event:\ndata: 1\n\n" => [msg("1")];
    data_lines_are_joined_with_lf: b"data: a\ndata: b\ndata: c\n\n" => [msg("a\nb\nc")];
    data_empty_lines_are_kept: b"data\ndata\n\n" => [msg("\n")];
    data_with_nul_is_kept: b"data: a\0b\n\n" => [msg("a\0b")];
    id_field_sets_last_event_id: b"id: 1\ndata: a\n\n" => [msg("a").id("1")];
    id_persists_across_events: b"id: 1\ndata: a\n\ndata: b\n\n" => [msg("a").id("1"), msg("b").last("1")];
    id_empty_resets_last_event_id: b"id: 1\ndata: a\n\nid\ndata: b\n\n" => [msg("a").id("1"), msg("b").id("")];
    id_with_nul_is_ignored: b"id: 1\n\nid: a\0b\ndata: x\n\n" => [id("1"), msg("x").last("1")];
    id_may_contain_spaces_and_colons: b"id: a: b \ndata: x\n\n" => [msg("x").id("a: b ")];
    id_only_block_sets_last_event_id: b"id: 5\n\ndata: a\n\n" => [id("5"), msg("a").last("5")];
    retry_digits_are_milliseconds: b"retry: 1500\n" => [retry(1500)];
    retry_zero: b"retry: 0\n" => [retry(0)];
    retry_with_unit_is_ignored: b"retry: 1500ms\n" => [];
    retry_with_second_space_is_ignored: b"retry:  1500\n" => [];
    retry_empty_is_ignored: b"retry\nretry:\n" => [];
    retry_negative_or_fraction_is_ignored: b"retry: -1\nretry: 1.5\n" => [];
    retry_non_ascii_digits_are_ignored: "retry: １２\n".as_bytes() => [];
    retry_overflow_saturates: b"retry: 99999999999999999999999\n" => [retry(u64::MAX)];
    retry_belongs_to_its_event: b"data: a\nretry: 7\n\n" => [retry(7), msg("a").retry(7)];

    // Rule 5: dispatch.
    block_without_data_dispatches_nothing: b"event: x\n\n" => [];
    block_without_data_resets_type: b"event: x\n\ndata: a\n\n" => [msg("a")];
    empty_lines_alone_dispatch_nothing: b"\n\n\r\n\r" => [];

    // Rule 6: end of stream.
    unterminated_event_is_discarded: b"data: a\n\ndata: b\n" => [msg("a")];
    unterminated_line_is_discarded: b"data: a\n\nretry: 5" => [msg("a")];
    unterminated_id_block_does_not_set_last_event_id: b"id: 1\n" => [];
}

#[test]
fn cr_at_end_of_chunk_does_not_delay_its_line() {
    let mut parser = Parser::new();
    parser.feed(b": ping\r");
    // The CR is the last byte fed: the line must come out now, not after more input.
    assert_eq!(oracle::seen(parser.next_frame().unwrap()), comment("ping"));
    // Each LF that follows completes a CRLF; were it read as an empty line of its own,
    // "a" and "b" would be dispatched as two events.
    parser.feed(b"\ndata: a\r");
    parser.feed(b"\ndata: b\r");
    parser.feed(b"\n\r");
    assert_eq!(parser.next_event().unwrap().unwrap().data(), "a\nb");
    assert!(parser.next_event().is_none());
}

#[test]
fn id_takes_effect_at_dispatch_not_when_read() {
    let mut parser = Parser::new();
    parser.feed(b"id: 9\ndata: a\n");
    assert!(parser.next_event().is_none());
    assert_eq!(parser.last_event_id(), "");
    parser.feed(b"\n");
    assert_eq!(parser.next_event().unwrap().unwrap().last_event_id(), "9");
    assert_eq!(parser.last_event_id(), "9");
}

#[test]
fn event_last_event_id_is_what_was_current_at_its_dispatch() {
    // A client queueing events must resume from the one it processed, not from the
    // parser's newest id.
    let mut parser = Parser::new();
    parser.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n");
    let first = parser.next_event().unwrap().unwrap();
    let second = parser.next_event().unwrap().unwrap();
    assert_eq!(parser.last_event_id(), "2");
    assert_eq!(first.last_event_id(), "1");
    assert_eq!(second.last_event_id(), "2");
}

#[test]
fn retry_takes_effect_when_read_and_next_event_skips_it() {
    let mut parser = Parser::new();
    parser.feed(b"retry: 250\n: note\n");
    assert!(parser.next_event().is_none());
    assert_eq!(parser.retry(), Some(std::time::Duration::from_millis(250)));
    parser.feed(b"retry: x\n");
    assert!(parser.next_event().is_none());
    assert_eq!(parser.retry(), Some(std::time::Duration::from_millis(250)));
}

#[test]
fn finish_returns_complete_lines_and_drops_the_rest() {
    let mut parser = Parser::new();
    parser.feed(b"data: a\n\ndata: b\n\ndata: c");
    parser.finish();
    let data: Vec<String> = std::iter::from_fn(|| parser.next_event())
        .map(|e| e.unwrap().data().to_string())
        .collect();
    assert_eq!(data, ["a", "b"]);
}

#[test]
fn after_finish_a_new_stream_starts_with_state_carried_over() {
    let mut parser = Parser::new();
    parser.feed(b"retry: 100\nid: 3\ndata: a\n\nevent: lost\ndata: half");
    parser.finish();
    while parser.next_event().is_some() {}
    // A reconnection: BOM stripped again, half event gone, id and retry kept.
    parser.feed(b"\xEF\xBB\xBFdata: b\n\n");
    let event = parser.next_event().unwrap().unwrap();
    assert_eq!((event.event_type(), event.data()), ("message", "b"));
    assert_eq!(event.last_event_id(), "3");
    assert_eq!(parser.retry(), Some(std::time::Duration::from_millis(100)));
}

/// WHATWG: a new connection's last event ID buffer starts from the last event ID string,
/// which only a dispatch sets; web-platform-tests' eventsource suite checks this.
#[test]
fn after_finish_the_id_of_a_discarded_block_does_not_carry_over() {
    let stream: &[u8] = b"data:a\n\nid:x\ndata:b\n";
    let mut parser = Parser::new();
    let mut seen = oracle::run_parser(&mut parser, &[stream]);
    seen.extend(oracle::run_parser(&mut parser, &[stream]));
    let ids: Vec<_> = seen
        .iter()
        .map(|s| match s {
            oracle::Seen::Event { last_event_id, .. } => last_event_id.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(ids, ["", ""]);
    assert_eq!(parser.last_event_id(), "");
    assert_eq!(seen, oracle::parse_connections(&[stream, stream]));
}

#[test]
fn after_finish_a_dispatched_id_carries_over() {
    // An id-only block dispatches nothing, yet its blank line sets the last event ID.
    let first: &[u8] = b"id:x\ndata:a\n\nid:y\n\nid:z\ndata:lost\n";
    let second: &[u8] = b"data:b\n\n";
    let mut parser = Parser::new();
    let mut seen = oracle::run_parser(&mut parser, &[first]);
    seen.extend(oracle::run_parser(&mut parser, &[second]));
    let last = match seen.last() {
        Some(oracle::Seen::Event {
            last_event_id,
            data,
            ..
        }) => (data.as_str(), last_event_id.as_str()),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(last, ("b", "y"));
    assert_eq!(parser.last_event_id(), "y");
    assert_eq!(seen, oracle::parse_connections(&[first, second]));
}

#[test]
fn cr_before_finish_does_not_swallow_the_next_streams_lf() {
    let mut parser = Parser::new();
    parser.feed(b"data: a\r");
    parser.finish();
    parser.feed(b"\ndata: b\n\n");
    // The LF opens the new stream: an empty line, then the event.
    let events: Vec<_> = std::iter::from_fn(|| parser.next_event()).collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap().data(), "b");
}

// The size limit: one error per oversized event, recovery at the next one, for every
// chunking.
mod limit {
    use super::*;

    fn small() -> Config {
        Config::new().max_event_size(16)
    }

    #[test]
    fn event_over_the_limit_is_one_error_then_parsing_resumes() {
        check_with(
            small(),
            "limit",
            b"data: 0123456789\ndata: 0123456789\n\ndata: ok\n\n",
            &[Seen::TooLarge, msg("ok")],
        );
    }

    #[test]
    fn line_over_the_limit_is_one_error() {
        check_with(
            small(),
            "long line",
            b"data: 0123456789abcdefghij\ndata: more\n\nid: 7\ndata: ok\n\n",
            &[Seen::TooLarge, msg("ok").id("7")],
        );
    }

    #[test]
    fn long_comment_is_limited_too() {
        check_with(
            small(),
            "long comment",
            b": 0123456789abcdefghij\n\n: short\n",
            &[Seen::TooLarge, comment("short")],
        );
    }

    #[test]
    fn lines_before_the_overflow_took_effect() {
        // The retry and the id were read before the event grew too large.
        check_with(
            small(),
            "before overflow",
            b"retry: 5\nid: 1\ndata: 0123456789abcdef\nretry: 6\n\ndata: x\n\n",
            &[retry(5), Seen::TooLarge, msg("x").last("1")],
        );
    }

    #[test]
    fn event_exactly_at_the_limit_is_accepted() {
        // "data: " + 10 bytes is a 16-byte line; the event holds 10 + 1.
        check_with(
            small(),
            "at limit",
            b"data: 0123456789\n\n",
            &[msg("0123456789")],
        );
    }

    #[test]
    fn unterminated_oversized_event_reports_once() {
        check_with(
            Config::new().max_event_size(4),
            "unterminated",
            b"data: abcdefgh",
            &[Seen::TooLarge],
        );
    }

    #[test]
    fn zero_limit_still_sees_empty_lines() {
        check_with(
            Config::new().max_event_size(0),
            "zero",
            b"\n\ndata: a\n\n\n",
            &[Seen::TooLarge],
        );
    }
}

#[test]
fn parser_debug_is_a_summary_not_a_dump() {
    let mut parser = Parser::new();
    parser.feed(&vec![b'x'; 1 << 20]);
    let debug = format!("{parser:?}");
    assert!(debug.len() < 300, "{debug}");
    assert!(debug.contains("queued_chunks: 1"), "{debug}");
}
