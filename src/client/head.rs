//! What the machine reads of a response, and the headers it has a request carry.

use core::time::Duration;

use super::http_date;

/// What the machine needs to know of a response: its status and a few headers, as bytes.
///
/// # Examples
///
/// ```
/// use sse_wire::ResponseHead;
///
/// let head = ResponseHead::new(200).content_type(b"text/event-stream; charset=utf-8");
/// # drop(head);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    pub(super) status: u16,
    pub(super) content_type: Option<&'a [u8]>,
    retry_after: Option<&'a [u8]>,
    date: Option<&'a [u8]>,
}

impl<'a> ResponseHead<'a> {
    /// A response with this status code and no headers.
    ///
    /// # Examples
    ///
    /// ```
    /// let head = sse_wire::ResponseHead::new(404);
    /// # drop(head);
    /// ```
    pub const fn new(status: u16) -> Self {
        ResponseHead {
            status,
            content_type: None,
            retry_after: None,
            date: None,
        }
    }

    /// The `Content-Type` header.
    ///
    /// # Examples
    ///
    /// ```
    /// let head = sse_wire::ResponseHead::new(200).content_type(b"Text/Event-Stream");
    /// # drop(head);
    /// ```
    #[must_use]
    pub const fn content_type(mut self, value: &'a [u8]) -> Self {
        self.content_type = Some(value);
        self
    }

    /// The `Retry-After` header: seconds, or an HTTP date (counted from the
    /// [`date`](ResponseHead::date) header, since the machine reads no clock).
    ///
    /// # Examples
    ///
    /// ```
    /// let head = sse_wire::ResponseHead::new(503).retry_after(b"120");
    /// # drop(head);
    /// ```
    #[must_use]
    pub const fn retry_after(mut self, value: &'a [u8]) -> Self {
        self.retry_after = Some(value);
        self
    }

    /// The `Date` header: the server's clock, which an HTTP-date `Retry-After` is relative to.
    ///
    /// # Examples
    ///
    /// ```
    /// let head = sse_wire::ResponseHead::new(503)
    ///     .retry_after(b"Wed, 21 Oct 2015 07:28:30 GMT")
    ///     .date(b"Wed, 21 Oct 2015 07:28:00 GMT");
    /// # drop(head);
    /// ```
    #[must_use]
    pub const fn date(mut self, value: &'a [u8]) -> Self {
        self.date = Some(value);
        self
    }

    /// The wait `Retry-After` asks for, if it says anything the machine understands.
    pub(super) fn retry_after_delay(&self) -> Option<Duration> {
        let value = trim(self.retry_after?);
        if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
            // Too many digits for a u64 is "a very long time".
            let secs = value.iter().try_fold(0u64, |n, &d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            });
            return Some(Duration::from_secs(secs.unwrap_or(u64::MAX)));
        }
        let at = http_date::parse(value)?;
        let now = http_date::parse(trim(self.date?))?;
        Some(Duration::from_secs(at.saturating_sub(now)))
    }

    /// Whether the content type's essence is `text/event-stream`: any case, parameters and
    /// surrounding whitespace allowed.
    pub(super) fn is_event_stream(&self) -> bool {
        self.content_type.is_some_and(|value| {
            let essence = value.split(|&b| b == b';').next().unwrap_or_default();
            trim(essence).eq_ignore_ascii_case(b"text/event-stream")
        })
    }
}

/// HTTP's optional whitespace trimmed off both ends.
fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// The request headers of one attempt, as `(name, value)` pairs: `Accept:
/// text/event-stream`, `Cache-Control: no-cache`, and `Last-Event-ID` when the last event
/// ID is not empty (its UTF-8 bytes). Names are lowercase, as HTTP/2 wants them.
///
/// # Examples
///
/// ```
/// let mut machine = sse_wire::Reconnector::new(Default::default(), 0);
/// let headers: Vec<_> = machine.connect().unwrap().collect();
/// assert_eq!(headers, [("accept", &b"text/event-stream"[..]), ("cache-control", b"no-cache")]);
/// ```
#[derive(Debug, Clone)]
pub struct RequestHeaders<'a> {
    last_event_id: &'a str,
    next: usize,
}

impl<'a> RequestHeaders<'a> {
    /// The headers of a request made when the stream's last event ID is `last_event_id`.
    pub(super) fn new(last_event_id: &'a str) -> Self {
        RequestHeaders {
            last_event_id,
            next: 0,
        }
    }
}

impl<'a> Iterator for RequestHeaders<'a> {
    type Item = (&'static str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let header = match self.next {
            0 => ("accept", &b"text/event-stream"[..]),
            1 => ("cache-control", &b"no-cache"[..]),
            2 if !self.last_event_id.is_empty() => ("last-event-id", self.last_event_id.as_bytes()),
            _ => return None,
        };
        self.next += 1;
        Some(header)
    }
}
