//! The client side: a stream of byte chunks into a stream of events or frames.

use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use bytes::Bytes;
use futures_core::stream::{FusedStream, Stream};

use crate::{Config, DecodeError, DecodeItem, Event, Frame, Parser};

/// Where a decoder is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the inner stream.
    Reading,
    /// The inner stream ended and the parser was told ([`Parser::finish`]).
    Done,
}

/// The most chunks one poll reads from the inner stream, so that a stream that is always
/// ready cannot keep the task from yielding.
const CHUNKS_PER_POLL: usize = 1024;

/// Drains the parser, then reads the inner stream, until something comes out or the inner
/// stream has nothing ready.
fn poll_decode<S, B, E, T>(
    mut inner: Pin<&mut S>,
    parser: &mut Parser,
    state: &mut State,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<T, DecodeError<E>>>>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
    T: DecodeItem,
{
    let mut budget = CHUNKS_PER_POLL;
    loop {
        if let Some(item) = T::next_from(parser) {
            return Poll::Ready(Some(item.map_err(DecodeError::Parse)));
        }
        if *state == State::Done {
            return Poll::Ready(None);
        }
        if budget == 0 {
            // Chunks keep coming without completing anything (empty chunks, a long event
            // in tiny pieces): let other tasks run, and come back.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        budget -= 1;
        match inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => parser.feed_bytes(chunk),
            Poll::Ready(Some(Err(error))) => {
                return Poll::Ready(Some(Err(DecodeError::Transport(error))))
            }
            Poll::Ready(None) => {
                parser.finish();
                *state = State::Done;
            }
            Poll::Pending => return Poll::Pending,
        }
    }
}

pin_project_lite::pin_project! {
    /// Decodes a stream of byte chunks into [`Event`]s, or with `T` = [`Frame`] into
    /// frames: the client side of Server-Sent Events, under any runtime.
    ///
    /// The inner stream yields `Result<B, E>` with `B: Into<Bytes>`, as reqwest's
    /// `bytes_stream()` or a hyper body's data frames do. Each chunk goes to
    /// [`Parser::feed_bytes`] without being copied, so events can hold slices of it.
    ///
    /// - **Items.** `DecodeStream<S>` (that is, `DecodeStream<S, Event>`) yields events;
    ///   `DecodeStream<S, Frame>`, made with [`frames`](DecodeStream::frames), also yields
    ///   comments, retry fields and id-only blocks in stream order, for proxies (write each
    ///   frame back out with [`Frame::encode`], or hand the stream to an
    ///   [`EncodeStream`](crate::EncodeStream)) and heartbeat watchers. See [`DecodeItem`].
    /// - **Errors.** A transport error comes out as [`DecodeError::Transport`], a parse
    ///   error (an event over the size limit) as [`DecodeError::Parse`]. Neither ends the
    ///   adapter: after a parse error the parser has skipped the bad event, and after a
    ///   transport error the adapter polls the inner stream again, which decides whether it
    ///   goes on. The parser's state survives either way, so
    ///   [`last_event_id`](DecodeStream::last_event_id) is there for the reconnection.
    /// - **End.** When the inner stream ends, the adapter calls [`Parser::finish`] (an
    ///   unterminated last event is discarded, as the standard says), yields the items
    ///   still in the parser and then `None`, forever after ([`FusedStream`]).
    /// - **Reconnecting.** [`reconnect`](DecodeStream::reconnect) swaps in the new
    ///   connection's stream and keeps the last event ID and retry delay, as `EventSource`
    ///   does.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_wire::{DecodeStream, Frame};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter(["id: 1\ndata: hel", "lo\n\ndata: world\n\n"]).map(Ok::<_, std::io::Error>);
    /// let mut events = DecodeStream::new(chunks);
    /// assert_eq!(events.next().await.unwrap()?.data(), "hello");
    /// assert_eq!(events.next().await.unwrap()?.data(), "world");
    /// assert!(events.next().await.is_none());
    /// assert_eq!(events.last_event_id(), "1");
    ///
    /// // Frames, for a proxy: comments and retry fields too.
    /// let chunks = stream::iter([": ping\nretry: 500\ndata: x\n\n"]).map(Ok::<_, std::io::Error>);
    /// let frames: Vec<Frame> = DecodeStream::new(chunks).frames().map(Result::unwrap).collect().await;
    /// assert!(matches!(&frames[0], Frame::Comment(text) if text == "ping"));
    /// assert_eq!(frames[1], Frame::Retry(std::time::Duration::from_millis(500)));
    /// assert!(matches!(&frames[2], Frame::Event(event) if event.data() == "x"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[derive(Debug)]
    pub struct DecodeStream<S, T = Event> {
        #[pin]
        inner: S,
        parser: Parser,
        state: State,
        items: PhantomData<fn() -> T>,
    }
}

impl<S> DecodeStream<S> {
    /// Wraps `chunks`, with a parser of the default [`Config`]. It yields events; call
    /// [`frames`](DecodeStream::frames) for frames.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter([Ok::<_, std::io::Error>("data: a\n\n")]);
    /// let mut events = sse_wire::DecodeStream::new(chunks);
    /// assert_eq!(events.next().await.unwrap().unwrap().data(), "a");
    /// # });
    /// ```
    pub fn new(chunks: S) -> Self {
        Self::with_config(chunks, Config::new())
    }

    /// Wraps `chunks`, with a parser of the given limits. It yields events; call
    /// [`frames`](DecodeStream::frames) for frames.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_wire::{Config, DecodeError, DecodeStream, ParseError};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter(["data: too long\n\n"]).map(Ok::<_, std::io::Error>);
    /// let mut events = DecodeStream::with_config(chunks, Config::new().max_event_size(4));
    /// let error = events.next().await.unwrap().unwrap_err();
    /// assert!(matches!(error, DecodeError::Parse(ParseError::EventTooLarge { limit: 4 })));
    /// # });
    /// ```
    pub fn with_config(chunks: S, config: Config) -> Self {
        DecodeStream {
            inner: chunks,
            parser: Parser::with_config(config),
            state: State::Reading,
            items: PhantomData,
        }
    }
}

impl<S, T: DecodeItem> DecodeStream<S, T> {
    /// The same adapter, yielding [`Frame`]s: comments, retry fields and id-only blocks
    /// too. Nothing buffered is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_wire::{DecodeStream, Frame};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter(["data: 1\n\n:hi\n\n"]).map(Ok::<_, std::io::Error>);
    /// let mut events = DecodeStream::new(chunks);
    /// assert_eq!(events.next().await.unwrap().unwrap().data(), "1");
    /// let mut frames = events.frames();
    /// assert!(matches!(frames.next().await, Some(Ok(Frame::Comment(text))) if text == "hi"));
    /// # });
    /// ```
    pub fn frames(self) -> DecodeStream<S, Frame> {
        self.into_items()
    }

    /// The same adapter, yielding events only. Nothing buffered is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_wire::DecodeStream;
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter([":hi\ndata: x\n\n"]).map(Ok::<_, std::io::Error>);
    /// let mut events = DecodeStream::new(chunks).frames().events();
    /// assert_eq!(events.next().await.unwrap().unwrap().data(), "x");
    /// # });
    /// ```
    pub fn events(self) -> DecodeStream<S, Event> {
        self.into_items()
    }

    fn into_items<U: DecodeItem>(self) -> DecodeStream<S, U> {
        DecodeStream {
            inner: self.inner,
            parser: self.parser,
            state: self.state,
            items: PhantomData,
        }
    }

    /// The stream's last event ID so far: what to send as `Last-Event-ID` when
    /// reconnecting.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter(["id: 7\ndata: a\n\n"]).map(Ok::<_, std::io::Error>);
    /// let mut events = sse_wire::DecodeStream::new(chunks);
    /// while events.next().await.is_some() {}
    /// assert_eq!(events.last_event_id(), "7");
    /// # });
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The reconnection delay from the stream's last valid `retry` field, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::{stream, StreamExt};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter(["retry: 2500\n\n"]).map(Ok::<_, std::io::Error>);
    /// let mut frames = sse_wire::DecodeStream::new(chunks).frames();
    /// assert!(frames.next().await.is_some());
    /// assert_eq!(frames.retry(), Some(Duration::from_millis(2500)));
    /// # });
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// The parser, for its other state, such as
    /// [`buffered_len`](Parser::buffered_len).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter(["data: par"]).map(Ok::<_, std::io::Error>);
    /// let mut events = sse_wire::DecodeStream::new(chunks);
    /// assert!(events.next().await.is_none());
    /// // The stream ended inside an event: `finish` discarded what was held.
    /// assert_eq!(events.parser().buffered_len(), 0);
    /// # });
    /// ```
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// The inner stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::Stream;
    ///
    /// let chunks = futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>();
    /// let events = sse_wire::DecodeStream::new(chunks);
    /// assert_eq!(events.get_ref().size_hint(), (0, Some(0)));
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner stream, mutably. Polling it directly bypasses the parser.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter(["data: a\n\n", "data: b\n\n"]).map(Ok::<_, std::io::Error>);
    /// let mut events = sse_wire::DecodeStream::new(chunks);
    /// // The first chunk is taken from the inner stream, so the parser never sees it.
    /// assert_eq!(events.get_mut().next().await.unwrap()?, "data: a\n\n");
    /// assert_eq!(events.next().await.unwrap()?.data(), "b");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The pinned inner stream. Polling it directly bypasses the parser.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::Stream;
    ///
    /// let chunks = futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>();
    /// let events = std::pin::pin!(sse_wire::DecodeStream::new(chunks));
    /// assert_eq!(events.get_pin_mut().size_hint(), (0, Some(0)));
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut S> {
        self.project().inner
    }

    /// Unwraps the inner stream. What the parser held is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter(["data: a\n\n"]).map(Ok::<_, std::io::Error>);
    /// let mut chunks = sse_wire::DecodeStream::new(chunks).into_inner();
    /// assert_eq!(chunks.next().await.unwrap()?, "data: a\n\n");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Continues on a new connection's stream, as `EventSource` does after an error
    /// or the end of the stream: an unterminated event of the old stream is dropped,
    /// the last event ID and retry delay are kept (events of the new stream report
    /// the old last event ID until it sends an id), and a BOM is stripped again.
    ///
    /// Takes `Pin<&mut Self>` so that a boxed or pinned adapter can reconnect; for
    /// an `Unpin` one, call it through `Pin::new(&mut decoder)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::Pin;
    /// use futures_util::{stream, StreamExt};
    ///
    /// # futures_executor::block_on(async {
    /// let connect = |body: &'static str| stream::iter([body]).map(Ok::<_, std::io::Error>);
    /// let mut events = sse_wire::DecodeStream::new(connect("id: 5\ndata: a\n\ndata: cut sh"));
    /// while events.next().await.is_some() {}
    /// // Reconnect with `Last-Event-ID: 5` after waiting `events.retry()`.
    /// assert_eq!(events.last_event_id(), "5");
    /// Pin::new(&mut events).reconnect(connect("data: b\n\n"));
    /// let event = events.next().await.unwrap().unwrap();
    /// assert_eq!((event.data(), event.last_event_id()), ("b", "5"));
    /// # });
    /// ```
    pub fn reconnect(self: Pin<&mut Self>, chunks: S) {
        let mut this = self.project();
        this.inner.set(chunks);
        if *this.state == State::Reading {
            this.parser.finish();
        }
        *this.state = State::Reading;
    }
}

impl<S, B, E, T> Stream for DecodeStream<S, T>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
    T: DecodeItem,
{
    type Item = Result<T, DecodeError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        poll_decode(this.inner, this.parser, this.state, cx)
    }
}

impl<S, T> FusedStream for DecodeStream<S, T>
where
    Self: Stream,
{
    fn is_terminated(&self) -> bool {
        self.state == State::Done
    }
}
