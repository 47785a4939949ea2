//! An SSE proxy: reads an upstream event stream and serves it again, frame by frame, so that
//! comments, ids (id-only blocks too) and `retry` delays reach the client unchanged.
//!
//! ```sh
//! cargo run --example axum_ticker --all-features &                      # an upstream on :3000
//! cargo run --example proxy --all-features -- http://127.0.0.1:3000/ticks 127.0.0.1:3001
//! curl -N http://127.0.0.1:3001/                                         # through the proxy
//! ```
//!
//! Arguments: the upstream URL (default `http://127.0.0.1:3000/ticks`) and the address to
//! listen on (default `127.0.0.1:3001`). Every request opens its own upstream connection and
//! passes the client's `Last-Event-ID` along, so reconnections resume upstream. The proxy
//! decodes with a `DecodeStream` of frames and re-encodes with an `EncodeStream` (which writes each
//! frame with `Frame::encode`), adding its own keep-alive comments; an upstream failure
//! aborts the downstream response, which tells the client to reconnect. When the client
//! leaves, axum drops the body and with it the upstream connection.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sse_wire::{DecodeStream, EncodeStream, Frame, SseBody, TokioTimer};

#[derive(Clone)]
struct Upstream {
    url: String,
    client: reqwest::Client,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3000/ticks".to_owned());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let upstream = Upstream {
        url,
        client: reqwest::Client::new(),
    };
    println!(
        "proxying {} on http://{addr}/ (Ctrl-C to stop)",
        upstream.url
    );
    let app = axum::Router::new().fallback(proxy).with_state(upstream);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}

async fn proxy(State(upstream): State<Upstream>, headers: HeaderMap) -> Response {
    let mut request = upstream
        .client
        .get(&upstream.url)
        .header("accept", "text/event-stream");
    if let Some(id) = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
    {
        request = request.header("last-event-id", id);
    }
    let response = match request
        .send()
        .await
        .and_then(|response| response.error_for_status())
    {
        Ok(response) => response,
        Err(error) => {
            eprintln!("upstream: {error}");
            return (StatusCode::BAD_GATEWAY, format!("upstream: {error}\n")).into_response();
        }
    };
    println!("client connected; upstream answered {}", response.status());
    let frames = DecodeStream::new(response.bytes_stream())
        .frames()
        .inspect(|frame| match frame {
            Ok(Frame::Event(event)) => println!(
                "  event {} (id {:?})",
                event.event_type(),
                event.last_event_id()
            ),
            Ok(Frame::Comment(text)) => println!("  comment {text:?}"),
            Ok(Frame::Retry(delay)) => println!("  retry {delay:?}"),
            Ok(Frame::Id(id)) => println!("  id {id:?}"),
            Ok(_) => {}
            Err(error) => eprintln!("  upstream: {error}"),
        });
    let body = EncodeStream::new(frames).keep_alive(Duration::from_secs(15), TokioTimer::new());
    SseBody::new(body).into_http_response().map(Body::new)
}
