//! The encode rows that start from borrowed strings with sse-wire's `EventRef`, and the
//! floor they are measured against: a bare copy of the finished output.

use bytes::BytesMut;

use crate::workloads::Spec;
use crate::FLUSH;

/// sse-wire's per-event server path: `EventRef` from the spec's borrowed strings, encoded
/// at once into one reused buffer, flushed every 64 KiB like the other sse-wire rows.
pub(crate) fn sse_wire_event_ref(
    specs: &[Spec],
    _: &[sse_wire::Event],
    sink: &mut dyn FnMut(&[u8]),
) {
    let mut buf = BytesMut::with_capacity(2 * FLUSH);
    for spec in specs {
        let mut event = sse_wire::EventRef::new(&spec.data);
        if let Some(name) = &spec.event {
            event = event.event(name);
        }
        if let Some(id) = &spec.id {
            event = event.id(id);
        }
        if let Err(error) = event.encode(&mut buf) {
            panic!("{error}");
        }
        if buf.len() >= FLUSH {
            sink(&buf);
            buf.clear();
        }
    }
    sink(&buf);
}
