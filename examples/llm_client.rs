//! Streaming an LLM answer over POST without ever generating it twice: `EventSource` with
//! the `llm` policy, against a small pretend model server started in the same program.
//!
//! ```sh
//! cargo run --example llm_client --features reqwest
//! ```
//!
//! The first answer streams to `data: [DONE]` and the stream ends cleanly. The second is cut
//! off half-way by the server, in a stream without ids: the client reports the truncation
//! instead of POSTing the prompt again. The server counts the POSTs it gets: one each.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use http_body_util::StreamBody;
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sse_wire::{ClientError, Event, EventSource, ReconnectPolicy, SourceEvent};

const TOKENS: [&str; 6] = ["The", " answer", " is", " forty", "-two", "."];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let posts = Arc::new(AtomicUsize::new(0));
    let url = serve(posts.clone()).await?;
    let http = reqwest::Client::new();
    for path in ["/v1/chat", "/v1/chat?cut"] {
        let (http, url) = (http.clone(), format!("{url}{path}"));
        let mut source = EventSource::new(move || {
            http.post(&url)
                .header("content-type", "application/json")
                .body(r#"{"prompt":"?"}"#)
        })
        .policy(ReconnectPolicy::llm());
        print!("POST {path}: ");
        let result: Result<(), ClientError> = async {
            while let Some(item) = source.next().await {
                if let SourceEvent::Message(event) = item? {
                    if event.data() != "[DONE]" {
                        print!("{}", event.data());
                    }
                }
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => println!("  [complete]"),
            Err(error) => println!("  [{error}]"),
        }
    }
    println!(
        "the server got {} POSTs for 2 prompts",
        posts.load(Ordering::SeqCst)
    );
    assert_eq!(posts.load(Ordering::SeqCst), 2, "a prompt was sent twice");
    Ok(())
}

/// A pretend model on 127.0.0.1: one token every 50 ms, then `[DONE]`; with `?cut`, the
/// connection breaks after three tokens.
async fn serve(posts: Arc<AtomicUsize>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let posts = posts.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                posts.fetch_add(1, Ordering::SeqCst);
                let cut = request.uri().query() == Some("cut");
                let tokens = TOKENS.iter().take(if cut { 3 } else { TOKENS.len() });
                let mut frames: Vec<Result<Bytes, std::io::Error>> = tokens
                    .map(|t| Ok(Event::from_data(*t).to_bytes()))
                    .collect();
                frames.push(match cut {
                    true => Err(std::io::Error::other("the model server crashed")),
                    false => Ok(Event::from_data("[DONE]").to_bytes()),
                });
                let body = stream::iter(frames).then(|frame| async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    frame.map(Frame::data)
                });
                let response = Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(StreamBody::new(body));
                async move { Ok::<_, Infallible>(response.expect("static headers")) }
            });
            let connection = hyper::server::conn::http1::Builder::new();
            tokio::spawn(connection.serve_connection(TokioIo::new(tcp), service));
        }
    });
    Ok(url)
}
