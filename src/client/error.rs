//! Why a connection ended, and why a stream failed.

use alloc::boxed::Box;
use alloc::string::String;
use core::time::Duration;

/// An error from the HTTP client, boxed so that no client's type shows in this crate's API.
///
/// # Examples
///
/// ```
/// let error: sse_wire::BoxError = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
/// let cause = sse_wire::Cause::Transport(error);
/// assert!(std::error::Error::source(&cause).is_some());
/// ```
pub type BoxError = Box<dyn core::error::Error + Send + Sync>;

/// Why a connection did not go on: what the caller of
/// [`Reconnector::disconnected`](crate::Reconnector::disconnected) reports, and what a
/// retry or a failure names as its cause.
///
/// # Examples
///
/// ```
/// use sse_wire::Cause;
///
/// assert_eq!(Cause::Ended.to_string(), "the response body ended");
/// let reset = Cause::Transport(std::io::Error::from(std::io::ErrorKind::ConnectionReset).into());
/// assert_eq!(reset.to_string(), "the connection failed");
/// assert!(std::error::Error::source(&reset).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    /// The response body ended.
    #[error("the response body ended")]
    Ended,
    /// Connecting, sending the request or reading the body failed.
    #[error("the connection failed")]
    Transport(#[source] BoxError),
    /// No byte arrived within the policy's
    /// [`idle_timeout`](crate::ReconnectPolicy::idle_timeout).
    #[error("no bytes within the idle timeout")]
    IdleTimeout,
    /// A status the policy retries (see
    /// [`retry_transient`](crate::ReconnectPolicy::retry_transient)).
    #[error("the server answered with HTTP status {status}")]
    Status {
        /// The status code.
        status: u16,
    },
}

/// Why an event stream failed for good. After it, the stream yields nothing more.
///
/// # Examples
///
/// ```
/// use sse_wire::{Cause, ClientError};
///
/// let error = ClientError::Status { status: 404 };
/// assert_eq!(error.to_string(), "unexpected HTTP status 404");
/// let error = ClientError::ContentType { content_type: Some("text/html".into()) };
/// assert_eq!(error.to_string(), "not an event stream: content type text/html");
/// let error = ClientError::Truncated(Cause::Ended);
/// assert_eq!(error.to_string(), "truncated before the terminal event");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with a status other than 200 and 204 (and not one the policy
    /// retries).
    #[error("unexpected HTTP status {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// A 200 response whose content type is not `text/event-stream`.
    #[error("not an event stream: content type {}", .content_type.as_deref().unwrap_or("missing"))]
    ContentType {
        /// The `Content-Type` header, if there was one (invalid UTF-8 replaced).
        content_type: Option<String>,
    },
    /// The request could not be made and retrying cannot help: it could not be built
    /// (an invalid URL or header), or it was redirected too often.
    #[error("the request failed")]
    Transport(#[source] BoxError),
    /// The connection broke before the terminal event, and the policy does not send the
    /// request again without a last event ID to resume from (the `llm` preset).
    #[error("truncated before the terminal event")]
    Truncated(#[source] Cause),
    /// [`max_attempts`](crate::ReconnectPolicy::max_attempts) attempts in a row failed.
    #[error("attempts exhausted: {attempts} in a row failed")]
    AttemptsExhausted {
        /// The attempts that failed in a row.
        attempts: u32,
        /// Why the last one failed.
        #[source]
        last: Cause,
    },
    /// The next attempt would come later than
    /// [`max_reconnect_time`](crate::ReconnectPolicy::max_reconnect_time) after the last
    /// good connection.
    #[error("reconnection time exhausted after {elapsed:?}")]
    TimeExhausted {
        /// How long the client had been reconnecting.
        elapsed: Duration,
        /// Why the last attempt failed.
        #[source]
        last: Cause,
    },
}
