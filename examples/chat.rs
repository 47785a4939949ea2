//! A chat room on the hub: post a message and everyone sees it; a page that loses its
//! connection resumes where it left off, without losing or repeating a message.
//!
//! ```sh
//! cargo run --example chat --all-features                           # a scripted chat, exits by itself
//! cargo run --example chat --all-features -- --serve                # open http://127.0.0.1:3000/
//! cargo run --example chat --all-features -- --serve 0.0.0.0:8080
//! ```
//!
//! With `--serve` it serves the chat page until Ctrl-C: open it in two tabs and talk. Stop
//! the server and start it again and the pages reconnect; their old ids are from before the
//! restart, so each gets the hub's gap event and says that it may have missed messages.
//!
//! Without arguments it runs a scripted chat on loopback, the way the tests would: Ada and
//! Bob connect, Bob drops off while Ada writes, and Bob's reconnection with `Last-Event-ID`
//! gets exactly what he missed.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream::{BoxStream, StreamExt};
use serde_json::{json, Value};
use sse_wire::{last_event_id, DecodeStream, EncodeStream, Event, Hub, MaxAge, SseBody};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Connections end after 80-100% of this, so that clients spread out over the servers
/// behind a load balancer; they resume without loss.
const MAX_AGE: Duration = Duration::from_secs(600);

/// The hub-backed SSE handler: resume by `Last-Event-ID`, keep-alive, maximum age.
async fn events(State(hub): State<Hub>, headers: HeaderMap) -> impl IntoResponse {
    let messages = MaxAge::tokio(hub.subscribe(last_event_id(&headers)), MAX_AGE);
    SseBody::new(EncodeStream::new(messages).tokio_keep_alive())
}

/// `POST /messages` with `{"name": "..", "text": ".."}`: everyone sees it.
async fn post_message(State(hub): State<Hub>, body: String) -> StatusCode {
    let Ok(message) = serde_json::from_str::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let (Some(name), Some(text)) = (message["name"].as_str(), message["text"].as_str()) else {
        return StatusCode::BAD_REQUEST;
    };
    let (name, text) = (name.trim(), text.trim());
    if name.is_empty() || text.is_empty() || name.len() > 40 || text.len() > 2000 {
        return StatusCode::BAD_REQUEST;
    }
    // Data is JSON on one line; the hub adds the id and encodes it once for everyone.
    let data = json!({ "name": name, "text": text }).to_string();
    hub.publish(Event::from_data(data));
    StatusCode::NO_CONTENT
}

fn app(hub: Hub) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/events", get(events))
        .route("/messages", post(post_message))
        .with_state(hub)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => {
            // Never hang a newcomer's terminal (or CI).
            tokio::time::timeout(Duration::from_secs(10), scripted())
                .await
                .map_err(|_| "the scripted chat did not finish within 10 s")?
        }
        Some("--serve") => {
            let addr = args.get(1).map_or("127.0.0.1:3000", String::as_str);
            let listener = tokio::net::TcpListener::bind(addr).await?;
            println!(
                "chat: open http://{}/ in two tabs (Ctrl-C to stop)",
                listener.local_addr()?
            );
            axum::serve(listener, app(Hub::new())).await?;
            Ok(())
        }
        Some(other) => Err(format!("unknown argument {other:?}; try --serve [ADDR]").into()),
    }
}

/// The chat on loopback, with two scripted users.
async fn scripted() -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app(Hub::new())).await });
    println!("chat: serving {base}/");

    let mut ada = User::join("ada", &base, None).await?;
    let mut bob = User::join("bob", &base, None).await?;
    ada.say("hello Bob").await?;
    ada.read("hello Bob").await?;
    bob.read("hello Bob").await?;

    let bob_was_at = bob.leave();
    println!("bob: (connection lost; last event id {bob_was_at})");
    ada.say("are you there?").await?;
    ada.say("I'll keep writing meanwhile").await?;
    ada.read("are you there?").await?;
    ada.read("I'll keep writing meanwhile").await?;

    let mut bob = User::join("bob", &base, Some(&bob_was_at)).await?;
    bob.read("are you there?").await?;
    bob.read("I'll keep writing meanwhile").await?;
    bob.say("back, and I missed nothing").await?;
    bob.read("back, and I missed nothing").await?;
    ada.read("back, and I missed nothing").await?;

    // An id from another server run (or long evicted) cannot be resumed: the hub says so.
    let mut stranger = User::join("eve", &base, Some("1-1")).await?;
    stranger.read("sse-wire-gap").await?;
    println!("chat: done");
    Ok(())
}

/// One scripted chat user: an open `/events` stream and a way to post.
struct User {
    name: &'static str,
    base: String,
    client: reqwest::Client,
    events: BoxStream<'static, Result<Event, sse_wire::DecodeError<reqwest::Error>>>,
    last_event_id: String,
}

impl User {
    async fn join(
        name: &'static str,
        base: &str,
        last_event_id: Option<&str>,
    ) -> Result<User, Error> {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let mut request = client.get(format!("{base}/events"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await?.error_for_status()?;
        println!(
            "{name}: connected (Last-Event-ID: {})",
            last_event_id.unwrap_or("none")
        );
        Ok(User {
            name,
            base: base.to_owned(),
            client,
            events: DecodeStream::new(response.bytes_stream()).boxed(),
            last_event_id: last_event_id.unwrap_or_default().to_owned(),
        })
    }

    async fn say(&self, text: &str) -> Result<(), Error> {
        let message = json!({ "name": self.name, "text": text }).to_string();
        let url = format!("{}/messages", self.base);
        self.client
            .post(url)
            .body(message)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Prints the next event this user receives, and checks that it is the message `want`
    /// (or an event of that type), so that a wrong turn fails the run.
    async fn read(&mut self, want: &str) -> Result<(), Error> {
        let event = self.events.next().await.ok_or("the stream ended")??;
        self.last_event_id = event.last_event_id().to_owned();
        let got = if event.event_type() == "message" {
            let message: Value = serde_json::from_str(event.data())?;
            let text = message["text"].as_str().unwrap_or_default().to_owned();
            println!(
                "{}: sees {} say {text:?}   (id {})",
                self.name, message["name"], self.last_event_id
            );
            text
        } else {
            println!(
                "{}: sees a {:?} event: {:?}",
                self.name,
                event.event_type(),
                event.data()
            );
            event.event_type().to_owned()
        };
        if got != want {
            return Err(format!("{} expected {want:?}, got {got:?}", self.name).into());
        }
        Ok(())
    }

    /// Drops the connection; returns the id to resume from.
    fn leave(self) -> String {
        self.last_event_id
    }
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>sse-wire chat</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 2em; max-width: 40em; }
  #log { border: 1px solid #ccc; height: 20em; overflow-y: auto; padding: .5em; }
  .note { color: #888; font-style: italic; }
  form { display: flex; gap: .5em; margin-top: .5em; }
  #text { flex: 1; }
</style>
<h1>sse-wire chat</h1>
<p>connection: <b id="state">connecting</b></p>
<div id="log"></div>
<form id="form">
  <input id="name" placeholder="name" size="10" required maxlength="40">
  <input id="text" placeholder="message" required maxlength="2000" autocomplete="off">
  <button>send</button>
</form>
<script>
  const $ = (id) => document.getElementById(id);
  $("name").value = "guest" + Math.floor(Math.random() * 1000);
  function line(text, note) {
    const div = document.createElement("div");
    div.textContent = text;
    if (note) div.className = "note";
    $("log").append(div);
    $("log").scrollTop = $("log").scrollHeight;
  }
  // The browser reconnects by itself with Last-Event-ID; the hub resumes after it.
  const source = new EventSource("/events");
  source.onopen = () => { $("state").textContent = "open"; };
  source.onerror = () => { $("state").textContent = "reconnecting"; };
  source.onmessage = (event) => {
    const message = JSON.parse(event.data);
    line(message.name + ": " + message.text);
  };
  // The hub could not resume from our last id (a server restart, or too long away).
  source.addEventListener("sse-wire-gap", () => line("(reconnected: some messages may be missing)", true));
  $("form").onsubmit = async (event) => {
    event.preventDefault();
    const body = JSON.stringify({ name: $("name").value, text: $("text").value });
    $("text").value = "";
    const reply = await fetch("/messages", { method: "POST", body });
    if (!reply.ok) line("(not sent: " + reply.status + ")", true);
  };
</script>
"#;
