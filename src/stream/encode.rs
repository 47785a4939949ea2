//! The server side: a stream of events into a stream of `Bytes`, with keep-alive and
//! coalescing.

use core::convert::Infallible;
use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::stream::{FusedStream, Stream};

use super::keep_alive::{KeepAliveTimer, NoKeepAlive};
use crate::encode::DATA_END;
use crate::{Event, Frame, KEEP_ALIVE};

pub(crate) mod sealed {
    // Public in a private module: nameable in bounds, implementable by no one outside.
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// What an [`EncodeStream`] accepts as items: an [`Event`] or a [`Frame`] (a stream that
/// cannot fail), or a `Result` of either (a stream whose error is passed through).
///
/// Frames let a proxy re-encode what a [`DecodeStream`](crate::DecodeStream) of frames
/// decoded, comments and retry delays included. The trait is sealed.
///
/// # Examples
///
/// ```
/// use futures_util::{stream, StreamExt};
/// use sse_wire::{EncodeStream, Event};
///
/// # futures_executor::block_on(async {
/// let infallible = EncodeStream::new(stream::iter([Event::from_data("a")]));
/// let fallible = EncodeStream::new(stream::iter([Ok::<_, std::io::Error>(Event::from_data("a"))]));
/// assert_eq!(infallible.collect::<Vec<_>>().await[0].as_ref().unwrap(), "data: a\n\n");
/// assert_eq!(fallible.collect::<Vec<_>>().await[0].as_ref().unwrap(), "data: a\n\n");
/// # });
/// ```
pub trait EncodeItem: sealed::Sealed {
    /// The error an item can carry; [`Infallible`] for plain events and frames.
    type Error;

    /// Appends the item's wire form to `buf`, or hands back its error.
    #[doc(hidden)]
    fn encode_into(self, buf: &mut BytesMut) -> Result<(), Self::Error>;

    /// Like [`encode_into`](EncodeItem::encode_into), but an item whose data is one line of
    /// at least `min` bytes may append only the part before its data and return the data,
    /// which the adapter yields as a chunk of its own, without copying it; the block's end
    /// ([`DATA_END`]) follows. Items that cannot do that copy, as `encode_into` does.
    #[doc(hidden)]
    fn encode_split(self, buf: &mut BytesMut, min: usize) -> Result<Option<Bytes>, Self::Error>
    where
        Self: Sized,
    {
        let _ = min;
        self.encode_into(buf).map(|()| None)
    }
}

impl sealed::Sealed for Event {}
impl EncodeItem for Event {
    type Error = Infallible;

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), Infallible> {
        self.encode(buf);
        Ok(())
    }

    fn encode_split(self, buf: &mut BytesMut, min: usize) -> Result<Option<Bytes>, Infallible> {
        Ok(self.encode_or_split(self.retry(), buf, min))
    }
}

impl sealed::Sealed for Frame {}
impl EncodeItem for Frame {
    type Error = Infallible;

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), Infallible> {
        self.encode(buf);
        Ok(())
    }

    fn encode_split(self, buf: &mut BytesMut, min: usize) -> Result<Option<Bytes>, Infallible> {
        match self {
            // A frame's event goes out without its retry, as `Frame::encode` writes it.
            Frame::Event(event) => Ok(event.encode_or_split(None, buf, min)),
            frame => frame.encode_into(buf).map(|()| None),
        }
    }
}

impl<T: EncodeItem<Error = Infallible>, E> sealed::Sealed for Result<T, E> {}
impl<T: EncodeItem<Error = Infallible>, E> EncodeItem for Result<T, E> {
    type Error = E;

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), E> {
        match self {
            Ok(item) => match item.encode_into(buf) {
                Ok(()) => Ok(()),
                Err(never) => match never {},
            },
            Err(error) => Err(error),
        }
    }

    fn encode_split(self, buf: &mut BytesMut, min: usize) -> Result<Option<Bytes>, E> {
        match self {
            Ok(item) => match item.encode_split(buf, min) {
                Ok(data) => Ok(data),
                Err(never) => match never {},
            },
            Err(error) => Err(error),
        }
    }
}

/// Data of one line at least this long is yielded as a chunk of its own, the very `Bytes`
/// the event holds, rather than copied into the adapter's buffer. The copy costs more than
/// the two extra chunks from about 16 KiB (at 4 KiB the two were level): into a sink that
/// copies each chunk once, as a socket write does, 64 KiB events went from 7.1 to 10.0 GiB/s
/// and 1 MiB lines from 6.3 to 10.8 (`cargo bench --bench encode -- stream`). Smaller data
/// is copied, so that small events still coalesce.
const PASS_THROUGH: usize = 16 * 1024;

/// The most items one poll takes from the inner stream, so that a stream that is always
/// ready cannot keep the task from yielding (items that encode to nothing, such as an empty
/// `Event`, would otherwise never fill a chunk).
const ITEMS_PER_POLL: usize = 1024;

/// Where the adapter is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The timer has not been armed yet: it is, on the first poll.
    Fresh,
    Running,
    /// The inner stream returned `None`; what is buffered still goes out.
    InnerDone,
    Done,
}

pin_project_lite::pin_project! {
    /// Encodes a stream of events into `Bytes` chunks ready to write to a connection: the
    /// server side of Server-Sent Events, under any runtime.
    ///
    /// The inner stream yields [`Event`]s or [`Frame`]s, or `Result`s of them (see
    /// [`EncodeItem`]); the adapter yields `Result<Bytes, E>`, with `E` = [`Infallible`]
    /// for a stream that cannot fail.
    ///
    /// - **Coalescing.** Each poll takes every event the inner stream has ready, up to
    ///   [`max_chunk_size`](EncodeStream::max_chunk_size) bytes (and 1024 events), and
    ///   yields them as one chunk, so a burst costs one write. The adapter polls the inner stream again only
    ///   while it returns `Ready`: an event that arrives alone is yielded at once, never
    ///   held back waiting for company.
    /// - **Large data, not copied.** An event whose data is one line of 16 KiB or more
    ///   (an image in base64, say) is not copied into the chunk: the chunk ends with its
    ///   `data: `, the next chunk is the event's own data `Bytes`, and the block's end
    ///   (`\n\n`) starts the chunk after. Written to a socket, that saves a copy of the
    ///   data; multi-line data is copied, since each line needs its own `data: `.
    /// - **Keep-alive.** With [`keep_alive`](EncodeStream::keep_alive), after an interval
    ///   in which no event went out, the adapter yields a comment, [`KEEP_ALIVE`], so that
    ///   proxies do not close the idle connection. Each chunk of events restarts the quiet
    ///   period. The clock is the caller's [`KeepAliveTimer`].
    /// - **Errors.** An inner `Err(e)` is yielded as it is, after the bytes of the events
    ///   that came before it. It does not end the adapter: the inner stream decides, by
    ///   ending or going on. (An HTTP server stops polling a body at its first error and
    ///   aborts the response, which is what a broken event source usually calls for.)
    /// - **End.** When the inner stream ends, the adapter yields what it holds and then
    ///   `None`, forever after ([`FusedStream`]); it never polls the inner stream past its
    ///   end. It never panics.
    /// - **Drop.** Dropping the adapter drops the inner stream: when a client disconnects
    ///   and the server drops the body, whatever produced the events is freed.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_wire::{EncodeStream, Event};
    ///
    /// # futures_executor::block_on(async {
    /// let events = stream::iter(["Hel", "lo"]).map(Event::from_data);
    /// let mut body = EncodeStream::new(events);
    /// // Both events were ready at once: one chunk.
    /// assert_eq!(body.next().await.unwrap().unwrap(), "data: Hel\n\ndata: lo\n\n");
    /// assert!(body.next().await.is_none());
    /// # });
    /// ```
    pub struct EncodeStream<S, T = NoKeepAlive>
    where
        S: Stream,
        S::Item: EncodeItem,
    {
        #[pin]
        inner: S,
        #[pin]
        timer: T,
        interval: Duration,
        max_chunk_size: usize,
        buf: BytesMut,
        // The data of a large event whose start is in `buf`: it goes out right after `buf`,
        // then the event's end.
        data: Option<Bytes>,
        // An error that came after events already in `buf`: it goes out next.
        error: Option<<S::Item as EncodeItem>::Error>,
        state: State,
    }
}

impl<S> EncodeStream<S>
where
    S: Stream,
    S::Item: EncodeItem,
{
    /// The default [`max_chunk_size`](EncodeStream::max_chunk_size): 64 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// # type S = futures_util::stream::Empty<sse_wire::Event>;
    /// assert_eq!(sse_wire::EncodeStream::<S>::DEFAULT_MAX_CHUNK_SIZE, 64 * 1024);
    /// ```
    pub const DEFAULT_MAX_CHUNK_SIZE: usize = 64 * 1024;

    /// Wraps `events`, with no keep-alive and the default chunk size.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_wire::{EncodeStream, Event};
    ///
    /// # futures_executor::block_on(async {
    /// let events = stream::iter([Ok::<_, &str>(Event::from_data("ok")), Err("upstream failed")]);
    /// let chunks: Vec<_> = EncodeStream::new(events).collect().await;
    /// assert_eq!(chunks[0].as_deref(), Ok(&b"data: ok\n\n"[..]));
    /// assert_eq!(chunks[1], Err("upstream failed"));
    /// # });
    /// ```
    pub fn new(events: S) -> Self {
        EncodeStream {
            inner: events,
            timer: NoKeepAlive,
            interval: Duration::ZERO,
            max_chunk_size: Self::DEFAULT_MAX_CHUNK_SIZE,
            buf: BytesMut::new(),
            data: None,
            error: None,
            state: State::Fresh,
        }
    }
}

impl<S, T> EncodeStream<S, T>
where
    S: Stream,
    S::Item: EncodeItem,
{
    /// Sends a keep-alive comment ([`KEEP_ALIVE`]) after every `interval` in which no event
    /// went out, timed by `timer`. 15 to 30 seconds suits most proxies. An interval of zero
    /// sends a keep-alive whenever the inner stream has nothing ready.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_wire::{EncodeStream, Event, NoKeepAlive};
    ///
    /// # let my_timer = NoKeepAlive;
    /// let events = futures_util::stream::iter([Event::from_data("x")]);
    /// // `my_timer` is any `KeepAliveTimer`, such as `sse_wire::TokioTimer::new()`.
    /// let body = EncodeStream::new(events).keep_alive(Duration::from_secs(15), my_timer);
    /// # drop(body);
    /// ```
    pub fn keep_alive<U: KeepAliveTimer>(self, interval: Duration, timer: U) -> EncodeStream<S, U> {
        EncodeStream {
            inner: self.inner,
            timer,
            interval,
            max_chunk_size: self.max_chunk_size,
            buf: self.buf,
            data: self.data,
            error: self.error,
            // A new timer is armed on the next poll, even if the old one was in use.
            state: match self.state {
                State::Running => State::Fresh,
                state => state,
            },
        }
    }

    /// Sets how many bytes of ready events may go into one chunk before the adapter yields
    /// it; default [`DEFAULT_MAX_CHUNK_SIZE`](EncodeStream::DEFAULT_MAX_CHUNK_SIZE). An
    /// event larger than that is still yielded whole, in a chunk of its own (one whose data
    /// is a single line of 16 KiB or more in three, see [`EncodeStream`]). `0` turns
    /// coalescing off: one event per chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_wire::{EncodeStream, Event};
    ///
    /// # futures_executor::block_on(async {
    /// let events = stream::iter([Event::from_data("a"), Event::from_data("b")]);
    /// let chunks: Vec<_> = EncodeStream::new(events).max_chunk_size(0).collect().await;
    /// assert_eq!(chunks.len(), 2);
    /// # });
    /// ```
    pub fn max_chunk_size(mut self, bytes: usize) -> Self {
        self.max_chunk_size = bytes;
        self
    }

    /// The inner stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let events = futures_util::stream::iter([sse_wire::Event::from_data("x")]);
    /// let body = sse_wire::EncodeStream::new(events);
    /// assert_eq!(body.get_ref().size_hint(), (1, Some(1)));
    /// # use futures_util::Stream;
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner stream, mutably. Polling it directly bypasses the adapter.
    ///
    /// # Examples
    ///
    /// ```
    /// let events = futures_util::stream::iter([sse_wire::Event::from_data("x")]);
    /// let mut body = sse_wire::EncodeStream::new(events);
    /// let _inner = body.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The pinned inner stream. Polling it directly bypasses the adapter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::pin;
    ///
    /// let events = futures_util::stream::iter([sse_wire::Event::from_data("x")]);
    /// let body = pin!(sse_wire::EncodeStream::new(events));
    /// let _inner = body.get_pin_mut();
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut S> {
        self.project().inner
    }

    /// Unwraps the inner stream. Events taken from it but not yet yielded are lost.
    ///
    /// # Examples
    ///
    /// ```
    /// let events = futures_util::stream::iter([sse_wire::Event::from_data("x")]);
    /// let _events = sse_wire::EncodeStream::new(events).into_inner();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, T> Stream for EncodeStream<S, T>
where
    S: Stream,
    S::Item: EncodeItem,
    T: KeepAliveTimer,
{
    type Item = Result<Bytes, <S::Item as EncodeItem>::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if let Some(data) = this.data.take() {
            // The event's end leads the next chunk, which goes out at once if nothing else
            // is ready.
            this.buf.extend_from_slice(DATA_END);
            this.timer.as_mut().reset(*this.interval);
            return Poll::Ready(Some(Ok(data)));
        }
        if let Some(error) = this.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        if *this.state == State::Fresh {
            this.timer.as_mut().reset(*this.interval);
            *this.state = State::Running;
        }
        let mut budget = ITEMS_PER_POLL;
        while *this.state == State::Running {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    match item.encode_split(this.buf, PASS_THROUGH) {
                        Ok(None) => {}
                        Ok(Some(data)) => {
                            *this.data = Some(data);
                            break;
                        }
                        Err(error) if this.buf.is_empty() => return Poll::Ready(Some(Err(error))),
                        Err(error) => {
                            *this.error = Some(error);
                            break;
                        }
                    }
                    budget -= 1;
                    if this.buf.len() >= *this.max_chunk_size || budget == 0 {
                        break;
                    }
                }
                Poll::Ready(None) => *this.state = State::InnerDone,
                Poll::Pending => break,
            }
        }
        if !this.buf.is_empty() {
            this.timer.as_mut().reset(*this.interval);
            return Poll::Ready(Some(Ok(this.buf.split().freeze())));
        }
        match *this.state {
            State::InnerDone | State::Done => {
                *this.state = State::Done;
                Poll::Ready(None)
            }
            // Only items that encode to nothing came, and more are ready: let other tasks
            // run, and come back.
            State::Fresh | State::Running if budget == 0 => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            State::Fresh | State::Running => match this.timer.as_mut().poll_expired(cx) {
                Poll::Ready(()) => {
                    this.timer.as_mut().reset(*this.interval);
                    Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.state {
            State::Done => (0, Some(0)),
            // Coalescing and keep-alive make the inner stream's count meaningless here.
            _ => (
                usize::from(self.error.is_some() || !self.buf.is_empty())
                    + usize::from(self.data.is_some()),
                None,
            ),
        }
    }
}

impl<S, T> FusedStream for EncodeStream<S, T>
where
    S: Stream,
    S::Item: EncodeItem,
    T: KeepAliveTimer,
{
    fn is_terminated(&self) -> bool {
        self.state == State::Done
    }
}

impl<S, T> fmt::Debug for EncodeStream<S, T>
where
    S: Stream + fmt::Debug,
    S::Item: EncodeItem,
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodeStream")
            .field("inner", &self.inner)
            .field("timer", &self.timer)
            .field("interval", &self.interval)
            .field("max_chunk_size", &self.max_chunk_size)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}
