//! `EventSource` against scripted hyper servers on loopback that misbehave on purpose:
//! cut events, stalls, flapping, transient statuses, redirects, `retry: 0`, statuses that
//! must not be retried, wrong content types, and LLM POSTs cut before `[DONE]`.
//!
//! Every server binds 127.0.0.1:0 and every test runs under `bounded` (20 s); the scripts
//! use small `retry:` values and policies, so each test takes well under a few seconds.
#![cfg(feature = "reqwest")]

mod client_support;

use std::time::Duration;

use client_support::{bounded, Reply, Server, Step};
use futures_util::StreamExt;
use sse_wire::{Cause, ClientError, EventSource, ReconnectPolicy, SourceEvent};

/// What a test checks of a stream's items.
#[derive(Debug, PartialEq, Eq)]
enum Item {
    Message(String, String),
    Open,
    Retrying(u32, &'static str),
    Skipped,
}

fn cause_name(cause: &Cause) -> &'static str {
    match cause {
        Cause::Ended => "ended",
        Cause::Transport(_) => "transport",
        Cause::IdleTimeout => "idle",
        Cause::Status { .. } => "status",
        _ => "other",
    }
}

/// The items up to the end of the stream (`None`), or up to `limit` items; the error that
/// ended it, if one did; the delays of the retries.
async fn run(
    source: &mut EventSource,
    limit: usize,
) -> (Vec<Item>, Option<ClientError>, Vec<Duration>) {
    let (mut items, mut delays) = (Vec::new(), Vec::new());
    while items.len() < limit {
        match source.next().await {
            None => return (items, None, delays),
            Some(Err(error)) => {
                assert!(
                    source.next().await.is_none(),
                    "an item after the error {error:?}"
                );
                return (items, Some(error), delays);
            }
            Some(Ok(SourceEvent::Message(event))) => items.push(Item::Message(
                event.data().to_owned(),
                event.last_event_id().to_owned(),
            )),
            Some(Ok(SourceEvent::Open)) => items.push(Item::Open),
            Some(Ok(SourceEvent::Retrying {
                attempt,
                delay,
                cause,
            })) => {
                delays.push(delay);
                items.push(Item::Retrying(attempt, cause_name(&cause)));
            }
            Some(Ok(SourceEvent::Skipped(_))) => items.push(Item::Skipped),
            Some(Ok(other)) => panic!("unexpected {other:?}"),
        }
    }
    (items, None, delays)
}

fn msg(data: &str, id: &str) -> Item {
    Item::Message(data.to_owned(), id.to_owned())
}

/// Quick reconnections for tests: a floor of 10 ms.
fn quick() -> ReconnectPolicy {
    ReconnectPolicy::event_source().with_min_retry(Duration::from_millis(10))
}

#[tokio::test]
async fn close_mid_event_drops_the_partial_event_and_resumes_from_the_last_complete_id() {
    bounded(async {
        let mut server = Server::start(|n, _| match n {
            0 => Reply::sse(vec![
                Step::Send("retry: 20\nid: 1\ndata: a\n\nid: 2\ndata: par"),
                Step::Abort,
            ]),
            1 => Reply::sse(vec![Step::Send(
                "id: 1\ndata: a\n\nid: 2\ndata: partial then ended\n",
            )]),
            _ => Reply::sse(vec![Step::Send("data: b\n\n"), Step::Stall]),
        })
        .await;
        let mut source = server.get().policy(quick());
        let (items, error, _) = run(&mut source, 7).await;
        assert!(error.is_none());
        assert_eq!(
            items,
            [
                Item::Open,
                msg("a", "1"),
                Item::Retrying(1, "transport"),
                Item::Open,
                msg("a", "1"),
                Item::Retrying(1, "ended"),
                Item::Open,
            ]
        );
        assert_eq!(run(&mut source, 1).await.0, [msg("b", "1")]);
        server.wait_for(3).await;
        let ids: Vec<_> = server.seen().into_iter().map(|s| s.last_event_id).collect();
        assert_eq!(ids, [None, Some("1".into()), Some("1".into())]);
        assert_eq!(source.last_event_id(), "1");
    })
    .await;
}

#[tokio::test]
async fn requests_carry_accept_and_no_cache() {
    bounded(async {
        let server = Server::start(|_, _| Reply::status(204)).await;
        let mut source = server.get();
        assert!(source.next().await.is_none());
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].accept.as_deref(), Some("text/event-stream"));
        assert_eq!(seen[0].cache_control.as_deref(), Some("no-cache"));
        assert_eq!(seen[0].last_event_id, None);
    })
    .await;
}

#[tokio::test]
async fn a_stalled_server_hits_the_idle_timeout_and_keep_alives_count_as_traffic() {
    bounded(async {
        let ka = Step::Sleep(Duration::from_millis(100));
        let mut server = Server::start(move |n, _| match n {
            // Keep-alive comments every 100 ms for 600 ms: twice the idle timeout, yet alive.
            0 => Reply::sse(vec![
                Step::Send("retry: 20\n: ka\n"),
                ka.clone(),
                Step::Send(": ka\n"),
                ka.clone(),
                Step::Send(": ka\n"),
                ka.clone(),
                Step::Send(": ka\n"),
                ka.clone(),
                Step::Send(": ka\n"),
                ka.clone(),
                Step::Send(": ka\n"),
                ka.clone(),
                Step::Send("id: 1\ndata: alive\n\n"),
                Step::Stall,
            ]),
            _ => Reply::sse(vec![Step::Send("data: again\n\n"), Step::Stall]),
        })
        .await;
        let policy = quick().with_idle_timeout(Some(Duration::from_millis(300)));
        let mut source = server.get().policy(policy);
        let (items, _, _) = run(&mut source, 5).await;
        assert_eq!(
            items,
            [
                Item::Open,
                msg("alive", "1"),
                Item::Retrying(1, "idle"),
                Item::Open,
                msg("again", "1"),
            ]
        );
        server.wait_for(2).await;
        let seen = server.seen();
        // The stall lasted the idle timeout, and no more.
        let gap = seen[1].at - seen[0].at;
        assert!(gap >= Duration::from_millis(600 + 300), "{gap:?}");
        assert_eq!(seen[1].last_event_id.as_deref(), Some("1"));
    })
    .await;
}

#[tokio::test]
async fn a_flapping_server_sees_the_backoff_grow_and_bare_200s_do_not_reset_it() {
    bounded(async {
        // Every response is a 200 that ends at once, without an event.
        let mut server = Server::start(|_, _| Reply::sse(vec![Step::Send("retry: 20\n")])).await;
        let policy = ReconnectPolicy::event_source()
            .with_min_retry(Duration::ZERO)
            .with_max_attempts(Some(7));
        let mut source = server.get().policy(policy);
        let (items, error, delays) = run(&mut source, 100).await;
        let attempts: Vec<_> = items
            .iter()
            .filter_map(|item| match item {
                Item::Retrying(attempt, "ended") => Some(*attempt),
                _ => None,
            })
            .collect();
        // The failure count grows with every bare 200: 2, 3, ... (1 would be a reset).
        assert_eq!(attempts, [2, 3, 4, 5, 6, 7]);
        let unit = Duration::from_millis(20);
        for (n, delay) in delays.iter().enumerate() {
            let bound = unit * (1 << n);
            assert!(
                *delay >= unit && *delay <= unit + bound,
                "retry #{n}: {delay:?} outside [{unit:?}, {unit:?} + {bound:?}]"
            );
        }
        // With full jitter any one wait can be short, but not all of the last three: each
        // may add up to 160, 320 and 640 ms, and all three staying under the first one's
        // 20 ms has a chance of 1 in 4,000.
        let grown = delays[3..].iter().any(|delay| *delay > unit * 2);
        assert!(grown, "the backoff did not grow: {delays:?}");
        match error {
            Some(ClientError::AttemptsExhausted {
                attempts: 7,
                last: Cause::Ended,
            }) => {}
            other => panic!("{other:?}"),
        }
        server.wait_for(7).await;
        let seen = server.seen();
        assert_eq!(seen.len(), 7);
        for (pair, delay) in seen.windows(2).zip(&delays) {
            assert!(pair[1].at - pair[0].at >= (*delay).min(unit), "{delays:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn transient_503_then_200_is_retried_under_the_opt_in_honouring_retry_after() {
    bounded(async {
        let mut server = Server::start(|n, _| match n {
            0 => Reply::status(503).header("retry-after", "1"),
            _ => Reply::sse(vec![Step::Send("data: back\n\n")]),
        })
        .await;
        let policy = quick()
            .with_initial_retry(Duration::from_millis(10))
            .with_retry_transient(true)
            .with_reconnect_on_end(false);
        let mut source = server.get().policy(policy);
        let (items, error, delays) = run(&mut source, 10).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            items,
            [Item::Retrying(2, "status"), Item::Open, msg("back", "")]
        );
        assert!(delays[0] >= Duration::from_secs(1), "{delays:?}");
        server.wait_for(2).await;
        let seen = server.seen();
        assert!(seen[1].at - seen[0].at >= Duration::from_secs(1));
    })
    .await;
}

#[tokio::test]
async fn redirects_301_302_303_307_are_followed() {
    bounded(async {
        for code in [301, 302, 303, 307] {
            let server = Server::start(move |_, seen| {
                if seen.path == "/events" {
                    Reply::status(code).header("location", "/moved")
                } else {
                    Reply::sse(vec![Step::Send("retry: 10\nid: 9\ndata: moved\n\n")])
                }
            })
            .await;
            let mut source = server.get().policy(quick());
            let (items, _, _) = run(&mut source, 5).await;
            assert_eq!(
                items,
                [
                    Item::Open,
                    msg("moved", "9"),
                    Item::Retrying(1, "ended"),
                    Item::Open,
                    msg("moved", "9")
                ],
                "{code}"
            );
            source.close();
            let seen = server.seen();
            // The reconnection goes where the redirect led, as in browsers.
            let requests: Vec<_> = seen
                .iter()
                .map(|s| {
                    (
                        s.method.as_str(),
                        s.path.as_str(),
                        s.last_event_id.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                requests,
                [
                    ("GET", "/events", None),
                    ("GET", "/moved", None),
                    ("GET", "/moved", Some("9"))
                ],
                "{code}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn retry_0_is_no_tight_loop() {
    bounded(async {
        let mut server =
            Server::start(|_, _| Reply::sse(vec![Step::Send("retry: 0\ndata: x\n\n")])).await;
        // The default floor, 250 ms.
        let mut source = server.get();
        let (items, _, delays) = run(&mut source, 12).await;
        assert_eq!(items.iter().filter(|i| **i == msg("x", "")).count(), 4);
        assert!(delays.iter().all(|d| *d >= ReconnectPolicy::MIN_RETRY));
        server.wait_for(4).await;
        let seen = server.seen();
        for pair in seen.windows(2) {
            assert!(pair[1].at - pair[0].at >= ReconnectPolicy::MIN_RETRY);
        }
    })
    .await;
}

#[tokio::test]
async fn statuses_204_205_210_299_404_410_503_end_without_a_retry() {
    bounded(async {
        for status in [204, 205, 210, 299, 404, 410, 503] {
            let server = Server::start(move |_, _| {
                Reply::status(status).header("content-type", "text/event-stream")
            })
            .await;
            let mut source = server.get();
            let (items, error, _) = run(&mut source, 10).await;
            assert!(items.is_empty(), "{status}: {items:?}");
            match (status, error) {
                (204, None) => {}
                (_, Some(error @ ClientError::Status { status: got })) if got == status => {
                    assert_eq!(
                        error.to_string(),
                        format!("unexpected HTTP status {status}")
                    );
                }
                (_, other) => panic!("{status}: {other:?}"),
            }
            // Give a wrong retry the time to show: a floor's worth and more.
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(server.seen().len(), 1, "{status}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_wrong_content_type_fails_without_a_retry() {
    bounded(async {
        for content_type in [Some("text/html"), Some("text/event-stream-ish"), None] {
            let server = Server::start(move |_, _| {
                let mut reply = Reply::sse(vec![Step::Send("data: x\n\n")]);
                reply.headers.clear();
                if let Some(value) = content_type {
                    reply = reply.header("content-type", value);
                }
                reply
            })
            .await;
            let mut source = server.get();
            let (items, error, _) = run(&mut source, 10).await;
            assert!(items.is_empty());
            match error {
                Some(ClientError::ContentType { content_type: got }) => {
                    assert_eq!(got.as_deref(), content_type);
                }
                other => panic!("{content_type:?}: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(server.seen().len(), 1);
        }
    })
    .await;
}

fn llm(server: &Server) -> EventSource {
    let (http, url) = (reqwest::Client::new(), server.url.clone());
    EventSource::new(move || http.post(&url).body(r#"{"prompt":"hi"}"#))
        .policy(ReconnectPolicy::llm().with_min_retry(Duration::from_millis(10)))
}

#[tokio::test]
async fn llm_post_cut_before_done_without_ids_is_one_request_then_an_error() {
    bounded(async {
        for cut in [Step::Abort, Step::Send("data: never ends")] {
            let idle = matches!(cut, Step::Send(_));
            let server = Server::start(move |_, _| {
                let mut body = vec![Step::Send("data: Hel\n\ndata: lo\n\n"), cut.clone()];
                if idle {
                    body.push(Step::Stall);
                }
                Reply::sse(body)
            })
            .await;
            let mut source = llm(&server);
            if idle {
                let policy = *source.reconnect_policy();
                source = source.policy(policy.with_idle_timeout(Some(Duration::from_millis(200))));
            }
            let (items, error, _) = run(&mut source, 10).await;
            assert_eq!(items, [Item::Open, msg("Hel", ""), msg("lo", "")]);
            let error = error.expect("an error, not a clean end");
            assert_eq!(error.to_string(), "truncated before the terminal event");
            let ClientError::Truncated(cause) = &error else {
                panic!("{error:?}");
            };
            assert_eq!(cause_name(cause), if idle { "idle" } else { "transport" });
            // The transport error is the cause's source.
            if !idle {
                let source = std::error::Error::source(cause).expect("the transport error");
                assert!(!source.to_string().is_empty());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let seen = server.seen();
            assert_eq!(seen.len(), 1, "a second POST");
            assert_eq!(
                (&*seen[0].method, &seen[0].body[..]),
                ("POST", &br#"{"prompt":"hi"}"#[..])
            );
        }
    })
    .await;
}

#[tokio::test]
async fn llm_post_with_ids_resumes_with_last_event_id_without_duplicates() {
    bounded(async {
        let server = Server::start(|_, seen| {
            // A server that resumes after the id it is given.
            match seen.last_event_id.as_deref() {
                None => Reply::sse(vec![
                    Step::Send("id: 1\ndata: Hel\n\nid: 2\ndata: lo\n\nid: 3\ndata: , wor"),
                    Step::Abort,
                ]),
                Some("2") => Reply::sse(vec![Step::Send(
                    "id: 3\ndata: , world\n\nid: 4\ndata: [DONE]\n\n",
                )]),
                Some(other) => panic!("resumed from {other}"),
            }
        })
        .await;
        let mut source = llm(&server);
        let (items, error, _) = run(&mut source, 20).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            items,
            [
                Item::Open,
                msg("Hel", "1"),
                msg("lo", "2"),
                Item::Retrying(1, "transport"),
                Item::Open,
                msg(", world", "3"),
                msg("[DONE]", "4"),
            ]
        );
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert!(seen
            .iter()
            .all(|s| s.method == "POST" && !s.body.is_empty()));
        assert_eq!(seen[1].last_event_id.as_deref(), Some("2"));
    })
    .await;
}

#[tokio::test]
async fn llm_done_ends_cleanly_even_if_the_body_goes_on() {
    bounded(async {
        let server = Server::start(|_, _| {
            Reply::sse(vec![Step::Send("data: a\n\ndata: [DONE]\n\n"), Step::Stall])
        })
        .await;
        let mut source = llm(&server);
        let (items, error, _) = run(&mut source, 10).await;
        assert!(error.is_none());
        assert_eq!(items, [Item::Open, msg("a", ""), msg("[DONE]", "")]);
        assert_eq!(server.seen().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn connection_refused_retries_then_attempts_exhausted_names_the_transport_error() {
    bounded(async {
        // A port that was free a moment ago: nothing listens there now.
        let url = {
            let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
            format!("http://{}/", listener.local_addr().unwrap())
        };
        let http = reqwest::Client::new();
        let policy = quick()
            .with_initial_retry(Duration::from_millis(10))
            .with_max_attempts(Some(3));
        let mut source = EventSource::new(move || http.get(&url)).policy(policy);
        let (items, error, _) = run(&mut source, 10).await;
        assert_eq!(
            items,
            [
                Item::Retrying(2, "transport"),
                Item::Retrying(3, "transport")
            ]
        );
        let error = error.expect("attempts exhausted");
        assert_eq!(error.to_string(), "attempts exhausted: 3 in a row failed");
        // The chain: attempts exhausted -> the connection failed -> reqwest's error.
        let cause = std::error::Error::source(&error).expect("the last cause");
        assert_eq!(cause.to_string(), "the connection failed");
        assert!(cause.source().is_some());
    })
    .await;
}

#[tokio::test]
async fn close_ends_the_stream_and_drop_leaves_no_timer_behind() {
    bounded(async {
        let mut server =
            Server::start(|_, _| Reply::sse(vec![Step::Send("retry: 100\ndata: x\n\n")])).await;
        let mut source = server.get().policy(quick());
        let (items, _, _) = run(&mut source, 3).await;
        assert_eq!(
            items,
            [Item::Open, msg("x", ""), Item::Retrying(1, "ended")]
        );
        // Waiting 100 ms: close now, and no request follows.
        source.close();
        assert!(source.next().await.is_none());
        assert!(source.next().await.is_none());

        let mut dropped = server.get().policy(quick());
        let (items, _, _) = run(&mut dropped, 3).await;
        assert_eq!(items.len(), 3);
        drop(dropped);
        server.wait_for(2).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(server.seen().len(), 2, "a request after close or drop");
    })
    .await;
}

#[test]
fn event_source_is_send_and_unpin() {
    fn send_unpin<T: Send + Unpin + 'static>() {}
    send_unpin::<EventSource>();
    send_unpin::<SourceEvent>();
}

#[tokio::test]
async fn an_event_past_the_size_limit_is_skipped_and_the_stream_goes_on() {
    bounded(async {
        let server = Server::start(|_, _| {
            Reply::sse(vec![Step::Send("data: far too long\n\ndata: ok\n\n")])
        })
        .await;
        // The limit and the policy, in either order.
        for order in [false, true] {
            let config = sse_wire::Config::new().max_event_size(8);
            let policy = quick().with_reconnect_on_end(false);
            let mut source = match order {
                false => server.get().config(config).policy(policy),
                true => server.get().policy(policy).config(config),
            };
            let (items, error, _) = run(&mut source, 10).await;
            assert!(error.is_none());
            assert_eq!(items, [Item::Open, Item::Skipped, msg("ok", "")]);
        }
    })
    .await;
}
