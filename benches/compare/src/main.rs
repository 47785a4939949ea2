//! sse-wire against the other Rust SSE crates: the same workloads, interleaved in one run.
//!
//! `cargo run --release` here prints the Markdown tables of the README's "Performance"
//! section. Arguments filter workloads by name (`cargo run --release -- ticker`); the
//! environment variable `ROUNDS` sets the rounds per cell (default 5), and `SECTION=parse`
//! or `SECTION=encode` prints one half of the tables.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::executor::block_on;
use futures::stream::{self, StreamExt, TryStreamExt};

// The benches of the main crate use only part of the module.
#[allow(dead_code)]
#[path = "../../workloads/mod.rs"]
mod workloads;

mod encode_ref;

use workloads::{Spec, Tally, Workload};

/// Counts allocations (reallocations included) and the bytes they ask for.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters have no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        ALLOC_BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        ALLOC_BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        ALLOC_BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> (u64, u64) {
    (ALLOCS.load(Relaxed), ALLOC_BYTES.load(Relaxed))
}

/// One run of one implementation over one input.
struct Run<'a> {
    input: &'a [u8],
    /// The chunks as `Bytes`, for `feed_bytes`.
    owned: Cell<Vec<Bytes>>,
    chunk: usize,
    /// Hash the data (the verification pass) or only count it (timed rounds).
    check: bool,
    deadline: Instant,
    expired: Cell<bool>,
    errors: Cell<u64>,
}

impl Run<'_> {
    /// Ends `items` early past the deadline (looked at every 16 KiB of chunks or so, so
    /// that the clock costs nothing measurable) and marks the run expired: this is how a
    /// peer that is quadratic on some workload is bounded.
    fn until_deadline<'a, T>(
        &'a self,
        mut items: impl Iterator<Item = T> + 'a,
    ) -> impl Iterator<Item = T> + 'a {
        let every = (16 * 1024 / self.chunk.max(1)).max(1);
        let mut count = 0usize;
        std::iter::from_fn(move || {
            count += 1;
            if count.is_multiple_of(every) && Instant::now() > self.deadline {
                self.expired.set(true);
                return None;
            }
            items.next()
        })
    }

    /// The chunk ranges, until the deadline.
    fn chunks(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.until_deadline(chunk_ranges(self.input.len(), self.chunk))
    }

    /// The chunks as `Bytes`, made before the clock started, as a socket reader (hyper,
    /// reqwest) hands them over; each is dropped by the parser that takes it, inside the
    /// timing. Past the deadline the rest are left.
    fn owned_chunks(&self) -> impl Iterator<Item = Bytes> + '_ {
        self.until_deadline(self.owned.take().into_iter())
    }

    fn slices(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.chunks()
            .map(|range| self.input.get(range).unwrap_or_default())
    }

    fn error(&self) {
        self.errors.set(self.errors.get() + 1);
    }
}

/// `0..len` in pieces of `size` bytes (at least 1), the last one shorter.
fn chunk_ranges(len: usize, size: usize) -> impl Iterator<Item = Range<usize>> {
    let size = size.max(1);
    (0..len)
        .step_by(size)
        .map(move |at| at..at.saturating_add(size).min(len))
}

type ParseFn = fn(&Run<'_>, &mut Tally);

/// The parsers, in column order. The baseline comes first and is not checked.
const PARSERS: [(&str, ParseFn); 7] = [
    ("memchr2 scan", memchr_scan),
    ("sse-wire", sse_wire_bytes),
    ("sse-wire `feed(&[u8])`", sse_wire_slices),
    ("sse-core 0.2.3", sse_core),
    ("sse-stream 0.3.0", sse_stream_parse),
    ("eventsource-stream 0.2.3", eventsource_stream),
    ("async-sse 5.1.0", async_sse),
];

/// The floor: finding every line ending, and nothing else.
fn memchr_scan(run: &Run<'_>, tally: &mut Tally) {
    let mut lines = 0u64;
    for chunk in run.slices() {
        let mut rest = chunk;
        while let Some(at) = memchr::memchr2(b'\n', b'\r', rest) {
            lines += 1;
            rest = rest.get(at + 1..).unwrap_or_default();
        }
    }
    tally.events = black_box(lines);
}

fn sse_wire_bytes(run: &Run<'_>, tally: &mut Tally) {
    let mut parser = sse_wire::Parser::new();
    for chunk in run.owned_chunks() {
        parser.feed_bytes(chunk);
        drain_sse_wire(&mut parser, run, tally);
    }
    parser.finish();
    drain_sse_wire(&mut parser, run, tally);
}

fn sse_wire_slices(run: &Run<'_>, tally: &mut Tally) {
    let mut parser = sse_wire::Parser::new();
    for chunk in run.slices() {
        parser.feed(chunk);
        drain_sse_wire(&mut parser, run, tally);
    }
    parser.finish();
    drain_sse_wire(&mut parser, run, tally);
}

fn drain_sse_wire(parser: &mut sse_wire::Parser, run: &Run<'_>, tally: &mut Tally) {
    while let Some(event) = parser.next_event() {
        match event {
            Ok(event) => tally.add(event.data_bytes(), run.check),
            Err(_) => run.error(),
        }
    }
}

fn sse_core(run: &Run<'_>, tally: &mut Tally) {
    // Its default limit (512 KiB) would refuse the 1 MiB lines; ours is 16 MiB.
    let limit = NonZeroUsize::new(16 << 20).unwrap_or(NonZeroUsize::MIN);
    let mut decoder = sse_core::SseDecoder::with_limit(limit);
    for mut chunk in run.owned_chunks() {
        while let Some(event) = decoder.next(&mut chunk) {
            match event {
                Ok(sse_core::SseEvent::Message(message)) => {
                    tally.add(message.data.as_bytes(), run.check)
                }
                Ok(_) => {}
                Err(_) => run.error(),
            }
        }
    }
}

fn sse_stream_parse(run: &Run<'_>, tally: &mut Tally) {
    let chunks = stream::iter(run.owned_chunks().map(Ok::<Bytes, Infallible>));
    let mut events = pin!(sse_stream::SseByteStream::new(chunks));
    block_on(async {
        while let Some(block) = events.next().await {
            match block {
                // It returns metadata-only blocks too; clients dispatch only blocks with data.
                Ok(block) => {
                    if let Some(data) = &block.data {
                        tally.add(data.as_bytes(), run.check);
                    }
                }
                // Some peers repeat their error forever: stop at the first one.
                Err(_) => {
                    run.error();
                    break;
                }
            }
        }
    });
}

fn eventsource_stream(run: &Run<'_>, tally: &mut Tally) {
    use eventsource_stream::Eventsource;
    let chunks = stream::iter(run.owned_chunks().map(Ok::<Bytes, Infallible>));
    let mut events = pin!(chunks.eventsource());
    block_on(async {
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => tally.add(event.data.as_bytes(), run.check),
                // Some peers repeat their error forever: stop at the first one.
                Err(_) => {
                    run.error();
                    break;
                }
            }
        }
    });
}

fn async_sse(run: &Run<'_>, tally: &mut Tally) {
    let reader =
        stream::iter(run.owned_chunks().map(Ok::<Bytes, std::io::Error>)).into_async_read();
    let mut events = async_sse::decode(reader);
    block_on(async {
        while let Some(event) = events.next().await {
            match event {
                Ok(async_sse::Event::Message(message)) => tally.add(message.data(), run.check),
                Ok(_) => {}
                // async-sse repeats a UTF-8 error forever: stop at the first one.
                Err(_) => {
                    run.error();
                    break;
                }
            }
        }
    });
}

/// What the verification pass of one implementation found.
#[derive(Clone, Copy)]
enum Verdict {
    Agrees,
    /// Events or data differ from sse-wire's.
    Differs(Tally),
    Errors,
    Panicked,
    TimedOut,
    /// Seconds the whole input would take, from timings on prefixes.
    TooSlow(f64),
}

#[derive(Clone)]
struct Cell2 {
    verdict: Verdict,
    allocs_per_event: f64,
    bytes_per_event: f64,
    median: Option<Duration>,
}

/// The longest one run may take. A peer slower than that (quadratic somewhere, say) gets a
/// note instead of a figure. `DEADLINE=<seconds>` changes it: a run under valgrind is some
/// fifty times slower, and must not be cut short.
fn deadline() -> Duration {
    std::env::var("DEADLINE")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .map_or(Duration::from_secs(3), Duration::from_secs)
}

fn run_once(f: ParseFn, input: &[u8], bytes: &Bytes, chunk: usize, check: bool) -> RunResult {
    // The parsers are handed `Bytes` chunks as a socket reader hands them over: made before
    // the clock starts (making them is the reader's work); dropping them is timed. Only the
    // floor and sse-wire's `feed(&[u8])` borrow slices.
    let borrows = std::ptr::fn_addr_eq(f, memchr_scan as ParseFn)
        || std::ptr::fn_addr_eq(f, sse_wire_slices as ParseFn);
    let owned = if !borrows {
        chunk_ranges(input.len(), chunk)
            .map(|range| bytes.slice(range))
            .collect()
    } else {
        Vec::new()
    };
    let run = Run {
        input,
        owned: Cell::new(owned),
        chunk,
        check,
        deadline: Instant::now() + deadline(),
        expired: Cell::new(false),
        errors: Cell::new(0),
    };
    let mut tally = Tally::default();
    let before = allocations();
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&run, &mut tally)));
    let elapsed = start.elapsed();
    let after = allocations();
    RunResult {
        tally,
        elapsed,
        allocs: after.0 - before.0,
        alloc_bytes: after.1 - before.1,
        panicked: outcome.is_err(),
        expired: run.expired.get(),
        errors: run.errors.get(),
    }
}

struct RunResult {
    tally: Tally,
    elapsed: Duration,
    allocs: u64,
    alloc_bytes: u64,
    panicked: bool,
    expired: bool,
    errors: u64,
}

fn median(mut times: Vec<Duration>) -> Option<Duration> {
    times.sort();
    times.get(times.len() / 2).copied()
}

fn rounds() -> usize {
    std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
}

/// Runs every parser over one (workload, chunk size) cell: one verification pass each,
/// then `rounds` timed rounds in which each runs once, starting with a different one each
/// round.
fn parse_cell(workload: &Workload, chunk: usize, rounds: usize) -> (Tally, Vec<Cell2>) {
    // Reference-counted from the start, as buffers read from a socket are (a `Bytes` made
    // from a `Vec` pays for sharing at its first slice).
    let bytes = BytesMut::from(workloads::input(workload, chunk)).freeze();
    // Every implementation reads the same memory, so none finds its input colder in the
    // cache than the others (the inputs are megabytes: a second copy is another L3's worth).
    let input: &[u8] = &bytes;
    let mut cells = Vec::new();
    let mut reference = None;
    for (name, f) in PARSERS {
        if let Some(secs) = projected_time(f, input, chunk) {
            cells.push(Cell2 {
                verdict: Verdict::TooSlow(secs),
                allocs_per_event: f64::NAN,
                bytes_per_event: f64::NAN,
                median: None,
            });
            continue;
        }
        let result = run_once(f, input, &bytes, chunk, true);
        let verdict = if result.panicked {
            Verdict::Panicked
        } else if result.expired {
            Verdict::TimedOut
        } else if result.errors > 0 {
            Verdict::Errors
        } else if name == "memchr2 scan" {
            Verdict::Agrees
        } else {
            let expected = *reference.get_or_insert(result.tally);
            if result.tally == expected {
                Verdict::Agrees
            } else {
                Verdict::Differs(result.tally)
            }
        };
        let events = reference.map_or(0, |t: Tally| t.events).max(1) as f64;
        cells.push(Cell2 {
            verdict,
            allocs_per_event: result.allocs as f64 / events,
            bytes_per_event: result.alloc_bytes as f64 / events,
            median: None,
        });
    }
    let mut times = vec![Vec::new(); PARSERS.len()];
    for round in 0..rounds {
        for k in 0..PARSERS.len() {
            let i = (round + k) % PARSERS.len();
            if !matches!(cells[i].verdict, Verdict::Agrees | Verdict::Differs(_)) {
                continue;
            }
            let result = run_once(PARSERS[i].1, input, &bytes, chunk, false);
            if result.expired {
                cells[i].verdict = Verdict::TimedOut;
                continue;
            }
            times[i].push(result.elapsed);
        }
    }
    for (cell, times) in cells.iter_mut().zip(times) {
        if matches!(cell.verdict, Verdict::Agrees | Verdict::Differs(_)) {
            cell.median = median(times);
        }
    }
    (reference.unwrap_or_default(), cells)
}

/// A run fed one huge chunk cannot be stopped midway, so it is first timed on growing
/// prefixes; when the growth projects past the deadline for the whole input, the projection
/// is returned and the run skipped.
fn projected_time(f: ParseFn, input: &[u8], chunk: usize) -> Option<f64> {
    if chunk < input.len() / 4 {
        return None; // `Run::chunks` looks at the clock often enough
    }
    let mut size = 64 * 1024;
    let mut last: Option<(usize, f64)> = None;
    while size < input.len() {
        let prefix = Bytes::copy_from_slice(input.get(..size).unwrap_or_default());
        let time = run_once(f, &prefix, &prefix, chunk, false)
            .elapsed
            .as_secs_f64();
        if let Some((last_size, last_time)) = last {
            let growth =
                (time / last_time.max(1e-9)).log2() / (size as f64 / last_size as f64).log2();
            let exponent = growth.clamp(1.0, 2.0);
            let whole = time * (input.len() as f64 / size as f64).powf(exponent);
            // Below a few milliseconds the growth is noise (page faults, a preemption).
            if time > 0.02 && whole > deadline().as_secs_f64() {
                return Some(whole);
            }
        }
        last = Some((size, time));
        size *= 4;
    }
    None
}

fn throughput(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e6
}

fn fmt_rate(mbs: f64) -> String {
    if mbs >= 100.0 {
        format!("{mbs:.0}")
    } else if mbs >= 10.0 {
        format!("{mbs:.1}")
    } else {
        format!("{mbs:.2}")
    }
}

fn note(verdict: Verdict) -> Option<String> {
    match verdict {
        Verdict::Agrees => None,
        Verdict::Differs(t) => Some(format!("wrong: {} events, {} B", t.events, t.data_bytes)),
        Verdict::Errors => Some("stops with an error".to_owned()),
        Verdict::Panicked => Some("panics".to_owned()),
        Verdict::TimedOut => Some(format!("> {} s, stopped", deadline().as_secs())),
        Verdict::TooSlow(secs) => Some(format!("skipped: ~{secs:.0} s projected")),
    }
}

/// One table cell: MB/s and the ratio to sse-wire, or why there is none.
fn rate_cell(cell: &Cell2, base: Option<Duration>, bytes: usize, show_ratio: bool) -> String {
    let Some(time) = cell.median else {
        return note(cell.verdict).unwrap_or_default();
    };
    let mut text = fmt_rate(throughput(bytes, time));
    if show_ratio {
        if let Some(base) = base {
            text.push_str(&format!(
                " ({:.2}x)",
                base.as_secs_f64() / time.as_secs_f64()
            ));
        }
    }
    if let Some(note) = note(cell.verdict) {
        text.push_str(&format!(" ({note})"));
    }
    text
}

fn parse_tables(workloads: &[Workload], rounds: usize) {
    let mut header = String::from("| workload | chunks | sse-wire Mevents/s |");
    let mut rule = String::from("|---|---|--:|");
    for (name, _) in PARSERS {
        header.push_str(&format!(" {name} |"));
        rule.push_str("--:|");
    }
    let mut rows = Vec::new();
    let mut alloc_rows = Vec::new();
    for workload in workloads {
        for chunk in workloads::CHUNKS {
            eprintln!(
                "parse: {} / {}",
                workload.name,
                workloads::chunk_label(chunk)
            );
            let bytes = workloads::input(workload, chunk).len();
            let (reference, cells) = parse_cell(workload, chunk, rounds);
            let base = cells.get(1).and_then(|c| c.median);
            let events_rate = base.map_or(String::new(), |t| {
                format!("{:.2}", reference.events as f64 / t.as_secs_f64() / 1e6)
            });
            let mut row = format!(
                "| {} | {} | {} |",
                workload.name,
                workloads::chunk_label(chunk),
                events_rate
            );
            for (i, cell) in cells.iter().enumerate() {
                row.push_str(&format!(" {} |", rate_cell(cell, base, bytes, i != 1)));
            }
            rows.push(row);
            if chunk == 1460 {
                let mut row = format!("| {} |", workload.name);
                for cell in cells.iter().skip(1) {
                    row.push_str(&format!(
                        " {:.2} / {:.0} |",
                        cell.allocs_per_event, cell.bytes_per_event
                    ));
                }
                alloc_rows.push(row);
            }
        }
    }
    println!("### Parsing\n");
    println!(
        "Throughput in MB/s of input (10^6 bytes/s), each the median of {rounds} rounds; in \
         parentheses, the ratio to sse-wire (`feed_bytes`) in the same run (above 1 is faster \
         than sse-wire). In each round every implementation parses the whole input once, \
         starting with a different one each round, so that drift in the machine's load hits \
         all alike. Each implementation first made one untimed pass in which the events it \
         dispatched, their data bytes and a checksum of the data were compared with \
         sse-wire's. 1-byte chunks feed only the first 256 KiB (rounded up to an event). \
         All read the same buffer. Every parser is handed its chunks as `Bytes` slices of it, \
         made before the clock starts, as hyper and reqwest hand them over (each takes \
         `Bytes`, or any `Buf` or `AsRef<[u8]>`); dropping them is timed. Only the memchr2 \
         floor and sse-wire's `feed(&[u8])` borrow `&[u8]` slices instead. \
         The memchr2 column only finds line endings: the floor for any parser. Async peers \
         are driven by `futures::executor::block_on` over a `stream::iter` of chunks; a run \
         longer than {} s is stopped.\n",
        deadline().as_secs()
    );
    println!("{header}\n{rule}");
    for row in rows {
        println!("{row}");
    }
    println!(
        "\nHeap allocations per event / bytes allocated per event, 1460-byte chunks (the \
         verification pass, counted by a global allocator; the input is already in memory).\n"
    );
    let mut header = String::from("| workload |");
    let mut rule = String::from("|---|");
    for (name, _) in PARSERS.iter().skip(1) {
        header.push_str(&format!(" {name} |"));
        rule.push_str("--:|");
    }
    println!("{header}\n{rule}");
    for row in alloc_rows {
        println!("{row}");
    }
}

// ---------------------------------------------------------------------------------------
// Encoding

/// Encodes every spec; hands the wire bytes to `sink` in pieces.
type EncodeFn = fn(&'static [Spec], &[sse_wire::Event], &mut dyn FnMut(&[u8]));

const ENCODERS: [(&str, EncodeFn); 5] = [
    ("sse-wire `EventRef`", encode_ref::sse_wire_event_ref),
    ("sse-wire `encode`", sse_wire_encode),
    ("sse-wire build + `encode`", sse_wire_build_encode),
    ("axum 0.8.9 `Event` + `Sse` body", axum_encode),
    ("sse-stream 0.3.0 `Sse::encode`", sse_stream_encode),
];

/// A reused buffer is flushed (handed on and cleared) past this size, as a server writes
/// to its socket.
const FLUSH: usize = 64 * 1024;

fn sse_wire_encode(_: &[Spec], events: &[sse_wire::Event], sink: &mut dyn FnMut(&[u8])) {
    let mut buf = BytesMut::with_capacity(2 * FLUSH);
    for event in events {
        event.encode(&mut buf);
        if buf.len() >= FLUSH {
            sink(&buf);
            buf.clear();
        }
    }
    sink(&buf);
}

fn sse_wire_build_encode(specs: &[Spec], _: &[sse_wire::Event], sink: &mut dyn FnMut(&[u8])) {
    let mut buf = BytesMut::with_capacity(2 * FLUSH);
    for spec in specs {
        let mut builder = sse_wire::Event::builder();
        if let Some(event) = &spec.event {
            builder = builder.event(event.as_str());
        }
        if let Some(id) = &spec.id {
            builder = builder.id(id.as_str());
        }
        match builder.data(spec.data.as_str()).build() {
            Ok(event) => event.encode(&mut buf),
            Err(error) => panic!("{error}"),
        }
        if buf.len() >= FLUSH {
            sink(&buf);
            buf.clear();
        }
    }
    sink(&buf);
}

fn axum_encode(specs: &'static [Spec], _: &[sse_wire::Event], sink: &mut dyn FnMut(&[u8])) {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    let events = stream::iter(specs.iter().map(|spec| {
        let mut event = Event::default();
        if let Some(name) = &spec.event {
            event = event.event(name);
        }
        if let Some(id) = &spec.id {
            event = event.id(id);
        }
        Ok::<_, Infallible>(event.data(&spec.data))
    }));
    // How an axum handler's events become bytes: the response body's data frames.
    let mut body = Sse::new(events).into_response().into_body();
    block_on(async {
        while let Some(frame) = body.frame().await {
            if let Ok(frame) = frame {
                if let Some(data) = frame.data_ref() {
                    sink(data);
                }
            }
        }
    });
}

fn sse_stream_encode(specs: &[Spec], _: &[sse_wire::Event], sink: &mut dyn FnMut(&[u8])) {
    for spec in specs {
        let block = sse_stream::Sse {
            event: spec.event.clone(),
            data: Some(spec.data.clone()),
            id: spec.id.clone(),
            retry: None,
        };
        match block.encode() {
            Ok(bytes) => sink(&bytes),
            Err(error) => panic!("{error}"),
        }
    }
}

/// Events, and each event's type, id and data, as `Tally` sees them.
fn tally_specs(specs: &[Spec]) -> Tally {
    let mut tally = Tally::default();
    for spec in specs {
        tally.add(spec.event.as_deref().unwrap_or("message").as_bytes(), true);
        tally.add(spec.id.as_deref().unwrap_or("").as_bytes(), true);
        tally.add(spec.data.as_bytes(), true);
    }
    tally
}

/// Reads encoded bytes back with sse-wire's parser.
fn tally_wire(wire: Vec<u8>) -> Tally {
    let mut tally = Tally::default();
    let mut parser = sse_wire::Parser::new();
    parser.feed_bytes(wire);
    parser.finish();
    while let Some(Ok(event)) = parser.next_event() {
        tally.add(event.event_type().as_bytes(), true);
        tally.add(event.id().unwrap_or("").as_bytes(), true);
        tally.add(event.data_bytes(), true);
    }
    tally
}

fn encode_tables(workloads: &[Workload], rounds: usize) {
    println!("\n### Encoding\n");
    println!(
        "Throughput in MB/s of output, median of {rounds} interleaved rounds, ratio to \
         sse-wire `EventRef` in parentheses; then heap allocations / bytes allocated per \
         event. Every column but `encode` starts from the same borrowed strings and ends \
         with the bytes, which is what a server pays per event: `EventRef` encodes them at \
         once; \"build + `encode`\" builds an `Event` first; axum and sse-stream build their \
         own event types (consumed by encoding, so they cannot be built ahead). The sse-wire \
         columns write into one reused `BytesMut`, flushed (cleared) every 64 KiB as a \
         server's socket writes would. `encode` writes `Event`s built ahead of time: the \
         encoder alone. Every output was parsed back and checked: same events, types, ids \
         and data.\n"
    );
    let mut header = String::from("| workload |");
    let mut rule = String::from("|---|");
    for (name, _) in ENCODERS {
        header.push_str(&format!(" {name} |"));
        rule.push_str("--:|");
    }
    println!("{header}\n{rule}");
    for workload in workloads {
        if workload.name.contains("CRLF") || workload.name.contains("MiB line") {
            continue; // the same events as other rows
        }
        eprintln!("encode: {}", workload.name);
        // axum's body wants a `'static` stream; the specs live as long as the run anyway.
        let specs: &'static [Spec] = Vec::leak(workload.specs.clone());
        let events: Vec<sse_wire::Event> = specs
            .iter()
            .map(|spec| {
                let mut builder = sse_wire::Event::builder();
                if let Some(event) = &spec.event {
                    builder = builder.event(event.as_str());
                }
                if let Some(id) = &spec.id {
                    builder = builder.id(id.as_str());
                }
                builder.data(spec.data.as_str()).build()
            })
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        let expected = tally_specs(specs);
        let mut notes = Vec::new();
        let mut allocs = Vec::new();
        let mut out_len = 0;
        for (name, f) in ENCODERS {
            let mut wire = Vec::new();
            f(specs, &events, &mut |piece| wire.extend_from_slice(piece));
            // Counted on a second pass whose sink keeps nothing, since the copy above
            // allocates too.
            let before = allocations();
            f(specs, &events, &mut |piece| {
                black_box(piece);
            });
            let after = allocations();
            out_len = wire.len();
            let got = tally_wire(wire);
            notes.push((got != expected).then(|| format!("{name}: output differs")));
            allocs.push((
                (after.0 - before.0) as f64 / specs.len() as f64,
                (after.1 - before.1) as f64 / specs.len() as f64,
            ));
        }
        let mut times = vec![Vec::new(); ENCODERS.len()];
        for round in 0..rounds {
            for k in 0..ENCODERS.len() {
                let i = (round + k) % ENCODERS.len();
                let mut written = 0usize;
                let start = Instant::now();
                ENCODERS[i].1(specs, &events, &mut |piece| written += piece.len());
                times[i].push(start.elapsed());
                black_box(written);
            }
        }
        let medians: Vec<Option<Duration>> = times.into_iter().map(median).collect();
        let base = medians.first().copied().flatten();
        let mut row = format!("| {} |", workload.name);
        for (i, time) in medians.iter().enumerate() {
            let cell = Cell2 {
                verdict: Verdict::Agrees,
                allocs_per_event: 0.0,
                bytes_per_event: 0.0,
                median: *time,
            };
            let mut text = rate_cell(&cell, base, out_len, i != 0);
            text.push_str(&format!("; {:.2} / {:.0}", allocs[i].0, allocs[i].1));
            if let Some(Some(note)) = notes.get(i) {
                text.push_str(&format!(" ({note})"));
            }
            row.push_str(&format!(" {text} |"));
        }
        println!("{row}");
    }
}

/// `PROFILE=<column> [CHUNK=1460] [REPEAT=20]`: runs one parser alone, for a profiler.
fn profile(name: &str, workloads: &[Workload]) {
    let env = |key: &str, default: usize| {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let chunk = env("CHUNK", 1460);
    let repeat = env("REPEAT", 20);
    let Some((_, f)) = PARSERS.iter().find(|(n, _)| *n == name) else {
        eprintln!("no parser named {name}");
        return;
    };
    for workload in workloads {
        let bytes = BytesMut::from(workloads::input(workload, chunk)).freeze();
        let input: &[u8] = &bytes;
        let start = Instant::now();
        for _ in 0..repeat {
            run_once(*f, input, &bytes, chunk, false);
        }
        let each = start.elapsed() / repeat as u32;
        eprintln!(
            "{}: {:.0} MB/s",
            workload.name,
            throughput(input.len(), each)
        );
    }
}

fn main() {
    // A peer's error type captures a backtrace when `RUST_BACKTRACE` is set, which would
    // time the unwinder rather than the parser.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    std::panic::set_hook(Box::new(|_| {}));
    let filters: Vec<String> = std::env::args().skip(1).collect();
    let workloads: Vec<Workload> = workloads::all()
        .into_iter()
        .filter(|w| filters.is_empty() || filters.iter().any(|f| w.name.contains(f.as_str())))
        .collect();
    if let Ok(name) = std::env::var("PROFILE") {
        profile(&name, &workloads);
        return;
    }
    let rounds = rounds();
    let start = Instant::now();
    // `SECTION=parse` or `SECTION=encode`: one half of the tables.
    let section = std::env::var("SECTION").unwrap_or_default();
    if section != "encode" {
        parse_tables(&workloads, rounds);
    }
    if section != "parse" {
        encode_tables(&workloads, rounds);
    }
    eprintln!("took {:.0} s", start.elapsed().as_secs_f64());
}
