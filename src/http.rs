//! The `http-body` integration: an SSE response body for hyper 1, axum 0.8 and any other
//! http-body 1.x stack.

use core::pin::Pin;
use core::task::{Context, Poll};

use bytes::Bytes;
use futures_core::stream::{FusedStream, Stream};
use http_body::{Body, Frame as BodyFrame, SizeHint};

use crate::{EncodeItem, EncodeStream, KeepAliveTimer, NoKeepAlive, RESPONSE_HEADERS};

pin_project_lite::pin_project! {
    /// An [`EncodeStream`] as an `http_body::Body<Data = Bytes>`: the body of an SSE
    /// response (feature `http-body`).
    ///
    /// Each chunk the encoder yields is one data frame, so keep-alive comments and
    /// coalesced bursts reach the connection as they are produced. An error of the event
    /// stream becomes the body's error (`Body::Error` is the stream's error type,
    /// [`Infallible`](core::convert::Infallible) for a stream of plain events); hyper then
    /// aborts the response, which tells the client to reconnect. When the client goes away,
    /// the server drops the body and with it the event stream.
    ///
    /// It works as it is with hyper 1 (`Response<SseBody<..>>`) and with axum 0.8
    /// (`axum::body::Body::new(body)`, for a `Send + 'static` body whose error converts into
    /// a boxed error). [`into_response`](SseBody::into_response) adds the SSE headers.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::stream;
    /// use http_body::Body;
    /// use sse_wire::{EncodeStream, Event, SseBody};
    ///
    /// let events = stream::iter([Event::from_data("hello")]);
    /// let response = SseBody::new(EncodeStream::new(events)).into_response();
    /// assert_eq!(response.headers()["content-type"], "text/event-stream");
    /// assert!(!response.body().is_end_stream());
    /// ```
    pub struct SseBody<S, T = NoKeepAlive>
    where
        S: Stream,
        S::Item: EncodeItem,
    {
        #[pin]
        encoder: EncodeStream<S, T>,
    }
}

impl<S, T> SseBody<S, T>
where
    S: Stream,
    S::Item: EncodeItem,
{
    /// A body that sends what `encoder` yields.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::stream;
    /// use sse_wire::{EncodeStream, Event, NoKeepAlive, SseBody};
    ///
    /// # let timer = NoKeepAlive; // e.g. sse_wire::TokioTimer::new()
    /// let events = stream::iter([Event::from_data("hello")]);
    /// let body = SseBody::new(EncodeStream::new(events).keep_alive(Duration::from_secs(15), timer));
    /// # drop(body);
    /// ```
    pub fn new(encoder: EncodeStream<S, T>) -> Self {
        SseBody { encoder }
    }

    /// An HTTP response with this body, status 200 and the headers of [`response_headers`].
    ///
    /// # Examples
    ///
    /// ```
    /// let events = futures_util::stream::iter([sse_wire::Event::from_data("x")]);
    /// let response = sse_wire::SseBody::new(sse_wire::EncodeStream::new(events)).into_response();
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["x-accel-buffering"], "no");
    /// ```
    pub fn into_response(self) -> ::http::Response<Self> {
        let mut response = ::http::Response::new(self);
        *response.headers_mut() = response_headers();
        response
    }

    /// The encoder.
    ///
    /// # Examples
    ///
    /// ```
    /// let events = futures_util::stream::iter([sse_wire::Event::from_data("x")]);
    /// let body = sse_wire::SseBody::new(sse_wire::EncodeStream::new(events));
    /// let _encoder: &sse_wire::EncodeStream<_> = body.get_ref();
    /// ```
    pub fn get_ref(&self) -> &EncodeStream<S, T> {
        &self.encoder
    }

    /// Unwraps the encoder.
    ///
    /// # Examples
    ///
    /// ```
    /// let events = futures_util::stream::iter([sse_wire::Event::from_data("x")]);
    /// let body = sse_wire::SseBody::new(sse_wire::EncodeStream::new(events));
    /// let _events = body.into_inner().into_inner();
    /// ```
    pub fn into_inner(self) -> EncodeStream<S, T> {
        self.encoder
    }
}

impl<S, T> From<EncodeStream<S, T>> for SseBody<S, T>
where
    S: Stream,
    S::Item: EncodeItem,
{
    fn from(encoder: EncodeStream<S, T>) -> Self {
        SseBody::new(encoder)
    }
}

impl<S, T> Body for SseBody<S, T>
where
    S: Stream,
    S::Item: EncodeItem,
    T: KeepAliveTimer,
{
    type Data = Bytes;
    type Error = <S::Item as EncodeItem>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, Self::Error>>> {
        self.project()
            .encoder
            .poll_next(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map(BodyFrame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.encoder.is_terminated()
    }

    fn size_hint(&self) -> SizeHint {
        // An event stream's length is unknown until it ends: chunked encoding, always.
        SizeHint::default()
    }
}

impl<S, T> core::fmt::Debug for SseBody<S, T>
where
    S: Stream + core::fmt::Debug,
    S::Item: EncodeItem,
    T: core::fmt::Debug,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SseBody")
            .field("encoder", &self.encoder)
            .finish()
    }
}

/// The headers an SSE response needs, as an `http::HeaderMap` (feature `http-body`):
/// `content-type: text/event-stream`, `cache-control: no-cache` and
/// `x-accel-buffering: no` (so nginx does not buffer the stream). See
/// [`RESPONSE_HEADERS`] for the same pairs as plain strings, for HTTP libraries that do not
/// use the `http` crate 1.x.
///
/// A `HeaderMap` is the one dependency type in this crate's API: it is what hyper and axum
/// responses carry, so returning one saves every caller a conversion.
///
/// # Examples
///
/// ```
/// let mut response = http::Response::new(());
/// response.headers_mut().extend(sse_wire::response_headers());
/// assert_eq!(response.headers()["cache-control"], "no-cache");
/// ```
pub fn response_headers() -> ::http::HeaderMap {
    let mut headers = ::http::HeaderMap::with_capacity(RESPONSE_HEADERS.len());
    for (name, value) in RESPONSE_HEADERS {
        headers.insert(
            ::http::header::HeaderName::from_static(name),
            ::http::header::HeaderValue::from_static(value),
        );
    }
    headers
}
