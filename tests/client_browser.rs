//! Parity with a real browser: headless Chromium's `EventSource` and sse-wire's
//! `EventSource` run against the same scripted servers (close after events, `retry:`
//! changes, an empty `id:`, 204 on reconnect, 404, a wrong content type, a redirect, a close
//! in the middle of an event, a non-ASCII id). Both must dispatch the same events (type,
//! data, last event ID), send the same sequence of requests with the same `Last-Event-ID`
//! headers, and reconnect no earlier than the server's `retry`.
//!
//! Deliberate difference: sse-wire waits at least `ReconnectPolicy::MIN_RETRY` (250 ms)
//! where the server asks for less, and adds a backoff while attempts fail in a row; so its
//! timings are compared only against the lower bound, the server's `retry`.
//!
//! Needs `/usr/bin/chromium` (Debian package `chromium`, installed by `.ci/run`). Without it
//! the test fails when `CI` is set and is skipped, with a message, otherwise.
#![cfg(feature = "reqwest")]

mod chromium;
mod client_support;
mod process;

use std::time::Duration;

use bytes::Bytes;
use chromium::{chromium_or_skip, Browser};
use client_support::{Reply, Seen, Server, Step};
use futures_util::StreamExt;
use serde_json::{json, Value};
use sse_wire::{EventSource, SourceEvent};
use tokio::sync::mpsc;

const PAGE: &str = include_str!("client_browser/page.html");

/// One scripted server behaviour.
struct Scenario {
    name: &'static str,
    /// The reply to the n-th request of this scenario.
    script: fn(usize, &Seen) -> Reply,
    /// The `Last-Event-ID` of each request, in order (what both clients must send).
    ids: &'static [Option<&'static str>],
    /// The least gap before each request after the first: the server's `retry`, or 0 for a
    /// redirect's second request.
    gaps_ms: &'static [u64],
}

fn sse(body: &'static str) -> Reply {
    Reply::sse(vec![Step::Send(body)])
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "close_after_events",
        script: |n, _| match n {
            0 => sse("retry: 100\nid: 1\ndata: a\n\nevent: tick\ndata: t\n\n"),
            1 => sse("data: b\ndata: b2\n\n"),
            _ => Reply::status(204),
        },
        ids: &[None, Some("1"), Some("1")],
        gaps_ms: &[100, 100],
    },
    Scenario {
        name: "retry_changes",
        script: |n, _| match n {
            0 => sse("retry: 600\ndata: a\n\n"),
            1 => sse("retry: 100\ndata: b\n\nretry: x\n"),
            _ => Reply::status(204),
        },
        ids: &[None, None, None],
        gaps_ms: &[600, 100],
    },
    Scenario {
        name: "empty_id",
        script: |n, _| match n {
            0 => sse("retry: 100\nid: 5\ndata: a\n\nid\ndata: b\n\n"),
            1 => sse("id: 6\ndata: c\n\nid:\n\n"),
            2 => sse("id: 7\n\n"),
            _ => Reply::status(204),
        },
        ids: &[None, None, None, Some("7")],
        gaps_ms: &[100, 100, 100],
    },
    Scenario {
        name: "no_content_on_reconnect",
        script: |n, _| match n {
            0 => sse("retry: 100\nid: x\ndata: a\n\n"),
            _ => Reply::status(204),
        },
        ids: &[None, Some("x")],
        gaps_ms: &[100],
    },
    Scenario {
        name: "not_found",
        script: |n, _| match n {
            0 => sse("retry: 100\nid: 1\ndata: a\n\n"),
            _ => Reply::status(404),
        },
        ids: &[None, Some("1")],
        gaps_ms: &[100],
    },
    Scenario {
        name: "wrong_content_type",
        script: |n, _| match n {
            0 => sse("retry: 100\ndata: a\n\n"),
            _ => {
                let mut reply = sse("data: never seen\n\n");
                reply.headers = vec![("content-type", "text/plain")];
                reply
            }
        },
        ids: &[None, None],
        gaps_ms: &[100],
    },
    Scenario {
        name: "redirect",
        script: |_, seen| match (seen.path.ends_with("/moved"), &seen.last_event_id) {
            (false, None) => Reply::status(307).header("location", "/s/redirect/moved"),
            (true, None) => sse("retry: 100\nid: r\ndata: moved\n\n"),
            (_, Some(_)) => Reply::status(204),
        },
        ids: &[None, None, Some("r")],
        gaps_ms: &[0, 100],
    },
    Scenario {
        name: "close_mid_event",
        script: |n, _| match n {
            0 => Reply::sse(vec![
                Step::Send("retry: 100\nid: 1\ndata: a\n\nid: 2\ndata: par"),
                Step::Abort,
            ]),
            1 => sse("data: b\n\nid: 3\ndata: cut by a clean end"),
            _ => Reply::status(204),
        },
        ids: &[None, Some("1"), Some("1")],
        gaps_ms: &[100, 100],
    },
    Scenario {
        name: "non_ascii_id",
        script: |n, _| match n {
            0 => sse("retry: 100\nid: é日🦀\ndata: a\n\n"),
            _ => Reply::status(204),
        },
        ids: &[None, Some("é日🦀")],
        gaps_ms: &[100],
    },
];

/// Routes `/` to the page, `/report` to `reports`, and `/s/NAME/...` to the scenario's
/// script.
async fn serve(reports: mpsc::UnboundedSender<Bytes>) -> Server {
    Server::start(move |n, seen| {
        if seen.path == "/" {
            let mut page = Reply::sse(vec![Step::Send(PAGE)]);
            page.headers = vec![("content-type", "text/html; charset=utf-8")];
            return page;
        }
        if seen.path == "/report" {
            let _ = reports.send(seen.body.clone());
            return Reply::status(204);
        }
        let name = seen.path.split('/').nth(2).unwrap_or_default();
        match SCENARIOS.iter().find(|s| s.name == name) {
            Some(scenario) => (scenario.script)(n, seen),
            None => Reply::status(500),
        }
    })
    .await
}

/// The page's URL on a server: scenario names after `?`.
fn page_url(server: &Server) -> String {
    let names: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
    let origin = server.url.trim_end_matches("/events");
    format!("{origin}/?{}", names.join(","))
}

/// What sse-wire's `EventSource` makes of a scenario: the events it dispatched, and
/// whether it ended (cleanly or with an error) rather than running out of patience.
async fn run_sse_wire(server: &Server, name: &str) -> Value {
    let origin = server.url.trim_end_matches("/events");
    let url = format!("{origin}/s/{name}/events");
    let http = reqwest::Client::new();
    let mut source = EventSource::new(move || http.get(&url));
    let mut events = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(item) = source.next().await {
            match item {
                Ok(SourceEvent::Message(event)) => events.push(json!({
                    "type": event.event_type(),
                    "data": event.data(),
                    "lastEventId": event.last_event_id(),
                })),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await
    .is_ok();
    json!({ "name": name, "events": events, "closed": closed })
}

/// The requests of one scenario.
fn requests(seen: &[Seen], name: &str) -> Vec<Seen> {
    let prefix = format!("/s/{name}/");
    seen.iter()
        .filter(|s| s.path.starts_with(&prefix))
        .cloned()
        .collect()
}

fn check_requests(client: &str, scenario: &Scenario, seen: &[Seen]) {
    let seen = requests(seen, scenario.name);
    let ids: Vec<_> = seen.iter().map(|s| s.last_event_id.as_deref()).collect();
    assert_eq!(
        ids, scenario.ids,
        "{client}, {}: Last-Event-ID of each request",
        scenario.name
    );
    for (pair, least) in seen.windows(2).zip(scenario.gaps_ms) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(*least),
            "{client}, {}: reconnected after {gap:?}, before the server's retry of {least} ms",
            scenario.name
        );
    }
    assert!(seen
        .iter()
        .all(|s| s.accept.as_deref() == Some("text/event-stream")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_and_sse_wire_event_sources_agree_on_scripted_servers() {
    if !chromium_or_skip() {
        return;
    }
    // One server each, so that each client's requests are counted from 0.
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let browser_server = serve(reports_tx.clone()).await;
    let ours_server = serve(reports_tx).await;

    let ours = tokio::spawn(async move {
        let mut results = Vec::new();
        for scenario in SCENARIOS {
            results.push(run_sse_wire(&ours_server, scenario.name).await);
        }
        (results, ours_server.seen())
    });

    let mut chromium = Browser::launch(&page_url(&browser_server));
    let report = chromium
        .report(&mut reports, Duration::from_secs(120))
        .await;
    let browser: Vec<Value> = serde_json::from_slice(&report).unwrap();
    let browser_seen = browser_server.seen();
    drop(chromium);
    let (ours, ours_seen) = ours.await.unwrap();

    for ((scenario, theirs), ours) in SCENARIOS.iter().zip(&browser).zip(&ours) {
        assert_eq!(theirs["name"], scenario.name);
        assert_eq!(
            theirs["closed"], true,
            "chromium did not finish {}: {theirs:#}",
            scenario.name
        );
        assert_eq!(
            ours["closed"], true,
            "sse-wire did not finish {}: {ours:#}",
            scenario.name
        );
        assert!(
            !theirs["events"].as_array().unwrap().is_empty(),
            "{}: no events at all",
            scenario.name
        );
        assert_eq!(
            ours["events"], theirs["events"],
            "{}: sse-wire's events (left) differ from chromium's (right)",
            scenario.name
        );
        check_requests("chromium", scenario, &browser_seen);
        check_requests("sse-wire", scenario, &ours_seen);
        // The same requests, to the same URLs (after a redirect, both reconnect to where it
        // led).
        let paths = |seen: &[Seen]| -> Vec<(String, Option<String>)> {
            requests(seen, scenario.name)
                .into_iter()
                .map(|s| (s.path, s.last_event_id))
                .collect()
        };
        assert_eq!(paths(&ours_seen), paths(&browser_seen), "{}", scenario.name);
    }
}
