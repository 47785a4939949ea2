//! Stream adapters: events into bytes for servers, bytes into events for clients.
//!
//! Neither names a runtime. The encoder's keep-alive reads its clock through
//! [`KeepAliveTimer`], which the caller supplies.

mod decode;
pub(crate) mod encode;
mod keep_alive;
pub(crate) mod serve;

pub use decode::{DecodeStream, FrameStream};
pub use encode::{EncodeItem, EncodeStream};
#[cfg(feature = "tokio")]
pub use keep_alive::TokioTimer;
pub use keep_alive::{KeepAliveTimer, NoKeepAlive};

/// The response headers an SSE response needs, as `(name, value)` pairs for any HTTP
/// library:
///
/// - `content-type: text/event-stream`, what `EventSource` requires;
/// - `cache-control: no-cache`, so no cache stores or replays the stream;
/// - `x-accel-buffering: no`, so nginx forwards each chunk at once instead of buffering.
///
/// With the `http-body` feature, [`response_headers`](crate::response_headers) gives them
/// as an `http::HeaderMap`.
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
