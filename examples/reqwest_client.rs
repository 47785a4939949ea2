//! An SSE client on reqwest that behaves like a browser's `EventSource`: it reconnects when
//! the stream ends or breaks, waits the delay the server set with `retry`, and sends
//! `Last-Event-ID` so the server resumes where it left off.
//!
//! ```sh
//! cargo run --example hyper_server --all-features &            # or axum_ticker
//! cargo run --example reqwest_client --all-features -- http://127.0.0.1:3000/progress
//! cargo run --example reqwest_client --all-features -- http://127.0.0.1:3000/ticks 3
//! ```
//!
//! Arguments: the URL (default `http://127.0.0.1:3000/progress`) and how many connection
//! attempts to make at most (default 5). It stops early on an event named `done` (what
//! `hyper_server` sends at the end of its job) or on a response that is not an event stream
//! (which `EventSource` treats as fatal too).

use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use sse_wire::{DecodeError, DecodeStream};

/// The delay before reconnecting until the server sets one; what browsers use.
const DEFAULT_RETRY: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3000/progress".to_owned());
    let max_attempts: u32 = match args.next().map(|n| n.parse()) {
        None => 5,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: reqwest_client [URL] [MAX_ATTEMPTS > 0]");
            return ExitCode::FAILURE;
        }
    };
    let client = match reqwest::Client::builder().build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot build the HTTP client: {error}");
            return ExitCode::FAILURE;
        }
    };

    // One decoder across connections: it carries the last event ID and the retry delay.
    let mut decoder = None;
    for attempt in 1..=max_attempts {
        let last_event_id = decoder
            .as_ref()
            .map_or("", |d: &DecodeStream<_>| d.last_event_id())
            .to_owned();
        let mut request = client
            .get(&url)
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache");
        if !last_event_id.is_empty() {
            request = request.header("last-event-id", &last_event_id);
        }
        println!("[attempt {attempt}/{max_attempts}] GET {url} (Last-Event-ID: {last_event_id:?})");
        match request.send().await {
            Err(error) => println!("  cannot connect: {error}"),
            Ok(response) => {
                let is_event_stream = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .is_some_and(|value| value.starts_with("text/event-stream"));
                if !response.status().is_success() || !is_event_stream {
                    eprintln!("  not an event stream ({}); giving up", response.status());
                    return ExitCode::FAILURE;
                }
                // Boxed so that every connection's stream has the same type.
                let chunks = Box::pin(response.bytes_stream());
                let decoder = match decoder.take() {
                    None => decoder.insert(DecodeStream::new(chunks)),
                    Some(mut old) => {
                        Pin::new(&mut old).reconnect(chunks);
                        decoder.insert(old)
                    }
                };
                while let Some(event) = decoder.next().await {
                    match event {
                        Ok(event) => {
                            println!(
                                "  {} (id {:?}): {}",
                                event.event_type(),
                                event.last_event_id(),
                                event.data()
                            );
                            if event.event_type() == "done" {
                                return ExitCode::SUCCESS;
                            }
                        }
                        // The connection broke: reconnect below.
                        Err(DecodeError::Transport(error)) => {
                            println!("  connection lost: {error}");
                            break;
                        }
                        // One oversized event was skipped; the stream goes on.
                        Err(error) => println!("  skipped an event: {error}"),
                    }
                }
                println!("  stream ended");
            }
        }
        if attempt < max_attempts {
            let delay = decoder
                .as_ref()
                .and_then(|d| d.retry())
                .unwrap_or(DEFAULT_RETRY);
            println!("  reconnecting in {delay:?}");
            tokio::time::sleep(delay).await;
        }
    }
    println!("gave up after {max_attempts} attempts");
    ExitCode::FAILURE
}
