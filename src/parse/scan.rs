//! The scanner: fed chunks in, lines out (BOM, line endings, lines that span chunks).

use alloc::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use super::{BOM, REUSE_LIMIT};

/// What the scanner's queue holds: input, or the end of a stream.
#[derive(Debug)]
pub(super) enum Input {
    Chunk(Bytes),
    End,
}

/// What the scanner found next.
#[derive(Debug)]
pub(super) enum Step<'a> {
    /// A complete line, without its ending.
    Line(Line<'a>),
    /// A line read in skipping mode: only whether it was empty is known.
    Skipped { empty: bool },
    /// The line in progress passed the budget; its bytes are being dropped.
    TooLong,
    /// The end of a stream.
    End,
}

/// Where the scanner found the next line: a `Step` without the borrow.
#[derive(Debug)]
pub(super) enum Scanned {
    /// `start..end` of the front chunk.
    InChunk {
        start: usize,
        end: usize,
    },
    /// All of `Scanner::joined`.
    Joined,
    Skipped {
        empty: bool,
    },
    TooLong,
    End,
}

/// A line: `buf[start..end]`, where `buf` is a fed chunk or the scanner's copy of a line
/// that spanned chunks.
#[derive(Debug)]
pub(super) struct Line<'a> {
    pub(super) buf: LineBuf<'a>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// Text of `buf` known to be valid UTF-8, and where in `buf` it starts (see
    /// `Scanner::text`), if the scanner has it.
    pub(super) text: Option<(&'a ByteString, usize)>,
}

/// Where a [`Line`] is.
#[derive(Debug)]
pub(super) enum LineBuf<'a> {
    /// In a fed chunk, which slices of it share.
    Chunk(&'a Bytes),
    /// All of `Scanner::partial`, a line that spanned chunks. It stays there while the
    /// interpreter reads it, so that a line that only needs copying out (an event type or
    /// id, a further line of data) costs no reference count; a value that is kept as it
    /// is gets the buffer split off.
    Joined(&'a mut BytesMut),
}

impl Line<'_> {
    pub(super) fn as_slice(&self) -> &[u8] {
        let buf: &[u8] = match &self.buf {
            LineBuf::Chunk(chunk) => chunk,
            LineBuf::Joined(partial) => partial,
        };
        buf.get(self.start..self.end).unwrap_or_default()
    }

    /// `self.as_slice()[from..]` as `Bytes`, sharing the buffer. A joined line can be
    /// taken once: afterwards it reads as empty.
    pub(super) fn take_from(&mut self, from: usize) -> Bytes {
        let from = (self.start + from).min(self.end);
        match &mut self.buf {
            LineBuf::Chunk(chunk) => chunk.slice(from..self.end),
            LineBuf::Joined(partial) => {
                let mut line = if partial.len() > REUSE_LIMIT {
                    // `partial` would share the line's allocation; reusing it would pin a
                    // large buffer for the parser's lifetime.
                    core::mem::take(*partial)
                } else {
                    partial.split()
                };
                line.truncate(self.end);
                line.advance(from);
                self.end = self.start;
                line.freeze()
            }
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Scanner {
    pub(super) queue: VecDeque<Input>,
    /// Read position in the front chunk.
    pub(super) pos: usize,
    /// The start of a line that spans chunks (empty while `discarding` or skipping).
    pub(super) partial: BytesMut,
    /// The length of that line so far, counted also when its bytes are not kept.
    pub(super) partial_len: usize,
    /// `partial` holds a complete line, which the interpreter is reading.
    pub(super) joined: bool,
    /// The length of the last line that spanned chunks (at most `REUSE_LIMIT`): the room
    /// the next one starts with.
    pub(super) line_hint: usize,
    /// Where in the front chunk the fast path last found complete lines.
    pub(super) lines_ahead: core::ops::Range<usize>,
    /// Valid UTF-8 that starts at `text_at` in the front chunk: those lines, checked at
    /// once (up to the first invalid byte, if any; empty when they were few).
    pub(super) text: ByteString,
    pub(super) text_at: usize,
    /// A position in the front chunk from which the fast path found no line ending, so
    /// that `scan` does not search those bytes again.
    pub(super) open_from: Option<usize>,
    /// The line in progress passed the budget: drop it up to its line ending.
    pub(super) discarding: bool,
    /// The last line ended with CR at the end of a chunk: an LF opening the next one
    /// belongs to that ending.
    pub(super) after_cr: bool,
    /// BOM bytes matched at the start of the stream; `BOM_DONE` once decided.
    pub(super) bom: usize,
}

pub(super) const BOM_DONE: usize = usize::MAX;

impl Scanner {
    /// The next line, or `None` when the input runs out. `budget` is how long the line may
    /// be; `None` asks only for line boundaries (the caller is skipping an event).
    /// Inlined: a `Step` returned through memory is read back at once, and stalls.
    #[inline(always)]
    pub(super) fn next_line(&mut self, budget: Option<usize>) -> Option<Step<'_>> {
        Some(match self.scan(budget)? {
            Scanned::InChunk { start, end } => match self.queue.front() {
                Some(Input::Chunk(chunk)) => Step::Line(Line {
                    buf: LineBuf::Chunk(chunk),
                    start,
                    end,
                    text: None,
                }),
                // `scan` leaves the chunk of an `InChunk` line at the front.
                _ => Step::End,
            },
            Scanned::Joined => Step::Line(Line {
                end: self.partial.len(),
                buf: LineBuf::Joined(&mut self.partial),
                start: 0,
                text: None,
            }),
            Scanned::Skipped { empty } => Step::Skipped { empty },
            Scanned::TooLong => Step::TooLong,
            Scanned::End => Step::End,
        })
    }

    /// Finds the next line; reports where it is rather than borrowing it, so that the
    /// queue can be popped on the way.
    pub(super) fn scan(&mut self, budget: Option<usize>) -> Option<Scanned> {
        // The previous line has been interpreted.
        self.release_line();
        loop {
            let chunk = match self.queue.front()? {
                Input::Chunk(chunk) => chunk,
                Input::End => {
                    self.queue.pop_front();
                    self.start_stream();
                    return Some(Scanned::End);
                }
            };
            let bytes: &[u8] = chunk;
            let mut pos = self.pos;
            if self.after_cr && pos < bytes.len() {
                self.after_cr = false;
                if bytes.get(pos) == Some(&b'\n') {
                    pos += 1;
                }
            }
            while self.bom < BOM.len() {
                let Some(&byte) = bytes.get(pos) else { break };
                if BOM.get(self.bom) == Some(&byte) {
                    self.bom += 1;
                    pos += 1;
                } else {
                    // Not a BOM: the bytes that looked like one start the first line.
                    let held = BOM.get(..self.bom).unwrap_or_default();
                    self.partial.extend_from_slice(held);
                    self.partial_len = held.len();
                    self.bom = BOM_DONE;
                }
            }
            if self.bom == BOM.len() {
                self.bom = BOM_DONE;
            }
            let rest = bytes.get(pos..).unwrap_or_default();
            let found = if self.open_from == Some(pos) {
                None
            } else {
                find_line_end(rest)
            };
            let Some(found) = found else {
                // The line goes on in the next chunk.
                let step = hold(
                    &mut self.partial,
                    &mut self.partial_len,
                    &mut self.discarding,
                    rest,
                    budget,
                    self.line_hint,
                );
                self.queue.pop_front();
                self.pos = 0;
                self.forget_text();
                match step {
                    Some(step) => return Some(step),
                    None => continue,
                }
            };
            let end = pos + found;
            let next = after_line_end(bytes, end).unwrap_or_else(|| {
                // Report the line now; the LF, if it comes, is skipped then.
                self.after_cr = true;
                end + 1
            });
            self.pos = next;
            let len = self.partial_len + found;
            let spanned = self.partial_len > 0;
            self.partial_len = 0;
            if core::mem::take(&mut self.discarding) {
                continue;
            }
            return Some(match budget {
                None => Scanned::Skipped { empty: len == 0 },
                Some(max) if len > max => {
                    self.partial.clear();
                    Scanned::TooLong
                }
                Some(max) if spanned => {
                    extend_line(
                        &mut self.partial,
                        rest.get(..found).unwrap_or_default(),
                        max,
                    );
                    self.joined = true;
                    self.line_hint = self.partial.len().min(REUSE_LIMIT);
                    Scanned::Joined
                }
                Some(_) => Scanned::InChunk { start: pos, end },
            });
        }
    }

    /// Takes `bytes` as they are fed when they only continue the line in progress (no line
    /// ending in them, nothing queued before them) and fit its budget: they are copied
    /// where the scanner would copy them anyway, and a drip of small pieces costs no queue
    /// entry per piece. `false` when they must be queued.
    #[inline(always)]
    pub(super) fn continue_line(&mut self, bytes: &[u8], budget: Option<usize>) -> bool {
        if !self.queue.is_empty()
            || self.bom != BOM_DONE
            || self.after_cr
            || find_line_end(bytes).is_some()
        {
            return false;
        }
        // What `hold` does, without its checks for the line that passes its budget: that
        // line is queued and `scan` reports it.
        if self.discarding {
            return true;
        }
        let len = self.partial_len + bytes.len();
        match budget {
            Some(max) if len > max => return false,
            Some(max) => keep(&mut self.partial, bytes, self.line_hint, max),
            // Skipping: only the length is counted.
            None => {}
        }
        self.partial_len = len;
        true
    }

    /// Whether nothing is queued (as after each piece of a drip). Then the last line and
    /// the checked text of the chunk it came from are let go. Inlined into the callers of
    /// `Parser::next`, so that asking an idle parser costs no call.
    #[inline]
    pub(super) fn idle(&mut self) -> bool {
        if !self.queue.is_empty() {
            return false;
        }
        self.release_line();
        self.forget_text();
        true
    }

    /// Empties `partial` of the line that spanned chunks once it has been interpreted
    /// (unless a value took it), so that it holds the next one.
    #[inline]
    pub(super) fn release_line(&mut self) {
        if core::mem::take(&mut self.joined) {
            if self.partial.len() > REUSE_LIMIT {
                self.partial = BytesMut::new();
            } else {
                self.partial.clear();
            }
        }
    }

    /// Forgets the checked text of the front chunk, which is going.
    #[inline]
    pub(super) fn forget_text(&mut self) {
        self.lines_ahead = 0..0;
        self.open_from = None;
        if !self.text.is_empty() {
            self.text = ByteString::new();
        }
    }

    /// Forgets the line in progress and expects a BOM again.
    pub(super) fn start_stream(&mut self) {
        self.pos = 0;
        self.forget_text();
        self.partial.clear();
        self.partial_len = 0;
        self.discarding = false;
        self.after_cr = false;
        self.bom = 0;
    }
}

/// Where the next line begins after the line ending (CR, LF or CRLF) at `end` of `bytes`;
/// `None` for a CR that ends `bytes`, as an LF may follow in the next chunk.
#[inline]
pub(super) fn after_line_end(bytes: &[u8], end: usize) -> Option<usize> {
    match bytes.get(end..) {
        Some([b'\r', b'\n', ..]) => Some(end + 2),
        Some([b'\r']) => None,
        _ => Some(end + 1),
    }
}

/// Where the line after an empty line that starts at `at` begins, if that empty line ends
/// inside `bytes` (see [`after_line_end`]).
#[inline]
pub(super) fn empty_line_at(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'\n' | b'\r' => after_line_end(bytes, at),
        _ => None,
    }
}

/// Where the first CR or LF of `rest` is. Short input (an empty line, which ends every
/// event, or the few bytes of a small chunk) is searched a word at a time: a vector search
/// costs more to set up than that.
#[inline]
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

/// Keeps `rest`, the start of a line that the next chunk continues, within `budget`.
/// (A free function: `rest` borrows the scanner's queue.)
pub(super) fn hold(
    partial: &mut BytesMut,
    partial_len: &mut usize,
    discarding: &mut bool,
    rest: &[u8],
    budget: Option<usize>,
    hint: usize,
) -> Option<Scanned> {
    if *discarding || rest.is_empty() {
        return None;
    }
    *partial_len += rest.len();
    match budget {
        None => None,
        Some(max) if *partial_len > max => {
            partial.clear();
            *partial_len = 0;
            *discarding = true;
            Some(Scanned::TooLong)
        }
        Some(max) => {
            keep(partial, rest, hint, max);
            None
        }
    }
}

/// Appends `bytes` to the line that spans chunks, which holds at most `max` bytes; first,
/// if the line starts with them, readies its buffer (see [`start_line`]).
#[inline]
fn keep(partial: &mut BytesMut, bytes: &[u8], hint: usize, max: usize) {
    start_line(partial, hint, bytes.len(), max);
    extend_line(partial, bytes, max);
}

/// Before the first bytes of a line that spans chunks: when the events that held earlier
/// lines have been dropped, takes the buffer back now, while `partial` is empty and there
/// is nothing to move, with room for a line as long as `hint` (the last such line). Taken
/// later, mid-line, `BytesMut` would move the bytes held so far: for long lines, as many
/// bytes again as the line has. While the buffer is shared, the line grows as it comes;
/// only when there is no room at all is a buffer of that size allocated at once.
#[inline]
fn start_line(partial: &mut BytesMut, hint: usize, first: usize, max: usize) {
    let room = hint.max(first).min(max);
    if partial.is_empty() && partial.capacity() < room {
        if partial.capacity() == 0 {
            // No room at all (the last long line took the buffer, or filled it): this
            // line needs a buffer anyway, so one of the size lines have had, rather than
            // a dozen doublings for a long one.
            partial.reserve(room);
        } else {
            // When it cannot, the line grows as it comes.
            let _reclaimed = partial.try_reclaim(room);
        }
    }
}

/// Appends to the buffer of a line that spans chunks, which holds at most `max` bytes.
/// `BytesMut` grows by doubling, so a line just past half the limit would get a buffer of
/// nearly twice it (kept for reuse): once doubling would pass `max`, grow to `max`.
#[inline]
pub(super) fn extend_line(partial: &mut BytesMut, bytes: &[u8], max: usize) {
    make_room(partial, bytes.len(), max);
    match bytes {
        // A drip of single bytes: skip the copy routine's call.
        [byte] => partial.put_u8(*byte),
        _ => partial.extend_from_slice(bytes),
    }
}

/// Grows `buf`, which holds at most `max` bytes, to the limit rather than past it when
/// doubling for `additional` more bytes would (see [`extend_line`]).
#[inline]
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

    #[test]
    fn spanning_line_is_copied_once_and_released() {
        let mut scanner = Scanner::default();
        scanner
            .queue
            .push_back(Input::Chunk(Bytes::from_static(b"ab")));
        scanner
            .queue
            .push_back(Input::Chunk(Bytes::from_static(b"cd\n")));
        let Some(Step::Line(line)) = scanner.next_line(Some(100)) else {
            panic!("no line")
        };
        assert_eq!(line.as_slice(), b"abcd");
        assert!(matches!(line.buf, LineBuf::Joined(_)));
        assert_eq!(scanner.partial_len, 0);
        // Read in place, then let go of: the buffer keeps its room for the next line.
        scanner.release_line();
        assert!(scanner.partial.is_empty());
        assert!(scanner.partial.capacity() >= 4);
    }

    #[test]
    fn a_kept_value_takes_the_joined_line_and_the_rest_reads_empty() {
        let mut scanner = Scanner::default();
        for chunk in [&b"data: a"[..], b"bc\n"] {
            scanner.queue.push_back(Input::Chunk(Bytes::from(chunk)));
        }
        let Some(Step::Line(mut line)) = scanner.next_line(Some(100)) else {
            panic!("no line")
        };
        assert_eq!(line.take_from(6), "abc");
        assert_eq!(line.as_slice(), b"");
        scanner.release_line();
        assert!(scanner.partial.is_empty());
    }
}
