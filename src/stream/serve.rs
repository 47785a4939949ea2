//! Serving defaults: a keep-alive that needs no arguments, and a maximum connection age with
//! jitter.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::stream::{FusedStream, Stream};

#[cfg(feature = "tokio")]
use super::encode::{EncodeItem, EncodeStream};
use super::keep_alive::KeepAliveTimer;
#[cfg(feature = "tokio")]
use super::keep_alive::TokioTimer;

/// The keep-alive interval the defaults use: 15 seconds.
///
/// Proxies and load balancers close connections that stay quiet for a while: 60 s is common
/// (nginx's `proxy_read_timeout`, AWS load balancers), some cut sooner. A comment every 15 s
/// stays well inside that, and costs a few bytes per connection per interval.
///
/// # Examples
///
/// ```
/// assert_eq!(sse_wire::KEEP_ALIVE_INTERVAL, std::time::Duration::from_secs(15));
/// ```
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

#[cfg(feature = "tokio")]
impl<S, T> EncodeStream<S, T>
where
    S: Stream,
    S::Item: EncodeItem,
{
    /// Keep-alive with no arguments (feature `tokio`): a comment after every
    /// [`KEEP_ALIVE_INTERVAL`] in which no event went out, timed by a [`TokioTimer`].
    /// The same as `.keep_alive(KEEP_ALIVE_INTERVAL, TokioTimer::new())`.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_wire::{EncodeStream, Event, KEEP_ALIVE};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let quiet = futures_util::stream::pending::<Event>();
    /// let mut body = EncodeStream::new(quiet).tokio_keep_alive();
    /// let started = tokio::time::Instant::now();
    /// assert_eq!(body.next().await.unwrap().unwrap(), KEEP_ALIVE);
    /// assert_eq!(started.elapsed(), sse_wire::KEEP_ALIVE_INTERVAL); // tokio's paused clock
    /// # }
    /// ```
    pub fn tokio_keep_alive(self) -> EncodeStream<S, TokioTimer> {
        self.keep_alive(KEEP_ALIVE_INTERVAL, TokioTimer::new())
    }
}

/// Where a [`MaxAge`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The timer is armed on the first poll: the age counts from when the body is first
    /// read, not from when the handler built it.
    Fresh,
    Running,
    Done,
}

pin_project_lite::pin_project! {
    /// Ends a stream once it has run for its age: a maximum connection age, so that clients
    /// reconnect now and then and a server can be drained or rebalanced.
    ///
    /// The age is drawn between 80% and 100% of the maximum, from a seed. Connections opened
    /// together (after a restart, say) then end at different times, and their reconnections
    /// spread over a fifth of the age instead of arriving as one storm.
    ///
    /// Wrap the event stream, inside the encoder: the stream ends between two events, the
    /// encoder sends what it holds and ends the response. A client that resumes by
    /// `Last-Event-ID` (a hub subscription) loses nothing: the events that came after the
    /// end are replayed on the new connection.
    ///
    /// The clock is a [`KeepAliveTimer`] (any resettable one-shot timer), armed with the age
    /// when the stream is first polled; `MaxAge::tokio` (feature `tokio`) is ready-made.
    /// The adapter never polls the inner stream past its end or after the age, and never
    /// panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_wire::{EncodeStream, Event, MaxAge, NoKeepAlive};
    ///
    /// # let timer = NoKeepAlive; // e.g. sse_wire::TokioTimer::new()
    /// let events = futures_util::stream::iter([Event::from_data("x")]);
    /// let connection_id = 7; // anything that differs between connections
    /// let events = MaxAge::new(events, Duration::from_secs(600), connection_id, timer);
    /// assert!(events.age() > Duration::from_secs(480) && events.age() <= Duration::from_secs(600));
    /// let _body = EncodeStream::new(events);
    /// ```
    pub struct MaxAge<S, T> {
        #[pin]
        inner: S,
        #[pin]
        timer: T,
        age: Duration,
        state: State,
    }
}

impl<S, T> MaxAge<S, T> {
    /// Wraps `events` so that they end after an age between 80% and 100% of `max_age`, chosen
    /// by `seed`, timed by `timer`.
    ///
    /// The same seed always gives the same age; nearby seeds (a connection counter, the
    /// client's port) give ages spread over the whole range.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_wire::{MaxAge, NoKeepAlive};
    ///
    /// let max = Duration::from_secs(100);
    /// let ages: Vec<Duration> = (0..1000)
    ///     .map(|seed| MaxAge::new(futures_util::stream::empty::<()>(), max, seed, NoKeepAlive).age())
    ///     .collect();
    /// assert!(ages.iter().all(|age| *age > max * 4 / 5 && *age <= max));
    /// assert!(ages.iter().any(|age| *age < max * 81 / 100));
    /// assert!(ages.iter().any(|age| *age > max * 99 / 100));
    /// ```
    pub fn new(events: S, max_age: Duration, seed: u64, timer: T) -> Self {
        MaxAge {
            inner: events,
            timer,
            age: jittered(max_age, seed),
            state: State::Fresh,
        }
    }

    /// The age after which the stream ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let events = futures_util::stream::empty::<()>();
    /// let events = sse_wire::MaxAge::new(events, Duration::ZERO, 1, sse_wire::NoKeepAlive);
    /// assert_eq!(events.age(), Duration::ZERO);
    /// ```
    pub fn age(&self) -> Duration {
        self.age
    }

    /// The inner stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::Stream;
    /// let events = futures_util::stream::iter([1, 2]);
    /// let events = sse_wire::MaxAge::new(events, std::time::Duration::MAX, 1, sse_wire::NoKeepAlive);
    /// assert_eq!(events.get_ref().size_hint(), (2, Some(2)));
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let events = futures_util::stream::iter([1, 2]);
    /// let events = sse_wire::MaxAge::new(events, std::time::Duration::MAX, 1, sse_wire::NoKeepAlive);
    /// let _events = events.into_inner();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

#[cfg(feature = "tokio")]
impl<S> MaxAge<S, TokioTimer> {
    /// Wraps `events` so that they end after 80% to 100% of `max_age` on tokio's clock
    /// (feature `tokio`), with a seed from the standard library's per-process random keys
    /// (those of `HashMap`): no extra dependency, and a different age for each connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    /// use sse_wire::{EncodeStream, Event, MaxAge};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let forever = futures_util::stream::pending::<Event>();
    /// let mut body = EncodeStream::new(MaxAge::tokio(forever, Duration::from_secs(600)));
    /// let started = tokio::time::Instant::now();
    /// assert!(body.next().await.is_none()); // the response ends: the client reconnects
    /// assert!(started.elapsed() >= Duration::from_secs(480));
    /// # }
    /// ```
    pub fn tokio(events: S, max_age: Duration) -> Self {
        use core::hash::BuildHasher;
        let seed = std::collections::hash_map::RandomState::new().hash_one(0_u8);
        MaxAge::new(events, max_age, seed, TokioTimer::new())
    }
}

/// `max_age` less up to a fifth of it, chosen by `seed`: a result in (80%, 100%] of
/// `max_age`.
fn jittered(max_age: Duration, seed: u64) -> Duration {
    // splitmix64's finalizer: consecutive seeds land far apart.
    let mut x = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    // A fraction in [0, 1) with 32 bits of resolution.
    let fraction = u128::from(x >> 32);
    // At most `max_age`'s nanoseconds (under 2^94) times 2^32: no overflow in u128.
    let cut = ((max_age / 5).as_nanos() * fraction) >> 32;
    let cut = Duration::new(
        u64::try_from(cut / 1_000_000_000).unwrap_or(u64::MAX),
        // Below a billion: fits.
        u32::try_from(cut % 1_000_000_000).unwrap_or(0),
    );
    max_age.saturating_sub(cut)
}

impl<S, T> Stream for MaxAge<S, T>
where
    S: Stream,
    T: KeepAliveTimer,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        match *this.state {
            State::Done => return Poll::Ready(None),
            State::Fresh => {
                this.timer.as_mut().reset(*this.age);
                *this.state = State::Running;
            }
            State::Running => {}
        }
        // The age first: a stream that is always ready must still end on time.
        if this.timer.as_mut().poll_expired(cx).is_ready() {
            *this.state = State::Done;
            return Poll::Ready(None);
        }
        match this.inner.poll_next(cx) {
            Poll::Ready(None) => {
                *this.state = State::Done;
                Poll::Ready(None)
            }
            other => other,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.state {
            State::Done => (0, Some(0)),
            // It may end at any moment.
            _ => (0, self.inner.size_hint().1),
        }
    }
}

impl<S, T> FusedStream for MaxAge<S, T>
where
    S: Stream,
    T: KeepAliveTimer,
{
    fn is_terminated(&self) -> bool {
        self.state == State::Done
    }
}

impl<S: fmt::Debug, T: fmt::Debug> fmt::Debug for MaxAge<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaxAge")
            .field("inner", &self.inner)
            .field("timer", &self.timer)
            .field("age", &self.age)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth_below_the_maximum() {
        for max in [
            Duration::ZERO,
            Duration::from_nanos(4),
            Duration::from_secs(600),
            Duration::MAX,
        ] {
            for seed in [0, 1, 2, u64::MAX, 0x8000_0000_0000_0000] {
                let age = jittered(max, seed);
                assert!(age <= max, "{age:?} > {max:?}");
                assert!(age >= max - max / 5, "{age:?} < 80% of {max:?}");
            }
        }
    }
}
