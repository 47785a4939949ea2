//! HTTP/2: one client opens 100 subscriptions to the hub as 100 streams of one h2c
//! connection (hyper's HTTP/2 server, reqwest with HTTP/2 prior knowledge), and every one
//! receives every event, in order.
#![cfg(all(feature = "hub", feature = "http-body", feature = "tokio"))]

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::StreamExt;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sse_wire::{last_event_id, DecodeStream, EncodeStream, Event, Hub, SseBody};

const SUBSCRIPTIONS: usize = 100;
const EVENTS: usize = 50;

/// An HTTP/2-only (h2c, prior knowledge) hyper server for the hub; counts the TCP
/// connections it accepts.
async fn serve(hub: Hub) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let hub = hub.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let sub = hub.subscribe(last_event_id(request.headers()));
                async move {
                    Ok::<_, Infallible>(SseBody::new(EncodeStream::new(sub)).into_http_response())
                }
            });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service),
            );
        }
    });
    (addr, connections)
}

/// Reads `/events` until it has `EVENTS` events; returns their data.
async fn subscriber(client: reqwest::Client, url: String) -> Vec<String> {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    DecodeStream::new(response.bytes_stream())
        .take(EVENTS)
        .map(|event| event.unwrap().data().to_owned())
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_subscriptions_over_one_h2c_connection_all_receive_every_event() {
    let hub = Hub::new();
    let (addr, connections) = serve(hub.clone()).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let url = format!("http://{addr}/events");
    let test = async {
        // One request first, so the other 99 find its connection in the pool.
        let first = tokio::spawn(subscriber(client.clone(), url.clone()));
        while hub.subscriber_count() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut subscribers = vec![first];
        for _ in 1..SUBSCRIPTIONS {
            subscribers.push(tokio::spawn(subscriber(client.clone(), url.clone())));
        }
        // Publish only once every subscription exists: each then gets all of them.
        while hub.subscriber_count() < SUBSCRIPTIONS {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let expected: Vec<String> = (0..EVENTS).map(|n| format!("event {n}")).collect();
        for data in &expected {
            hub.publish(Event::from_data(data.as_str()));
        }
        for (n, subscriber) in subscribers.into_iter().enumerate() {
            assert_eq!(subscriber.await.unwrap(), expected, "subscription {n}");
        }
    };
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("the test did not finish within 60 s");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "not one connection");
}
