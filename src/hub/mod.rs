//! The fan-out hub: one bounded ring of encoded events, read by every subscriber through
//! its own cursor.
//!
//! Design notes:
//! - **One lock, short holds.** `publish` encodes the event before it takes the lock, into a
//!   buffer with room in front for the `id` line; under the lock it only writes the id,
//!   appends, evicts and takes the waiting wakers, which it wakes after letting go.
//!   A subscriber holds the lock to clone one `Bytes` (a reference count).
//! - **Ids.** The ring's sequence numbers have no holes, so an id's place in the ring is
//!   `seq - first`. A backplane that brings its own ids (a Redis stream entry id has the
//!   same `<ms>-<seq>` shape, but with holes) would keep the dense sequence numbers as the
//!   ring's positions and find an external id by binary search over the entries it holds,
//!   which are in id order; [`State::push`](ring::State::push) already takes an entry
//!   encoded elsewhere.
//! - **No clock.** The ring is bounded by events and bytes only; see [`HubBuilder`].

mod id;
#[cfg(feature = "redis")]
mod redis;
mod ring;
mod subscription;

use core::fmt;
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::vec::Vec;

use bytes::{BufMut, Bytes, BytesMut};

#[cfg(feature = "redis")]
pub use self::redis::{BackplaneError, RedisHub, RedisHubBuilder};
pub use id::EventId;
use ring::{State, WAKE_BATCH};
pub use subscription::{Encoded, Subscription};

use crate::encode::Fields;
use crate::{EncodeError, Event, EventRef};

/// What a subscription does when its cursor falls out of the ring: when it has not read
/// an event that the ring has since evicted to make room. Never a silent skip.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_wire::{Event, Hub, Lag};
///
/// # futures_executor::block_on(async {
/// let hub = Hub::builder().max_events(2).epoch(1).on_lag(Lag::Gap).build();
/// let mut sub = hub.subscribe(Some("1-0"));
/// for data in ["a", "b", "c"] {
///     hub.publish(Event::from_data(data));
/// }
/// // "a" was evicted before the subscriber read it: a gap event, then the oldest held.
/// let gap = sub.next().await.unwrap();
/// assert_eq!(gap.as_bytes(), "event: sse-wire-gap\nid: 1-1\ndata: 1-0\n\n");
/// assert_eq!(sub.next().await.unwrap().as_bytes(), "id: 1-2\ndata: b\n\n");
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lag {
    /// End the subscription's stream (the default). The client reconnects with the last
    /// event ID it received: it resumes if the ring still holds what follows it, or gets the
    /// gap event first.
    #[default]
    End,
    /// Send the gap event, its data the id of the last event the subscription yielded and
    /// its id the position before the oldest event held; then go on from that oldest event.
    Gap,
}

/// Settings for a [`Hub`], from [`Hub::builder`].
///
/// The ring is bounded by a number of events and a number of bytes; there is no age limit.
/// An age limit would need a clock, which the hub would have to read on every publish and
/// resume (this crate leaves clocks to the caller), and it bounds nothing that matters for
/// memory: the byte limit does that. What it would bound is how far back a resume reaches;
/// at a known publish rate, `max_events` does the same.
///
/// # Examples
///
/// ```
/// let hub = sse_wire::Hub::builder()
///     .max_events(1000)
///     .max_bytes(8 << 20)
///     .gap_event_type("missed")
///     .build();
/// # drop(hub);
/// ```
#[derive(Debug, Clone)]
pub struct HubBuilder {
    max_events: usize,
    max_bytes: usize,
    epoch: Option<u64>,
    gap_event_type: String,
    lag: Lag,
    external: bool,
}

impl HubBuilder {
    /// The most events the ring holds (at least 1; default 1024). Older ones are evicted.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().max_events(2).build();
    /// for data in ["a", "b", "c"] {
    ///     hub.publish(sse_wire::Event::from_data(data));
    /// }
    /// assert_eq!(hub.len(), 2);
    /// ```
    #[must_use]
    pub fn max_events(mut self, events: usize) -> Self {
        self.max_events = events.max(1);
        self
    }

    /// The most bytes of encoded events the ring holds (default 8 MiB). Older events are
    /// evicted to make room; the newest event always stays, even when it alone is larger.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().max_bytes(40).epoch(1).build();
    /// hub.publish(sse_wire::Event::from_data("aaaaaaaaaa")); // "id: 1-1\ndata: aaaaaaaaaa\n\n": 26 bytes
    /// hub.publish(sse_wire::Event::from_data("bbbbbbbbbb"));
    /// assert_eq!((hub.len(), hub.len_bytes()), (1, 26));
    /// ```
    #[must_use]
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The epoch part of the hub's ids. By default the build time in milliseconds since
    /// 1970, made unique within the process. Set it to make ids predictable (tests), or to
    /// something your deployment guarantees to change at every restart.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().epoch(42).build();
    /// assert_eq!(hub.epoch(), 42);
    /// assert_eq!(hub.publish(sse_wire::Event::from_data("x")).to_string(), "42-1");
    /// ```
    #[must_use]
    pub fn epoch(mut self, epoch: u64) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// The event type of gap events (default `sse-wire-gap`): in a browser,
    /// `source.addEventListener("sse-wire-gap", ...)`. A type with a line break cannot be
    /// sent and is ignored: the default stays.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    ///
    /// # futures_executor::block_on(async {
    /// let hub = sse_wire::Hub::builder().epoch(1).gap_event_type("missed").build();
    /// let gap = hub.subscribe(Some("bogus")).next().await.unwrap();
    /// assert_eq!(gap.as_bytes(), "event: missed\nid: 1-0\ndata: bogus\n\n");
    /// # });
    /// ```
    #[must_use]
    pub fn gap_event_type(mut self, event_type: impl AsRef<str>) -> Self {
        let event_type = event_type.as_ref();
        if !event_type.contains(['\r', '\n']) {
            self.gap_event_type = event_type.to_string();
        }
        self
    }

    /// What a subscription does when it falls out of the ring; default [`Lag::End`].
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().on_lag(sse_wire::Lag::Gap).build();
    /// # drop(hub);
    /// ```
    #[must_use]
    pub fn on_lag(mut self, lag: Lag) -> Self {
        self.lag = lag;
        self
    }

    /// Makes a hub whose events get their ids from outside, through [`Hub::ingest`] (a
    /// backplane's log), instead of numbering them itself.
    #[cfg(feature = "redis")]
    pub(crate) fn external_ids(mut self) -> Self {
        self.external = true;
        self
    }

    /// Builds the hub.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().max_events(10).build();
    /// assert_eq!(hub.len(), 0);
    /// ```
    pub fn build(self) -> Hub {
        let shared = Shared {
            state: Mutex::new(State::new()),
            tail: AtomicU64::new(1),
            epoch: self.epoch.unwrap_or_else(id::default_epoch),
            max_events: self.max_events,
            max_bytes: self.max_bytes,
            gap_event_type: self.gap_event_type,
            lag: self.lag,
            external: self.external,
        };
        Hub {
            handle: Arc::new(Handle(Arc::new(shared))),
        }
    }
}

impl Default for HubBuilder {
    fn default() -> Self {
        HubBuilder {
            max_events: 1024,
            max_bytes: 8 << 20,
            epoch: None,
            gap_event_type: String::from("sse-wire-gap"),
            lag: Lag::End,
            external: false,
        }
    }
}

/// A fan-out hub for Server-Sent Events (feature `hub`): publish an event once, and every
/// subscriber gets it; a client that reconnects with its `Last-Event-ID` gets exactly what
/// it missed.
///
/// - **One ring.** The hub keeps the last events it published, encoded, in one bounded
///   ring ([`max_events`](HubBuilder::max_events), [`max_bytes`](HubBuilder::max_bytes)).
///   The ring is both the replay buffer and the fan-out queue: a [`Subscription`] is a
///   cursor into it and a waker, so a slow client costs its cursor and nothing more, and
///   memory stays bounded by the ring whatever the number or speed of subscribers.
/// - **Publish.** [`publish`](Hub::publish) assigns the event an id, encodes it once, and
///   wakes the subscribers that were waiting. It never waits on a subscriber.
/// - **Resume.** [`subscribe`](Hub::subscribe) takes the client's `Last-Event-ID`:
///   - none (or empty): live events only, after an id-only block naming the current
///     position (it dispatches nothing; it lets a client that reconnects before its first
///     event resume without loss);
///   - an id whose successors the ring still holds: exactly the events after it, then live
///     ones, with no gap and no duplicate at the hand-off;
///   - an unknown, malformed, evicted, or other-epoch id: one gap event first (type
///     [`gap_event_type`](HubBuilder::gap_event_type), data the id the client sent, id the
///     current position), then live events. Browsers cannot read response headers, so the
///     signal is in the stream.
/// - **Lag.** A subscription that falls out of the ring is never skipped silently: see
///   [`Lag`].
/// - **Runtime.** Std locks and wakers only: it works under any executor.
/// - **Topics.** One hub per topic: each has its own ring and bounds, and a busy topic
///   cannot evict a quiet one's history. Their default epochs differ, so an id from one
///   topic offered to another is unknown there (a gap event), never a wrong resume. Keep
///   them in a map:
///
/// ```
/// use std::collections::HashMap;
/// use sse_wire::{Event, Hub};
///
/// let topics: HashMap<&str, Hub> = ["prices", "news"].map(|t| (t, Hub::new())).into();
/// let id = topics["news"].publish(Event::from_data("hello"));
/// assert_ne!(topics["prices"].epoch(), topics["news"].epoch());
/// # drop(id);
/// ```
///
/// `Hub` is a handle: clones share the hub. When the last handle is dropped, every
/// subscription ends after reading what the ring still holds.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_wire::{Event, Hub};
///
/// # futures_executor::block_on(async {
/// let hub = Hub::builder().max_events(1000).max_bytes(8 << 20).epoch(1).build();
/// let first = hub.publish(Event::from_data("a"));
/// hub.publish(Event::from_data("b"));
///
/// // A client that saw "a" reconnects: it gets "b" and then whatever comes next.
/// let mut sub = hub.subscribe(Some(&first.to_string()));
/// assert_eq!(sub.next().await.unwrap().as_bytes(), "id: 1-2\ndata: b\n\n");
/// hub.publish(Event::from_data("c"));
/// assert_eq!(sub.next().await.unwrap().as_bytes(), "id: 1-3\ndata: c\n\n");
/// # });
/// ```
#[derive(Clone)]
pub struct Hub {
    handle: Arc<Handle>,
}

/// What the `Hub` handles share; dropping the last one closes the hub.
struct Handle(Arc<Shared>);

impl Drop for Handle {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.close();
        self.0.tail.store(CLOSED, Ordering::Release);
        self.0.wake_waiting(state);
    }
}

/// What the hub and its subscriptions share.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The sequence number the next event will get, or [`CLOSED`]; written under the lock,
    /// read without it by a subscription that has read everything and registered its
    /// waker: while this has not moved, no publish has taken that waker, and polling again
    /// needs no lock.
    tail: AtomicU64,
    epoch: u64,
    max_events: usize,
    max_bytes: usize,
    gap_event_type: String,
    lag: Lag,
    /// Ids come from outside ([`Hub::ingest`]) and are kept per event in the ring, instead
    /// of being `<epoch>-<seq>`.
    external: bool,
}

/// [`Shared::tail`] once the hub is closed: no cursor ever equals it.
const CLOSED: u64 = u64::MAX;

/// The longest `id` line: `id: `, the id, and LF.
const ID_LINE_MAX: usize = 4 + id::MAX_LEN + 1;

impl Hub {
    /// A hub with the default settings: 1024 events, 8 MiB, [`Lag::End`].
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::new();
    /// let id = hub.publish(sse_wire::Event::from_data("hello"));
    /// assert_eq!(id.seq(), 1);
    /// ```
    pub fn new() -> Hub {
        HubBuilder::default().build()
    }

    /// Starts configuring a hub.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().max_events(1000).max_bytes(8 << 20).build();
    /// # drop(hub);
    /// ```
    pub fn builder() -> HubBuilder {
        HubBuilder::default()
    }

    /// Publishes `event` to every subscriber and keeps it for resuming clients; returns
    /// the id it assigned.
    ///
    /// The hub's id replaces any id the event had (the hub's ids are what makes resuming
    /// work); its type, data, retry and comments go out as they are. The event is encoded
    /// once, here: subscribers share the bytes. O(1) amortized, plus waking the
    /// subscribers that were waiting; it never waits on a subscriber.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_wire::{Event, Hub};
    ///
    /// # futures_executor::block_on(async {
    /// let hub = Hub::builder().epoch(3).build();
    /// let mut sub = hub.subscribe(Some("3-0"));
    /// let event = Event::builder().event("tick").id("ignored").data("1").build()?;
    /// let id = hub.publish(event);
    /// assert_eq!(id.to_string(), "3-1");
    /// assert_eq!(sub.next().await.unwrap().as_bytes(), "id: 3-1\nevent: tick\ndata: 1\n\n");
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// # }).unwrap();
    /// ```
    pub fn publish(&self, event: Event) -> EventId {
        self.push_entry(encode_without_id(event))
    }

    /// Puts an entry from [`entry_without_id`] in the ring under the next id, and wakes the
    /// subscribers waiting.
    fn push_entry(&self, mut entry: BytesMut) -> EventId {
        let shared = &self.handle.0;
        let mut state = shared.lock();
        let id = shared.id(&state, state.next());
        write_id_line(&mut entry, &id);
        state.push(entry.freeze(), shared.max_events, shared.max_bytes);
        shared.tail.store(state.next(), Ordering::Release);
        shared.wake_waiting(state);
        id
    }

    /// Publishes an event made of borrowed strings, as [`publish`](Hub::publish) does an
    /// [`Event`]: the server's per-event path, with no owned `Event` built first. Returns
    /// the id it assigned.
    ///
    /// The fields are checked as [`EventRef::encode`] checks them; an invalid one is an
    /// [`EncodeError`], and then nothing is published and no id is used up. The hub's id
    /// replaces the `EventRef`'s id, if it has one, as for `publish` (the id is still
    /// checked). Otherwise the subscribers get the very bytes `publish` sends for an
    /// `Event` with the same fields. The event is encoded once, straight into the ring's
    /// entry: no allocation besides that entry.
    ///
    /// A method of its own rather than a generic `publish`: `publish(Event)` cannot fail
    /// (an `Event` was checked when built), and it keeps returning a plain [`EventId`].
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_wire::{EncodeError, EventRef, Hub};
    ///
    /// # futures_executor::block_on(async {
    /// let hub = Hub::builder().epoch(4).build();
    /// let mut sub = hub.subscribe(Some("4-0"));
    /// for token in ["Hel", "lo"] {
    ///     hub.publish_ref(EventRef::new(token).event("delta"))?;
    /// }
    /// assert_eq!(sub.next().await.unwrap().as_bytes(), "id: 4-1\nevent: delta\ndata: Hel\n\n");
    /// assert_eq!(sub.next().await.unwrap().as_bytes(), "id: 4-2\nevent: delta\ndata: lo\n\n");
    ///
    /// // Refused: nothing published, and the next id is still 4-3.
    /// let bad = hub.publish_ref(EventRef::new("x").event("a\nb"));
    /// assert_eq!(bad, Err(EncodeError::EventTypeLineBreak));
    /// assert_eq!(hub.publish_ref(EventRef::new("x"))?.to_string(), "4-3");
    /// # Ok::<(), EncodeError>(())
    /// # }).unwrap();
    /// ```
    pub fn publish_ref(&self, event: EventRef<'_>) -> Result<EventId, EncodeError> {
        let entry = entry_without_id(event.fields()?);
        Ok(self.push_entry(entry))
    }

    /// A subscription for a client whose `Last-Event-ID` header is `last_event_id`
    /// (`None` when it sent none). See the resume rules on [`Hub`].
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_wire::{Event, Hub};
    ///
    /// # futures_executor::block_on(async {
    /// let hub = Hub::builder().epoch(8).build();
    /// hub.publish(Event::from_data("a"));
    ///
    /// // A new client: its position, then live events.
    /// assert_eq!(hub.subscribe(None).next().await.unwrap().as_bytes(), "id: 8-1\n\n");
    /// // An id from before a restart: the gap event, then live events.
    /// let gap = hub.subscribe(Some("7-1")).next().await.unwrap();
    /// assert_eq!(gap.as_bytes(), "event: sse-wire-gap\nid: 8-1\ndata: 7-1\n\n");
    /// # });
    /// ```
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let shared = Arc::clone(&self.handle.0);
        let mut state = shared.lock();
        let next = state.next();
        let position = shared.id(&state, next - 1);
        let slot = state.add_subscriber();
        let requested = last_event_id.filter(|id| !id.is_empty());
        let resume = requested
            .and_then(EventId::parse)
            .and_then(|id| shared.resume_seq(&state, &id));
        drop(state);
        match (requested, resume) {
            (_, Some(seq)) => Subscription::resumed(shared, seq + 1, slot, Vec::new()),
            (None, None) => Subscription::new(shared, next, slot, position, None),
            (Some(requested), None) => {
                let gap = shared.gap_event(requested, &position);
                Subscription::new(shared, next, slot, position, Some(gap))
            }
        }
    }

    /// Adds an event whose id `id` was given from outside (a hub built with
    /// `external_ids`): encodes it once with that id, and wakes the subscribers waiting.
    /// An id not after the newest held is ignored; returns whether the event was added.
    #[cfg(feature = "redis")]
    pub(crate) fn ingest(&self, id: EventId, event: Event) -> bool {
        let shared = &self.handle.0;
        debug_assert!(
            shared.external,
            "ingest on a hub that numbers its own events"
        );
        let entry = encode_with_id(event, &id);
        let mut state = shared.lock();
        let added = state.push_keyed(id, entry, shared.max_events, shared.max_bytes);
        if added {
            shared.tail.store(state.next(), Ordering::Release);
            shared.wake_waiting(state);
        }
        added
    }

    /// For a hub with outside ids: sets where it starts (the id before the first event it
    /// will hold), before anything is ingested.
    #[cfg(feature = "redis")]
    pub(crate) fn set_origin(&self, origin: EventId) {
        self.handle.0.lock().set_origin(origin);
    }

    /// A subscription that yields `backlog` (events already encoded, from before the
    /// ring; taken on success), then the events after `after` from the ring. `Err` with
    /// the id before the oldest event held when the ring no longer follows on from `after`.
    #[cfg(feature = "redis")]
    pub(crate) fn resume_after(
        &self,
        after: &EventId,
        backlog: &mut Vec<Bytes>,
    ) -> Result<Subscription, EventId> {
        let shared = Arc::clone(&self.handle.0);
        let mut state = shared.lock();
        match shared.resume_seq(&state, after) {
            Some(seq) => {
                let slot = state.add_subscriber();
                drop(state);
                let backlog = core::mem::take(backlog);
                Ok(Subscription::resumed(shared, seq + 1, slot, backlog))
            }
            None => Err(shared.id(&state, state.first() - 1)),
        }
    }

    /// The epoch part of this hub's ids.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::new();
    /// let id = hub.publish(sse_wire::Event::from_data("x"));
    /// assert_eq!(id.epoch(), hub.epoch());
    /// ```
    pub fn epoch(&self) -> u64 {
        self.handle.0.epoch
    }

    /// The id of the last event published, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::new();
    /// assert_eq!(hub.last_id(), None);
    /// let id = hub.publish(sse_wire::Event::from_data("x"));
    /// assert_eq!(hub.last_id(), Some(id));
    /// ```
    pub fn last_id(&self) -> Option<EventId> {
        let shared = &self.handle.0;
        let state = shared.lock();
        let last = shared.id(&state, state.next() - 1);
        (last != EventId::new(shared.epoch, 0) && last != EventId::new(0, 0)).then_some(last)
    }

    /// How many events the ring holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().max_events(1).build();
    /// assert_eq!(hub.len(), 0);
    /// hub.publish(sse_wire::Event::from_data("a"));
    /// hub.publish(sse_wire::Event::from_data("b"));
    /// assert_eq!(hub.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.handle.0.lock().len()
    }

    /// Whether the ring holds no event: nothing was published yet.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::new();
    /// assert!(hub.is_empty());
    /// hub.publish(sse_wire::Event::from_data("a"));
    /// assert!(!hub.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many bytes of encoded events the ring holds: what
    /// [`max_bytes`](HubBuilder::max_bytes) bounds.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().epoch(1).build();
    /// hub.publish(sse_wire::Event::from_data("a"));
    /// assert_eq!(hub.len_bytes(), "id: 1-1\ndata: a\n\n".len());
    /// ```
    pub fn len_bytes(&self) -> usize {
        self.handle.0.lock().bytes()
    }

    /// How many subscriptions are alive.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::new();
    /// let sub = hub.subscribe(None);
    /// assert_eq!(hub.subscriber_count(), 1);
    /// drop(sub);
    /// assert_eq!(hub.subscriber_count(), 0);
    /// ```
    pub fn subscriber_count(&self) -> usize {
        self.handle.0.lock().subscribers()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.handle.0;
        let state = shared.lock();
        f.debug_struct("Hub")
            .field("epoch", &shared.epoch)
            .field("events", &state.len())
            .field("bytes", &state.bytes())
            .field("subscribers", &state.subscribers())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The lock. A panic while it was held (only a waker's `clone` could panic there)
    /// leaves the state consistent, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the ring has moved on from `next` (an event published, or the hub closed).
    fn moved_from(&self, next: u64) -> bool {
        self.tail.load(Ordering::Acquire) != next
    }

    /// The id of the event with sequence number `seq`: `<epoch>-<seq>`, or with outside
    /// ids the one the ring keeps for it.
    fn id(&self, state: &State, seq: u64) -> EventId {
        if self.external {
            state.key(seq)
        } else {
            EventId::new(self.epoch, seq)
        }
    }

    /// The sequence number of the event a client that last saw `id` has seen, when the
    /// ring holds everything after it.
    fn resume_seq(&self, state: &State, id: &EventId) -> Option<u64> {
        if self.external {
            return state.seq_of(id);
        }
        Some(id.seq())
            .filter(|_| id.epoch() == self.epoch)
            // Known (issued already) and nothing after it evicted: `seq + 1 >= first`.
            .filter(|&seq| seq < state.next() && seq >= state.first() - 1)
    }

    /// Wakes the subscriptions waiting when called (not those that register meanwhile:
    /// they saw what was published), a batch at a time with the lock released.
    fn wake_waiting<'a>(&'a self, mut state: MutexGuard<'a, State>) {
        let list = state.take_waiting();
        let mut batches = list.chunks(WAKE_BATCH).peekable();
        loop {
            let mut batch: [Option<Waker>; WAKE_BATCH] = Default::default();
            let last = match batches.next() {
                Some(slots) => {
                    state.take_wakers(slots, &mut batch);
                    batches.peek().is_none()
                }
                None => true,
            };
            if last {
                state.give_back(list);
                drop(state);
                wake(&mut batch);
                return;
            }
            drop(state);
            wake(&mut batch);
            state = self.lock();
        }
    }

    /// The gap event: `requested` (what the client resumed from, or the last id the
    /// subscription yielded) as its data, and `resume_after`, the position the stream goes
    /// on from, as its id.
    fn gap_event(&self, requested: &str, resume_after: &EventId) -> Bytes {
        let event = Event::builder()
            .event(&self.gap_event_type)
            .id(resume_after.to_string())
            .data(requested)
            .build();
        // The type was checked by the builder's setter, and ids have no line break.
        debug_assert!(event.is_ok(), "gap event refused: {event:?}");
        event.map(|event| event.to_bytes()).unwrap_or_default()
    }
}

fn wake(batch: &mut [Option<Waker>; WAKE_BATCH]) {
    for waker in batch.iter_mut().filter_map(Option::take) {
        waker.wake();
    }
}

/// Encodes `event` without its id, after `ID_LINE_MAX` bytes of room for the hub's `id`
/// line, which [`write_id_line`] fills in under the lock. Clients read a block's fields in
/// any order, so the id may come first. The buffer is made shared here, outside the lock
/// (one allocation), so that subscribers' clones of the entry never allocate.
fn encode_without_id(event: Event) -> BytesMut {
    entry_without_id(event.fields(event.retry()))
}

/// [`encode_without_id`] for the fields of an [`Event`] or an [`EventRef`], whatever their
/// `id`.
fn entry_without_id<'a>(fields: Fields<'a, impl Iterator<Item = &'a [u8]> + Clone>) -> BytesMut {
    let fields = Fields { id: None, ..fields };
    // The exact length: the writer's own reservation (each text as one line) is never more,
    // so the entry is allocated once.
    let mut buf = BytesMut::with_capacity(ID_LINE_MAX + fields.encoded_len() + 1);
    buf.resize(ID_LINE_MAX, 0);
    fields.write(&mut buf);
    if buf.len() == ID_LINE_MAX {
        // An empty event writes nothing: the id line alone is the block, closed here.
        buf.put_u8(b'\n');
    }
    drop(buf.split_to(0));
    buf
}

/// The event encoded with `id` as its id.
#[cfg(feature = "redis")]
pub(crate) fn encode_with_id(event: Event, id: &EventId) -> Bytes {
    let mut entry = encode_without_id(event);
    write_id_line(&mut entry, id);
    entry.freeze()
}

/// Writes `id: <id>\n` at the end of the room [`encode_without_id`] left, and skips the
/// rest of the room.
fn write_id_line(buf: &mut BytesMut, id: &EventId) {
    let mut digits = [0; id::MAX_LEN];
    let id = id.write(&mut digits);
    let start = ID_LINE_MAX - (id.len() + 5);
    if let Some(line) = buf.get_mut(start..ID_LINE_MAX) {
        let (prefix, rest) = line.split_at_mut(4);
        prefix.copy_from_slice(b"id: ");
        let (value, lf) = rest.split_at_mut(id.len());
        value.copy_from_slice(id);
        lf.copy_from_slice(b"\n");
    }
    bytes::Buf::advance(buf, start);
}
