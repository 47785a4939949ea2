//! The incremental parser: bytes in, frames out, no I/O.
//!
//! Two halves. [`Scanner`] turns the chunks it is fed into lines: it strips the BOM, treats
//! CR, LF and CRLF as one line ending each (also when CR and LF arrive in different chunks),
//! and hands out each line as a borrowed range of a chunk, copying only the lines that span
//! chunks. [`Interpreter`] applies the standard's field rules to those lines and builds
//! events out of slices of them. The size limit sits between the two: the scanner refuses
//! to buffer a line longer than what is left of the event's budget.
//!
//! Most lines need none of the scanner's bookkeeping: [`Parser::next`] first tries a fast
//! path that takes the lines ending inside the front chunk straight to the interpreter,
//! checks the UTF-8 of all of them at once, and dispatches an event whose only data line is
//! followed by its empty line without holding the data in between. The scanner takes over
//! where a line spans chunks, a CR ends a chunk, or the start of a stream needs a BOM check.

use alloc::collections::VecDeque;
use alloc::string::String;
use core::fmt;
use core::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::event::{Extra, Id, Text};
use crate::small::Small;
use crate::{Event, Frame, ParseError};

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Lines that span chunks are joined in a buffer the scanner reuses, unless they are longer
/// than this: then it lets the allocation go with the line. Large enough that streams of
/// base64 images (hundreds of KiB per event) reuse one buffer instead of allocating, and
/// page-faulting, a fresh one per event; small enough that an idle parser pins little.
const REUSE_LIMIT: usize = 1024 * 1024;

/// Complete lines ahead in a chunk are checked for UTF-8 at once when they are at least this
/// long; fewer bytes are checked field by field, which costs no more.
const CHECK_AT_ONCE: usize = 128;

/// The room the parser's copy of the last event ID starts with.
const ID_CAPACITY: usize = 32;

/// The size of the blocks [`Parser::feed`] copies borrowed input into.
const FEED_BLOCK: usize = 8 * 1024;

/// Limits for a [`Parser`].
///
/// # Examples
///
/// ```
/// use sse_wire::{Config, Parser};
///
/// // A server that consumes many untrusted streams holds at most 64 KiB per event.
/// let parser = Parser::with_config(Config::new().max_event_size(64 * 1024));
/// # drop(parser);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    max_event_size: usize,
}

impl Config {
    /// The default [`max_event_size`](Config::max_event_size): 16 MiB.
    ///
    /// Generous on purpose: LLM APIs stream base64 images of several MiB as one event, and
    /// a parser that rejects them breaks real streams. Lower it when you parse many
    /// untrusted streams at once.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sse_wire::Config::DEFAULT_MAX_EVENT_SIZE, 16 << 20);
    /// ```
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

    /// The default configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::Config;
    ///
    /// assert_eq!(Config::new().event_size_limit(), Config::DEFAULT_MAX_EVENT_SIZE);
    /// ```
    pub const fn new() -> Self {
        Config {
            max_event_size: Self::DEFAULT_MAX_EVENT_SIZE,
        }
    }

    /// Sets the most bytes the parser holds for one event.
    ///
    /// An event's size is the length of its data (lines joined), its type and its id, plus
    /// the line being read; a line is measured without its line ending, so no single line
    /// may be longer than the limit either. When an event would pass the limit, the parser
    /// returns [`ParseError::EventTooLarge`] once, skips the rest of that event and carries
    /// on at the next one. So the memory a parser holds is bounded by this limit (plus the
    /// last event ID, itself bounded by it, and the chunks fed but not yet read).
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Config, ParseError, Parser};
    ///
    /// let mut parser = Parser::with_config(Config::new().max_event_size(10));
    /// parser.feed(b"data: 0123\ndata: 4567\n\ndata: ok\n\n");
    /// // "0123\n4567" is 9 bytes, but the second line (10 bytes) would not fit beside the first.
    /// assert_eq!(parser.next_event(), Some(Err(ParseError::EventTooLarge { limit: 10 })));
    /// assert_eq!(parser.next_event().unwrap()?.data(), "ok");
    /// # Ok::<(), ParseError>(())
    /// ```
    pub const fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// The limit set by [`max_event_size`](Config::max_event_size).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sse_wire::Config::new().max_event_size(5).event_size_limit(), 5);
    /// ```
    pub const fn event_size_limit(&self) -> usize {
        self.max_event_size
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// An incremental, zero-copy parser of `text/event-stream` bytes.
///
/// It does no I/O: you [`feed`](Parser::feed) it the bytes you read, in chunks of any size,
/// and pull what they complete with [`next_event`](Parser::next_event) (events only) or
/// [`next_frame`](Parser::next_frame) (events, comments, retry and id updates, in stream
/// order) until it returns `None`, which means "feed me more". At the end of the stream call
/// [`finish`](Parser::finish).
///
/// Parsing follows the WHATWG HTML standard, "Server-sent events", to the letter, for every
/// way the input can be split into chunks: see the crate docs for the rules.
///
/// **Zero copy.** Chunks given to [`feed_bytes`](Parser::feed_bytes) are never copied: an
/// event whose data is one line inside one chunk hands out a slice of that chunk from
/// [`Event::data_bytes`], and dispatching it allocates nothing. Only lines that span chunks,
/// and data of several lines, are copied, once.
///
/// **Bounded.** Each byte is scanned once, whatever the chunking, and the memory held is
/// bounded by [`Config::max_event_size`].
///
/// # Examples
///
/// ```
/// use sse_wire::Parser;
///
/// let mut parser = Parser::new();
/// for chunk in ["data: {\"tok", "en\":\"Hel\"}\n\nid: 1\r", "\ndata: lo\n\n"] {
///     parser.feed(chunk.as_bytes());
///     while let Some(event) = parser.next_event() {
///         let event = event?;
///         println!("{}: {}", event.event_type(), event.data());
///     }
/// }
/// parser.finish();
/// assert_eq!(parser.last_event_id(), "1");
/// # Ok::<(), sse_wire::ParseError>(())
/// ```
pub struct Parser {
    scanner: Scanner,
    interpreter: Interpreter,
    /// Where [`Parser::feed`] copies borrowed input; split off per call so its capacity is
    /// reused once the events that point into it are dropped.
    copies: BytesMut,
}

impl Parser {
    /// A parser with the default [`Config`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// assert!(parser.next_event().is_none());
    /// ```
    pub fn new() -> Self {
        Parser::with_config(Config::new())
    }

    /// A parser with the given limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Config, Parser};
    ///
    /// let parser = Parser::with_config(Config::new().max_event_size(1 << 20));
    /// # drop(parser);
    /// ```
    pub fn with_config(config: Config) -> Self {
        Parser {
            scanner: Scanner::default(),
            interpreter: Interpreter {
                limit: config.max_event_size,
                // Room for the usual ids, so that copying them never allocates.
                last_event_id: String::with_capacity(ID_CAPACITY),
                ..Interpreter::default()
            },
            copies: BytesMut::new(),
        }
    }

    /// Feeds borrowed bytes. They are copied once, into 8 KiB blocks that small feeds share.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// let mut buf = [0u8; 64];
    /// let n = { buf[..11].copy_from_slice(b"data: hi\n\n\n"); 11 };
    /// parser.feed(&buf[..n]);
    /// assert_eq!(parser.next_event().unwrap()?.data(), "hi");
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn feed(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || self.scanner.continue_line(bytes, self.interpreter.budget()) {
            return;
        }
        if self.copies.capacity() < bytes.len() {
            // Copy into blocks rather than one allocation per call: events, and the last
            // event ID, may keep slices of earlier copies alive, so a buffer is rarely free
            // to be reclaimed, but small feeds can share one block.
            self.copies.reserve(bytes.len().max(FEED_BLOCK));
        }
        self.copies.extend_from_slice(bytes);
        let chunk = self.copies.split().freeze();
        self.scanner.queue.push_back(Input::Chunk(chunk));
    }

    /// Feeds a chunk without copying it: events may hold slices of it.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    ///
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed_bytes(Bytes::from_static(b"event: tick\ndata: 1\n\n"));
    /// assert_eq!(parser.next_event().unwrap()?.event_type(), "tick");
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn feed_bytes(&mut self, chunk: impl Into<Bytes>) {
        let chunk = chunk.into();
        if chunk.is_empty()
            || self
                .scanner
                .continue_line(&chunk, self.interpreter.budget())
        {
            return;
        }
        self.scanner.queue.push_back(Input::Chunk(chunk));
    }

    /// Marks the end of the stream.
    ///
    /// Lines already fed are still returned by [`next_frame`](Parser::next_frame); an
    /// unterminated last line and an event without its closing empty line are discarded,
    /// as the standard says. Bytes fed afterwards start a new stream (its BOM is stripped
    /// again), while [`last_event_id`](Parser::last_event_id) and [`retry`](Parser::retry)
    /// carry over: reuse the parser across reconnections as `EventSource` does.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b"id: 1\ndata: a\n\ndata: never closed");
    /// parser.finish();
    /// assert_eq!(parser.next_event().unwrap()?.data(), "a");
    /// assert!(parser.next_event().is_none());
    ///
    /// // The reconnection's stream: the id is still known.
    /// parser.feed(b"data: b\n\n");
    /// assert_eq!(parser.next_event().unwrap()?.last_event_id(), "1");
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn finish(&mut self) {
        self.scanner.queue.push_back(Input::End);
    }

    /// The next event the input completes; `None` until more input arrives. Comments,
    /// retry fields and id-only blocks are applied and skipped.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b": comment\ndata: a\n\n");
    /// assert_eq!(parser.next_event().unwrap()?.data(), "a");
    /// assert!(parser.next_event().is_none());
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    // The name is the one `Parser` users expect; this is not `Iterator::next`.
    #[allow(clippy::should_implement_trait)]
    pub fn next_event(&mut self) -> Option<Result<Event, ParseError>> {
        loop {
            match self.next(false)? {
                Ok(Frame::Event(event)) => return Some(Ok(event)),
                Err(error) => return Some(Err(error)),
                Ok(_) => {}
            }
        }
    }

    /// The next frame in stream order, for proxies and heartbeat watchers; `None` until
    /// more input arrives.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Frame, Parser};
    ///
    /// let mut parser = Parser::new();
    /// parser.feed(b":\n\n");
    /// assert!(matches!(parser.next_frame(), Some(Ok(Frame::Comment(_)))));
    /// assert!(parser.next_frame().is_none());
    /// ```
    pub fn next_frame(&mut self) -> Option<Result<Frame, ParseError>> {
        self.next(true)
    }

    /// The next frame; with `frames` false, only events and errors.
    fn next(&mut self, frames: bool) -> Option<Result<Frame, ParseError>> {
        if self.scanner.queue.is_empty() {
            // Nothing to read (as after each piece of a drip): let go of the last line, and
            // of the chunk the checked text is part of.
            if !self.scanner.joined.is_empty() {
                self.scanner.joined = Bytes::new();
            }
            self.scanner.forget_text();
            return None;
        }
        loop {
            if let Some(frame) = self.next_in_chunk(frames) {
                return Some(frame);
            }
            let step = self.scanner.next_line(self.interpreter.budget())?;
            if let Some(frame) = self.interpreter.apply(step, frames) {
                return Some(frame);
            }
        }
    }

    /// The scanner's fast path: while nothing is carried over from an earlier chunk (no
    /// partial line, BOM or CR to resolve) and the event is within its budget, each line
    /// that ends inside the front chunk goes straight to the interpreter. `None` when the
    /// next line needs [`Scanner::next_line`]: it ends in a later chunk, or at a CR that
    /// ends the chunk, or it is too long, or the parser is skipping an event.
    #[inline]
    fn next_in_chunk(&mut self, frames: bool) -> Option<Result<Frame, ParseError>> {
        let scanner = &mut self.scanner;
        if scanner.partial_len != 0
            || scanner.discarding
            || scanner.after_cr
            || scanner.bom != BOM_DONE
        {
            return None;
        }
        if !scanner.joined.is_empty() {
            scanner.joined = Bytes::new();
        }
        let Some(Input::Chunk(chunk)) = scanner.queue.front() else {
            return None;
        };
        let bytes: &[u8] = chunk;
        if !scanner.lines_ahead.contains(&scanner.pos) {
            // Check the UTF-8 of all the complete lines ahead at once: one long check costs
            // far less than one per field, and the fields are then slices of checked text.
            let from = scanner.pos;
            let rest = bytes.get(from..)?;
            // Where the complete lines end; for a short rest, the end of the chunk will do.
            let last = match rest.len() {
                len if len <= CHECK_AT_ONCE => len.checked_sub(1)?,
                _ => memchr::memrchr2(b'\n', b'\r', rest)?,
            };
            scanner.lines_ahead = from..from + last + 1;
            scanner.text = if last < CHECK_AT_ONCE {
                ByteString::new()
            } else {
                ByteString::try_from(chunk.slice(scanner.lines_ahead.clone()))
                    .or_else(|error| {
                        ByteString::try_from(chunk.slice(from..from + error.valid_up_to()))
                    })
                    .unwrap_or_default()
            };
            scanner.text_at = from;
        }
        loop {
            let start = scanner.pos;
            let found = find_line_end(bytes.get(start..)?)?;
            let end = start + found;
            let next = match bytes.get(end..) {
                Some([b'\r', b'\n', ..]) => end + 2,
                Some([b'\r']) => return None,
                _ => end + 1,
            };
            if found > self.interpreter.budget()? {
                return None;
            }
            let line = Line {
                buf: chunk,
                start,
                end,
                text: Some((&scanner.text, scanner.text_at)),
            };
            // The usual event ends with its only data line: dispatch it at once, without
            // holding the data in the interpreter in between.
            let shortcut = match self.interpreter.data {
                Data::None => known_field(line.as_slice())
                    .filter(|(field, _)| *field == Field::Data)
                    .zip(empty_line_at(bytes, next)),
                _ => None,
            };
            if let Some(((_, colon), after)) = shortcut {
                scanner.pos = after;
                let space = usize::from(bytes.get(start + colon + 1) == Some(&b' '));
                let data = decode(&line, colon + 1 + space);
                return Some(Ok(Frame::Event(self.interpreter.event(data))));
            }
            scanner.pos = next;
            if let Some(frame) = self.interpreter.line(&line, frames) {
                return Some(frame);
            }
        }
    }

    /// The stream's last event ID: what a client sends as `Last-Event-ID` when it
    /// reconnects. It is set when a block that had an `id` field ends, and persists.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b"id: 42\n\n");
    /// while parser.next_event().is_some() {}
    /// assert_eq!(parser.last_event_id(), "42");
    /// ```
    pub fn last_event_id(&self) -> &str {
        &self.interpreter.last_event_id
    }

    /// The reconnection delay from the last valid `retry` field, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b"retry: 3000\nretry: 2s\n");
    /// while parser.next_frame().is_some() {}
    /// assert_eq!(parser.retry(), Some(Duration::from_secs(3)));
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.interpreter.retry
    }

    /// The bytes the parser holds for the line and the event in progress: at most the
    /// configured [`max_event_size`](Config::max_event_size). Chunks fed but not yet read
    /// are not counted, except bytes that only continue the line in progress: those are
    /// added to it as they are fed.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b"data: abc\ndata: de");
    /// assert!(parser.next_event().is_none());
    /// // "abc" and its line break wait for the rest of the event, "data: de" for the rest
    /// // of its line.
    /// assert_eq!(parser.buffered_len(), 4 + 8);
    /// parser.feed(b"f");
    /// assert_eq!(parser.buffered_len(), 4 + 9);
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.scanner.partial.len() + self.interpreter.size
    }
}

/// A summary: the input it holds can be megabytes.
impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("max_event_size", &self.interpreter.limit)
            .field("buffered_len", &self.buffered_len())
            .field("queued_chunks", &self.scanner.queue.len())
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.retry())
            .finish_non_exhaustive()
    }
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

/// What the scanner's queue holds: input, or the end of a stream.
#[derive(Debug)]
enum Input {
    Chunk(Bytes),
    End,
}

/// What the scanner found next.
#[derive(Debug)]
enum Step<'a> {
    /// A complete line, without its ending.
    Line(Line<'a>),
    /// A line read in skipping mode: only whether it was empty is known.
    Skipped { empty: bool },
    /// The line in progress passed the budget; its bytes are being dropped.
    TooLong,
    /// The end of a stream.
    End,
}

/// Where the scanner found the next line: a `Step` without the borrow.
#[derive(Debug)]
enum Scanned {
    /// `start..end` of the front chunk.
    InChunk {
        start: usize,
        end: usize,
    },
    /// All of `Scanner::joined`.
    Joined,
    Skipped {
        empty: bool,
    },
    TooLong,
    End,
}

/// A line: `buf[start..end]`, where `buf` is a fed chunk or the scanner's copy of a line
/// that spanned chunks.
#[derive(Debug)]
struct Line<'a> {
    buf: &'a Bytes,
    start: usize,
    end: usize,
    /// Text of `buf` known to be valid UTF-8, and where in `buf` it starts (see
    /// `Scanner::text`), if the scanner has it.
    text: Option<(&'a ByteString, usize)>,
}

impl Line<'_> {
    fn as_slice(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// `self.as_slice()[from..]` as `Bytes`, sharing the buffer.
    fn slice_from(&self, from: usize) -> Bytes {
        self.buf.slice((self.start + from).min(self.end)..self.end)
    }
}

#[derive(Debug, Default)]
struct Scanner {
    queue: VecDeque<Input>,
    /// Read position in the front chunk.
    pos: usize,
    /// The start of a line that spans chunks (empty while `discarding` or skipping).
    partial: BytesMut,
    /// The length of that line so far, counted also when its bytes are not kept.
    partial_len: usize,
    /// The last line that spanned chunks, frozen, for `Line` to borrow.
    joined: Bytes,
    /// Where in the front chunk the fast path last found complete lines.
    lines_ahead: core::ops::Range<usize>,
    /// Valid UTF-8 that starts at `text_at` in the front chunk: those lines, checked at
    /// once (up to the first invalid byte, if any; empty when they were few).
    text: ByteString,
    text_at: usize,
    /// The line in progress passed the budget: drop it up to its line ending.
    discarding: bool,
    /// The last line ended with CR at the end of a chunk: an LF opening the next one
    /// belongs to that ending.
    after_cr: bool,
    /// BOM bytes matched at the start of the stream; `BOM_DONE` once decided.
    bom: usize,
}

const BOM_DONE: usize = usize::MAX;

impl Scanner {
    /// The next line, or `None` when the input runs out. `budget` is how long the line may
    /// be; `None` asks only for line boundaries (the caller is skipping an event).
    fn next_line(&mut self, budget: Option<usize>) -> Option<Step<'_>> {
        Some(match self.scan(budget)? {
            Scanned::InChunk { start, end } => {
                let buf = match self.queue.front() {
                    Some(Input::Chunk(chunk)) => chunk,
                    // `scan` leaves the chunk of an `InChunk` line at the front.
                    _ => &self.joined,
                };
                Step::Line(Line {
                    buf,
                    start,
                    end,
                    text: None,
                })
            }
            Scanned::Joined => Step::Line(Line {
                buf: &self.joined,
                start: 0,
                end: self.joined.len(),
                text: None,
            }),
            Scanned::Skipped { empty } => Step::Skipped { empty },
            Scanned::TooLong => Step::TooLong,
            Scanned::End => Step::End,
        })
    }

    /// Finds the next line; reports where it is rather than borrowing it, so that the
    /// queue can be popped on the way.
    fn scan(&mut self, budget: Option<usize>) -> Option<Scanned> {
        // The previous line has been interpreted: let go of it, or it would pin up to a
        // whole line of memory that `buffered_len` does not count.
        if !self.joined.is_empty() {
            self.joined = Bytes::new();
        }
        loop {
            let chunk = match self.queue.front()? {
                Input::Chunk(chunk) => chunk,
                Input::End => {
                    self.queue.pop_front();
                    self.start_stream();
                    return Some(Scanned::End);
                }
            };
            let bytes: &[u8] = chunk;
            let mut pos = self.pos;
            if self.after_cr && pos < bytes.len() {
                self.after_cr = false;
                if bytes.get(pos) == Some(&b'\n') {
                    pos += 1;
                }
            }
            while self.bom < BOM.len() {
                let Some(&byte) = bytes.get(pos) else { break };
                if BOM.get(self.bom) == Some(&byte) {
                    self.bom += 1;
                    pos += 1;
                } else {
                    // Not a BOM: the bytes that looked like one start the first line.
                    let held = BOM.get(..self.bom).unwrap_or_default();
                    self.partial.extend_from_slice(held);
                    self.partial_len = held.len();
                    self.bom = BOM_DONE;
                }
            }
            if self.bom == BOM.len() {
                self.bom = BOM_DONE;
            }
            let rest = bytes.get(pos..).unwrap_or_default();
            let Some(found) = find_line_end(rest) else {
                // The line goes on in the next chunk.
                let step = hold(
                    &mut self.partial,
                    &mut self.partial_len,
                    &mut self.discarding,
                    rest,
                    budget,
                );
                self.queue.pop_front();
                self.pos = 0;
                self.forget_text();
                match step {
                    Some(step) => return Some(step),
                    None => continue,
                }
            };
            let end = pos + found;
            let mut next = end + 1;
            if bytes.get(end) == Some(&b'\r') {
                match bytes.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    // Report the line now; the LF, if it comes, is skipped then.
                    None => self.after_cr = true,
                }
            }
            self.pos = next;
            let len = self.partial_len + found;
            let spanned = self.partial_len > 0;
            self.partial_len = 0;
            if core::mem::take(&mut self.discarding) {
                continue;
            }
            return Some(match budget {
                None => Scanned::Skipped { empty: len == 0 },
                Some(max) if len > max => {
                    self.partial.clear();
                    Scanned::TooLong
                }
                Some(max) if spanned => {
                    extend_line(
                        &mut self.partial,
                        rest.get(..found).unwrap_or_default(),
                        max,
                    );
                    self.joined = self.partial.split().freeze();
                    if self.joined.len() > REUSE_LIMIT {
                        // `partial` shares the line's allocation; reusing it would pin a
                        // large buffer for the parser's lifetime.
                        self.partial = BytesMut::new();
                    }
                    Scanned::Joined
                }
                Some(_) => Scanned::InChunk { start: pos, end },
            });
        }
    }

    /// Takes `bytes` as they are fed when they only continue the line in progress (no line
    /// ending in them, nothing queued before them) and fit its budget: they are copied
    /// where the scanner would copy them anyway, and a drip of small pieces costs no queue
    /// entry per piece. `false` when they must be queued.
    fn continue_line(&mut self, bytes: &[u8], budget: Option<usize>) -> bool {
        let fits = match budget {
            Some(max) => self.discarding || self.partial_len + bytes.len() <= max,
            None => true,
        };
        if !fits
            || !self.queue.is_empty()
            || self.bom != BOM_DONE
            || self.after_cr
            || find_line_end(bytes).is_some()
        {
            return false;
        }
        let step = hold(
            &mut self.partial,
            &mut self.partial_len,
            &mut self.discarding,
            bytes,
            budget,
        );
        debug_assert!(step.is_none(), "a line within its budget is held");
        true
    }

    /// Forgets the checked text of the front chunk, which is going.
    fn forget_text(&mut self) {
        self.lines_ahead = 0..0;
        if !self.text.is_empty() {
            self.text = ByteString::new();
        }
    }

    /// Forgets the line in progress and expects a BOM again.
    fn start_stream(&mut self) {
        self.pos = 0;
        self.forget_text();
        self.partial.clear();
        self.partial_len = 0;
        self.discarding = false;
        self.after_cr = false;
        self.bom = 0;
    }
}

/// Where the line after an empty line that starts at `at` begins, if that empty line ends
/// inside `bytes` (a CR at the end of `bytes` does not count: an LF may follow).
#[inline]
fn empty_line_at(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at..)? {
        [b'\n', ..] => Some(at + 1),
        [b'\r', b'\n', ..] => Some(at + 2),
        [b'\r', _, ..] => Some(at + 1),
        _ => None,
    }
}

/// Where the first CR or LF of `rest` is. Short input (an empty line, which ends every
/// event, or the few bytes of a small chunk) is searched by a plain loop: a vector search
/// costs more to set up than that.
#[inline]
fn find_line_end(rest: &[u8]) -> Option<usize> {
    if rest.len() < 16 {
        rest.iter().position(|&byte| byte == b'\n' || byte == b'\r')
    } else if let Some(b'\n' | b'\r') = rest.first() {
        Some(0)
    } else {
        memchr::memchr2(b'\n', b'\r', rest)
    }
}

/// Keeps `rest`, the start of a line that the next chunk continues, within `budget`.
/// (A free function: `rest` borrows the scanner's queue.)
fn hold(
    partial: &mut BytesMut,
    partial_len: &mut usize,
    discarding: &mut bool,
    rest: &[u8],
    budget: Option<usize>,
) -> Option<Scanned> {
    if *discarding || rest.is_empty() {
        return None;
    }
    *partial_len += rest.len();
    match budget {
        None => None,
        Some(max) if *partial_len > max => {
            partial.clear();
            *partial_len = 0;
            *discarding = true;
            Some(Scanned::TooLong)
        }
        Some(max) => {
            extend_line(partial, rest, max);
            None
        }
    }
}

/// Appends to the buffer of a line that spans chunks, which holds at most `max` bytes.
/// `BytesMut` grows by doubling, so a line just past half the limit would get a buffer of
/// nearly twice it (kept for reuse): once doubling would pass `max`, grow to `max`.
fn extend_line(partial: &mut BytesMut, bytes: &[u8], max: usize) {
    make_room(partial, bytes.len(), max);
    match bytes {
        // A drip of single bytes: skip the copy routine's call.
        [byte] => partial.put_u8(*byte),
        _ => partial.extend_from_slice(bytes),
    }
}

/// Grows `buf`, which holds at most `max` bytes, to the limit rather than past it when
/// doubling for `additional` more bytes would (see [`extend_line`]).
#[inline]
fn make_room(buf: &mut BytesMut, additional: usize, max: usize) {
    let needed = buf.len() + additional;
    if needed > buf.capacity() && needed > max / 2 && needed <= max {
        let mut grown = BytesMut::with_capacity(max);
        grown.extend_from_slice(buf);
        *buf = grown;
    }
}

/// The data of the event in progress.
#[derive(Debug, Default)]
enum Data {
    #[default]
    None,
    /// One line: a slice of the input.
    One(ByteString),
    /// Several lines, joined with LF in `Interpreter::joined`.
    Many,
}

/// The standard's "interpret an event stream" state.
#[derive(Debug, Default)]
struct Interpreter {
    limit: usize,
    /// Bytes held for the event in progress (data, type, id), for the limit.
    size: usize,
    data: Data,
    /// Where lines of multi-line data are joined, undecoded.
    joined: BytesMut,
    /// This block's `event` field; `Some("")` stays distinct only until dispatch.
    event_type: Option<Small>,
    /// Whether this block had a valid `id` field (its value is `id_buffer`).
    block_has_id: bool,
    /// The input bytes of this block's last `event` and `id` values, counted in `size`.
    event_type_size: usize,
    id_size: usize,
    retry_field: Option<Duration>,
    /// The event passed the limit: ignore lines up to the next empty one.
    skipping: bool,
    /// The standard's "last event ID buffer", while it differs from the string: set by an
    /// `id` field, taken at the next dispatch (it survives a discarded block, as the
    /// buffer does). Moved into the event that carries it.
    id_buffer: Option<Small>,
    /// The standard's "last event ID string": a copy, so that events that carry their own
    /// id (the usual case) move it out instead of sharing it with the parser.
    last_event_id: String,
    /// `last_event_id` as shareable text, made when an event without an id of its own (or
    /// an id frame) first needs it, and kept until the id changes.
    shared_last_event_id: Option<ByteString>,
    retry: Option<Duration>,
}

impl Interpreter {
    fn budget(&self) -> Option<usize> {
        if self.skipping {
            None
        } else {
            Some(self.limit.saturating_sub(self.size))
        }
    }

    /// Applies one line. `frames` asks for comments, retry and id frames too.
    fn apply(&mut self, step: Step<'_>, frames: bool) -> Option<Result<Frame, ParseError>> {
        match step {
            Step::Line(line) => self.line(&line, frames),
            Step::Skipped { empty } => {
                if empty {
                    self.skipping = false;
                    self.take_id_buffer();
                }
                None
            }
            Step::TooLong => {
                self.reset_event();
                self.skipping = true;
                Some(Err(ParseError::EventTooLarge { limit: self.limit }))
            }
            Step::End => {
                self.reset_event();
                self.skipping = false;
                None
            }
        }
    }

    fn line(&mut self, line: &Line<'_>, frames: bool) -> Option<Result<Frame, ParseError>> {
        let bytes = line.as_slice();
        if bytes.is_empty() {
            return self.dispatch(frames);
        }
        let (field, value_at) = match known_field(bytes) {
            Some((field, colon)) => {
                let space = usize::from(bytes.get(colon + 1) == Some(&b' '));
                (field, colon + 1 + space)
            }
            None => match memchr::memchr(b':', bytes) {
                Some(0) => {
                    let value_at = 1 + usize::from(bytes.get(1) == Some(&b' '));
                    return frames
                        .then(|| Ok(Frame::Comment(Text::from_inner(decode(line, value_at)))));
                }
                Some(colon) => {
                    let space = usize::from(bytes.get(colon + 1) == Some(&b' '));
                    let name = bytes.get(..colon).unwrap_or_default();
                    (Field::of(name), colon + 1 + space)
                }
                None => (Field::of(bytes), bytes.len()),
            },
        };
        let value = bytes.get(value_at..).unwrap_or_default();
        match field {
            Field::Data => {
                self.size += value.len() + 1;
                match &self.data {
                    Data::None => self.data = Data::One(decode(line, value_at)),
                    Data::One(first) => {
                        extend_line(&mut self.joined, first.as_bytes(), self.limit);
                        push_line(&mut self.joined, value, self.limit);
                        self.data = Data::Many;
                    }
                    Data::Many => push_line(&mut self.joined, value, self.limit),
                }
            }
            Field::Event => {
                // Sizes count input bytes: a decoded value can be longer (U+FFFD).
                self.size = self.size - self.event_type_size + value.len();
                self.event_type_size = value.len();
                self.event_type = Some(decode_small(line, value_at));
            }
            Field::Id if !has_nul(value) => {
                self.size = self.size - self.id_size + value.len();
                self.id_size = value.len();
                self.id_buffer = Some(decode_small(line, value_at));
                self.block_has_id = true;
            }
            Field::Retry => {
                let retry = parse_retry(value)?;
                self.retry = Some(retry);
                self.retry_field = Some(retry);
                return frames.then_some(Ok(Frame::Retry(retry)));
            }
            Field::Id | Field::Other => {}
        }
        None
    }

    fn dispatch(&mut self, frames: bool) -> Option<Result<Frame, ParseError>> {
        let data = match core::mem::take(&mut self.data) {
            Data::None => {
                let buffer = self.take_id_buffer();
                let id = if self.block_has_id { buffer } else { None };
                self.reset_event();
                return id
                    .filter(|_| frames)
                    .map(|id| Ok(Frame::Id(Text::from_inner(id.to_byte_string()))));
            }
            Data::One(data) => data,
            Data::Many => {
                // The joined lines go to the event as they are; the buffer keeps its spare
                // room and gets the rest back once the event is dropped, unless it is large.
                let joined = if self.joined.len() <= REUSE_LIMIT {
                    self.joined.split().freeze()
                } else {
                    core::mem::take(&mut self.joined).freeze()
                };
                ByteString::try_from(joined.clone()).unwrap_or_else(|_| {
                    ByteString::from(String::from_utf8_lossy(&joined).into_owned())
                })
            }
        };
        Some(Ok(Frame::Event(self.event(data))))
    }

    /// Dispatches the block's event with `data`, and resets the block.
    fn event(&mut self, data: ByteString) -> Event {
        let buffer = self.take_id_buffer();
        let id = match buffer {
            Some(id) if self.block_has_id => Id::Own(id),
            _ => Id::Inherited(self.shared_id()),
        };
        let event_type = self.event_type.take().unwrap_or_default();
        let extra = self.retry_field.take().map(|retry| {
            alloc::boxed::Box::new(Extra {
                retry: Some(retry),
                ..Extra::default()
            })
        });
        self.reset_event();
        // Built last, so that it can be built where the caller wants it.
        Event {
            event_type,
            data: Some(data),
            id,
            extra,
        }
    }

    /// Sets the last event ID string to the buffer, if an `id` field changed it, and
    /// returns the buffer's text.
    fn take_id_buffer(&mut self) -> Option<Small> {
        let id = self.id_buffer.take()?;
        self.last_event_id.clear();
        self.last_event_id.push_str(id.as_str());
        self.shared_last_event_id = None;
        Some(id)
    }

    /// The last event ID string as shareable text.
    fn shared_id(&mut self) -> ByteString {
        if self.last_event_id.is_empty() {
            return ByteString::new();
        }
        self.shared_last_event_id
            .get_or_insert_with(|| ByteString::from(self.last_event_id.as_str()))
            .clone()
    }

    fn reset_event(&mut self) {
        self.size = 0;
        self.data = Data::None;
        self.joined.clear();
        self.event_type = None;
        self.event_type_size = 0;
        self.block_has_id = false;
        self.id_size = 0;
        self.retry_field = None;
    }
}

/// The standard's fields, and the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Data,
    Event,
    Id,
    Retry,
    Other,
}

impl Field {
    fn of(name: &[u8]) -> Field {
        match name {
            b"data" => Field::Data,
            b"event" => Field::Event,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => Field::Other,
        }
    }
}

/// The field and the position of the first colon when the line starts with one of the
/// standard's field names and a colon: those names hold no colon, so that is the line's
/// first colon, found with a few fixed-size compares instead of a search.
#[inline]
fn known_field(bytes: &[u8]) -> Option<(Field, usize)> {
    if bytes.first_chunk() == Some(b"data:") {
        Some((Field::Data, 4))
    } else if bytes.first_chunk() == Some(b"id:") {
        Some((Field::Id, 2))
    } else if bytes.first_chunk() == Some(b"event:") {
        Some((Field::Event, 5))
    } else if bytes.first_chunk() == Some(b"retry:") {
        Some((Field::Retry, 5))
    } else {
        None
    }
}

/// Whether an id value holds U+0000. Ids are short: a plain loop beats a vector search's
/// setup for them.
#[inline]
fn has_nul(value: &[u8]) -> bool {
    if value.len() < 32 {
        value.contains(&0)
    } else {
        memchr::memchr(0, value).is_some()
    }
}

/// The value of `line` from byte `from` on, decoded as UTF-8 with invalid sequences
/// replaced by U+FFFD, as the standard's decoder does. Valid text (the usual case) is a
/// slice of the line: no copy, and it is checked once.
fn decode(line: &Line<'_>, from: usize) -> ByteString {
    if let Some((text, value)) = checked(line, from) {
        return text.slice_ref(value);
    }
    ByteString::try_from(line.slice_from(from)).unwrap_or_else(|_| {
        let value = line.as_slice().get(from..).unwrap_or_default();
        ByteString::from(String::from_utf8_lossy(value).into_owned())
    })
}

/// [`decode`] for an event type or id: inline when short (see [`Small`]).
fn decode_small(line: &Line<'_>, from: usize) -> Small {
    let inline = match checked(line, from) {
        Some((_, value)) => Small::inline_str(value),
        None => Small::inline(line.as_slice().get(from..).unwrap_or_default()),
    };
    inline.unwrap_or_else(|| Small::new(decode(line, from)))
}

/// The value of `line` from byte `from` on, if it lies in text the scanner checked.
#[inline]
fn checked<'a>(line: &Line<'a>, from: usize) -> Option<(&'a ByteString, &'a str)> {
    let (text, at) = line.text?;
    let start = (line.start + from).checked_sub(at)?;
    let end = line.end.checked_sub(at)?;
    Some((text, text.get(start..end)?))
}

/// Appends LF and one more line of data, as it came, to `joined`, which holds at most
/// `limit` bytes (see [`extend_line`]). The joined lines are decoded at dispatch, at once:
/// LF is never part of a UTF-8 sequence, so that replaces invalid sequences exactly as
/// decoding each line would.
fn push_line(joined: &mut BytesMut, value: &[u8], limit: usize) {
    make_room(joined, 1 + value.len(), limit);
    joined.put_u8(b'\n');
    joined.extend_from_slice(value);
}

/// A `retry` value: ASCII digits only, at least one, in milliseconds. Values past
/// `u64::MAX` ms saturate: "wait practically forever" is what the server asked for.
fn parse_retry(value: &[u8]) -> Option<Duration> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let ms = value.iter().fold(0u64, |ms, digit| {
        ms.saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    });
    Some(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_values() {
        assert_eq!(parse_retry(b"0"), Some(Duration::ZERO));
        assert_eq!(parse_retry(b"1500"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry(b"99999999999999999999999"),
            Some(Duration::from_millis(u64::MAX))
        );
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"-1",
            b"+1",
            b"1.5",
            b"1e3",
            b"\xEF\xBC\x91",
        ] {
            assert_eq!(parse_retry(bad), None, "{bad:?}");
        }
    }

    fn decoded(bytes: &'static [u8]) -> ByteString {
        let buf = Bytes::from_static(bytes);
        let line = Line {
            buf: &buf,
            start: 0,
            end: bytes.len(),
            text: None,
        };
        decode(&line, 0)
    }

    #[test]
    fn decode_keeps_valid_text_in_place() {
        let text = decoded(b"caf\xC3\xA9");
        assert_eq!(&*text, "café");
    }

    #[test]
    fn decode_replaces_invalid_sequences_like_the_whatwg_decoder() {
        // A truncated 3-byte sequence is one U+FFFD; a lone continuation byte is another.
        assert_eq!(&*decoded(b"a\xE2\x82b\x80c"), "a\u{FFFD}b\u{FFFD}c");
    }

    #[test]
    fn spanning_line_is_copied_once_and_released() {
        let mut scanner = Scanner::default();
        scanner
            .queue
            .push_back(Input::Chunk(Bytes::from_static(b"ab")));
        scanner
            .queue
            .push_back(Input::Chunk(Bytes::from_static(b"cd\n")));
        let Some(Step::Line(line)) = scanner.next_line(Some(100)) else {
            panic!("no line")
        };
        assert_eq!(line.as_slice(), b"abcd");
        assert_eq!(scanner.partial_len, 0);
        assert!(scanner.partial.is_empty());
    }
}
