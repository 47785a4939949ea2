//! Writing events to the wire.
//!
//! An [`Event`] upholds the invariants that make encoding infallible (see its docs), so this
//! module only lays out bytes: `field: value` lines, one per line of text, then an empty line.

use bytes::{BufMut, Bytes, BytesMut};
use core::time::Duration;

use crate::{Event, Frame};

/// A comment block that keeps an idle connection open: `:` and an empty line.
///
/// Proxies and load balancers close connections that stay silent; a server sends this after
/// a quiet period. Clients ignore it.
///
/// # Examples
///
/// ```
/// let mut parser = sse_wire::Parser::new();
/// parser.feed(sse_wire::KEEP_ALIVE);
/// assert!(matches!(parser.next_frame(), Some(Ok(sse_wire::Frame::Comment(c))) if c.is_empty()));
/// assert_eq!(parser.next_frame(), None);
/// ```
pub const KEEP_ALIVE: &[u8] = b":\n\n";

impl Event {
    /// Appends the event's wire form to `buf`. Reserves once (for data of several lines,
    /// the extra `data: ` prefixes may grow it again); with a reused buffer that has room, it
    /// allocates nothing.
    ///
    /// Layout: comments, `event`, `id`, `retry`, then one `data:` line per line of data and
    /// an empty line. An event with nothing in it writes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use sse_wire::Event;
    ///
    /// let mut buf = BytesMut::with_capacity(4096);
    /// for token in ["Hel", "lo"] {
    ///     Event::from_data(token).encode(&mut buf);
    /// }
    /// assert_eq!(&buf[..], b"data: Hel\n\ndata: lo\n\n");
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) {
        self.write(buf, self.retry());
    }

    fn write(&self, buf: &mut BytesMut, retry: Option<Duration>) {
        // Reserve as if the data were one line: counting its line breaks first would cost a
        // second pass over it, and a buffer with room (the reused one) allocates nothing
        // either way. Each further data line may grow the buffer as it is written.
        let data = self
            .data
            .as_ref()
            .map_or(0, |data| line_len(b"data: ", data.len()));
        buf.reserve(self.len_besides_data() + data);
        for comment in self.comment_texts() {
            put_lines(buf, b": ", comment.as_bytes());
        }
        if !self.event_type.is_empty() {
            put_line(buf, b"event: ", self.event_type.as_bytes());
        }
        if let Some(id) = self.own_id() {
            put_line(buf, b"id: ", id.as_bytes());
        }
        if let Some(retry) = retry {
            put_retry(buf, retry);
        }
        if let Some(data) = &self.data {
            put_lines(buf, b"data: ", data.as_bytes());
        }
        if !self.is_empty() {
            buf.put_u8(b'\n');
        }
    }

    /// The event's wire form as `Bytes`.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_wire::Event::builder().event("ping").data("").build()?;
    /// assert_eq!(event.to_bytes(), "event: ping\ndata: \n\n");
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf.freeze()
    }

    /// The exact number of bytes [`encode`](Event::encode) writes.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_wire::Event::from_data("a\nb");
    /// assert_eq!(event.encoded_len(), event.to_bytes().len());
    /// assert_eq!(event.encoded_len(), "data: a\ndata: b\n\n".len());
    /// ```
    pub fn encoded_len(&self) -> usize {
        let data = self
            .data
            .as_ref()
            .map_or(0, |data| lines_len(b"data: ", data.as_bytes()));
        self.len_besides_data() + data
    }

    /// [`encoded_len`](Event::encoded_len) less the `data` lines.
    fn len_besides_data(&self) -> usize {
        let mut len = 0;
        for comment in self.comment_texts() {
            len += lines_len(b": ", comment.as_bytes());
        }
        if !self.event_type.is_empty() {
            len += line_len(b"event: ", self.event_type.len());
        }
        if let Some(id) = self.own_id() {
            len += line_len(b"id: ", id.len());
        }
        if let Some(retry) = self.retry() {
            len += line_len(b"retry: ", decimal_len(millis(retry)));
        }
        if !self.is_empty() {
            len += 1;
        }
        len
    }

    fn is_empty(&self) -> bool {
        self.comment_texts().is_empty()
            && self.event_type.is_empty()
            && self.own_id().is_none()
            && self.retry().is_none()
            && self.data.is_none()
    }
}

impl Frame {
    /// Appends the frame's wire form to `buf`, so that a client reading it sees what the
    /// parser saw: a comment as `: text` lines; a retry as a `retry:` line closed by an
    /// empty line, so that it takes effect at once and joins no other block; an id as an
    /// `id:` line closed by an empty line; and an event as [`Event::encode`] writes it, less
    /// its `retry` line: the parser reported that as a [`Frame::Retry`] just before.
    ///
    /// So a proxy that re-encodes every frame it parsed sends a stream that gives a client
    /// the same events, comments, last event IDs and retry delays, in the same order. (A
    /// downstream parser reports each retry as a `Frame::Retry`, not on the event.)
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use sse_wire::Parser;
    ///
    /// let upstream = b": hello\nid: 7\n\nretry: 300\ndata: a\n\n";
    /// let mut parser = Parser::new();
    /// parser.feed(upstream);
    /// let mut downstream = BytesMut::new();
    /// while let Some(frame) = parser.next_frame() {
    ///     frame?.encode(&mut downstream);
    /// }
    /// assert_eq!(&downstream[..], b": hello\nid: 7\n\nretry: 300\n\ndata: a\n\n");
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            Frame::Event(event) => event.write(buf, None),
            Frame::Comment(text) => put_lines(buf, b": ", text.as_bytes()),
            Frame::Retry(retry) => {
                put_retry(buf, *retry);
                buf.put_u8(b'\n');
            }
            Frame::Id(id) => {
                put_line(buf, b"id: ", id.as_bytes());
                buf.put_u8(b'\n');
            }
        }
    }
}

/// Length of `prefix value\n`, where `prefix` is the field name, colon and space (`: ` for
/// a comment): writing it as one slice saves a capacity check per byte of punctuation.
fn line_len(prefix: &[u8], value_len: usize) -> usize {
    prefix.len() + value_len + 1
}

/// Length of one `prefix line\n` per LF-separated line of `text`.
fn lines_len(prefix: &[u8], text: &[u8]) -> usize {
    let breaks = memchr::memchr_iter(b'\n', text).count();
    // Each break is replaced by a line ending and the next line's prefix.
    line_len(prefix, text.len() - breaks) + breaks * line_len(prefix, 0)
}

fn put_line(buf: &mut BytesMut, prefix: &[u8], value: &[u8]) {
    buf.put_slice(prefix);
    buf.put_slice(value);
    buf.put_u8(b'\n');
}

fn put_lines(buf: &mut BytesMut, prefix: &[u8], text: &[u8]) {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text) {
        // The line and the LF that ends it in `text`, in one copy.
        buf.put_slice(prefix);
        buf.put_slice(text.get(start..=end).unwrap_or_default());
        start = end + 1;
    }
    put_line(buf, prefix, text.get(start..).unwrap_or_default());
}

fn put_retry(buf: &mut BytesMut, retry: Duration) {
    let mut digits = [0u8; 20];
    let text = decimal(millis(retry), &mut digits);
    put_line(buf, b"retry: ", text);
}

/// Milliseconds of a retry delay. Builders and the parser only store delays that fit.
fn millis(retry: Duration) -> u64 {
    u64::try_from(retry.as_millis()).unwrap_or(u64::MAX)
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Writes `n` in decimal at the end of `out` and returns the digits.
fn decimal(mut n: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut start = out.len();
    for slot in out.iter_mut().rev() {
        // `n % 10` is below 10, so the cast is exact.
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.get(start..).unwrap_or_default()
}
