//! The clock behind keep-alive comments, supplied by the caller.

use core::ops::DerefMut;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

/// A resettable one-shot timer: how an [`EncodeStream`](crate::EncodeStream) learns that
/// the connection has been quiet for its keep-alive interval, without naming a runtime.
///
/// The adapter drives it like this: [`reset`](KeepAliveTimer::reset) with the interval when
/// it is first polled, again after every chunk of events it yields and after every
/// keep-alive comment; [`poll_expired`](KeepAliveTimer::poll_expired) whenever the inner
/// stream has nothing ready. So an implementation needs only a deadline and a waker, which
/// every runtime's sleep future has (tokio's `Sleep::reset`, async-io's `Timer::set_after`,
/// a `gloo` timeout in the browser). A trait rather than a stream of ticks because a tick
/// stream cannot be told that an event just went out: the quiet period must restart then.
///
/// With the `tokio` feature, `TokioTimer` is ready-made.
///
/// # Examples
///
/// A timer over a manual clock, as a test would write it:
///
/// ```
/// use std::cell::Cell;
/// use std::pin::Pin;
/// use std::rc::Rc;
/// use std::task::{Context, Poll};
/// use std::time::Duration;
/// use sse_wire::KeepAliveTimer;
///
/// /// Fires when the shared clock passes the deadline. (Waking is left out: whoever
/// /// advances the clock polls again.)
/// struct ManualTimer { now: Rc<Cell<Duration>>, deadline: Option<Duration> }
///
/// impl KeepAliveTimer for ManualTimer {
///     fn reset(mut self: Pin<&mut Self>, after: Duration) {
///         self.deadline = self.now.get().checked_add(after);
///     }
///     fn poll_expired(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
///         match self.deadline {
///             Some(deadline) if self.now.get() >= deadline => Poll::Ready(()),
///             _ => Poll::Pending,
///         }
///     }
/// }
///
/// let now = Rc::new(Cell::new(Duration::ZERO));
/// let mut timer = ManualTimer { now: now.clone(), deadline: None };
/// Pin::new(&mut timer).reset(Duration::from_secs(15));
/// let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
/// assert!(Pin::new(&mut timer).poll_expired(&mut cx).is_pending());
/// now.set(Duration::from_secs(15));
/// assert!(Pin::new(&mut timer).poll_expired(&mut cx).is_ready());
/// ```
pub trait KeepAliveTimer {
    /// Arms the timer to expire once `after` has passed from now, replacing any earlier
    /// deadline. A deadline too far away to represent may simply never expire.
    fn reset(self: Pin<&mut Self>, after: Duration);

    /// `Ready` once the deadline of the last [`reset`](KeepAliveTimer::reset) has passed
    /// (and it may stay `Ready` until the next reset); otherwise `Pending`, and the task in
    /// `cx` is woken when the deadline passes. Before the first reset it may return either.
    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

/// A pinned, boxed (or otherwise pointed-to) timer is a timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sse_wire::{EncodeStream, Event, KeepAliveTimer, NoKeepAlive};
///
/// let timer: std::pin::Pin<Box<dyn KeepAliveTimer + Send>> = Box::pin(NoKeepAlive);
/// let events = futures_util::stream::iter([Event::from_data("x")]);
/// let _encoder = EncodeStream::new(events).keep_alive(Duration::from_secs(15), timer);
/// ```
impl<P> KeepAliveTimer for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: KeepAliveTimer,
{
    fn reset(self: Pin<&mut Self>, after: Duration) {
        self.get_mut().as_mut().reset(after);
    }

    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().as_mut().poll_expired(cx)
    }
}

/// A timer that never expires: the [`EncodeStream`](crate::EncodeStream) default, which
/// sends no keep-alive comments.
///
/// # Examples
///
/// ```
/// use sse_wire::{EncodeStream, Event, NoKeepAlive};
///
/// let events = futures_util::stream::iter([Event::from_data("x")]);
/// let _encoder: EncodeStream<_, NoKeepAlive> = EncodeStream::new(events);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoKeepAlive;

impl KeepAliveTimer for NoKeepAlive {
    fn reset(self: Pin<&mut Self>, _after: Duration) {}

    fn poll_expired(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

#[cfg(feature = "tokio")]
/// A [`KeepAliveTimer`] on `tokio::time` (feature `tokio`).
///
/// It is `Unpin`. Creating one needs no runtime; it is first armed when the encoder is first polled,
/// which must happen inside a tokio runtime with the time driver enabled (the default
/// for `#[tokio::main]`), as for any tokio timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use sse_wire::{EncodeStream, Event, TokioTimer};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// // One event, then a stream that stays open and quiet.
/// let events = futures_util::stream::iter([Event::from_data("hi")])
///     .chain(futures_util::stream::pending());
/// let mut body = EncodeStream::new(events).keep_alive(Duration::from_secs(15), TokioTimer::new());
/// assert_eq!(body.next().await.unwrap().unwrap(), "data: hi\n\n");
/// // 15 s later (tokio's paused clock skips ahead), a keep-alive comment.
/// assert_eq!(body.next().await.unwrap().unwrap(), sse_wire::KEEP_ALIVE);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct TokioTimer {
    // Boxed so that the timer, and an encoder over an `Unpin` stream, is `Unpin`: one
    // allocation per connection, on the first poll.
    sleep: Option<Pin<std::boxed::Box<tokio::time::Sleep>>>,
}

#[cfg(feature = "tokio")]
impl TokioTimer {
    /// A timer that is not armed yet.
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = sse_wire::TokioTimer::new(); // no runtime needed until it is polled
    /// # drop(timer);
    /// ```
    pub fn new() -> Self {
        TokioTimer { sleep: None }
    }
}

#[cfg(feature = "tokio")]
impl KeepAliveTimer for TokioTimer {
    fn reset(self: Pin<&mut Self>, after: Duration) {
        let this = self.get_mut();
        // `Instant + Duration` panics on overflow; such a deadline is "never".
        let Some(deadline) = tokio::time::Instant::now().checked_add(after) else {
            this.sleep = None;
            return;
        };
        match &mut this.sleep {
            // Resetting reuses the timer entry instead of allocating a new one per event.
            Some(armed) => armed.as_mut().reset(deadline),
            None => this.sleep = Some(std::boxed::Box::pin(tokio::time::sleep_until(deadline))),
        }
    }

    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.get_mut().sleep {
            Some(sleep) => core::future::Future::poll(sleep.as_mut(), cx),
            None => Poll::Pending,
        }
    }
}
