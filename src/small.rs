//! `Small`: the text of an event's type and id, inline when short.
//!
//! Event types and ids are a few bytes each ("tick", "1000042"). Holding each as a slice of
//! the fed chunk costs an atomic reference-count increment when the event is made and a
//! decrement when it is dropped, which dominated dispatching small events. Copying a short
//! value into the event costs less and allocates nothing; longer values stay slices.

use core::fmt;

use bytestring::ByteString;

/// Values up to this many bytes are held inline (the most that keeps `Small` as small as a
/// `ByteString`).
const INLINE: usize = 22;

/// Immutable UTF-8 text, inline up to [`INLINE`] bytes, else shared.
#[derive(Clone)]
pub(crate) enum Small {
    /// `bytes[..len]` is valid UTF-8 (checked when it was made).
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Shared(ByteString),
}

impl Small {
    /// `value` inline, if it is short enough and valid UTF-8.
    pub(crate) fn inline(value: &[u8]) -> Option<Small> {
        if value.len() > INLINE {
            return None;
        }
        Small::inline_str(core::str::from_utf8(value).ok()?)
    }

    /// `text` inline, if it is short enough.
    pub(crate) fn inline_str(text: &str) -> Option<Small> {
        let value = text.as_bytes();
        let len = u8::try_from(value.len())
            .ok()
            .filter(|&len| usize::from(len) <= INLINE)?;
        let mut bytes = [0; INLINE];
        // A loop of known bound rather than a call to the general copy routine.
        for (to, from) in bytes.iter_mut().zip(value) {
            *to = *from;
        }
        Some(Small::Inline { len, bytes })
    }

    /// `text`, inline when it is short enough.
    pub(crate) fn new(text: ByteString) -> Small {
        Small::inline(text.as_bytes()).unwrap_or(Small::Shared(text))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Small::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Small::Shared(text) => text.as_bytes(),
        }
    }

    /// The text. An inline value is checked again here: safe code cannot skip the check,
    /// and for a few bytes it costs less than the shared slice's reference counting.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Small::Inline { .. } => core::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Small::Shared(text) => text,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// The text as a shareable string: a copy when it is inline.
    pub(crate) fn to_byte_string(&self) -> ByteString {
        match self {
            Small::Inline { .. } => ByteString::from(self.as_str()),
            Small::Shared(text) => text.clone(),
        }
    }
}

impl Default for Small {
    fn default() -> Self {
        Small::Inline {
            len: 0,
            bytes: [0; INLINE],
        }
    }
}

impl From<&str> for Small {
    fn from(text: &str) -> Small {
        Small::inline_str(text).unwrap_or_else(|| Small::Shared(ByteString::from(text)))
    }
}

impl PartialEq for Small {
    fn eq(&self, other: &Small) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Small {}

impl fmt::Debug for Small {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_inline_and_long_ones_shared() {
        let short = Small::new(ByteString::from("tick"));
        assert!(matches!(short, Small::Inline { len: 4, .. }));
        assert_eq!(short.as_str(), "tick");
        let edge = "é".repeat(INLINE / 2);
        assert!(matches!(
            Small::new(ByteString::from(edge.as_str())),
            Small::Inline { .. }
        ));
        let long = Small::new(ByteString::from("x".repeat(INLINE + 1)));
        assert!(matches!(long, Small::Shared(_)));
        assert_eq!(long.as_bytes().len(), INLINE + 1);
        assert_eq!(short, Small::from("tick"));
        assert!(
            Small::inline(b"\xFF").is_none(),
            "invalid UTF-8 is never inline"
        );
        assert_eq!(
            core::mem::size_of::<Small>(),
            core::mem::size_of::<ByteString>()
        );
    }
}
