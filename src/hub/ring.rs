//! The state behind the hub's lock: the ring of encoded events and the subscribers' waker
//! slots.

use std::collections::VecDeque;
use std::task::Waker;
use std::vec::Vec;

use bytes::Bytes;

use super::EventId;

/// How many wakers a publish takes out of the lock at a time: they are woken with the lock
/// released (a woken task on another thread goes straight for it), from an array on the
/// stack, so waking allocates nothing.
pub(crate) const WAKE_BATCH: usize = 32;

/// The ring and the subscribers, guarded together by the hub's one lock, so that a
/// subscriber's "nothing more, wake me" and a publish never cross.
#[derive(Debug)]
pub(crate) struct State {
    /// Encoded events, oldest first: the replay buffer and the fan-out queue at once.
    ring: VecDeque<Bytes>,
    /// The sequence number of `ring[0]` (of the next event while the ring is empty).
    /// Starts at 1: 0 names the position before the first event.
    first: u64,
    /// The sum of the lengths in `ring`.
    bytes: usize,
    /// Ids given from outside (a backplane's), one per event in `ring`, in the same order
    /// and increasing; empty for a hub that numbers its own events.
    keys: VecDeque<EventId>,
    /// With outside ids: the id of the position before `ring[0]` (the last event evicted,
    /// or where the hub started).
    origin: EventId,
    /// The last `Hub` handle is gone: no event will come any more.
    closed: bool,
    /// One per live subscription, reused after it is dropped.
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// Slots whose subscription found nothing to read and registered its waker. An index
    /// is in here at most once (`Slot::listed`); a dropped slot's index may linger until
    /// the next publish takes it out.
    waiting: Vec<usize>,
    /// An empty list with room, swapped in while a publish works through `waiting`.
    spare: Vec<usize>,
}

#[derive(Debug, Default)]
struct Slot {
    waker: Option<Waker>,
    /// The slot's index is in `State::waiting`.
    listed: bool,
}

/// Where a subscription's cursor stands against the ring.
#[derive(Debug)]
pub(crate) enum Read {
    /// The event at the cursor.
    Event(Bytes),
    /// The cursor is older than the oldest event held: what it pointed at was evicted.
    Lagged { oldest: u64 },
    /// Nothing at the cursor yet.
    Empty,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            ring: VecDeque::new(),
            first: 1,
            bytes: 0,
            keys: VecDeque::new(),
            origin: EventId::new(0, 0),
            closed: false,
            slots: Vec::new(),
            free: Vec::new(),
            waiting: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The sequence number of the oldest event held (of the next one if none is).
    pub(crate) fn first(&self) -> u64 {
        self.first
    }

    /// The sequence number the next event will get.
    pub(crate) fn next(&self) -> u64 {
        // The ring never holds more than `max_events` entries, a `usize`.
        self.first + self.ring.len() as u64
    }

    pub(crate) fn len(&self) -> usize {
        self.ring.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Appends an encoded event, having evicted the oldest ones until it fits within both
    /// limits; the new event always goes in, so that live subscribers get it even when it
    /// alone is over `max_bytes`. Evicting first keeps the ring's allocation at
    /// `max_events` entries.
    pub(crate) fn push(&mut self, entry: Bytes, max_events: usize, max_bytes: usize) {
        while self.ring.len() >= max_events
            || (!self.ring.is_empty() && self.bytes.saturating_add(entry.len()) > max_bytes)
        {
            let Some(old) = self.ring.pop_front() else {
                break;
            };
            self.bytes -= old.len();
            self.first += 1;
            if let Some(key) = self.keys.pop_front() {
                self.origin = key;
            }
        }
        self.bytes += entry.len();
        self.ring.push_back(entry);
    }

    /// [`push`](State::push) for an event whose id was given from outside. Ids must
    /// increase: one not after the newest held (a backplane reading an event twice) is
    /// ignored. Returns whether the event was added.
    #[cfg(feature = "redis")]
    pub(crate) fn push_keyed(
        &mut self,
        key: EventId,
        entry: Bytes,
        max_events: usize,
        max_bytes: usize,
    ) -> bool {
        if key <= *self.keys.back().unwrap_or(&self.origin) {
            return false;
        }
        self.push(entry, max_events, max_bytes);
        self.keys.push_back(key);
        true
    }

    /// With outside ids: where the hub starts, before any event is held.
    #[cfg(feature = "redis")]
    pub(crate) fn set_origin(&mut self, origin: EventId) {
        debug_assert!(self.keys.is_empty(), "the origin moves only by eviction");
        self.origin = origin;
    }

    /// With outside ids: the id of the event with sequence number `seq`, or the origin
    /// for `first - 1` (the only position before the ring a caller asks about).
    pub(crate) fn key(&self, seq: u64) -> EventId {
        let at = seq
            .checked_sub(self.first)
            .and_then(|at| usize::try_from(at).ok());
        match at.and_then(|at| self.keys.get(at)) {
            Some(key) => key.clone(),
            None => {
                debug_assert_eq!(seq + 1, self.first, "no id for an evicted position");
                self.origin.clone()
            }
        }
    }

    /// With outside ids: the sequence number of the event with id `key` (of the position
    /// before the ring for the origin), by binary search, as the ids increase.
    pub(crate) fn seq_of(&self, key: &EventId) -> Option<u64> {
        if *key == self.origin {
            return Some(self.first - 1);
        }
        let at = self.keys.binary_search(key).ok()?;
        // `at` is below the ring's length, a `usize` bounded by `max_events`.
        Some(self.first + at as u64)
    }

    /// The event with sequence number `seq`, or why there is none.
    pub(crate) fn read(&self, seq: u64) -> Read {
        if seq < self.first {
            return Read::Lagged { oldest: self.first };
        }
        let entry = usize::try_from(seq - self.first)
            .ok()
            .and_then(|at| self.ring.get(at));
        match entry {
            Some(bytes) => Read::Event(bytes.clone()),
            None => Read::Empty,
        }
    }

    /// A slot for a new subscription.
    pub(crate) fn add_subscriber(&mut self) -> usize {
        match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
        }
    }

    pub(crate) fn remove_subscriber(&mut self, slot: usize) {
        if let Some(entry) = self.slots.get_mut(slot) {
            entry.waker = None;
            self.free.push(slot);
        }
    }

    pub(crate) fn subscribers(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Registers `waker` to be woken by the next publish (or by the hub closing). Clones it
    /// only when it is not the one already held.
    pub(crate) fn wait(&mut self, slot: usize, waker: &Waker) {
        let Some(entry) = self.slots.get_mut(slot) else {
            return;
        };
        match &entry.waker {
            Some(held) if held.will_wake(waker) => {}
            _ => entry.waker = Some(waker.clone()),
        }
        if !entry.listed {
            entry.listed = true;
            self.waiting.push(slot);
        }
    }

    pub(crate) fn close(&mut self) {
        self.closed = true;
    }

    /// Takes the waiting list as it stands: the subscriptions a publish must wake. Those
    /// that register from now on go to a fresh list (the spare one, so that no allocation
    /// is needed once both have grown).
    pub(crate) fn take_waiting(&mut self) -> Vec<usize> {
        let spare = core::mem::take(&mut self.spare);
        core::mem::replace(&mut self.waiting, spare)
    }

    /// Hands a list from [`take_waiting`](State::take_waiting) back for reuse.
    pub(crate) fn give_back(&mut self, mut list: Vec<usize>) {
        list.clear();
        if list.capacity() > self.spare.capacity() {
            self.spare = list;
        }
    }

    /// Takes the wakers of `slots` (at most [`WAKE_BATCH`]) into `batch`; their slots are no
    /// longer listed as waiting.
    pub(crate) fn take_wakers(&mut self, slots: &[usize], batch: &mut [Option<Waker>; WAKE_BATCH]) {
        for (cell, &slot) in batch.iter_mut().zip(slots) {
            if let Some(entry) = self.slots.get_mut(slot) {
                entry.listed = false;
                *cell = entry.waker.take();
            }
        }
    }
}

#[cfg(all(test, feature = "redis"))]
mod tests {
    use super::*;

    fn push(state: &mut State, ms: u64, seq: u64) -> bool {
        state.push_keyed(
            EventId::new(ms, seq),
            Bytes::from_static(b"x"),
            3,
            usize::MAX,
        )
    }

    #[test]
    fn outside_ids_are_found_by_binary_search_and_the_origin_follows_eviction() {
        let mut state = State::new();
        state.set_origin(EventId::new(5, 0));
        assert!(push(&mut state, 7, 0));
        assert!(push(&mut state, 7, 3));
        assert!(!push(&mut state, 7, 3), "an id read twice is ignored");
        assert!(!push(&mut state, 6, 9), "an older id is ignored");
        assert_eq!(state.seq_of(&EventId::new(5, 0)), Some(0));
        assert_eq!(state.seq_of(&EventId::new(7, 3)), Some(2));
        assert_eq!(
            state.seq_of(&EventId::new(7, 1)),
            None,
            "between two held ids"
        );
        assert!(push(&mut state, 9, 0));
        assert!(push(&mut state, 9, 1));
        // Holds 7-3, 9-0, 9-1: 7-0 was evicted and is the origin now.
        assert_eq!(state.seq_of(&EventId::new(7, 0)), Some(1));
        assert_eq!(state.seq_of(&EventId::new(5, 0)), None);
        assert_eq!(state.key(1), EventId::new(7, 0));
        assert_eq!(state.key(4), EventId::new(9, 1));
    }
}
