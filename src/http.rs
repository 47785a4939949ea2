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
    /// - **axum 0.8** (feature `axum`): return it from a handler. It implements axum's
    ///   `IntoResponse`, status 200 with the SSE headers, for a `Send + 'static` body whose
    ///   error converts into a boxed error. (Wrapping it yourself in
    ///   `axum::body::Body::new(body)` would send it without the SSE headers.)
    /// - **hyper 1 and other http-body stacks**:
    ///   [`into_http_response`](SseBody::into_http_response) gives a
    ///   `Response<SseBody<..>>` with the SSE headers.
    ///
    /// **Compression** holds events back: an encoder that buffers until it has enough to
    /// compress sends nothing until then. Keep `text/event-stream` out of compression layers
    /// (tower-http's `CompressionLayer` skips it with its default predicate; a custom
    /// predicate may not) and out of a proxy's compression (nginx's `gzip_types`).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::stream;
    /// use http_body::Body;
    /// use sse_wire::{EncodeStream, Event, SseBody};
    ///
    /// let events = stream::iter([Event::from_data("hello")]);
    /// let response = SseBody::new(EncodeStream::new(events)).into_http_response();
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

    /// An HTTP response with this body, status 200 and the headers of [`response_headers`]:
    /// what a hyper 1 service returns.
    ///
    /// In an axum handler, return the `SseBody` itself (feature `axum`): it is not called
    /// `into_response` so that axum's `IntoResponse::into_response` is the one a handler
    /// gets, with axum's `Response` type.
    ///
    /// # Examples
    ///
    /// ```
    /// let events = futures_util::stream::iter([sse_wire::Event::from_data("x")]);
    /// let response = sse_wire::SseBody::new(sse_wire::EncodeStream::new(events)).into_http_response();
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["x-accel-buffering"], "no");
    /// ```
    pub fn into_http_response(self) -> ::http::Response<Self> {
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

/// The `Last-Event-ID` request header: where a reconnecting client wants its stream to
/// resume (feature `http-body`). Pass it to `Hub::subscribe`, or to your own replay.
///
/// - No header, or an empty one: `None`. A browser sends none until it has seen an id, and
///   an empty id is how a server resets it, so both mean "no position".
/// - Any other value, read as UTF-8: an id may hold any character but CR, LF and NUL, and
///   browsers send non-ASCII ids as their UTF-8 bytes. (Not through
///   `HeaderValue::to_str`, which refuses every non-ASCII byte and would turn such a
///   client into a new one.)
/// - Bytes that are not UTF-8: `Some("\u{FFFD}")`, the replacement character an SSE
///   parser reads them as. The client does claim a position, just not one any server
///   wrote, so a hub answers with its gap event rather than silently starting it live.
///
/// With several `Last-Event-ID` headers the first counts.
///
/// # Examples
///
/// ```
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(sse_wire::last_event_id(&headers), None);
/// headers.insert("last-event-id", HeaderValue::from_static("42"));
/// assert_eq!(sse_wire::last_event_id(&headers), Some("42"));
/// headers.insert("last-event-id", HeaderValue::from_bytes("é".as_bytes())?);
/// assert_eq!(sse_wire::last_event_id(&headers), Some("é"));
/// # Ok::<(), http::header::InvalidHeaderValue>(())
/// ```
pub fn last_event_id(headers: &::http::HeaderMap) -> Option<&str> {
    let value = headers.get("last-event-id")?.as_bytes();
    if value.is_empty() {
        return None;
    }
    Some(core::str::from_utf8(value).unwrap_or("\u{FFFD}"))
}

/// With feature `axum`, an `SseBody` is a complete axum response: status 200, the SSE
/// headers of [`response_headers`], and the body.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// use sse_wire::{EncodeStream, Event, SseBody};
///
/// async fn handler() -> impl IntoResponse {
///     SseBody::new(EncodeStream::new(futures_util::stream::iter([Event::from_data("hi")])))
/// }
/// # futures_executor::block_on(async {
/// let response: axum::response::Response = handler().await.into_response();
/// assert_eq!(response.headers()["content-type"], "text/event-stream");
/// # });
/// ```
#[cfg(feature = "axum")]
impl<S, T> axum::response::IntoResponse for SseBody<S, T>
where
    S: Stream + Send + 'static,
    S::Item: EncodeItem,
    <S::Item as EncodeItem>::Error: Into<axum::BoxError> + Send + 'static,
    T: KeepAliveTimer + Send + 'static,
{
    fn into_response(self) -> axum::response::Response {
        self.into_http_response().map(axum::body::Body::new)
    }
}
