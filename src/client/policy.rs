//! `ReconnectPolicy`: when and how soon a client reconnects.

use core::fmt;
use core::time::Duration;

use crate::Event;

/// When and how soon a client reconnects: what [`Reconnector`](crate::Reconnector) and
/// `EventSource` (feature `reqwest`) follow.
///
/// Two presets cover the usual streams:
///
/// - [`event_source`](ReconnectPolicy::event_source) (the default): a browser's
///   `EventSource`, made safer. The end of the body or a broken connection reconnects; any
///   status other than 200 or 204 fails the stream.
/// - [`llm`](ReconnectPolicy::llm): a request that must not be sent twice (an LLM
///   completion over POST). A terminal event (data `[DONE]`) or the end of the body ends the
///   stream cleanly; a break before that reconnects only when the server gave the stream an
///   id to resume from, otherwise it is [`ClientError::Truncated`](crate::ClientError::Truncated).
///
/// Every setting has a `with_` setter and a getter of the same name without the prefix.
///
/// # The wait before a reconnection
///
/// `max(reconnection time, floor) + backoff`, where the reconnection time is the server's
/// last `retry:` (or [`initial_retry`](ReconnectPolicy::initial_retry) until it sends one),
/// and the backoff is zero after a connection that delivered an event, and otherwise a
/// random duration in `[0, min(max_backoff, unit × 2^(failures − 1))]` ("full jitter"),
/// `unit` being the first term. So the wait is never shorter than the server asked for,
/// never zero, and a failing server sees clients spread out rather than in lockstep. A
/// `Retry-After` on a retried status is a lower bound on top of that.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sse_wire::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::event_source()
///     .with_max_attempts(Some(5))
///     .with_retry_transient(true);
/// assert_eq!(policy.initial_retry(), Duration::from_secs(3));
/// assert_eq!(policy.max_attempts(), Some(5));
/// assert!(policy.retry_transient());
/// assert_eq!(ReconnectPolicy::default().max_attempts(), None);
/// ```
// No `PartialEq`: the terminal predicate is a function pointer, and those do not compare
// meaningfully.
#[derive(Clone, Copy)]
pub struct ReconnectPolicy {
    initial_retry: Duration,
    min_retry: Duration,
    max_backoff: Duration,
    max_attempts: Option<u32>,
    max_reconnect_time: Option<Duration>,
    idle_timeout: Option<Duration>,
    stable_after: Duration,
    retry_transient: bool,
    reconnect_on_end: bool,
    resume_needs_id: bool,
    terminal: Option<fn(&Event) -> bool>,
}

/// `data: [DONE]`, the end of an OpenAI-style completion stream.
fn is_done(event: &Event) -> bool {
    event.data() == "[DONE]"
}

impl ReconnectPolicy {
    /// The reconnection time until the server sends `retry:`, as the standard and browsers
    /// have it: 3 s.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::INITIAL_RETRY, Duration::from_secs(3));
    /// ```
    pub const INITIAL_RETRY: Duration = Duration::from_secs(3);

    /// The default floor under every wait: 250 ms.
    ///
    /// `retry: 0` would otherwise mean a reconnection the moment a connection ends, which
    /// turns a server that closes every response into a busy loop; 250 ms caps that at four
    /// requests a second per client, and is below what a person notices.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::MIN_RETRY, Duration::from_millis(250));
    /// ```
    pub const MIN_RETRY: Duration = Duration::from_millis(250);

    /// The default cap on the backoff added on top of the reconnection time: 30 s.
    ///
    /// Long enough that thousands of clients of a server that is down spread their
    /// attempts over half a minute; short enough that a client is back within about
    /// half a minute of the server's return.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::MAX_BACKOFF, Duration::from_secs(30));
    /// ```
    pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

    /// The default idle timeout of [`event_source`](ReconnectPolicy::event_source): 90 s.
    ///
    /// Servers send keep-alive comments every 15 to 30 s (proxies such as nginx close
    /// connections silent for 60 s), so 90 s without a byte means three missed keep-alives:
    /// the connection is dead even if TCP has not noticed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::IDLE_TIMEOUT, Duration::from_secs(90));
    /// ```
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

    /// The default idle timeout of [`llm`](ReconnectPolicy::llm): 5 minutes.
    ///
    /// Model APIs send no keep-alives and can think for minutes before the first token;
    /// a shorter timeout would cut off slow answers, which cannot be re-requested for free.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::LLM_IDLE_TIMEOUT, Duration::from_secs(300));
    /// ```
    pub const LLM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

    /// The default time a connection must stay up to count as a success even if it
    /// delivered no event: 30 s (see [`stable_after`](ReconnectPolicy::stable_after)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::STABLE_AFTER, Duration::from_secs(30));
    /// ```
    pub const STABLE_AFTER: Duration = Duration::from_secs(30);

    /// The browser's `EventSource`, made safer; the default.
    ///
    /// Reconnects for ever after the end of the body, a broken connection or
    /// [`IDLE_TIMEOUT`](ReconnectPolicy::IDLE_TIMEOUT) without a byte, after the server's
    /// reconnection time ([`INITIAL_RETRY`](ReconnectPolicy::INITIAL_RETRY) until it sends
    /// `retry:`), never sooner than [`MIN_RETRY`](ReconnectPolicy::MIN_RETRY), plus a
    /// backoff capped at [`MAX_BACKOFF`](ReconnectPolicy::MAX_BACKOFF) while connections
    /// keep failing. 204 ends the stream; any other status but 200, or a content type that
    /// is not `text/event-stream`, fails it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::ReconnectPolicy;
    ///
    /// let policy = ReconnectPolicy::event_source();
    /// assert!(policy.reconnect_on_end());
    /// assert_eq!(policy.max_attempts(), None);
    /// assert!(!policy.retry_transient());
    /// ```
    pub const fn event_source() -> Self {
        ReconnectPolicy {
            initial_retry: Self::INITIAL_RETRY,
            min_retry: Self::MIN_RETRY,
            max_backoff: Self::MAX_BACKOFF,
            max_attempts: None,
            max_reconnect_time: None,
            idle_timeout: Some(Self::IDLE_TIMEOUT),
            stable_after: Self::STABLE_AFTER,
            retry_transient: false,
            reconnect_on_end: true,
            resume_needs_id: false,
            terminal: None,
        }
    }

    /// For requests that must not be sent twice: LLM completions over POST.
    ///
    /// The stream ends cleanly at its terminal event (data `[DONE]`, or what
    /// [`with_terminal`](ReconnectPolicy::with_terminal) says) or at the end of the body. A
    /// broken connection or an idle timeout ([`LLM_IDLE_TIMEOUT`](ReconnectPolicy::LLM_IDLE_TIMEOUT))
    /// before that reconnects only when the stream carried a non-empty last event ID, so
    /// that the server can resume the answer it was giving; otherwise the stream fails with
    /// [`ClientError::Truncated`](crate::ClientError::Truncated): never a silent second
    /// request that generates the answer twice. Resumption gives up after 3 failed attempts
    /// in a row; the reconnection time starts at 1 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Event, ReconnectPolicy};
    ///
    /// let policy = ReconnectPolicy::llm();
    /// assert!(!policy.reconnect_on_end());
    /// assert!(policy.resume_needs_id());
    /// assert!(policy.is_terminal(&Event::from_data("[DONE]")));
    /// assert!(!policy.is_terminal(&Event::from_data("{\"token\":\"Hi\"}")));
    /// ```
    pub const fn llm() -> Self {
        ReconnectPolicy {
            initial_retry: Duration::from_secs(1),
            max_attempts: Some(3),
            idle_timeout: Some(Self::LLM_IDLE_TIMEOUT),
            reconnect_on_end: false,
            resume_needs_id: true,
            terminal: Some(is_done),
            ..Self::event_source()
        }
    }

    /// The reconnection time until the server sends `retry:`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// use sse_wire::ReconnectPolicy;
    ///
    /// let policy = ReconnectPolicy::event_source().with_initial_retry(Duration::from_millis(500));
    /// assert_eq!(policy.initial_retry(), Duration::from_millis(500));
    /// ```
    pub const fn initial_retry(&self) -> Duration {
        self.initial_retry
    }

    /// Sets [`initial_retry`](ReconnectPolicy::initial_retry).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = sse_wire::ReconnectPolicy::llm().with_initial_retry(Duration::from_secs(2));
    /// assert_eq!(policy.initial_retry(), Duration::from_secs(2));
    /// ```
    #[must_use]
    pub const fn with_initial_retry(mut self, delay: Duration) -> Self {
        self.initial_retry = delay;
        self
    }

    /// The floor under every wait, whatever `retry:` says.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = sse_wire::ReconnectPolicy::event_source();
    /// assert_eq!(policy.min_retry(), Duration::from_millis(250));
    /// ```
    pub const fn min_retry(&self) -> Duration {
        self.min_retry
    }

    /// Sets [`min_retry`](ReconnectPolicy::min_retry). `Duration::ZERO` lets `retry: 0`
    /// reconnect at once (a browser does), which only makes sense in tests.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = sse_wire::ReconnectPolicy::event_source().with_min_retry(Duration::from_secs(1));
    /// assert_eq!(policy.min_retry(), Duration::from_secs(1));
    /// ```
    #[must_use]
    pub const fn with_min_retry(mut self, floor: Duration) -> Self {
        self.min_retry = floor;
        self
    }

    /// The cap on the backoff added on top of the reconnection time.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::llm().max_backoff(), Duration::from_secs(30));
    /// ```
    pub const fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// Sets [`max_backoff`](ReconnectPolicy::max_backoff); `Duration::ZERO` turns the
    /// backoff off, and the client then waits exactly what a browser waits.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = sse_wire::ReconnectPolicy::event_source().with_max_backoff(Duration::ZERO);
    /// assert_eq!(policy.max_backoff(), Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn with_max_backoff(mut self, cap: Duration) -> Self {
        self.max_backoff = cap;
        self
    }

    /// How many attempts in a row may fail before the stream fails with
    /// [`ClientError::AttemptsExhausted`](crate::ClientError::AttemptsExhausted); `None`:
    /// no limit. The count resets like the backoff, when a connection delivers an event
    /// (or stays up for [`stable_after`](ReconnectPolicy::stable_after)), so a long-lived
    /// stream is not ended by the reconnections of a healthy day.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sse_wire::ReconnectPolicy::llm().max_attempts(), Some(3));
    /// ```
    pub const fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// Sets [`max_attempts`](ReconnectPolicy::max_attempts). `Some(0)` counts as `Some(1)`:
    /// the first failure ends the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = sse_wire::ReconnectPolicy::event_source().with_max_attempts(Some(10));
    /// assert_eq!(policy.max_attempts(), Some(10));
    /// ```
    #[must_use]
    pub const fn with_max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// How long the client may go on reconnecting, counted from the end of the last good
    /// connection, before the stream fails with
    /// [`ClientError::TimeExhausted`](crate::ClientError::TimeExhausted); `None`: no limit.
    /// A wait that would end past it fails at once instead of sleeping in vain.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sse_wire::ReconnectPolicy::event_source().max_reconnect_time(), None);
    /// ```
    pub const fn max_reconnect_time(&self) -> Option<Duration> {
        self.max_reconnect_time
    }

    /// Sets [`max_reconnect_time`](ReconnectPolicy::max_reconnect_time).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = sse_wire::ReconnectPolicy::event_source()
    ///     .with_max_reconnect_time(Some(Duration::from_secs(600)));
    /// assert_eq!(policy.max_reconnect_time(), Some(Duration::from_secs(600)));
    /// ```
    #[must_use]
    pub const fn with_max_reconnect_time(mut self, limit: Option<Duration>) -> Self {
        self.max_reconnect_time = limit;
        self
    }

    /// How long a connection may go without a byte (keep-alive comments count) before it
    /// counts as broken; `None`: no limit. The sans-io [`Reconnector`](crate::Reconnector)
    /// only reports it: the caller owns the clock and reports
    /// [`Cause::IdleTimeout`](crate::Cause::IdleTimeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::event_source().idle_timeout(), Some(Duration::from_secs(90)));
    /// ```
    pub const fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// Sets [`idle_timeout`](ReconnectPolicy::idle_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = sse_wire::ReconnectPolicy::event_source().with_idle_timeout(None);
    /// assert_eq!(policy.idle_timeout(), None);
    /// ```
    #[must_use]
    pub const fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a connection must stay up to reset the failure count even if it delivered
    /// no event. A 200 alone does not: a server that accepts and drops every connection must
    /// see the backoff grow, not endless fast reconnections.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(sse_wire::ReconnectPolicy::event_source().stable_after(), Duration::from_secs(30));
    /// ```
    pub const fn stable_after(&self) -> Duration {
        self.stable_after
    }

    /// Sets [`stable_after`](ReconnectPolicy::stable_after).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = sse_wire::ReconnectPolicy::event_source().with_stable_after(Duration::from_secs(5));
    /// assert_eq!(policy.stable_after(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub const fn with_stable_after(mut self, uptime: Duration) -> Self {
        self.stable_after = uptime;
        self
    }

    /// Whether 408, 429, 502, 503 and 504 are retried (with `Retry-After` as a lower bound
    /// on the wait) rather than failing the stream. Off in both presets: a browser fails on
    /// them, and a status is the server's answer, which a client should not second-guess
    /// unless told to.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sse_wire::ReconnectPolicy::event_source().retry_transient());
    /// ```
    pub const fn retry_transient(&self) -> bool {
        self.retry_transient
    }

    /// Sets [`retry_transient`](ReconnectPolicy::retry_transient).
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = sse_wire::ReconnectPolicy::event_source().with_retry_transient(true);
    /// assert!(policy.retry_transient());
    /// ```
    #[must_use]
    pub const fn with_retry_transient(mut self, retry: bool) -> Self {
        self.retry_transient = retry;
        self
    }

    /// Whether the end of the body reconnects (`event_source`) or ends the stream cleanly
    /// (`llm`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sse_wire::ReconnectPolicy::event_source().reconnect_on_end());
    /// ```
    pub const fn reconnect_on_end(&self) -> bool {
        self.reconnect_on_end
    }

    /// Sets [`reconnect_on_end`](ReconnectPolicy::reconnect_on_end).
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = sse_wire::ReconnectPolicy::event_source().with_reconnect_on_end(false);
    /// assert!(!policy.reconnect_on_end());
    /// ```
    #[must_use]
    pub const fn with_reconnect_on_end(mut self, reconnect: bool) -> Self {
        self.reconnect_on_end = reconnect;
        self
    }

    /// Whether a broken connection reconnects only when the stream has a non-empty last
    /// event ID (`llm`): without one the server could only start over, and the request is
    /// not sent twice.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sse_wire::ReconnectPolicy::event_source().resume_needs_id());
    /// ```
    pub const fn resume_needs_id(&self) -> bool {
        self.resume_needs_id
    }

    /// Sets [`resume_needs_id`](ReconnectPolicy::resume_needs_id).
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = sse_wire::ReconnectPolicy::event_source().with_resume_needs_id(true);
    /// assert!(policy.resume_needs_id());
    /// ```
    #[must_use]
    pub const fn with_resume_needs_id(mut self, needs_id: bool) -> Self {
        self.resume_needs_id = needs_id;
        self
    }

    /// The predicate that recognises the stream's terminal event, if any: `llm` has one
    /// for data `[DONE]`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sse_wire::ReconnectPolicy::event_source().terminal().is_none());
    /// ```
    pub const fn terminal(&self) -> Option<fn(&Event) -> bool> {
        self.terminal
    }

    /// Sets [`terminal`](ReconnectPolicy::terminal). The terminal event is delivered, then
    /// the stream ends cleanly.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Event, ReconnectPolicy};
    ///
    /// // Anthropic's messages API ends with an event of type `message_stop`.
    /// let policy = ReconnectPolicy::llm().with_terminal(Some(|e| e.event_type() == "message_stop"));
    /// let stop = Event::builder().event("message_stop").data("{}").build()?;
    /// assert!(policy.is_terminal(&stop));
    /// assert!(!policy.is_terminal(&Event::from_data("[DONE]")));
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    #[must_use]
    pub const fn with_terminal(mut self, terminal: Option<fn(&Event) -> bool>) -> Self {
        self.terminal = terminal;
        self
    }

    /// Whether `event` is the stream's terminal event under this policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Event, ReconnectPolicy};
    ///
    /// assert!(!ReconnectPolicy::event_source().is_terminal(&Event::from_data("[DONE]")));
    /// ```
    pub fn is_terminal(&self, event: &Event) -> bool {
        self.terminal.is_some_and(|terminal| terminal(event))
    }
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy::event_source()
    }
}

/// Function pointers print as addresses: say only whether there is a predicate.
impl fmt::Debug for ReconnectPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectPolicy")
            .field("initial_retry", &self.initial_retry)
            .field("min_retry", &self.min_retry)
            .field("max_backoff", &self.max_backoff)
            .field("max_attempts", &self.max_attempts)
            .field("max_reconnect_time", &self.max_reconnect_time)
            .field("idle_timeout", &self.idle_timeout)
            .field("stable_after", &self.stable_after)
            .field("retry_transient", &self.retry_transient)
            .field("reconnect_on_end", &self.reconnect_on_end)
            .field("resume_needs_id", &self.resume_needs_id)
            .field("terminal", &self.terminal.is_some())
            .finish()
    }
}
