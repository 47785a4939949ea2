//! The Redis backplane against a real Redis (Debian package `redis-server`): each test
//! starts its own `redis-server` on a free loopback port, persistence off, in a temporary
//! directory, and stops it. Nodes are `RedisHub`s served by hyper on 127.0.0.1:0, each with
//! its own Redis connections; the client reads the raw response body through `Parser` and
//! reconnects by hand with its `Last-Event-ID`.
//!
//! Without `redis-server` the tests fail when `CI` is set and are skipped otherwise.
//! Every wait is bounded.
#![cfg(all(feature = "redis", feature = "http-body"))]

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use sse_wire::{last_event_id, EncodeStream, Event, Parser, RedisHub, SseBody};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const KEY: &str = "events";

async fn bounded<T>(what: &str, test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within 30 s"))
}

/// One step of a test, bounded on its own, so that a hang names where it happened.
async fn step<T>(what: &str, step: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), step)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within 10 s"))
}

fn free_port() -> u16 {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------
// Redis

/// A `redis-server` of this test's own; killed when dropped.
struct Redis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    /// Starts one, or `None` (after saying why) when `redis-server` is not installed and
    /// `CI` is not set.
    fn start() -> Option<Redis> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed (apt-get install redis-server)"
            );
            eprintln!("skipped: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("sse-wire-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Redis {
            port,
            dir,
            child: None,
        };
        redis.run();
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server on its port and waits until it answers.
    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the server: with persistence off, the stream is gone with it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The ids and data of every entry of the stream, oldest first: the one order all
    /// nodes must agree on.
    async fn entries(&self) -> Vec<(String, String)> {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(KEY)
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .unwrap();
        reply
            .ids
            .into_iter()
            .map(|entry| {
                let data: String = entry.get("data").unwrap();
                (entry.id, data)
            })
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// Nodes and clients

/// A `RedisHub` served over HTTP; dropping it stops the server and closes its connections.
struct Node {
    hub: RedisHub,
    addr: SocketAddr,
    /// Dropped with the node: aborts the server and its connections.
    _server: JoinSet<()>,
}

impl Node {
    /// A node whose ring holds `ring` events and whose publishes trim the stream to about
    /// `max_len` entries.
    async fn start(url: &str, ring: usize, max_len: usize) -> Node {
        let hub = RedisHub::builder(url, KEY)
            .hub(sse_wire::Hub::builder().max_events(ring))
            .max_len(max_len)
            .connect()
            .await
            .unwrap();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = JoinSet::new();
        let serving = hub.clone();
        server.spawn(async move {
            // The connections live in the accept loop's set: aborting it closes them all.
            let mut connections = JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let hub = serving.clone();
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let hub = hub.clone();
                    async move {
                        let sub = hub.subscribe(last_event_id(request.headers())).await;
                        let body = SseBody::new(EncodeStream::new(sub));
                        Ok::<_, Infallible>(body.into_http_response())
                    }
                });
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Node {
            hub,
            addr,
            _server: server,
        }
    }
}

/// What a client read: an event's id and data, or the gap event's data.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Event { id: String, data: String },
    Gap { requested: String },
}

/// A client on one connection: a raw HTTP/1.1 request, the body read through `Parser`.
struct Client {
    stream: TcpStream,
    parser: Parser,
    /// The response head has been read past.
    in_body: bool,
    /// The body's last chunk came: the response is over, though HTTP/1.1 keeps the
    /// connection open.
    ended: bool,
    head: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr, last_event_id: Option<&str>) -> Client {
        use tokio::io::AsyncWriteExt;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let header = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        let request = format!("GET /events HTTP/1.1\r\nHost: node\r\n{header}\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        Client {
            stream,
            parser: Parser::new(),
            in_body: false,
            ended: false,
            head: Vec::new(),
        }
    }

    /// The next event, or `None` when the connection ends.
    async fn next(&mut self) -> Option<Got> {
        use tokio::io::AsyncReadExt;
        loop {
            if let Some(event) = self.parser.next_event() {
                let event = event.unwrap();
                if event.event_type() == "sse-wire-gap" {
                    return Some(Got::Gap {
                        requested: event.data().to_owned(),
                    });
                }
                return Some(Got::Event {
                    id: event.id().unwrap_or_default().to_owned(),
                    data: event.data().to_owned(),
                });
            }
            if self.ended {
                return None;
            }
            let mut buf = [0; 8192];
            let n = self.stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.receive(&buf[..n]);
        }
    }

    /// Feeds the parser the body bytes in `bytes`, taking off the response head and the
    /// chunked transfer framing.
    fn receive(&mut self, bytes: &[u8]) {
        self.head.extend_from_slice(bytes);
        if !self.in_body {
            let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            assert!(self.head.starts_with(b"HTTP/1.1 200"), "not a 200 response");
            self.head.drain(..end + 4);
            self.in_body = true;
        }
        // Whole chunks only: `<hex size>\r\n<bytes>\r\n`.
        loop {
            let Some(line) = self.head.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size = std::str::from_utf8(&self.head[..line]).unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            if size == 0 {
                self.ended = true;
                return;
            }
            if self.head.len() < line + 2 + size + 2 {
                return;
            }
            self.parser.feed(&self.head[line + 2..line + 2 + size]);
            self.head.drain(..line + 2 + size + 2);
        }
    }

    fn last_event_id(&self) -> String {
        self.parser.last_event_id().to_owned()
    }
}

/// Waits until the node serves a subscription: a client without `Last-Event-ID` gets
/// live events only (its position block dispatches nothing), so publishing starts after.
async fn subscribed(node: &RedisHub) {
    while node.subscriber_count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A stream id's place in the stream's order.
fn order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

fn data_of(got: &[Got]) -> Vec<String> {
    got.iter()
        .filter_map(|got| match got {
            Got::Event { data, .. } if !data.is_empty() => Some(data.clone()),
            _ => None,
        })
        .collect()
}

/// Publishes `count` events named `<name>-<i>`, a millisecond apart, or until `stop`.
async fn publish(node: RedisHub, name: &'static str, count: usize, stop: Arc<AtomicBool>) {
    for i in 0..count {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        node.publish(Event::from_data(format!("{name}-{i}")))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Tests

/// Three nodes with publishers on each; a client on node A, which stops mid-stream; the
/// client reconnects to node B (whose ring is too small to serve it) with its
/// `Last-Event-ID`: it gets every event exactly once, in the stream's order, the missed
/// ones from Redis and then live ones from B's ring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_moved_to_another_node_gets_every_event_once_in_the_one_global_order() {
    let Some(redis) = Redis::start() else { return };
    bounded("moving a client between nodes", async {
        let url = redis.url();
        let a = Node::start(&url, 64, 10_000).await;
        let b = Node::start(&url, 8, 10_000).await;
        let c = Node::start(&url, 64, 10_000).await;
        let mut client = Client::connect(a.addr, None).await;
        subscribed(&a.hub).await;
        let mut got = Vec::new();
        let stop_a = Arc::new(AtomicBool::new(false));
        let never = Arc::new(AtomicBool::new(false));
        let publishers = [
            tokio::spawn(publish(a.hub.clone(), "a", 40, stop_a.clone())),
            tokio::spawn(publish(b.hub.clone(), "b", 40, never.clone())),
            tokio::spawn(publish(c.hub.clone(), "c", 40, never.clone())),
        ];
        while data_of(&got).len() < 15 {
            let next = step("15 events from node A", client.next()).await;
            got.push(next.expect("node A ended early"));
        }
        // Node A stops: its server, its connections, its publisher.
        stop_a.store(true, Ordering::Relaxed);
        drop(a);
        while let Some(event) = step("the end of node A's stream", client.next()).await {
            got.push(event);
        }
        for publisher in publishers {
            step("the publishers", publisher).await.unwrap();
        }
        let last = client.last_event_id();
        let behind = redis
            .entries()
            .await
            .iter()
            .filter(|(id, _)| order(id) > order(&last))
            .count();
        assert!(
            behind > 8,
            "the resume must be older than B's ring: {behind} behind"
        );
        let mut client = Client::connect(b.addr, Some(&last)).await;
        // Live events after the hand-off, from C.
        let live = tokio::spawn(publish(c.hub.clone(), "live", 10, never.clone()));
        live.await.unwrap();
        let total = redis.entries().await.len();
        let truth = redis.entries().await;
        while data_of(&got).len() < total {
            let next = tokio::time::timeout(Duration::from_secs(5), client.next()).await;
            let Ok(next) = next else {
                let want: Vec<String> = truth.iter().map(|(_, d)| d.clone()).collect();
                panic!(
                    "stuck after {last}:\n got {:?}\nwant {want:?}",
                    data_of(&got)
                );
            };
            match next {
                Some(event) => got.push(event),
                // Fell out of B's small ring while live events came (`Lag::End`): the
                // stream ends, and the client resumes, as a browser would.
                None => {
                    let last = client.last_event_id();
                    client = Client::connect(b.addr, Some(&last)).await;
                }
            }
        }
        assert!(
            !got.iter().any(|g| matches!(g, Got::Gap { .. })),
            "no gap event: {got:?}"
        );
        assert_eq!(
            data_of(&got),
            truth.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>()
        );
        // And the ids on the wire are the stream's ids.
        let ids: Vec<&str> = got
            .iter()
            .filter_map(|g| match g {
                Got::Event { id, data } if !data.is_empty() => Some(id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            ids,
            truth.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()
        );
        drop((b, c));
    })
    .await;
}

/// A resume from an id the stream has trimmed (`MAXLEN`) gets the gap event, naming the
/// id, then live events; so does an id that was never in the stream. An id the stream
/// still holds but the ring does not is served from Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_trimmed_from_redis_gets_the_gap_event_and_one_still_held_is_served() {
    let Some(redis) = Redis::start() else { return };
    bounded("trimmed ids", async {
        let node = Node::start(&redis.url(), 4, 5).await;
        let mut ids = Vec::new();
        for i in 0..300 {
            ids.push(
                node.hub
                    .publish(Event::from_data(format!("e{i}")))
                    .await
                    .unwrap(),
            );
        }
        let held = redis.entries().await;
        assert!(held.len() < 300, "MAXLEN ~ 5 trims the stream");
        let trimmed = ids[0].to_string();
        let mut client = Client::connect(node.addr, Some(&trimmed)).await;
        assert_eq!(client.next().await, Some(Got::Gap { requested: trimmed }));
        let mut bogus = Client::connect(node.addr, Some("1-1")).await;
        assert_eq!(
            bogus.next().await,
            Some(Got::Gap {
                requested: "1-1".into()
            })
        );

        // The oldest entry Redis holds is older than the 4-event ring: the rest comes from
        // Redis, then from the ring, then live.
        let (oldest, _) = held[0].clone();
        let mut resumed = Client::connect(node.addr, Some(&oldest)).await;
        let mut want: Vec<String> = held[1..].iter().map(|(_, d)| d.clone()).collect();
        let mut got = Vec::new();
        while got.len() < want.len() {
            got.push(resumed.next().await.unwrap());
        }
        // Live once the client has read what it missed (a client still reading when the
        // 4-event ring moves on would be ended by `Lag::End`, and resume).
        node.hub.publish(Event::from_data("live")).await.unwrap();
        got.push(resumed.next().await.unwrap());
        want.push("live".into());
        assert_eq!(data_of(&got), want);
    })
    .await;
}

/// A node cut off from Redis (here by a proxy that drops its connections and refuses new
/// ones) cannot publish, keeps its clients connected, and when Redis is reachable again
/// reads on from its last id: its clients get everything other nodes published meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_redis_keeps_its_clients_and_catches_up_on_recovery() {
    let Some(redis) = Redis::start() else { return };
    bounded("a node cut off", async {
        let proxy = Proxy::start(redis.port).await;
        let cut = Node::start(&format!("redis://127.0.0.1:{}/", proxy.port), 64, 10_000).await;
        let other = Node::start(&redis.url(), 64, 10_000).await;
        let mut client = Client::connect(cut.addr, None).await;
        subscribed(&cut.hub).await;
        other.hub.publish(Event::from_data("before")).await.unwrap();
        assert_eq!(data_of(&[client.next().await.unwrap()]), ["before"]);

        proxy.set_open(false).await;
        let failed = cut.hub.publish(Event::from_data("lost")).await;
        assert!(
            failed.is_err(),
            "publish must fail while Redis is unreachable"
        );
        for i in 0..5 {
            other
                .hub
                .publish(Event::from_data(format!("during-{i}")))
                .await
                .unwrap();
        }
        // The client stays connected meanwhile, and hears nothing.
        let quiet = tokio::time::timeout(Duration::from_millis(300), client.next()).await;
        assert!(quiet.is_err(), "the client must stay connected: {quiet:?}");
        assert_eq!(cut.hub.subscriber_count(), 1);

        proxy.set_open(true).await;
        let mut got = Vec::new();
        while got.len() < 5 {
            got.push(client.next().await.expect("the client was disconnected"));
        }
        let want: Vec<String> = (0..5).map(|i| format!("during-{i}")).collect();
        assert_eq!(data_of(&got), want);
        // And it publishes again (the connection manager reconnects on its own).
        let deadline = Instant::now() + Duration::from_secs(10);
        while cut.hub.publish(Event::from_data("after")).await.is_err() {
            assert!(Instant::now() < deadline, "publish did not recover");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(data_of(&[client.next().await.unwrap()]), ["after"]);
    })
    .await;
}

/// Redis restarted (persistence off, so the stream is lost): publish fails while it is
/// down; clients stay connected; after it is back, publishes succeed and reach clients
/// on every node; a client resuming from an id that neither the ring nor Redis holds any
/// more gets the gap event, and one whose id the ring still holds is served from the ring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_keeps_clients_connected_and_live_events_flowing() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    bounded("redis restart", async {
        let a = Node::start(&redis.url(), 4, 10_000).await;
        let b = Node::start(&redis.url(), 4, 10_000).await;
        let mut client = Client::connect(a.addr, None).await;
        subscribed(&a.hub).await;
        // In lockstep: the 4-event ring must not move on past the client.
        let (mut before, mut got) = (Vec::new(), Vec::new());
        for i in 0..6 {
            let event = Event::from_data(format!("old-{i}"));
            before.push(b.hub.publish(event).await.unwrap());
            got.push(client.next().await.unwrap());
        }

        redis.kill();
        assert!(b.hub.publish(Event::from_data("lost")).await.is_err());
        let quiet = tokio::time::timeout(Duration::from_millis(300), client.next()).await;
        assert!(quiet.is_err(), "the client must stay connected: {quiet:?}");
        redis.run();

        let deadline = Instant::now() + Duration::from_secs(10);
        while b.hub.publish(Event::from_data("new-0")).await.is_err() {
            assert!(Instant::now() < deadline, "publish did not recover");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for i in 1..3 {
            b.hub
                .publish(Event::from_data(format!("new-{i}")))
                .await
                .unwrap();
        }
        while got.len() < 9 {
            got.push(client.next().await.expect("the client was disconnected"));
        }
        let mut want: Vec<String> = (0..6).map(|i| format!("old-{i}")).collect();
        want.extend((0..3).map(|i| format!("new-{i}")));
        assert_eq!(data_of(&got), want);

        // old-5 is still in A's 4-event ring (with new-0..2): served from the ring.
        let mut from_ring = Client::connect(a.addr, Some(&before[5].to_string())).await;
        assert_eq!(data_of(&[from_ring.next().await.unwrap()]), ["new-0"]);
        // old-0 is neither in the ring nor in the restarted Redis: the gap event.
        let lost = before[0].to_string();
        let mut gap = Client::connect(a.addr, Some(&lost)).await;
        assert_eq!(gap.next().await, Some(Got::Gap { requested: lost }));
    })
    .await;
}

/// A TCP proxy to Redis that can be cut: closed, it drops its connections and refuses
/// new ones (accepts and closes them at once).
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
    /// Told once the links a cut aborted are gone.
    cut_done: Arc<tokio::sync::Notify>,
    _task: JoinSet<()>,
}

impl Proxy {
    async fn start(redis_port: u16) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let cut_done = Arc::new(tokio::sync::Notify::new());
        let mut task = JoinSet::new();
        let (is_open, on_cut, done) = (open.clone(), cut.clone(), cut_done.clone());
        task.spawn(async move {
            let mut links = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        if !is_open.load(Ordering::SeqCst) {
                            continue; // dropped: closed at once
                        }
                        links.spawn(async move {
                            let Ok(mut outbound) =
                                TcpStream::connect((Ipv4Addr::LOCALHOST, redis_port)).await
                            else {
                                return;
                            };
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        });
                    }
                    () = on_cut.notified() => {
                        links.abort_all();
                        while links.join_next().await.is_some() {}
                        done.notify_one();
                    }
                }
            }
        });
        Proxy {
            port,
            open,
            cut,
            cut_done,
            _task: task,
        }
    }

    /// Opens the proxy, or cuts it and returns once its connections are closed.
    async fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
        if !open {
            self.cut.notify_one();
            self.cut_done.notified().await;
        }
    }
}

/// A client that saw an event on a node which read the stream sooner resumes on a node
/// that has not read it yet: it waits for its node to catch up instead of getting a false
/// gap event. Each id is offered to the other node right after `publish` returns, when
/// that node has often not read it yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_from_an_id_the_node_has_not_read_yet_waits_for_it() {
    let Some(redis) = Redis::start() else { return };
    bounded("resuming ahead of the node", async {
        let a = Node::start(&redis.url(), 64, 10_000).await;
        let b = Node::start(&redis.url(), 64, 10_000).await;
        for i in 0..100 {
            let id = a
                .hub
                .publish(Event::from_data(format!("e{i}")))
                .await
                .unwrap();
            let mut sub = b.hub.subscribe(Some(&id.to_string())).await;
            a.hub
                .publish(Event::from_data(format!("next{i}")))
                .await
                .unwrap();
            let first = futures_util::StreamExt::next(&mut sub).await.unwrap();
            let text = String::from_utf8_lossy(first.as_bytes()).into_owned();
            assert!(
                text.ends_with(&format!("data: next{i}\n\n")),
                "after {id}: {text:?}"
            );
        }
    })
    .await;
}
