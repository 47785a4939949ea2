//! Any HTTP client can reconnect like `EventSource`: bare hyper 1 driving the sans-io
//! `Reconnector`, which says which headers to send, what a response means and how long to
//! wait. No reqwest, no feature of sse-wire.
//!
//! ```sh
//! cargo run --example hyper_server --all-features &
//! cargo run --example hyper_client -- http://127.0.0.1:3000/progress
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use sse_wire::{BoxError, Cause, ReconnectPolicy, Reconnector, ResponseHead, Verdict};

const URL: &str = "http://127.0.0.1:3000/progress";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url: Uri = std::env::args().nth(1).as_deref().unwrap_or(URL).parse()?;
    let policy = ReconnectPolicy::event_source().with_max_attempts(Some(5));
    let idle = policy.idle_timeout().unwrap_or(Duration::from_secs(3600));
    // The seed spreads clients' backoff apart: any source of randomness will do.
    let mut machine = Reconnector::new(policy, std::process::id().into());
    let start = Instant::now();
    while let Some(headers) = machine.connect() {
        let mut request =
            Request::get(&url).header("host", url.authority().map_or("", |a| a.as_str()));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let verdict = match send(&url, request.body(Empty::new())?).await {
            Err(error) => machine.disconnected(start.elapsed(), Cause::Transport(error)),
            Ok(response) => {
                let mut head = ResponseHead::new(response.status().as_u16());
                if let Some(value) = response.headers().get("content-type") {
                    head = head.content_type(value.as_bytes());
                }
                match machine.response(start.elapsed(), &head) {
                    Verdict::Open => {
                        let mut body = response.into_body();
                        let cause = loop {
                            let data = match tokio::time::timeout(idle, body.frame()).await {
                                Err(_) => break Cause::IdleTimeout,
                                Ok(None) => break Cause::Ended,
                                Ok(Some(Err(error))) => break Cause::Transport(error.into()),
                                Ok(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
                            };
                            machine.feed(data);
                            while let Some(event) = machine.next_event() {
                                let event = event?;
                                println!("{}: {}", event.event_type(), event.data());
                                if event.event_type() == "done" {
                                    return Ok(()); // the job is over: no reconnection
                                }
                            }
                        };
                        machine.disconnected(start.elapsed(), cause)
                    }
                    verdict => verdict,
                }
            }
        };
        match verdict {
            Verdict::Retry { delay, cause, .. } => {
                println!("{cause}; again in {delay:?}");
                tokio::time::sleep(delay).await;
            }
            Verdict::Fail(error) => return Err(error.into()),
            _ => break,
        }
    }
    Ok(())
}

/// One request on a connection of its own.
async fn send(url: &Uri, request: Request<Empty<Bytes>>) -> Result<Response<Incoming>, BoxError> {
    let host = url.host().ok_or("no host in the URL")?;
    let tcp = tokio::net::TcpStream::connect((host, url.port_u16().unwrap_or(80))).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}
