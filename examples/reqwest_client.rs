//! An SSE client on reqwest: `EventSource` reconnects as a browser does (`Last-Event-ID`, the
//! server's `retry`, a backoff while attempts fail) and stops on a response that is not an
//! event stream.
//!
//! ```sh
//! cargo run --example hyper_server --all-features &
//! cargo run --example reqwest_client --features reqwest -- http://127.0.0.1:3000/progress
//! ```

use futures_util::StreamExt;
use sse_wire::{ClientError, EventSource, ReconnectPolicy, SourceEvent};

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let url = std::env::args().nth(1);
    let url = url.unwrap_or_else(|| "http://127.0.0.1:3000/progress".to_owned());
    let http = reqwest::Client::new();
    let policy = ReconnectPolicy::event_source().with_max_attempts(Some(5));
    let mut source = EventSource::new(move || http.get(&url)).policy(policy);
    while let Some(item) = source.next().await {
        match item? {
            SourceEvent::Message(event) => {
                let (kind, id) = (event.event_type(), event.last_event_id());
                println!("{kind} (id {id:?}): {}", event.data());
                if kind == "done" {
                    source.close();
                }
            }
            SourceEvent::Retrying { delay, cause, .. } => println!("{cause}; again in {delay:?}"),
            other => println!("{other:?}"),
        }
    }
    Ok(())
}
