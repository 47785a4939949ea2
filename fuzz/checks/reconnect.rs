//! `reconnect`: the sans-io reconnect machine under any sequence of responses, body chunks,
//! failures and elapsed time.

use core::time::Duration;

use sse_wire::{Cause, Parser, ReconnectPolicy, Reconnector, ResponseHead, Verdict};

use super::Source;

/// Pieces of bodies the fuzzer would take long to find byte by byte.
const TOKENS: [&[u8]; 12] = [
    b"data: x\n\n",
    b"id: 1\n",
    b"id\n",
    b"id: \xc3\xa9\n\n",
    b"retry: 0\n",
    b"retry: 1500\n",
    b"retry: 99999999999\n",
    b"data: [DONE]\n\n",
    b": keep-alive\n",
    b"\n",
    b"\r\n\r\n",
    b"data: cut",
];

const STATUSES: [u16; 12] = [200, 200, 200, 204, 205, 301, 404, 408, 429, 500, 503, 504];

const CONTENT_TYPES: [Option<&[u8]>; 5] = [
    Some(b"text/event-stream"),
    Some(b"Text/Event-Stream; charset=utf-8"),
    Some(b"text/html"),
    Some(b""),
    None,
];

/// A policy from two parameter bytes: the preset, and which settings to vary.
fn policy(src: &mut Source<'_>) -> ReconnectPolicy {
    let flags = src.byte();
    let mut policy = if flags & 1 == 0 {
        ReconnectPolicy::event_source()
    } else {
        ReconnectPolicy::llm()
    };
    if flags & 2 != 0 {
        policy = policy.with_retry_transient(true);
    }
    if flags & 4 != 0 {
        policy = policy.with_max_attempts(Some(u32::from(src.byte() % 8)));
    }
    if flags & 8 != 0 {
        policy = policy.with_max_reconnect_time(Some(Duration::from_millis(src.u16().into())));
    }
    if flags & 16 != 0 {
        policy = policy.with_min_retry(Duration::from_millis(src.u16().into()));
    }
    if flags & 32 != 0 {
        policy = policy.with_max_backoff(Duration::from_millis(u64::from(src.u16()) << 4));
    }
    if flags & 64 != 0 {
        policy = policy.with_initial_retry(Duration::from_millis(src.u16().into()));
    }
    if flags & 128 != 0 {
        policy = policy.with_stable_after(Duration::from_millis(src.u16().into()));
    }
    policy
}

/// `reconnect`: no panic, and the machine's invariants hold after every step:
///
/// - a wait is never shorter than the server's `retry:` (or the initial reconnection time
///   before one), nor the floor;
/// - the backoff on top stays within its cap (a longer wait is exactly the `Retry-After`
///   the server asked for);
/// - a request never carries an empty `Last-Event-ID`, and carries the stream's last event
///   ID (tracked by a parser of its own) whenever it is not empty;
/// - nothing follows a fatal verdict or a clean end: no request, no retry, no event;
/// - no retry numbers an attempt past `max_attempts`, and the `llm` preset never re-sends
///   its request without an id to resume from, unless the server answered with a status
///   the policy retries.
///
/// Layout: an 8-byte seed, the policy (1 to 13 bytes), then operations, a tag byte each:
/// connect, a response (status, content type, `Retry-After`), a body chunk (a token or raw
/// bytes), a disconnection (its cause), time passing.
pub(crate) fn reconnect(input: &[u8]) {
    let mut src = Source(input);
    let seed = src.u64();
    let policy = policy(&mut src);
    let mut machine = Reconnector::new(policy, seed);
    // What the server's stream said, read apart from the machine: fed what the machine is
    // fed, finished where it is.
    let mut shadow = Parser::new();
    let mut now = Duration::ZERO;
    let mut open = false;
    let mut over = false;
    // `Retry-After` of the last response, in seconds, when it asked for a wait.
    while !src.is_empty() {
        let verdict = match src.byte() % 6 {
            0 => {
                let headers: Vec<(&str, Vec<u8>)> = match machine.connect() {
                    Some(headers) => headers.map(|(n, v)| (n, v.to_vec())).collect(),
                    None => {
                        assert!(over || machine.is_finished());
                        continue;
                    }
                };
                assert!(!over, "a request after the stream ended");
                if open {
                    shadow.finish();
                    while shadow.next_event().is_some() {}
                    open = false;
                }
                check_headers(&headers, shadow.last_event_id());
                continue;
            }
            1 => {
                let status = match src.byte() {
                    255 => src.u16(),
                    byte => STATUSES[usize::from(byte) % STATUSES.len()],
                };
                let content_type = CONTENT_TYPES[usize::from(src.byte()) % CONTENT_TYPES.len()];
                let retry_after_secs = src.byte();
                let retry_after = format!("{retry_after_secs}");
                let mut head = ResponseHead::new(status);
                if let Some(value) = content_type {
                    head = head.content_type(value);
                }
                let asked = (retry_after_secs % 2 == 1).then(|| {
                    head = head.retry_after(retry_after.as_bytes());
                    Duration::from_secs(retry_after_secs.into())
                });
                // A response while a body is open ends that body, as a connect does.
                if open {
                    shadow.finish();
                    while shadow.next_event().is_some() {}
                    open = false;
                }
                let verdict = machine.response(now, &head);
                drain(&mut machine, &mut shadow, over);
                if matches!(verdict, Verdict::Open) {
                    assert!(!over);
                    open = true;
                }
                (verdict, asked)
            }
            2 => {
                let chunk = match src.byte() {
                    n @ 0..=199 => TOKENS[usize::from(n) % TOKENS.len()].to_vec(),
                    n => src.take(usize::from(n - 199)).to_vec(),
                };
                if open && !machine.is_finished() {
                    shadow.feed(&chunk);
                }
                machine.feed(chunk);
                drain(&mut machine, &mut shadow, over);
                continue;
            }
            3 => {
                let cause = match src.byte() % 3 {
                    0 => Cause::Ended,
                    1 => Cause::IdleTimeout,
                    _ => Cause::Transport("reset".into()),
                };
                if open {
                    shadow.finish();
                    while shadow.next_event().is_some() {}
                    open = false;
                }
                let verdict = machine.disconnected(now, cause);
                drain(&mut machine, &mut shadow, over);
                (verdict, None)
            }
            4 => {
                now += Duration::from_millis(src.u16().into());
                continue;
            }
            _ => {
                now += Duration::from_secs(src.u16().into());
                continue;
            }
        };
        check_verdict(&machine, &shadow, verdict, &mut over);
    }
}

/// Takes the events the machine completed; none may come once the stream is over.
fn drain(machine: &mut Reconnector, shadow: &mut Parser, over: bool) {
    while let Some(event) = machine.next_event() {
        assert!(!over, "an event after the stream ended: {event:?}");
    }
    // The shadow parser keeps its own events: only its id and retry matter.
    while shadow.next_event().is_some() {}
}

fn check_headers(headers: &[(&str, Vec<u8>)], last_event_id: &str) {
    assert_eq!(headers.first().map(|h| h.0), Some("accept"));
    let ids: Vec<&[u8]> = headers
        .iter()
        .filter(|(name, _)| *name == "last-event-id")
        .map(|(_, value)| &value[..])
        .collect();
    assert!(
        ids.iter().all(|id| !id.is_empty()),
        "an empty Last-Event-ID"
    );
    let want: Vec<&[u8]> = Some(last_event_id.as_bytes())
        .filter(|id| !id.is_empty())
        .into_iter()
        .collect();
    assert_eq!(ids, want);
}

fn check_verdict(
    machine: &Reconnector,
    shadow: &Parser,
    (verdict, asked): (Verdict, Option<Duration>),
    over: &mut bool,
) {
    let policy = machine.policy();
    match verdict {
        Verdict::Retry {
            attempt,
            delay,
            cause,
        } => {
            assert!(!*over, "a retry after the stream ended");
            let server = shadow.retry().unwrap_or(policy.initial_retry());
            assert!(
                delay >= server,
                "waits {delay:?}, the server asked for {server:?}"
            );
            let unit = server.max(policy.min_retry());
            assert!(delay >= unit, "waits {delay:?} under the floor {unit:?}");
            let within_cap = delay <= unit.saturating_add(policy.max_backoff());
            assert!(
                within_cap || Some(delay) == asked,
                "waits {delay:?}, past {unit:?} + the cap {:?}",
                policy.max_backoff()
            );
            if let Some(max) = policy.max_attempts() {
                assert!(
                    attempt <= max.max(1),
                    "attempt {attempt} past the cap {max}"
                );
            }
            if policy.resume_needs_id() && shadow.last_event_id().is_empty() {
                assert!(
                    matches!(cause, Cause::Status { .. }),
                    "a request re-sent without an id to resume from: {cause:?}"
                );
            }
        }
        Verdict::End | Verdict::Fail(_) => {
            *over = true;
            assert!(machine.is_finished());
        }
        Verdict::Open => {}
        other => panic!("a verdict the check does not know: {other:?}"),
    }
}
