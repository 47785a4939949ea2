//! `decode_stream`: the decode adapters (feature `stream`) against a plain `Parser`.

use core::time::Duration;

use bytes::Bytes;
use sse_wire::{Config, Frame, ParseError, Parser};

use super::{limit, Source};

/// One step of a scripted connection, for `decode_stream`.
#[derive(Debug, Clone)]
enum Step {
    Chunk(Bytes),
    /// A transport error; when `reconnect` is set the client answers it by reconnecting.
    Fail {
        code: u8,
        reconnect: bool,
    },
    /// The inner stream is not ready; it wakes its task at once.
    Pending,
    /// The connection ends; the client reconnects if the script goes on.
    End,
}

/// The inner stream of `decode_stream`: one connection's steps.
#[derive(Debug)]
struct Connection(std::collections::VecDeque<Step>);

impl futures_util::Stream for Connection {
    type Item = Result<Bytes, u8>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        match self.0.pop_front() {
            Some(Step::Chunk(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Some(Step::Fail { code, .. }) => Poll::Ready(Some(Err(code))),
            Some(Step::Pending) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::End) | None => Poll::Ready(None),
        }
    }
}

/// What `decode_stream` needs of `DecodeStream` of events and of frames alike.
trait Decoder: futures_util::Stream + Unpin + Sized {
    fn with(connection: Connection, config: Config) -> Self;
    fn reconnect_to(&mut self, connection: Connection);
    fn frame(item: Self::Item) -> Result<Frame, sse_wire::DecodeError<u8>>;
    fn state(&self) -> (String, Option<Duration>);
    fn next_of(parser: &mut Parser) -> Option<Result<Frame, ParseError>>;
}

impl Decoder for sse_wire::DecodeStream<Connection> {
    fn with(connection: Connection, config: Config) -> Self {
        Self::with_config(connection, config)
    }

    fn reconnect_to(&mut self, connection: Connection) {
        std::pin::Pin::new(self).reconnect(connection);
    }

    fn frame(item: Self::Item) -> Result<Frame, sse_wire::DecodeError<u8>> {
        item.map(Frame::Event)
    }

    fn state(&self) -> (String, Option<Duration>) {
        (self.last_event_id().to_owned(), self.retry())
    }

    fn next_of(parser: &mut Parser) -> Option<Result<Frame, ParseError>> {
        parser.next_event().map(|r| r.map(Frame::Event))
    }
}

impl Decoder for sse_wire::DecodeStream<Connection, Frame> {
    fn with(connection: Connection, config: Config) -> Self {
        sse_wire::DecodeStream::with_config(connection, config).frames()
    }

    fn reconnect_to(&mut self, connection: Connection) {
        std::pin::Pin::new(self).reconnect(connection);
    }

    fn frame(item: Self::Item) -> Result<Frame, sse_wire::DecodeError<u8>> {
        item
    }

    fn state(&self) -> (String, Option<Duration>) {
        (self.last_event_id().to_owned(), self.retry())
    }

    fn next_of(parser: &mut Parser) -> Option<Result<Frame, ParseError>> {
        parser.next_frame()
    }
}

/// `decode_stream`: the decode adapters over scripted connections of chunks, transport
/// errors, not-ready polls, ends and reconnections. They yield exactly what a `Parser` fed
/// the same chunks yields, with each transport error in its place (after every event its
/// connection completed before it), end with the same last event ID and retry delay, and
/// stay ended once their last connection ends.
///
/// Layout: limit, mode (bit 0: frames rather than events), then steps: a tag byte, and for
/// a chunk its length and bytes, for an error its code.
pub(crate) fn decode_stream(input: &[u8]) {
    let mut src = Source(input);
    let config = Config::new().max_event_size(limit(&mut src));
    let frames = src.byte() & 1 != 0;
    let mut steps = Vec::new();
    while !src.is_empty() {
        steps.push(match src.byte() % 8 {
            0..=3 => {
                let len = usize::from(src.byte());
                Step::Chunk(Bytes::copy_from_slice(src.take(len)))
            }
            4 => Step::Fail {
                code: src.byte(),
                reconnect: false,
            },
            5 => Step::Fail {
                code: src.byte(),
                reconnect: true,
            },
            6 => Step::Pending,
            _ => Step::End,
        });
    }
    if frames {
        decode_with::<sse_wire::DecodeStream<Connection, Frame>>(config, &steps);
    } else {
        decode_with::<sse_wire::DecodeStream<Connection>>(config, &steps);
    }
}

fn decode_with<D: Decoder>(config: Config, steps: &[Step]) {
    use futures_util::StreamExt;
    use sse_wire::DecodeError;

    // The script cut into connections: each ends at an end or at an error the client
    // answers by reconnecting.
    let mut connections = vec![Vec::new()];
    for step in steps {
        if let Some(current) = connections.last_mut() {
            current.push(step.clone());
        }
        if matches!(
            step,
            Step::End
                | Step::Fail {
                    reconnect: true,
                    ..
                }
        ) {
            connections.push(Vec::new());
        }
    }

    // What a parser fed the same chunks, drained after each, reports.
    let mut parser = Parser::with_config(config);
    let mut want = Vec::new();
    for connection in &connections {
        for step in connection {
            match step {
                Step::Chunk(chunk) => parser.feed_bytes(chunk.clone()),
                Step::Fail { code, .. } => want.push(Err(DecodeError::Transport(*code))),
                Step::Pending | Step::End => {}
            }
            while let Some(frame) = D::next_of(&mut parser) {
                want.push(frame.map_err(DecodeError::Parse));
            }
        }
        parser.finish();
        while let Some(frame) = D::next_of(&mut parser) {
            want.push(frame.map_err(DecodeError::Parse));
        }
    }

    let mut connections = connections
        .into_iter()
        .map(|steps| Connection(steps.into()));
    let Some(first) = connections.next() else {
        return;
    };
    let mut decoder = D::with(first, config);
    // Whether the client answers each transport error, in order, by reconnecting.
    let mut answers = steps.iter().filter_map(|step| match step {
        Step::Fail { reconnect, .. } => Some(*reconnect),
        _ => None,
    });
    let mut got = Vec::new();
    futures_executor::block_on(async {
        loop {
            match decoder.next().await.map(D::frame) {
                Some(Err(DecodeError::Transport(code))) => {
                    got.push(Err(DecodeError::Transport(code)));
                    if answers.next() == Some(true) {
                        match connections.next() {
                            Some(next) => decoder.reconnect_to(next),
                            None => break,
                        }
                    }
                }
                Some(item) => got.push(item),
                None => match connections.next() {
                    Some(next) => decoder.reconnect_to(next),
                    None => break,
                },
            }
        }
        assert!(
            decoder.next().await.is_none(),
            "an ended decoder stays ended"
        );
    });
    assert_eq!(got, want);
    assert_eq!(
        decoder.state(),
        (parser.last_event_id().to_owned(), parser.retry())
    );
}
