//! The response headers of an event stream, as plain strings.

/// The response headers an SSE response needs, as `(name, value)` pairs for any HTTP
/// library:
///
/// - `content-type: text/event-stream`, what `EventSource` requires;
/// - `cache-control: no-cache`, so no cache stores or replays the stream;
/// - `x-accel-buffering: no`, so nginx forwards each chunk at once instead of buffering.
///
/// Needs no feature (it is plain data, for `no_std` servers too). With the `http-body`
/// feature, `response_headers()` gives the same pairs as an `http::HeaderMap`.
///
/// # Examples
///
/// ```
/// let mut headers = std::collections::BTreeMap::new();
/// headers.extend(sse_wire::RESPONSE_HEADERS);
/// assert_eq!(headers["content-type"], "text/event-stream");
/// ```
pub const RESPONSE_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
];
