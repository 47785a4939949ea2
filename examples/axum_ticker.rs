//! A live price ticker with axum 0.8: a page whose `EventSource` shows one tick a second.
//!
//! ```sh
//! cargo run --example axum_ticker --all-features            # then open http://127.0.0.1:3000/
//! cargo run --example axum_ticker --all-features -- 127.0.0.1:8080
//! curl -N http://127.0.0.1:3000/ticks                       # the raw stream
//! ```
//!
//! Each tick carries an id, so a browser that loses the connection resumes where it left off
//! (`Last-Event-ID`); the stream starts with `retry: 2000` to set the browser's reconnection
//! delay, and a keep-alive comment goes out after 15 quiet seconds so proxies keep the
//! connection open. When a page closes, axum drops the body and the ticker task with it.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use sse_wire::{EncodeStream, Event, SseBody, TokioTimer};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let app = axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/ticks", get(ticks));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "open http://{}/ in a browser (Ctrl-C to stop)",
        listener.local_addr()?
    );
    axum::serve(listener, app).await
}

async fn ticks(headers: HeaderMap) -> Response {
    // Resume after the last tick the browser saw; a bad or missing header starts afresh.
    let after = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|id| id.parse::<u64>().ok());
    match after {
        Some(n) => println!("browser resumed after tick {n}"),
        None => println!("browser connected"),
    }
    let first = after.map_or(1, |n| n + 1);
    let setup = Event::builder()
        .retry(Duration::from_secs(2))
        .comment("ticker: one event a second")
        .build()
        .expect("a valid retry");
    let events = stream::iter([setup]).chain(ticker(first));
    let body = EncodeStream::new(events).keep_alive(Duration::from_secs(15), TokioTimer::new());
    // As an axum response it sets content-type, cache-control and x-accel-buffering.
    SseBody::new(body).into_response()
}

/// One `tick` event a second, numbered from `first`, with a made-up price.
fn ticker(first: u64) -> impl Stream<Item = Event> + Send {
    let interval = tokio::time::interval(Duration::from_secs(1));
    stream::unfold((interval, first), |(mut interval, n)| async move {
        interval.tick().await;
        let event = Event::builder()
            .event("tick")
            .id(n.to_string())
            .data(format!("{{\"n\":{n},\"price\":{:.2}}}", price(n)))
            .build()
            .expect("ids and JSON have no line breaks");
        Some((event, (interval, n + 1)))
    })
}

/// A deterministic wobble around 100, so the demo needs no random number generator.
fn price(n: u64) -> f64 {
    let hash = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    100.0 + (hash % 2000) as f64 / 100.0 - 10.0
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>sse-wire ticker</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 2em; }
  #price { font-size: 3em; font-variant-numeric: tabular-nums; }
  #log { font: 13px ui-monospace, monospace; color: #555; }
</style>
<h1>sse-wire ticker</h1>
<div id="price">…</div>
<p>connection: <b id="state">connecting</b>, last event id: <b id="last">none</b></p>
<pre id="log"></pre>
<script>
  const source = new EventSource("/ticks");
  const $ = (id) => document.getElementById(id);
  source.onopen = () => { $("state").textContent = "open"; };
  // The browser reconnects by itself, sending Last-Event-ID; the server resumes from it.
  source.onerror = () => { $("state").textContent = "reconnecting"; };
  source.addEventListener("tick", (event) => {
    const tick = JSON.parse(event.data);
    $("price").textContent = tick.price.toFixed(2);
    $("last").textContent = event.lastEventId;
    $("log").textContent = `tick ${tick.n}: ${event.data}\n` + $("log").textContent.slice(0, 2000);
  });
</script>
"#;
