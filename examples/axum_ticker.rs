//! A live price ticker with axum 0.8 on the hub: a page whose `EventSource` shows one tick a
//! second.
//!
//! ```sh
//! cargo run --example axum_ticker --all-features            # then open http://127.0.0.1:3000/
//! cargo run --example axum_ticker --all-features -- 127.0.0.1:8080
//! curl -N http://127.0.0.1:3000/ticks                       # the raw stream
//! ```
//!
//! One task publishes each tick to a [`Hub`], which encodes it once for every page. The hub
//! gives each tick an id, so a browser that loses the connection resumes where it left off
//! (`Last-Event-ID`) and gets the ticks it missed; one whose id the hub no longer holds gets
//! an `sse-wire-gap` event first. A keep-alive comment goes out after 15 quiet seconds so
//! proxies keep the connection open. When a page closes, axum drops its subscription: a
//! cursor into the hub's ring, nothing more.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use sse_wire::{last_event_id, EncodeStream, Event, Hub, SseBody};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let hub = Hub::new();
    tokio::spawn(ticker(hub.clone()));
    let app = axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/ticks", get(ticks))
        .with_state(hub);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "open http://{}/ in a browser (Ctrl-C to stop)",
        listener.local_addr()?
    );
    axum::serve(listener, app).await
}

async fn ticks(State(hub): State<Hub>, headers: HeaderMap) -> impl IntoResponse {
    let resume = last_event_id(&headers);
    println!("browser connected, Last-Event-ID: {resume:?}");
    SseBody::new(EncodeStream::new(hub.subscribe(resume)).tokio_keep_alive())
}

/// One `tick` event a second, numbered from 1, with a made-up price.
async fn ticker(hub: Hub) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    for n in 1_u64.. {
        interval.tick().await;
        let event = Event::builder()
            .event("tick")
            .data(format!("{{\"n\":{n},\"price\":{:.2}}}", price(n)))
            .build()
            .expect("the type and JSON have no line breaks");
        hub.publish(event);
    }
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
  // The hub could not resume from our last id (a server restart, or too long away).
  source.addEventListener("sse-wire-gap", () => {
    $("log").textContent = "(reconnected: some ticks were missed)\n" + $("log").textContent;
  });
  source.addEventListener("tick", (event) => {
    const tick = JSON.parse(event.data);
    $("price").textContent = tick.price.toFixed(2);
    $("last").textContent = event.lastEventId;
    $("log").textContent = `tick ${tick.n}: ${event.data}\n` + $("log").textContent.slice(0, 2000);
  });
</script>
"#;
