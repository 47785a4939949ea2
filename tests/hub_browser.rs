//! A real browser resumes through the hub: headless Chromium's `EventSource` reads events
//! from a `Hub` while the server kills its connection three times mid-stream; the page
//! receives every event exactly once, in order, because each reconnection sends
//! `Last-Event-ID` and the hub replays what followed it.
//!
//! Needs `/usr/bin/chromium` (Debian package `chromium`, installed by `.ci/run`). Without it
//! the test fails when `CI` is set and is skipped, with a message, otherwise.
#![cfg(all(feature = "hub", feature = "http-body", feature = "tokio"))]

mod chromium;
mod process;

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use chromium::{chromium_or_skip, Browser};
use futures_util::future::{AbortHandle, Abortable};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use sse_wire::{last_event_id, EncodeStream, Event, Hub, SseBody, Subscription};
use tokio::sync::mpsc;

const PAGE: &str = include_str!("hub_browser/page.html");
/// Events published, numbered from 0.
const EVENTS: usize = 120;
/// The server kills the page's connection after publishing these events.
const KILLS: [usize; 3] = [30, 60, 90];
/// The reconnection delay the hub tells the browser (Chromium's own is 3 s).
const RETRY: Duration = Duration::from_millis(200);

/// One `/events` request: the `Last-Event-ID` it sent, and how to kill its connection.
type EventsRequest = (Option<String>, AbortHandle);
type Body = Either<SseBody<Subscription>, Full<Bytes>>;

/// Serves the page, the hub's events and the report endpoint on 127.0.0.1:0, with HTTP/1.1
/// connections the test can kill.
async fn serve(
    hub: Hub,
    requests: mpsc::UnboundedSender<EventsRequest>,
    reports: mpsc::UnboundedSender<Bytes>,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (kill, registration) = AbortHandle::new_pair();
            let (hub, requests, reports) = (hub.clone(), requests.clone(), reports.clone());
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (hub, requests, reports, kill) =
                    (hub.clone(), requests.clone(), reports.clone(), kill.clone());
                async move { Ok::<_, Infallible>(route(request, &hub, &requests, &reports, kill).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service);
            // Aborting drops the connection mid-response: the browser sees the stream cut.
            tokio::spawn(Abortable::new(connection, registration));
        }
    });
    addr
}

async fn route(
    request: Request<Incoming>,
    hub: &Hub,
    requests: &mpsc::UnboundedSender<EventsRequest>,
    reports: &mpsc::UnboundedSender<Bytes>,
    kill: AbortHandle,
) -> Response<Body> {
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => {
            let mut response = Response::new(Either::Right(Full::new(Bytes::from(PAGE))));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        (&Method::GET, "/events") => {
            let resume_from = last_event_id(request.headers());
            let subscription = hub.subscribe(resume_from);
            let _ = requests.send((resume_from.map(str::to_owned), kill));
            SseBody::new(EncodeStream::new(subscription))
                .into_http_response()
                .map(Either::Left)
        }
        (&Method::POST, "/report") => {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let _ = reports.send(body);
            Response::new(Either::Right(Full::default()))
        }
        _ => {
            let mut response = Response::new(Either::Right(Full::default()));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}

/// The next `/events` request, within 30 s.
async fn next_request(requests: &mut mpsc::UnboundedReceiver<EventsRequest>) -> EventsRequest {
    tokio::time::timeout(Duration::from_secs(30), requests.recv())
        .await
        .expect("no /events request within 30 s")
        .expect("the server stopped")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_receives_every_hub_event_exactly_once_across_three_killed_connections() {
    if !chromium_or_skip() {
        return;
    }
    let hub = Hub::new();
    let (requests_tx, mut requests) = mpsc::unbounded_channel();
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let addr = serve(hub.clone(), requests_tx, reports_tx).await;
    let mut browser = Browser::launch(&format!("http://{addr}/"));

    let (first, mut connection) = next_request(&mut requests).await;
    assert_eq!(first, None, "a fresh page sends no Last-Event-ID");
    // Through the ring like every event, so each reconnection gets it again if it missed it.
    hub.publish(Event::builder().retry(RETRY).build().unwrap());
    let mut ids = Vec::new();
    let mut resumed_from = Vec::new();
    for n in 0..EVENTS {
        ids.push(hub.publish(Event::from_data(n.to_string())).to_string());
        // A steady stream, so that events are published while the page is away.
        tokio::time::sleep(Duration::from_millis(10)).await;
        if KILLS.contains(&n) {
            if n != KILLS[0] {
                // The page's reconnection after the previous kill: kill that one now.
                let (from, next) = next_request(&mut requests).await;
                resumed_from.push(from);
                connection = next;
            }
            connection.abort();
        }
    }
    let (from, _last) = next_request(&mut requests).await;
    resumed_from.push(from);
    hub.publish(Event::builder().event("end").data("").build().unwrap());

    let report = browser.report(&mut reports, Duration::from_secs(60)).await;
    let report: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(report["reason"], "end", "report: {report:#}");
    assert_eq!(report["gaps"], Value::Array(vec![]), "report: {report:#}");
    let received: Vec<(&str, &str)> = report["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            (
                event["data"].as_str().unwrap(),
                event["lastEventId"].as_str().unwrap(),
            )
        })
        .collect();
    let numbers: Vec<String> = (0..EVENTS).map(|n| n.to_string()).collect();
    let expected: Vec<(&str, &str)> = numbers
        .iter()
        .map(String::as_str)
        .zip(ids.iter().map(String::as_str))
        .collect();
    if received != expected {
        let at = received
            .iter()
            .zip(&expected)
            .position(|(got, want)| got != want)
            .unwrap_or(received.len().min(expected.len()));
        panic!(
            "not every event exactly once, in order: {} received, {} published; first \
             difference at {at}: got {:?}, expected {:?}",
            received.len(),
            expected.len(),
            received.get(at),
            expected.get(at)
        );
    }
    assert!(
        report["errors"].as_u64().unwrap() >= 3,
        "the page saw fewer than three cut connections: {report:#}"
    );
    // Every reconnection named a position the hub knew (no gap event came).
    assert_eq!(resumed_from.len(), KILLS.len());
    for from in &resumed_from {
        assert!(
            from.is_some(),
            "a reconnection without Last-Event-ID: {resumed_from:?}"
        );
    }
    // No fifth request: the page closed its EventSource after the end event.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), requests.recv())
            .await
            .is_err(),
        "an unexpected /events request"
    );
    drop(browser);
}
