//! `encode_ref`: any `EventRef` is either refused, with the error of the first broken rule
//! and nothing written, or written as bytes that parse back to exactly the fields given.

use core::time::Duration;

use bytes::BytesMut;
use sse_wire::{EncodeError, EventRef, Frame};

use super::{parse_frames, Source};

/// Layout: a flags byte (bit 0 event type, 1 id, 2 retry, 3 comment, 4 retry as seconds
/// and nanoseconds, which can overflow), the data, then each field the flags name, in that
/// order: length-prefixed strings, 8 bytes of milliseconds or 10 of seconds and
/// nanoseconds for the retry.
pub(crate) fn encode_ref(input: &[u8]) {
    let mut src = Source(input);
    let flags = src.byte();
    let data = src.text();
    let event_type = (flags & 1 != 0).then(|| src.text());
    let id = (flags & 2 != 0).then(|| src.text());
    let retry = (flags & 4 != 0).then(|| {
        if flags & 16 != 0 {
            let nanos = u32::from(src.u16()) * 16_000 % 1_000_000_000;
            Duration::new(src.u64(), nanos)
        } else {
            Duration::from_millis(src.u64())
        }
    });
    let comment = (flags & 8 != 0).then(|| src.text());

    let mut event = EventRef::new(&data);
    if let Some(event_type) = &event_type {
        event = event.event(event_type);
    }
    if let Some(id) = &id {
        event = event.id(id);
    }
    if let Some(retry) = retry {
        event = event.retry(retry);
    }
    if let Some(comment) = &comment {
        event = event.comment(comment);
    }

    // The rules, from the documentation alone, in the order `encode` checks them.
    let breaks = |s: &str| s.contains(['\r', '\n']);
    let broken = if event_type.as_deref().is_some_and(breaks) {
        Some(EncodeError::EventTypeLineBreak)
    } else if id.as_deref().is_some_and(breaks) {
        Some(EncodeError::IdLineBreak)
    } else if id.as_deref().is_some_and(|id| id.contains('\0')) {
        Some(EncodeError::IdNul)
    } else if retry.is_some_and(|retry| u64::try_from(retry.as_millis()).is_err()) {
        Some(EncodeError::RetryTooLarge)
    } else {
        None
    };

    let mut buf = BytesMut::from(&b"kept"[..]);
    let result = event.encode(&mut buf);
    match (result, broken) {
        (Err(error), Some(rule)) => {
            assert_eq!(
                error, rule,
                "the error names another rule than the one broken"
            );
            assert_eq!(&buf[..], b"kept", "{error:?}, yet bytes were written");
            return;
        }
        (Err(error), None) => panic!("refused a valid event: {error:?}"),
        (Ok(()), Some(rule)) => panic!("accepted an event that breaks {rule:?}: {buf:?}"),
        (Ok(()), None) => {}
    }
    assert_eq!(&buf[..4], b"kept", "bytes before the event changed");
    let wire = &buf[4..];
    assert!(!wire.contains(&b'\r'), "the encoder wrote a CR: {wire:?}");

    let lines = |text: &str| text.replace("\r\n", "\n").replace('\r', "\n");
    let parsed = parse_frames(wire);
    let mut frames = parsed.iter();
    if let Some(comment) = &comment {
        for line in lines(comment).split('\n') {
            match frames.next() {
                Some(Frame::Comment(text)) => assert_eq!(text.as_str(), line),
                other => panic!("comment line {line:?} came back as {other:?}"),
            }
        }
    }
    let retry = retry.map(|retry| retry.as_millis());
    if let Some(ms) = retry {
        match frames.next() {
            Some(Frame::Retry(got)) => assert_eq!(got.as_millis(), ms),
            other => panic!("retry {ms} ms came back as {other:?}"),
        }
    }
    let Some(Frame::Event(got)) = frames.next() else {
        panic!("no event in {parsed:?}");
    };
    let event_type = match event_type.as_deref() {
        None | Some("") => "message",
        Some(named) => named,
    };
    assert_eq!(got.event_type(), event_type);
    assert_eq!(got.data(), lines(&data));
    assert_eq!(got.id(), id.as_deref());
    assert_eq!(got.retry().map(|retry| retry.as_millis()), retry);
    assert_eq!(frames.next(), None, "more than one block in {wire:?}");
}
