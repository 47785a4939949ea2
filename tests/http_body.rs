//! `SseBody`: the encode adapter as an `http_body::Body`, and the SSE response headers.
#![cfg(feature = "http-body")]

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use futures_util::task::noop_waker_ref;
use http_body::Body;
use sse_wire::{response_headers, EncodeStream, Event, SseBody, RESPONSE_HEADERS};

type Polled<B> = Poll<Option<Result<http_body::Frame<Bytes>, <B as Body>::Error>>>;

fn poll_frame<B: Body<Data = Bytes> + Unpin>(body: &mut B) -> Polled<B> {
    Pin::new(body).poll_frame(&mut Context::from_waker(noop_waker_ref()))
}

fn data<B: Body<Data = Bytes> + Unpin>(body: &mut B) -> Bytes
where
    B::Error: std::fmt::Debug,
{
    match poll_frame(body) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().expect("a data frame"),
        other => panic!("expected a data frame, got {other:?}"),
    }
}

#[test]
fn the_body_yields_the_encoders_chunks_as_data_frames_then_ends() {
    let events = stream::iter([Event::from_data("a"), Event::from_data("b")]);
    let mut body = SseBody::new(EncodeStream::new(events).max_chunk_size(0));
    assert!(!body.is_end_stream());
    assert_eq!(data(&mut body), "data: a\n\n");
    assert_eq!(data(&mut body), "data: b\n\n");
    assert!(matches!(poll_frame(&mut body), Poll::Ready(None)));
    assert!(body.is_end_stream());
    assert!(matches!(poll_frame(&mut body), Poll::Ready(None)));
}

#[test]
fn the_body_length_is_unknown() {
    let body = SseBody::from(EncodeStream::new(stream::iter([Event::from_data("a")])));
    let hint = body.size_hint();
    assert_eq!((hint.lower(), hint.upper()), (0, None));
}

#[test]
fn a_stream_error_becomes_the_body_error() {
    let events = stream::iter([Ok(Event::from_data("a")), Err("database gone")]);
    let mut body = SseBody::new(EncodeStream::new(events));
    assert_eq!(data(&mut body), "data: a\n\n");
    assert!(matches!(
        poll_frame(&mut body),
        Poll::Ready(Some(Err("database gone")))
    ));
}

#[test]
fn a_pending_stream_keeps_the_response_open() {
    let events = stream::pending::<Event>();
    let mut body = SseBody::new(EncodeStream::new(events));
    assert!(poll_frame(&mut body).is_pending());
    assert!(!body.is_end_stream());
}

#[test]
fn the_body_fits_hyper_and_axum() {
    // What hyper 1's `serve_connection` and axum 0.8's `Body::new` require of a body.
    fn server_body<B>(_: &B)
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
    }
    let infallible = SseBody::new(EncodeStream::new(stream::iter([Event::from_data("a")])));
    server_body(&infallible);
    let fallible = stream::iter([Ok::<_, std::io::Error>(Event::from_data("a"))]).boxed();
    server_body(&SseBody::new(EncodeStream::new(fallible)));
    let _: Infallible = match poll_frame(&mut { infallible }) {
        Poll::Ready(Some(Err(never))) => never,
        _ => return,
    };
}

#[cfg(feature = "tokio")]
#[test]
fn the_body_with_a_tokio_keep_alive_is_send() {
    fn send<B: Send + Sync + 'static>(_: &B) {}
    let events = stream::iter([Event::from_data("a")]);
    let encoder = EncodeStream::new(events).keep_alive(
        std::time::Duration::from_secs(15),
        sse_wire::TokioTimer::new(),
    );
    send(&SseBody::new(encoder));
}

#[test]
fn into_response_sets_status_and_sse_headers() {
    let events = stream::iter([Event::from_data("a")]);
    let response = SseBody::new(EncodeStream::new(events)).into_response();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.headers(), &response_headers());
}

#[test]
fn response_headers_are_the_three_sse_needs() {
    let headers = response_headers();
    assert_eq!(headers.len(), 3);
    assert_eq!(headers[http::header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(headers[http::header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    for (name, value) in RESPONSE_HEADERS {
        assert_eq!(headers[name], value);
    }
}
