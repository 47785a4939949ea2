//! The errors of the parser and the encoder.

/// What went wrong while parsing an event stream.
///
/// Running out of input is not an error: [`Parser::next_frame`](crate::Parser::next_frame)
/// returns `None` until more bytes arrive. Invalid UTF-8 is not an error either: it becomes
/// U+FFFD, as the standard says. What remains is a stream that breaks a limit the caller set.
///
/// The parser recovers from every `ParseError`: it reports the error once, skips to the end
/// of the offending event and carries on with the next one.
///
/// # Examples
///
/// ```
/// use sse_wire::{Config, ParseError, Parser};
///
/// let mut parser = Parser::with_config(Config::new().max_event_size(8));
/// parser.feed(b"data: far too long\n\ndata: ok\n\n");
/// assert_eq!(parser.next_event(), Some(Err(ParseError::EventTooLarge { limit: 8 })));
/// assert_eq!(parser.next_event().unwrap().unwrap().data(), "ok");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// An event, or a line, grew past [`Config::max_event_size`](crate::Config::max_event_size).
    ///
    /// The event is dropped; the parser resumes at the next empty line.
    #[error("event exceeds the size limit of {limit} bytes")]
    EventTooLarge {
        /// The limit that was passed, in bytes.
        limit: usize,
    },
}

/// Why [`EventBuilder::build`](crate::EventBuilder::build) refused an event.
///
/// Each variant names the rule of the wire format that the value would break. The builder
/// never panics and never writes a value that would let one field inject another.
///
/// # Examples
///
/// ```
/// use sse_wire::{EncodeError, Event};
///
/// let err = Event::builder().event("tick\ndata: injected").data("x").build().unwrap_err();
/// assert_eq!(err, EncodeError::EventTypeLineBreak);
/// assert_eq!(err.to_string(), "event type contains a line break (CR or LF)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The event type contains CR or LF, which would end its line early.
    #[error("event type contains a line break (CR or LF)")]
    EventTypeLineBreak,
    /// The id contains CR or LF, which would end its line early.
    #[error("id contains a line break (CR or LF)")]
    IdLineBreak,
    /// The id contains U+0000 NULL; clients ignore such an `id` field.
    #[error("id contains U+0000 NULL, which clients ignore")]
    IdNul,
    /// The retry delay does not fit in a `u64` count of milliseconds.
    #[error("retry delay does not fit in 64-bit milliseconds")]
    RetryTooLarge,
    /// The value given to [`EventBuilder::json_data`](crate::EventBuilder::json_data) could
    /// not be serialized (feature `json`).
    #[cfg(feature = "json")]
    #[error("data could not be serialized as json")]
    Json(#[source] crate::JsonError),
}

/// What went wrong while decoding a stream of byte chunks: the transport that delivered
/// them, or the event stream they carried. From `DecodeStream` (feature `stream`) and
/// `EventCodec` (feature `tokio-util`).
///
/// Keeping the two apart tells a client what to do: a transport error calls for a
/// reconnection (with [`last_event_id`](crate::Parser::last_event_id)), a parse error only
/// means one event was skipped.
///
/// Each variant displays as its cause does, and [`source`](core::error::Error::source)
/// passes on the cause's source: a transport error reads as what the transport said.
///
/// The enum is `#[non_exhaustive]`: a later release may add a kind of failure (a
/// variant), so a `match` needs a wildcard arm. Whatever it stands for, the adapter and its
/// parser stay usable and keep their last event ID; treat it as a transport error (end
/// this connection and reconnect with the last event ID), which is always safe.
///
/// # Examples
///
/// ```
/// use sse_wire::{DecodeError, ParseError};
///
/// let transport: DecodeError<std::io::Error> = DecodeError::Transport(std::io::ErrorKind::ConnectionReset.into());
/// assert_eq!(transport.to_string(), "connection reset");
///
/// let parse: DecodeError<std::io::Error> = DecodeError::Parse(ParseError::EventTooLarge { limit: 8 });
/// assert_eq!(parse.to_string(), "event exceeds the size limit of 8 bytes");
///
/// let action = |error: &DecodeError<std::io::Error>| match error {
///     DecodeError::Parse(_) => "carry on: the parser skipped one event",
///     DecodeError::Transport(_) => "reconnect with the last event ID",
///     // A kind of failure added by a later release.
///     _ => "reconnect with the last event ID",
/// };
/// assert_eq!(action(&parse), "carry on: the parser skipped one event");
/// assert_eq!(action(&transport), "reconnect with the last event ID");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError<E> {
    /// The stream of chunks failed: a broken connection, a timeout, a bad body. Displays
    /// as `E` does.
    #[error(transparent)]
    Transport(E),
    /// The bytes broke a limit of the parser's [`Config`](crate::Config); the parser skipped
    /// the offending event and carries on.
    #[error(transparent)]
    Parse(ParseError),
}
