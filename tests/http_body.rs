//! `SseBody`: the encode adapter as an `http_body::Body`, and the SSE response headers.
#![cfg(feature = "http-body")]

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use futures_util::task::noop_waker_ref;
use http_body::Body;
use sse_wire::{last_event_id, response_headers, EncodeStream, Event, SseBody, RESPONSE_HEADERS};

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
fn into_http_response_sets_status_and_sse_headers() {
    let events = stream::iter([Event::from_data("a")]);
    let response = SseBody::new(EncodeStream::new(events)).into_http_response();
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

fn headers_with_last_event_id(value: &[u8]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "last-event-id",
        http::HeaderValue::from_bytes(value).unwrap(),
    );
    headers
}

#[test]
fn last_event_id_is_none_without_the_header() {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::ACCEPT, "text/event-stream".parse().unwrap());
    assert_eq!(last_event_id(&headers), None);
}

#[test]
fn an_empty_last_event_id_means_no_position() {
    assert_eq!(last_event_id(&headers_with_last_event_id(b"")), None);
}

#[test]
fn last_event_id_is_the_header_value() {
    assert_eq!(
        last_event_id(&headers_with_last_event_id(b"42")),
        Some("42")
    );
    // Header names are case-insensitive; `EventSource` sends `Last-Event-ID`.
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::HeaderName::from_bytes(b"Last-Event-ID").unwrap(),
        http::HeaderValue::from_static("e1-7"),
    );
    assert_eq!(last_event_id(&headers), Some("e1-7"));
}

#[test]
fn a_non_ascii_last_event_id_is_read_as_utf8() {
    // `HeaderValue::to_str` refuses these bytes; browsers send non-ASCII ids as UTF-8.
    let id = "ñandú-日本-🦀";
    let headers = headers_with_last_event_id(id.as_bytes());
    assert!(headers["last-event-id"].to_str().is_err());
    assert_eq!(last_event_id(&headers), Some(id));
}

#[test]
fn an_invalid_utf8_last_event_id_is_a_position_no_server_wrote() {
    let headers = headers_with_last_event_id(b"7\xFF\xFE");
    assert_eq!(last_event_id(&headers), Some("\u{FFFD}"));
}

#[test]
fn the_first_of_several_last_event_ids_counts() {
    let mut headers = headers_with_last_event_id(b"first");
    headers.append("last-event-id", http::HeaderValue::from_static("second"));
    assert_eq!(last_event_id(&headers), Some("first"));
}

#[cfg(feature = "axum")]
mod axum_response {
    use super::*;
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;

    #[test]
    fn an_sse_body_is_an_axum_response_with_the_sse_headers() {
        let events = stream::iter([Event::from_data("a"), Event::from_data("b")]);
        // The trap this guards against: an inherent `into_response` on `SseBody` would win
        // over axum's and return `http::Response<SseBody<..>>` here (E0308).
        let response: axum::response::Response =
            SseBody::new(EncodeStream::new(events)).into_response();
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.headers(), &response_headers());
        let body = futures_executor::block_on(response.into_body().collect()).unwrap();
        assert_eq!(body.to_bytes(), "data: a\n\ndata: b\n\n");
    }

    #[test]
    fn a_fallible_stream_is_an_axum_response_whose_error_ends_the_body() {
        let events = stream::iter([
            Ok(Event::from_data("a")),
            Err(std::io::Error::other("gone")),
        ]);
        let response = SseBody::new(EncodeStream::new(events)).into_response();
        let error = futures_executor::block_on(response.into_body().collect()).unwrap_err();
        assert!(error.to_string().contains("gone"), "{error}");
    }
}
