//! Clients that reconnect as the standard says: the sans-io [`Reconnector`] for any HTTP
//! client, and `EventSource` over reqwest (feature `reqwest`).
//!
//! # Rules
//!
//! The WHATWG processing model, then what users of other clients asked for:
//!
//! - Every request carries `Accept: text/event-stream` and `Cache-Control: no-cache`, and
//!   `Last-Event-ID` only when the last event ID is not empty (as its UTF-8 bytes). The
//!   last event ID persists across connections; an `id` of a block cut off by the end of a
//!   connection never takes effect.
//! - 200 with a content type whose essence is `text/event-stream` (any case, parameters
//!   allowed) opens the stream; 204 ends it cleanly; anything else fails it, unless the
//!   policy opts in to retrying 408, 429, 502, 503 and 504 (with `Retry-After` as a lower
//!   bound on the wait).
//! - The end of the body, a broken connection or an idle timeout reconnects after the
//!   reconnection time (3 s until the server sends `retry:`), never less, never less than
//!   a floor, plus an exponential backoff with full jitter while attempts keep failing.
//!   The failure count resets only when a connection delivers an event or stays up a while.
//! - The `llm` preset never sends a request twice unless the server gave an id to resume
//!   from.
//!
//! See [`ReconnectPolicy`] for the defaults and why they are what they are.

mod error;
#[cfg(feature = "reqwest")]
mod event_source;
mod head;
mod http_date;
mod machine;
mod policy;

pub use error::{BoxError, Cause, ClientError};
#[cfg(feature = "reqwest")]
pub use event_source::{EventSource, SourceEvent};
pub use head::{RequestHeaders, ResponseHead};
pub use machine::{Reconnector, Verdict};
pub use policy::ReconnectPolicy;
