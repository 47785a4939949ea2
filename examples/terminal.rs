//! Streams a command's output live into a browser page: each line the command prints is one
//! event, stdout and stderr told apart, then its exit status.
//!
//! ```sh
//! cargo run --example terminal --all-features -- ping -c 5 127.0.0.1
//! cargo run --example terminal --all-features -- sh -c 'for i in 1 2 3; do echo "step $i"; sleep 1; done; echo oops >&2'
//! cargo run --example terminal --all-features -- --addr 127.0.0.1:8080 cargo build
//! ```
//!
//! Then open http://127.0.0.1:3000/. The command starts with the server, once; every page
//! gets its whole output from the first line, and a page that loses its connection resumes
//! from the line after its `Last-Event-ID` (the event ids are line numbers). Output that is
//! not UTF-8 is shown with U+FFFD; a carriage return inside a line (a progress bar) starts a
//! new line on the page, since event data cannot hold a bare CR.

use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use sse_wire::{EncodeStream, Event, SseBody, TokioTimer};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

/// Everything the command has printed so far, as events, and a signal for each new one.
struct Output {
    events: Mutex<Vec<Event>>,
    /// How many events there are; `true` in the second field once the command has exited.
    progress: watch::Sender<(usize, bool)>,
}

impl Output {
    /// Appends an event whose id is its line number (from 1).
    fn push(&self, kind: &str, text: &str) {
        let mut events = self.events.lock().unwrap();
        let id = events.len() + 1;
        let event = Event::builder()
            .event(kind)
            .id(id.to_string())
            .data(text)
            .build()
            .expect("fixed event names and numeric ids are valid");
        events.push(event);
        self.progress.send_modify(|(count, _)| *count = id);
    }

    fn finish(&self, status: &str) {
        self.push("exit", status);
        self.progress.send_modify(|(_, done)| *done = true);
    }

    /// The events after the first `seen`, as they come; ends after the exit event.
    fn follow(self: Arc<Self>, seen: usize) -> impl Stream<Item = Event> + Send {
        let progress = self.progress.subscribe();
        stream::unfold(
            (self, progress, seen),
            |(output, mut progress, next)| async move {
                // Waits for line `next` to exist, or for the end of the output.
                let (count, done) = *progress
                    .wait_for(|&(count, done)| count > next || done)
                    .await
                    .ok()?;
                if next >= count && done {
                    return None;
                }
                let event = output.events.lock().unwrap()[next].clone();
                Some((event, (output, progress, next + 1)))
            },
        )
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut addr = "127.0.0.1:3000".to_owned();
    if args.first().map(String::as_str) == Some("--addr") && args.len() >= 2 {
        addr = args.remove(1);
        args.remove(0);
    }
    let Some((program, program_args)) = args.split_first() else {
        eprintln!("usage: terminal [--addr HOST:PORT] COMMAND [ARGS...]");
        return ExitCode::FAILURE;
    };

    let mut child = match tokio::process::Command::new(program)
        .args(program_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Stopping the server stops the command.
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            eprintln!("cannot run {program}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let output = Arc::new(Output {
        events: Mutex::new(Vec::new()),
        progress: watch::Sender::new((0, false)),
    });
    let stdout = tokio::spawn(read_lines(
        child.stdout.take().expect("piped"),
        "stdout",
        output.clone(),
    ));
    let stderr = tokio::spawn(read_lines(
        child.stderr.take().expect("piped"),
        "stderr",
        output.clone(),
    ));
    let command = args.join(" ");
    {
        let output = output.clone();
        tokio::spawn(async move {
            // All output first, so that the exit event is the last one.
            let _ = tokio::join!(stdout, stderr);
            let status = match child.wait().await {
                Ok(status) => status.to_string(),
                Err(error) => format!("cannot wait for the command: {error}"),
            };
            println!("`{command}` {status}");
            output.finish(&status);
        });
    }

    let app = axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/output", get(events))
        .with_state(output);
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "open http://{addr}/ to watch `{}` (Ctrl-C to stop)",
        args.join(" ")
    );
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One event per line of `pipe`; bytes that are not UTF-8 become U+FFFD.
async fn read_lines(pipe: impl AsyncRead + Unpin, kind: &'static str, output: Arc<Output>) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                output.push(kind, text.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

async fn events(State(output): State<Arc<Output>>, headers: HeaderMap) -> Response {
    let seen = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|id| id.parse::<usize>().ok())
        .unwrap_or(0);
    let events = output.follow(seen);
    let body = EncodeStream::new(events).keep_alive(Duration::from_secs(15), TokioTimer::new());
    SseBody::new(body).into_http_response().map(Body::new)
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>sse-wire terminal</title>
<style>
  body { background: #111; color: #ddd; margin: 0; }
  pre { font: 14px ui-monospace, monospace; margin: 1em; white-space: pre-wrap; }
  .stderr { color: #f77; }
  .exit { color: #7cf; font-weight: bold; }
</style>
<pre id="out"></pre>
<script>
  const out = document.getElementById("out");
  const source = new EventSource("/output");
  function show(kind, text) {
    const line = document.createElement("span");
    line.className = kind;
    line.textContent = text + "\n";
    out.appendChild(line);
    window.scrollTo(0, document.body.scrollHeight);
  }
  source.addEventListener("stdout", (event) => show("stdout", event.data));
  source.addEventListener("stderr", (event) => show("stderr", event.data));
  source.addEventListener("exit", (event) => {
    show("exit", "[" + event.data + "]");
    // Nothing more will come: do not let the browser reconnect.
    source.close();
  });
</script>
"#;
