//! The interpreter: the standard's field rules, applied to lines; events out.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{BufMut, BytesMut};
use bytestring::ByteString;

use super::scan::{extend_line, make_room, Line, LineBuf, Step};
use super::REUSE_LIMIT;
use crate::event::{Extra, Id, Text};
use crate::small::Small;
use crate::{Event, Frame, ParseError};

/// The data of the event in progress.
#[derive(Debug, Default)]
pub(super) enum Data {
    #[default]
    None,
    /// One line: a slice of the input.
    One(ByteString),
    /// Several lines, joined with LF in `Interpreter::joined`.
    Many,
}

/// The standard's "interpret an event stream" state.
#[derive(Debug, Default)]
pub(super) struct Interpreter {
    pub(super) limit: usize,
    /// Bytes held for the event in progress (data, type, id), for the limit.
    pub(super) size: usize,
    pub(super) data: Data,
    /// Where lines of multi-line data are joined, undecoded.
    pub(super) joined: BytesMut,
    /// This block's `event` field; `Some("")` stays distinct only until dispatch.
    pub(super) event_type: Option<Small>,
    /// Whether this block had a valid `id` field (its value is `id_buffer`).
    pub(super) block_has_id: bool,
    /// The input bytes of this block's last `event` and `id` values, counted in `size`.
    pub(super) event_type_size: usize,
    pub(super) id_size: usize,
    pub(super) retry_field: Option<Duration>,
    /// The event passed the limit: ignore lines up to the next empty one.
    pub(super) skipping: bool,
    /// The standard's "last event ID buffer", while it differs from the string: set by an
    /// `id` field, taken at the next dispatch (it survives a discarded block, as the
    /// buffer does). Moved into the event that carries it.
    pub(super) id_buffer: Option<Small>,
    /// The standard's "last event ID string": a copy, so that events that carry their own
    /// id (the usual case) move it out instead of sharing it with the parser. Always UTF-8
    /// (copied from decoded text), but kept as bytes: copying them needs no check, which
    /// for the usual short, inline id would cost more than the copy. `last_event_id()`,
    /// called far less often than ids change, checks them when read.
    pub(super) last_event_id: Vec<u8>,
    /// `last_event_id` as shareable text, made when an event without an id of its own (or
    /// an id frame) first needs it, and kept until the id changes.
    pub(super) shared_last_event_id: Option<ByteString>,
    pub(super) retry: Option<Duration>,
}

impl Interpreter {
    pub(super) fn budget(&self) -> Option<usize> {
        if self.skipping {
            None
        } else {
            Some(self.limit.saturating_sub(self.size))
        }
    }

    /// Applies one line. `frames` asks for comments, retry and id frames too.
    pub(super) fn apply(
        &mut self,
        step: Step<'_>,
        frames: bool,
    ) -> Option<Result<Frame, ParseError>> {
        match step {
            Step::Line(mut line) => self.line(&mut line, frames),
            Step::Skipped { empty } => {
                if empty {
                    self.skipping = false;
                    self.take_id_buffer();
                }
                None
            }
            Step::TooLong => {
                self.reset_event();
                self.skipping = true;
                Some(Err(ParseError::EventTooLarge { limit: self.limit }))
            }
            Step::End => {
                self.reset_event();
                self.skipping = false;
                // The next connection's buffer starts from the last ID actually dispatched,
                // as browsers do: an `id` of the discarded block never takes effect.
                self.id_buffer = None;
                None
            }
        }
    }

    pub(super) fn line(
        &mut self,
        line: &mut Line<'_>,
        frames: bool,
    ) -> Option<Result<Frame, ParseError>> {
        let bytes = line.as_slice();
        if bytes.is_empty() {
            return self.dispatch(frames);
        }
        let (field, value_at) = match known_field(bytes) {
            Some((field, colon)) => (field, value_start(bytes, colon)),
            None => match memchr::memchr(b':', bytes) {
                Some(0) => {
                    let value_at = value_start(bytes, 0);
                    return frames
                        .then(|| Ok(Frame::Comment(Text::from_inner(decode(line, value_at)))));
                }
                Some(colon) => {
                    let name = bytes.get(..colon).unwrap_or_default();
                    (Field::of(name), value_start(bytes, colon))
                }
                None => (Field::of(bytes), bytes.len()),
            },
        };
        let value = bytes.get(value_at..).unwrap_or_default();
        match field {
            Field::Data => match &self.data {
                Data::None => {
                    self.size += value.len() + 1;
                    self.data = Data::One(decode(line, value_at));
                }
                Data::One(first) => {
                    extend_line(&mut self.joined, first.as_bytes(), self.limit);
                    self.data = Data::Many;
                    self.push_data(value);
                }
                Data::Many => self.push_data(value),
            },
            Field::Event => {
                // Sizes count input bytes: a decoded value can be longer (U+FFFD).
                self.size = self.size - self.event_type_size + value.len();
                self.event_type_size = value.len();
                self.event_type = Some(decode_small(line, value_at));
            }
            Field::Id if !has_nul(value) => {
                self.size = self.size - self.id_size + value.len();
                self.id_size = value.len();
                self.id_buffer = Some(decode_small(line, value_at));
                self.block_has_id = true;
            }
            Field::Retry => {
                let retry = parse_retry(value)?;
                self.retry = Some(retry);
                self.retry_field = Some(retry);
                return frames.then_some(Ok(Frame::Retry(retry)));
            }
            Field::Id | Field::Other => {}
        }
        None
    }

    /// Adds one more line to data of several lines.
    #[inline]
    pub(super) fn push_data(&mut self, value: &[u8]) {
        self.size += value.len() + 1;
        push_line(&mut self.joined, value, self.limit);
    }

    pub(super) fn dispatch(&mut self, frames: bool) -> Option<Result<Frame, ParseError>> {
        let data = match core::mem::take(&mut self.data) {
            Data::None => {
                let id = self.block_id();
                self.reset_event();
                return id
                    .filter(|_| frames)
                    .map(|id| Ok(Frame::Id(Text::from_inner(id.to_byte_string()))));
            }
            Data::One(data) => data,
            Data::Many => {
                // The joined lines go to the event as they are; the buffer keeps its spare
                // room and gets the rest back once the event is dropped, unless it is large.
                let joined = if self.joined.len() <= REUSE_LIMIT {
                    self.joined.split().freeze()
                } else {
                    core::mem::take(&mut self.joined).freeze()
                };
                ByteString::try_from(joined.clone()).unwrap_or_else(|_| {
                    ByteString::from(String::from_utf8_lossy(&joined).into_owned())
                })
            }
        };
        Some(Ok(Frame::Event(self.event(data))))
    }

    /// Dispatches the block's event with `data`, and resets the block.
    pub(super) fn event(&mut self, data: ByteString) -> Event {
        let id = match self.block_id() {
            Some(id) => Id::Own(id),
            None => Id::Inherited(self.shared_id()),
        };
        let event_type = self.event_type.take().unwrap_or_default();
        let extra = self.retry_field.take().map(|retry| {
            alloc::boxed::Box::new(Extra {
                retry: Some(retry),
                ..Extra::default()
            })
        });
        self.reset_event();
        // Built last, so that it can be built where the caller wants it.
        Event {
            event_type,
            data: Some(data),
            id,
            extra,
        }
    }

    /// Sets the last event ID string to the buffer, if an `id` field changed it, and
    /// returns the buffer's text.
    pub(super) fn take_id_buffer(&mut self) -> Option<Small> {
        let id = self.id_buffer.take()?;
        self.last_event_id.clear();
        self.last_event_id.extend_from_slice(id.as_bytes());
        self.shared_last_event_id = None;
        Some(id)
    }

    /// At a dispatch: updates the last event ID string, and returns the block's own id.
    fn block_id(&mut self) -> Option<Small> {
        let buffer = self.take_id_buffer();
        buffer.filter(|_| self.block_has_id)
    }

    /// The last event ID string.
    pub(super) fn last_event_id(&self) -> &str {
        core::str::from_utf8(&self.last_event_id).unwrap_or_default()
    }

    /// The last event ID string as shareable text.
    pub(super) fn shared_id(&mut self) -> ByteString {
        if self.last_event_id.is_empty() {
            return ByteString::new();
        }
        if self.shared_last_event_id.is_none() {
            self.shared_last_event_id = Some(ByteString::from(self.last_event_id()));
        }
        self.shared_last_event_id.clone().unwrap_or_default()
    }

    pub(super) fn reset_event(&mut self) {
        self.size = 0;
        self.data = Data::None;
        self.joined.clear();
        self.event_type = None;
        self.event_type_size = 0;
        self.block_has_id = false;
        self.id_size = 0;
        self.retry_field = None;
    }
}

/// The standard's fields, and the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Data,
    Event,
    Id,
    Retry,
    Other,
}

impl Field {
    pub(super) fn of(name: &[u8]) -> Field {
        match name {
            b"data" => Field::Data,
            b"event" => Field::Event,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => Field::Other,
        }
    }
}

/// The field and the position of the first colon when the line starts with one of the
/// standard's field names and a colon: those names hold no colon, so that is the line's
/// first colon, found with a few fixed-size compares instead of a search.
#[inline]
pub(super) fn known_field(bytes: &[u8]) -> Option<(Field, usize)> {
    if bytes.first_chunk() == Some(b"data:") {
        Some((Field::Data, 4))
    } else if bytes.first_chunk() == Some(b"id:") {
        Some((Field::Id, 2))
    } else if bytes.first_chunk() == Some(b"event:") {
        Some((Field::Event, 5))
    } else if bytes.first_chunk() == Some(b"retry:") {
        Some((Field::Retry, 5))
    } else {
        None
    }
}

/// Whether an id value holds U+0000. Ids are short: a plain loop beats a vector search's
/// setup for them.
#[inline]
// `contains` on bytes is the standard library's general search, the setup this avoids.
#[allow(clippy::manual_contains)]
pub(super) fn has_nul(value: &[u8]) -> bool {
    if value.len() < 32 {
        value.iter().any(|&byte| byte == 0)
    } else {
        memchr::memchr(0, value).is_some()
    }
}

/// Where the value of a line whose first colon is at `colon` starts: after the colon and at
/// most one space.
#[inline]
pub(super) fn value_start(line: &[u8], colon: usize) -> usize {
    colon + 1 + usize::from(line.get(colon + 1) == Some(&b' '))
}

/// The value of `line` from byte `from` on, decoded as UTF-8 with invalid sequences
/// replaced by U+FFFD, as the standard's decoder does. Valid text (the usual case) is a
/// slice of the line: no copy, and it is checked once.
pub(super) fn decode(line: &mut Line<'_>, from: usize) -> ByteString {
    if let Some((text, value)) = checked(line, from) {
        return text.slice_ref(value);
    }
    let bytes = line.take_from(from);
    let lossy = |value: &[u8]| ByteString::from(String::from_utf8_lossy(value).into_owned());
    match line.buf {
        LineBuf::Chunk(_) => ByteString::try_from(bytes)
            .unwrap_or_else(|_| lossy(line.as_slice().get(from..).unwrap_or_default())),
        // `take_from` took the line: a clone keeps the bytes for the lossy decoding.
        LineBuf::Joined(_) => ByteString::try_from(bytes.clone()).unwrap_or_else(|_| lossy(&bytes)),
    }
}

/// [`decode`] for an event type or id: inline when short (see [`Small`]).
pub(super) fn decode_small(line: &mut Line<'_>, from: usize) -> Small {
    let inline = match checked(line, from) {
        Some((_, value)) => Small::inline_str(value),
        None => Small::inline(line.as_slice().get(from..).unwrap_or_default()),
    };
    inline.unwrap_or_else(|| Small::new(decode(line, from)))
}

/// The value of `line` from byte `from` on, if it lies in text the scanner checked.
#[inline]
pub(super) fn checked<'a>(line: &Line<'a>, from: usize) -> Option<(&'a ByteString, &'a str)> {
    let (text, at) = line.text?;
    let start = (line.start + from).checked_sub(at)?;
    let end = line.end.checked_sub(at)?;
    Some((text, text.get(start..end)?))
}

/// Appends LF and one more line of data, as it came, to `joined`, which holds at most
/// `limit` bytes (see [`extend_line`]). The joined lines are decoded at dispatch, at once:
/// LF is never part of a UTF-8 sequence, so that replaces invalid sequences exactly as
/// decoding each line would.
pub(super) fn push_line(joined: &mut BytesMut, value: &[u8], limit: usize) {
    make_room(joined, 1 + value.len(), limit);
    joined.put_u8(b'\n');
    joined.extend_from_slice(value);
}

/// A `retry` value: ASCII digits only, at least one, in milliseconds. Values past
/// `u64::MAX` ms saturate: "wait practically forever" is what the server asked for.
pub(super) fn parse_retry(value: &[u8]) -> Option<Duration> {
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
    use bytes::Bytes;

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

    fn decoded(bytes: &'static [u8]) -> ByteString {
        let buf = Bytes::from_static(bytes);
        let mut line = Line {
            buf: LineBuf::Chunk(&buf),
            start: 0,
            end: bytes.len(),
            text: None,
        };
        decode(&mut line, 0)
    }

    #[test]
    fn decode_keeps_valid_text_in_place() {
        let text = decoded(b"caf\xC3\xA9");
        assert_eq!(&*text, "café");
    }

    #[test]
    fn decode_replaces_invalid_sequences_like_the_whatwg_decoder() {
        // A truncated 3-byte sequence is one U+FFFD; a lone continuation byte is another.
        assert_eq!(&*decoded(b"a\xE2\x82b\x80c"), "a\u{FFFD}b\u{FFFD}c");
    }
}
