//! The interpreter: the standard's field rules, applied to lines; events out.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{BufMut, BytesMut};
use bytestring::ByteString;

use super::scan::{extend_line, make_room, within, Budget, Line, Step};
use super::REUSE_LIMIT;
use crate::event::{Extra, Id, Text};
use crate::small::Small;
use crate::{Event, Frame, ParseError};

/// The room the copy of the last event ID starts with: the usual ids never allocate.
const ID_CAPACITY: usize = 32;

/// The standard's "interpret an event stream" state.
#[derive(Debug)]
pub(super) struct Interpreter {
    limit: usize,
    /// The event passed the limit: lines are ignored up to the next empty one.
    skipping: bool,
    block: Block,
    last_id: LastEventId,
    /// The last valid `retry` field.
    retry: Option<Duration>,
}

impl Interpreter {
    pub(super) fn new(limit: usize) -> Self {
        Interpreter {
            limit,
            skipping: false,
            block: Block::default(),
            last_id: LastEventId {
                buffer: None,
                string: Vec::with_capacity(ID_CAPACITY),
                shared: None,
            },
            retry: None,
        }
    }

    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held for the event in progress.
    pub(super) fn held_len(&self) -> usize {
        self.block.size
    }

    pub(super) fn retry(&self) -> Option<Duration> {
        self.retry
    }

    pub(super) fn last_event_id(&self) -> &str {
        self.last_id.as_str()
    }

    /// How long the next line may be: what is left of the event's limit.
    #[inline(always)]
    pub(super) fn budget(&self) -> Budget {
        if self.skipping {
            Budget::Skipping
        } else {
            Budget::Bytes(self.limit.saturating_sub(self.block.size))
        }
    }

    /// Applies what the scanner found. `frames` asks for comments, retry and id frames too.
    #[inline(always)]
    pub(super) fn apply(
        &mut self,
        step: Step<Line<'_>>,
        frames: bool,
    ) -> Option<Result<Frame, ParseError>> {
        match step {
            Step::Line(line) => self.line(line, frames),
            Step::Skipped { empty } => {
                if empty {
                    // The skipped event ends: its id, read before it passed the limit,
                    // takes effect, as a dispatch would make it.
                    self.skipping = false;
                    self.last_id.dispatch();
                }
                None
            }
            Step::TooLong => {
                self.block.reset();
                self.skipping = true;
                Some(Err(ParseError::EventTooLarge { limit: self.limit }))
            }
            Step::End => {
                self.block.reset();
                self.skipping = false;
                // The next connection starts from the last ID actually dispatched, as
                // browsers do: an `id` of the discarded block never takes effect.
                self.last_id.discard_buffer();
                None
            }
        }
    }

    /// Applies one line.
    #[inline(always)]
    fn line(&mut self, mut line: Line<'_>, frames: bool) -> Option<Result<Frame, ParseError>> {
        let bytes = line.as_slice();
        if bytes.is_empty() {
            return self.dispatch(frames);
        }
        let Some((field, value_at)) = field_of(bytes) else {
            let text = line.text_from(value_start(bytes, 0));
            return frames.then(|| Ok(Frame::Comment(Text::from_inner(text))));
        };
        let value = within(bytes, value_at..);
        match field {
            Field::Data if self.block.has_data() => self.block.push_more_data(value, self.limit),
            Field::Data => {
                let len = value.len();
                self.block.set_data(line.text_from(value_at), len);
            }
            Field::Event => {
                let len = value.len();
                self.block.set_event_type(line.small_from(value_at), len);
            }
            Field::Id if !has_nul(value) => {
                self.block.count_id(value.len());
                self.last_id.set_buffer(line.small_from(value_at));
            }
            Field::Retry => {
                let retry = parse_retry(value)?;
                self.retry = Some(retry);
                self.block.retry = Some(retry);
                return frames.then_some(Ok(Frame::Retry(retry)));
            }
            Field::Id | Field::Other => {}
        }
        None
    }

    /// The empty line: dispatches the block's event, if it has data.
    fn dispatch(&mut self, frames: bool) -> Option<Result<Frame, ParseError>> {
        let Some(data) = self.block.take_data() else {
            let id = self.last_id.dispatch();
            self.block.reset();
            let id = id.filter(|_| frames)?;
            return Some(Ok(Frame::Id(Text::from_inner(id.to_byte_string()))));
        };
        let id = match self.last_id.dispatch() {
            Some(id) => Id::Own(id),
            None => Id::Inherited(self.last_id.shared()),
        };
        Some(Ok(Frame::Event(self.block.take_event(data, id))))
    }
}

/// The event in progress: what the fields of its block set so far.
#[derive(Debug, Default)]
struct Block {
    /// Bytes held for it (data, type, id, counted in input bytes), for the limit.
    size: usize,
    data: Data,
    /// Where lines of multi-line data are joined, undecoded; reused from event to event.
    joined: BytesMut,
    /// The `event` field; `Some("")` stays distinct only until dispatch.
    event_type: Option<Small>,
    /// The input bytes of the last `event` and `id` values, counted in `size`.
    event_type_size: usize,
    id_size: usize,
    /// The block's `retry` field, which the event reports.
    retry: Option<Duration>,
}

/// The data of the event in progress.
#[derive(Debug, Default)]
enum Data {
    #[default]
    None,
    /// One line: a slice of the input.
    One(ByteString),
    /// Several lines, joined with LF in `Block::joined`.
    Many,
}

impl Block {
    fn has_data(&self) -> bool {
        !matches!(self.data, Data::None)
    }

    /// The first `data` line's value, `len` input bytes, decoded.
    fn set_data(&mut self, data: ByteString, len: usize) {
        self.size += len + 1;
        self.data = Data::One(data);
    }

    /// A further `data` line's value, as it came: the lines are joined in `joined`.
    #[inline(always)]
    fn push_more_data(&mut self, value: &[u8], limit: usize) {
        self.size += value.len() + 1;
        if let Data::One(first) = &self.data {
            extend_line(&mut self.joined, first.as_bytes(), limit);
            self.data = Data::Many;
        }
        self.push_line(value, limit);
    }

    /// Appends LF and one more line of data, as it came, to `joined`. The joined lines are
    /// decoded at dispatch, at once: LF is never part of a UTF-8 sequence, so that replaces
    /// invalid sequences exactly as decoding each line would.
    // Out of line: inlined into the parser's loop, its copy routine was not.
    #[inline(never)]
    fn push_line(&mut self, value: &[u8], limit: usize) {
        make_room(&mut self.joined, 1 + value.len(), limit);
        self.joined.put_u8(b'\n');
        self.joined.extend_from_slice(value);
    }

    fn set_event_type(&mut self, event_type: Small, len: usize) {
        // Sizes count input bytes: a decoded value can be longer (U+FFFD).
        self.size = self.size - self.event_type_size + len;
        self.event_type_size = len;
        self.event_type = Some(event_type);
    }

    fn count_id(&mut self, len: usize) {
        self.size = self.size - self.id_size + len;
        self.id_size = len;
    }

    /// The data, decoded, if the block has any; the data is gone from the block.
    fn take_data(&mut self) -> Option<ByteString> {
        match core::mem::take(&mut self.data) {
            Data::None => None,
            Data::One(data) => Some(data),
            Data::Many => {
                // The joined lines go to the event as they are; the buffer keeps its spare
                // room and gets the rest back once the event is dropped, unless it is large.
                let joined = if self.joined.len() <= REUSE_LIMIT {
                    self.joined.split().freeze()
                } else {
                    core::mem::take(&mut self.joined).freeze()
                };
                Some(ByteString::try_from(joined.clone()).unwrap_or_else(|_| {
                    ByteString::from(String::from_utf8_lossy(&joined).into_owned())
                }))
            }
        }
    }

    /// The event of this block with `data` and `id`; the block is reset for the next one.
    fn take_event(&mut self, data: ByteString, id: Id) -> Event {
        // No `event` field, or an empty one: the default type.
        let event_type = self.event_type.take().unwrap_or_default();
        let extra = self.retry.take().map(|retry| {
            Box::new(Extra {
                retry: Some(retry),
                ..Extra::default()
            })
        });
        self.reset();
        Event {
            event_type,
            data: Some(data),
            id,
            extra,
        }
    }

    fn reset(&mut self) {
        self.size = 0;
        self.data = Data::None;
        self.joined.clear();
        self.event_type = None;
        self.event_type_size = 0;
        self.id_size = 0;
        self.retry = None;
    }
}

/// The standard's last event ID: its buffer, which `id` fields set, and its string, which
/// each dispatch sets from the buffer.
#[derive(Debug)]
struct LastEventId {
    /// The buffer, while an `id` field has changed it since the last dispatch (it survives
    /// an event skipped for its size, as the buffer does). Moved into the event that
    /// carries it.
    buffer: Option<Small>,
    /// The string: a copy, so that events that carry their own id (the usual case) move it
    /// out instead of sharing it with the parser. Always UTF-8 (copied from decoded text),
    /// but kept as bytes: copying them needs no check, which for the usual short, inline
    /// id would cost more than the copy; `as_str`, called far less often than ids change,
    /// checks them when read.
    string: Vec<u8>,
    /// `string` as shareable text, made when an event without an id of its own (or an id
    /// frame) first needs it, and kept until the id changes.
    shared: Option<ByteString>,
}

impl LastEventId {
    fn set_buffer(&mut self, id: Small) {
        self.buffer = Some(id);
    }

    /// At a dispatch: sets the string to the buffer, if an `id` field changed it, and
    /// returns the buffer's text.
    #[inline(always)]
    fn dispatch(&mut self) -> Option<Small> {
        // Most blocks set no id: then nothing is moved out of the buffer.
        self.buffer.as_ref()?;
        let id = self.buffer.take()?;
        self.string.clear();
        self.string.extend_from_slice(id.as_bytes());
        self.shared = None;
        Some(id)
    }

    /// At the end of a stream: the buffer goes back to the string.
    fn discard_buffer(&mut self) {
        self.buffer = None;
    }

    fn as_str(&self) -> &str {
        let text = core::str::from_utf8(&self.string);
        debug_assert!(
            text.is_ok(),
            "the last event ID is copied from decoded text"
        );
        text.unwrap_or_default()
    }

    /// The string as shareable text.
    fn shared(&mut self) -> ByteString {
        if self.string.is_empty() {
            return ByteString::new();
        }
        let string = &self.string;
        self.shared
            .get_or_insert_with(|| {
                let text = core::str::from_utf8(string);
                debug_assert!(
                    text.is_ok(),
                    "the last event ID is copied from decoded text"
                );
                ByteString::from(text.unwrap_or_default())
            })
            .clone()
    }
}

/// The standard's fields, and the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Data,
    Event,
    Id,
    Retry,
    Other,
}

impl Field {
    fn of(name: &[u8]) -> Field {
        match name {
            b"data" => Field::Data,
            b"event" => Field::Event,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => Field::Other,
        }
    }
}

/// The field a line (not empty) sets and where its value starts; `None` for a comment.
#[inline(always)]
fn field_of(line: &[u8]) -> Option<(Field, usize)> {
    if let Some((field, colon)) = known_field(line) {
        return Some((field, value_start(line, colon)));
    }
    match memchr::memchr(b':', line) {
        Some(0) => None,
        Some(colon) => Some((Field::of(within(line, ..colon)), value_start(line, colon))),
        None => Some((Field::of(line), line.len())),
    }
}

/// The field and the position of the first colon when the line starts with one of the
/// standard's field names and a colon: those names hold no colon, so that is the line's
/// first colon, found with a few fixed-size compares instead of a search.
#[inline(always)]
fn known_field(line: &[u8]) -> Option<(Field, usize)> {
    if line.first_chunk() == Some(b"data:") {
        Some((Field::Data, 4))
    } else if line.first_chunk() == Some(b"id:") {
        Some((Field::Id, 2))
    } else if line.first_chunk() == Some(b"event:") {
        Some((Field::Event, 5))
    } else if line.first_chunk() == Some(b"retry:") {
        Some((Field::Retry, 5))
    } else {
        None
    }
}

/// Where the value of a line whose first colon is at `colon` starts: after the colon and at
/// most one space.
#[inline(always)]
fn value_start(line: &[u8], colon: usize) -> usize {
    colon + 1 + usize::from(line.get(colon + 1) == Some(&b' '))
}

/// Whether an id value holds U+0000. Ids are short: a plain loop beats a vector search's
/// setup for them.
#[inline]
// `contains` on bytes is the standard library's general search, the setup this avoids.
#[allow(clippy::manual_contains)]
fn has_nul(value: &[u8]) -> bool {
    if value.len() < 32 {
        value.iter().any(|&byte| byte == 0)
    } else {
        memchr::memchr(0, value).is_some()
    }
}

/// A `retry` value: ASCII digits only, at least one, in milliseconds. Values past
/// `u64::MAX` ms saturate: "wait practically forever" is what the server asked for.
fn parse_retry(value: &[u8]) -> Option<Duration> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let ms = value.iter().fold(0u64, |ms, digit| {
        ms.saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    });
    Some(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_values() {
        assert_eq!(parse_retry(b"0"), Some(Duration::ZERO));
        assert_eq!(parse_retry(b"1500"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry(b"99999999999999999999999"),
            Some(Duration::from_millis(u64::MAX))
        );
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"-1",
            b"+1",
            b"1.5",
            b"1e3",
            b"\xEF\xBC\x91",
        ] {
            assert_eq!(parse_retry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn field_of_splits_name_and_value_at_the_first_colon() {
        assert_eq!(field_of(b"data: x"), Some((Field::Data, 6)));
        assert_eq!(field_of(b"data:x"), Some((Field::Data, 5)));
        assert_eq!(field_of(b"data"), Some((Field::Data, 4)));
        assert_eq!(field_of(b"id:  x"), Some((Field::Id, 4)));
        assert_eq!(field_of(b"dat:a"), Some((Field::Other, 4)));
        assert_eq!(field_of(b"Data: x"), Some((Field::Other, 6)));
        assert_eq!(field_of(b": x"), None);
    }
}
