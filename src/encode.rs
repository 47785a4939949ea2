//! Writing events to the wire.
//!
//! An [`Event`] upholds the invariants that make encoding infallible (see its docs), so this
//! module only lays out bytes: `field: value` lines, one per line of text, then an empty line.

use bytes::{BufMut, Bytes, BytesMut};
use core::time::Duration;

use crate::small::Small;
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

/// What follows data handed out on its own by [`Event::encode_or_split`]: the end of the data
/// line and the empty line that ends the block.
#[cfg(feature = "stream")]
pub(crate) const DATA_END: &[u8] = b"\n\n";

impl Event {
    /// Appends the event's wire form to `buf`. Reserves once (for data of several lines,
    /// the extra `data: ` prefixes may grow it again); with a reused buffer that has room, it
    /// allocates nothing.
    ///
    /// Layout: comments, `event`, `id`, `retry`, then one `data:` line per line of data and
    /// an empty line. An event with nothing in it writes nothing. The bytes are those
    /// [`EventRef::encode`](crate::EventRef::encode) writes for the same fields: both go
    /// through one writer.
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
        self.fields(self.retry()).write(buf);
    }

    /// For a stream that hands large data to the connection without copying it: when the
    /// data is one line of at least `min` bytes, appends the block up to and including
    /// `data: ` and returns the data, which the caller sends next, followed by
    /// [`DATA_END`]; otherwise appends the whole block, as [`encode`](Event::encode) does,
    /// and returns `None`. `retry` as for [`fields`](Event::fields).
    #[cfg(feature = "stream")]
    pub(crate) fn encode_or_split(
        &self,
        retry: Option<Duration>,
        buf: &mut BytesMut,
        min: usize,
    ) -> Option<Bytes> {
        let fields = self.fields(retry);
        match &self.data {
            // The data's breaks are all LF (an `Event` holds no CR), so one memchr tells; on
            // data of several lines it stops at the first break: the writer makes the one full pass.
            Some(data) if data.len() >= min && memchr::memchr(b'\n', data.as_bytes()).is_none() => {
                fields.write_before_data(buf);
                buf.put_slice(b"data: ");
                Some(data.as_bytes().clone())
            }
            _ => {
                fields.write(buf);
                None
            }
        }
    }

    /// The event's fields as the writer takes them; `retry` apart, since a frame leaves it
    /// out.
    pub(crate) fn fields(
        &self,
        retry: Option<Duration>,
    ) -> Fields<'_, impl Iterator<Item = &[u8]> + Clone> {
        Fields {
            comments: self.comment_texts().iter().map(|c| c.as_bytes().as_ref()),
            event_type: self.event_type.as_bytes(),
            id: self.own_id().map(Small::as_bytes),
            retry: retry.map(millis),
            data: self.data.as_ref().map(|data| data.as_bytes().as_ref()),
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
        self.fields(self.retry()).encoded_len()
    }
}

/// The fields of one block, borrowed, ready to be written: what [`Event`] and
/// [`EventRef`](crate::EventRef) both encode through, so that the two cannot disagree on a
/// byte. Values are already checked: the event type and id hold no CR or LF. Line breaks in
/// comments and data (CR, LF or CRLF) start new lines.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a, C> {
    /// Each item is one comment call: its lines become `: ` lines.
    pub(crate) comments: C,
    /// Empty for the default type: no `event` line.
    pub(crate) event_type: &'a [u8],
    pub(crate) id: Option<&'a [u8]>,
    /// Milliseconds.
    pub(crate) retry: Option<u64>,
    /// `None`: no `data` line, the block dispatches nothing.
    pub(crate) data: Option<&'a [u8]>,
}

impl<'a, C: Iterator<Item = &'a [u8]> + Clone> Fields<'a, C> {
    /// Appends the block: comments, `event`, `id`, `retry`, `data` lines, an empty line.
    /// Writes nothing when there is nothing to write.
    pub(crate) fn write(self, buf: &mut BytesMut) {
        // Reserve as if each text were one line: counting line breaks first would cost a
        // second pass over the data, and a buffer with room (the reused one) allocates
        // nothing either way. Each further line may grow the buffer as it is written.
        buf.reserve(self.len_with(|prefix, text| line_len(prefix, text.len())));
        let mut empty = self.clone().write_before_data(buf);
        if let Some(data) = self.data {
            put_lines(buf, b"data: ", data);
            empty = false;
        }
        if !empty {
            buf.put_u8(b'\n');
        }
    }

    /// Appends the comments, `event`, `id` and `retry` lines; whether it wrote nothing.
    fn write_before_data(self, buf: &mut BytesMut) -> bool {
        let mut empty = true;
        for comment in self.comments {
            put_lines(buf, b": ", comment);
            empty = false;
        }
        if !self.event_type.is_empty() {
            put_line(buf, b"event: ", self.event_type);
            empty = false;
        }
        if let Some(id) = self.id {
            put_line(buf, b"id: ", id);
            empty = false;
        }
        if let Some(retry) = self.retry {
            put_retry(buf, retry);
            empty = false;
        }
        empty
    }

    /// The exact number of bytes [`write`](Fields::write) appends.
    pub(crate) fn encoded_len(&self) -> usize {
        self.len_with(lines_len)
    }

    /// The block's length, with `lines(prefix, text)` the length of a comment or the data.
    fn len_with(&self, lines: impl Fn(&[u8], &[u8]) -> usize) -> usize {
        let mut len = 0;
        for comment in self.comments.clone() {
            len += lines(b": ", comment);
        }
        if !self.event_type.is_empty() {
            len += line_len(b"event: ", self.event_type.len());
        }
        if let Some(id) = self.id {
            len += line_len(b"id: ", id.len());
        }
        if let Some(retry) = self.retry {
            len += line_len(b"retry: ", decimal_len(retry));
        }
        if let Some(data) = self.data {
            len += lines(b"data: ", data);
        }
        if len > 0 {
            len += 1;
        }
        len
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
            Frame::Event(event) => event.fields(None).write(buf),
            Frame::Comment(text) => put_lines(buf, b": ", text.as_bytes()),
            Frame::Retry(retry) => {
                put_retry(buf, millis(*retry));
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

/// Length of one `prefix line\n` per line of `text`.
fn lines_len(prefix: &[u8], text: &[u8]) -> usize {
    Lines::new(text)
        .map(|(line, add_lf)| prefix.len() + line.len() + usize::from(add_lf))
        .sum()
}

fn put_line(buf: &mut BytesMut, prefix: &[u8], value: &[u8]) {
    buf.put_slice(prefix);
    buf.put_slice(value);
    buf.put_u8(b'\n');
}

/// One `prefix line\n` per line of `text`: each line copied once, all found in one pass.
fn put_lines(buf: &mut BytesMut, prefix: &[u8], text: &[u8]) {
    for (line, add_lf) in Lines::new(text) {
        buf.put_slice(prefix);
        buf.put_slice(line);
        if add_lf {
            buf.put_u8(b'\n');
        }
    }
}

/// The lines of a text whose lines end at CR, LF or CRLF (CRLF is one break), in one pass
/// with memchr. Each item is the bytes to copy and whether an LF must follow them: a line
/// that ends with LF comes with its LF, so that it goes out in one copy; one that ends with
/// CR or CRLF comes without (the wire's line ending is LF), and so does the last line,
/// which nothing ends. A text of `n` breaks has `n + 1` lines.
struct Lines<'a> {
    /// What is left of the text, starting with the next line; `None` once the last line
    /// was given.
    rest: Option<&'a [u8]>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Self {
        Lines { rest: Some(text) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (&'a [u8], bool);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest?;
        let Some(at) = memchr::memchr2(b'\r', b'\n', rest) else {
            self.rest = None;
            return Some((rest, true));
        };
        // `at` is the index of a CR or LF in `rest`.
        let (line, after) = rest.split_at(at);
        Some(match after {
            [b'\n', after @ ..] => {
                self.rest = Some(after);
                (rest.get(..=at).unwrap_or_default(), false)
            }
            [b'\r', b'\n', after @ ..] | [_, after @ ..] => {
                self.rest = Some(after);
                (line, true)
            }
            [] => {
                debug_assert!(false, "memchr found a break past the end");
                self.rest = None;
                (line, true)
            }
        })
    }
}

fn put_retry(buf: &mut BytesMut, millis: u64) {
    let mut digits = [0u8; 20];
    let text = decimal(millis, &mut digits);
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
