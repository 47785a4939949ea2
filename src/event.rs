//! `Event`, its builder, `Frame` and `Text`: the values that cross the wire.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;
use core::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;

use crate::small::Small;
use crate::EncodeError;

/// The event type a client sees when a block names none.
const MESSAGE: &str = "message";

/// An empty `Bytes` to lend out for events that carry no data.
static NO_DATA: Bytes = Bytes::new();

/// Immutable UTF-8 text that shares the buffer it was parsed from.
///
/// Comments that come out of the [`Parser`](crate::Parser) are slices of the bytes you fed
/// it, and so are the ids of [`Frame::Id`] longer than 22 bytes (shorter ones are copied):
/// cloning a `Text` or taking [`as_bytes`](Text::as_bytes) copies nothing. `Text`
/// dereferences to `str`.
///
/// # Examples
///
/// ```
/// use sse_wire::{Frame, Parser};
///
/// let mut parser = Parser::new();
/// parser.feed(b": still here\n");
/// let Some(Ok(Frame::Comment(text))) = parser.next_frame() else { panic!() };
/// assert_eq!(text, "still here");
/// assert!(text.starts_with("still"));
/// assert_eq!(text.as_bytes().as_ref(), b"still here");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(ByteString);

impl Text {
    pub(crate) fn from_inner(inner: ByteString) -> Self {
        Text(inner)
    }

    /// The text as a `str`.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = sse_wire::Text::from("hi");
    /// assert_eq!(text.as_str(), "hi");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text's UTF-8 bytes, sharing its buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = sse_wire::Text::from("hi");
    /// assert_eq!(text.as_bytes(), &bytes::Bytes::from_static(b"hi"));
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(ByteString::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(ByteString::from(s))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

/// One server-sent event: what a server encodes and what a client's parser dispatches.
///
/// Build one with [`Event::builder`] (or [`Event::from_data`]) and write it with
/// [`encode`](Event::encode) or [`to_bytes`](Event::to_bytes); or receive one from a
/// [`Parser`](crate::Parser).
///
/// An event's text never contains what would break its framing: the type and id hold no CR
/// or LF (the id no NUL either), and the data's line breaks are all LF. So encoding any
/// `Event` is infallible, and a proxy can re-encode the events it parsed as they are.
///
/// # Examples
///
/// ```
/// use sse_wire::{Event, Parser};
///
/// let event = Event::builder().event("tick").id("7").data("up 3%").build()?;
///
/// let mut parser = Parser::new();
/// parser.feed_bytes(event.to_bytes());
/// let received = parser.next_event().unwrap()?;
/// assert_eq!(received.event_type(), "tick");
/// assert_eq!(received.data(), "up 3%");
/// assert_eq!(received.id(), Some("7"));
/// assert_eq!(received, event);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Event {
    /// Empty when the type is the default, `message`.
    pub(crate) event_type: Small,
    /// `None` when the event has no `data` line (it dispatches nothing). Line breaks are LF.
    pub(crate) data: Option<ByteString>,
    pub(crate) id: Id,
    /// `retry` and comments, which few events carry: boxed, so that the event stays small
    /// enough to be moved without a call to the copy routine.
    pub(crate) extra: Option<Box<Extra>>,
}

/// An event's id, and with it the last event ID.
#[derive(Clone, Debug)]
pub(crate) enum Id {
    /// The block's `id` field: also the last event ID.
    Own(Small),
    /// No `id` field: the stream's last event ID when the event was dispatched.
    Inherited(ByteString),
}

impl Default for Id {
    fn default() -> Self {
        Id::Inherited(ByteString::new())
    }
}

/// The rarely set parts of an [`Event`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Extra {
    /// Always a whole number of milliseconds.
    pub(crate) retry: Option<Duration>,
    /// Each one free of CR; an LF inside starts another comment line.
    pub(crate) comments: Vec<ByteString>,
}

impl Event {
    /// Starts building an event.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let event = sse_wire::Event::builder()
    ///     .event("tick")
    ///     .id("42")
    ///     .retry(Duration::from_millis(1500))
    ///     .comment("note")
    ///     .data("line 1\nline 2")
    ///     .build()?;
    /// assert_eq!(
    ///     event.to_bytes(),
    ///     ": note\nevent: tick\nid: 42\nretry: 1500\ndata: line 1\ndata: line 2\n\n"
    /// );
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn builder() -> EventBuilder {
        EventBuilder::default()
    }

    /// An event of type `message` carrying `data`. Data can hold anything, so this cannot
    /// fail; line breaks in it (CR, LF or CRLF) become separate `data:` lines.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_wire::Event::from_data("hello\r\nworld");
    /// assert_eq!(event.data(), "hello\nworld");
    /// assert_eq!(event.to_bytes(), "data: hello\ndata: world\n\n");
    /// ```
    pub fn from_data(data: impl Into<String>) -> Event {
        Event {
            data: Some(normalize_breaks(data.into())),
            ..Event::default()
        }
    }

    /// The event type: the block's `event` field, or `"message"` when it had none (or an
    /// empty one). This is the name a browser's `addEventListener` listens for.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::Event;
    ///
    /// assert_eq!(Event::from_data("x").event_type(), "message");
    /// let named = Event::builder().event("price").data("9").build()?;
    /// assert_eq!(named.event_type(), "price");
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn event_type(&self) -> &str {
        if self.event_type.is_empty() {
            MESSAGE
        } else {
            self.event_type.as_str()
        }
    }

    /// The data: the block's `data` lines joined with `\n`. Empty for an event that has no
    /// data line.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b"data: one\ndata: two\n\n");
    /// assert_eq!(parser.next_event().unwrap()?.data(), "one\ntwo");
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn data(&self) -> &str {
        self.data.as_deref().unwrap_or("")
    }

    /// The data as `Bytes`. When the data was one line inside one chunk given to
    /// [`Parser::feed_bytes`](crate::Parser::feed_bytes), this is a slice of that chunk: no
    /// byte was copied.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    ///
    /// let chunk = Bytes::from_static(b"data: {\"token\":\"hi\"}\n\n");
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed_bytes(chunk.clone());
    /// let event = parser.next_event().unwrap()?;
    /// // The same memory as the chunk, six bytes in.
    /// assert_eq!(event.data_bytes().as_ptr(), chunk[6..].as_ptr());
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn data_bytes(&self) -> &Bytes {
        match &self.data {
            Some(data) => data.as_bytes(),
            None => &NO_DATA,
        }
    }

    /// Whether the event has a `data` line. An event without one is not dispatched by
    /// clients: it only carries a comment, `retry`, `id` or `event` to the wire. Parsed
    /// events always have data.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::Event;
    ///
    /// assert!(Event::from_data("").has_data());
    /// assert!(!Event::builder().id("7").build()?.has_data());
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn has_data(&self) -> bool {
        self.data.is_some()
    }

    /// The value of this block's `id` field, if it had a valid one (`Some("")` for an empty
    /// `id` field, which resets the last event ID).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b"id: 1\ndata: a\n\ndata: b\n\n");
    /// assert_eq!(parser.next_event().unwrap()?.id(), Some("1"));
    /// assert_eq!(parser.next_event().unwrap()?.id(), None);
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.own_id().map(Small::as_str)
    }

    pub(crate) fn own_id(&self) -> Option<&Small> {
        match &self.id {
            Id::Own(id) => Some(id),
            Id::Inherited(_) => None,
        }
    }

    /// The comments as given to the builder, one string per call.
    pub(crate) fn comment_texts(&self) -> &[ByteString] {
        self.extra.as_ref().map_or(&[], |extra| &extra.comments)
    }

    /// The stream's last event ID when this event was dispatched: what a client that has
    /// processed this event sends as `Last-Event-ID` when it reconnects. For an event made
    /// with the builder, its own id, or `""`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b"id: 1\ndata: a\n\ndata: b\n\n");
    /// assert_eq!(parser.next_event().unwrap()?.last_event_id(), "1");
    /// // The id persists until the server sends another one.
    /// assert_eq!(parser.next_event().unwrap()?.last_event_id(), "1");
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn last_event_id(&self) -> &str {
        match &self.id {
            Id::Own(id) => id.as_str(),
            Id::Inherited(id) => id,
        }
    }

    /// The `retry` field of this block: the reconnection delay the server asks for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut parser = sse_wire::Parser::new();
    /// parser.feed(b"retry: 2500\ndata: a\n\n");
    /// assert_eq!(parser.next_event().unwrap()?.retry(), Some(Duration::from_millis(2500)));
    /// # Ok::<(), sse_wire::ParseError>(())
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.extra.as_ref().and_then(|extra| extra.retry)
    }

    /// The comments the builder was given, one per line. Parsed events have none: the parser
    /// reports comments as [`Frame::Comment`], in stream order.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_wire::Event::builder().comment("a\nb").build()?;
    /// assert_eq!(event.comments().collect::<Vec<_>>(), ["a", "b"]);
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn comments(&self) -> impl Iterator<Item = &str> + '_ {
        self.comment_texts().iter().flat_map(|c| c.split('\n'))
    }
}

/// Two events are equal when a client would see the same thing: type, data (or its
/// absence), id, last event ID, retry and comments. An absent type equals `"message"`.
impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.event_type() == other.event_type()
            && self.data == other.data
            && self.id() == other.id()
            && self.last_event_id() == other.last_event_id()
            && self.retry() == other.retry()
            && self.comments().eq(other.comments())
    }
}

impl Eq for Event {}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Event");
        s.field("event_type", &self.event_type());
        match &self.data {
            Some(data) => s.field("data", &&**data),
            None => s.field("data", &None::<&str>),
        };
        s.field("id", &self.id())
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.retry());
        if !self.comment_texts().is_empty() {
            s.field("comments", &self.comment_texts());
        }
        s.finish()
    }
}

/// Builds an [`Event`]; made by [`Event::builder`].
///
/// Each setter takes the value and moves on; the first invalid value is remembered and
/// [`build`](EventBuilder::build) returns it as an [`EncodeError`]. Nothing here panics.
///
/// - [`data`](Self::data) can be called more than once: each call adds lines.
/// - Without any `data` call the event has no `data:` line: it carries only its comments,
///   `retry`, `id` or `event` to the client and dispatches nothing there. That is how a
///   server sends a retry-only or id-only block. `data("")` dispatches an empty event.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sse_wire::Event;
///
/// // Ask clients to wait 10 s before reconnecting, without dispatching an event.
/// let block = Event::builder().retry(Duration::from_secs(10)).build()?;
/// assert_eq!(block.to_bytes(), "retry: 10000\n\n");
/// # Ok::<(), sse_wire::EncodeError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct EventBuilder {
    event: Event,
    error: Option<EncodeError>,
}

impl EventBuilder {
    /// Sets the event type (the `event` field). An empty type is the default, `message`.
    /// CR or LF in it is an error. A type of up to 22 bytes is stored in the event itself:
    /// no allocation.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{EncodeError, Event};
    ///
    /// assert_eq!(Event::builder().event("a\rb").build(), Err(EncodeError::EventTypeLineBreak));
    /// ```
    pub fn event(mut self, event_type: impl AsRef<str>) -> Self {
        let event_type = event_type.as_ref();
        match check_event_type(event_type) {
            Err(error) => self.fail(error),
            Ok(()) if event_type.is_empty() => self.event.event_type = Small::default(),
            Ok(()) => self.event.event_type = Small::from(event_type),
        }
        self
    }

    /// Sets the id (the `id` field), which clients send back as `Last-Event-ID` when they
    /// reconnect. An empty id resets it. CR, LF or NUL in it is an error. An id of up to 22
    /// bytes is stored in the event itself: no allocation.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{EncodeError, Event};
    ///
    /// assert_eq!(Event::builder().id("a\0b").build(), Err(EncodeError::IdNul));
    /// assert_eq!(Event::builder().id("").build()?.to_bytes(), "id: \n\n");
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn id(mut self, id: impl AsRef<str>) -> Self {
        let id = id.as_ref();
        match check_id(id) {
            Ok(()) => self.event.id = Id::Own(Small::from(id)),
            Err(error) => self.fail(error),
        }
        self
    }

    /// Sets the reconnection delay (the `retry` field), written in whole milliseconds; a
    /// fraction of a millisecond is dropped. A delay past `u64::MAX` ms is an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_wire::{EncodeError, Event};
    ///
    /// let event = Event::builder().retry(Duration::from_micros(1500)).build()?;
    /// assert_eq!(event.retry(), Some(Duration::from_millis(1)));
    /// assert_eq!(Event::builder().retry(Duration::MAX).build(), Err(EncodeError::RetryTooLarge));
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn retry(mut self, retry: Duration) -> Self {
        match retry_millis(retry) {
            Ok(ms) => self.extra().retry = Some(Duration::from_millis(ms)),
            Err(error) => self.fail(error),
        }
        self
    }

    /// Adds a comment. Clients ignore comments; they keep connections alive and help when
    /// debugging. Line breaks in it (CR, LF or CRLF) start further comment lines.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_wire::Event::builder().comment("one\r\ntwo").build()?;
    /// assert_eq!(event.to_bytes(), ": one\n: two\n\n");
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        let comment = normalize_breaks(comment.into());
        self.extra().comments.push(comment);
        self
    }

    /// Adds data. Line breaks in it (CR, LF or CRLF) become separate `data:` lines, which
    /// clients join with LF; a second call adds its lines after those of the first.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_wire::Event::builder().data("a\r\nb").data("c").build()?;
    /// assert_eq!(event.data(), "a\nb\nc");
    /// assert_eq!(event.to_bytes(), "data: a\ndata: b\ndata: c\n\n");
    /// # Ok::<(), sse_wire::EncodeError>(())
    /// ```
    pub fn data(mut self, data: impl Into<String>) -> Self {
        let data = normalize_breaks(data.into());
        self.event.data = Some(match self.event.data.take() {
            None => data,
            Some(before) => {
                let mut joined = String::with_capacity(before.len() + 1 + data.len());
                joined.push_str(&before);
                joined.push('\n');
                joined.push_str(&data);
                ByteString::from(joined)
            }
        });
        self
    }

    /// Finishes the event, or returns the first invalid value that was given.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{EncodeError, Event};
    ///
    /// let result = Event::builder().id("1\n2").event("bad\n").data("x").build();
    /// assert_eq!(result, Err(EncodeError::IdLineBreak));
    /// ```
    pub fn build(self) -> Result<Event, EncodeError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.event),
        }
    }

    fn extra(&mut self) -> &mut Extra {
        self.event.extra.get_or_insert_with(Box::default)
    }

    pub(crate) fn fail(&mut self, error: EncodeError) {
        self.error.get_or_insert(error);
    }
}

/// One thing the parser found in the stream, in stream order; from
/// [`Parser::next_frame`](crate::Parser::next_frame).
///
/// A proxy that writes every frame back out with [`Frame::encode`] forwards the stream
/// without losing events, comments, ids or retry delays.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sse_wire::{Frame, Parser};
///
/// let mut parser = Parser::new();
/// parser.feed(b": hi\nretry: 500\ndata: x\n\nid: 9\n\n");
/// let mut frames = Vec::new();
/// while let Some(frame) = parser.next_frame() {
///     frames.push(frame?);
/// }
/// assert!(matches!(&frames[0], Frame::Comment(c) if c == "hi"));
/// assert_eq!(frames[1], Frame::Retry(Duration::from_millis(500)));
/// assert!(matches!(&frames[2], Frame::Event(e) if e.data() == "x"));
/// assert!(matches!(&frames[3], Frame::Id(id) if id == "9"));
/// # Ok::<(), sse_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// A dispatched event.
    Event(Event),
    /// A comment line: the text after the colon, less one leading space.
    Comment(Text),
    /// A valid `retry` field, reported when it is read (that is when it takes effect). The
    /// event its block dispatches, if any, carries it as well.
    Retry(Duration),
    /// The end of a block that had an `id` field but no data: it dispatched no event, but
    /// the stream's last event ID is now this value. (An event reports its id itself.)
    Id(Text),
}

/// Below this length a value is scanned with a plain loop: event types and ids are a few
/// bytes, and memchr's dispatch and setup cost more than such a scan (about 6 ns against 2
/// for a 7-byte id; memchr wins from about 32 bytes).
const SHORT: usize = 24;

/// Whether `bytes` holds CR or LF.
fn has_line_break(bytes: &[u8]) -> bool {
    if bytes.len() < SHORT {
        return bytes.iter().any(|&b| b == b'\r' || b == b'\n');
    }
    memchr::memchr2(b'\r', b'\n', bytes).is_some()
}

// The rules for values that could break framing, shared by `EventBuilder` and `EventRef`
// so that the two accept exactly the same values.

/// An event type must not end its line early.
pub(crate) fn check_event_type(event_type: &str) -> Result<(), EncodeError> {
    if has_line_break(event_type.as_bytes()) {
        return Err(EncodeError::EventTypeLineBreak);
    }
    Ok(())
}

/// An id must not end its line early, nor hold NUL (clients would ignore it). A line break
/// is reported first.
pub(crate) fn check_id(id: &str) -> Result<(), EncodeError> {
    let id = id.as_bytes();
    // A short id, valid as nearly all are, is read once for all three bytes.
    if id.len() < SHORT && !id.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        return Ok(());
    }
    if has_line_break(id) {
        return Err(EncodeError::IdLineBreak);
    }
    if memchr::memchr(0, id).is_some() {
        return Err(EncodeError::IdNul);
    }
    Ok(())
}

/// A retry delay in whole milliseconds (a fraction is dropped), if it fits in a `u64`.
pub(crate) fn retry_millis(retry: Duration) -> Result<u64, EncodeError> {
    u64::try_from(retry.as_millis()).map_err(|_| EncodeError::RetryTooLarge)
}

/// Rewrites CRLF and lone CR as LF, so the text holds one kind of line break: the one a
/// client reconstructs. Costs one scan when there is no CR.
fn normalize_breaks(text: String) -> ByteString {
    if memchr::memchr(b'\r', text.as_bytes()).is_none() {
        return ByteString::from(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(cr) = rest.find('\r') {
        let (line, after) = rest.split_at(cr);
        out.push_str(line);
        out.push('\n');
        let after = after.strip_prefix('\r').unwrap_or(after);
        rest = after.strip_prefix('\n').unwrap_or(after);
    }
    out.push_str(rest);
    ByteString::from(out)
}
