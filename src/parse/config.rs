//! `Config`: the parser's limits.

/// Limits for a [`Parser`](crate::Parser).
///
/// A `Copy` value built by chaining: each setter returns the changed configuration, and
/// the getter of the same setting is the setter's name with `get_`, as on
/// `std::process::Command`.
///
/// # Examples
///
/// ```
/// use sse_wire::{Config, Parser};
///
/// // A server that consumes many untrusted streams holds at most 64 KiB per event.
/// let config = Config::new().max_event_size(64 * 1024);
/// assert_eq!(config.get_max_event_size(), 65_536);
/// let parser = Parser::with_config(config);
/// assert_eq!(parser.buffered_len(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    max_event_size: usize,
}

impl Config {
    /// The default [`max_event_size`](Config::max_event_size): 16 MiB.
    ///
    /// Generous on purpose: LLM APIs stream base64 images of several MiB as one event, and
    /// a parser that rejects them breaks real streams. Lower it when you parse many
    /// untrusted streams at once.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sse_wire::Config::DEFAULT_MAX_EVENT_SIZE, 16 << 20);
    /// ```
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

    /// The default configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::Config;
    ///
    /// assert_eq!(Config::new().get_max_event_size(), Config::DEFAULT_MAX_EVENT_SIZE);
    /// assert_eq!(Config::new(), Config::default());
    /// ```
    pub const fn new() -> Self {
        Config {
            max_event_size: Self::DEFAULT_MAX_EVENT_SIZE,
        }
    }

    /// Sets the most bytes the parser holds for one event, and returns the changed
    /// configuration (the one it was called on is a copy, left as it was).
    ///
    /// An event's size is the length of its data (lines joined), its type and its id, plus
    /// the line being read; a line is measured without its line ending, so no single line
    /// may be longer than the limit either. When an event would pass the limit, the parser
    /// returns [`ParseError::EventTooLarge`](crate::ParseError::EventTooLarge) once, skips
    /// the rest of that event and carries on at the next one. So the memory a parser holds
    /// is bounded by this limit (plus the last event ID, itself bounded by it, and the
    /// chunks fed but not yet read).
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_wire::{Config, ParseError, Parser};
    ///
    /// let mut parser = Parser::with_config(Config::new().max_event_size(10));
    /// parser.feed(b"data: 0123\ndata: 4567\n\ndata: ok\n\n");
    /// // "0123\n4567" is 9 bytes, but the second line (10 bytes) would not fit beside the first.
    /// assert_eq!(parser.next_event(), Some(Err(ParseError::EventTooLarge { limit: 10 })));
    /// assert_eq!(parser.next_event().unwrap()?.data(), "ok");
    /// # Ok::<(), ParseError>(())
    /// ```
    #[must_use = "a setter returns the changed configuration and leaves the original as it was"]
    pub const fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// The limit set by [`max_event_size`](Config::max_event_size).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sse_wire::Config::new().max_event_size(5).get_max_event_size(), 5);
    /// ```
    pub const fn get_max_event_size(&self) -> usize {
        self.max_event_size
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}
