//! The properties the fuzz targets check, in one place: each target in `fuzz/fuzz_targets/`
//! calls one of these functions, and `tests/fuzz_corpus.rs` replays the committed corpus
//! through the same functions on stable, so CI checks them without nightly.
//!
//! Every function takes raw bytes rather than an `arbitrary` type: the main crate's tests
//! can then replay the corpus without another dependency, and seeds stay easy to write by
//! hand (a few parameter bytes, then the stream).
// Each includer (one fuzz target, or the corpus replay) uses a different part.
#![allow(dead_code)]

// The oracle's items are `pub` for the tests that include it at their root; here it sits
// one module deeper.
#[allow(unreachable_pub)]
#[path = "../../tests/oracle/mod.rs"]
mod oracle;

use core::time::Duration;

#[cfg(feature = "hub")]
pub(crate) mod hub;

#[cfg(feature = "stream")]
pub(crate) mod decode;

use bytes::{Bytes, BytesMut};
use sse_wire::{Config, EncodeError, Event, EventBuilder, Frame, ParseError, Parser, Text};

/// Reads fuzzer-chosen parameters off the front of an input. Past the end every read is 0,
/// so any byte string is a valid input and a short seed means "the defaults".
struct Source<'a>(&'a [u8]);

impl<'a> Source<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&byte, rest)) => {
                self.0 = rest;
                byte
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(core::array::from_fn(|_| self.byte()))
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n.min(self.0.len()));
        self.0 = tail;
        head
    }

    /// A length-prefixed string. Lossy on purpose: CR, LF and NUL are single bytes, so the
    /// fuzzer reaches them easily, and the builder only takes valid UTF-8 anyway.
    fn text(&mut self) -> String {
        let len = usize::from(self.byte());
        String::from_utf8_lossy(self.take(len)).into_owned()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// A size limit spread over the interesting range: 0, tiny (every line is too long), a few
/// lines, a few KiB, and none at all.
fn limit(src: &mut Source<'_>) -> usize {
    match src.byte() % 4 {
        0 => usize::from(src.byte() % 16),
        1 => usize::from(src.byte()),
        2 => usize::from(src.u16()),
        _ => usize::MAX,
    }
}

/// `parse`: any bytes under any limit, in chunks of a fuzzer-chosen size. No panic; the
/// parser never holds more than its limit for the event in progress
/// (`Parser::buffered_len`, checked after every call); only `EventTooLarge` with that limit
/// comes out as an error; no dispatched event is larger than the limit allows.
///
/// Layout: limit (1 to 3 bytes), chunk size (0: all at once), mode, then the stream.
pub(crate) fn parse(input: &[u8]) {
    let mut src = Source(input);
    let limit = limit(&mut src);
    let chunk = usize::from(src.byte());
    let mode = src.byte();
    let stream = src.rest();
    let copy = mode & 1 != 0;
    let events_only = mode & 2 != 0;
    // A reconnection mid-input: `finish` and carry on with the same parser.
    let finish_every = usize::from(mode >> 4);

    let mut parser = Parser::with_config(Config::new().max_event_size(limit));
    let chunk = if chunk == 0 {
        stream.len().max(1)
    } else {
        chunk
    };
    for (i, piece) in stream.chunks(chunk).enumerate() {
        if copy {
            parser.feed(piece);
        } else {
            parser.feed_bytes(Bytes::copy_from_slice(piece));
        }
        assert_held(&parser, limit, "feed");
        drain_bounded(&mut parser, limit, events_only);
        if finish_every != 0 && (i + 1) % finish_every == 0 {
            parser.finish();
            assert_held(&parser, limit, "finish");
            drain_bounded(&mut parser, limit, events_only);
        }
    }
    parser.finish();
    assert_held(&parser, limit, "finish");
    drain_bounded(&mut parser, limit, events_only);
    assert_eq!(parser.buffered_len(), 0, "a finished parser holds nothing");
}

fn assert_held(parser: &Parser, limit: usize, after: &str) {
    let held = parser.buffered_len();
    assert!(
        held <= limit,
        "after {after}: the parser holds {held} bytes, over its limit of {limit}"
    );
}

fn drain_bounded(parser: &mut Parser, limit: usize, events_only: bool) {
    loop {
        let next = if events_only {
            parser.next_event().map(|r| r.map(Frame::Event))
        } else {
            parser.next_frame()
        };
        assert_held(parser, limit, "next");
        match next {
            None => return,
            Some(Ok(Frame::Event(event))) => {
                // Sizes count input bytes; each invalid input byte can decode to U+FFFD,
                // three bytes.
                let size = event.data().len() + event.id().map_or(0, str::len);
                assert!(
                    size <= limit.saturating_mul(3),
                    "an event of {size} bytes passed a limit of {limit}"
                );
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => assert_eq!(error, ParseError::EventTooLarge { limit }),
        }
    }
}

/// `parse_chunked`: the frames do not depend on where the input is split, nor on `feed`
/// versus `feed_bytes`, nor on when the caller drains the parser; limits included.
///
/// Layout: limit, mode, cut count, that many 2-byte cut positions, then the stream.
pub(crate) fn parse_chunked(input: &[u8]) {
    let mut src = Source(input);
    let limit = limit(&mut src);
    let mode = src.byte();
    let cuts = usize::from(src.byte() % 32);
    let mut cuts: Vec<usize> = (0..cuts).map(|_| usize::from(src.u16())).collect();
    let stream = src.rest();
    for cut in &mut cuts {
        *cut %= stream.len() + 1;
    }
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([stream.len()]) {
        chunks.push(&stream[start..cut]);
        start = cut;
    }

    let config = Config::new().max_event_size(limit);
    let events_only = mode & 4 != 0;
    let whole = run(config, &[stream], |_| false, true, events_only);
    let copy = |i: usize| match mode & 3 {
        0 => false,
        1 => true,
        _ => i & 1 == 0,
    };
    let drain_each = mode & 8 != 0;
    let chunked = run(config, &chunks, copy, drain_each, events_only);
    assert_eq!(chunked, whole, "chunks {chunks:?}");
}

fn run(
    config: Config,
    chunks: &[&[u8]],
    copy: impl Fn(usize) -> bool,
    drain_each: bool,
    events_only: bool,
) -> Vec<Result<Frame, ParseError>> {
    let mut parser = Parser::with_config(config);
    let mut out = Vec::new();
    let mut drain = |parser: &mut Parser| loop {
        let next = if events_only {
            parser.next_event().map(|r| r.map(Frame::Event))
        } else {
            parser.next_frame()
        };
        match next {
            Some(frame) => out.push(frame),
            None => break,
        }
    };
    for (i, chunk) in chunks.iter().enumerate() {
        if copy(i) {
            parser.feed(chunk);
        } else {
            parser.feed_bytes(Bytes::copy_from_slice(chunk));
        }
        if drain_each {
            drain(&mut parser);
        }
    }
    parser.finish();
    drain(&mut parser);
    out
}

/// `differential`: the parser, with a limit it cannot reach, reports exactly what the naive
/// oracle (`tests/oracle/mod.rs`, which shares no code with `src/`) sees, and ends with the
/// last event ID and retry delay those frames imply.
pub(crate) fn differential(input: &[u8]) {
    let mut parser = Parser::with_config(Config::new().max_event_size(input.len() + 1));
    let got = oracle::run_parser(&mut parser, &[input]);
    let want = oracle::parse(input);
    assert_eq!(got, want);

    let mut last_event_id = "";
    let mut retry = None;
    for seen in &want {
        match seen {
            oracle::Seen::Event {
                last_event_id: id, ..
            }
            | oracle::Seen::Id(id) => last_event_id = id,
            oracle::Seen::Retry(ms) => retry = Some(Duration::from_millis(*ms)),
            _ => {}
        }
    }
    assert_eq!(parser.last_event_id(), last_event_id);
    assert_eq!(parser.retry(), retry);
}

/// `roundtrip`: a fuzzer-chosen sequence of builder calls. `build` fails exactly when a
/// call broke a rule, with the error of the first such call; otherwise the event holds what
/// was given, its encoding has no CR (no injection) and says what `encoded_len` says, and
/// a parser reads back the same comments, retry, event type, data and id (the very same
/// `Event`, less the comments the parser reports as frames). Re-encoding the parsed frames,
/// as a proxy does, gives a client the same frames again.
///
/// Layout: a sequence of calls, each a tag byte and its argument (a length-prefixed string,
/// or 8 or 12 bytes of duration).
pub(crate) fn roundtrip(input: &[u8]) {
    let mut src = Source(input);
    let mut builder = Event::builder();
    // The same calls less the comments: what the parser dispatches.
    let mut plain = Event::builder();
    let mut want = Expected::default();
    while !src.is_empty() {
        let call = match src.byte() % 6 {
            0 => Call::Event(src.text()),
            1 => Call::Id(src.text()),
            2 => Call::Data(src.text()),
            3 => Call::Comment(src.text()),
            4 => Call::Retry(Duration::from_millis(src.u64())),
            _ => {
                let secs = src.u64();
                let nanos = u32::from(src.u16()) * 16_000 % 1_000_000_000;
                Call::Retry(Duration::new(secs, nanos))
            }
        };
        want.apply(&call);
        builder = call.clone().apply(builder);
        if !matches!(call, Call::Comment(_)) {
            plain = call.apply(plain);
        }
    }

    let event = match (builder.build(), want.error.clone()) {
        (Ok(event), None) => event,
        (Err(error), Some(rule)) => {
            assert_eq!(
                error, rule,
                "the error names another rule than the one broken"
            );
            return;
        }
        (Ok(event), Some(rule)) => panic!("accepted {event:?}, which breaks {rule:?}"),
        (Err(error), None) => panic!("refused a valid event: {error:?}"),
    };
    let plain = plain
        .build()
        .unwrap_or_else(|error| panic!("{error:?} from the calls less the comments"));

    want.assert_holds(&event);
    let wire = event.to_bytes();
    assert_eq!(wire.len(), event.encoded_len());
    assert!(!wire.contains(&b'\r'), "the encoder wrote a CR: {wire:?}");
    let mut appended = BytesMut::from(&b"kept"[..]);
    event.encode(&mut appended);
    assert_eq!(&appended[..4], b"kept");
    assert_eq!(&appended[4..], &wire[..]);

    let mut frames: Vec<Frame> = want
        .comment_lines()
        .map(|line| Frame::Comment(Text::from(line)))
        .collect();
    frames.extend(want.retry.map(Frame::Retry));
    if want.data.is_some() {
        frames.push(Frame::Event(plain.clone()));
    } else if let Some(id) = &want.id {
        frames.push(Frame::Id(Text::from(id.as_str())));
    }
    let parsed = parse_frames(&wire);
    assert_eq!(parsed, frames, "decoding {wire:?}");
    if event.has_data() && event.comments().next().is_none() {
        assert!(
            parsed.iter().any(|f| f == &Frame::Event(event.clone())),
            "the parsed event differs from the built one"
        );
    }

    let mut forwarded = BytesMut::new();
    for frame in &parsed {
        frame.encode(&mut forwarded);
    }
    assert_eq!(
        client_view(parse_frames(&forwarded)),
        client_view(parsed),
        "re-encoded {forwarded:?}"
    );
}

/// What a client acts on (see `oracle::without_event_retry`).
fn client_view(frames: Vec<Frame>) -> Vec<oracle::Seen> {
    frames
        .into_iter()
        .map(|frame| oracle::without_event_retry(oracle::seen(Ok(frame))))
        .collect()
}

fn parse_frames(wire: &[u8]) -> Vec<Frame> {
    let mut parser = Parser::with_config(Config::new().max_event_size(wire.len() + 1));
    parser.feed(wire);
    parser.finish();
    let mut frames = Vec::new();
    while let Some(frame) = parser.next_frame() {
        frames.push(frame.unwrap_or_else(|error| panic!("{error:?} below the limit")));
    }
    frames
}

#[derive(Debug, Clone)]
enum Call {
    Event(String),
    Id(String),
    Data(String),
    Comment(String),
    Retry(Duration),
}

impl Call {
    fn apply(self, builder: EventBuilder) -> EventBuilder {
        match self {
            Call::Event(s) => builder.event(s),
            Call::Id(s) => builder.id(s),
            Call::Data(s) => builder.data(s),
            Call::Comment(s) => builder.comment(s),
            Call::Retry(d) => builder.retry(d),
        }
    }
}

/// What the builder should make of a sequence of calls, worked out from the documented
/// rules alone.
#[derive(Debug, Default)]
struct Expected {
    /// The first broken rule: later calls do not change it.
    error: Option<EncodeError>,
    event_type: String,
    id: Option<String>,
    data: Option<String>,
    retry: Option<Duration>,
    comments: Vec<String>,
}

impl Expected {
    fn apply(&mut self, call: &Call) {
        let broken = match call {
            Call::Event(s) if s.contains(['\r', '\n']) => Some(EncodeError::EventTypeLineBreak),
            Call::Event(s) => {
                s.clone_into(&mut self.event_type);
                None
            }
            Call::Id(s) if s.contains(['\r', '\n']) => Some(EncodeError::IdLineBreak),
            Call::Id(s) if s.contains('\0') => Some(EncodeError::IdNul),
            Call::Id(s) => {
                self.id = Some(s.clone());
                None
            }
            Call::Data(s) => {
                let s = one_kind_of_break(s);
                self.data = Some(match self.data.take() {
                    Some(before) => before + "\n" + &s,
                    None => s,
                });
                None
            }
            Call::Comment(s) => {
                self.comments.push(one_kind_of_break(s));
                None
            }
            Call::Retry(d) => match u64::try_from(d.as_millis()) {
                Ok(ms) => {
                    self.retry = Some(Duration::from_millis(ms));
                    None
                }
                Err(_) => Some(EncodeError::RetryTooLarge),
            },
        };
        if self.error.is_none() {
            self.error = broken;
        }
    }

    fn comment_lines(&self) -> impl Iterator<Item = &str> {
        self.comments.iter().flat_map(|c| c.split('\n'))
    }

    fn assert_holds(&self, event: &Event) {
        let event_type = match self.event_type.as_str() {
            "" => "message",
            named => named,
        };
        assert_eq!(event.event_type(), event_type);
        assert_eq!(event.has_data(), self.data.is_some());
        assert_eq!(event.data(), self.data.as_deref().unwrap_or(""));
        assert_eq!(event.id(), self.id.as_deref());
        assert_eq!(event.last_event_id(), self.id.as_deref().unwrap_or(""));
        assert_eq!(event.retry(), self.retry);
        assert!(event.comments().eq(self.comment_lines()));
    }
}

/// CRLF and lone CR as LF: the one kind of line break a client reconstructs.
fn one_kind_of_break(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}
