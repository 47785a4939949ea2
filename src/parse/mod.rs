//! The incremental parser: bytes in, frames out, no I/O.
//!
//! Two halves. [`Scanner`] turns the chunks it is fed into lines: it strips the BOM, treats
//! CR, LF and CRLF as one line ending each (also when CR and LF arrive in different chunks),
//! and hands out each line as a borrowed range of a chunk, copying only the lines that span
//! chunks. [`Interpreter`] applies the standard's field rules to those lines and builds
//! events out of slices of them. The size limit sits between the two: the scanner refuses
//! to buffer a line longer than what is left of the event's budget.
//!
//! [`Scanner::next_line`] is the one way a line comes out of the scanner, and
//! [`Interpreter::apply`] the one way it goes in; [`Parser::next_frame`] loops over the two.
//! A line that ends inside a fed chunk (the usual case) is lent out in place, with its UTF-8
//! checked together with the lines around it.

use core::fmt;
use core::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::{Event, Frame, ParseError};

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Lines that span chunks are joined in a buffer the scanner reuses, unless they are longer
/// than this: then it lets the allocation go with the line. Large enough that streams of
/// base64 images (hundreds of KiB per event) reuse one buffer instead of allocating, and
/// page-faulting, a fresh one per event; small enough that an idle parser pins little.
const REUSE_LIMIT: usize = 1024 * 1024;

/// The size of the blocks [`Parser::feed`] copies borrowed input into.
const FEED_BLOCK: usize = 8 * 1024;

mod config;
mod interpret;
mod scan;

pub use config::Config;

use interpret::Interpreter;
use scan::Scanner;

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
    /// use sse_wire::{Config, ParseError, Parser};
    ///
    /// let mut parser = Parser::with_config(Config::new().max_event_size(16));
    /// parser.feed(b"data: 0123456789abcdef\n\ndata: ok\n\n");
    /// assert_eq!(parser.next_event(), Some(Err(ParseError::EventTooLarge { limit: 16 })));
    /// assert_eq!(parser.next_event().unwrap()?.data(), "ok");
    /// # Ok::<(), ParseError>(())
    /// ```
    pub fn with_config(config: Config) -> Self {
        Parser {
            scanner: Scanner::default(),
            interpreter: Interpreter::new(config.get_max_event_size()),
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
        self.scanner.push(self.copies.split().freeze());
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
        self.scanner.push(chunk);
    }

    /// Marks the end of the stream.
    ///
    /// Lines already fed are still returned by [`next_frame`](Parser::next_frame); an
    /// unterminated last line and an event without its closing empty line are discarded,
    /// as the standard says. Bytes fed afterwards start a new stream (its BOM is stripped
    /// again), while [`last_event_id`](Parser::last_event_id) and [`retry`](Parser::retry)
    /// carry over: reuse the parser across reconnections as `EventSource` does. As in
    /// browsers, the new stream starts from the last event ID that was dispatched: an `id`
    /// field of the discarded block never takes effect.
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
    /// parser.feed(b"data: b\n\nid: 2\ndata: cut off");
    /// parser.finish();
    /// assert_eq!(parser.next_event().unwrap()?.last_event_id(), "1");
    /// // The id of the block cut off by the end of the stream never took effect.
    /// assert!(parser.next_event().is_none());
    /// assert_eq!(parser.last_event_id(), "1");
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn finish(&mut self) {
        self.scanner.finish();
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
    #[inline]
    pub fn next_event(&mut self) -> Option<Result<Event, ParseError>> {
        if self.scanner.is_drained() {
            return None;
        }
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
    #[inline]
    pub fn next_frame(&mut self) -> Option<Result<Frame, ParseError>> {
        if self.scanner.is_drained() {
            return None;
        }
        self.next(true)
    }

    /// The next frame; with `frames` false, only events and errors. Kept out of line, so
    /// that the check in front of it is inlined into the caller: a parser fed one small
    /// piece at a time is asked once per piece, usually in vain.
    #[inline(never)]
    fn next(&mut self, frames: bool) -> Option<Result<Frame, ParseError>> {
        loop {
            let line = self.scanner.next_line(self.interpreter.budget())?;
            if let Some(frame) = self.interpreter.apply(line, frames) {
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
        self.interpreter.last_event_id()
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
        self.interpreter.retry()
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
        self.scanner.held_len() + self.interpreter.held_len()
    }
}

mod sealed {
    // Public in a private module: nameable in bounds, implementable by no one outside.
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// What the decode adapters yield: [`Event`] (events only, as `EventSource` delivers them)
/// or [`Frame`] (events, comments, retry fields and id-only blocks, in stream order, for
/// proxies and heartbeat watchers). The item type of `DecodeStream<S, T>` (feature `stream`)
/// and `EventCodec<T>` (feature `tokio-util`); sealed, so these two are all there is.
///
/// # Examples
///
/// ```
/// use sse_wire::{DecodeItem, Event, Frame, Parser};
///
/// // What `T::next_from` does for each item type, as the adapters call it.
/// fn first<T: DecodeItem>(input: &[u8]) -> Option<T> {
///     let mut parser = Parser::new();
///     parser.feed(input);
///     T::next_from(&mut parser)?.ok()
/// }
/// assert_eq!(first::<Event>(b": hi\ndata: x\n\n").unwrap().data(), "x");
/// assert!(matches!(first::<Frame>(b": hi\ndata: x\n\n"), Some(Frame::Comment(text)) if text == "hi"));
/// ```
pub trait DecodeItem: sealed::Sealed + Sized {
    /// The next item of this type from `parser`: [`Parser::next_event`] for events,
    /// [`Parser::next_frame`] for frames.
    fn next_from(parser: &mut Parser) -> Option<Result<Self, ParseError>>;
}

impl sealed::Sealed for Event {}
impl DecodeItem for Event {
    #[inline]
    fn next_from(parser: &mut Parser) -> Option<Result<Self, ParseError>> {
        parser.next_event()
    }
}

impl sealed::Sealed for Frame {}
impl DecodeItem for Frame {
    #[inline]
    fn next_from(parser: &mut Parser) -> Option<Result<Self, ParseError>> {
        parser.next_frame()
    }
}

/// A summary: the input it holds can be megabytes.
impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("max_event_size", &self.interpreter.limit())
            .field("buffered_len", &self.buffered_len())
            .field("queued_chunks", &self.scanner.queued())
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
