//! End to end over real HTTP on loopback: hyper 1 and axum 0.8 servers sending `SseBody`, an
//! actix-web 4 server streaming `EncodeStream`, reqwest and hyper clients reading them
//! through `DecodeStream` (of events and of frames), and a proxy that decodes an upstream stream and
//! re-encodes it downstream.
//!
//! Every wait is bounded by `bounded` (30 s), every server binds 127.0.0.1:0, and no test
//! sleeps to synchronise: each waits for the event it needs.
#![cfg(all(feature = "http-body", feature = "tokio"))]

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, HOST};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sse_wire::{
    DecodeError, DecodeStream, EncodeStream, Event, Frame, Parser, SseBody, TokioTimer,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// A response body as a client sees it, whichever client read it. (`io::Error` rather than a
/// boxed error because `DecodeError<E>` is an `Error` only when `E` is one.)
type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;
type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;
/// What a server sends for one request, chosen from the request's headers.
type Source = Arc<dyn Fn(&HeaderMap) -> Events + Send + Sync>;

/// Runs a test body under a deadline, so a lost event fails the test instead of hanging it.
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("the test did not finish within 30 s")
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

// ---------------------------------------------------------------------------------------
// Servers

/// A hyper 1 server: every request gets `SseBody::into_http_response` over the source's events.
async fn serve_hyper(source: Source) -> SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let source = source.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let events = source(request.headers());
                async move {
                    Ok::<_, Infallible>(
                        SseBody::new(EncodeStream::new(events)).into_http_response(),
                    )
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service),
            );
        }
    });
    addr
}

/// An axum 0.8 server with the body in `axum::body::Body`, the way an axum handler returns it.
async fn serve_axum(source: Source) -> SocketAddr {
    let app = axum::Router::new().route(
        "/events",
        axum::routing::get(move |headers: HeaderMap| {
            let events = source(&headers);
            async move {
                SseBody::new(EncodeStream::new(events))
                    .into_http_response()
                    .map(axum::body::Body::new)
            }
        }),
    );
    let (listener, addr) = bind().await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// An actix-web 4 server: `EncodeStream` through `HttpResponseBuilder::streaming`, with the
/// headers from `RESPONSE_HEADERS`. actix runs its own runtime, so it gets a thread; the
/// thread ends with the test process (the server has no signal handlers to clean up).
async fn serve_actix(source: Source) -> SocketAddr {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let (started_tx, started_rx) = oneshot::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                let source = source.clone();
                actix_web::App::new().default_service(actix_web::web::to(
                    move |request: actix_web::HttpRequest| {
                        // actix has its own `http` types: carry the headers over by bytes.
                        let mut headers = HeaderMap::new();
                        for (name, value) in request.headers() {
                            headers.append(
                                HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                            );
                        }
                        let events = EncodeStream::new(source(&headers));
                        async move {
                            let mut response = actix_web::HttpResponse::Ok();
                            for header in sse_wire::RESPONSE_HEADERS {
                                response.insert_header(header);
                            }
                            response.streaming(events)
                        }
                    },
                ))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            let _ = started_tx.send(());
            server.await
        })
    });
    started_rx
        .await
        .expect("the actix server thread failed to start");
    addr
}

/// A server that is not ours: raw chunks of a hand-written event stream, as another
/// implementation might send them. Records the request headers it receives.
async fn serve_raw(
    chunks: &'static [&'static str],
    seen: mpsc::UnboundedSender<HeaderMap>,
) -> SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let seen = seen.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let _ = seen.send(request.headers().clone());
                let body = stream::iter(chunks).map(|chunk| {
                    Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from_static(
                        chunk.as_bytes(),
                    )))
                });
                let mut response = Response::new(StreamBody::new(body));
                *response.headers_mut() = sse_wire::response_headers();
                async move { Ok::<_, Infallible>(response) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service),
            );
        }
    });
    addr
}

// ---------------------------------------------------------------------------------------
// Clients

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Chunks,
}

async fn get_reqwest(addr: SocketAddr, last_event_id: Option<&str>) -> Reply {
    // `no_proxy`: a proxy from the environment must not see (or break) loopback traffic.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client
        .get(format!("http://{addr}/events"))
        .header(ACCEPT, "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        body: Box::pin(
            response
                .bytes_stream()
                .map(|chunk| chunk.map_err(io::Error::other)),
        ),
    }
}

/// A bare hyper 1 client: one HTTP/1.1 connection, one request, the body as data frames.
async fn get_hyper(addr: SocketAddr, last_event_id: Option<&str>) -> Reply {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::get("/events")
        .header(HOST, addr.to_string())
        .header(ACCEPT, "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        // The body holds the sender: the connection stays up for as long as it is read.
        let _ = &sender;
        chunk.map_err(io::Error::other)
    });
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: Box::pin(body),
    }
}

#[derive(Clone, Copy, Debug)]
enum Server {
    Hyper,
    Axum,
    Actix,
}

#[derive(Clone, Copy, Debug)]
enum Client {
    Reqwest,
    Hyper,
}

async fn serve(server: Server, source: Source) -> SocketAddr {
    match server {
        Server::Hyper => serve_hyper(source).await,
        Server::Axum => serve_axum(source).await,
        Server::Actix => serve_actix(source).await,
    }
}

async fn get(client: Client, addr: SocketAddr, last_event_id: Option<&str>) -> Reply {
    match client {
        Client::Reqwest => get_reqwest(addr, last_event_id).await,
        Client::Hyper => get_hyper(addr, last_event_id).await,
    }
}

fn assert_sse_headers(headers: &HeaderMap) {
    assert_eq!(
        headers.get("content-type"),
        Some(&HeaderValue::from_static("text/event-stream"))
    );
    assert_eq!(
        headers.get("cache-control"),
        Some(&HeaderValue::from_static("no-cache"))
    );
    assert_eq!(
        headers.get("x-accel-buffering"),
        Some(&HeaderValue::from_static("no"))
    );
}

// ---------------------------------------------------------------------------------------
// What crosses the wire

/// What a client observes of one event.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    event_type: String,
    data: String,
    id: Option<String>,
    last_event_id: String,
    retry: Option<Duration>,
}

impl Seen {
    fn of(event: &Event) -> Seen {
        Seen {
            event_type: event.event_type().to_owned(),
            data: event.data().to_owned(),
            id: event.id().map(str::to_owned),
            last_event_id: event.last_event_id().to_owned(),
            retry: event.retry(),
        }
    }

    fn new(event_type: &str, data: &str, id: Option<&str>, last_event_id: &str) -> Seen {
        Seen {
            event_type: event_type.to_owned(),
            data: data.to_owned(),
            id: id.map(str::to_owned),
            last_event_id: last_event_id.to_owned(),
            retry: None,
        }
    }
}

/// Large enough to span many TCP reads and HTTP chunks; varied so a lost or repeated
/// piece changes it.
fn big_data() -> String {
    (0..20_000).map(|i| format!("{i:05} ")).collect()
}

/// Every kind of value a server sends: a comment-and-retry block, named events, multi-line
/// data with an empty line in it, CRLF and lone CR in data, leading spaces, non-ASCII text,
/// an event spanning many reads, an id-only block and an empty event.
fn fixture() -> Vec<Event> {
    vec![
        Event::builder()
            .comment("stream start")
            .retry(Duration::from_millis(1500))
            .build()
            .unwrap(),
        Event::builder()
            .event("greeting")
            .id("1")
            .data("hello")
            .build()
            .unwrap(),
        Event::builder()
            .event("multi")
            .data("line 1\nline 2\n\nline 4")
            .build()
            .unwrap(),
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
        Event::builder()
            .event("big")
            .data(big_data())
            .build()
            .unwrap(),
        Event::builder().id("6").build().unwrap(),
        Event::from_data(""),
    ]
}

fn fixture_seen() -> Vec<Seen> {
    vec![
        Seen::new("greeting", "hello", Some("1"), "1"),
        Seen::new("multi", "line 1\nline 2\n\nline 4", None, "1"),
        Seen::new("message", "crlf one\ncrlf two\ncr three", Some("3"), "3"),
        Seen::new("message", "   three leading spaces", None, "3"),
        Seen::new("unicode", "héllo wörld — 日本語 🦀", None, "3"),
        Seen::new("big", &big_data(), None, "3"),
        // The id-only block dispatched nothing, but it moved the last event ID.
        Seen::new("message", "", None, "6"),
    ]
}

fn fixture_source() -> Source {
    Arc::new(|_| stream::iter(fixture()).boxed())
}

/// Serves the fixture with `server`, reads it with `client`, and checks every event, the
/// decoder's reconnection state and the response headers.
async fn exact_events(server: Server, client: Client) {
    bounded(async {
        let addr = serve(server, fixture_source()).await;
        let reply = get(client, addr, None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_sse_headers(&reply.headers);
        let mut events = DecodeStream::new(reply.body);
        let mut seen = Vec::new();
        while let Some(event) = events.next().await {
            seen.push(Seen::of(&event.unwrap()));
        }
        assert_eq!(seen, fixture_seen(), "{server:?} server, {client:?} client");
        assert_eq!(events.last_event_id(), "6");
        assert_eq!(events.retry(), Some(Duration::from_millis(1500)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_server_to_reqwest_client_exact_events_and_headers() {
    exact_events(Server::Hyper, Client::Reqwest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_server_to_hyper_client_exact_events_and_headers() {
    exact_events(Server::Hyper, Client::Hyper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_server_to_reqwest_client_exact_events_and_headers() {
    exact_events(Server::Axum, Client::Reqwest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_server_to_hyper_client_exact_events_and_headers() {
    exact_events(Server::Axum, Client::Hyper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_server_to_reqwest_client_exact_events_and_headers() {
    exact_events(Server::Actix, Client::Reqwest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_server_to_hyper_client_exact_events_and_headers() {
    exact_events(Server::Actix, Client::Hyper).await;
}

/// A source whose events the test feeds one at a time (served once).
fn channel_source() -> (mpsc::Sender<Event>, Source) {
    let (tx, rx) = mpsc::channel(1);
    let rx = Mutex::new(Some(rx));
    let source: Source = Arc::new(move |_| {
        let mut rx = rx
            .lock()
            .unwrap()
            .take()
            .expect("this source serves one request");
        stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
    });
    (tx, source)
}

/// A lone event must reach the client while the stream stays open: nothing on the way
/// (encoder, body, hyper, axum) may hold it back waiting for more. The next event is sent
/// only after the client has seen the previous one, so any buffering deadlocks into the
/// test's timeout.
async fn lockstep(server: Server, client: Client) {
    bounded(async {
        let (tx, source) = channel_source();
        let addr = serve(server, source).await;
        let mut events = DecodeStream::new(get(client, addr, None).await.body);
        for i in 0..5 {
            let sent = Event::builder()
                .event("step")
                .id(i.to_string())
                .data(format!("step {i}"))
                .build()
                .unwrap();
            tx.send(sent).await.unwrap();
            let event = events.next().await.unwrap().unwrap();
            assert_eq!(
                (event.event_type(), event.data(), event.id()),
                ("step", &*format!("step {i}"), Some(&*i.to_string()))
            );
        }
        drop(tx);
        assert!(
            events.next().await.is_none(),
            "the stream ends when the server's events end"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_server_sends_each_event_without_waiting_for_more() {
    lockstep(Server::Hyper, Client::Reqwest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_server_sends_each_event_without_waiting_for_more() {
    lockstep(Server::Axum, Client::Hyper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_server_sends_each_event_without_waiting_for_more() {
    lockstep(Server::Actix, Client::Reqwest).await;
}

/// With `TokioTimer`, a quiet stream sends keep-alive comments through axum, and the
/// client's frame view reports them; events still pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_comments_cross_http_when_the_stream_is_quiet() {
    bounded(async {
        let app = axum::Router::new().route(
            "/events",
            axum::routing::get(|| async {
                let events = stream::iter([Event::from_data("first")]).chain(stream::pending());
                SseBody::new(
                    EncodeStream::new(events)
                        .keep_alive(Duration::from_millis(50), TokioTimer::new()),
                )
                .into_http_response()
                .map(axum::body::Body::new)
            }),
        );
        let (listener, addr) = bind().await;
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut frames = DecodeStream::new(get_hyper(addr, None).await.body).frames();
        assert!(
            matches!(frames.next().await, Some(Ok(Frame::Event(event))) if event.data() == "first")
        );
        for _ in 0..3 {
            match frames.next().await {
                Some(Ok(Frame::Comment(text))) => assert_eq!(text, ""),
                other => panic!("expected a keep-alive comment, got {other:?}"),
            }
        }
    })
    .await;
}

/// Sets its flag when dropped: tells the test that the server let go of the event source.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// When the client goes away, the server drops the body and with it the event source, so
/// an endless stream does not outlive its reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_drops_the_servers_event_stream() {
    bounded(async {
        let (dropped_tx, dropped_rx) = oneshot::channel();
        let guard = Mutex::new(Some(DropSignal(Some(dropped_tx))));
        let source: Source = Arc::new(move |_| {
            let guard = guard.lock().unwrap().take().expect("one request");
            // Endless ticks: the server writes every 20 ms, so it notices the closed socket.
            stream::unfold((guard, 0u64), |(guard, n)| async move {
                if n > 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Some((Event::from_data(format!("tick {n}")), (guard, n + 1)))
            })
            .boxed()
        });
        let addr = serve_hyper(source).await;
        let mut events = DecodeStream::new(get_hyper(addr, None).await.body);
        assert_eq!(events.next().await.unwrap().unwrap().data(), "tick 0");
        assert_eq!(events.next().await.unwrap().unwrap().data(), "tick 1");
        drop(events);
        dropped_rx
            .await
            .expect("the server dropped the stream without dropping its state");
    })
    .await;
}

/// The reconnection loop a client runs: read to the end, wait the server's `retry`, connect
/// again with `Last-Event-ID`, and go on with the same decoder. The server sees the header
/// and resumes after that id.
async fn reconnect(server: Server, client: Client) {
    bounded(async {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let source: Source = {
            let requests = requests.clone();
            Arc::new(move |headers: &HeaderMap| {
                let last = headers
                    .get("last-event-id")
                    .map(|v| v.to_str().unwrap().to_owned());
                requests.lock().unwrap().push(last.clone());
                let start: u32 = last
                    .as_deref()
                    .map_or(1, |id| id.parse::<u32>().unwrap() + 1);
                let retry = Event::builder()
                    .retry(Duration::from_millis(30))
                    .build()
                    .unwrap();
                let events = (start..start + 3).map(move |n| {
                    let data = format!(
                        "event {n}, resumed after {}",
                        last.as_deref().unwrap_or("nothing")
                    );
                    Event::builder()
                        .id(n.to_string())
                        .data(data)
                        .build()
                        .unwrap()
                });
                stream::iter(std::iter::once(retry).chain(events)).boxed()
            })
        };
        let addr = serve(server, source).await;

        let mut events = DecodeStream::new(get(client, addr, None).await.body);
        let mut data = Vec::new();
        while let Some(event) = events.next().await {
            data.push(event.unwrap().data().to_owned());
        }
        assert_eq!(events.last_event_id(), "3");
        let retry = events.retry().expect("the server sent a retry");
        assert_eq!(retry, Duration::from_millis(30));
        // Honouring the server's delay is the point here, not synchronisation.
        tokio::time::sleep(retry).await;
        let body = get(client, addr, Some(events.last_event_id())).await.body;
        Pin::new(&mut events).reconnect(body);
        while let Some(event) = events.next().await {
            data.push(event.unwrap().data().to_owned());
        }
        assert_eq!(
            data,
            [
                "event 1, resumed after nothing",
                "event 2, resumed after nothing",
                "event 3, resumed after nothing",
                "event 4, resumed after 3",
                "event 5, resumed after 3",
                "event 6, resumed after 3",
            ]
        );
        assert_eq!(events.last_event_id(), "6");
        assert_eq!(*requests.lock().unwrap(), [None, Some("3".to_owned())]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_client_reconnects_to_hyper_with_last_event_id() {
    reconnect(Server::Hyper, Client::Reqwest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_client_reconnects_to_axum_with_last_event_id() {
    reconnect(Server::Axum, Client::Hyper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_client_reconnects_to_actix_with_last_event_id() {
    reconnect(Server::Actix, Client::Hyper).await;
}

// ---------------------------------------------------------------------------------------
// Proxy

/// An upstream stream in another server's style: CRLF and lone-CR line endings, a CRLF and
/// a UTF-8 character split across chunks, comments, a retry-only block, an id-only block, an
/// empty `id` that resets the last event ID, and an unterminated event at the end.
const UPSTREAM: &[&str] = &[
    ": upstream says hi\r\nretry: 2500\r\n\r",
    "\nid: 10\r\nevent: price\r\ndata: 1\r\ndata: 2\r\n\r\n",
    ": still here\n\nid: 11\n\n",
    "data:  two spaces\r\rdata: snow \u{2603}",
    " man\n\n",
    "id\ndata: after reset\n\ndata: never finished",
];

/// A proxy built from the crate's pieces: read upstream with reqwest into a `DecodeStream` of frames,
/// write the frames downstream through `EncodeStream` / `SseBody` (each with
/// `Frame::encode`), and pass the client's `Last-Event-ID` upstream.
async fn serve_proxy(upstream: SocketAddr) -> SocketAddr {
    let app = axum::Router::new().route(
        "/events",
        axum::routing::get(move |headers: HeaderMap| async move {
            let last_event_id = headers
                .get("last-event-id")
                .map(|v| v.to_str().unwrap().to_owned());
            let reply = get_reqwest(upstream, last_event_id.as_deref()).await;
            let frames = DecodeStream::new(reply.body).frames();
            SseBody::new(EncodeStream::new(frames))
                .into_http_response()
                .map(axum::body::Body::new)
        }),
    );
    let (listener, addr) = bind().await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A frame's description with an event's `retry` left out (see the proxy test).
fn without_retry(frame: &Frame) -> String {
    match frame {
        Frame::Event(event) => {
            let mut seen = Seen::of(event);
            seen.retry = None;
            format!("{seen:?}")
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_keeps_comments_ids_and_retry() {
    bounded(async {
        let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
        let upstream = serve_raw(UPSTREAM, seen_tx).await;
        let proxy = serve_proxy(upstream).await;

        let reply = get_hyper(proxy, Some("9")).await;
        assert_sse_headers(&reply.headers);
        let downstream: Vec<Bytes> = reply.body.map(Result::unwrap).collect().await;
        let downstream: Vec<u8> = downstream.concat();

        let mut upstream_parser = Parser::new();
        upstream_parser.feed(UPSTREAM.concat().as_bytes());
        upstream_parser.finish();
        let expected: Vec<Frame> = std::iter::from_fn(|| upstream_parser.next_frame())
            .map(Result::unwrap)
            .collect();

        let mut downstream_parser = Parser::new();
        downstream_parser.feed(&downstream);
        downstream_parser.finish();
        let got: Vec<Frame> = std::iter::from_fn(|| downstream_parser.next_frame())
            .map(Result::unwrap)
            .collect();

        // `Frame::encode` writes each retry as a block of its own and leaves it out of the
        // event it came with, so downstream no event carries a retry: the `Retry` frames
        // do. Clients apply `retry` when they read it, so they cannot tell; everything else
        // must match exactly.
        assert!(got
            .iter()
            .all(|frame| !matches!(frame, Frame::Event(e) if e.retry().is_some())));
        assert_eq!(
            got.iter().map(without_retry).collect::<Vec<_>>(),
            expected.iter().map(without_retry).collect::<Vec<_>>(),
            "downstream:\n{}",
            String::from_utf8_lossy(&downstream)
        );
        // Pin down the frames themselves, so that a parser bug on both sides cannot hide.
        assert!(matches!(&got[0], Frame::Comment(text) if text == "upstream says hi"));
        assert_eq!(got[1], Frame::Retry(Duration::from_millis(2500)));
        match &got[2] {
            Frame::Event(event) => assert_eq!(
                Seen {
                    retry: None,
                    ..Seen::of(event)
                },
                Seen::new("price", "1\n2", Some("10"), "10")
            ),
            other => panic!("expected the price event, got {other:?}"),
        }
        assert!(matches!(&got[3], Frame::Comment(text) if text == "still here"));
        assert!(matches!(&got[4], Frame::Id(id) if id == "11"));
        let events: Vec<Seen> = got[5..]
            .iter()
            .map(|frame| match frame {
                Frame::Event(event) => Seen::of(event),
                other => panic!("expected an event, got {other:?}"),
            })
            .collect();
        assert_eq!(
            events,
            [
                Seen::new("message", " two spaces", None, "11"),
                Seen::new("message", "snow \u{2603} man", None, "11"),
                Seen::new("message", "after reset", Some(""), ""),
            ]
        );
        assert_eq!(downstream_parser.retry(), Some(Duration::from_millis(2500)));
        assert_eq!(downstream_parser.last_event_id(), "");
        // The unterminated upstream event is not invented downstream.
        assert!(!String::from_utf8_lossy(&downstream).contains("never finished"));

        let upstream_request = seen_rx.recv().await.unwrap();
        assert_eq!(
            upstream_request.get("last-event-id"),
            Some(&HeaderValue::from_static("9"))
        );
    })
    .await;
}

/// A transport error upstream reaches the decoder as `DecodeError::Transport`, after the
/// events that came before it, not as a parse error or a silent end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_body_error_is_a_transport_error() {
    bounded(async {
        let (listener, addr) = bind().await;
        let (received_tx, received_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let received_rx = Mutex::new(Some(received_rx));
            let service = hyper::service::service_fn(move |_: Request<Incoming>| {
                let received_rx = received_rx.lock().unwrap().take().unwrap();
                let first = stream::iter([Ok(hyper::body::Frame::data(Bytes::from_static(b"data: before\n\n")))]);
                // Fail only once the client has the first event, so the response head and
                // that event are on the wire before the connection is aborted.
                let failure = stream::once(async move {
                    let _ = received_rx.await;
                    Err(io::Error::other("source broke"))
                });
                async move { Ok::<_, Infallible>(Response::new(StreamBody::new(first.chain(failure)))) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
        let mut events = DecodeStream::new(get_hyper(addr, None).await.body);
        assert_eq!(events.next().await.unwrap().unwrap().data(), "before");
        received_tx.send(()).unwrap();
        match events.next().await {
            Some(Err(DecodeError::Transport(_))) => {}
            other => panic!("expected a transport error, got {other:?}"),
        }
    })
    .await;
}
