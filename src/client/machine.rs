//! `Reconnector`: the sans-io reconnect machine.

use alloc::collections::VecDeque;
use alloc::string::String;
use core::time::Duration;

use bytes::Bytes;

use super::error::{Cause, ClientError};
use super::head::{RequestHeaders, ResponseHead};
use super::policy::ReconnectPolicy;
use crate::{Config, Event, ParseError, Parser};

/// The statuses a policy with [`retry_transient`](ReconnectPolicy::retry_transient) retries:
/// request timeout, too many requests, bad gateway, unavailable, gateway timeout.
const TRANSIENT: [u16; 5] = [408, 429, 502, 503, 504];

/// What the machine makes of a response, or of the end of a connection.
///
/// # Examples
///
/// ```
/// use sse_wire::{Reconnector, ResponseHead, Verdict};
///
/// let mut machine = Reconnector::new(Default::default(), 7);
/// let _headers = machine.connect();
/// let verdict = machine.response(std::time::Duration::ZERO, &ResponseHead::new(204));
/// assert!(matches!(verdict, Verdict::End));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// The response is an event stream: feed its body.
    Open,
    /// The stream ended cleanly (HTTP 204, a terminal event, or the end of the body under a
    /// policy that does not reconnect then). Nothing more to do.
    End,
    /// Wait `delay`, then [`connect`](Reconnector::connect) again.
    Retry {
        /// Which attempt in a row the next one is: 1 after a connection that delivered
        /// events, growing while attempts keep failing.
        attempt: u32,
        /// How long to wait before connecting.
        delay: Duration,
        /// Why the connection did not go on.
        cause: Cause,
    },
    /// The stream failed for good.
    Fail(ClientError),
}

/// Where the machine is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Ready for [`Reconnector::connect`]: at the start, or after a retry verdict.
    Ready,
    /// A request is out; its response (or failure) comes next.
    Connecting,
    /// Reading the body of `opened_at`'s response.
    Open { opened_at: Duration },
    /// Ended or failed: nothing more happens.
    Finished,
}

/// The sans-io reconnect machine: everything `EventSource` decides, for any HTTP client.
///
/// It does no I/O, reads no clock and draws no randomness of its own: the caller passes the
/// time (`now`, a monotonic [`Duration`] since any instant of its choosing) and a seed in,
/// and gets request headers, verdicts and delays out. It owns the [`Parser`], so the last
/// event ID and the reconnection time carry over from one connection to the next.
///
/// The calling contract, per attempt:
///
/// 1. [`connect`](Reconnector::connect): send a request with the headers it returns
///    (`None`: the stream is over).
/// 2. [`response`](Reconnector::response) with the response's status and headers. On
///    [`Verdict::Open`], [`feed`](Reconnector::feed) each body chunk and take the events
///    with [`next_event`](Reconnector::next_event) until it returns `None`; stop reading
///    when [`is_finished`](Reconnector::is_finished) says so (a terminal event).
/// 3. When the request fails, the body ends or breaks, or no byte came within the
///    [`idle_timeout`](ReconnectPolicy::idle_timeout): [`disconnected`](Reconnector::disconnected)
///    with the [`Cause`], then take the events it may have completed with `next_event`.
/// 4. On [`Verdict::Retry`], wait its delay and go back to 1; on [`Verdict::End`] or
///    [`Verdict::Fail`], stop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sse_wire::{Cause, ReconnectPolicy, Reconnector, ResponseHead, Verdict};
///
/// let mut machine = Reconnector::new(ReconnectPolicy::event_source(), 42);
/// let mut now = Duration::ZERO;
///
/// assert_eq!(machine.connect().unwrap().count(), 2); // Accept, Cache-Control
/// let head = ResponseHead::new(200).content_type(b"text/event-stream");
/// assert!(matches!(machine.response(now, &head), Verdict::Open));
/// machine.feed(&b"retry: 500\nid: 7\ndata: hello\n\n"[..]);
/// assert_eq!(machine.next_event().unwrap()?.data(), "hello");
///
/// now += Duration::from_secs(1);
/// let Verdict::Retry { attempt, delay, .. } = machine.disconnected(now, Cause::Ended) else {
///     panic!("the end of the body reconnects");
/// };
/// // After a connection that delivered an event: the server's retry, no backoff.
/// assert_eq!((attempt, delay), (1, Duration::from_millis(500)));
///
/// let headers: Vec<_> = machine.connect().unwrap().collect();
/// assert_eq!(headers[2], ("last-event-id", &b"7"[..]));
/// # Ok::<(), sse_wire::ParseError>(())
/// ```
#[derive(Debug)]
pub struct Reconnector {
    policy: ReconnectPolicy,
    parser: Parser,
    /// The state of the jitter's generator (SplitMix64), from the caller's seed.
    rng: u64,
    state: State,
    /// Attempts in a row that delivered no event and did not stay up long enough.
    failures: u32,
    /// When the last good connection ended: the start of the current outage.
    outage_since: Option<Duration>,
    /// The open connection has delivered an event.
    delivered: bool,
    /// Events completed by `finish` at a disconnection, not yet taken.
    pending: VecDeque<Result<Event, ParseError>>,
}

impl Reconnector {
    /// A machine with a default [`Parser`]; `seed` drives the backoff's jitter (give each
    /// client its own, from any source of randomness).
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{ReconnectPolicy, Reconnector};
    ///
    /// let machine = Reconnector::new(ReconnectPolicy::llm(), 0x5eed);
    /// assert_eq!(machine.last_event_id(), "");
    /// ```
    pub fn new(policy: ReconnectPolicy, seed: u64) -> Self {
        Reconnector::with_config(policy, Config::new(), seed)
    }

    /// A machine whose parser has the given limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Config, ReconnectPolicy, Reconnector};
    ///
    /// let machine = Reconnector::with_config(ReconnectPolicy::event_source(), Config::new().max_event_size(1 << 20), 1);
    /// assert_eq!(machine.policy().max_attempts(), None);
    /// ```
    pub fn with_config(policy: ReconnectPolicy, config: Config, seed: u64) -> Self {
        Reconnector {
            policy,
            parser: Parser::with_config(config),
            rng: seed,
            state: State::Ready,
            failures: 0,
            outage_since: None,
            delivered: false,
            pending: VecDeque::new(),
        }
    }

    /// The policy it follows.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{ReconnectPolicy, Reconnector};
    ///
    /// assert_eq!(Reconnector::new(ReconnectPolicy::llm(), 0).policy().max_attempts(), Some(3));
    /// ```
    pub fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    /// The stream's last event ID: what the next request sends as `Last-Event-ID`.
    ///
    /// # Examples
    ///
    /// ```
    /// let machine = sse_wire::Reconnector::new(Default::default(), 0);
    /// assert_eq!(machine.last_event_id(), "");
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The server's last valid `retry:`, if it sent one.
    ///
    /// # Examples
    ///
    /// ```
    /// let machine = sse_wire::Reconnector::new(Default::default(), 0);
    /// assert_eq!(machine.retry(), None);
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// Whether the stream is over (ended, failed or closed): `connect` returns `None`, and
    /// a body still open should be dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut machine = sse_wire::Reconnector::new(Default::default(), 0);
    /// assert!(!machine.is_finished());
    /// machine.close();
    /// assert!(machine.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// Ends the stream for good, at the caller's wish.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut machine = sse_wire::Reconnector::new(Default::default(), 0);
    /// machine.close();
    /// assert!(machine.connect().is_none());
    /// ```
    pub fn close(&mut self) {
        self.state = State::Finished;
    }

    /// Starts an attempt: the headers to send with the request, or `None` when the stream is
    /// over. Call it when a retry's delay has passed (or at the start).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut machine = sse_wire::Reconnector::new(Default::default(), 0);
    /// let headers: Vec<_> = machine.connect().unwrap().collect();
    /// assert_eq!(headers[0], ("accept", &b"text/event-stream"[..]));
    /// ```
    pub fn connect(&mut self) -> Option<RequestHeaders<'_>> {
        // The caller gave up on an open body without saying so: that stream is over.
        self.end_body();
        if self.state == State::Finished {
            return None;
        }
        self.state = State::Connecting;
        Some(RequestHeaders::new(self.parser.last_event_id()))
    }

    /// Judges a response: [`Verdict::Open`] for 200 with a content type whose essence is
    /// `text/event-stream`; [`Verdict::End`] for 204; a retry for a transient status under
    /// a policy that retries them; otherwise [`Verdict::Fail`] with
    /// [`ClientError::Status`] or [`ClientError::ContentType`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{ClientError, Reconnector, ResponseHead, Verdict};
    ///
    /// let mut machine = Reconnector::new(Default::default(), 0);
    /// machine.connect();
    /// let verdict = machine.response(Default::default(), &ResponseHead::new(404));
    /// assert!(matches!(verdict, Verdict::Fail(ClientError::Status { status: 404 })));
    /// assert!(machine.is_finished());
    /// ```
    pub fn response(&mut self, now: Duration, head: &ResponseHead<'_>) -> Verdict {
        // A response while a body is open: the caller gave that body up.
        self.end_body();
        if self.state == State::Finished {
            return Verdict::End;
        }
        match head.status {
            200 if head.is_event_stream() => {
                self.state = State::Open { opened_at: now };
                self.delivered = false;
                Verdict::Open
            }
            200 => self.fail(ClientError::ContentType {
                content_type: head
                    .content_type
                    .map(|value| String::from_utf8_lossy(value).into_owned()),
            }),
            204 => {
                self.state = State::Finished;
                Verdict::End
            }
            status if self.policy.retry_transient() && TRANSIENT.contains(&status) => {
                self.failures = self.failures.saturating_add(1);
                self.schedule(now, Cause::Status { status }, head.retry_after_delay())
            }
            status => self.fail(ClientError::Status { status }),
        }
    }

    /// Feeds a chunk of the open response's body. Ignored unless a response is open.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Reconnector, ResponseHead};
    ///
    /// let mut machine = Reconnector::new(Default::default(), 0);
    /// machine.connect();
    /// machine.response(Default::default(), &ResponseHead::new(200).content_type(b"text/event-stream"));
    /// machine.feed(&b"data: hi\n\n"[..]);
    /// assert_eq!(machine.next_event().unwrap()?.data(), "hi");
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn feed(&mut self, chunk: impl Into<Bytes>) {
        if matches!(self.state, State::Open { .. }) {
            self.parser.feed_bytes(chunk);
        }
    }

    /// The next event the body completed; `None` until more is fed. A terminal event
    /// (see [`ReconnectPolicy::terminal`]) is returned, then the stream is over.
    ///
    /// An error is an event past the parser's size limit, which was skipped: the stream goes
    /// on.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{ReconnectPolicy, Reconnector, ResponseHead};
    ///
    /// let mut machine = Reconnector::new(ReconnectPolicy::llm(), 0);
    /// machine.connect();
    /// machine.response(Default::default(), &ResponseHead::new(200).content_type(b"text/event-stream"));
    /// machine.feed(&b"data: tok\n\ndata: [DONE]\n\ndata: after\n\n"[..]);
    /// assert_eq!(machine.next_event().unwrap()?.data(), "tok");
    /// assert_eq!(machine.next_event().unwrap()?.data(), "[DONE]");
    /// assert!(machine.next_event().is_none());
    /// assert!(machine.is_finished());
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn next_event(&mut self) -> Option<Result<Event, ParseError>> {
        self.pending.pop_front().or_else(|| self.pull())
    }

    /// The next event from the parser while a response is open, with the terminal check.
    fn pull(&mut self) -> Option<Result<Event, ParseError>> {
        if !matches!(self.state, State::Open { .. }) {
            return None;
        }
        let event = self.parser.next_event()?;
        if let Ok(event) = &event {
            self.delivered();
            if self.policy.is_terminal(event) {
                self.state = State::Finished;
            }
        }
        Some(event)
    }

    /// A connection delivered an event: it was a success, whatever happens next.
    fn delivered(&mut self) {
        self.delivered = true;
        self.failures = 0;
        self.outage_since = None;
    }

    /// Reports the end of an attempt: the request failed, the body ended or broke, or the
    /// idle timeout passed. Events that the end completes are queued for
    /// [`next_event`](Reconnector::next_event) (a partial event is discarded, and its id
    /// never takes effect).
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Cause, ClientError, ReconnectPolicy, Reconnector, ResponseHead, Verdict};
    ///
    /// // An LLM answer cut off before `[DONE]`, in a stream without ids: not re-sent.
    /// let mut machine = Reconnector::new(ReconnectPolicy::llm(), 0);
    /// machine.connect();
    /// machine.response(Default::default(), &ResponseHead::new(200).content_type(b"text/event-stream"));
    /// machine.feed(&b"data: half an ans"[..]);
    /// let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    /// let verdict = machine.disconnected(Default::default(), Cause::Transport(reset.into()));
    /// assert!(matches!(verdict, Verdict::Fail(ClientError::Truncated(Cause::Transport(_)))));
    /// assert!(machine.next_event().is_none());
    /// ```
    pub fn disconnected(&mut self, now: Duration, cause: Cause) -> Verdict {
        let opened_at = match self.state {
            State::Finished => return Verdict::End,
            // Without a response (or even without `connect`: a caller that reports every
            // failure here): a failed attempt.
            State::Ready | State::Connecting => None,
            State::Open { opened_at } => Some(opened_at),
        };
        self.end_body();
        if self.state == State::Finished {
            // A terminal event completed by the end of the body.
            return Verdict::End;
        }
        let stayed_up =
            opened_at.is_some_and(|at| now.saturating_sub(at) >= self.policy.stable_after());
        if self.delivered || stayed_up {
            self.delivered();
        } else {
            self.failures = self.failures.saturating_add(1);
        }
        self.delivered = false;
        if matches!(cause, Cause::Ended) && !self.policy.reconnect_on_end() {
            self.state = State::Finished;
            return Verdict::End;
        }
        if self.policy.resume_needs_id() && self.parser.last_event_id().is_empty() {
            return self.fail(ClientError::Truncated(cause));
        }
        self.schedule(now, cause, None)
    }

    /// Ends the open body's stream, if one is open: what it completes is queued for
    /// `next_event` (a terminal event among it finishes the machine; what follows it does
    /// not count).
    fn end_body(&mut self) {
        if !matches!(self.state, State::Open { .. }) {
            return;
        }
        self.parser.finish();
        while let Some(event) = self.pull() {
            self.pending.push_back(event);
        }
        if self.state == State::Finished {
            while self.parser.next_event().is_some() {}
        }
    }

    /// Fails the stream for good.
    fn fail(&mut self, error: ClientError) -> Verdict {
        self.state = State::Finished;
        Verdict::Fail(error)
    }

    /// Schedules the next attempt after a failure already counted in `failures`, or fails
    /// when a cap says so.
    fn schedule(&mut self, now: Duration, cause: Cause, at_least: Option<Duration>) -> Verdict {
        let since = *self.outage_since.get_or_insert(now);
        if let Some(max) = self.policy.max_attempts() {
            if self.failures >= max.max(1) {
                let attempts = self.failures;
                return self.fail(ClientError::AttemptsExhausted {
                    attempts,
                    last: cause,
                });
            }
        }
        let delay = self.delay().max(at_least.unwrap_or_default());
        let elapsed = now.saturating_sub(since).saturating_add(delay);
        if self
            .policy
            .max_reconnect_time()
            .is_some_and(|max| elapsed > max)
        {
            return self.fail(ClientError::TimeExhausted {
                elapsed: now.saturating_sub(since),
                last: cause,
            });
        }
        self.state = State::Ready;
        Verdict::Retry {
            attempt: self.failures.saturating_add(1),
            delay,
            cause,
        }
    }

    /// The wait before the next attempt: the reconnection time, floored, plus the backoff
    /// for the failures in a row (see [`ReconnectPolicy`]).
    fn delay(&mut self) -> Duration {
        let unit = self
            .parser
            .retry()
            .unwrap_or(self.policy.initial_retry())
            .max(self.policy.min_retry());
        let Some(doublings) = self.failures.checked_sub(1) else {
            return unit;
        };
        let bound = unit
            .checked_mul(1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(Duration::MAX)
            .min(self.policy.max_backoff());
        unit.saturating_add(self.jitter(bound))
    }

    /// A uniformly random duration in `[0, bound]`, to the nanosecond (to the microsecond
    /// past 584 years).
    fn jitter(&mut self, bound: Duration) -> Duration {
        let random = self.next_random();
        match u64::try_from(bound.as_nanos()) {
            Ok(nanos) => Duration::from_nanos(random % nanos.saturating_add(1)),
            Err(_) => {
                let micros = u64::try_from(bound.as_micros()).unwrap_or(u64::MAX);
                Duration::from_micros(random % micros.saturating_add(1))
            }
        }
    }

    /// SplitMix64: small, fast, and good enough to spread clients apart.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
