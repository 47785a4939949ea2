//! The load test: N concurrent SSE connections on loopback to a hub server, and the same run
//! against the axum idiom (a `tokio::sync::broadcast` receiver and an axum `Event` per
//! connection).
//!
//! `cargo run --release -- [--n 1000,10000] [--modes hub,axum] [--seconds 5]` prints a
//! Markdown table. For each mode and N it starts the server as a child process (this binary
//! with `server`), opens N connections from this process (both raise their descriptor limit
//! to the hard limit), and runs three phases of `--seconds` each:
//! - **slow rate**: `--slow-rate` events/s (default 10), which every connection keeps up
//!   with: publish-to-receipt latency;
//! - **fast rate**: `--demand` deliveries/s asked for (default 10,000,000: events/s =
//!   demand / N), more than the connections drain: delivered events/s, CPU per event;
//! - **slow clients**: the fast rate again while 10% of the connections stop reading:
//!   the server's RSS, sampled every 250 ms, must stay flat.
//!
//! Events are small (`--bytes`, default 64, of data): `<publish time in ns> <seq>` padded.
//! The server runs `--threads` tokio workers (default 1), the generator `--client-threads`
//! (default 2); the hub's `EncodeStream` coalesces ready events into chunks of up to
//! `--chunk` bytes (default 4096: a stalled connection's socket holds at most a few of
//! them, where 64 KiB chunks would let hyper queue up to 16 of 64 KiB per connection).
//! Ring and channel both hold 4,096 events; the hub uses `Lag::Gap`, so that a lagging
//! connection is counted (gap events) rather than ended.
//! Everything is on 127.0.0.1 (source addresses 127.0.0.1, .2, ... 20,000 connections
//! each), bounded in time, and stops by itself.

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::Context;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::response::{sse, Response, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use sse_wire::{EncodeStream, Event, Hub, Lag, Parser, SseBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::broadcast;

// ---------------------------------------------------------------------------------------
// Live heap, counted in the server

struct Counting;

static LIVE: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter has no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as u64, Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Raises the soft descriptor limit to the hard one: 10,000 sockets need it.
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}

// ---------------------------------------------------------------------------------------
// The server process

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Hub,
    Axum,
}

impl Mode {
    fn parse(name: &str) -> Mode {
        match name {
            "hub" => Mode::Hub,
            "axum" => Mode::Axum,
            other => panic!("unknown mode {other:?}: hub or axum"),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Mode::Hub => "sse-wire Hub",
            Mode::Axum => "axum + broadcast",
        }
    }
}

/// How many events the ring (hub) or the channel (axum) holds.
const CAPACITY: usize = 4096;

type Message = (u64, Arc<str>);

/// The server: `server <hub|axum> <threads> <data bytes>`. Prints `ready <port> <hub bytes
/// per subscriber>`, then reads commands on stdin: `rate <events/s>` (0 stops) and `heap`
/// (prints the live heap in bytes). Exits when stdin closes.
fn server(mode: Mode, threads: usize, bytes: usize, chunk: usize) {
    raise_fd_limit();
    let share = match mode {
        Mode::Hub => hub_share_per_subscriber(10_000),
        Mode::Axum => 0,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    let rate = Arc::new(AtomicU64::new(0));
    let (hub, channel) = match mode {
        Mode::Hub => (
            Some(
                Hub::builder()
                    .max_events(CAPACITY)
                    .max_bytes(CAPACITY * (bytes + 64))
                    .on_lag(Lag::Gap)
                    .build(),
            ),
            None,
        ),
        Mode::Axum => (None, Some(broadcast::channel::<Message>(CAPACITY).0)),
    };
    let port = runtime.block_on(async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = match (&hub, &channel) {
            (Some(hub), _) => axum::Router::new()
                .route("/events", get(hub_events))
                .with_state((hub.clone(), chunk)),
            (_, Some(tx)) => axum::Router::new()
                .route("/events", get(axum_events))
                .with_state(tx.clone()),
            _ => unreachable!(),
        };
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        tokio::spawn(publisher(hub.clone(), channel.clone(), rate.clone(), bytes));
        port
    });
    println!("ready {port} {share}");
    let _guard = runtime.enter();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.split_once(' ') {
            Some(("rate", value)) => rate.store(value.parse().unwrap(), Relaxed),
            _ if line == "heap" => println!("heap {}", LIVE.load(Relaxed)),
            _ => panic!("unknown command {line:?}"),
        }
    }
    runtime.shutdown_background();
}

async fn hub_events(State((hub, chunk)): State<(Hub, usize)>) -> Response {
    let sub = hub.subscribe(None);
    SseBody::new(EncodeStream::new(sub).max_chunk_size(chunk))
        .into_http_response()
        .map(Body::new)
}

/// The axum idiom: a broadcast receiver per connection, an axum `Event` built (and
/// encoded) per event per connection, lagged events skipped.
async fn axum_events(
    State(tx): State<broadcast::Sender<Message>>,
) -> Sse<impl Stream<Item = Result<sse::Event, Infallible>>> {
    let events = stream::unfold(tx.subscribe(), |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok((id, data)) => {
                    let event = sse::Event::default().id(id.to_string()).data(&*data);
                    return Some((Ok(event), rx));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events)
}

/// Publishes at the rate in `rate`, in 1 ms steps: each step publishes what the rate owes
/// since the rate was set.
async fn publisher(
    hub: Option<Hub>,
    channel: Option<broadcast::Sender<Message>>,
    rate: Arc<AtomicU64>,
    bytes: usize,
) {
    let mut seq = 0u64;
    let mut current = 0;
    let mut since = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let now_rate = rate.load(Relaxed);
        if now_rate != current {
            (current, since, sent) = (now_rate, Instant::now(), 0);
        }
        let owed = (since.elapsed().as_secs_f64() * current as f64) as u64;
        while sent < owed {
            seq += 1;
            sent += 1;
            let data = payload(seq, bytes);
            match (&hub, &channel) {
                (Some(hub), _) => {
                    hub.publish(Event::from_data(data));
                }
                (_, Some(tx)) => {
                    let _ = tx.send((seq, data.into()));
                }
                _ => {}
            }
        }
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_nanos() as u64)
}

/// `<ns> <seq> xxx...`, `bytes` long.
fn payload(seq: u64, bytes: usize) -> String {
    let mut data = format!("{} {seq} ", unix_nanos());
    while data.len() < bytes {
        data.push('x');
    }
    data
}

/// The hub's own memory per subscriber: the live heap that `count` subscriptions (held in
/// a `Vec`, so their own size counts) and their registered wakers add to a hub.
fn hub_share_per_subscriber(count: usize) -> u64 {
    let hub = Hub::builder().max_events(CAPACITY).build();
    hub.publish(Event::from_data("x"));
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let before = LIVE.load(Relaxed);
    let mut subs = Vec::with_capacity(count);
    for _ in 0..count {
        let mut sub = hub.subscribe(Some("bogus-id-not-ours"));
        // The gap event, then nothing: the waker is registered.
        let _ = std::pin::Pin::new(&mut sub).poll_next(&mut cx);
        assert!(std::pin::Pin::new(&mut sub).poll_next(&mut cx).is_pending());
        subs.push(sub);
    }
    let after = LIVE.load(Relaxed);
    drop(subs);
    (after - before) / count as u64
}

// ---------------------------------------------------------------------------------------
// The load generator

/// Latency histogram in microseconds: exact below 64 µs, then 32 buckets per power of two
/// (about 3% wide).
struct Histogram {
    buckets: Vec<AtomicU64>,
    max: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: (0..64 + 60 * 32).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }
    fn index(us: u64) -> usize {
        if us < 64 {
            return us as usize;
        }
        let exp = 63 - us.leading_zeros() as usize; // at least 6
        64 + (exp - 6) * 32 + ((us >> (exp - 5)) & 31) as usize
    }
    fn lower_bound(index: usize) -> u64 {
        if index < 64 {
            return index as u64;
        }
        let exp = (index - 64) / 32 + 6;
        let sub = ((index - 64) % 32) as u64;
        (1 << exp) + (sub << (exp - 5))
    }
    fn record(&self, us: u64) {
        self.buckets[Self::index(us).min(self.buckets.len() - 1)].fetch_add(1, Relaxed);
        self.max.fetch_max(us, Relaxed);
    }
    fn reset(&self) {
        self.buckets.iter().for_each(|b| b.store(0, Relaxed));
        self.max.store(0, Relaxed);
    }
    fn quantile(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        let want = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (index, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= want && *count > 0 {
                return Self::lower_bound(index);
            }
        }
        0
    }
}

/// What the connections share.
struct Shared {
    connected: AtomicUsize,
    ended: AtomicUsize,
    delivered: AtomicU64,
    gaps: AtomicU64,
    latency: Histogram,
    /// Every tenth connection stops reading.
    stall: AtomicBool,
}

/// One connection: a raw HTTP/1.0 request (so the body comes unchunked until the server
/// closes), then the body through `Parser`, counting events and their latency.
async fn connection(index: usize, run: usize, addr: SocketAddr, shared: Arc<Shared>) {
    // Each run connects from 4 source addresses of its own: the ports an earlier run
    // left in TIME_WAIT are not needed again, and 4 x 28,000 ports is room enough.
    let source = Ipv4Addr::new(127, 0, 0, (1 + 4 * run + index % 4) as u8);
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).unwrap();
    let mut tcp = match socket.connect(addr).await {
        Ok(tcp) => tcp,
        Err(error) => {
            if shared.ended.fetch_add(1, Relaxed) == 0 {
                eprintln!("connect from {source}: {error}");
            }
            return;
        }
    };
    tcp.write_all(b"GET /events HTTP/1.0\r\nHost: load\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut head = Vec::new();
    let mut parser = Parser::new();
    loop {
        let n = tcp.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            shared.ended.fetch_add(1, Relaxed);
            return;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            assert!(text.starts_with("http/1."), "{text}");
            assert!(!text.contains("chunked"), "a chunked body: {text}");
            parser.feed(&head[end + 4..]);
            break;
        }
    }
    shared.connected.fetch_add(1, Relaxed);
    loop {
        while let Some(event) = parser.next_event() {
            let Ok(event) = event else { continue };
            if event.event_type() != "message" {
                shared.gaps.fetch_add(1, Relaxed);
                continue;
            }
            let sent = event
                .data()
                .split(' ')
                .next()
                .and_then(|t| t.parse::<u64>().ok());
            if let Some(sent) = sent {
                shared.delivered.fetch_add(1, Relaxed);
                shared
                    .latency
                    .record(unix_nanos().saturating_sub(sent) / 1000);
            }
        }
        if index % 10 == 0 && shared.stall.load(Relaxed) {
            // A slow client: holds its socket and reads nothing more.
            std::future::pending::<()>().await;
        }
        let n = tcp.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            shared.ended.fetch_add(1, Relaxed);
            return;
        }
        parser.feed(&buf[..n]);
    }
}

/// The server child and its stdin and stdout.
struct ServerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl ServerProcess {
    fn start(options: &Options, mode: Mode) -> (ServerProcess, u16, u64) {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["server", if mode == Mode::Hub { "hub" } else { "axum" }])
            .arg(options.threads.to_string())
            .arg(options.bytes.to_string())
            .arg(options.chunk.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let mut words = line.split_whitespace().skip(1);
        let port = words.next().unwrap().parse().unwrap();
        let share = words.next().unwrap().parse().unwrap();
        (
            ServerProcess {
                child,
                stdin,
                stdout,
            },
            port,
            share,
        )
    }
    fn command(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
    }
    fn heap(&mut self) -> u64 {
        self.command("heap");
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().split(' ').nth(1).unwrap().parse().unwrap()
    }
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    }
    /// User and system CPU time so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the `)` that ends the command name: utime and stime are 12th and 13th.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<u64> = after
            .split(' ')
            .skip(11)
            .take(2)
            .map(|f| f.parse().unwrap())
            .collect();
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Duration::from_secs_f64((fields[0] + fields[1]) as f64 / ticks)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Options {
    ns: Vec<usize>,
    modes: Vec<Mode>,
    seconds: f64,
    slow_rate: u64,
    demand: u64,
    bytes: usize,
    threads: usize,
    client_threads: usize,
    chunk: usize,
}

/// One phase's measurements.
struct Phase {
    rate: u64,
    delivered_per_s: f64,
    cpu_per_event: Duration,
    p50: u64,
    p99: u64,
    max: u64,
    gaps: u64,
}

async fn phase(
    server: &mut ServerProcess,
    shared: &Shared,
    rate: u64,
    seconds: f64,
    rss_samples: Option<&mut Vec<u64>>,
) -> Phase {
    shared.latency.reset();
    shared.delivered.store(0, Relaxed);
    shared.gaps.store(0, Relaxed);
    let cpu = server.cpu();
    let start = Instant::now();
    server.command(&format!("rate {rate}"));
    let mut samples = rss_samples;
    while start.elapsed().as_secs_f64() < seconds {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(samples) = samples.as_deref_mut() {
            samples.push(server.rss());
        }
    }
    let delivered = shared.delivered.load(Relaxed);
    let cpu = server.cpu() - cpu;
    let elapsed = start.elapsed().as_secs_f64();
    server.command("rate 0");
    let result = Phase {
        rate,
        delivered_per_s: delivered as f64 / elapsed,
        cpu_per_event: cpu / delivered.max(1) as u32,
        p50: shared.latency.quantile(0.5),
        p99: shared.latency.quantile(0.99),
        max: shared.latency.max.load(Relaxed),
        gaps: shared.gaps.load(Relaxed),
    };
    // Let the backlog drain before the next phase.
    tokio::time::sleep(Duration::from_millis(500)).await;
    result
}

fn ms(us: u64) -> String {
    format!("{:.1}", us as f64 / 1000.0)
}

async fn run(mode: Mode, n: usize, run: usize, options: &Options) -> Vec<String> {
    let (mut server, port, share) = ServerProcess::start(options, mode);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss0 = server.rss();
    let heap0 = server.heap();
    let shared = Arc::new(Shared {
        connected: AtomicUsize::new(0),
        ended: AtomicUsize::new(0),
        delivered: AtomicU64::new(0),
        gaps: AtomicU64::new(0),
        latency: Histogram::new(),
        stall: AtomicBool::new(false),
    });
    let mut tasks = tokio::task::JoinSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for index in 0..n {
        tasks.spawn(connection(index, run, addr, shared.clone()));
        // A few hundred connects in flight at a time, so the listen backlog keeps up.
        while index + 1 - shared.connected.load(Relaxed) - shared.ended.load(Relaxed) > 256 {
            assert!(Instant::now() < deadline, "connecting took over 60 s");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    while shared.connected.load(Relaxed) + shared.ended.load(Relaxed) < n {
        assert!(Instant::now() < deadline, "connecting took over 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let held = shared.connected.load(Relaxed) - shared.ended.load(Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss1 = server.rss();
    let heap1 = server.heap();
    let fast_rate = (options.demand / n as u64).max(1);
    let slow = phase(
        &mut server,
        &shared,
        options.slow_rate,
        options.seconds,
        None,
    )
    .await;
    // Again once every connection has carried events: buffers a first write allocates
    // (hyper's write queue, for one) are counted for both servers alike.
    let rss2 = server.rss();
    let heap2 = server.heap();
    let fast = phase(&mut server, &shared, fast_rate, options.seconds, None).await;
    shared.stall.store(true, Relaxed);
    let mut samples = Vec::new();
    let stalled = phase(
        &mut server,
        &shared,
        fast_rate,
        options.seconds,
        Some(&mut samples),
    )
    .await;
    let ended = shared.ended.load(Relaxed);
    tasks.abort_all();
    drop(server);
    let per_conn = |delta: u64| format!("{:.1}", delta as f64 / n as f64 / 1024.0);
    let first = samples.first().copied().unwrap_or(0);
    let last = samples.last().copied().unwrap_or(0);
    let peak = samples.iter().copied().max().unwrap_or(0);
    // The fourth sample is taken 1 s in: by then stalled sockets have filled.
    let at_1s = samples.get(3).copied().unwrap_or(0);
    let mib = |b: u64| format!("{:.1}", b as f64 / (1 << 20) as f64);
    let cpu_us = |p: &Phase| format!("{:.2}", p.cpu_per_event.as_nanos() as f64 / 1000.0);
    vec![
        format!(
            "| {} | {n} ({held} held, {ended} ended) | {} | {} | {} | {} | {} |",
            mode.name(),
            per_conn(rss1.saturating_sub(rss0)),
            per_conn(heap1.saturating_sub(heap0)),
            per_conn(rss2.saturating_sub(rss0)),
            per_conn(heap2.saturating_sub(heap0)),
            if mode == Mode::Hub {
                share.to_string()
            } else {
                "n/a".into()
            },
        ),
        format!(
            "| {} | {n} | {}/s | {} / {} / {} | {:.0} | {} | {} |",
            mode.name(),
            slow.rate,
            ms(slow.p50),
            ms(slow.p99),
            ms(slow.max),
            slow.delivered_per_s,
            cpu_us(&slow),
            slow.gaps,
        ),
        format!(
            "| {} | {n} | {}/s | {} / {} / {} | {:.0} | {} | {} |",
            mode.name(),
            fast.rate,
            ms(fast.p50),
            ms(fast.p99),
            ms(fast.max),
            fast.delivered_per_s,
            cpu_us(&fast),
            fast.gaps,
        ),
        format!(
            "| {} | {n} | {}/s | {} → {} → {} (peak {}) | {:.0} |",
            mode.name(),
            stalled.rate,
            mib(first),
            mib(at_1s),
            mib(last),
            mib(peak),
            stalled.delivered_per_s,
        ),
    ]
}

fn parse_options() -> Options {
    let mut options = Options {
        ns: vec![1_000, 10_000],
        modes: vec![Mode::Hub, Mode::Axum],
        seconds: 5.0,
        slow_rate: 10,
        demand: 10_000_000,
        bytes: 64,
        threads: 1,
        client_threads: 2,
        chunk: 4 * 1024,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [flag, value] = pair else {
            panic!("flags take a value: {pair:?}")
        };
        match flag.as_str() {
            "--n" => options.ns = value.split(',').map(|n| n.parse().unwrap()).collect(),
            "--modes" => options.modes = value.split(',').map(Mode::parse).collect(),
            "--seconds" => options.seconds = value.parse().unwrap(),
            "--slow-rate" => options.slow_rate = value.parse().unwrap(),
            "--demand" => options.demand = value.parse().unwrap(),
            "--bytes" => options.bytes = value.parse().unwrap(),
            "--threads" => options.threads = value.parse().unwrap(),
            "--client-threads" => options.client_threads = value.parse().unwrap(),
            "--chunk" => options.chunk = value.parse().unwrap(),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        options.ns.iter().all(|&n| n <= 18_000),
        "N is at most 18,000 (descriptors)"
    );
    options
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("server") {
        server(
            Mode::parse(&args[2]),
            args[3].parse().unwrap(),
            args[4].parse().unwrap(),
            args[5].parse().unwrap(),
        );
        return;
    }
    let limit = raise_fd_limit();
    let options = parse_options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.client_threads)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut rows = Vec::new();
    for &n in &options.ns {
        for &mode in &options.modes {
            eprintln!("{} with {n} connections...", mode.name());
            rows.push(runtime.block_on(run(mode, n, rows.len(), &options)));
        }
    }
    println!(
        "descriptor limit {limit}; {} s per phase; {} B of data per event; {} server thread(s), \
         {} client thread(s); hub chunks up to {} B; whole run {:.0} s\n",
        options.seconds,
        options.bytes,
        options.threads,
        options.client_threads,
        options.chunk,
        started.elapsed().as_secs_f64()
    );
    let tables = [
        "| server | N | RSS KiB/conn, idle | heap KiB/conn, idle | RSS KiB/conn, after slow rate | heap KiB/conn, after slow rate | hub bytes/subscriber |\n|---|---|---|---|---|---|---|",
        "| server | N | slow rate | latency p50 / p99 / max ms | delivered/s | server CPU µs/event | gap events |\n|---|---|---|---|---|---|---|",
        "| server | N | fast rate | latency p50 / p99 / max ms | delivered/s | server CPU µs/event | gap events |\n|---|---|---|---|---|---|---|",
        "| server | N | 10% stalled, rate | server RSS MiB start → 1 s → end (peak) | delivered/s |\n|---|---|---|---|---|",
    ];
    for (table, header) in tables.iter().enumerate() {
        println!("{header}");
        for row in &rows {
            println!("{}", row[table]);
        }
        println!();
    }
    runtime.shutdown_background();
}
