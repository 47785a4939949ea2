//! Two nodes and Redis on loopback: watch events move across node restarts.
//!
//! ```text
//! cargo run --example cluster --features redis,axum
//! ```
//!
//! It starts `redis-server` (Debian package `redis-server`) on a free port with
//! persistence off, and two node processes (this program with `node`), each a `RedisHub`
//! behind axum that publishes a tick of its own every 100 ms. A watcher reads node 1 and
//! prints what it gets. Node 1 is killed: the watcher reconnects to node 2 with its
//! `Last-Event-ID` and gets what it missed, once. Node 1 comes back (its ring filled from
//! Redis), node 2 is killed, and the watcher moves back. At the end the watcher checks what
//! it printed against the stream in Redis: every event exactly once, in the stream's order.
//! It exits by itself after about six seconds.

use std::net::{Ipv4Addr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use futures_util::StreamExt;
use sse_wire::{EncodeStream, Event, Parser, RedisHub, SseBody, Subscription};

const STREAM: &str = "cluster";

fn free_port() -> u16 {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Waits until something listens on `port`.
fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A child process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_node(name: &str, port: u16, redis: &str) -> Process {
    let exe = std::env::current_exe().expect("this program's path");
    let child = Command::new(exe)
        .args(["node", name, &port.to_string(), redis])
        .spawn()
        .expect("start a node");
    wait_for(port);
    Process(child)
}

/// A node: a `RedisHub` served on `port`, publishing `<name> tick <i>` every 100 ms.
async fn node(name: String, port: u16, redis: String) {
    let hub = RedisHub::builder(redis, STREAM)
        .connect()
        .await
        .expect("connect to Redis");
    let ticker = hub.clone();
    tokio::spawn(async move {
        for i in 0.. {
            let _ = ticker
                .publish(Event::from_data(format!("{name} tick {i}")))
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let app = axum::Router::new()
        .route("/events", axum::routing::get(events))
        .with_state(hub);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .expect("bind the node's port");
    axum::serve(listener, app).await.expect("serve");
}

/// The whole handler: the client's `Last-Event-ID`, the node's subscription, the body.
async fn events(State(hub): State<RedisHub>, headers: HeaderMap) -> SseBody<Subscription> {
    let sub = hub.subscribe(sse_wire::last_event_id(&headers)).await;
    SseBody::new(EncodeStream::new(sub))
}

/// What the watcher printed: ids and data, in order.
type Seen = Vec<(String, String)>;

/// Reads node `port` until `until`, or until the connection ends; prints each event.
async fn watch(port: u16, node: &str, parser: &mut Parser, seen: &mut Seen, until: Instant) {
    let url = format!("http://127.0.0.1:{port}/events");
    let mut request = reqwest::Client::new().get(url);
    if !parser.last_event_id().is_empty() {
        request = request.header("last-event-id", parser.last_event_id());
    }
    println!(
        "watcher -> {node} (Last-Event-ID: {:?})",
        parser.last_event_id()
    );
    let Ok(response) = request.send().await else {
        return;
    };
    let mut body = response.bytes_stream();
    let until = tokio::time::Instant::from_std(until);
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(until, body.next()).await {
        parser.feed(&chunk);
        while let Some(Ok(event)) = parser.next_event() {
            let id = event.id().unwrap_or_default().to_owned();
            println!("  via {node}: {id:<16} {}", event.data());
            assert_ne!(event.event_type(), "sse-wire-gap", "no event may be missed");
            seen.push((id, event.data().to_owned()));
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, role, name, port, redis] = &args[..] {
        if role == "node" {
            let port = port.parse().expect("a port");
            return node(name.clone(), port, redis.clone()).await;
        }
    }
    let redis_port = free_port();
    let dir = std::env::temp_dir().join(format!("sse-wire-cluster-{redis_port}"));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let Ok(redis) = Command::new("redis-server")
        .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        .args(["--port", &redis_port.to_string()])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn()
    else {
        println!("redis-server is not installed (apt-get install redis-server)");
        return;
    };
    let redis_process = Process(redis);
    wait_for(redis_port);
    let url = format!("redis://127.0.0.1:{redis_port}/");
    let (port1, port2) = (free_port(), free_port());
    let node1 = start_node("node-1", port1, &url);
    let node2 = start_node("node-2", port2, &url);

    let start = Instant::now();
    let at = move |ms: u64| start + Duration::from_millis(ms);
    let mut parser = Parser::new();
    let mut seen = Seen::new();
    // Each node is killed while the watcher reads it; the watcher notices the connection
    // end and moves to the other node at once.
    let redis_url = url.clone();
    let chaos = tokio::spawn(async move {
        let sleep_until = |t| tokio::time::sleep_until(tokio::time::Instant::from_std(t));
        sleep_until(at(1500)).await;
        drop(node1);
        println!("-- node 1 killed");
        sleep_until(at(2500)).await;
        let start = move || start_node("node-1", port1, &redis_url);
        let node1 = tokio::task::spawn_blocking(start).await.expect("restart");
        println!("-- node 1 restarted");
        sleep_until(at(3500)).await;
        drop(node2);
        println!("-- node 2 killed");
        node1
    });
    let end = at(10_000);
    watch(port1, "node 1", &mut parser, &mut seen, end).await;
    watch(port2, "node 2", &mut parser, &mut seen, end).await;
    watch(port1, "node 1", &mut parser, &mut seen, at(5000)).await;
    drop(chaos.await.expect("the node restarts"));

    // Check against the stream: from the first event seen to the last, every entry once.
    let client = redis::Client::open(url.as_str()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    let stream: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(STREAM)
        .arg(&seen.first().expect("events were seen").0)
        .arg(&seen.last().expect("events were seen").0)
        .query_async(&mut conn)
        .await
        .expect("XRANGE");
    let truth: Seen = stream
        .ids
        .iter()
        .map(|entry| (entry.id.clone(), entry.get("data").unwrap_or_default()))
        .collect();
    assert_eq!(
        seen, truth,
        "the watcher must see the stream exactly once, in order"
    );
    println!(
        "ok: {} events from both nodes, exactly once and in the stream's order, across 2 node kills",
        seen.len()
    );
    drop(redis_process);
    let _ = std::fs::remove_dir_all(&dir);
}
