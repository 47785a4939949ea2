//! Stream adapters: events into bytes for servers, bytes into events for clients.
//!
//! Neither names a runtime. The encoder's keep-alive reads its clock through
//! [`KeepAliveTimer`], which the caller supplies.

mod decode;
pub(crate) mod encode;
mod keep_alive;
pub(crate) mod serve;

pub use decode::DecodeStream;
pub use encode::{EncodeItem, EncodeStream};
#[cfg(feature = "tokio")]
pub use keep_alive::TokioTimer;
pub use keep_alive::{KeepAliveTimer, NoKeepAlive};
