//! The reconnect machine's rules (DESIGN.md section 6, WHATWG "Server-sent events"), one
//! table-driven test per rule, on the sans-io `Reconnector` alone: no I/O, no clock.

use std::time::Duration;

use proptest::prelude::*;
use sse_wire::{Cause, ClientError, ReconnectPolicy, Reconnector, ResponseHead, Verdict};

const MS: Duration = Duration::from_millis(1);
const SSE: &[u8] = b"text/event-stream";

fn ok() -> ResponseHead<'static> {
    ResponseHead::new(200).content_type(SSE)
}

/// The headers `connect` returns, as owned pairs.
fn connect(machine: &mut Reconnector) -> Vec<(&'static str, Vec<u8>)> {
    machine
        .connect()
        .expect("the stream is not over")
        .map(|(name, value)| (name, value.to_vec()))
        .collect()
}

fn last_event_id_header(headers: &[(&'static str, Vec<u8>)]) -> Option<String> {
    let mut ids = headers.iter().filter(|(name, _)| *name == "last-event-id");
    let id = ids
        .next()
        .map(|(_, v)| String::from_utf8(v.clone()).unwrap());
    assert!(ids.next().is_none(), "Last-Event-ID twice: {headers:?}");
    id
}

/// Connects and opens a response at `now`.
fn open(machine: &mut Reconnector, now: Duration) -> Vec<(&'static str, Vec<u8>)> {
    let headers = connect(machine);
    let verdict = machine.response(now, &ok());
    assert!(matches!(verdict, Verdict::Open), "{verdict:?}");
    headers
}

/// Feeds a body and returns the data of the events it completes.
fn feed(machine: &mut Reconnector, body: &str) -> Vec<String> {
    machine.feed(body.as_bytes().to_vec());
    drain(machine)
}

fn drain(machine: &mut Reconnector) -> Vec<String> {
    let mut data = Vec::new();
    while let Some(event) = machine.next_event() {
        data.push(event.unwrap().data().to_owned());
    }
    data
}

/// The attempt and delay of a retry verdict.
fn retry(verdict: Verdict) -> (u32, Duration) {
    match verdict {
        Verdict::Retry { attempt, delay, .. } => (attempt, delay),
        other => panic!("expected a retry, got {other:?}"),
    }
}

fn reset() -> Cause {
    Cause::Transport(std::io::Error::from(std::io::ErrorKind::ConnectionReset).into())
}

/// A policy without jitter, so that delays are exact.
fn exact() -> ReconnectPolicy {
    ReconnectPolicy::event_source().with_max_backoff(Duration::ZERO)
}

#[test]
fn request_headers_accept_no_cache_and_last_event_id_only_when_non_empty() {
    // (bodies of successive connections, the Last-Event-ID each following request sends)
    let cases: &[(&[&str], &[Option<&str>])] = &[
        (&["data: a\n\n"], &[None]),
        (&["id: 1\ndata: a\n\n"], &[Some("1")]),
        // An empty id clears it: no header at all, never an empty one.
        (&["id: 1\ndata: a\n\nid\ndata: b\n\n"], &[None]),
        (&["id: 1\ndata: a\n\nid:\n\n"], &[None]),
        // Non-ASCII ids go out as their UTF-8 bytes.
        (&["id: é日🦀\ndata: a\n\n"], &[Some("é日🦀")]),
        // An id with NUL is ignored.
        (&["id: 1\n\nid: a\0b\ndata: x\n\n"], &[Some("1")]),
        // The last event ID persists across connections that send no id.
        (
            &["id: 5\ndata: a\n\n", "data: b\n\n", "retry: 9\n"],
            &[Some("5"), Some("5"), Some("5")],
        ),
        // The id of a block cut off by the end of the connection never takes effect.
        (&["id: 1\ndata: a\n\nid: 2\ndata: cut"], &[Some("1")]),
        (&["id: 1\ndata: a\n\n", "id: 2\n"], &[Some("1"), Some("1")]),
        // An id-only block that completes counts.
        (&["id: 3\n\n"], &[Some("3")]),
    ];
    for (bodies, expected) in cases {
        let mut machine = Reconnector::new(exact(), 1);
        let mut now = Duration::ZERO;
        let first = open(&mut machine, now);
        assert_eq!(
            first,
            [
                ("accept", SSE.to_vec()),
                ("cache-control", b"no-cache".to_vec())
            ]
        );
        for (body, want) in bodies.iter().zip(*expected) {
            feed(&mut machine, body);
            now += MS;
            let (_, delay) = retry(machine.disconnected(now, Cause::Ended));
            now += delay;
            let headers = connect(&mut machine);
            assert_eq!(&headers[..2], &first[..], "{bodies:?}");
            assert_eq!(
                last_event_id_header(&headers).as_deref(),
                *want,
                "{bodies:?}"
            );
            assert_eq!(machine.last_event_id(), want.unwrap_or(""));
            assert!(matches!(machine.response(now, &ok()), Verdict::Open));
        }
    }
}

#[test]
fn response_200_event_stream_opens_204_ends_anything_else_fails() {
    #[derive(Debug, PartialEq)]
    enum Want {
        Open,
        End,
        Status(u16),
        ContentType(Option<&'static str>),
    }
    let cases: &[(u16, Option<&'static str>, Want)] = &[
        (200, Some("text/event-stream"), Want::Open),
        (200, Some("Text/Event-Stream"), Want::Open),
        (200, Some("text/event-stream; charset=utf-8"), Want::Open),
        (200, Some(" text/event-stream ;charset=utf-8"), Want::Open),
        (200, Some("text/event-stream\t"), Want::Open),
        (
            200,
            Some("text/event-streams"),
            Want::ContentType(Some("text/event-streams")),
        ),
        (200, Some("text/html"), Want::ContentType(Some("text/html"))),
        (
            200,
            Some("text/plain; x=text/event-stream"),
            Want::ContentType(Some("text/plain; x=text/event-stream")),
        ),
        (200, Some(""), Want::ContentType(Some(""))),
        (200, None, Want::ContentType(None)),
        (204, Some("text/event-stream"), Want::End),
        (204, None, Want::End),
        (201, Some("text/event-stream"), Want::Status(201)),
        (205, Some("text/event-stream"), Want::Status(205)),
        (206, Some("text/event-stream"), Want::Status(206)),
        (210, Some("text/event-stream"), Want::Status(210)),
        (299, Some("text/event-stream"), Want::Status(299)),
        (301, None, Want::Status(301)),
        (304, None, Want::Status(304)),
        (400, None, Want::Status(400)),
        (404, Some("text/event-stream"), Want::Status(404)),
        (410, None, Want::Status(410)),
        (500, None, Want::Status(500)),
        // Transient statuses fail too unless the policy opts in.
        (408, None, Want::Status(408)),
        (429, None, Want::Status(429)),
        (502, None, Want::Status(502)),
        (503, None, Want::Status(503)),
        (504, None, Want::Status(504)),
    ];
    for (status, content_type, want) in cases {
        for policy in [ReconnectPolicy::event_source(), ReconnectPolicy::llm()] {
            let mut machine = Reconnector::new(policy, 3);
            connect(&mut machine);
            let mut head = ResponseHead::new(*status);
            if let Some(value) = content_type {
                head = head.content_type(value.as_bytes());
            }
            let got = match machine.response(Duration::ZERO, &head) {
                Verdict::Open => Want::Open,
                Verdict::End => Want::End,
                Verdict::Fail(ClientError::Status { status }) => Want::Status(status),
                Verdict::Fail(ClientError::ContentType { content_type }) => {
                    Want::ContentType(content_type.map(|c| &*String::leak(c)))
                }
                other => panic!("{status}: {other:?}"),
            };
            assert_eq!(&got, want, "{status} {content_type:?}");
            // Whatever ended or failed the stream, nothing follows it.
            assert_eq!(machine.is_finished(), got != Want::Open);
            if got != Want::Open {
                assert!(machine.connect().is_none());
            }
        }
    }
}

#[test]
fn transient_statuses_retry_only_when_opted_in_with_retry_after_as_a_lower_bound() {
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    // (status, Retry-After, the least delay)
    let cases: &[(u16, Option<&str>, Duration)] = &[
        (503, None, Duration::from_secs(3)),
        (503, Some("10"), Duration::from_secs(10)),
        (503, Some(" 10 "), Duration::from_secs(10)),
        // A Retry-After shorter than the reconnection time does not shorten it.
        (429, Some("1"), Duration::from_secs(3)),
        (429, Some("0"), Duration::from_secs(3)),
        (408, Some("120"), Duration::from_secs(120)),
        (
            502,
            Some("Wed, 21 Oct 2015 07:28:30 GMT"),
            Duration::from_secs(30),
        ),
        (
            504,
            Some("Wed, 21 Oct 2015 07:38:00 GMT"),
            Duration::from_secs(600),
        ),
        // A date in the past, or something unreadable, leaves the usual wait.
        (
            503,
            Some("Wed, 21 Oct 2015 07:00:00 GMT"),
            Duration::from_secs(3),
        ),
        (503, Some("soon"), Duration::from_secs(3)),
        (503, Some("-5"), Duration::from_secs(3)),
        (
            503,
            Some("99999999999999999999999"),
            Duration::from_secs(u64::MAX),
        ),
    ];
    for &(status, retry_after, least) in cases {
        let policy = exact().with_retry_transient(true);
        let mut machine = Reconnector::new(policy, 5);
        connect(&mut machine);
        let mut head = ResponseHead::new(status).date(date.as_bytes());
        if let Some(value) = retry_after {
            head = head.retry_after(value.as_bytes());
        }
        let verdict = machine.response(Duration::ZERO, &head);
        let Verdict::Retry {
            attempt,
            delay,
            cause: Cause::Status { status: named },
        } = verdict
        else {
            panic!("{status} {retry_after:?}: {verdict:?}");
        };
        assert_eq!((attempt, named), (2, status));
        assert_eq!(delay, least, "{status} {retry_after:?}");
        // Then a 200 opens as usual.
        connect(&mut machine);
        assert!(matches!(machine.response(delay, &ok()), Verdict::Open));
    }
    // Other statuses still fail under the opt-in.
    for status in [400, 401, 403, 404, 410, 500, 501, 505] {
        let mut machine = Reconnector::new(exact().with_retry_transient(true), 5);
        connect(&mut machine);
        let verdict = machine.response(Duration::ZERO, &ResponseHead::new(status));
        assert!(
            matches!(verdict, Verdict::Fail(ClientError::Status { .. })),
            "{status}"
        );
    }
}

#[test]
fn reconnection_time_is_3s_until_the_server_sends_retry() {
    // (body of the first connection, the wait before the second)
    let cases: &[(&str, Duration)] = &[
        ("data: a\n\n", Duration::from_secs(3)),
        ("retry: 1500\ndata: a\n\n", Duration::from_millis(1500)),
        (
            "retry: 1500\nretry: 2s\ndata: a\n\n",
            Duration::from_millis(1500),
        ),
        (
            "retry: 1500\nretry\ndata: a\n\n",
            Duration::from_millis(1500),
        ),
        ("retry: 10000\ndata: a\n\n", Duration::from_secs(10)),
        // A retry field takes effect at once, without a dispatch.
        ("data: a\n\nretry: 700\n", Duration::from_millis(700)),
    ];
    for &(body, want) in cases {
        let mut machine = Reconnector::new(exact(), 9);
        open(&mut machine, Duration::ZERO);
        feed(&mut machine, body);
        let (attempt, delay) = retry(machine.disconnected(MS, Cause::Ended));
        assert_eq!((attempt, delay), (1, want), "{body:?}");
    }
    assert_eq!(
        ReconnectPolicy::event_source().initial_retry(),
        Duration::from_secs(3)
    );
}

#[test]
fn wait_is_never_shorter_than_the_server_retry_nor_the_floor() {
    // (retry field, floor, the least wait)
    let cases: &[(&str, Duration, Duration)] = &[
        (
            "retry: 0\n",
            ReconnectPolicy::MIN_RETRY,
            ReconnectPolicy::MIN_RETRY,
        ),
        (
            "retry: 1\n",
            ReconnectPolicy::MIN_RETRY,
            ReconnectPolicy::MIN_RETRY,
        ),
        ("retry: 0\n", Duration::from_secs(1), Duration::from_secs(1)),
        (
            "retry: 400\n",
            ReconnectPolicy::MIN_RETRY,
            Duration::from_millis(400),
        ),
        ("retry: 0\n", Duration::ZERO, Duration::ZERO),
        (
            "retry: 5000\n",
            Duration::from_secs(1),
            Duration::from_secs(5),
        ),
    ];
    for &(field, floor, least) in cases {
        for seed in 0..50 {
            let policy = ReconnectPolicy::event_source().with_min_retry(floor);
            let mut machine = Reconnector::new(policy, seed);
            let mut now = Duration::ZERO;
            // Ten failing connections in a row: the backoff grows, the floor holds.
            for n in 1..=10 {
                open(&mut machine, now);
                feed(&mut machine, field);
                let (attempt, delay) = retry(machine.disconnected(now, Cause::Ended));
                assert_eq!(attempt, n + 1);
                assert!(
                    delay >= least,
                    "{field:?} floor {floor:?}: waited {delay:?}"
                );
                now += delay;
            }
        }
    }
}

#[test]
fn backoff_is_exponential_full_jitter_capped() {
    // Connections that deliver nothing: the n-th failure in a row waits unit + U[0, bound].
    let unit = Duration::from_millis(100);
    let cap = Duration::from_millis(1000);
    let bounds = [0, 100, 200, 400, 800, 1000, 1000, 1000].map(Duration::from_millis);
    let mut maxima = [Duration::ZERO; 8];
    let mut minima = [Duration::MAX; 8];
    for seed in 0..400 {
        let policy = ReconnectPolicy::event_source()
            .with_initial_retry(unit)
            .with_min_retry(Duration::ZERO)
            .with_max_backoff(cap);
        let mut machine = Reconnector::new(policy, seed);
        // The first connection delivers an event: its reconnection has no backoff.
        open(&mut machine, Duration::ZERO);
        assert_eq!(feed(&mut machine, "data: x\n\n"), ["x"]);
        for (n, bound) in bounds.iter().enumerate() {
            let (attempt, delay) = retry(machine.disconnected(Duration::ZERO, reset()));
            assert_eq!(attempt as usize, n + 1);
            assert!(delay >= unit && delay <= unit + *bound, "#{n}: {delay:?}");
            maxima[n] = maxima[n].max(delay - unit);
            minima[n] = minima[n].min(delay - unit);
            connect(&mut machine);
        }
    }
    // Full jitter: the draws spread over the whole range (with 400 seeds, within 5%).
    for (n, bound) in bounds.iter().enumerate() {
        assert!(
            maxima[n] >= bound.mul_f64(0.95),
            "#{n}: max {:?}",
            maxima[n]
        );
        assert!(
            minima[n] <= bound.mul_f64(0.05),
            "#{n}: min {:?}",
            minima[n]
        );
    }
}

#[test]
fn jitter_depends_only_on_the_seed() {
    let run = |seed| {
        let mut machine = Reconnector::new(ReconnectPolicy::event_source(), seed);
        (0..6)
            .map(|_| {
                connect(&mut machine);
                retry(machine.disconnected(Duration::ZERO, reset())).1
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn failure_count_resets_only_after_an_event_or_staying_up() {
    let stable = ReconnectPolicy::STABLE_AFTER;
    // (what each connection does, the attempt number of the retry after it: the n-th
    // attempt in a row without an event; 1 after a good connection)
    // Each connection: its body and how long it stays up.
    type Connections<'a> = &'a [(&'a str, Duration)];
    let cases: &[(Connections, &[u32])] = &[
        // A bare 200 that closes at once is a failure, every time: the backoff grows.
        (&[("", MS), ("", MS), ("", MS), ("", MS)], &[2, 3, 4, 5]),
        // Comments, retry and id-only blocks are traffic, not events.
        (
            &[(": hi\n", MS), ("retry: 10\n", MS), ("id: 1\n\n", MS)],
            &[2, 3, 4],
        ),
        // A partial event is not an event.
        (&[("data: cut", MS), ("data: cut", MS)], &[2, 3]),
        // An event resets the count.
        (
            &[("", MS), ("", MS), ("data: x\n\n", MS), ("", MS)],
            &[2, 3, 1, 2],
        ),
        // So does staying up for `stable_after`, even without events.
        (&[("", MS), (": ka\n", stable), ("", MS)], &[2, 1, 2]),
        (&[("", MS), (": ka\n", stable - MS), ("", MS)], &[2, 3, 4]),
    ];
    for (connections, attempts) in cases {
        let mut machine = Reconnector::new(exact(), 11);
        let mut now = Duration::ZERO;
        for ((body, uptime), want) in connections.iter().zip(*attempts) {
            open(&mut machine, now);
            feed(&mut machine, body);
            now += *uptime;
            let (attempt, delay) = retry(machine.disconnected(now, Cause::Ended));
            assert_eq!(attempt, *want, "{connections:?}");
            now += delay;
        }
    }
    // Failed connects and transient statuses count too.
    let mut machine = Reconnector::new(exact().with_retry_transient(true), 2);
    connect(&mut machine);
    assert_eq!(retry(machine.disconnected(Duration::ZERO, reset())).0, 2);
    connect(&mut machine);
    assert_eq!(
        retry(machine.response(Duration::ZERO, &ResponseHead::new(503))).0,
        3
    );
    open(&mut machine, Duration::ZERO);
    assert_eq!(retry(machine.disconnected(MS, Cause::IdleTimeout)).0, 4);
}

#[test]
fn max_attempts_caps_failures_in_a_row() {
    // (cap, connections: true = delivers an event, the retries before the failure)
    let cases: &[(u32, &[bool], usize)] = &[
        (1, &[false], 0),
        (0, &[false], 0),
        (3, &[false, false, false], 2),
        // A good connection in between starts the count over.
        (2, &[false, true, false, false], 3),
        (2, &[true, true, true, false, false], 4),
    ];
    for &(cap, connections, retries) in cases {
        let mut machine = Reconnector::new(exact().with_max_attempts(Some(cap)), 4);
        let mut seen = 0;
        for (i, &good) in connections.iter().enumerate() {
            open(&mut machine, Duration::ZERO);
            if good {
                feed(&mut machine, "data: x\n\n");
            }
            match machine.disconnected(Duration::ZERO, reset()) {
                Verdict::Retry { .. } => seen += 1,
                Verdict::Fail(ClientError::AttemptsExhausted { attempts, last }) => {
                    assert_eq!(i + 1, connections.len(), "failed early: {connections:?}");
                    assert_eq!(attempts, cap.max(1));
                    assert!(matches!(last, Cause::Transport(_)));
                    assert!(machine.connect().is_none());
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, retries, "cap {cap} over {connections:?}");
        assert!(machine.is_finished(), "cap {cap} over {connections:?}");
    }
    // Without a cap, it goes on.
    let mut machine = Reconnector::new(exact(), 4);
    for _ in 0..1000 {
        connect(&mut machine);
        retry(machine.disconnected(Duration::ZERO, reset()));
    }
}

#[test]
fn max_reconnect_time_caps_the_outage() {
    let limit = Duration::from_secs(10);
    let mut machine = Reconnector::new(exact().with_max_reconnect_time(Some(limit)), 4);
    let mut now = Duration::from_secs(100);
    open(&mut machine, now);
    feed(&mut machine, "data: x\n\n");
    // The outage starts when the good connection ends: 3 + 3 + 3 s fit in 10 s, a fourth
    // wait would end at 12 s.
    for _ in 0..3 {
        let (_, delay) = retry(machine.disconnected(now, reset()));
        now += delay;
        connect(&mut machine);
    }
    match machine.disconnected(now, reset()) {
        Verdict::Fail(ClientError::TimeExhausted { elapsed, .. }) => {
            assert_eq!(elapsed, Duration::from_secs(9));
        }
        other => panic!("{other:?}"),
    }
    assert!(machine.connect().is_none());
}

#[test]
fn idle_timeout_counts_as_a_broken_connection() {
    for (policy, body, reconnects) in [
        (ReconnectPolicy::event_source(), "data: a\n\n", true),
        (ReconnectPolicy::llm(), "id: 1\ndata: a\n\n", true),
        (ReconnectPolicy::llm(), "data: a\n\n", false),
    ] {
        let mut machine = Reconnector::new(policy, 0);
        open(&mut machine, Duration::ZERO);
        feed(&mut machine, body);
        match machine.disconnected(Duration::from_secs(90), Cause::IdleTimeout) {
            Verdict::Retry {
                cause: Cause::IdleTimeout,
                ..
            } => assert!(reconnects),
            Verdict::Fail(ClientError::Truncated(Cause::IdleTimeout)) => assert!(!reconnects),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        ReconnectPolicy::event_source().idle_timeout(),
        Some(Duration::from_secs(90))
    );
    assert_eq!(
        ReconnectPolicy::llm().idle_timeout(),
        Some(Duration::from_secs(300))
    );
}

#[test]
fn llm_terminal_event_or_end_of_body_ends_cleanly() {
    // (body, how it ends, the events delivered)
    let cases: &[(&str, bool, &[&str])] = &[
        ("data: a\n\ndata: [DONE]\n\n", false, &["a", "[DONE]"]),
        // Nothing after the terminal event counts, not even in the same chunk.
        (
            "data: a\n\ndata: [DONE]\n\ndata: b\n\n",
            false,
            &["a", "[DONE]"],
        ),
        // The terminal event completed only by the end of the body.
        ("data: a\n\ndata: [DONE]\n\n", true, &["a", "[DONE]"]),
        // The end of the body, without a terminal event, is a clean end too.
        ("data: a\n\n", true, &["a"]),
        ("data: a\n\ndata: cut", true, &["a"]),
        ("", true, &[]),
    ];
    for &(body, body_ends, want) in cases {
        let mut machine = Reconnector::new(ReconnectPolicy::llm(), 0);
        open(&mut machine, Duration::ZERO);
        let mut got = feed(&mut machine, body);
        if body_ends {
            let verdict = machine.disconnected(MS, Cause::Ended);
            assert!(matches!(verdict, Verdict::End), "{body:?}: {verdict:?}");
            got.extend(drain(&mut machine));
        }
        assert_eq!(got, want, "{body:?}");
        assert!(machine.is_finished());
        assert!(machine.connect().is_none(), "{body:?}: a second request");
    }
    // A caller's predicate replaces `[DONE]`.
    let policy = ReconnectPolicy::llm().with_terminal(Some(|e| e.event_type() == "stop"));
    let mut machine = Reconnector::new(policy, 0);
    open(&mut machine, Duration::ZERO);
    assert_eq!(
        feed(
            &mut machine,
            "data: [DONE]\n\nevent: stop\ndata: {}\n\ndata: x\n\n"
        ),
        ["[DONE]", "{}"]
    );
    assert!(machine.is_finished());
}

#[test]
fn llm_break_before_terminal_resumes_only_with_a_last_event_id() {
    // (body before the break, whether it resumes, the Last-Event-ID it sends)
    let cases: &[(&str, Option<&str>)] = &[
        ("", None),
        ("data: a\n\n", None),
        ("data: a\n\nid: 4\ndata: cut", None),
        ("id: 4\ndata: a\n\n", Some("4")),
        ("id: 4\ndata: a\n\nid\ndata: b\n\n", None),
        ("id: 4\ndata: a\n\ndata: cut", Some("4")),
    ];
    for &(body, resumes) in cases {
        for cause in [reset(), Cause::IdleTimeout] {
            let mut machine = Reconnector::new(ReconnectPolicy::llm(), 0);
            open(&mut machine, Duration::ZERO);
            feed(&mut machine, body);
            match (machine.disconnected(MS, cause), resumes) {
                (Verdict::Retry { .. }, Some(id)) => {
                    let headers = connect(&mut machine);
                    assert_eq!(last_event_id_header(&headers).as_deref(), Some(id));
                }
                (Verdict::Fail(error @ ClientError::Truncated(_)), None) => {
                    assert_eq!(error.to_string(), "truncated before the terminal event");
                    assert!(machine.connect().is_none(), "{body:?}: a second request");
                }
                (other, _) => panic!("{body:?}: {other:?}"),
            }
        }
    }
    // A request that fails before any response is not re-sent either.
    let mut machine = Reconnector::new(ReconnectPolicy::llm(), 0);
    connect(&mut machine);
    assert!(matches!(
        machine.disconnected(MS, reset()),
        Verdict::Fail(ClientError::Truncated(Cause::Transport(_)))
    ));
    assert!(machine.connect().is_none());
}

#[test]
fn event_source_reconnects_on_end_and_on_breaks() {
    for cause in [Cause::Ended, reset(), Cause::IdleTimeout] {
        let mut machine = Reconnector::new(exact(), 0);
        open(&mut machine, Duration::ZERO);
        feed(&mut machine, "data: a\n\n");
        let (attempt, delay) = retry(machine.disconnected(MS, cause));
        assert_eq!((attempt, delay), (1, Duration::from_secs(3)));
        assert!(!machine.is_finished());
    }
}

#[test]
fn nothing_follows_a_fatal_verdict_or_close() {
    let failures: &[fn(&mut Reconnector)] = &[
        |m| {
            m.response(Duration::ZERO, &ResponseHead::new(404));
        },
        |m| {
            m.response(
                Duration::ZERO,
                &ResponseHead::new(200).content_type(b"text/html"),
            );
        },
        |m| {
            m.response(Duration::ZERO, &ResponseHead::new(204));
        },
        |m| m.close(),
    ];
    for fail in failures {
        let mut machine = Reconnector::new(ReconnectPolicy::event_source(), 0);
        connect(&mut machine);
        fail(&mut machine);
        assert!(machine.is_finished());
        assert!(machine.connect().is_none());
        assert!(matches!(machine.disconnected(MS, reset()), Verdict::End));
        assert!(matches!(machine.response(MS, &ok()), Verdict::End));
        machine.feed(&b"data: late\n\n"[..]);
        assert!(machine.next_event().is_none());
    }
}

proptest! {
    /// Whatever the server's retry, the floor, the cap and the failures so far, a wait is
    /// at least max(retry, floor) and at most that plus the cap.
    #[test]
    fn wait_stays_between_the_reconnection_time_and_the_cap(
        retry_ms in 0u64..100_000,
        floor_ms in 0u64..10_000,
        cap_ms in 0u64..1_000_000,
        failures in 1usize..80,
        seed: u64,
    ) {
        let policy = ReconnectPolicy::event_source()
            .with_min_retry(Duration::from_millis(floor_ms))
            .with_max_backoff(Duration::from_millis(cap_ms));
        let mut machine = Reconnector::new(policy, seed);
        open(&mut machine, Duration::ZERO);
        feed(&mut machine, &format!("retry: {retry_ms}\n"));
        let unit = Duration::from_millis(retry_ms.max(floor_ms));
        for _ in 0..failures {
            let (_, delay) = retry(machine.disconnected(Duration::ZERO, reset()));
            prop_assert!(delay >= unit);
            prop_assert!(delay <= unit + Duration::from_millis(cap_ms));
            connect(&mut machine);
        }
    }
}

#[test]
fn machine_policy_and_errors_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Reconnector>();
    send_sync::<ReconnectPolicy>();
    send_sync::<Verdict>();
    send_sync::<ClientError>();
    send_sync::<Cause>();
}

#[test]
fn an_abandoned_body_ends_its_stream_before_the_next_attempt() {
    // (how the caller leaves the open body: a new connect, or a response on it)
    let ways: &[fn(&mut Reconnector) -> bool] = &[
        |m| m.connect().is_some(),
        |m| matches!(m.response(MS, &ok()), Verdict::Open),
        |m| {
            matches!(
                m.response(MS, &ResponseHead::new(503)),
                Verdict::Retry { .. }
            )
        },
    ];
    for leave in ways {
        let mut machine = Reconnector::new(exact().with_retry_transient(true), 0);
        open(&mut machine, Duration::ZERO);
        assert_eq!(
            feed(&mut machine, "id: 1\ndata: a\n\nid: 2\ndata: par"),
            ["a"]
        );
        assert!(leave(&mut machine));
        if !matches!(machine.response(MS, &ok()), Verdict::Open) {
            open(&mut machine, MS);
        }
        // The cut line does not continue in the next body, and its block's id never counts.
        assert_eq!(feed(&mut machine, "tial\n\ndata: b\n\n"), ["b"]);
        assert_eq!(machine.last_event_id(), "1");
    }
}
