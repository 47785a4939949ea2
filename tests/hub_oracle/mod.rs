//! A plain model of the hub's rules, and a driver that runs a schedule of operations
//! against a real `Hub` and the model side by side, checking every poll's exact bytes,
//! every wake, and the ring's size after every step.
//!
//! Shared by `tests/hub_model.rs` (proptest) and the `hub` fuzz target
//! (`fuzz/checks/hub.rs`, replayed by `tests/fuzz_corpus.rs`). It shares no code with
//! `src/hub`: the model keeps every published event in a `Vec`, works out the ring's window
//! from the documented limits, and writes the expected wire bytes itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::StreamExt;
use sse_wire::{Event, Hub, Lag, Subscription};

/// The epoch of the hub under test; ids of "another epoch" use its neighbours.
pub(crate) const EPOCH: u64 = 1000;
const GAP_TYPE: &str = "sse-wire-gap";

#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) max_events: usize,
    pub(crate) max_bytes: usize,
    pub(crate) lag_gap: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Publish an event with this type (none: the default) and data (none: no data line).
    Publish {
        event_type: Option<String>,
        data: Option<String>,
    },
    Subscribe(Resume),
    /// Poll subscriber `sub` (modulo those alive) `times` times, with a new waker or the
    /// one it used last.
    Poll {
        sub: usize,
        times: u8,
        new_waker: bool,
    },
    Drop {
        sub: usize,
    },
}

/// The `Last-Event-ID` a new subscriber sends.
#[derive(Debug, Clone)]
pub(crate) enum Resume {
    None,
    Empty,
    /// This hub's epoch, `back` before the last event published (saturating at 0): held,
    /// just before the oldest held, or evicted, as the schedule has it.
    Back(u64),
    /// This hub's epoch, `ahead` past the last event published: never issued.
    Ahead(u64),
    /// A neighbouring epoch (`up`: the next one, else the previous), sequence `seq`.
    OtherEpoch {
        up: bool,
        seq: u64,
    },
    /// Any text at all.
    Text(String),
}

struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Sub {
    real: Subscription,
    /// The next sequence number to deliver.
    cursor: u64,
    /// Bytes owed before anything from the ring: the position block or a gap event.
    intro: Option<Vec<u8>>,
    done: bool,
    /// Every waker this subscriber polled with, and how often each must have been woken.
    wakers: Vec<(Arc<Counter>, usize)>,
    /// The waker registered by the last `Pending`, until a publish or the close wakes it.
    waiting: Option<usize>,
    received: Vec<u64>,
    /// The poll being modelled handed out an event from the ring.
    just_read: bool,
}

pub(crate) struct Model {
    setup: Setup,
    hub: Option<Hub>,
    /// The expected bytes of every event published; sequence number `i + 1` at `i`.
    published: Vec<Vec<u8>>,
    /// The oldest sequence number the ring holds (the next one when it holds none).
    first: u64,
    subs: Vec<Sub>,
}

fn id(seq: u64) -> String {
    format!("{EPOCH}-{seq}")
}

/// The wire form the rules call for: the hub's id line, then the event's fields, then the
/// empty line; each data line its own `data:` line.
fn event_bytes(seq: u64, event_type: Option<&str>, data: Option<&str>) -> Vec<u8> {
    let mut out = format!("id: {}\n", id(seq));
    if let Some(t) = event_type {
        out += &format!("event: {t}\n");
    }
    if let Some(d) = data {
        for line in d.split('\n') {
            out += &format!("data: {line}\n");
        }
    }
    out += "\n";
    out.into_bytes()
}

fn gap_bytes(position: u64, data: &str) -> Vec<u8> {
    let mut out = format!("event: {GAP_TYPE}\nid: {}\n", id(position));
    // The text the client sent, each of its lines (CRLF, CR or LF ends one) a data line.
    for line in data.replace("\r\n", "\n").replace('\r', "\n").split('\n') {
        out += &format!("data: {line}\n");
    }
    out += "\n";
    out.into_bytes()
}

/// `<epoch>-<seq>` in plain decimal only (no sign, no leading zero), as the hub documents.
fn parse_id(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.split_once('-')?;
    let number = |s: &str| {
        let plain = s == "0"
            || (!s.is_empty() && !s.starts_with('0')) && s.bytes().all(|b| b.is_ascii_digit());
        if plain {
            s.parse::<u64>().ok()
        } else {
            None
        }
    };
    Some((number(a)?, number(b)?))
}

impl Model {
    /// A model of a hub with `setup`, run against a real hub built with `real` (the same,
    /// except in the test that shows the driver can fail).
    pub(crate) fn new(setup: Setup, real: &Setup) -> Model {
        let max_events = setup.max_events.max(1);
        let hub = Hub::builder()
            .epoch(EPOCH)
            .max_events(real.max_events)
            .max_bytes(real.max_bytes)
            .on_lag(if real.lag_gap { Lag::Gap } else { Lag::End })
            .build();
        Model {
            setup: Setup {
                max_events,
                ..setup
            },
            hub: Some(hub),
            published: Vec::new(),
            first: 1,
            subs: Vec::new(),
        }
    }

    fn next(&self) -> u64 {
        self.published.len() as u64 + 1
    }

    fn held(&self) -> &[Vec<u8>] {
        &self.published[self.first as usize - 1..]
    }

    pub(crate) fn apply(&mut self, op: &Op) {
        match op {
            Op::Publish { event_type, data } => {
                self.publish(event_type.as_deref(), data.as_deref())
            }
            Op::Subscribe(resume) => self.subscribe(resume),
            Op::Poll {
                sub,
                times,
                new_waker,
            } => {
                if !self.subs.is_empty() {
                    let i = sub % self.subs.len();
                    for k in 0..*times {
                        self.poll(i, *new_waker && k == 0);
                    }
                }
            }
            Op::Drop { sub } => {
                if !self.subs.is_empty() {
                    let i = sub % self.subs.len();
                    self.subs.remove(i);
                }
            }
        }
        self.check_counts();
    }

    fn publish(&mut self, event_type: Option<&str>, data: Option<&str>) {
        let hub = self.hub.as_ref().expect("no publish after close");
        let mut builder = Event::builder().id("the hub overrides this");
        if let Some(t) = event_type {
            builder = builder.event(t);
        }
        if let Some(d) = data {
            builder = builder.data(d);
        }
        let got = hub.publish(builder.build().expect("a valid event"));
        let seq = self.next();
        assert_eq!(got.to_string(), id(seq), "the id publish returned");
        self.published.push(event_bytes(seq, event_type, data));
        // Evict the oldest while over either limit, keeping the newest.
        loop {
            let held = self.held();
            let bytes: usize = held.iter().map(Vec::len).sum();
            if held.len() > 1
                && (held.len() > self.setup.max_events || bytes > self.setup.max_bytes)
            {
                self.first += 1;
            } else {
                break;
            }
        }
        for sub in &mut self.subs {
            if let Some(w) = sub.waiting.take() {
                sub.wakers[w].1 += 1;
            }
        }
    }

    fn subscribe(&mut self, resume: &Resume) {
        let last = self.next() - 1;
        let text = match resume {
            Resume::None => None,
            Resume::Empty => Some(String::new()),
            Resume::Back(back) => Some(id(last.saturating_sub(*back))),
            Resume::Ahead(ahead) => Some(id(last.saturating_add(1).saturating_add(*ahead))),
            Resume::OtherEpoch { up, seq } => {
                Some(format!("{}-{seq}", if *up { EPOCH + 1 } else { EPOCH - 1 }))
            }
            Resume::Text(text) => Some(text.clone()),
        };
        let hub = self.hub.as_ref().expect("no subscribe after close");
        let real = hub.subscribe(text.as_deref());
        let next = self.next();
        let (cursor, intro) = match text.as_deref().filter(|t| !t.is_empty()) {
            None => (next, Some(format!("id: {}\n\n", id(next - 1)).into_bytes())),
            Some(t) => match parse_id(t) {
                Some((EPOCH, seq)) if seq < next && seq + 1 >= self.first => (seq + 1, None),
                _ => (next, Some(gap_bytes(next - 1, t))),
            },
        };
        self.subs.push(Sub {
            real,
            cursor,
            intro,
            done: false,
            wakers: vec![(Arc::new(Counter(AtomicUsize::new(0))), 0)],
            waiting: None,
            received: Vec::new(),
            just_read: false,
        });
    }

    /// What the rules say the next poll gives: `Some(Some(bytes))`, `Some(None)` for the
    /// end, `None` for pending; and whether the poll registers its waker (it returns
    /// pending, or hands out the newest event). Updates the model's side of the subscriber.
    fn expect_poll(&mut self, i: usize) -> (Option<Option<Vec<u8>>>, bool) {
        let want = self.expect_item(i);
        let newest = want.is_some() && self.subs[i].received.last() == Some(&(self.next() - 1));
        let registers = want.is_none() || (newest && self.subs[i].just_read);
        self.subs[i].just_read = false;
        (want, registers)
    }

    fn expect_item(&mut self, i: usize) -> Option<Option<Vec<u8>>> {
        let closed = self.hub.is_none();
        let (first, next) = (self.first, self.next());
        let lag_gap = self.setup.lag_gap;
        let sub = &mut self.subs[i];
        if sub.done {
            return Some(None);
        }
        if let Some(intro) = sub.intro.take() {
            return Some(Some(intro));
        }
        if sub.cursor < first {
            if lag_gap {
                let gap = gap_bytes(first - 1, &id(sub.cursor - 1));
                sub.cursor = first;
                return Some(Some(gap));
            }
            sub.done = true;
            return Some(None);
        }
        if sub.cursor < next {
            let seq = sub.cursor;
            sub.cursor += 1;
            sub.received.push(seq);
            sub.just_read = true;
            return Some(Some(self.published[seq as usize - 1].clone()));
        }
        if closed {
            sub.done = true;
            return Some(None);
        }
        None
    }

    fn poll(&mut self, i: usize, new_waker: bool) {
        if new_waker {
            self.subs[i]
                .wakers
                .push((Arc::new(Counter(AtomicUsize::new(0))), 0));
        }
        let w = self.subs[i].wakers.len() - 1;
        let waker = Waker::from(self.subs[i].wakers[w].0.clone());
        let got = match self.subs[i]
            .real
            .poll_next_unpin(&mut Context::from_waker(&waker))
        {
            Poll::Ready(item) => Some(item.map(|e| e.into_bytes().to_vec())),
            Poll::Pending => None,
        };
        let (want, registers) = self.expect_poll(i);
        let show = |x: &Option<Option<Vec<u8>>>| {
            format!(
                "{:?}",
                x.as_ref()
                    .map(|o| o.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()))
            )
        };
        assert!(
            got == want,
            "subscriber {i}: got {}, want {}",
            show(&got),
            show(&want)
        );
        let sub = &mut self.subs[i];
        if registers {
            sub.waiting = Some(w);
        }
        assert_eq!(
            futures_util::stream::FusedStream::is_terminated(&sub.real),
            sub.done,
            "subscriber {i}: is_terminated"
        );
    }

    fn check_counts(&self) {
        for (i, sub) in self.subs.iter().enumerate() {
            for (k, (counter, want)) in sub.wakers.iter().enumerate() {
                assert_eq!(
                    counter.0.load(Ordering::SeqCst),
                    *want,
                    "subscriber {i}, waker {k}: wakes"
                );
            }
            let seqs = &sub.received;
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "subscriber {i}: order {seqs:?}"
            );
        }
        if let Some(hub) = &self.hub {
            assert_eq!(hub.len(), self.held().len(), "events held");
            assert_eq!(
                hub.len_bytes(),
                self.held().iter().map(Vec::len).sum::<usize>(),
                "bytes held"
            );
            assert_eq!(hub.subscriber_count(), self.subs.len(), "subscribers");
            assert_eq!(
                hub.last_id().map(|id| id.to_string()),
                (self.next() > 1).then(|| id(self.next() - 1))
            );
        }
    }

    /// Drops the hub: every waiting subscriber is woken once, and each then reads what it
    /// is owed and ends.
    pub(crate) fn close(&mut self) {
        self.hub = None;
        for sub in &mut self.subs {
            if let Some(w) = sub.waiting.take() {
                sub.wakers[w].1 += 1;
            }
        }
        self.check_counts();
        for i in 0..self.subs.len() {
            // Bounded: the intro, the held events, a gap, and the end.
            for _ in 0..self.published.len() + 4 {
                self.poll(i, false);
                if self.subs[i].done {
                    break;
                }
            }
            assert!(
                self.subs[i].done,
                "subscriber {i} did not end after the close"
            );
        }
    }
}

/// Runs `ops` against a hub and the model, then closes the hub and drains everyone.
pub(crate) fn run(setup: Setup, ops: &[Op]) {
    let real = setup.clone();
    run_with(setup, real, ops);
}

/// [`run`], with the real hub built from `real` rather than `setup`.
pub(crate) fn run_with(setup: Setup, real: Setup, ops: &[Op]) {
    let mut model = Model::new(setup, &real);
    for op in ops {
        model.apply(op);
    }
    model.close();
}
