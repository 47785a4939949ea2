//! The scanner: fed chunks in, lines out (BOM, line endings, lines that span chunks).
//!
//! [`Scanner::next_line`] is the one way a line comes out. A line that ends inside the front
//! chunk, the usual case, is lent out as a range of it; a line that spans chunks is joined
//! in a [`PartialLine`] first. Either way the same budget and the same line endings apply.

use alloc::collections::VecDeque;
use alloc::string::String;
use core::ops::Range;
use core::slice::SliceIndex;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use super::{BOM, REUSE_LIMIT};
use crate::small::Small;

/// Complete lines ahead in a chunk are checked for UTF-8 at once when they are at least this
/// long; fewer bytes are checked field by field, which costs no more.
const CHECK_AT_ONCE: usize = 128;

/// The most bytes of complete lines checked for UTF-8 at once: small enough that the lines
/// are still in the cache when they are read.
const CHECK_WINDOW: usize = 4 * 1024;

/// What the scanner's queue holds: input, or the end of a stream.
#[derive(Debug)]
enum Input {
    Chunk(Bytes),
    End,
}

/// How long the next line may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Budget {
    /// At most this many bytes: a longer line is [`Step::TooLong`].
    Bytes(usize),
    /// The caller is skipping an event: only where lines end, and whether they are empty,
    /// matters; nothing is kept.
    Skipping,
}

/// What the scanner found next. `L` is the line: a [`Line`] for callers; `()` inside the
/// scanner, before the line is lent out.
#[derive(Debug)]
pub(super) enum Step<L> {
    /// A complete line, without its ending.
    Line(L),
    /// A line read under [`Budget::Skipping`]: only whether it was empty is known.
    Skipped { empty: bool },
    /// The line in progress passed its budget; the rest of it is dropped as it comes.
    TooLong,
    /// The end of a stream.
    End,
}

impl<L> Step<L> {
    fn map<M>(self, line: impl FnOnce(L) -> M) -> Step<M> {
        match self {
            Step::Line(found) => Step::Line(line(found)),
            Step::Skipped { empty } => Step::Skipped { empty },
            Step::TooLong => Step::TooLong,
            Step::End => Step::End,
        }
    }
}

/// What the first bytes of the next chunk must be looked at for, before a line is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Nothing,
    /// The start of a stream: a BOM, of which this many bytes have matched so far.
    Bom(usize),
    /// The last line ended with a CR that ended its chunk: an LF opening the next chunk
    /// belongs to that line ending.
    Lf,
}

/// Fed chunks in, lines out.
#[derive(Debug)]
pub(super) struct Scanner {
    /// The chunk being read, out of the queue so that each line reaches it without the
    /// queue's index arithmetic. `None` rather than an empty `Bytes` when there is none:
    /// dropping one calls through its vtable, and calls that alternate between an empty
    /// `Bytes` and fed chunks are mispredicted every time.
    chunk: Option<Bytes>,
    /// Read position in `chunk`.
    pos: usize,
    /// The input fed after `chunk`.
    queue: VecDeque<Input>,
    pending: Pending,
    partial: PartialLine,
    text: CheckedText,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            chunk: None,
            pos: 0,
            queue: VecDeque::new(),
            pending: Pending::Bom(0),
            partial: PartialLine::default(),
            text: CheckedText::default(),
        }
    }
}

impl Scanner {
    /// Queues a chunk (not empty).
    pub(super) fn push(&mut self, chunk: Bytes) {
        debug_assert!(!chunk.is_empty(), "empty chunks are not queued");
        self.queue.push_back(Input::Chunk(chunk));
    }

    /// Queues the end of the stream.
    pub(super) fn finish(&mut self) {
        self.queue.push_back(Input::End);
    }

    /// Whether all input has been read: the next line needs more. A parser fed one small
    /// piece at a time asks this after every piece.
    #[inline]
    pub(super) fn is_drained(&self) -> bool {
        self.queue.is_empty() && self.pos >= self.chunk_len()
    }

    /// The chunks (and ends) not yet read to their end.
    pub(super) fn queued(&self) -> usize {
        self.queue.len() + usize::from(self.pos < self.chunk_len())
    }

    /// The bytes held of the line in progress.
    pub(super) fn held_len(&self) -> usize {
        self.partial.held_len()
    }

    /// Takes `bytes` as they are fed when they only continue the line in progress (no line
    /// ending in them, nothing queued before them) and fit its budget: they are copied
    /// where the scanner would copy them anyway, and a drip of small pieces costs no queue
    /// entry per piece. `false` when they must be queued.
    #[inline(always)]
    pub(super) fn continue_line(&mut self, bytes: &[u8], budget: Budget) -> bool {
        self.is_drained()
            && self.pending == Pending::Nothing
            && find_line_end(bytes).is_none()
            && self.partial.extend_within(bytes, budget)
    }

    /// The next line, or `None` when the input runs out. The line may be at most `budget`
    /// long. A line that spans chunks stays lent out until the returned [`Line`] is dropped.
    #[inline(always)]
    pub(super) fn next_line(&mut self, budget: Budget) -> Option<Step<Line<'_>>> {
        loop {
            let chunk = match &self.chunk {
                Some(chunk) if self.pos < chunk.len() => chunk,
                _ => match self.next_input()? {
                    true => return Some(Step::End),
                    false => continue,
                },
            };
            if self.pending != Pending::Nothing {
                if let Some(step) = self.resolve_pending(budget) {
                    return Some(step.map(|()| self.partial.line()));
                }
                continue;
            }
            let start = self.pos;
            let rest = within(chunk, start..);
            let Some(found) = find_line_end(rest) else {
                // The line goes on in the next chunk.
                self.pos = chunk.len();
                match self.partial.extend(rest, budget) {
                    Some(step) => return Some(step.map(|()| self.partial.line())),
                    None => continue,
                }
            };
            let end = start + found;
            self.pos = match after_line_end(chunk, end) {
                Some(next) => next,
                None => {
                    // Report the line now; the LF, if it comes, is skipped then.
                    self.pending = Pending::Lf;
                    end + 1
                }
            };
            if self.partial.is_empty() {
                // The usual case: the line lies in the chunk, and is lent out in place.
                return Some(judge(found, budget).map(|()| self.chunk_line(start, end)));
            }
            if let Some(step) = self.partial.end(within(rest, ..found), budget) {
                return Some(step.map(|()| self.partial.line()));
            }
        }
    }

    /// Moves on from the chunk read to its end (which is let go) to the next input: `None`
    /// when there is none, `Some(true)` at the end of a stream, `Some(false)` with a new
    /// chunk to read.
    fn next_input(&mut self) -> Option<bool> {
        self.pos = 0;
        self.text.forget();
        self.chunk = None;
        match self.queue.pop_front()? {
            Input::Chunk(chunk) => {
                self.chunk = Some(chunk);
                Some(false)
            }
            Input::End => {
                self.start_stream();
                Some(true)
            }
        }
    }

    /// Lends out `start..end` of the chunk being read.
    #[inline(always)]
    fn chunk_line(&mut self, start: usize, end: usize) -> Line<'_> {
        static NONE: Bytes = Bytes::new();
        debug_assert!(self.chunk.is_some(), "a line in a chunk has its chunk");
        Line {
            buf: LineBuf::Chunk {
                chunk: self.chunk.as_ref().unwrap_or(&NONE),
                text: &mut self.text,
            },
            start,
            end,
        }
    }

    fn chunk_len(&self) -> usize {
        self.chunk.as_ref().map_or(0, Bytes::len)
    }

    /// Looks at the first bytes of the chunk for what [`Pending`] says. `Some` when that
    /// ends a line by itself (a BOM-like start that passes the budget).
    #[inline(never)]
    fn resolve_pending(&mut self, budget: Budget) -> Option<Step<()>> {
        while let Some(&byte) = self.chunk.as_ref().and_then(|chunk| chunk.get(self.pos)) {
            match self.pending {
                Pending::Lf => {
                    self.pos += usize::from(byte == b'\n');
                    self.pending = Pending::Nothing;
                }
                Pending::Bom(matched) if BOM.get(matched) == Some(&byte) => {
                    self.pos += 1;
                    self.pending = match matched + 1 {
                        len if len == BOM.len() => Pending::Nothing,
                        len => Pending::Bom(len),
                    };
                }
                Pending::Bom(matched) => {
                    // Not a BOM: the bytes that looked like one start the first line.
                    self.pending = Pending::Nothing;
                    let held = within(BOM, ..matched);
                    return self.partial.extend(held, budget);
                }
                Pending::Nothing => break,
            }
        }
        None
    }

    /// Forgets the line in progress and expects a BOM again.
    fn start_stream(&mut self) {
        self.partial.clear();
        self.pending = Pending::Bom(0);
    }
}

/// What a complete line of `len` bytes is under `budget`: `Step::Line(())` when it may be
/// read.
#[inline(always)]
fn judge(len: usize, budget: Budget) -> Step<()> {
    match budget {
        Budget::Skipping => Step::Skipped { empty: len == 0 },
        Budget::Bytes(max) if len > max => Step::TooLong,
        Budget::Bytes(_) => Step::Line(()),
    }
}

/// A line that spans chunks, as far as it has come. Its bytes are joined in a buffer that
/// is reused from line to line; a complete line is read there in place, so that a line
/// that only needs copying out (an event type or id, a further line of data) costs no
/// reference count, and only a value kept as it is splits the buffer off.
#[derive(Debug, Default)]
struct PartialLine {
    /// The line's bytes (none while it is only counted or dropped).
    buf: BytesMut,
    /// The line's length so far, also when its bytes are not kept.
    len: usize,
    /// The line passed its budget: the rest of it is dropped as it comes.
    dropping: bool,
    /// The length of the last complete line (at most `REUSE_LIMIT`): the room the next one
    /// starts with.
    hint: usize,
}

impl PartialLine {
    /// Whether no line is in progress.
    #[inline]
    fn is_empty(&self) -> bool {
        self.len == 0 && !self.dropping
    }

    fn held_len(&self) -> usize {
        self.buf.len()
    }

    /// Adds `bytes`, which continue the line (or start it), within `budget`. `Some` with
    /// [`Step::TooLong`] when the line passes it: its bytes are let go, and the rest of it
    /// is dropped.
    #[inline(always)]
    fn extend(&mut self, bytes: &[u8], budget: Budget) -> Option<Step<()>> {
        if self.dropping || bytes.is_empty() {
            return None;
        }
        self.len += bytes.len();
        match budget {
            Budget::Skipping => None,
            Budget::Bytes(max) if self.len > max => {
                self.clear();
                self.dropping = true;
                Some(Step::TooLong)
            }
            Budget::Bytes(max) => {
                start_line(&mut self.buf, self.hint, bytes.len(), max);
                extend_line(&mut self.buf, bytes, max);
                None
            }
        }
    }

    /// [`extend`](PartialLine::extend) for bytes that may stay unqueued: `false`, and
    /// nothing added, when they would pass the budget (queued, the scanner reports that).
    #[inline(always)]
    fn extend_within(&mut self, bytes: &[u8], budget: Budget) -> bool {
        if let Budget::Bytes(max) = budget {
            if !self.dropping && self.len + bytes.len() > max {
                return false;
            }
        }
        let passed = self.extend(bytes, budget);
        debug_assert!(passed.is_none(), "checked against the budget above");
        true
    }

    /// Ends the line with `last`, its last bytes: the line, to be read in place until the
    /// [`Line`] is dropped, or what else it is under `budget`; `None` for a dropped line.
    fn end(&mut self, last: &[u8], budget: Budget) -> Option<Step<()>> {
        let len = core::mem::take(&mut self.len) + last.len();
        if core::mem::take(&mut self.dropping) {
            return None;
        }
        let step = judge(len, budget);
        match (&step, budget) {
            (Step::Line(_), Budget::Bytes(max)) => {
                extend_line(&mut self.buf, last, max);
                self.hint = self.buf.len().min(REUSE_LIMIT);
            }
            _ => self.buf.clear(),
        }
        Some(step)
    }

    /// Lends out the complete line.
    fn line(&mut self) -> Line<'_> {
        Line {
            start: 0,
            end: self.buf.len(),
            buf: LineBuf::Joined(self),
        }
    }

    /// Lets go of a complete line once it has been read (unless a value took it), so that
    /// the buffer holds the next one: emptied for reuse, or freed when it is large.
    fn release(&mut self) {
        debug_assert_eq!(self.len, 0, "a complete line has no bytes in progress");
        if self.buf.len() > REUSE_LIMIT {
            self.buf = BytesMut::new();
        } else {
            self.buf.clear();
        }
    }

    /// Forgets the line in progress.
    fn clear(&mut self) {
        self.buf.clear();
        self.len = 0;
        self.dropping = false;
    }
}

/// Valid UTF-8 of the complete lines ahead in the front chunk, checked a window at a time:
/// one long check costs far less than one per field, and the fields are then slices of
/// checked text, checked no more.
#[derive(Debug, Default)]
struct CheckedText {
    /// The complete lines of the front chunk that the last window took in.
    window: Range<usize>,
    /// The valid text that starts at `window.start`: all of the window, or up to its first
    /// invalid byte; empty when the window was short or one long line.
    text: ByteString,
}

impl CheckedText {
    /// The checked text of `chunk[start..end]`, if it is valid UTF-8 and lies in a
    /// window: checks the next window first when the line starts past the last one.
    #[inline(always)]
    fn get(&mut self, chunk: &Bytes, start: usize, end: usize) -> Option<(&ByteString, &str)> {
        if !self.window.contains(&start) {
            self.check(chunk, start);
        }
        let at = self.window.start;
        Some((&self.text, self.text.get(start - at..end.checked_sub(at)?)?))
    }

    /// Checks the complete lines of `chunk` from `start` on, up to [`CHECK_WINDOW`] bytes.
    #[inline(never)]
    fn check(&mut self, chunk: &Bytes, start: usize) {
        let rest = within(chunk, start..);
        let window = rest.get(..CHECK_WINDOW).unwrap_or(rest);
        let last = match window.len() {
            len if len <= CHECK_AT_ONCE => None,
            _ => memchr::memrchr2(b'\n', b'\r', window),
        };
        self.window = start..start + last.map_or(window.len(), |last| last + 1);
        self.text = match last {
            Some(last) if last >= CHECK_AT_ONCE => {
                let lines = chunk.slice(start..=start + last);
                ByteString::try_from(lines.clone()).unwrap_or_else(|error| {
                    let valid = lines.slice(..error.valid_up_to());
                    let text = ByteString::try_from(valid);
                    debug_assert!(text.is_ok(), "bytes up to valid_up_to are valid UTF-8");
                    text.unwrap_or_default()
                })
            }
            // Few bytes, or one long line: checked field by field.
            _ => ByteString::new(),
        };
    }

    /// Forgets the checked text of the front chunk, which is going.
    #[inline]
    fn forget(&mut self) {
        self.window = 0..0;
        if !self.text.is_empty() {
            self.text = ByteString::new();
        }
    }
}

/// A complete line, without its ending: `buf[start..end]`, where `buf` is a fed chunk or
/// the [`PartialLine`] of a line that spanned chunks. A joined line is let go when this
/// is dropped.
#[derive(Debug)]
pub(super) struct Line<'a> {
    buf: LineBuf<'a>,
    start: usize,
    end: usize,
}

/// Where a [`Line`] is.
#[derive(Debug)]
enum LineBuf<'a> {
    /// In a fed chunk, which slices of it share; `text` is the chunk's [`CheckedText`],
    /// asked only for values kept as text.
    Chunk {
        chunk: &'a Bytes,
        text: &'a mut CheckedText,
    },
    /// In the partial line's buffer.
    Joined(&'a mut PartialLine),
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if let LineBuf::Joined(partial) = &mut self.buf {
            partial.release();
        }
    }
}

impl<'a> Line<'a> {
    /// A line of all of `chunk`, for tests of what reads lines.
    #[cfg(test)]
    fn of(chunk: &'a Bytes, text: &'a mut CheckedText) -> Self {
        Line {
            buf: LineBuf::Chunk { chunk, text },
            start: 0,
            end: chunk.len(),
        }
    }

    #[inline(always)]
    pub(super) fn as_slice(&self) -> &[u8] {
        let buf: &[u8] = match &self.buf {
            LineBuf::Chunk { chunk, .. } => chunk,
            LineBuf::Joined(partial) => &partial.buf,
        };
        within(buf, self.start..self.end)
    }

    /// The line from byte `from` on, decoded as UTF-8 with invalid sequences replaced by
    /// U+FFFD, as the standard's decoder does. Valid text (the usual case) is a slice of
    /// the line, shared, not copied, and checked once. A joined line can be taken once:
    /// afterwards it reads as empty.
    pub(super) fn text_from(&mut self, from: usize) -> ByteString {
        if let Some((text, value)) = self.checked(from) {
            return text.slice_ref(value);
        }
        let lossy = |value: &[u8]| ByteString::from(String::from_utf8_lossy(value).into_owned());
        if let LineBuf::Joined(_) = self.buf {
            // Taken from the buffer: a second handle keeps the bytes for the lossy decoding.
            let bytes = self.take_from(from);
            return ByteString::try_from(bytes.clone()).unwrap_or_else(|_| lossy(&bytes));
        }
        // A chunk's line stays readable, so no second handle (a reference count) is needed.
        ByteString::try_from(self.take_from(from))
            .unwrap_or_else(|_| lossy(within(self.as_slice(), from..)))
    }

    /// [`text_from`](Line::text_from) for an event type or id: inline when short (see
    /// [`Small`]), so that no reference count is taken.
    pub(super) fn small_from(&mut self, from: usize) -> Small {
        let inline = match self.checked(from) {
            Some((_, value)) => Small::inline_str(value),
            None => Small::inline(within(self.as_slice(), from..)),
        };
        inline.unwrap_or_else(|| Small::new(self.text_from(from)))
    }

    /// The line from byte `from` on, if it lies in text the scanner checked.
    #[inline(always)]
    fn checked(&mut self, from: usize) -> Option<(&ByteString, &str)> {
        match &mut self.buf {
            LineBuf::Chunk { chunk, text } => text.get(chunk, self.start + from, self.end),
            LineBuf::Joined(_) => None,
        }
    }

    /// The line from byte `from` on as `Bytes`, sharing the buffer. A joined line is taken:
    /// afterwards it reads as empty.
    fn take_from(&mut self, from: usize) -> Bytes {
        let from = (self.start + from).min(self.end);
        match &mut self.buf {
            LineBuf::Chunk { chunk, .. } => chunk.slice(from..self.end),
            LineBuf::Joined(partial) => {
                let mut line = if partial.buf.len() > REUSE_LIMIT {
                    // The buffer would share the line's allocation; reusing it would pin a
                    // large buffer for the parser's lifetime.
                    core::mem::take(&mut partial.buf)
                } else {
                    partial.buf.split()
                };
                line.truncate(self.end);
                line.advance(from);
                self.end = self.start;
                line.freeze()
            }
        }
    }
}

/// `bytes[range]`, for a range derived from `bytes` itself, so in bounds by construction.
/// A debug build checks it, so that a broken invariant fails loudly in tests and fuzzing;
/// a release build reads an empty slice rather than panic.
#[inline(always)]
pub(super) fn within<R: SliceIndex<[u8], Output = [u8]>>(bytes: &[u8], range: R) -> &[u8] {
    let part = bytes.get(range);
    debug_assert!(
        part.is_some(),
        "a range derived from the bytes lies inside them"
    );
    part.unwrap_or_default()
}

/// Where the next line begins after the line ending (CR, LF or CRLF) at `end` of `bytes`;
/// `None` for a CR that ends `bytes`, as an LF may follow in the next chunk.
#[inline(always)]
fn after_line_end(bytes: &[u8], end: usize) -> Option<usize> {
    match bytes.get(end..) {
        Some([b'\r', b'\n', ..]) => Some(end + 2),
        Some([b'\r']) => None,
        _ => Some(end + 1),
    }
}

/// Where the first CR or LF of `rest` is. Short input (an empty line, which ends every
/// event, or the few bytes of a small chunk) is searched a word at a time: a vector search
/// costs more to set up than that.
#[inline(always)]
pub(super) fn find_line_end(rest: &[u8]) -> Option<usize> {
    if rest.len() < 16 {
        find_line_end_short(rest)
    } else if let Some(b'\n' | b'\r') = rest.first() {
        Some(0)
    } else {
        memchr::memchr2(b'\n', b'\r', rest)
    }
}

/// [`find_line_end`] for fewer than 16 bytes: two 8-byte words (overlapping when the input
/// is shorter), or a plain loop under 8 bytes.
#[inline]
fn find_line_end_short(rest: &[u8]) -> Option<usize> {
    let (Some(first), Some(last)) = (rest.first_chunk::<8>(), rest.last_chunk::<8>()) else {
        return rest.iter().position(|&byte| byte == b'\n' || byte == b'\r');
    };
    line_end_in_word(u64::from_le_bytes(*first))
        .or_else(|| line_end_in_word(u64::from_le_bytes(*last)).map(|at| rest.len() - 8 + at))
}

/// The index of the first CR or LF byte of `word` (little-endian), if any.
#[inline]
fn line_end_in_word(word: u64) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // A byte of `x` is zero where `word` has the byte searched for. `x - ONES & !x & HIGHS`
    // sets the high bit of every zero byte of `x`, and may also set it in bytes above one
    // (a borrow): so its lowest set bit, the one looked at, is always exact.
    let zeros = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let found = zeros(word ^ (ONES * u64::from(b'\n'))) | zeros(word ^ (ONES * u64::from(b'\r')));
    (found != 0).then(|| found.trailing_zeros() as usize / 8)
}

/// Before the first bytes of a line that spans chunks: when the events that held earlier
/// lines have been dropped, takes the buffer back now, while it is empty and there is
/// nothing to move, with room for a line as long as `hint` (the last such line). Taken
/// later, mid-line, `BytesMut` would move the bytes held so far: for long lines, as many
/// bytes again as the line has. While the buffer is shared, the line grows as it comes;
/// only when there is no room at all is a buffer of that size allocated at once.
#[inline]
fn start_line(buf: &mut BytesMut, hint: usize, first: usize, max: usize) {
    let room = hint.max(first).min(max);
    if buf.is_empty() && buf.capacity() < room {
        if buf.capacity() == 0 {
            // No room at all (the last long line took the buffer, or filled it): this
            // line needs a buffer anyway, so one of the size lines have had, rather than
            // a dozen doublings for a long one.
            buf.reserve(room);
        } else {
            // When it cannot, the line grows as it comes.
            let _reclaimed = buf.try_reclaim(room);
        }
    }
}

/// Appends to a buffer that holds at most `max` bytes (a line that spans chunks, or the
/// lines of multi-line data). `BytesMut` grows by doubling, so a buffer just past half the
/// limit would grow to nearly twice it (kept for reuse): once doubling would pass `max`,
/// it grows to `max`.
#[inline]
pub(super) fn extend_line(buf: &mut BytesMut, bytes: &[u8], max: usize) {
    make_room(buf, bytes.len(), max);
    match bytes {
        // A drip of single bytes: skip the copy routine's call.
        [byte] => buf.put_u8(*byte),
        _ => buf.extend_from_slice(bytes),
    }
}

/// Makes room in `buf`, which holds at most `max` bytes, for `additional` more, growing it
/// to the limit rather than past it when doubling would (see [`extend_line`]).
#[inline(always)]
pub(super) fn make_room(buf: &mut BytesMut, additional: usize, max: usize) {
    let needed = buf.len() + additional;
    if needed > buf.capacity() {
        grow_to_limit(buf, needed, max);
    }
}

/// [`make_room`]'s rare part, out of line so that the usual case is one compare.
#[inline(never)]
fn grow_to_limit(buf: &mut BytesMut, needed: usize, max: usize) {
    if needed > max / 2 && needed <= max {
        let mut grown = BytesMut::with_capacity(max);
        grown.extend_from_slice(buf);
        *buf = grown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// The word-at-a-time search agrees with a plain one, at every length around its
        /// 8- and 16-byte steps, with bytes next to CR and LF (and to them with the high bit
        /// set) where a borrow in the word arithmetic would show.
        #[test]
        fn find_line_end_finds_the_first_cr_or_lf(
            bytes in proptest::collection::vec(
                prop_oneof![
                    prop::sample::select(&[b'\n', b'\r', 0x00, 0x09, 0x0B, 0x0C, 0x0E, 0x8A, 0x8D, 0xFF][..]),
                    any::<u8>(),
                ],
                0..40,
            )
        ) {
            let expected = bytes.iter().position(|&byte| byte == b'\n' || byte == b'\r');
            prop_assert_eq!(find_line_end(&bytes), expected);
        }
    }

    fn scanner_of(chunks: &[&'static [u8]]) -> Scanner {
        let mut scanner = Scanner::default();
        for chunk in chunks {
            scanner.push(Bytes::from_static(chunk));
        }
        scanner
    }

    #[test]
    fn spanning_line_is_copied_once_and_released_when_read() {
        let mut scanner = scanner_of(&[b"ab", b"cd\n"]);
        let Some(Step::Line(line)) = scanner.next_line(Budget::Bytes(100)) else {
            panic!("no line")
        };
        assert_eq!(line.as_slice(), b"abcd");
        assert!(matches!(line.buf, LineBuf::Joined(_)));
        drop(line);
        // Read in place, then let go of: the buffer keeps its room for the next line.
        assert_eq!(scanner.held_len(), 0);
        assert!(scanner.partial.buf.capacity() >= 4);
    }

    #[test]
    fn a_kept_value_takes_the_joined_line_and_the_rest_reads_empty() {
        let mut scanner = scanner_of(&[b"data: a", b"bc\n"]);
        let Some(Step::Line(mut line)) = scanner.next_line(Budget::Bytes(100)) else {
            panic!("no line")
        };
        assert_eq!(line.text_from(6), "abc");
        assert_eq!(line.as_slice(), b"");
        drop(line);
        assert_eq!(scanner.held_len(), 0);
    }

    #[test]
    fn text_from_keeps_valid_text_in_place() {
        let bytes = Bytes::from_static(b"caf\xC3\xA9");
        let text = Line::of(&bytes, &mut CheckedText::default()).text_from(0);
        assert_eq!(&*text, "café");
        assert_eq!(text.as_bytes().as_ptr(), bytes.as_ptr());
    }

    #[test]
    fn text_from_replaces_invalid_sequences_like_the_whatwg_decoder() {
        // A truncated 3-byte sequence is one U+FFFD; a lone continuation byte is another.
        let bytes = Bytes::from_static(b"a\xE2\x82b\x80c");
        let text = Line::of(&bytes, &mut CheckedText::default()).text_from(0);
        assert_eq!(&*text, "a\u{FFFD}b\u{FFFD}c");
    }
}
