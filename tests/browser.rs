//! A real browser reads what the encoder writes: headless Chromium opens a page served by an
//! axum server, listens with `EventSource`, and posts back what it received.
//!
//! Needs `/usr/bin/chromium` (Debian package `chromium`, installed by `.ci/run`). Without it
//! the test fails when `CI` is set and is skipped, with a message, otherwise.
#![cfg(all(feature = "http-body", feature = "tokio"))]

mod chromium;
mod process;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header::{HeaderMap, CONTENT_TYPE};
use axum::response::Response;
use axum::routing::{get, post};
use chromium::{chromium_or_skip, Browser};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use sse_wire::{EncodeStream, Event, SseBody};
use tokio::sync::mpsc;

const PAGE: &str = include_str!("browser/page.html");

/// The request headers the server saw on one `/events` request.
#[derive(Debug, PartialEq, Eq)]
struct EventsRequest {
    last_event_id: Option<String>,
    accept: Option<String>,
}

/// The `retry` the first connection sends. Chromium's own default is 3 s, so a reconnection
/// well before that shows the browser took the server's value.
const RETRY: Duration = Duration::from_millis(200);

/// What the browser must see, in order: `(type, data, lastEventId)`.
fn expected() -> Value {
    json!([
        { "type": "greeting", "data": "hello", "lastEventId": "1" },
        { "type": "message", "data": "line 1\nline 2\nline 3", "lastEventId": "1" },
        { "type": "message", "data": "crlf one\ncrlf two\ncr three", "lastEventId": "3" },
        { "type": "message", "data": "   three leading spaces", "lastEventId": "3" },
        { "type": "unicode", "data": "héllo wörld — 日本語 🦀", "lastEventId": "3" },
        { "type": "empty", "data": "", "lastEventId": "3" },
        { "type": "after-id", "data": "the id-only block set the id", "lastEventId": "7" },
        // After the reconnection: the server echoes the Last-Event-ID header it received.
        { "type": "resumed", "data": "Last-Event-ID: 7", "lastEventId": "7" },
    ])
}

/// The first connection's events: every case the browser must decode, then a short retry,
/// then the end of the response, which makes the browser reconnect.
fn first_connection() -> Vec<Event> {
    vec![
        Event::builder()
            .comment("a comment the browser ignores")
            .build()
            .unwrap(),
        Event::builder()
            .event("greeting")
            .id("1")
            .data("hello")
            .build()
            .unwrap(),
        Event::from_data("line 1\nline 2\nline 3"),
        Event::builder()
            .id("3")
            .data("crlf one\r\ncrlf two\rcr three")
            .build()
            .unwrap(),
        Event::from_data("   three leading spaces"),
        Event::builder()
            .event("unicode")
            .data("héllo wörld — 日本語 🦀")
            .build()
            .unwrap(),
        Event::builder().event("empty").data("").build().unwrap(),
        Event::builder().id("7").build().unwrap(),
        Event::builder()
            .event("after-id")
            .data("the id-only block set the id")
            .build()
            .unwrap(),
        Event::builder().retry(RETRY).build().unwrap(),
    ]
}

fn sse(events: Vec<Event>) -> Response {
    SseBody::new(EncodeStream::new(stream::iter(events)))
        .into_http_response()
        .map(Body::new)
}

/// Serves the page, the event stream and the report endpoint on 127.0.0.1:0.
async fn serve(
    requests: mpsc::UnboundedSender<(EventsRequest, Instant)>,
    reports: mpsc::UnboundedSender<Bytes>,
) -> SocketAddr {
    let app = axum::Router::new()
        .route(
            "/",
            get(|| async { ([(CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }),
        )
        .route(
            "/events",
            get(move |headers: HeaderMap| async move {
                let header = |name| {
                    headers
                        .get(name)
                        .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
                };
                let last_event_id = header("last-event-id");
                let request = EventsRequest {
                    last_event_id: last_event_id.clone(),
                    accept: header("accept"),
                };
                let _ = requests.send((request, Instant::now()));
                match last_event_id {
                    None => sse(first_connection()),
                    Some(id) => {
                        let resumed = Event::builder()
                            .event("resumed")
                            .data(format!("Last-Event-ID: {id}"))
                            .build()
                            .unwrap();
                        // Stays open: the page closes its EventSource when it has this event.
                        SseBody::new(EncodeStream::new(
                            stream::iter([resumed]).chain(stream::pending()),
                        ))
                        .into_http_response()
                        .map(Body::new)
                    }
                }
            }),
        )
        .route(
            "/report",
            post(move |body: Bytes| async move {
                let _ = reports.send(body);
            }),
        );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_event_source_receives_events_and_reconnects_with_last_event_id() {
    if !chromium_or_skip() {
        return;
    }
    let (requests_tx, mut requests_rx) = mpsc::unbounded_channel();
    let (reports_tx, mut reports_rx) = mpsc::unbounded_channel();
    let addr = serve(requests_tx, reports_tx).await;
    let mut browser = Browser::launch(&format!("http://{addr}/"));

    let report = browser
        .report(&mut reports_rx, Duration::from_secs(60))
        .await;
    let report: Value = serde_json::from_slice(&report).unwrap();

    assert_eq!(report["reason"], "resumed", "report: {report:#}");
    assert_eq!(report["received"], expected(), "report: {report:#}");
    // The end of the first response is an error event, then the reconnection.
    assert!(
        report["errors"].as_u64().unwrap() >= 1,
        "report: {report:#}"
    );

    // Both requests arrived before the report. A third would mean the page reconnected
    // after closing its EventSource: give it half a second to show up.
    let mut requests = Vec::new();
    while let Ok(Some(request)) =
        tokio::time::timeout(Duration::from_millis(500), requests_rx.recv()).await
    {
        requests.push(request);
    }
    let [(first, first_at), (second, second_at)] = <[_; 2]>::try_from(requests)
        .unwrap_or_else(|requests| panic!("expected two /events requests, got {requests:?}"));
    assert_eq!(
        first,
        EventsRequest {
            last_event_id: None,
            accept: Some("text/event-stream".to_owned())
        }
    );
    assert_eq!(
        second,
        EventsRequest {
            last_event_id: Some("7".to_owned()),
            accept: Some("text/event-stream".to_owned())
        }
    );
    // The wait starts when the first response ends, after its request arrived.
    let gap = second_at - first_at;
    assert!(
        gap >= RETRY && gap < Duration::from_millis(2500),
        "the browser reconnected after {gap:?}, not after the server's retry of {RETRY:?}"
    );
    drop(browser);
}

/// `sse_wire::last_event_id` reads what Chromium really sends: a non-ASCII id comes back in
/// `Last-Event-ID` as its UTF-8 bytes, which `HeaderValue::to_str` would refuse.
#[cfg(feature = "axum")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_sends_a_non_ascii_last_event_id_as_utf8_and_last_event_id_reads_it() {
    const ID: &str = "é日🦀-1";
    if !chromium_or_skip() {
        return;
    }
    let (tx, mut resumed_from) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/",
            get(|| async { axum::response::Html("<script>new EventSource('/events')</script>") }),
        )
        .route(
            "/events",
            get(move |headers: HeaderMap| async move {
                let _ = tx.send(sse_wire::last_event_id(&headers).map(str::to_owned));
                // One event with the id, a short retry, and the end of the response: the
                // browser reconnects with the id.
                let event = Event::builder()
                    .id(ID)
                    .retry(RETRY)
                    .data("x")
                    .build()
                    .unwrap();
                SseBody::new(EncodeStream::new(stream::iter([event])))
            }),
        );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let browser = Browser::launch(&format!("http://{addr}/"));
    let mut requests = Vec::new();
    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(30), resumed_from.recv()).await {
            Ok(Some(request)) => requests.push(request),
            _ => panic!(
                "no /events request; chromium's log:\n{}",
                browser.log_tail()
            ),
        }
    }
    assert_eq!(requests, [None, Some(ID.to_owned())]);
}
