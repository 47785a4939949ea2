//! The state behind the hub's lock: the ring of encoded events and the subscribers' waker
//! slots.

use std::collections::VecDeque;
use std::task::Waker;
use std::vec::Vec;

use bytes::Bytes;

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
        }
        self.bytes += entry.len();
        self.ring.push_back(entry);
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
