//! Event ids: `<epoch>-<seq>`, both parts decimal.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The id a [`Hub`](crate::Hub) gave an event: the hub's epoch and the event's sequence
/// number, written `<epoch>-<seq>` on the wire (`1764871234567-42`).
///
/// Sequence numbers start at 1 and have no holes, so the hub finds the event an id names by
/// subtraction, without a scan. The epoch tells hubs apart: by default the time the hub
/// was built, in milliseconds since 1970 (and never the same twice in one process), so an
/// id a client kept from before a restart, or from another hub, is recognised as unknown.
///
/// # Examples
///
/// ```
/// let hub = sse_wire::Hub::builder().epoch(7).build();
/// let id = hub.publish(sse_wire::Event::from_data("hi"));
/// assert_eq!(id.to_string(), "7-1");
/// assert_eq!((id.epoch(), id.seq()), (7, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId {
    epoch: u64,
    seq: u64,
}

/// The longest `<epoch>-<seq>`: two 20-digit numbers and the dash.
pub(crate) const MAX_LEN: usize = 20 + 1 + 20;

impl EventId {
    pub(crate) fn new(epoch: u64, seq: u64) -> EventId {
        EventId { epoch, seq }
    }

    /// The epoch of the hub that gave the id.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::builder().epoch(3).build();
    /// assert_eq!(hub.publish(sse_wire::Event::from_data("a")).epoch(), 3);
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The event's sequence number in its hub: 1 for the first event published, then one
    /// more for each.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_wire::Hub::new();
    /// assert_eq!(hub.publish(sse_wire::Event::from_data("a")).seq(), 1);
    /// assert_eq!(hub.publish(sse_wire::Event::from_data("b")).seq(), 2);
    /// ```
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Reads an id in the form [`Display`](fmt::Display) writes, and only that form: both
    /// parts plain decimal without sign or leading zero, so that each id has one spelling.
    pub(crate) fn parse(text: &str) -> Option<EventId> {
        let (epoch, seq) = text.split_once('-')?;
        Some(EventId {
            epoch: canonical_decimal(epoch)?,
            seq: canonical_decimal(seq)?,
        })
    }

    /// Writes the id into `out` and returns its bytes.
    pub(crate) fn write<'a>(&self, out: &'a mut [u8; MAX_LEN]) -> &'a [u8] {
        let mut end = MAX_LEN;
        end = write_decimal_before(self.seq, out, end);
        end -= 1;
        if let Some(dash) = out.get_mut(end) {
            *dash = b'-';
        }
        let start = write_decimal_before(self.epoch, out, end);
        out.get(start..).unwrap_or_default()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.seq)
    }
}

fn canonical_decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let canonical = match bytes {
        [] => false,
        [b'0'] => true,
        [first, ..] => *first != b'0' && bytes.iter().all(u8::is_ascii_digit),
    };
    if canonical {
        text.parse().ok()
    } else {
        None
    }
}

/// Writes `n` in decimal so that it ends just before `out[end]`; returns where it starts.
/// `end` is at least 21 here, room for any `u64`.
fn write_decimal_before(mut n: u64, out: &mut [u8; MAX_LEN], mut end: usize) -> usize {
    loop {
        end -= 1;
        if let Some(digit) = out.get_mut(end) {
            // `n % 10` is below 10, so the cast is exact.
            *digit = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            return end;
        }
    }
}

/// A default epoch: the time in milliseconds since 1970, but later than every epoch handed
/// out before in this process, so that two hubs built in the same millisecond (one per
/// topic, say) never take each other's ids for their own.
pub(crate) fn default_epoch() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let epoch = now.max(last.saturating_add(1));
        match LAST.compare_exchange_weak(last, epoch, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return epoch,
            Err(seen) => last = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn write_matches_display_at_the_extremes() {
        for (epoch, seq) in [(0, 0), (1, 9), (10, 10), (u64::MAX, u64::MAX), (7, 1 << 40)] {
            let id = EventId::new(epoch, seq);
            let mut out = [0; MAX_LEN];
            assert_eq!(id.write(&mut out), id.to_string().as_bytes());
        }
    }

    #[test]
    fn parse_takes_only_the_canonical_spelling() {
        assert_eq!(EventId::parse("12-0"), Some(EventId::new(12, 0)));
        assert_eq!(
            EventId::parse("18446744073709551615-3"),
            Some(EventId::new(u64::MAX, 3))
        );
        for bogus in [
            "",
            "-",
            "1-",
            "-1",
            "01-1",
            "1-01",
            "+1-1",
            "1-+1",
            "1-1-1",
            "1 -1",
            "a-1",
            "18446744073709551616-1",
            "1-٣",
        ] {
            assert_eq!(EventId::parse(bogus), None, "{bogus:?}");
        }
    }

    #[test]
    fn default_epochs_never_repeat_in_a_process() {
        let a = default_epoch();
        let b = default_epoch();
        assert!(b > a);
    }
}
