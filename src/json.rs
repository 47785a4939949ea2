//! The `json` integration: event data serialized with serde_json.

use alloc::string::ToString;
use alloc::sync::Arc;
use core::fmt;

use crate::{EncodeError, EventBuilder};

impl EventBuilder {
    /// Adds `value`, serialized as compact JSON, as data (feature `json`). Compact JSON
    /// holds no line break, so it is one `data:` line.
    ///
    /// A value that cannot be serialized (a map with non-string keys, a `Serialize` impl
    /// that fails) makes [`build`](EventBuilder::build) return [`EncodeError::Json`]: an
    /// error, never a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use sse_wire::{EncodeError, Event};
    ///
    /// let event = Event::builder().event("delta").json_data(&["Hel", "lo"]).build()?;
    /// assert_eq!(event.to_bytes(), "event: delta\ndata: [\"Hel\",\"lo\"]\n\n");
    ///
    /// let bad_keys = BTreeMap::from([((1, 2), "tuple keys are not JSON")]);
    /// let error = Event::builder().json_data(&bad_keys).build().unwrap_err();
    /// assert!(matches!(error, EncodeError::Json(_)));
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn json_data<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(json) => self.data(json),
            Err(error) => {
                self.fail(EncodeError::Json(JsonError(Arc::new(error))));
                self
            }
        }
    }
}

/// Why a value could not be serialized as JSON (feature `json`); inside
/// [`EncodeError::Json`].
///
/// Opaque, so that serde_json's error type stays out of this crate's API: its message is
/// serde_json's, and it is cheap to clone. Two `JsonError`s are equal when their messages
/// are.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use sse_wire::{EncodeError, Event};
///
/// let map = HashMap::from([(vec![1], 1)]);
/// let Err(EncodeError::Json(error)) = Event::builder().json_data(&map).build() else { panic!() };
/// assert_eq!(error.to_string(), "key must be a string");
/// ```
#[derive(Clone)]
pub struct JsonError(Arc<serde_json::Error>);

impl fmt::Debug for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl core::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        // The message above is serde_json's own; its cause, if any, comes next.
        core::error::Error::source(&*self.0)
    }
}

impl PartialEq for JsonError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for JsonError {}
