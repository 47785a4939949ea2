//! SSE on actix-web 4: the encode adapter is a `Stream` of `Result<Bytes, _>`, which is what
//! `HttpResponseBuilder::streaming` takes, so no `http-body` integration is needed.
//!
//! ```sh
//! cargo run --example actix --all-features                 # listens on 127.0.0.1:3000
//! curl -N http://127.0.0.1:3000/clock
//! cargo run --example reqwest_client --all-features -- http://127.0.0.1:3000/clock 3
//! ```
//!
//! A clock: one `time` event a second, with the seconds since the server started as its id,
//! and a keep-alive comment after 15 quiet seconds. actix-web runs on tokio, so
//! `TokioTimer` works as it is. The headers come from `sse_wire::RESPONSE_HEADERS`, plain
//! string pairs for HTTP libraries that do not use the `http` 1.x crate.

use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::stream::{self, Stream};
use sse_wire::{EncodeStream, Event, TokioTimer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let started = Instant::now();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(started))
            .route("/clock", web::get().to(clock))
    })
    .workers(1)
    .bind(&addr)?;
    println!("listening on http://{addr}/clock (Ctrl-C to stop)");
    server.run().await
}

async fn clock(started: web::Data<Instant>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for header in sse_wire::RESPONSE_HEADERS {
        response.insert_header(header);
    }
    let events =
        EncodeStream::new(ticks(**started)).keep_alive(Duration::from_secs(15), TokioTimer::new());
    response.streaming(events)
}

/// One event a second, the first at once.
fn ticks(started: Instant) -> impl Stream<Item = Event> {
    let interval = tokio::time::interval(Duration::from_secs(1));
    stream::unfold(interval, move |mut interval| async move {
        interval.tick().await;
        let seconds = started.elapsed().as_secs();
        let event = Event::builder()
            .event("time")
            .id(seconds.to_string())
            .data(format!("{seconds} s since the server started"))
            .build()
            .expect("numeric ids are valid");
        Some((event, interval))
    })
}
