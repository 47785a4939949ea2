//! The `tokio-util` integration: `Decoder` and `Encoder` for `FramedRead` / `FramedWrite`.

use core::marker::PhantomData;
use core::time::Duration;
use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::{Config, DecodeError, DecodeItem, Event, Frame, Parser};

impl From<io::Error> for DecodeError<io::Error> {
    fn from(error: io::Error) -> Self {
        DecodeError::Transport(error)
    }
}

/// A tokio-util codec for event streams (feature `tokio-util`): decodes bytes into
/// [`Event`]s, or with `T` = [`Frame`] into frames (events, comments, retry fields and
/// id-only blocks, in stream order, for proxies); encodes [`Event`]s and [`Frame`]s either
/// way.
///
/// Decoding takes the bytes `FramedRead` read without copying them (events may hold slices
/// of them) and returns `Ok(None)` until they complete an item. At the reader's end,
/// `decode_eof` calls [`Parser::finish`]: an unterminated last event is discarded, as the
/// standard says. Errors are [`DecodeError`]: `Transport` for I/O, `Parse` for an event
/// over the size limit. The parser would recover from the latter, but `FramedRead` ends
/// after any decoder error; set [`Config::max_event_size`] to what you can accept.
///
/// # Examples
///
/// ```
/// use futures_util::{SinkExt, StreamExt};
/// use sse_wire::{Event, EventCodec, Frame};
/// use tokio_util::codec::{FramedRead, FramedWrite};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut wire = Vec::new();
/// let mut writer = FramedWrite::new(&mut wire, EventCodec::new());
/// writer.send(Event::builder().id("1").comment("hi").data("hello").build()?).await?;
/// drop(writer);
///
/// let mut reader = FramedRead::new(&wire[..], EventCodec::new());
/// let event = reader.next().await.unwrap()?;
/// assert_eq!((event.id(), event.data()), (Some("1"), "hello"));
/// assert!(reader.next().await.is_none());
/// assert_eq!(reader.decoder().last_event_id(), "1");
///
/// // Frames: the comment comes out too.
/// let mut reader = FramedRead::new(&wire[..], EventCodec::new().frames());
/// assert!(matches!(reader.next().await.unwrap()?, Frame::Comment(text) if text == "hi"));
/// assert!(matches!(reader.next().await.unwrap()?, Frame::Event(_)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct EventCodec<T = Event> {
    parser: Parser,
    /// `decode_eof` called [`Parser::finish`]; bytes that arrive after it start a new
    /// stream, and the next end finishes that one.
    finished: bool,
    items: PhantomData<fn() -> T>,
}

impl EventCodec {
    /// A codec whose parser has the default [`Config`]. It decodes events; call
    /// [`frames`](EventCodec::frames) for frames.
    ///
    /// # Examples
    ///
    /// ```
    /// let codec = sse_wire::EventCodec::new();
    /// assert_eq!(codec.last_event_id(), "");
    /// assert_eq!(codec.parser().buffered_len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_config(Config::new())
    }

    /// A codec whose parser has the given limits. It decodes events; call
    /// [`frames`](EventCodec::frames) for frames.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Config, DecodeError, EventCodec, ParseError};
    /// use tokio_util::codec::Decoder;
    ///
    /// let mut codec = EventCodec::with_config(Config::new().max_event_size(4));
    /// let mut buf = bytes::BytesMut::from(&b"data: too long\n\n"[..]);
    /// let error = codec.decode(&mut buf).unwrap_err();
    /// assert!(matches!(error, DecodeError::Parse(ParseError::EventTooLarge { limit: 4 })));
    /// ```
    pub fn with_config(config: Config) -> Self {
        EventCodec {
            parser: Parser::with_config(config),
            finished: false,
            items: PhantomData,
        }
    }
}

impl Default for EventCodec {
    fn default() -> Self {
        EventCodec::new()
    }
}

impl<T: DecodeItem> EventCodec<T> {
    /// The same codec, decoding [`Frame`]s: comments, retry fields and id-only blocks too.
    /// Nothing buffered is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{EventCodec, Frame};
    /// use tokio_util::codec::Decoder;
    ///
    /// let mut codec = EventCodec::new().frames();
    /// let mut buf = bytes::BytesMut::from(&b":\n\n"[..]);
    /// assert!(matches!(codec.decode(&mut buf)?, Some(Frame::Comment(_))));
    /// # Ok::<(), sse_wire::DecodeError<std::io::Error>>(())
    /// ```
    pub fn frames(self) -> EventCodec<Frame> {
        self.into_items()
    }

    /// The same codec, decoding events only. Nothing buffered is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::EventCodec;
    /// use tokio_util::codec::Decoder;
    ///
    /// let mut codec = EventCodec::new().frames().events();
    /// let mut buf = bytes::BytesMut::from(&b":\ndata: x\n\n"[..]);
    /// assert_eq!(codec.decode(&mut buf)?.unwrap().data(), "x");
    /// # Ok::<(), sse_wire::DecodeError<std::io::Error>>(())
    /// ```
    pub fn events(self) -> EventCodec<Event> {
        self.into_items()
    }

    fn into_items<U: DecodeItem>(self) -> EventCodec<U> {
        EventCodec {
            parser: self.parser,
            finished: self.finished,
            items: PhantomData,
        }
    }

    /// The stream's last event ID so far: what to send as `Last-Event-ID` when
    /// reconnecting.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::Decoder;
    ///
    /// let mut codec = sse_wire::EventCodec::new();
    /// let mut buf = bytes::BytesMut::from(&b"id: 3\n\n"[..]);
    /// while codec.decode(&mut buf)?.is_some() {}
    /// assert_eq!(codec.last_event_id(), "3");
    /// # Ok::<(), sse_wire::DecodeError<std::io::Error>>(())
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The reconnection delay from the stream's last valid `retry` field, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::Decoder;
    ///
    /// let mut codec = sse_wire::EventCodec::new().frames();
    /// let mut buf = bytes::BytesMut::from(&b"retry: 100\n"[..]);
    /// while codec.decode(&mut buf)?.is_some() {}
    /// assert_eq!(codec.retry(), Some(std::time::Duration::from_millis(100)));
    /// # Ok::<(), sse_wire::DecodeError<std::io::Error>>(())
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// The parser, for its other state.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::Decoder;
    ///
    /// let mut codec = sse_wire::EventCodec::new();
    /// let mut buf = bytes::BytesMut::from(&b"data: par"[..]);
    /// assert!(codec.decode(&mut buf)?.is_none());
    /// assert_eq!(codec.parser().buffered_len(), 9);
    /// # Ok::<(), sse_wire::DecodeError<std::io::Error>>(())
    /// ```
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// Hands what `src` holds to the parser without copying it: `split` takes the bytes
    /// and leaves `src` empty (its spare capacity returns once the events are dropped).
    fn take(&mut self, src: &mut BytesMut) {
        if !src.is_empty() {
            self.parser.feed_bytes(src.split().freeze());
            self.finished = false;
        }
    }

    fn next_item(&mut self) -> Result<Option<T>, DecodeError<io::Error>> {
        T::next_from(&mut self.parser)
            .transpose()
            .map_err(DecodeError::Parse)
    }
}

impl<T: DecodeItem> Decoder for EventCodec<T> {
    type Item = T;
    type Error = DecodeError<io::Error>;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<T>, Self::Error> {
        self.take(src);
        self.next_item()
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<T>, Self::Error> {
        self.take(src);
        if !self.finished {
            self.parser.finish();
            self.finished = true;
        }
        self.next_item()
    }
}

impl<T> Encoder<Event> for EventCodec<T> {
    type Error = io::Error;

    fn encode(&mut self, event: Event, dst: &mut BytesMut) -> io::Result<()> {
        event.encode(dst);
        Ok(())
    }
}

impl<T> Encoder<&Event> for EventCodec<T> {
    type Error = io::Error;

    fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> io::Result<()> {
        event.encode(dst);
        Ok(())
    }
}

impl<T> Encoder<Frame> for EventCodec<T> {
    type Error = io::Error;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> io::Result<()> {
        frame.encode(dst);
        Ok(())
    }
}
