//! Server-Sent Events (`text/event-stream`, the format behind the browser's `EventSource`):
//! a spec-exact, zero-copy, sans-io parser and an encoder that never panics.
//!
//! **Servers** build an [`Event`] and write it into a reused `BytesMut`:
//!
//! ```
//! use sse_wire::bytes::BytesMut;
//! use sse_wire::Event;
//!
//! let mut body = BytesMut::new();
//! let event = Event::builder().event("tick").id("42").data("price: 10\nvolume: 3").build()?;
//! event.encode(&mut body);
//! Event::from_data("no event name needed").encode(&mut body);
//! assert_eq!(
//!     &body[..],
//!     b"event: tick\nid: 42\ndata: price: 10\ndata: volume: 3\n\ndata: no event name needed\n\n"
//! );
//! # Ok::<(), sse_wire::EncodeError>(())
//! ```
//!
//! Per token or tick, [`EventRef`] writes borrowed strings straight into the buffer, with
//! the same checks and the same bytes, and no allocation:
//! `EventRef::new(token).event("delta").encode(&mut body)?`.
//!
//! **Clients** feed the bytes they read, in chunks of any size, to a [`Parser`] and pull
//! events out; the parser keeps what a reconnection needs:
//!
//! ```
//! use sse_wire::bytes::Bytes;
//! use sse_wire::Parser;
//!
//! let mut parser = Parser::new();
//! for chunk in [&b"id: 7\nevent: tick\nda"[..], b"ta: hello\r", b"\n\r\n"] {
//!     parser.feed_bytes(Bytes::copy_from_slice(chunk));
//!     while let Some(event) = parser.next_event() {
//!         let event = event?;
//!         assert_eq!((event.event_type(), event.data()), ("tick", "hello"));
//!     }
//! }
//! assert_eq!(parser.last_event_id(), "7"); // send as Last-Event-ID when reconnecting
//! # Ok::<(), sse_wire::ParseError>(())
//! ```
//!
//! To reconnect as a browser's `EventSource` does, `EventSource` (feature `reqwest`) does it
//! all over reqwest; [`Reconnector`] has the same rules without I/O, for any HTTP client.
//!
//! # The wire format in brief
//!
//! A stream is UTF-8 text made of lines. A line is `field: value`, a comment starting with
//! `:`, or empty. Fields accumulate into an event; an empty line dispatches it.
//!
//! ```text
//! : a comment, ignored by clients
//! event: tick          <- the event type (default "message")
//! id: 42               <- sent back as Last-Event-ID on reconnection
//! retry: 1500          <- reconnection delay in milliseconds
//! data: line 1         <- data lines are joined with "\n"
//! data: line 2
//!                      <- empty line: dispatch
//! ```
//!
//! # How the pieces fit
//!
//! ```text
//!  server: Event::builder() -> Event -> encode(&mut BytesMut) -> bytes on the wire
//!          EventRef::new(&str)   ------> encode(&mut BytesMut) -> bytes on the wire
//!  client: bytes -> Parser::feed_bytes -> next_event / next_frame -> Event / Frame
//! ```
//!
//! The core does no I/O and reads no clock, so it runs under any runtime, or none.
//!
//! # Conformance
//!
//! The parser follows the WHATWG HTML standard, section "Server-sent events", "Parsing an
//! event stream" and "Interpreting an event stream", for every way the input can be split
//! into chunks:
//!
//! 1. Invalid UTF-8 becomes U+FFFD, never an error. One BOM is stripped at the start of the
//!    stream, also when it arrives split across chunks.
//! 2. A line ends at CRLF, LF or CR. A CRLF split across chunks is one line ending, and a CR
//!    at the end of a chunk ends its line at once (the parser does not wait for the next
//!    chunk to see whether an LF follows).
//! 3. An empty line dispatches. A line starting with `:` is a comment. Otherwise the field
//!    name is what precedes the first `:` and the value what follows it, less one leading
//!    space; a line without `:` is a field with an empty value. Names are case-sensitive.
//! 4. `event` sets the type; `data` appends a line; `id` sets the last event ID unless its
//!    value contains U+0000 (an empty value resets it; it persists across events); `retry`
//!    counts only when its value is ASCII digits alone (milliseconds). Other fields are
//!    ignored.
//! 5. On dispatch the last event ID is updated; a block without data dispatches nothing;
//!    the type defaults to `message`.
//! 6. At the end of the stream ([`Parser::finish`]) an unterminated event is discarded.
//!
//! The encoder never writes what would break framing: an event type or id with CR or LF (or
//! an id with NUL) is an [`EncodeError`]; line breaks in data and comments become separate
//! lines; every line is `field: value`, so a leading space in a value survives.
//!
//! # Limits
//!
//! Each input byte is scanned once, for any chunking, and the parser holds at most
//! [`Config::max_event_size`] bytes (16 MiB unless you set it) for the event in progress.
//! An event past the limit yields [`ParseError::EventTooLarge`] once; the parser skips the
//! rest of that event and carries on.
//!
//! # Features
//!
//! - `std` (default): runtime CPU detection for the line scanner. Without it the crate is
//!   `#![no_std]` and needs only `alloc`.
//! - `stream` (default): [`EncodeStream`] (events to bytes, with keep-alive and coalescing)
//!   and [`DecodeStream`] (bytes to events, or to frames) over any `Stream`, under any
//!   runtime; `no_std`-friendly.
//! - `tokio`: [`TokioTimer`], a keep-alive timer on `tokio::time`.
//! - `http-body`: [`SseBody`], an `http_body::Body` for hyper 1 and axum 0.8, and
//!   [`response_headers`] and `last_event_id`.
//! - `axum`: `SseBody` implements axum 0.8's `IntoResponse`.
//! - Serving helpers: `MaxAge` (feature `stream`) ends a stream after a maximum connection
//!   age, with jitter; `EncodeStream::tokio_keep_alive` and `MaxAge::tokio` (feature
//!   `tokio`) need no arguments.
//! - `json`: [`EventBuilder::json_data`], data serialized with serde_json.
//! - `hub`: `Hub`, fan-out to many clients from one bounded ring of events encoded once,
//!   with resume by `Last-Event-ID`; runtime-agnostic.
//! - `reqwest`: `EventSource`, a client that reconnects as the standard says (and safer),
//!   over reqwest 0.13 with tokio timers. The rules themselves, [`Reconnector`] and
//!   [`ReconnectPolicy`], are in the core and need no feature.
//! - `redis`: `RedisHub`, hubs on many nodes sharing one Redis Stream: an event
//!   published on any node reaches every node's clients, which resume on any node.
//! - `tokio-util`: [`EventCodec`] (events or frames) for `FramedRead` / `FramedWrite`.
//!
//! Without a feature, [`Parser`], [`Event`], the encoder, [`RESPONSE_HEADERS`] and the
//! errors are all there. The crate re-exports [`bytes`], whose `Bytes` and `BytesMut` its
//! API takes, so `sse_wire::bytes::Bytes` needs no dependency line of its own.
//!
// Links to items of features that are off lead to their docs.rs pages, so that the docs
// build without broken links under every feature set.
#![cfg_attr(feature = "stream", doc = "[`EncodeStream`]: crate::EncodeStream")]
#![cfg_attr(
    not(feature = "stream"),
    doc = "[`EncodeStream`]: https://docs.rs/sse-wire/latest/sse_wire/struct.EncodeStream.html"
)]
#![cfg_attr(feature = "stream", doc = "[`DecodeStream`]: crate::DecodeStream")]
#![cfg_attr(
    not(feature = "stream"),
    doc = "[`DecodeStream`]: https://docs.rs/sse-wire/latest/sse_wire/struct.DecodeStream.html"
)]
#![cfg_attr(feature = "tokio", doc = "[`TokioTimer`]: crate::TokioTimer")]
#![cfg_attr(
    not(feature = "tokio"),
    doc = "[`TokioTimer`]: https://docs.rs/sse-wire/latest/sse_wire/struct.TokioTimer.html"
)]
#![cfg_attr(feature = "http-body", doc = "[`SseBody`]: crate::SseBody")]
#![cfg_attr(
    not(feature = "http-body"),
    doc = "[`SseBody`]: https://docs.rs/sse-wire/latest/sse_wire/struct.SseBody.html"
)]
#![cfg_attr(
    feature = "http-body",
    doc = "[`response_headers`]: crate::response_headers"
)]
#![cfg_attr(
    not(feature = "http-body"),
    doc = "[`response_headers`]: https://docs.rs/sse-wire/latest/sse_wire/fn.response_headers.html"
)]
#![cfg_attr(
    feature = "json",
    doc = "[`EventBuilder::json_data`]: crate::EventBuilder::json_data"
)]
#![cfg_attr(
    not(feature = "json"),
    doc = "[`EventBuilder::json_data`]: https://docs.rs/sse-wire/latest/sse_wire/struct.EventBuilder.html#method.json_data"
)]
#![cfg_attr(feature = "tokio-util", doc = "[`EventCodec`]: crate::EventCodec")]
#![cfg_attr(
    not(feature = "tokio-util"),
    doc = "[`EventCodec`]: https://docs.rs/sse-wire/latest/sse_wire/struct.EventCodec.html"
)]
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
// Input must never reach a panic: outside tests, no unwrap, expect or unchecked indexing.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

extern crate alloc;

/// The `bytes` crate, re-exported: [`Parser::feed_bytes`] takes its `Bytes` and
/// [`Event::encode`] writes into its `BytesMut`, so `use sse_wire::bytes::Bytes;` works
/// without a dependency line of your own (add one when you name `bytes` directly; it must
/// be a 1.x version).
///
/// # Examples
///
/// ```
/// use sse_wire::bytes::{Bytes, BytesMut};
///
/// let mut parser = sse_wire::Parser::new();
/// parser.feed_bytes(Bytes::from_static(b"data: hi\n\n"));
/// let mut out = BytesMut::new();
/// parser.next_event().unwrap()?.encode(&mut out);
/// assert_eq!(&out[..], b"data: hi\n\n");
/// # Ok::<(), sse_wire::ParseError>(())
/// ```
pub use bytes;
#[cfg(feature = "std")]
extern crate std;

mod client;
#[cfg(feature = "tokio-util")]
mod codec;
mod encode;
mod error;
mod event;
mod event_ref;
mod headers;
#[cfg(feature = "http-body")]
mod http;
#[cfg(feature = "hub")]
mod hub;
#[cfg(feature = "json")]
mod json;
mod parse;
mod small;
#[cfg(feature = "stream")]
mod stream;

pub use client::{
    BoxError, Cause, ClientError, ReconnectPolicy, Reconnector, RequestHeaders, ResponseHead,
    Verdict,
};
#[cfg(feature = "reqwest")]
pub use client::{EventSource, SourceEvent};
#[cfg(feature = "tokio-util")]
pub use codec::EventCodec;
pub use encode::KEEP_ALIVE;
pub use error::{DecodeError, EncodeError, ParseError};
pub use event::{Event, EventBuilder, Frame, Text};
pub use event_ref::EventRef;
pub use headers::RESPONSE_HEADERS;
#[cfg(feature = "http-body")]
pub use http::{last_event_id, response_headers, SseBody};
#[cfg(feature = "redis")]
pub use hub::{BackplaneError, RedisHub, RedisHubBuilder};
#[cfg(feature = "hub")]
pub use hub::{Encoded, EventId, Hub, HubBuilder, Lag, Subscription};
#[cfg(feature = "json")]
pub use json::JsonError;
pub use parse::{Config, DecodeItem, Parser};
#[cfg(feature = "stream")]
pub use stream::serve::{MaxAge, KEEP_ALIVE_INTERVAL};
#[cfg(feature = "tokio")]
pub use stream::TokioTimer;
#[cfg(feature = "stream")]
pub use stream::{DecodeStream, EncodeItem, EncodeStream, KeepAliveTimer, NoKeepAlive};

// Doctest the README's examples.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
