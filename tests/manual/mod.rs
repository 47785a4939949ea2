//! A stream the test feeds by hand, shared by the adapter tests.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_util::stream::{Stream, StreamExt};
use futures_util::task::noop_waker_ref;

/// A stream the test feeds by hand; records how it is polled.
pub(crate) struct Manual<T>(Rc<RefCell<ManualState<T>>>);

pub(crate) struct ManualState<T> {
    queue: VecDeque<T>,
    pub(crate) closed: bool,
    waker: Option<Waker>,
    pub(crate) polls: usize,
    pub(crate) polled_after_end: bool,
    ended: bool,
}

impl<T> Manual<T> {
    pub(crate) fn new() -> (Self, Rc<RefCell<ManualState<T>>>) {
        let state = Rc::new(RefCell::new(ManualState {
            queue: VecDeque::new(),
            closed: false,
            waker: None,
            polls: 0,
            polled_after_end: false,
            ended: false,
        }));
        (Manual(state.clone()), state)
    }
}

impl<T> ManualState<T> {
    pub(crate) fn push(&mut self, item: T) {
        self.queue.push_back(item);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

impl<T> Stream for Manual<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.0.borrow_mut();
        state.polls += 1;
        if state.ended {
            state.polled_after_end = true;
        }
        if let Some(item) = state.queue.pop_front() {
            return Poll::Ready(Some(item));
        }
        if state.closed {
            state.ended = true;
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Polls once with a waker that does nothing.
pub(crate) fn poll<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    stream.poll_next_unpin(&mut Context::from_waker(noop_waker_ref()))
}
