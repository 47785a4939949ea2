//! Hostile streams: huge lines, floods of comments or empty lines, a byte-at-a-time drip and
//! oversized events mixed with normal ones. The parser must stay within its size limit
//! (measured by a counting global allocator, not taken on trust from `buffered_len`), stay
//! linear, and keep delivering every event that fits.
//!
//! Inputs are one shared chunk fed again and again (`Bytes::clone` copies nothing), so a
//! gibibyte costs the test one chunk of memory. The counting allocator is global to this
//! binary, which is why these tests live in a file of their own; it counts per thread, so
//! tests running in parallel do not see each other's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use sse_wire::{Config, Event, ParseError, Parser};

struct Counting;

thread_local! {
    /// Bytes allocated and not yet freed by this thread (negative when it frees memory
    /// that another thread allocated).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// Bytes ever allocated by this thread: the cost of copying.
    static TOTAL: Cell<usize> = const { Cell::new(0) };
    /// Allocations (and reallocations) made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: the allocator runs while thread-locals are being torn down too.
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
    if let Ok(delta) = usize::try_from(delta) {
        let _ = TOTAL.try_with(|total| total.set(total.get() + delta));
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

fn size(layout: Layout) -> isize {
    isize::try_from(layout.size()).unwrap_or(isize::MAX)
}

// SAFETY: every call is forwarded to `System` unchanged; the counting touches only
// thread-locals that need no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(size(layout));
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(size(layout));
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-size(layout));
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(-size(layout));
        count(isize::try_from(new_size).unwrap_or(isize::MAX));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live and total bytes allocated by this thread since the meter was made.
struct Meter {
    live: isize,
    total: usize,
    peak: isize,
}

impl Meter {
    fn start() -> Self {
        Meter {
            live: LIVE.with(Cell::get),
            total: TOTAL.with(Cell::get),
            peak: 0,
        }
    }

    fn live(&self) -> isize {
        LIVE.with(Cell::get) - self.live
    }

    fn total(&self) -> usize {
        TOTAL.with(Cell::get) - self.total
    }

    /// Records the live bytes now, and fails if they pass `bound`.
    fn check(&mut self, bound: usize, what: &str) {
        let live = self.live();
        self.peak = self.peak.max(live);
        assert!(
            usize::try_from(live).unwrap_or(0) <= bound,
            "{what}: {live} bytes live, over {bound}"
        );
    }
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const GIB: usize = 1024 * MIB;

/// What the parser may hold beyond the event budget: its queue of chunk handles, the
/// shared-buffer headers `Bytes` makes when a chunk is cloned, the last event ID. Small
/// and independent of the input.
const OVERHEAD: usize = 4 * KIB;

/// Feeds `chunk` `times` times, draining events after each into `seen`, and checks the
/// memory held after every call. `seen` must not keep what it is given: what the test holds
/// would count as the parser's.
fn flood(
    parser: &mut Parser,
    meter: &mut Meter,
    bound: usize,
    chunk: &Bytes,
    times: usize,
    mut seen: impl FnMut(Result<Event, ParseError>),
) {
    for _ in 0..times {
        parser.feed_bytes(chunk.clone());
        meter.check(bound, "after feed");
        while let Some(event) = parser.next_event() {
            meter.check(bound, "after next_event");
            seen(event);
        }
        meter.check(bound, "after draining");
    }
}

/// Counts events and errors.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    events: usize,
    errors: usize,
}

impl Tally {
    fn add(&mut self, event: Result<Event, ParseError>) {
        match event {
            Ok(_) => self.events += 1,
            Err(ParseError::EventTooLarge { .. }) => self.errors += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
}

fn data_events(parser: &mut Parser, input: &'static [u8]) -> Vec<String> {
    parser.feed_bytes(Bytes::from_static(input));
    let mut out = Vec::new();
    while let Some(event) = parser.next_event() {
        out.push(event.expect("no limit is near").data().to_owned());
    }
    out
}

#[test]
fn a_gibibyte_without_a_line_break_is_one_error_and_holds_at_most_the_limit() {
    let limit = MIB;
    // An odd size, so that the line buffer's growth never lands exactly on the limit.
    let chunk = Bytes::from(vec![b'x'; 96 * KIB + 1]);
    let mut meter = Meter::start();
    let mut parser = Parser::with_config(Config::new().max_event_size(limit));
    parser.feed_bytes(Bytes::from_static(b"data: "));
    let mut tally = Tally::default();
    flood(
        &mut parser,
        &mut meter,
        limit + OVERHEAD,
        &chunk,
        GIB / chunk.len(),
        |e| tally.add(e),
    );
    assert_eq!(
        tally,
        Tally {
            events: 0,
            errors: 1
        },
        "one error per oversized event"
    );
    // The parser threw the line away as it went: nothing of it is held.
    assert_eq!(parser.buffered_len(), 0);
    assert_eq!(data_events(&mut parser, b"\n\ndata: next\n\n"), ["next"]);
}

#[test]
fn a_gibibyte_of_comment_lines_dispatches_nothing_and_holds_at_most_one_line() {
    let limit = 64 * KIB;
    // 1 KiB lines that do not divide the chunk, so that lines straddle chunk boundaries and
    // must be copied.
    let line = [&b": "[..], &[b'c'; 1021][..], b"\n"].concat();
    let chunk: Vec<u8> = line.iter().copied().cycle().take(64 * KIB + 7).collect();
    let chunk = Bytes::from(chunk);
    let mut meter = Meter::start();
    let mut parser = Parser::with_config(Config::new().max_event_size(limit));
    let mut tally = Tally::default();
    flood(
        &mut parser,
        &mut meter,
        limit + OVERHEAD,
        &chunk,
        GIB / chunk.len(),
        |e| tally.add(e),
    );
    assert_eq!(tally, Tally::default());
    assert!(
        meter.peak < isize::try_from(2 * line.len() + OVERHEAD).unwrap_or(isize::MAX),
        "peak {} bytes for lines of {}",
        meter.peak,
        line.len()
    );
    assert_eq!(data_events(&mut parser, b"\ndata: next\n\n"), ["next"]);
}

#[test]
fn ten_million_empty_lines_dispatch_nothing_and_hold_nothing() {
    let chunk = Bytes::from(vec![b'\n'; 64 * KIB]);
    let lines = 10_000_000;
    let mut meter = Meter::start();
    let mut parser = Parser::new();
    parser.feed_bytes(Bytes::from_static(b"id: 1\n"));
    let mut tally = Tally::default();
    flood(
        &mut parser,
        &mut meter,
        OVERHEAD,
        &chunk,
        lines / chunk.len() + 1,
        |e| tally.add(e),
    );
    assert_eq!(tally, Tally::default());
    assert_eq!(parser.last_event_id(), "1", "empty lines keep the id");
    assert_eq!(parser.buffered_len(), 0);
    assert_eq!(data_events(&mut parser, b"data: next\n\n"), ["next"]);
}

#[test]
fn a_4_mib_line_dripped_one_byte_at_a_time_costs_what_one_chunk_costs() {
    let n = 4 * MIB;
    let mut line = b"data: ".to_vec();
    line.resize(n, b'd');
    line.extend_from_slice(b"\n\n");
    let line = Bytes::from(line);

    // One chunk: the data is a slice of it, nothing is copied.
    let meter = Meter::start();
    let mut parser = Parser::new();
    parser.feed_bytes(line.clone());
    let whole = parser
        .next_event()
        .expect("an event")
        .expect("under the limit");
    let whole_bytes = meter.total();
    assert_eq!(whole.data_bytes().as_ptr(), line[6..].as_ptr());

    // A byte at a time: each `Bytes::slice` of the shared line is free, so what is
    // allocated is the parser's own copying. A parser that rescanned or recopied the line
    // per byte would allocate on the order of n² / 2 bytes (8 TiB here) or make millions
    // of allocations; a linear one copies the line once, into a buffer that doubles.
    let meter = Meter::start();
    let allocations_before = ALLOCATIONS.with(Cell::get);
    let mut parser = Parser::new();
    let mut dripped = None;
    for at in 0..line.len() {
        parser.feed_bytes(line.slice(at..at + 1));
        if let Some(event) = parser.next_event() {
            assert!(dripped.is_none(), "one event");
            dripped = Some(event.expect("under the limit"));
        }
    }
    let dripped = dripped.expect("the event arrives");
    assert_eq!(dripped.data(), whole.data());
    let drip_bytes = meter.total();
    let allocations = ALLOCATIONS.with(Cell::get) - allocations_before;
    assert!(
        drip_bytes <= whole_bytes + 4 * n,
        "dripping allocated {drip_bytes} bytes, one chunk {whole_bytes}, for {n} bytes"
    );
    assert!(
        allocations < 1000,
        "{allocations} allocations for a {n}-byte line dripped byte by byte"
    );
}

#[test]
fn oversized_events_among_normal_ones_each_error_once_and_every_normal_event_arrives() {
    let limit = 16 * KIB;
    let big = "x".repeat(limit);
    let small_lines = "data: y\n".repeat(limit / 2);
    // Each too large in its own way, each followed by a normal event.
    let oversized = [
        format!("data: {big}\n\n"),
        format!(
            "data: {}\ndata: {}\n\n",
            &big[..limit / 2],
            &big[..limit / 2]
        ),
        format!("{small_lines}\n"),
        format!("event: {big}\ndata: x\n\n"),
        format!("id: {big}\ndata: x\n\n"),
        format!(": {big}\ndata: x\n\n"),
        format!("data: a\nfield{big}\ndata: b\n\n"),
        format!("data: {big}\r\ndata: more after the long line\r\n\r\n"),
        format!("data: {big}{big}{big}\r\r"),
    ];
    let mut round = String::new();
    for (i, bad) in oversized.iter().enumerate() {
        round.push_str(bad);
        round.push_str(&format!("event: normal\ndata: {i}\n\n"));
    }
    let round = Bytes::from(round);
    let rounds = 200;

    let mut meter = Meter::start();
    let mut parser = Parser::with_config(Config::new().max_event_size(limit));
    // Twice the limit: a value sliced from a line that spanned chunks (zero copy) keeps that
    // line's buffer alive while the next long line fills a buffer of its own. Each buffer
    // stays within the limit.
    let bound = 2 * limit + OVERHEAD;
    let mut tally = Tally::default();
    for _ in 0..rounds {
        // Odd-sized pieces, so that lines of every kind straddle chunks.
        for at in (0..round.len()).step_by(1001) {
            let piece = round.slice(at..(at + 1001).min(round.len()));
            flood(&mut parser, &mut meter, bound, &piece, 1, |e| {
                if let Ok(event) = &e {
                    // Normal events arrive in order, each right after its oversized one.
                    assert_eq!(event.event_type(), "normal");
                    assert_eq!(event.data().parse(), Ok(tally.events % oversized.len()));
                    assert_eq!(tally.errors, tally.events + 1);
                }
                tally.add(e);
            });
        }
    }
    let total = rounds * oversized.len();
    assert_eq!(
        tally,
        Tally {
            events: total,
            errors: total
        }
    );
}

#[test]
fn an_event_exactly_at_the_limit_passes_and_one_byte_more_does_not() {
    let limit = 64 * KIB;
    // The line `data: <value>` is what must fit: six bytes of it are not data.
    let fits = Event::from_data("z".repeat(limit - 6)).to_bytes();
    let over = Event::from_data("z".repeat(limit - 5)).to_bytes();
    let mut parser = Parser::with_config(Config::new().max_event_size(limit));
    parser.feed_bytes(fits);
    assert_eq!(
        parser.next_event().map(|e| e.map(|e| e.data().len())),
        Some(Ok(limit - 6))
    );
    parser.feed_bytes(over);
    assert_eq!(
        parser.next_event(),
        Some(Err(ParseError::EventTooLarge { limit }))
    );
    assert_eq!(parser.next_event(), None);
}

#[test]
fn data_joined_from_many_lines_holds_at_most_the_limit() {
    // Lines whose sum lands just past a power of two: a joining buffer that doubled would
    // hold nearly twice the limit, and keep it for the next event.
    let limit = 64 * KIB;
    let line = Bytes::from([&b"data: "[..], &[b'j'; 1000], b"\n"].concat());
    let mut meter = Meter::start();
    let mut parser = Parser::with_config(Config::new().max_event_size(limit));
    let lines = limit / 1001;
    let mut tally = Tally::default();
    flood(
        &mut parser,
        &mut meter,
        limit + OVERHEAD,
        &line,
        lines,
        |e| tally.add(e),
    );
    assert_eq!(tally, Tally::default(), "the event is not complete yet");
    parser.feed_bytes(Bytes::from_static(b"\n"));
    let event = parser
        .next_event()
        .expect("the event")
        .expect("within the limit");
    assert_eq!(event.data().len(), lines * 1001 - 1);
}
