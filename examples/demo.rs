//! The README's demo: an SSE server and an SSE client talking over loopback, in one process,
//! and done in about a second.
//!
//! ```sh
//! cargo run --example demo --all-features
//! ```
//!
//! The server (hyper 1, `SseBody`) sends a `retry`, a few events with ids (one named, one
//! spanning lines, one non-ASCII) and then ends the response, the way a server restarts or a
//! proxy drops an idle connection. The client (reqwest, `DecodeStream`) prints each event,
//! waits the delay the server asked for and reconnects once with `Last-Event-ID`; the server
//! resumes after that id, and the demo exits.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use sse_wire::{DecodeStream, EncodeStream, Event, SseBody};
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Nothing here should take more than a second or two; never hang a newcomer's terminal.
    tokio::time::timeout(Duration::from_secs(10), run())
        .await
        .map_err(|_| "the demo did not finish within 10 s")?
}

async fn run() -> Result<(), Error> {
    let addr = serve().await?;
    let url = format!("http://{addr}/events");
    println!("server: listening on {url}");

    let client = reqwest::Client::builder().no_proxy().build()?;
    let response = client.get(&url).send().await?;
    println!(
        "client: connected, content-type: {:?}",
        response.headers()["content-type"]
    );
    // Boxed so that both connections' streams have one type, which `reconnect` needs.
    let mut events = DecodeStream::new(Box::pin(response.bytes_stream()));
    print_events(&mut events).await?;

    // The server closed the stream. Reconnect as `EventSource` would: after the server's
    // retry delay, telling it the last event we processed.
    let delay = events.retry().unwrap_or(Duration::from_secs(3));
    let last_event_id = events.last_event_id().to_owned();
    println!("client: stream ended; reconnecting in {delay:?} with Last-Event-ID: {last_event_id}");
    tokio::time::sleep(delay).await;
    let response = client
        .get(&url)
        .header("last-event-id", &last_event_id)
        .send()
        .await?;
    // The same decoder goes on: it keeps the last event ID and the retry delay.
    Pin::new(&mut events).reconnect(Box::pin(response.bytes_stream()));
    print_events(&mut events).await?;
    println!("client: done, last event ID {:?}", events.last_event_id());
    Ok(())
}

async fn print_events<S>(events: &mut DecodeStream<S>) -> Result<(), Error>
where
    S: Stream<Item = reqwest::Result<Bytes>> + Unpin,
{
    while let Some(event) = events.next().await {
        let event = event?;
        println!(
            "client: {:<8} id={:<4} data={:?}",
            event.event_type(),
            event.id().unwrap_or("-"),
            event.data()
        );
    }
    Ok(())
}

/// A hyper 1 server on an ephemeral loopback port.
async fn serve() -> Result<SocketAddr, Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                let resume_after = request
                    .headers()
                    .get("last-event-id")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|id| id.parse::<u32>().ok());
                println!("server: GET /events, Last-Event-ID: {resume_after:?}");
                let body = SseBody::new(EncodeStream::new(events_after(resume_after)));
                Ok::<_, Infallible>(body.into_http_response())
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service),
            );
        }
    });
    Ok(addr)
}

/// What the server sends: a first connection gets the retry and events 1 to 3, a client
/// that resumes gets what follows its id. A little pause between events shows them arrive
/// one by one.
fn events_after(resume_after: Option<u32>) -> impl Stream<Item = Event> + Send {
    let events = match resume_after {
        None => vec![
            Event::builder()
                .comment("retry is in milliseconds")
                .retry(Duration::from_millis(300))
                .build(),
            Event::builder()
                .event("greeting")
                .id("1")
                .data("hello from sse-wire")
                .build(),
            Event::builder()
                .id("2")
                .data("a message\nover two lines")
                .build(),
            Event::builder()
                .event("weather")
                .id("3")
                .data("☀ 24 °C in Zürich")
                .build(),
        ],
        Some(id) => vec![Event::builder()
            .event("resumed")
            .id((id + 1).to_string())
            .data(format!("picked up after event {id}"))
            .build()],
    };
    // Every value above is valid: `build` cannot fail here.
    let events: Vec<Event> = events
        .into_iter()
        .map(|event| event.expect("a valid event"))
        .collect();
    stream::iter(events).then(|event| async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        event
    })
}
