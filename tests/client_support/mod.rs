//! Scripted HTTP servers for the client tests: each request gets a scripted reply (status,
//! headers, body steps that can stall or break the connection), and every request is logged
//! with its headers and arrival time.
// Each test binary that includes this uses a different part.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sse_wire::EventSource;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("the test did not finish within 20 s")
}

/// One step of a scripted response body.
#[derive(Debug, Clone)]
pub enum Step {
    Send(&'static str),
    Sleep(Duration),
    /// Never another byte, never the end.
    Stall,
    /// Break the connection (hyper aborts a body that fails).
    Abort,
}

/// A scripted response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Vec<Step>,
}

impl Reply {
    pub fn sse(body: Vec<Step>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type", "text/event-stream")],
            body,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: &'static str) -> Reply {
        self.headers.push((name, value));
        self
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub last_event_id: Option<String>,
    pub accept: Option<String>,
    pub cache_control: Option<String>,
    pub body: Bytes,
    pub at: Instant,
}

type Frames = Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, io::Error>> + Send>>;

fn frames(steps: Vec<Step>) -> Frames {
    Box::pin(
        stream::iter(steps)
            .then(|step| async move {
                match step {
                    Step::Send(text) => Some(Ok(Frame::data(Bytes::from_static(text.as_bytes())))),
                    Step::Sleep(time) => {
                        tokio::time::sleep(time).await;
                        None
                    }
                    Step::Stall => std::future::pending().await,
                    Step::Abort => {
                        // Let hyper flush what came before: an error in the same poll can cut the
                        // connection before the head and the last chunk leave.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some(Err(io::Error::other("scripted abort")))
                    }
                }
            })
            .filter_map(|frame| async move { frame }),
    )
}

/// A server that answers the n-th request of a scenario with `script(n, request)` (n from
/// 0), and logs every request it sees. A scenario is what follows `/s/` in the path, up to
/// the next `/`; paths without `/s/` are one scenario.
pub struct Server {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    arrivals: mpsc::UnboundedReceiver<()>,
}

fn scenario(path: &str) -> &str {
    path.strip_prefix("/s/")
        .map_or("", |rest| rest.split('/').next().unwrap_or(""))
}

impl Server {
    pub async fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let (tx, arrivals) = mpsc::unbounded_channel();
        let script = Arc::new(script);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (script, log, tx) = (script.clone(), log.clone(), tx.clone());
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let (script, log, tx) = (script.clone(), log.clone(), tx.clone());
                    async move {
                        let header = |name: &str| {
                            request
                                .headers()
                                .get(name)
                                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                        };
                        let mut seen = Seen {
                            method: request.method().to_string(),
                            path: request.uri().path().to_owned(),
                            last_event_id: header("last-event-id"),
                            accept: header("accept"),
                            cache_control: header("cache-control"),
                            body: Bytes::new(),
                            at: Instant::now(),
                        };
                        seen.body = request.into_body().collect().await.unwrap().to_bytes();
                        let n = {
                            let mut log = log.lock().unwrap();
                            let key = scenario(&seen.path);
                            let n = log.iter().filter(|s| scenario(&s.path) == key).count();
                            log.push(seen.clone());
                            n
                        };
                        let _ = tx.send(());
                        let reply = script(n, &seen);
                        let mut response = Response::builder().status(reply.status);
                        for (name, value) in &reply.headers {
                            response = response.header(*name, *value);
                        }
                        Ok::<_, Infallible>(
                            response.body(StreamBody::new(frames(reply.body))).unwrap(),
                        )
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service),
                );
            }
        });
        Server {
            url,
            seen,
            arrivals,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits for the n-th request in all.
    pub async fn wait_for(&mut self, n: usize) {
        while self.seen().len() < n {
            self.arrivals.recv().await.unwrap();
        }
    }

    pub fn get(&self) -> EventSource {
        let (http, url) = (reqwest::Client::new(), self.url.clone());
        EventSource::new(move || http.get(&url))
    }
}
