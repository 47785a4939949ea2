//! A naive reference implementation of the WHATWG "Server-sent events" parsing rules, for
//! differential testing. It shares no code with `src/` and takes the most literal route:
//! decode the whole stream as UTF-8 first, strip one BOM, split it into lines, then
//! interpret the lines one by one exactly as the standard's steps are written. No limits,
//! no chunks, no cleverness.
//!
//! Used by `tests/prop.rs`, `tests/spec.rs` and the fuzz targets (via `#[path]`).
#![allow(dead_code)] // each includer uses a different part

/// What a client observes, in stream order. Mirrors `sse_wire::Frame` with plain types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    Event {
        event_type: String,
        data: String,
        id: Option<String>,
        last_event_id: String,
        retry: Option<u64>,
    },
    Comment(String),
    Retry(u64),
    /// A block with an id field and no data ended.
    Id(String),
    /// An event passed the parser's size limit (the oracle itself never reports this).
    TooLarge,
}

/// Parses a complete stream (the end of the input is the end of the stream).
pub(crate) fn parse(input: &[u8]) -> Vec<Seen> {
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut out = Vec::new();
    let mut state = State::default();
    for line in complete_lines(text) {
        state.interpret(&line, &mut out);
    }
    out
}

/// The lines of `text` that have a line ending; an unterminated last line is dropped,
/// since the stream ended before it was complete.
fn complete_lines(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\r' => {
                lines.push(std::mem::take(&mut current));
                if i + 1 < chars.len() && chars[i + 1] == '\n' {
                    i += 1;
                }
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
        i += 1;
    }
    lines
}

#[derive(Default)]
struct State {
    data: String,
    event_type: String,
    last_event_id_buffer: String,
    last_event_id: String,
    // Not in the standard's state: what this block set, for `Seen::Event` and `Seen::Id`.
    block_id: Option<String>,
    block_retry: Option<u64>,
}

impl State {
    fn interpret(&mut self, line: &str, out: &mut Vec<Seen>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            let comment = comment.strip_prefix(' ').unwrap_or(comment);
            out.push(Seen::Comment(comment.to_string()));
            return;
        }
        let (field, value) = match line.find(':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line, ""),
        };
        match field {
            "event" => self.event_type = value.to_string(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            // "If the field value does not contain U+0000 NULL" (else ignore the field).
            "id" if !value.contains('\0') => {
                self.last_event_id_buffer = value.to_string();
                self.block_id = Some(value.to_string());
            }
            // "If the field value consists of only ASCII digits" (else ignore the field).
            "retry" if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) => {
                // Saturate like the crate documents: a huge value means "wait forever".
                let ms = value.parse::<u64>().unwrap_or(u64::MAX);
                self.block_retry = Some(ms);
                out.push(Seen::Retry(ms));
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Seen>) {
        self.last_event_id = self.last_event_id_buffer.clone();
        let block_id = self.block_id.take();
        let block_retry = self.block_retry.take();
        if self.data.is_empty() {
            self.event_type.clear();
            if block_id.is_some() {
                out.push(Seen::Id(self.last_event_id.clone()));
            }
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the trailing LF
        let event_type = match std::mem::take(&mut self.event_type) {
            t if t.is_empty() => "message".to_string(),
            t => t,
        };
        out.push(Seen::Event {
            event_type,
            data,
            id: block_id,
            last_event_id: self.last_event_id.clone(),
            retry: block_retry,
        });
    }
}

/// Parses several connections' streams in turn, as one `EventSource` (or one reused
/// `Parser` with `finish()` between them) sees them: the last event ID string carries over,
/// and the next connection's buffer starts from it, so an `id` of a block discarded at the
/// end of a connection never takes effect.
pub(crate) fn parse_connections(inputs: &[&[u8]]) -> Vec<Seen> {
    let mut out = Vec::new();
    let mut state = State::default();
    for input in inputs {
        let text = String::from_utf8_lossy(input);
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
        for line in complete_lines(text) {
            state.interpret(&line, &mut out);
        }
        state = State {
            last_event_id_buffer: state.last_event_id.clone(),
            last_event_id: state.last_event_id,
            ..State::default()
        };
    }
    out
}

/// Converts what the crate's parser returned into the oracle's terms.
pub(crate) fn seen(frame: Result<sse_wire::Frame, sse_wire::ParseError>) -> Seen {
    use sse_wire::Frame;
    match frame {
        Ok(Frame::Event(e)) => Seen::Event {
            event_type: e.event_type().to_string(),
            data: e.data().to_string(),
            id: e.id().map(str::to_string),
            last_event_id: e.last_event_id().to_string(),
            retry: e
                .retry()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        },
        Ok(Frame::Comment(c)) => Seen::Comment(c.to_string()),
        Ok(Frame::Retry(d)) => Seen::Retry(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        Ok(Frame::Id(id)) => Seen::Id(id.to_string()),
        Err(sse_wire::ParseError::EventTooLarge { .. }) => Seen::TooLarge,
        other => panic!("a frame the oracle does not know: {other:?}"),
    }
}

/// What a client acts on after frames are re-encoded: `Frame::encode` writes a retry as a
/// block of its own, so a downstream parser reports it as a `Retry` before the event, not
/// on the event as well. The event's own `retry` is left out.
pub(crate) fn without_event_retry(seen: Seen) -> Seen {
    match seen {
        Seen::Event {
            event_type,
            data,
            id,
            last_event_id,
            ..
        } => Seen::Event {
            event_type,
            data,
            id,
            last_event_id,
            retry: None,
        },
        other => other,
    }
}

/// Runs the crate's parser over `chunks` (then the end of the stream) and collects what it
/// reports, draining after every chunk as a client would.
pub(crate) fn run_parser(parser: &mut sse_wire::Parser, chunks: &[&[u8]]) -> Vec<Seen> {
    let mut out = Vec::new();
    for chunk in chunks {
        parser.feed_bytes(bytes::Bytes::copy_from_slice(chunk));
        while let Some(frame) = parser.next_frame() {
            out.push(seen(frame));
        }
    }
    parser.finish();
    while let Some(frame) = parser.next_frame() {
        out.push(seen(frame));
    }
    out
}
