//! An SSE endpoint on bare hyper 1: a job's progress, streamed while it runs.
//!
//! ```sh
//! cargo run --example hyper_server --all-features              # listens on 127.0.0.1:3000
//! curl -N http://127.0.0.1:3000/progress                       # watch it
//! cargo run --example reqwest_client --all-features -- http://127.0.0.1:3000/progress
//! ```
//!
//! A pretend job of 20 steps: a `progress` event per step, with an id, then a `done` event.
//! Each response carries 8 steps and ends, the way a load balancer cuts long requests; the
//! client reconnects after the `retry` delay with `Last-Event-ID` and the server resumes
//! after that step. `SseBody` is a plain `http_body::Body`, so hyper needs nothing else; a
//! keep-alive comment covers slow steps.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sse_wire::{EncodeStream, Event, SseBody, TokioTimer};

const STEPS: u32 = 20;
const PER_RESPONSE: u32 = 8;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "listening on http://{}/progress (Ctrl-C to stop)",
        listener.local_addr()?
    );
    loop {
        let (tcp, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(handle);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await
            {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// `/progress` is the event stream; anything else is a 404. The two bodies differ in type,
/// hence `Either`.
async fn handle(
    request: Request<Incoming>,
) -> Result<Response<Either<SseBody<impl Stream<Item = Event>, TokioTimer>, Full<Bytes>>>, Infallible>
{
    if request.uri().path() != "/progress" {
        let mut response = Response::new(Either::Right(Full::from("try /progress\n")));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return Ok(response);
    }
    let done = request
        .headers()
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|id| id.parse::<u32>().ok())
        .unwrap_or(0);
    println!("GET /progress, resuming after step {done}");
    let encoder =
        EncodeStream::new(job(done)).keep_alive(Duration::from_secs(15), TokioTimer::new());
    Ok(SseBody::new(encoder).into_http_response().map(Either::Left))
}

/// The job's steps after `done`, one every 300 ms. Each response carries at most
/// `PER_RESPONSE` steps and then ends, as when a load balancer cuts long requests: clients
/// reconnect after the `retry` delay with `Last-Event-ID` and the job goes on. The last
/// response ends with `done`.
fn job(done: u32) -> impl Stream<Item = Event> {
    let last = STEPS.min(done + PER_RESPONSE);
    let retry = Event::builder()
        .retry(Duration::from_millis(500))
        .build()
        .expect("valid event");
    let steps = stream::iter(done + 1..=last).then(|step| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Event::builder()
            .event("progress")
            .id(step.to_string())
            .data(format!("step {step} of {STEPS} ({}%)", step * 100 / STEPS))
            .build()
            .expect("valid event")
    });
    let finished = (last == STEPS).then(|| {
        Event::builder()
            .event("done")
            .data("the job is finished")
            .build()
            .expect("valid event")
    });
    stream::iter([retry])
        .chain(steps)
        .chain(stream::iter(finished))
}
