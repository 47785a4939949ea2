//! Zero copy and zero allocation, proven: a counting global allocator (per thread, so that
//! tests running in parallel do not see each other) and pointer-range checks.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use sse_wire::{Event, EventRef, Parser};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static ALLOCATED_BYTES: Cell<usize> = const { Cell::new(0) };
}

fn note(bytes: usize) {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = ALLOCATED_BYTES.try_with(|n| n.set(n.get() + bytes));
}

// SAFETY: defers every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations, bytes allocated) by this thread while `f` runs.
fn counting<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let (n0, b0) = (ALLOCATIONS.with(Cell::get), ALLOCATED_BYTES.with(Cell::get));
    let out = f();
    let (n1, b1) = (ALLOCATIONS.with(Cell::get), ALLOCATED_BYTES.with(Cell::get));
    (out, n1 - n0, b1 - b0)
}

/// A chunk holding `n` events, each with a type, an id and one line of data.
fn ticker_chunk(n: usize) -> Bytes {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "event: tick\nid: {i}\ndata: {{\"symbol\":\"ACME\",\"price\":{i}.25}}\n\n"
        ));
    }
    // Through BytesMut so the chunk is already reference-counted (as chunks read from a
    // socket are); a `Bytes` made from a `Vec` allocates once when first shared.
    BytesMut::from(text.as_bytes()).freeze()
}

#[test]
fn dispatching_one_line_events_allocates_nothing() {
    let chunk = ticker_chunk(1000);
    let mut parser = Parser::new();
    parser.feed_bytes(chunk.clone()); // the queue's first allocation happens here
    let (events, allocations, _) = counting(|| {
        let mut events = 0;
        while let Some(event) = parser.next_event() {
            let event = event.unwrap();
            assert_eq!(event.event_type(), "tick");
            assert!(event.id().is_some());
            events += 1;
        }
        events
    });
    assert_eq!(events, 1000);
    assert_eq!(
        allocations, 0,
        "allocations while dispatching {events} events"
    );
}

#[test]
fn event_data_is_a_slice_of_the_fed_chunk_and_short_types_and_ids_live_in_the_event() {
    let chunk = ticker_chunk(50);
    let range = chunk.as_ptr_range();
    let inside = |s: &[u8]| range.contains(&s.as_ptr()) && s.as_ptr_range().end <= range.end;
    let mut parser = Parser::new();
    parser.feed_bytes(chunk.clone());
    let mut n = 0;
    while let Some(event) = parser.next_event() {
        let event = event.unwrap();
        assert!(inside(event.data_bytes()), "data copied");
        assert!(inside(event.data().as_bytes()), "data() copied");
        // Short values are copied into the event itself: no allocation, no reference count.
        let this = (&event as *const Event) as usize;
        let in_event = |s: &str| {
            let start = s.as_ptr() as usize;
            start >= this && start + s.len() <= this + size_of::<Event>()
        };
        assert!(in_event(event.event_type()), "event type not inline");
        assert!(in_event(event.id().unwrap()), "id not inline");
        assert!(
            in_event(event.last_event_id()),
            "last event ID not the inline id"
        );
        n += 1;
    }
    assert_eq!(n, 50);
}

#[test]
fn long_event_types_and_ids_are_slices_of_the_fed_chunk() {
    let (name, id) = (
        "a-rather-long-event-type-name",
        "0123456789abcdef0123456789",
    );
    let text = format!("event: {name}\nid: {id}\ndata: x\n\n").repeat(10);
    let chunk = BytesMut::from(text.as_bytes()).freeze();
    let range = chunk.as_ptr_range();
    let inside =
        |s: &str| range.contains(&s.as_ptr()) && s.as_bytes().as_ptr_range().end <= range.end;
    let mut parser = Parser::new();
    parser.feed_bytes(chunk.clone());
    let mut n = 0;
    while let Some(event) = parser.next_event() {
        let event = event.unwrap();
        assert_eq!((event.event_type(), event.id()), (name, Some(id)));
        assert!(inside(event.event_type()), "event type copied");
        assert!(inside(event.id().unwrap()), "id copied");
        assert!(inside(event.last_event_id()), "last event ID copied");
        n += 1;
    }
    assert_eq!(n, 10);
}

#[test]
fn data_spanning_chunks_is_copied_once_and_correct() {
    let mut parser = Parser::new();
    let a = Bytes::from_static(b"data: hel");
    let b = Bytes::from_static(b"lo\n\n");
    parser.feed_bytes(a.clone());
    parser.feed_bytes(b.clone());
    let event = parser.next_event().unwrap().unwrap();
    assert_eq!(event.data(), "hello");
    let p = event.data_bytes().as_ptr();
    assert!(!a.as_ptr_range().contains(&p) && !b.as_ptr_range().contains(&p));
}

#[test]
fn feeding_borrowed_slices_reuses_one_buffer() {
    // `feed(&[u8])` copies into 8 KiB blocks that small feeds share: far less than one
    // allocation per call (a block and its reference count per ~130 of these events).
    let chunk = ticker_chunk(1);
    let mut parser = Parser::new();
    for _ in 0..100 {
        parser.feed(&chunk);
        while let Some(event) = parser.next_event() {
            event.unwrap();
        }
    }
    let (_, allocations, _) = counting(|| {
        for _ in 0..10_000 {
            parser.feed(&chunk);
            while let Some(event) = parser.next_event() {
                event.unwrap();
            }
        }
    });
    assert!(
        allocations <= 200,
        "{allocations} allocations for 10,000 fed events"
    );
}

#[test]
fn encoding_into_a_reused_buffer_allocates_nothing() {
    let events: Vec<Event> = (0..1000)
        .map(|i| {
            Event::builder()
                .event("tick")
                .id(i.to_string())
                .retry(std::time::Duration::from_millis(1500))
                .data(format!("line {i}\nsecond line"))
                .build()
                .unwrap()
        })
        .collect();
    let mut buf = BytesMut::with_capacity(1 << 20);
    let (_, allocations, _) = counting(|| {
        for event in &events {
            event.encode(&mut buf);
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(
        buf.len(),
        events.iter().map(Event::encoded_len).sum::<usize>()
    );
}

#[test]
fn to_bytes_allocates_once_exactly_the_encoded_length() {
    // `encode` reserves as if each text were one line: it must never reserve past what
    // `encoded_len` counts, or `to_bytes` would allocate twice.
    let events = [
        Event::from_data("one line"),
        Event::from_data("a\nb\r\nc\rd"),
        Event::builder()
            .comment("x\ny")
            .event("tick")
            .id("7")
            .retry(std::time::Duration::from_millis(u64::MAX))
            .data("")
            .build()
            .unwrap(),
        Event::builder().id("only an id").build().unwrap(),
    ];
    for event in &events {
        let (bytes, allocations, allocated) = counting(|| event.to_bytes());
        assert_eq!(allocations, 1, "{event:?}");
        assert_eq!(allocated, event.encoded_len(), "{event:?}");
        assert_eq!(bytes.len(), event.encoded_len());
    }
}

#[test]
fn encoding_event_refs_from_borrowed_strings_allocates_nothing() {
    // Every field, multi-line data with each kind of line break, short and long (past the
    // plain-loop length) types and ids: the whole per-event path of a server.
    let ids: Vec<String> = (0..1000).map(|i| format!("{i:0>30}")).collect();
    let data: Vec<String> = (0..1000)
        .map(|i| format!("token {i}\nsecond\r\nthird\rfourth"))
        .collect();
    let mut buf = BytesMut::with_capacity(1 << 20);
    let (_, allocations, _) = counting(|| {
        for (i, (id, data)) in ids.iter().zip(&data).enumerate() {
            let id = if i % 2 == 0 { &id[25..] } else { id.as_str() };
            EventRef::new(data)
                .event(if i % 2 == 0 {
                    "tick"
                } else {
                    "a-rather-long-event-type"
                })
                .id(id)
                .retry(std::time::Duration::from_millis(1500))
                .comment("note")
                .encode(&mut buf)
                .unwrap();
        }
    });
    assert_eq!(allocations, 0);
    let mut parser = Parser::new();
    parser.feed_bytes(buf.freeze());
    let mut n = 0;
    while let Some(event) = parser.next_event() {
        assert_eq!(
            event.unwrap().data(),
            data[n].replace("\r\n", "\n").replace('\r', "\n")
        );
        n += 1;
    }
    assert_eq!(n, 1000);
}

#[test]
fn one_byte_drip_of_a_long_line_allocates_linearly() {
    // A parser that re-copies or rescans its buffer per chunk would allocate (and scan)
    // quadratically: 1 MiB dripped byte by byte would cost ~512 GiB. Ours grows one buffer
    // by doubling.
    const LEN: usize = 1 << 20;
    let mut parser = Parser::new();
    let (_, _, bytes) = counting(|| {
        parser.feed_bytes(Bytes::from_static(b"data: "));
        for _ in 0..LEN {
            parser.feed_bytes(Bytes::from_static(b"x"));
            assert!(parser.next_event().is_none());
        }
        parser.feed_bytes(Bytes::from_static(b"\n\n"));
        let event = parser.next_event().unwrap().unwrap();
        assert_eq!(event.data().len(), LEN);
    });
    assert!(
        bytes < 8 * LEN,
        "{bytes} bytes allocated to parse a {LEN}-byte line"
    );
}

#[test]
fn a_line_that_spanned_chunks_is_released_once_read() {
    // After the event is dropped, nothing of the spanning line may stay allocated.
    let mut parser = Parser::new();
    parser.feed_bytes(Bytes::from_static(b"data: "));
    parser.feed_bytes(Bytes::from(vec![b'x'; 1 << 20]));
    parser.feed_bytes(Bytes::from_static(b"\n\n"));
    let event = parser.next_event().unwrap().unwrap();
    let weak = event.data_bytes().clone();
    drop(event);
    assert!(parser.next_event().is_none());
    // `weak` is now the only owner of the joined line: converting it back into a
    // `BytesMut` must succeed without a copy if no one else holds it.
    assert!(
        weak.try_into_mut().is_ok(),
        "the parser still holds the spanning line"
    );
}

#[test]
fn long_lines_that_span_chunks_start_with_room_for_the_last_one() {
    // Lines past the reuse limit leave with their buffer. The next one starts with room
    // for as long a line as the last, instead of doubling its way up from 16 KiB (seven
    // reallocations for 2 MiB).
    const LEN: usize = 2 << 20;
    let mut line = b"data: ".to_vec();
    line.resize(LEN, b'x');
    line.extend_from_slice(b"\n\n");
    let line = Bytes::from(line);
    let mut parser = Parser::new();
    let feed_line = |parser: &mut Parser| {
        for at in (0..line.len()).step_by(16 * 1024) {
            parser.feed_bytes(line.slice(at..(at + 16 * 1024).min(line.len())));
        }
        let event = parser.next_event().unwrap().unwrap();
        assert_eq!(event.data().len(), LEN - 6);
    };
    feed_line(&mut parser);
    let (_, allocations, _) = counting(|| {
        for _ in 0..4 {
            feed_line(&mut parser);
        }
    });
    // Per line: the buffer, one doubling past the 1 MiB the hint is capped at, the
    // header `BytesMut` shares it through, the queue entry; not a ladder.
    assert!(
        allocations <= 4 * 4,
        "{allocations} allocations for 4 lines of {LEN} bytes"
    );
}
