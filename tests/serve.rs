//! Serving defaults: `MaxAge` (a maximum connection age with 80-100% jitter) and
//! `EncodeStream::tokio_keep_alive`. Time is a hand-fired timer or tokio's paused clock.
#![cfg(feature = "stream")]

mod manual;

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::stream::{FusedStream, StreamExt};
use futures_util::task::ArcWake;
use manual::{poll, Manual};
use proptest::prelude::*;
use sse_wire::{KeepAliveTimer, MaxAge, NoKeepAlive};

/// A deadline the test fires by hand; records what it was armed with.
#[derive(Clone, Default)]
struct Deadline(Rc<DeadlineState>);

#[derive(Default)]
struct DeadlineState {
    armed_with: Cell<Option<Duration>>,
    fired: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Deadline {
    fn fire(&self) {
        self.0.fired.set(true);
        if let Some(waker) = self.0.waker.take() {
            waker.wake();
        }
    }
}

impl KeepAliveTimer for Deadline {
    fn reset(self: Pin<&mut Self>, after: Duration) {
        self.0.armed_with.set(Some(after));
        self.0.fired.set(false);
    }

    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.fired.get() {
            return Poll::Ready(());
        }
        self.0.waker.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}

fn age(max_age: Duration, seed: u64) -> Duration {
    MaxAge::new(
        futures_util::stream::empty::<()>(),
        max_age,
        seed,
        NoKeepAlive,
    )
    .age()
}

#[test]
fn max_age_arms_its_timer_with_the_jittered_age_on_the_first_poll() {
    let (events, _feed) = Manual::<u32>::new();
    let deadline = Deadline::default();
    let mut events = MaxAge::new(events, Duration::from_secs(600), 3, deadline.clone());
    // Built but not yet read: the age has not started.
    assert_eq!(deadline.0.armed_with.get(), None);
    assert!(poll(&mut events).is_pending());
    assert_eq!(deadline.0.armed_with.get(), Some(events.age()));
    // Later polls do not restart it.
    deadline.0.armed_with.set(None);
    assert!(poll(&mut events).is_pending());
    assert_eq!(deadline.0.armed_with.get(), None);
}

#[test]
fn max_age_passes_events_through_until_the_age_then_ends_between_two_events() {
    let (events, feed) = Manual::new();
    let deadline = Deadline::default();
    let mut events = MaxAge::new(events, Duration::from_secs(60), 1, deadline.clone());
    feed.borrow_mut().push(1);
    feed.borrow_mut().push(2);
    assert_eq!(poll(&mut events), Poll::Ready(Some(1)));
    deadline.fire();
    feed.borrow_mut().push(3);
    let polls = feed.borrow().polls;
    // Event 2 was ready and stays in the inner stream (a hub replays it on the next
    // connection): the age is checked first, or an always-ready stream would never end.
    assert_eq!(poll(&mut events), Poll::Ready(None));
    assert!(events.is_terminated());
    assert_eq!(poll(&mut events), Poll::Ready(None));
    assert_eq!(
        feed.borrow().polls,
        polls,
        "polled the inner stream after the age"
    );
}

#[test]
fn max_age_ends_with_its_inner_stream_and_never_polls_it_again() {
    let (events, feed) = Manual::new();
    let mut events = MaxAge::new(events, Duration::from_secs(60), 1, Deadline::default());
    feed.borrow_mut().push("last");
    feed.borrow_mut().closed = true;
    assert_eq!(poll(&mut events), Poll::Ready(Some("last")));
    assert_eq!(poll(&mut events), Poll::Ready(None));
    assert_eq!(poll(&mut events), Poll::Ready(None));
    assert!(events.is_terminated());
    assert!(!feed.borrow().polled_after_end);
}

#[test]
fn the_age_wakes_the_task_waiting_for_an_event() {
    #[derive(Default)]
    struct Woken(AtomicBool);
    impl ArcWake for Woken {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.store(true, Ordering::SeqCst);
        }
    }
    let (events, _feed) = Manual::<u32>::new();
    let deadline = Deadline::default();
    let mut events = MaxAge::new(events, Duration::from_secs(60), 1, deadline.clone());
    let woken = Arc::new(Woken::default());
    let waker = futures_util::task::waker(woken.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(events.poll_next_unpin(&mut cx).is_pending());
    assert!(!woken.0.load(Ordering::SeqCst));
    deadline.fire();
    assert!(woken.0.load(Ordering::SeqCst), "the task waits forever");
    assert_eq!(events.poll_next_unpin(&mut cx), Poll::Ready(None));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// The age is in (80%, 100%] of the maximum, and a function of the seed alone.
    #[test]
    fn the_age_is_between_80_and_100_percent_of_the_maximum(
        nanos in any::<u64>(),
        secs in prop_oneof![Just(0_u64), 0..100_000_u64, Just(u64::MAX)],
        seed in any::<u64>(),
    ) {
        let max_age = Duration::new(secs, 0).saturating_add(Duration::from_nanos(nanos));
        let age = age(max_age, seed);
        prop_assert!(age <= max_age);
        prop_assert!(age >= max_age - max_age / 5);
        if max_age >= Duration::from_nanos(5) {
            prop_assert!(age > max_age - max_age / 5);
        }
        prop_assert_eq!(age, self::age(max_age, seed));
    }
}

#[test]
fn consecutive_seeds_spread_ages_over_the_whole_range() {
    // Connections numbered 0, 1, 2... (or by port) must not end in lockstep: ten equal
    // slices of the range each get a fair share (100 expected each).
    let max = Duration::from_secs(1000);
    let mut slices = [0_u32; 10];
    for seed in 0..1000 {
        let below_max = max - age(max, seed);
        let slice = (below_max.as_secs_f64() / 20.0) as usize; // 200 s range, 20 s slices
        slices[slice.min(9)] += 1;
    }
    assert!(
        slices.iter().all(|&n| (60..=140).contains(&n)),
        "ages cluster: {slices:?}"
    );
}

#[cfg(feature = "tokio")]
mod on_tokio {
    use super::*;
    use futures_util::stream::BoxStream;
    use sse_wire::{EncodeStream, Event, KEEP_ALIVE, KEEP_ALIVE_INTERVAL};
    use tokio::sync::mpsc::UnboundedSender;
    use tokio::time::Instant;

    /// Events the test sends by hand.
    fn channel() -> (UnboundedSender<Event>, BoxStream<'static, Event>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let events = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|event| (event, rx))
        });
        (tx, events.boxed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_tokio_max_age_ends_the_response_at_its_age_after_the_events_before_it() {
        let (tx, events) = channel();
        let events = MaxAge::tokio(events, Duration::from_secs(300));
        let age = events.age();
        assert!(age > Duration::from_secs(240) && age <= Duration::from_secs(300));
        let mut body = EncodeStream::new(events);
        let started = Instant::now();
        tx.send(Event::from_data("before")).unwrap();
        assert_eq!(body.next().await.unwrap().unwrap(), "data: before\n\n");
        assert!(body.next().await.is_none());
        // Tokio's timer counts whole milliseconds, rounding deadlines up.
        let elapsed = started.elapsed();
        assert!(
            elapsed >= age && elapsed <= age + Duration::from_millis(1),
            "ended after {elapsed:?}, age {age:?}"
        );
        assert!(body.is_terminated());
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_max_ages_differ_between_connections() {
        let events = || futures_util::stream::pending::<Event>();
        let ages: std::collections::HashSet<Duration> = (0..20)
            .map(|_| MaxAge::tokio(events(), Duration::from_secs(300)).age())
            .collect();
        assert!(ages.len() > 10, "{ages:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_default_keep_alive_comments_after_15_quiet_seconds() {
        let (tx, events) = channel();
        let mut body = EncodeStream::new(events).tokio_keep_alive();
        assert_eq!(KEEP_ALIVE_INTERVAL, Duration::from_secs(15));
        let started = Instant::now();
        assert_eq!(body.next().await.unwrap().unwrap(), KEEP_ALIVE);
        assert_eq!(started.elapsed(), KEEP_ALIVE_INTERVAL);
        // An event restarts the quiet period.
        tokio::time::sleep(Duration::from_secs(10)).await;
        tx.send(Event::from_data("x")).unwrap();
        assert_eq!(body.next().await.unwrap().unwrap(), "data: x\n\n");
        let sent = Instant::now();
        assert_eq!(body.next().await.unwrap().unwrap(), KEEP_ALIVE);
        assert_eq!(sent.elapsed(), KEEP_ALIVE_INTERVAL);
    }
}

/// `MaxAge` around a hub subscription: each connection ends at its age, between two events,
/// and the next one, resumed by the last event ID the client saw, goes on without a loss or
/// a repeat, whatever the age left unsent.
#[cfg(feature = "hub")]
#[test]
fn connections_ended_by_their_age_resume_on_the_hub_without_loss() {
    use sse_wire::{EncodeStream, Event, Hub, Parser};

    let hub = Hub::builder().epoch(5).build();
    let mut client = Parser::new(); // one parser, like EventSource: it keeps the last id
    let mut received = Vec::new();
    let mut published = 0;
    let mut publish = |hub: &Hub, count: usize| {
        for _ in 0..count {
            hub.publish(Event::from_data(published.to_string()));
            published += 1;
        }
    };
    for connection in 0..4 {
        let resume = Some(client.last_event_id().to_owned()).filter(|id| !id.is_empty());
        let deadline = Deadline::default();
        let events = hub.subscribe(resume.as_deref());
        let events = MaxAge::new(
            events,
            Duration::from_secs(60),
            connection,
            deadline.clone(),
        );
        let mut body = EncodeStream::new(events);
        publish(&hub, 5);
        while let Poll::Ready(Some(chunk)) = poll(&mut body) {
            client.feed_bytes(chunk.unwrap());
        }
        // Published, never sent on this connection: the age comes first.
        publish(&hub, 3);
        deadline.fire();
        assert_eq!(poll(&mut body), Poll::Ready(None));
        while let Some(event) = client.next_event() {
            received.push(event.unwrap().data().to_owned());
        }
    }
    let mut last = EncodeStream::new(hub.subscribe(Some(client.last_event_id())));
    while let Poll::Ready(Some(chunk)) = poll(&mut last) {
        client.feed_bytes(chunk.unwrap());
    }
    while let Some(event) = client.next_event() {
        received.push(event.unwrap().data().to_owned());
    }
    let expected: Vec<String> = (0..published).map(|n: usize| n.to_string()).collect();
    assert_eq!(received, expected);
}
