//! `Subscription`, a cursor into the hub's ring, and `Encoded`, what it yields.

use core::convert::Infallible;
use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::string::ToString;
use std::sync::Arc;
use std::vec::{self, Vec};

use bytes::{Bytes, BytesMut};
use futures_core::stream::{FusedStream, Stream};

use super::ring::Read;
use super::{EventId, Lag, Shared};
use crate::stream::encode::sealed::Sealed;
use crate::EncodeItem;

/// One event already in its wire form, `id` line included: what a [`Subscription`] yields.
///
/// It shares the bytes the hub encoded once for every subscriber: cloning it or taking its
/// [`Bytes`] copies nothing. An [`EncodeStream`](crate::EncodeStream) takes it as an item and
/// writes it as it is.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
///
/// # futures_executor::block_on(async {
/// let hub = sse_wire::Hub::builder().epoch(1).build();
/// hub.publish(sse_wire::Event::from_data("hi"));
/// let mut sub = hub.subscribe(Some("1-0"));
/// let item: sse_wire::Encoded = sub.next().await.unwrap();
/// assert_eq!(item.as_bytes(), "id: 1-1\ndata: hi\n\n");
/// # });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded(Bytes);

impl Encoded {
    /// The wire bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    ///
    /// # futures_executor::block_on(async {
    /// let hub = sse_wire::Hub::builder().epoch(9).build();
    /// hub.publish(sse_wire::Event::builder().event("tick").data("1").build()?);
    /// let item = hub.subscribe(Some("9-0")).next().await.unwrap();
    /// assert_eq!(item.as_bytes(), "id: 9-1\nevent: tick\ndata: 1\n\n");
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// # }).unwrap();
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The wire bytes, shared with the hub's ring.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    ///
    /// # futures_executor::block_on(async {
    /// let hub = sse_wire::Hub::builder().epoch(2).build();
    /// hub.publish(sse_wire::Event::from_data("x"));
    /// let bytes: bytes::Bytes = hub.subscribe(Some("2-0")).next().await.unwrap().into_bytes();
    /// assert_eq!(bytes, "id: 2-1\ndata: x\n\n");
    /// # });
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<Encoded> for Bytes {
    fn from(encoded: Encoded) -> Bytes {
        encoded.0
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Encoded").field(&self.0).finish()
    }
}

impl Sealed for Encoded {}
impl EncodeItem for Encoded {
    type Error = Infallible;

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), Infallible> {
        buf.extend_from_slice(&self.0);
        Ok(())
    }
}

/// What a subscription sends before its first event from the ring.
#[derive(Debug)]
enum Intro {
    /// Nothing: the client resumed from an id the hub still serves.
    None,
    /// An id-only block naming the position the subscription started at (it dispatches no
    /// event), so that a client that reconnects before its first event still resumes from
    /// there, or learns of a gap, instead of silently skipping what came in between.
    Position(EventId),
    /// The gap event for an unknown, evicted or old-epoch `Last-Event-ID`.
    Gap(Bytes),
    /// Events from before the ring (a backplane's log), to send before the ring's.
    Backlog(vec::IntoIter<Bytes>),
}

/// A hub's events for one client, from [`Hub::subscribe`](crate::Hub::subscribe): a cursor
/// into the hub's ring and a slot for its waker, nothing more.
///
/// It yields [`Encoded`] events, one per poll, in the order they were published. When it
/// has read everything (returning `Pending`, or handing out the newest event) its waker is
/// registered, and the next publish wakes it; polling it again before then costs an atomic
/// load, not the hub's lock. Delivering an event allocates nothing. It ends
/// (`None`, and [`FusedStream::is_terminated`] from then on) when the hub is gone and it
/// has read everything, or when it has fallen out of the ring under [`Lag::End`].
/// Dropping it frees its slot.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_wire::{Event, Hub};
///
/// # futures_executor::block_on(async {
/// let hub = Hub::builder().epoch(5).build();
/// let mut sub = hub.subscribe(None);
/// hub.publish(Event::from_data("a"));
/// drop(hub);
/// // First the position it started from, then the event, then the end.
/// assert_eq!(sub.next().await.unwrap().as_bytes(), "id: 5-0\n\n");
/// assert_eq!(sub.next().await.unwrap().as_bytes(), "id: 5-1\ndata: a\n\n");
/// assert!(sub.next().await.is_none());
/// # });
/// ```
pub struct Subscription {
    shared: Arc<Shared>,
    /// The sequence number of the next event to yield.
    cursor: u64,
    slot: usize,
    intro: Intro,
    done: bool,
    /// The waker registered in the slot when the cursor had read everything, until the
    /// ring moves on: a poll with the same waker then returns `Pending` without the lock.
    armed: Option<Waker>,
}

impl Subscription {
    /// `position` is the id of the event before `cursor`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        cursor: u64,
        slot: usize,
        position: EventId,
        gap: Option<Bytes>,
    ) -> Self {
        Subscription {
            shared,
            cursor,
            slot,
            intro: match gap {
                Some(gap) => Intro::Gap(gap),
                None => Intro::Position(position),
            },
            done: false,
            armed: None,
        }
    }

    pub(crate) fn resumed(
        shared: Arc<Shared>,
        cursor: u64,
        slot: usize,
        backlog: Vec<Bytes>,
    ) -> Self {
        Subscription {
            shared,
            cursor,
            slot,
            intro: match backlog.is_empty() {
                true => Intro::None,
                false => Intro::Backlog(backlog.into_iter()),
            },
            done: false,
            armed: None,
        }
    }
}

impl Stream for Subscription {
    type Item = Encoded;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Encoded>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match core::mem::replace(&mut this.intro, Intro::None) {
            Intro::None => {}
            Intro::Position(position) => {
                return Poll::Ready(Some(Encoded(position_block(&position))));
            }
            Intro::Gap(gap) => return Poll::Ready(Some(Encoded(gap))),
            Intro::Backlog(mut backlog) => {
                if let Some(entry) = backlog.next() {
                    this.intro = Intro::Backlog(backlog);
                    return Poll::Ready(Some(Encoded(entry)));
                }
            }
        }
        if let Some(armed) = &this.armed {
            if armed.will_wake(cx.waker()) && !this.shared.moved_from(this.cursor) {
                return Poll::Pending;
            }
        }
        this.armed = None;
        let mut state = this.shared.lock();
        match state.read(this.cursor) {
            Read::Event(bytes) => {
                this.cursor += 1;
                if this.cursor == state.next() {
                    // The newest event: the next poll would find nothing and register.
                    // Registering now spares that poll the lock.
                    state.wait(this.slot, cx.waker());
                    this.armed = Some(cx.waker().clone());
                }
                Poll::Ready(Some(Encoded(bytes)))
            }
            Read::Lagged { oldest } => match this.shared.lag {
                Lag::End => {
                    this.done = true;
                    Poll::Ready(None)
                }
                Lag::Gap => {
                    // A hub with outside ids keeps no id for the cursor's evicted position;
                    // its backplane uses `Lag::End`, and the client resumes from the log.
                    let missed_after = this.shared.id(&state, this.cursor.saturating_sub(1));
                    let resume_after = this.shared.id(&state, oldest - 1);
                    drop(state);
                    this.cursor = oldest;
                    let gap = this
                        .shared
                        .gap_event(&missed_after.to_string(), &resume_after);
                    Poll::Ready(Some(Encoded(gap)))
                }
            },
            Read::Empty if state.is_closed() => {
                this.done = true;
                Poll::Ready(None)
            }
            Read::Empty => {
                state.wait(this.slot, cx.waker());
                this.armed = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// `id: <id>` and the empty line: sets a client's last event ID, dispatches nothing.
fn position_block(id: &EventId) -> Bytes {
    let mut out = [0; super::id::MAX_LEN];
    let id = id.write(&mut out);
    let mut buf = BytesMut::with_capacity(id.len() + 6);
    buf.extend_from_slice(b"id: ");
    buf.extend_from_slice(id);
    buf.extend_from_slice(b"\n\n");
    buf.freeze()
}

impl FusedStream for Subscription {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.lock().remove_subscriber(self.slot);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("epoch", &self.shared.epoch)
            .field("cursor", &self.cursor)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
