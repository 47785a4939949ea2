//! `EventRef`: an event of borrowed strings, encoded at once. The per-event path of a server
//! that streams tokens or ticks: no owned `Event`, no allocation.

use core::time::Duration;

use bytes::BytesMut;

use crate::encode::Fields;
use crate::event::{check_event_type, check_id, retry_millis};
use crate::EncodeError;

/// An event made of borrowed strings, written straight into a buffer: what a server pays per
/// event when it streams LLM tokens or ticks.
///
/// [`encode`](EventRef::encode) checks the fields as
/// [`EventBuilder::build`](crate::EventBuilder::build) does (an event type or id with CR or
/// LF, or an id with NUL, is an [`EncodeError`], and then nothing is written) and writes the
/// very bytes the builder's event would for the same fields. It allocates nothing when the
/// buffer has room, finds the line breaks of the data in one pass and copies each line once.
///
/// An `EventRef` always has data (`data("")` included, which dispatches an empty event);
/// blocks without data, such as a retry-only block, are the builder's. It holds at most one
/// comment.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use sse_wire::EventRef;
///
/// let mut buf = BytesMut::with_capacity(64 * 1024); // reused for every event
/// // (id, token) pairs, borrowed from wherever they come from.
/// for (id, token) in [("1", "Hel"), ("2", "lo")] {
///     EventRef::new(token).event("delta").id(id).encode(&mut buf)?;
/// }
/// assert_eq!(
///     &buf[..],
///     b"event: delta\nid: 1\ndata: Hel\n\nevent: delta\nid: 2\ndata: lo\n\n"
/// );
/// # Ok::<(), sse_wire::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "an `EventRef` writes nothing until `encode` is called"]
pub struct EventRef<'a> {
    data: &'a str,
    /// Empty for the default type, `message`.
    event_type: &'a str,
    id: Option<&'a str>,
    retry: Option<Duration>,
    comment: Option<&'a str>,
}

impl<'a> EventRef<'a> {
    /// An event of type `message` carrying `data`. Line breaks in it (CR, LF or CRLF)
    /// become separate `data:` lines.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = bytes::BytesMut::new();
    /// sse_wire::EventRef::new("a\r\nb").encode(&mut buf)?;
    /// assert_eq!(&buf[..], b"data: a\ndata: b\n\n");
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn new(data: &'a str) -> Self {
        EventRef {
            data,
            event_type: "",
            id: None,
            retry: None,
            comment: None,
        }
    }

    /// Sets the event type (the `event` field); empty means the default, `message`. CR or
    /// LF in it makes [`encode`](EventRef::encode) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use sse_wire::{EncodeError, EventRef};
    ///
    /// let mut buf = BytesMut::new();
    /// EventRef::new("9").event("price").encode(&mut buf)?;
    /// assert_eq!(&buf[..], b"event: price\ndata: 9\n\n");
    /// let bad = EventRef::new("9").event("price\ndata: injected").encode(&mut buf);
    /// assert_eq!(bad, Err(EncodeError::EventTypeLineBreak));
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn event(mut self, event_type: &'a str) -> Self {
        self.event_type = event_type;
        self
    }

    /// Sets the id (the `id` field), which clients send back as `Last-Event-ID` when they
    /// reconnect; an empty id resets it. CR, LF or NUL in it makes
    /// [`encode`](EventRef::encode) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use sse_wire::{EncodeError, EventRef};
    ///
    /// let mut buf = BytesMut::new();
    /// EventRef::new("x").id("42").encode(&mut buf)?;
    /// assert_eq!(&buf[..], b"id: 42\ndata: x\n\n");
    /// assert_eq!(EventRef::new("x").id("4\x002").encode(&mut buf), Err(EncodeError::IdNul));
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the reconnection delay (the `retry` field), written in whole milliseconds; a
    /// fraction of a millisecond is dropped. A delay past `u64::MAX` ms makes
    /// [`encode`](EventRef::encode) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use bytes::BytesMut;
    /// use sse_wire::{EncodeError, EventRef};
    ///
    /// let mut buf = BytesMut::new();
    /// EventRef::new("x").retry(Duration::from_micros(2500)).encode(&mut buf)?;
    /// assert_eq!(&buf[..], b"retry: 2\ndata: x\n\n");
    /// let bad = EventRef::new("x").retry(Duration::MAX).encode(&mut buf);
    /// assert_eq!(bad, Err(EncodeError::RetryTooLarge));
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Sets the comment, written before the fields. Clients ignore it. Line breaks in it
    /// (CR, LF or CRLF) start further comment lines. An `EventRef` holds one comment: a
    /// second call replaces the first (join the texts with `\n` to send several).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = bytes::BytesMut::new();
    /// sse_wire::EventRef::new("x").comment("one\ntwo").encode(&mut buf)?;
    /// assert_eq!(&buf[..], b": one\n: two\ndata: x\n\n");
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn comment(mut self, comment: &'a str) -> Self {
        self.comment = Some(comment);
        self
    }

    /// Checks the fields and appends the event's wire form to `buf`, the same bytes as
    /// [`Event::encode`](crate::Event::encode) writes for an event built with the same
    /// values.
    ///
    /// Errors, checked in this order and before anything is written (so on error `buf` is
    /// as it was): [`EncodeError::EventTypeLineBreak`], [`EncodeError::IdLineBreak`],
    /// [`EncodeError::IdNul`], [`EncodeError::RetryTooLarge`].
    ///
    /// Reserves once, as if the data were one line; with a reused buffer that has room it
    /// allocates nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use sse_wire::{EncodeError, EventRef};
    ///
    /// let mut buf = BytesMut::from(&b"data: before\n\n"[..]);
    /// let bad = EventRef::new("x").event("a").id("1\n2").encode(&mut buf);
    /// assert_eq!(bad, Err(EncodeError::IdLineBreak));
    /// assert_eq!(&buf[..], b"data: before\n\n"); // untouched
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.fields().map(|fields| fields.write(buf))
    }

    /// The fields as the writer takes them, once checked: what [`encode`](EventRef::encode)
    /// writes, and what the hub encodes with its own id.
    pub(crate) fn fields(
        &self,
    ) -> Result<Fields<'a, impl Iterator<Item = &'a [u8]> + Clone>, EncodeError> {
        check_event_type(self.event_type)?;
        if let Some(id) = self.id {
            check_id(id)?;
        }
        let retry = match self.retry {
            Some(retry) => Some(retry_millis(retry)?),
            None => None,
        };
        Ok(Fields {
            comments: self.comment.map(str::as_bytes).into_iter(),
            event_type: self.event_type.as_bytes(),
            id: self.id.map(str::as_bytes),
            retry,
            data: Some(self.data.as_bytes()),
        })
    }
}
