//! `EventSource`: the reconnect machine driven over reqwest, with tokio's timers.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::boxed::Box;
use std::hash::{BuildHasher, Hasher};

use bytes::Bytes;
use futures_core::Stream;
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE, DATE, RETRY_AFTER};
use tokio::time::{Instant, Sleep};

use super::error::{Cause, ClientError};
use super::head::ResponseHead;
use super::machine::{Reconnector, Verdict};
use super::policy::ReconnectPolicy;
use crate::{Config, Event, ParseError};

/// What an [`EventSource`] yields besides errors: events, and progress to show or log.
///
/// # Examples
///
/// ```
/// use sse_wire::{Event, SourceEvent};
///
/// let item = SourceEvent::Message(Event::from_data("hi"));
/// if let SourceEvent::Message(event) = &item {
///     assert_eq!(event.data(), "hi");
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SourceEvent {
    /// A dispatched event.
    Message(Event),
    /// A response opened the stream (the browser's `open` event).
    Open,
    /// The connection did not go on: the next attempt comes after `delay`.
    Retrying {
        /// Which attempt in a row the next one is: 1 after a connection that delivered
        /// events, growing while attempts keep failing.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
        /// Why the connection did not go on.
        cause: Cause,
    },
    /// An event past the parser's size limit was skipped; the stream goes on.
    Skipped(ParseError),
}

type Sending = Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send>>;
type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;
type Factory = Box<dyn FnMut() -> reqwest::RequestBuilder + Send>;

/// Where the connection is.
enum Connection {
    /// The next poll makes a request.
    Idle,
    Sending(Sending),
    Reading {
        body: Body,
        /// Fires when no byte came for the policy's idle timeout.
        idle: Option<Pin<Box<Sleep>>>,
    },
    Waiting(Pin<Box<Sleep>>),
    Closed,
}

/// A client that reads an event stream over reqwest and reconnects as a browser's
/// `EventSource` does, made safer: see [`ReconnectPolicy`] for the rules and the presets.
///
/// It is a [`Stream`] of `Result<SourceEvent, ClientError>`: every event as
/// [`SourceEvent::Message`], progress items between them; an `Err` is final and is
/// followed by `None`; a clean end (HTTP 204, [`close`](EventSource::close), a terminal
/// event under the `llm` preset) is `None` without an `Err`. Dropping it closes the
/// connection and cancels its timers.
///
/// The factory runs again for every attempt, so POST bodies and freshly rotated tokens work.
/// The `Accept`, `Cache-Control` and `Last-Event-ID` headers are set on what it builds.
/// Redirects are followed as the client's redirect policy says (reqwest: up to 10), and,
/// as in browsers, reconnections then go to the URL the redirects led to. A redirect loop
/// or a request that cannot be built fails the stream with [`ClientError::Transport`]. It
/// needs a tokio runtime with timers enabled.
///
/// Differences from a browser's `EventSource`, on purpose: a backoff is added on top of the
/// reconnection time while attempts keep failing (never less than the server's `retry:`),
/// a wait is never shorter than [`ReconnectPolicy::min_retry`], and a connection silent
/// for [`ReconnectPolicy::idle_timeout`] counts as broken.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_wire::{EventSource, ReconnectPolicy, SourceEvent};
/// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let url = format!("http://{}/chat", listener.local_addr()?);
/// # tokio::spawn(async move {
/// #     let (mut tcp, _) = listener.accept().await?;
/// #     let _ = tcp.read(&mut [0; 4096]).await?;
/// #     let body = "data: Hel\n\ndata: lo\n\ndata: [DONE]\n\n";
/// #     let head = format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n", body.len());
/// #     tcp.write_all((head + body).as_bytes()).await
/// # });
/// let http = reqwest::Client::new();
/// let mut source = EventSource::new(move || http.post(&url).body(r#"{"prompt":"Hi"}"#))
///     .policy(ReconnectPolicy::llm());
/// let mut answer = String::new();
/// while let Some(item) = source.next().await {
///     if let SourceEvent::Message(event) = item? {
///         if event.data() != "[DONE]" {
///             answer.push_str(event.data());
///         }
///     }
/// }
/// assert_eq!(answer, "Hello");
/// # Ok(())
/// # }
/// ```
pub struct EventSource {
    factory: Factory,
    machine: Reconnector,
    /// The parser's limits, kept so that `policy` and `config` can come in either order.
    config: Config,
    started: Instant,
    connection: Connection,
    /// The item that ends the stream, yielded once the events before it are out.
    last: Option<Result<SourceEvent, ClientError>>,
    /// The URL of the request in flight, and where the last response came from when a
    /// redirect led elsewhere: reconnections go there, as in browsers (the standard fetches
    /// the same request again, whose URL the redirects changed).
    requested: Option<reqwest::Url>,
    redirected: Option<reqwest::Url>,
}

impl EventSource {
    /// An event source whose requests `factory` builds, one per attempt, under the
    /// [`event_source`](ReconnectPolicy::event_source) policy. Nothing happens until the
    /// stream is polled.
    ///
    /// # Examples
    ///
    /// ```
    /// let http = reqwest::Client::new();
    /// let source = sse_wire::EventSource::new(move || http.get("http://127.0.0.1:1/events"));
    /// assert_eq!(source.last_event_id(), "");
    /// ```
    pub fn new<F>(factory: F) -> Self
    where
        F: FnMut() -> reqwest::RequestBuilder + Send + 'static,
    {
        EventSource {
            factory: Box::new(factory),
            machine: Reconnector::new(ReconnectPolicy::event_source(), seed()),
            config: Config::new(),
            started: Instant::now(),
            connection: Connection::Idle,
            last: None,
            requested: None,
            redirected: None,
        }
    }

    /// Follows `policy` instead of [`event_source`](ReconnectPolicy::event_source). Call it
    /// before the first poll: it starts the stream's state afresh.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{EventSource, ReconnectPolicy};
    ///
    /// let http = reqwest::Client::new();
    /// let source = EventSource::new(move || http.post("http://127.0.0.1:1/v1/chat").body("{}"))
    ///     .policy(ReconnectPolicy::llm());
    /// assert_eq!(source.reconnect_policy().max_attempts(), Some(3));
    /// ```
    #[must_use]
    pub fn policy(mut self, policy: ReconnectPolicy) -> Self {
        self.machine = Reconnector::with_config(policy, self.config, seed());
        self
    }

    /// Parses with the given limits (see [`Config`]); call it before the first poll. It
    /// keeps the policy set before it, and [`policy`](EventSource::policy) keeps it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Config, EventSource, ReconnectPolicy};
    ///
    /// let http = reqwest::Client::new();
    /// let source = EventSource::new(move || http.get("http://127.0.0.1:1/"))
    ///     .config(Config::new().max_event_size(1 << 20));
    /// assert!(source.reconnect_policy().reconnect_on_end());
    /// ```
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        let policy = *self.machine.policy();
        self.policy(policy)
    }

    /// The policy it follows.
    ///
    /// # Examples
    ///
    /// ```
    /// let http = reqwest::Client::new();
    /// let source = sse_wire::EventSource::new(move || http.get("http://127.0.0.1:1/"));
    /// assert_eq!(source.reconnect_policy().max_attempts(), None);
    /// ```
    pub fn reconnect_policy(&self) -> &ReconnectPolicy {
        self.machine.policy()
    }

    /// The stream's last event ID: what the next request sends as `Last-Event-ID`.
    ///
    /// # Examples
    ///
    /// ```
    /// let http = reqwest::Client::new();
    /// let source = sse_wire::EventSource::new(move || http.get("http://127.0.0.1:1/"));
    /// assert_eq!(source.last_event_id(), "");
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.machine.last_event_id()
    }

    /// Ends the stream for good: the connection and any timer are dropped at once, and the
    /// stream yields `None` from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let http = reqwest::Client::new();
    /// let mut source = sse_wire::EventSource::new(move || http.get("http://127.0.0.1:1/"));
    /// source.close();
    /// assert!(source.next().await.is_none());
    /// # }
    /// ```
    pub fn close(&mut self) {
        self.machine.close();
        while self.machine.next_event().is_some() {}
        self.connection = Connection::Closed;
        self.last = None;
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Acts on a verdict that is not `Open`: the item to yield, if any.
    fn settle(&mut self, verdict: Verdict) {
        self.connection = match verdict {
            Verdict::Retry {
                attempt,
                delay,
                cause,
            } => {
                self.last = Some(Ok(SourceEvent::Retrying {
                    attempt,
                    delay,
                    cause,
                }));
                Connection::Waiting(Box::pin(tokio::time::sleep(delay)))
            }
            Verdict::Fail(error) => {
                self.last = Some(Err(error));
                Connection::Closed
            }
            Verdict::Open | Verdict::End => Connection::Closed,
        };
    }

    /// Fails the stream with `error`, whatever the policy says.
    fn fail(&mut self, error: ClientError) {
        self.machine.close();
        self.settle(Verdict::Fail(error));
    }

    fn start_request(&mut self) {
        let Some(headers) = self.machine.connect() else {
            self.connection = Connection::Closed;
            return;
        };
        let (client, request) = (self.factory)().build_split();
        let mut request = match request {
            Ok(request) => request,
            Err(error) => return self.fail(ClientError::Transport(Box::new(error))),
        };
        if let Some(url) = &self.redirected {
            request.url_mut().clone_from(url);
        }
        self.requested = Some(request.url().clone());
        for (name, value) in headers {
            // An id with control characters cannot go into a header; leave it out rather
            // than fail the stream (browsers cannot send it either).
            if let Ok(value) = HeaderValue::from_bytes(value) {
                request
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        self.connection = Connection::Sending(Box::pin(client.execute(request)));
    }

    fn response(&mut self, response: reqwest::Response) -> Option<SourceEvent> {
        if self.requested.as_ref() != Some(response.url()) {
            self.redirected = Some(response.url().clone());
        }
        let headers = response.headers();
        let mut head = ResponseHead::new(response.status().as_u16());
        if let Some(value) = headers.get(CONTENT_TYPE) {
            head = head.content_type(value.as_bytes());
        }
        if let Some(value) = headers.get(RETRY_AFTER) {
            head = head.retry_after(value.as_bytes());
        }
        if let Some(value) = headers.get(DATE) {
            head = head.date(value.as_bytes());
        }
        let now = self.now();
        match self.machine.response(now, &head) {
            Verdict::Open => {
                let idle = self.idle_timer();
                self.connection = Connection::Reading {
                    body: Box::pin(response.bytes_stream()),
                    idle,
                };
                Some(SourceEvent::Open)
            }
            verdict => {
                self.settle(verdict);
                None
            }
        }
    }

    fn idle_timer(&self) -> Option<Pin<Box<Sleep>>> {
        let deadline = idle_deadline(self.machine.policy())?;
        Some(Box::pin(tokio::time::sleep_until(deadline)))
    }

    fn disconnected(&mut self, cause: Cause) {
        let now = self.now();
        let verdict = self.machine.disconnected(now, cause);
        self.settle(verdict);
    }
}

/// When a connection counts as broken if no byte comes before; `None` for no idle timeout,
/// or one too long for the clock (which could never fire anyway).
fn idle_deadline(policy: &ReconnectPolicy) -> Option<Instant> {
    Instant::now().checked_add(policy.idle_timeout()?)
}

/// A seed for the backoff's jitter, different in every process and for every source:
/// std's hasher keys are random per process and change with every `RandomState`.
fn seed() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

impl Stream for EventSource {
    type Item = Result<SourceEvent, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.machine.next_event() {
                return Poll::Ready(Some(Ok(match event {
                    Ok(event) => SourceEvent::Message(event),
                    Err(error) => SourceEvent::Skipped(error),
                })));
            }
            if let Some(last) = this.last.take() {
                return Poll::Ready(Some(last));
            }
            if this.machine.is_finished() {
                // A terminal event, or a verdict that ended the stream: drop the connection.
                this.connection = Connection::Closed;
            }
            match &mut this.connection {
                Connection::Closed => return Poll::Ready(None),
                Connection::Idle => this.start_request(),
                Connection::Sending(sending) => match sending.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(response)) => {
                        if let Some(open) = this.response(response) {
                            return Poll::Ready(Some(Ok(open)));
                        }
                    }
                    // Retrying cannot help: the request is wrong, or redirects loop.
                    Poll::Ready(Err(error)) if error.is_builder() || error.is_redirect() => {
                        this.fail(ClientError::Transport(Box::new(error)));
                    }
                    Poll::Ready(Err(error)) => {
                        this.disconnected(Cause::Transport(Box::new(error)));
                    }
                },
                Connection::Reading { body, idle } => match body.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        if let (Some(idle), Some(deadline)) =
                            (idle, idle_deadline(this.machine.policy()))
                        {
                            idle.as_mut().reset(deadline);
                        }
                        this.machine.feed(chunk);
                    }
                    Poll::Ready(Some(Err(error))) => {
                        this.disconnected(Cause::Transport(Box::new(error)));
                    }
                    Poll::Ready(None) => this.disconnected(Cause::Ended),
                    Poll::Pending => {
                        let timed_out = idle
                            .as_mut()
                            .is_some_and(|idle| idle.as_mut().poll(cx).is_ready());
                        if !timed_out {
                            return Poll::Pending;
                        }
                        this.disconnected(Cause::IdleTimeout);
                    }
                },
                Connection::Waiting(sleep) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => this.connection = Connection::Idle,
                },
            }
        }
    }
}

/// The factory is a closure: say where the stream is instead.
impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let connection = match self.connection {
            Connection::Idle => "idle",
            Connection::Sending(_) => "sending",
            Connection::Reading { .. } => "reading",
            Connection::Waiting(_) => "waiting",
            Connection::Closed => "closed",
        };
        f.debug_struct("EventSource")
            .field("connection", &connection)
            .field("machine", &self.machine)
            .finish_non_exhaustive()
    }
}
