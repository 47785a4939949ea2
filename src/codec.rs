//! The `tokio-util` integration: `Decoder` and `Encoder` for `FramedRead` / `FramedWrite`.

use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::{Config, DecodeError, Event, Frame, ParseError, Parser};

impl From<io::Error> for DecodeError<io::Error> {
    fn from(error: io::Error) -> Self {
        DecodeError::Transport(error)
    }
}

/// What both codecs hold: a parser, and whether the reader's end was passed to it.
#[derive(Debug, Default)]
struct State {
    parser: Parser,
    /// `decode_eof` called [`Parser::finish`]; bytes that arrive after it start a new
    /// stream, and the next end finishes that one.
    finished: bool,
}

impl State {
    fn with_config(config: Config) -> Self {
        State {
            parser: Parser::with_config(config),
            finished: false,
        }
    }

    /// Hands what `src` holds to the parser without copying it: `split` takes the bytes
    /// and leaves `src` empty (its spare capacity returns once the events are dropped).
    fn take(&mut self, src: &mut BytesMut) {
        if !src.is_empty() {
            self.parser.feed_bytes(src.split().freeze());
            self.finished = false;
        }
    }

    fn decode<T>(
        &mut self,
        src: &mut BytesMut,
        next: fn(&mut Parser) -> Option<Result<T, ParseError>>,
    ) -> Result<Option<T>, DecodeError<io::Error>> {
        self.take(src);
        next(&mut self.parser)
            .transpose()
            .map_err(DecodeError::Parse)
    }

    fn decode_eof<T>(
        &mut self,
        src: &mut BytesMut,
        next: fn(&mut Parser) -> Option<Result<T, ParseError>>,
    ) -> Result<Option<T>, DecodeError<io::Error>> {
        self.take(src);
        if !self.finished {
            self.parser.finish();
            self.finished = true;
        }
        next(&mut self.parser)
            .transpose()
            .map_err(DecodeError::Parse)
    }
}

/// A tokio-util codec for events (feature `tokio-util`): decodes bytes into [`Event`]s
/// with a [`Parser`], and encodes [`Event`]s and [`Frame`]s.
///
/// Decoding takes the bytes `FramedRead` read without copying them (events may hold slices
/// of them) and returns `Ok(None)` until they complete an event. At the reader's end,
/// `decode_eof` calls [`Parser::finish`]: an unterminated last event is discarded, as the
/// standard says. Errors are [`DecodeError`]: `Transport` for I/O, `Parse` for an event
/// over the size limit. The parser would recover from the latter, but `FramedRead` ends
/// after any decoder error; set [`Config::max_event_size`] to what you can accept.
///
/// # Examples
///
/// ```
/// use futures_util::{SinkExt, StreamExt};
/// use sse_wire::{Event, EventCodec};
/// use tokio_util::codec::{FramedRead, FramedWrite};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut wire = Vec::new();
/// let mut writer = FramedWrite::new(&mut wire, EventCodec::new());
/// writer.send(Event::builder().id("1").data("hello").build()?).await?;
/// drop(writer);
///
/// let mut reader = FramedRead::new(&wire[..], EventCodec::new());
/// let event = reader.next().await.unwrap()?;
/// assert_eq!((event.id(), event.data()), (Some("1"), "hello"));
/// assert!(reader.next().await.is_none());
/// assert_eq!(reader.decoder().last_event_id(), "1");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct EventCodec(State);

/// A tokio-util codec for frames (feature `tokio-util`): decodes bytes into [`Frame`]s
/// (events, comments, retry fields and id-only blocks, in stream order) and encodes
/// [`Frame`]s and [`Event`]s. For proxies; otherwise it works as [`EventCodec`] does.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_wire::{Frame, FrameCodec};
/// use tokio_util::codec::FramedRead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut reader = FramedRead::new(&b":\n\ndata: x\n\n"[..], FrameCodec::new());
/// assert!(matches!(reader.next().await.unwrap()?, Frame::Comment(_)));
/// assert!(matches!(reader.next().await.unwrap()?, Frame::Event(_)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct FrameCodec(State);

/// The methods both codecs have, documented once per type.
macro_rules! common_methods {
    ($name:ident) => {
        impl $name {
            /// A codec whose parser has the default [`Config`].
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let codec = sse_wire::", stringify!($name), "::new();")]
            /// assert_eq!(codec.last_event_id(), "");
            /// ```
            pub fn new() -> Self {
                $name(State::default())
            }

            /// A codec whose parser has the given limits.
            ///
            /// # Examples
            ///
            /// ```
            /// use sse_wire::Config;
            ///
            #[doc = concat!("let codec = sse_wire::", stringify!($name), "::with_config(Config::new().max_event_size(1 << 20));")]
            /// assert_eq!(codec.parser().buffered_len(), 0);
            /// ```
            pub fn with_config(config: Config) -> Self {
                $name(State::with_config(config))
            }

            /// The stream's last event ID so far: what to send as `Last-Event-ID` when
            /// reconnecting.
            ///
            /// # Examples
            ///
            /// ```
            /// use tokio_util::codec::Decoder;
            ///
            #[doc = concat!("let mut codec = sse_wire::", stringify!($name), "::new();")]
            /// let mut buf = bytes::BytesMut::from(&b"id: 3\n\n"[..]);
            /// while codec.decode(&mut buf)?.is_some() {}
            /// assert_eq!(codec.last_event_id(), "3");
            /// # Ok::<(), sse_wire::DecodeError<std::io::Error>>(())
            /// ```
            pub fn last_event_id(&self) -> &str {
                self.0.parser.last_event_id()
            }

            /// The reconnection delay from the stream's last valid `retry` field, if any.
            ///
            /// # Examples
            ///
            /// ```
            /// use tokio_util::codec::Decoder;
            ///
            #[doc = concat!("let mut codec = sse_wire::", stringify!($name), "::new();")]
            /// let mut buf = bytes::BytesMut::from(&b"retry: 100\n"[..]);
            /// while codec.decode(&mut buf)?.is_some() {}
            /// assert_eq!(codec.retry(), Some(std::time::Duration::from_millis(100)));
            /// # Ok::<(), sse_wire::DecodeError<std::io::Error>>(())
            /// ```
            pub fn retry(&self) -> Option<core::time::Duration> {
                self.0.parser.retry()
            }

            /// The parser, for its other state.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let codec = sse_wire::", stringify!($name), "::new();")]
            /// assert_eq!(codec.parser().retry(), None);
            /// ```
            pub fn parser(&self) -> &Parser {
                &self.0.parser
            }
        }

        impl Encoder<Event> for $name {
            type Error = io::Error;

            fn encode(&mut self, event: Event, dst: &mut BytesMut) -> io::Result<()> {
                event.encode(dst);
                Ok(())
            }
        }

        impl Encoder<&Event> for $name {
            type Error = io::Error;

            fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> io::Result<()> {
                event.encode(dst);
                Ok(())
            }
        }

        impl Encoder<Frame> for $name {
            type Error = io::Error;

            fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> io::Result<()> {
                frame.encode(dst);
                Ok(())
            }
        }
    };
}

common_methods!(EventCodec);
common_methods!(FrameCodec);

impl Decoder for EventCodec {
    type Item = Event;
    type Error = DecodeError<io::Error>;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, Self::Error> {
        self.0.decode(src, Parser::next_event)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, Self::Error> {
        self.0.decode_eof(src, Parser::next_event)
    }
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = DecodeError<io::Error>;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        self.0.decode(src, Parser::next_frame)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        self.0.decode_eof(src, Parser::next_frame)
    }
}
