//! Through a real nginx with its default `proxy_buffering on`: the hub's events reach the
//! client one at a time, because the response carries `X-Accel-Buffering: no`; without that
//! header nginx holds them back.
//!
//! Each test writes an nginx config in a temp dir, starts nginx in the foreground on a free
//! loopback port (pid, logs and temp files in that dir) and stops it when it ends.
//! Needs nginx (Debian package `nginx`, installed by `.ci/run`): without it the tests fail
//! when `CI` is set and are skipped, with a message, otherwise.
#![cfg(all(feature = "hub", feature = "axum", feature = "tokio"))]

mod process;

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::StreamExt;
use process::{kill_and_clean, temp_dir};
use sse_wire::{last_event_id, DecodeStream, EncodeStream, Event, Hub, SseBody};
use tokio::sync::mpsc;

/// How long an event may take through nginx on loopback before the test calls it held.
const PROMPT: Duration = Duration::from_secs(5);
/// How long the test waits to see that nginx holds an event back.
const HELD: Duration = Duration::from_secs(1);

fn nginx_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// nginx, or why not: fails under CI, skips (returns `None`) otherwise.
fn nginx_or_skip() -> Option<PathBuf> {
    let found = nginx_binary();
    if found.is_none() {
        let why = "nginx is missing (Debian package `nginx`; `.ci/run` installs it)";
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("skipping the nginx test: {why}");
    }
    found
}

/// The hub server behind nginx; `strip_accel` removes `X-Accel-Buffering: no` from its
/// responses.
async fn serve(hub: Hub, strip_accel: bool) -> SocketAddr {
    async fn events(State((hub, strip)): State<(Hub, bool)>, headers: HeaderMap) -> Response {
        let sub = hub.subscribe(last_event_id(&headers));
        let mut response = SseBody::new(EncodeStream::new(sub)).into_response();
        if strip {
            response.headers_mut().remove("x-accel-buffering");
        }
        response
    }
    let app = axum::Router::new()
        .route("/events", get(events))
        .with_state((hub, strip_accel));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// How nginx talks to the hub server.
#[derive(Clone, Copy, Debug)]
enum Upstream {
    /// nginx's default: HTTP/1.0, the response body delimited by the connection's end.
    Default,
    /// What SSE guides add: HTTP/1.1 with keep-alive, a chunked response body.
    Http11,
}

/// An nginx in the foreground, from a config in its own temp dir; killed and its dir
/// removed however the test ends.
struct Nginx {
    child: tokio::process::Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Nginx {
    async fn start(binary: &Path, upstream: SocketAddr, protocol: Upstream) -> Nginx {
        let dir = temp_dir("sse-wire-nginx");
        // A free port: bound and let go; nginx binds it a moment later.
        let addr = StdListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap();
        let d = dir.display();
        // `master_process off`: one process, which stays the user that started it (root in
        // CI) and needs no `user` or lock file. Every path nginx writes is in `dir`.
        // `proxy_buffering` stays at its default, on; the upstream protocol is `protocol`.
        let protocol = match protocol {
            Upstream::Default => "",
            Upstream::Http11 => {
                "\n            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";"
            }
        };
        let config = format!(
            "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen {addr};
        location / {{
            proxy_pass http://{upstream};{protocol}
        }}
    }}
}}
"
        );
        std::fs::write(dir.join("nginx.conf"), config).unwrap();
        let child = tokio::process::Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut nginx = Nginx { child, dir, addr };
        nginx.wait_until_listening().await;
        nginx
    }

    async fn wait_until_listening(&mut self) {
        for _ in 0..500 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited ({status}); its log:\n{}", self.log());
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "nginx did not listen on {} within 10 s; its log:\n{}",
            self.addr,
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        kill_and_clean(&mut self.child, &self.dir);
    }
}

/// A client reading `/events` through nginx, in a task of its own: what it receives, in
/// order. Returns once the hub counts the subscription; the response itself may still be
/// held in nginx.
async fn subscribe(nginx: &Nginx, hub: &Hub) -> mpsc::UnboundedReceiver<String> {
    let url = format!("http://{}/events", nginx.addr);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut events = DecodeStream::new(response.bytes_stream());
        while let Some(event) = events.next().await {
            if tx.send(event.unwrap().data().to_owned()).is_err() {
                break;
            }
        }
    });
    for _ in 0..500 {
        if hub.subscriber_count() == 1 {
            return rx;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the hub never saw the subscription; nginx log:\n{}",
        nginx.log()
    );
}

/// The next event's data, or `None` if none arrives `within`.
async fn next_data(
    events: &mut mpsc::UnboundedReceiver<String>,
    within: Duration,
) -> Option<String> {
    match tokio::time::timeout(within, events.recv()).await {
        Ok(Some(data)) => Some(data),
        Ok(None) => panic!("the client's stream failed or ended"),
        Err(_elapsed) => None,
    }
}

/// Publishes 20 events in lockstep (the next only once the last has arrived, so none can
/// ride along with a later one) and checks that each arrives on its own.
async fn lockstep(protocol: Upstream) {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let hub = Hub::new();
    let nginx = Nginx::start(&binary, serve(hub.clone(), false).await, protocol).await;
    let mut events = subscribe(&nginx, &hub).await;
    for n in 0..20 {
        hub.publish(Event::from_data(format!("event {n}")));
        let data = next_data(&mut events, PROMPT).await;
        assert_eq!(
            data.as_deref(),
            Some(format!("event {n}").as_str()),
            "event {n} did not come through nginx ({protocol:?} upstream) on its own; nginx \
             log:\n{}",
            nginx.log()
        );
    }
}

#[tokio::test]
async fn behind_nginx_with_default_buffering_events_arrive_one_at_a_time() {
    lockstep(Upstream::Default).await;
}

#[tokio::test]
async fn behind_nginx_proxying_http_1_1_events_arrive_one_at_a_time() {
    lockstep(Upstream::Http11).await;
}

#[tokio::test]
async fn without_x_accel_buffering_nginx_holds_events_back() {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let hub = Hub::new();
    // nginx's default upstream protocol: with HTTP/1.1 and chunked bodies, nginx 1.22 was
    // seen to pass small chunks on promptly even while buffering.
    let nginx = Nginx::start(&binary, serve(hub.clone(), true).await, Upstream::Default).await;
    let mut events = subscribe(&nginx, &hub).await;
    hub.publish(Event::from_data("event 0"));
    assert_eq!(
        next_data(&mut events, HELD).await,
        None,
        "nginx passed the event on at once: the lockstep test proves nothing"
    );
    // More than nginx's buffers hold (8 x 4 KiB) pushes the held event out: it was
    // delayed, not lost. (The burst's own tail is held in turn.)
    hub.publish(Event::from_data("x".repeat(64 * 1024)));
    assert_eq!(
        next_data(&mut events, PROMPT).await.as_deref(),
        Some("event 0")
    );
}
