//! The hub's rules, case by case: resume, gaps, lag, waking, closing, threads. The general
//! laws over random schedules are in `tests/hub_model.rs`.
#![cfg(feature = "hub")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sse_wire::{EncodeStream, Encoded, Event, EventId, Hub, Lag, Parser, Subscription};

fn ev(data: &str) -> Event {
    Event::from_data(data)
}

/// Everything the subscription has ready now, as (type, id, data) triples of what a client
/// parses; `None` marks the end of the stream.
fn ready(sub: &mut Subscription) -> (Vec<(String, String, String)>, bool) {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    let mut parser = Parser::new();
    let mut ended = false;
    loop {
        match sub.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(item)) => parser.feed_bytes(item.into_bytes()),
            Poll::Ready(None) => {
                ended = true;
                break;
            }
            Poll::Pending => break,
        }
    }
    let mut out = Vec::new();
    while let Some(event) = parser.next_event() {
        let event = event.unwrap();
        out.push((
            event.event_type().to_owned(),
            event.last_event_id().to_owned(),
            event.data().to_owned(),
        ));
    }
    (out, ended)
}

fn msg(id: &str, data: &str) -> (String, String, String) {
    ("message".into(), id.into(), data.into())
}

fn gap(id: &str, data: &str) -> (String, String, String) {
    ("sse-wire-gap".into(), id.into(), data.into())
}

#[test]
fn hub_and_subscription_are_send_sync_unpin_static() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn stream<T: Stream<Item = Encoded> + Send + Unpin + 'static>() {}
    send_sync::<Hub>();
    send_sync::<sse_wire::HubBuilder>();
    send_sync::<Lag>();
    send_sync::<EventId>();
    send_sync::<Encoded>();
    send_sync::<Subscription>();
    stream::<Subscription>();
}

#[test]
fn resume_from_an_id_in_the_ring_gets_exactly_the_events_after_it_then_live() {
    let hub = Hub::builder().epoch(1).build();
    let ids: Vec<EventId> = ["a", "b", "c"].map(|d| hub.publish(ev(d))).into();
    let mut sub = hub.subscribe(Some(&ids[0].to_string()));
    assert_eq!(
        ready(&mut sub),
        (vec![msg("1-2", "b"), msg("1-3", "c")], false)
    );
    hub.publish(ev("d"));
    assert_eq!(ready(&mut sub), (vec![msg("1-4", "d")], false));
}

#[test]
fn resume_from_the_last_id_gets_live_events_only_without_a_gap() {
    let hub = Hub::builder().epoch(1).build();
    let last = hub.publish(ev("a"));
    let mut sub = hub.subscribe(Some(&last.to_string()));
    assert_eq!(ready(&mut sub), (vec![], false));
    hub.publish(ev("b"));
    assert_eq!(ready(&mut sub), (vec![msg("1-2", "b")], false));
}

#[test]
fn no_id_gets_live_events_only_after_a_position_block() {
    let hub = Hub::builder().epoch(1).build();
    hub.publish(ev("old"));
    let mut sub = hub.subscribe(None);
    let mut empty = hub.subscribe(Some(""));
    hub.publish(ev("new"));
    for sub in [&mut sub, &mut empty] {
        let first = futures_executor::block_on(sub.next()).unwrap();
        assert_eq!(first.as_bytes(), "id: 1-1\n\n");
        assert_eq!(ready(sub), (vec![msg("1-2", "new")], false));
    }
}

#[test]
fn unknown_evicted_and_old_epoch_ids_get_one_gap_event_then_live() {
    let hub = Hub::builder().epoch(5).max_events(2).build();
    for d in ["a", "b", "c"] {
        hub.publish(ev(d));
    }
    // Evicted ("5-0": the event after it, 5-1, is gone), old epoch, never issued,
    // malformed, and a second spelling of a held id.
    for requested in ["5-0", "4-2", "5-9", "nonsense", "5-02"] {
        let mut sub = hub.subscribe(Some(requested));
        let now = hub.last_id().unwrap().to_string();
        assert_eq!(
            ready(&mut sub),
            (vec![gap(&now, requested)], false),
            "{requested}"
        );
        hub.publish(ev("live"));
        let (events, _) = ready(&mut sub);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].2, "live");
    }
}

#[test]
fn an_id_just_before_the_oldest_held_event_resumes_without_a_gap() {
    let hub = Hub::builder().epoch(5).max_events(2).build();
    for d in ["a", "b", "c"] {
        hub.publish(ev(d));
    }
    let mut sub = hub.subscribe(Some("5-1"));
    assert_eq!(
        ready(&mut sub),
        (vec![msg("5-2", "b"), msg("5-3", "c")], false)
    );
}

#[test]
fn lag_end_ends_the_stream_and_the_reconnect_gets_the_gap() {
    let hub = Hub::builder().epoch(2).max_events(2).build();
    let mut sub = hub.subscribe(Some("2-0"));
    for d in ["a", "b", "c"] {
        hub.publish(ev(d));
    }
    assert_eq!(ready(&mut sub), (vec![], true));
    assert!(futures_util::stream::FusedStream::is_terminated(&sub));
    // The client reconnects with what it last saw: "2-0", whose successor is gone.
    let mut again = hub.subscribe(Some("2-0"));
    assert_eq!(ready(&mut again), (vec![gap("2-3", "2-0")], false));
}

#[test]
fn lag_gap_sends_a_gap_then_the_oldest_event_held() {
    let hub = Hub::builder()
        .epoch(2)
        .max_events(2)
        .on_lag(Lag::Gap)
        .build();
    let mut sub = hub.subscribe(Some("2-0"));
    hub.publish(ev("a"));
    assert_eq!(ready(&mut sub), (vec![msg("2-1", "a")], false));
    for d in ["b", "c", "d"] {
        hub.publish(ev(d));
    }
    assert_eq!(
        ready(&mut sub),
        (
            vec![gap("2-2", "2-1"), msg("2-3", "c"), msg("2-4", "d")],
            false
        )
    );
}

#[test]
fn publish_overrides_the_events_id_and_keeps_the_rest() {
    let hub = Hub::builder().epoch(1).build();
    let mut sub = hub.subscribe(Some("1-0"));
    let event = Event::builder()
        .event("tick")
        .id("mine")
        .retry(std::time::Duration::from_millis(1500))
        .comment("note")
        .data("x\ny")
        .build()
        .unwrap();
    hub.publish(event);
    let item = futures_executor::block_on(sub.next()).unwrap();
    assert_eq!(
        item.as_bytes(),
        "id: 1-1\n: note\nevent: tick\nretry: 1500\ndata: x\ndata: y\n\n"
    );
}

#[test]
fn an_event_without_fields_is_published_as_an_id_only_block() {
    let hub = Hub::builder().epoch(1).build();
    let mut sub = hub.subscribe(Some("1-0"));
    hub.publish(Event::default());
    let item = futures_executor::block_on(sub.next()).unwrap();
    assert_eq!(item.as_bytes(), "id: 1-1\n\n");
}

#[test]
fn the_gap_event_type_is_configurable_and_a_type_with_a_line_break_is_ignored() {
    let named = Hub::builder().epoch(1).gap_event_type("missed").build();
    let broken = Hub::builder().epoch(1).gap_event_type("a\nb").build();
    let first = |hub: &Hub| {
        let item = futures_executor::block_on(hub.subscribe(Some("x")).next()).unwrap();
        item.into_bytes()
    };
    assert_eq!(first(&named), "event: missed\nid: 1-0\ndata: x\n\n");
    assert_eq!(first(&broken), "event: sse-wire-gap\nid: 1-0\ndata: x\n\n");
}

#[test]
fn max_bytes_evicts_the_oldest_but_keeps_the_newest() {
    let hub = Hub::builder().epoch(1).max_bytes(10).build();
    hub.publish(ev("aaaaaaaaaaaaaaaaaaaaaa"));
    hub.publish(ev("b"));
    assert_eq!(hub.len(), 1);
    assert_eq!(hub.len_bytes(), "id: 1-2\ndata: b\n\n".len());
}

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn publish_wakes_a_waiting_subscriber_once_and_no_other() {
    let hub = Hub::builder().epoch(1).build();
    let mut waiting = hub.subscribe(Some("1-0"));
    let mut busy = hub.subscribe(Some("1-0"));
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(waiting.poll_next_unpin(&mut cx).is_pending());
    hub.publish(ev("a"));
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    // Not polled again: not waiting, not woken again.
    hub.publish(ev("b"));
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    // `busy` read an event that was not the newest: it has more to read, so it is not
    // waiting, and a publish does not wake it.
    let other = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let other_waker = Waker::from(other.clone());
    assert!(busy
        .poll_next_unpin(&mut Context::from_waker(&other_waker))
        .is_ready());
    hub.publish(ev("c"));
    assert_eq!(other.0.load(Ordering::SeqCst), 0);
}

#[test]
fn reading_the_newest_event_registers_the_waker_and_a_repeat_poll_stays_pending() {
    let hub = Hub::builder().epoch(1).build();
    let mut sub = hub.subscribe(Some("1-0"));
    hub.publish(ev("a"));
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(sub.poll_next_unpin(&mut cx).is_ready());
    assert!(sub.poll_next_unpin(&mut cx).is_pending());
    assert!(sub.poll_next_unpin(&mut cx).is_pending());
    hub.publish(ev("b"));
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    assert_eq!(ready(&mut sub), (vec![msg("1-2", "b")], false));
    // Another waker: the registration follows it.
    let second = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let second_waker = Waker::from(second.clone());
    assert!(sub
        .poll_next_unpin(&mut Context::from_waker(&second_waker))
        .is_pending());
    hub.publish(ev("c"));
    assert_eq!(second.0.load(Ordering::SeqCst), 1);
    drop(hub);
    assert_eq!(ready(&mut sub), (vec![msg("1-3", "c")], true));
}

#[test]
fn dropping_the_last_hub_handle_wakes_and_ends_subscriptions_after_the_ring() {
    let hub = Hub::builder().epoch(1).build();
    let mut sub = hub.subscribe(Some("1-0"));
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    assert!(sub
        .poll_next_unpin(&mut Context::from_waker(&waker))
        .is_pending());
    let clone = hub.clone();
    drop(hub);
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        0,
        "a clone still holds the hub"
    );
    clone.publish(ev("last"));
    drop(clone);
    assert_eq!(ready(&mut sub), (vec![msg("1-1", "last")], true));
}

#[test]
fn dropping_a_subscription_frees_its_slot() {
    let hub = Hub::new();
    let subs: Vec<_> = (0..10).map(|_| hub.subscribe(None)).collect();
    assert_eq!(hub.subscriber_count(), 10);
    drop(subs);
    assert_eq!(hub.subscriber_count(), 0);
}

#[test]
fn threads_publishing_and_reading_see_every_event_once_in_order() {
    let hub = Hub::builder().epoch(1).max_events(100_000).build();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let sub = hub.subscribe(Some("1-0"));
            std::thread::spawn(move || {
                futures_executor::block_on(sub.map(Encoded::into_bytes).collect::<Vec<Bytes>>())
            })
        })
        .collect();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let hub = hub.clone();
            std::thread::spawn(move || {
                for i in 0..5000 {
                    hub.publish(ev(&format!("{w}:{i}")));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    drop(hub);
    for reader in readers {
        let items = reader.join().unwrap();
        assert_eq!(items.len(), 10_000);
        let mut last_per_writer = [None::<u32>; 2];
        for (n, item) in items.iter().enumerate() {
            let text = std::str::from_utf8(item).unwrap();
            let want_id = format!("id: 1-{}\ndata: ", n + 1);
            assert!(text.starts_with(&want_id), "{text:?} at {n}");
            let (w, i) = text[want_id.len()..].trim_end().split_once(':').unwrap();
            let (w, i): (usize, u32) = (w.parse().unwrap(), i.parse().unwrap());
            assert!(last_per_writer[w].map_or(i == 0, |last| i == last + 1));
            last_per_writer[w] = Some(i);
        }
    }
}

#[test]
fn encode_stream_accepts_a_subscription_and_coalesces_what_is_ready() {
    let hub = Hub::builder().epoch(1).build();
    let sub = hub.subscribe(Some("1-0"));
    hub.publish(ev("a"));
    hub.publish(ev("b"));
    drop(hub);
    let chunks: Vec<_> = futures_executor::block_on(EncodeStream::new(sub).collect());
    assert_eq!(chunks.len(), 1);
    assert_eq!(
        chunks[0].as_ref().unwrap(),
        "id: 1-1\ndata: a\n\nid: 1-2\ndata: b\n\n"
    );
}

#[test]
fn tasks_on_a_multi_thread_runtime_are_woken_for_every_event() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let hub = Hub::builder().epoch(1).max_events(4096).build();
        let readers: Vec<_> = (0..50)
            .map(|_| {
                let mut sub = hub.subscribe(Some("1-0"));
                tokio::spawn(async move {
                    let mut seqs = Vec::new();
                    while let Some(item) = sub.next().await {
                        let text = std::str::from_utf8(item.as_bytes()).unwrap().to_owned();
                        let seq: u64 = text["id: 1-".len()..text.find('\n').unwrap()]
                            .parse()
                            .unwrap();
                        seqs.push(seq);
                    }
                    seqs
                })
            })
            .collect();
        for i in 0..2000 {
            hub.publish(ev(&i.to_string()));
            if i % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        drop(hub);
        for reader in readers {
            let seqs = tokio::time::timeout(std::time::Duration::from_secs(20), reader)
                .await
                .expect("a reader was never woken")
                .unwrap();
            assert_eq!(seqs, (1..=2000).collect::<Vec<u64>>());
        }
    });
}
