//! The Redis backplane: every node's hub is a cache of one Redis Stream.
//!
//! - A publish is an `XADD` (with an approximate `MAXLEN`); Redis gives the entry its id,
//!   `<ms>-<seq>`, and that id is the event id on the wire, on every node.
//! - Each node reads the stream with `XREAD BLOCK` from the last id it holds, on a
//!   connection of its own (a blocked read would stall anything sharing it), and ingests
//!   each entry into its hub: one encoding per event per node.
//! - A resume older than the ring is served with `XRANGE` from the client's id to the
//!   ring's origin, then handed over to the ring at that id: no gap, no duplicate.
//!
//! An entry is a flat list of fields: `sse` (the format, `1`), and `event`, `data`,
//! `retry` (milliseconds) and `comment` (lines joined with LF) when the event has them.

use core::fmt;
use core::time::Duration;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue};
use tokio::task::AbortHandle;

use super::{encode_with_id, EventId, Hub, HubBuilder, Lag, Subscription};
use crate::Event;

/// How long one `XREAD` blocks before it asks again; also how soon a node notices that
/// Redis went away while the stream was quiet.
const BLOCK: Duration = Duration::from_millis(1000);
/// The most entries one `XREAD` returns.
const READ_BATCH: usize = 512;
/// The waits between attempts to reach Redis again: doubling from the first to the last.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_millis(1000);
/// How long connecting, and a command other than the blocking read, may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How many times a resume from Redis chases a ring that keeps evicting under it before it
/// gives up and sends the gap event.
const BACKFILL_ROUNDS: usize = 4;
/// How long a resume from an id the node has not read yet waits for the node's reader,
/// and how often it looks.
const CATCH_UP: Duration = Duration::from_secs(2);
const CATCH_UP_POLL: Duration = Duration::from_millis(2);
/// The field that marks an entry as an event in this crate's format.
const FORMAT: &str = "sse";

/// Why a call to Redis failed (feature `redis`): it was unreachable, timed out, or
/// answered with an error.
///
/// # Examples
///
/// ```no_run
/// # async fn run() {
/// // Nothing listens on port 1.
/// let error = sse_wire::RedisHub::builder("redis://127.0.0.1:1/", "events").connect().await.unwrap_err();
/// assert!(error.to_string().starts_with("redis backplane: "));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("redis backplane: {source}")]
pub struct BackplaneError {
    #[source]
    source: redis::RedisError,
}

impl From<redis::RedisError> for BackplaneError {
    fn from(source: redis::RedisError) -> Self {
        BackplaneError { source }
    }
}

/// Settings for a [`RedisHub`], from [`RedisHub::builder`].
///
/// # Examples
///
/// ```
/// let builder = sse_wire::RedisHub::builder("redis://127.0.0.1:6379/", "chat")
///     .hub(sse_wire::Hub::builder().max_events(2048))
///     .max_len(100_000);
/// # drop(builder);
/// ```
#[derive(Debug, Clone)]
pub struct RedisHubBuilder {
    url: String,
    key: String,
    hub: HubBuilder,
    max_len: usize,
}

impl RedisHubBuilder {
    /// The node's ring: [`max_events`](HubBuilder::max_events),
    /// [`max_bytes`](HubBuilder::max_bytes) and
    /// [`gap_event_type`](HubBuilder::gap_event_type) apply. The ids are Redis's (the
    /// epoch is not used), and a subscription that falls out of the ring always ends
    /// ([`Lag::End`]): the client reconnects and is served from Redis.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = sse_wire::RedisHub::builder("redis://127.0.0.1/", "news")
    ///     .hub(sse_wire::Hub::builder().max_events(100).gap_event_type("missed"));
    /// # drop(builder);
    /// ```
    #[must_use]
    pub fn hub(mut self, hub: HubBuilder) -> Self {
        self.hub = hub;
        self
    }

    /// About how many entries the stream keeps (`XADD ... MAXLEN ~`; default 100,000):
    /// how far back a client can resume. Never fewer than the ring holds, so that a node
    /// starting up can fill its ring.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = sse_wire::RedisHub::builder("redis://127.0.0.1/", "news").max_len(1_000);
    /// # drop(builder);
    /// ```
    #[must_use]
    pub fn max_len(mut self, entries: usize) -> Self {
        self.max_len = entries;
        self
    }

    /// Connects to Redis, fills the ring with the newest entries of the stream, and starts
    /// reading it (a tokio task, so call it inside a tokio runtime). Fails when Redis is
    /// unreachable now; after this the node rides out Redis outages by itself.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), sse_wire::BackplaneError> {
    /// let node = sse_wire::RedisHub::builder("redis://127.0.0.1:6379/", "chat").connect().await?;
    /// node.publish(sse_wire::Event::from_data("hello")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(self) -> Result<RedisHub, BackplaneError> {
        let client = Client::open(self.url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT)
            .set_number_of_retries(1);
        let mut conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        let hub_settings = self.hub.external_ids().on_lag(Lag::End);
        let ring = hub_settings.max_events;
        let hub = hub_settings.build();
        // One entry more than the ring holds: the oldest is the ring's origin, the id a
        // client must have seen for the ring to serve it.
        let newest = xrevrange(&mut conn, &self.key, ring.saturating_add(1)).await?;
        let mut entries = newest.into_iter().rev();
        if entries.len() > ring {
            if let Some((origin, _)) = entries.next() {
                hub.set_origin(origin);
            }
        }
        let mut last = hub.last_id().unwrap_or(EventId::new(0, 0));
        for (id, event) in entries {
            last = id.clone();
            hub.ingest(id, event);
        }
        let reader = tokio::spawn(read_stream(hub.clone(), client, self.key.clone(), last));
        Ok(RedisHub {
            inner: Arc::new(Inner {
                hub,
                conn,
                key: self.key,
                max_len: self.max_len.max(ring.saturating_add(1)),
                reader: reader.abort_handle(),
            }),
        })
    }
}

/// A node of a cluster of hubs that share one Redis Stream (feature `redis`): events
/// published on any node reach the subscribers of every node, in the one order Redis gave
/// them, and a client resumes on any node with its `Last-Event-ID`.
///
/// Each node keeps a [`Hub`] ring, a cache of the newest entries of the stream, that its
/// subscribers read as on a single server: each event is encoded once per node, and a slow
/// client costs its cursor.
///
/// Behaviour, node by node:
/// - **Ids.** The stream entry id (`<ms>-<seq>`) is the event id, so the same event has
///   the same id on every node.
/// - **Resume** ([`subscribe`](RedisHub::subscribe)) with a `Last-Event-ID`:
///   - the ring still holds what follows it: served from the ring, as by a [`Hub`];
///   - older than the ring but still in the stream: the missing events are read from
///     Redis (`XRANGE`), then the ring takes over, with no gap and no duplicate;
///   - newer than anything this node has read, but in the stream (the client saw it on a
///     node that read the stream sooner): the subscription waits, up to 2 s, for this node
///     to read it, then goes on from there;
///   - no longer in the stream (trimmed by `MAXLEN`, or lost with a Redis restart), or
///     never an id of the stream, or Redis unreachable when it is needed: the gap event
///     first, then live events.
/// - **Redis unreachable**: [`publish`](RedisHub::publish) returns an error (the event is
///   not published anywhere); subscribers keep their connections and keep what the ring
///   holds; the node retries, and when Redis is back it reads on from the last id it
///   holds, so nothing that Redis kept is lost. If Redis lost the stream (a restart
///   without persistence), events published since are read as they come, and clients
///   resuming from an id the ring no longer holds get the gap event.
/// - **Order** is the stream's: ids are assigned by Redis from its clock, so nodes need
///   not agree on time; a Redis restart without persistence relies on Redis's clock
///   moving forward.
///
/// Dropping the last handle stops the node's reader; its subscriptions end after reading
/// what the ring holds.
///
/// # Examples
///
/// ```no_run
/// use futures_util::StreamExt;
/// use sse_wire::{Event, RedisHub};
///
/// # async fn run() -> Result<(), sse_wire::BackplaneError> {
/// let a = RedisHub::builder("redis://127.0.0.1:6379/", "chat").connect().await?;
/// let b = RedisHub::builder("redis://127.0.0.1:6379/", "chat").connect().await?;
/// let mut on_b = b.subscribe(None).await;
/// let id = a.publish(Event::from_data("hello")).await?;
/// on_b.next().await; // the position it started from
/// let event = on_b.next().await.unwrap();
/// assert_eq!(event.as_bytes(), &format!("id: {id}\ndata: hello\n\n"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisHub {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    /// For publishing and resuming; it reconnects by itself.
    conn: ConnectionManager,
    key: String,
    max_len: usize,
    reader: AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The reader holds a handle on the hub: stopping it lets the hub close.
        self.reader.abort();
    }
}

impl RedisHub {
    /// Starts configuring a node on the stream `key` of the Redis server at `url`
    /// (`redis://host:port/db`).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = sse_wire::RedisHub::builder("redis://127.0.0.1:6379/", "events");
    /// # drop(builder);
    /// ```
    pub fn builder(url: impl Into<String>, key: impl Into<String>) -> RedisHubBuilder {
        RedisHubBuilder {
            url: url.into(),
            key: key.into(),
            hub: HubBuilder::default(),
            max_len: 100_000,
        }
    }

    /// Appends `event` to the stream and returns the id Redis gave it. Every node's
    /// subscribers get it once their node reads it; the event's own id is replaced. Fails
    /// when Redis is unreachable or refuses: then no node gets the event.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(node: sse_wire::RedisHub) -> Result<(), sse_wire::BackplaneError> {
    /// let id = node.publish(sse_wire::Event::from_data("hello")).await?;
    /// println!("published {id}");
    /// # Ok(()) }
    /// ```
    pub async fn publish(&self, event: Event) -> Result<EventId, BackplaneError> {
        let inner = &*self.inner;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&inner.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(inner.max_len)
            .arg("*");
        push_fields(&mut cmd, &event);
        let id: String = cmd.query_async(&mut inner.conn.clone()).await?;
        parse_id(&id)
    }

    /// A subscription for a client whose `Last-Event-ID` header is `last_event_id`: see
    /// the resume rules on [`RedisHub`]. It reads Redis only for a resume older than the
    /// ring.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(node: sse_wire::RedisHub) {
    /// let sub = node.subscribe(Some("1764871234567-0")).await;
    /// let body = sse_wire::SseBody::new(sse_wire::EncodeStream::new(sub));
    /// # drop(body);
    /// # }
    /// ```
    pub async fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let hub = &self.inner.hub;
        let Some(id) = last_event_id.and_then(EventId::parse) else {
            return hub.subscribe(last_event_id);
        };
        let origin = match hub.resume_after(&id, &mut Vec::new()) {
            Ok(sub) => return sub,
            Err(origin) => origin,
        };
        let served = if id < origin {
            self.backfill(&id, origin).await
        } else {
            self.catch_up(&id).await
        };
        // Unknown to the ring and not servable from Redis: the hub sends the gap event.
        served.unwrap_or_else(|| hub.subscribe(last_event_id))
    }

    /// For an id newer than any this node holds: when the stream has it (the client saw
    /// it on a node that read the stream sooner), waits until this node has read it too.
    async fn catch_up(&self, id: &EventId) -> Option<Subscription> {
        let inner = &*self.inner;
        let start = id.to_string();
        let held = xrange(&mut inner.conn.clone(), &inner.key, &start, &start)
            .await
            .ok()?;
        held.first().filter(|(found, _)| found == id)?;
        let deadline = tokio::time::Instant::now() + CATCH_UP;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(CATCH_UP_POLL).await;
            match inner.hub.resume_after(id, &mut Vec::new()) {
                Ok(sub) => return Some(sub),
                // Read, and already evicted by a burst: serve it as an old id.
                Err(origin) if *id < origin => return self.backfill(id, origin).await,
                Err(_) => {}
            }
        }
        None
    }

    /// Reads the events after `from` up to the ring's `origin` from Redis, then hands
    /// over to the ring; `None` when `from` is not in the stream, Redis is unreachable,
    /// or the ring keeps evicting faster than Redis answers.
    async fn backfill(&self, from: &EventId, mut origin: EventId) -> Option<Subscription> {
        let inner = &*self.inner;
        let mut conn = inner.conn.clone();
        let mut backlog = Vec::new();
        // The first range starts at `from` itself, to learn whether Redis still has it.
        let mut start = from.to_string();
        let mut after = from.clone();
        for round in 0..BACKFILL_ROUNDS {
            let entries = xrange(&mut conn, &inner.key, &start, &origin.to_string())
                .await
                .ok()?;
            let mut entries = entries.into_iter();
            if round == 0 && entries.next().map(|(id, _)| id).as_ref() != Some(from) {
                return None;
            }
            for (id, event) in entries {
                backlog.push(encode_with_id(event, &id));
                after = id;
            }
            match inner.hub.resume_after(&after, &mut backlog) {
                Ok(sub) => return Some(sub),
                Err(newer) => origin = newer,
            }
            start = std::format!("({after}");
        }
        None
    }

    /// The id of the newest event this node holds, if any.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(node: sse_wire::RedisHub) -> Result<(), sse_wire::BackplaneError> {
    /// let id = node.publish(sse_wire::Event::from_data("x")).await?;
    /// // Once the node has read it back from the stream:
    /// # tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    /// assert_eq!(node.last_id(), Some(id));
    /// # Ok(()) }
    /// ```
    pub fn last_id(&self) -> Option<EventId> {
        self.inner.hub.last_id()
    }

    /// How many events this node's ring holds.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn run(node: sse_wire::RedisHub) {
    /// assert!(node.len() <= 1024);
    /// # }
    /// ```
    #[allow(clippy::len_without_is_empty)] // as `Hub::len`
    pub fn len(&self) -> usize {
        self.inner.hub.len()
    }

    /// How many subscriptions this node serves.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(node: sse_wire::RedisHub) {
    /// let sub = node.subscribe(None).await;
    /// assert_eq!(node.subscriber_count(), 1);
    /// # drop(sub);
    /// # }
    /// ```
    pub fn subscriber_count(&self) -> usize {
        self.inner.hub.subscriber_count()
    }
}

impl fmt::Debug for RedisHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisHub")
            .field("key", &self.inner.key)
            .field("hub", &self.inner.hub)
            .finish_non_exhaustive()
    }
}

/// The node's reader: ingests the stream from `last` on, for as long as the node lives,
/// reconnecting after each failure with a growing wait.
async fn read_stream(hub: Hub, client: Client, key: String, mut last: EventId) {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(TIMEOUT)
        .set_response_timeout(BLOCK + TIMEOUT);
    let mut conn: Option<MultiplexedConnection> = None;
    let mut wait = RETRY_MIN;
    loop {
        let read = match conn.as_mut() {
            Some(conn) => xread(conn, &key, &last).await,
            None => match client
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(fresh) => {
                    conn = Some(fresh);
                    continue;
                }
                Err(error) => Err(error),
            },
        };
        match read {
            Ok(entries) => {
                wait = RETRY_MIN;
                for (id, event) in entries {
                    last = id.clone();
                    hub.ingest(id, event);
                }
            }
            Err(_) => {
                conn = None;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}

/// One entry: its id, and the event its fields make.
type Entry = (EventId, Event);

async fn xread(
    conn: &mut MultiplexedConnection,
    key: &str,
    last: &EventId,
) -> redis::RedisResult<Vec<Entry>> {
    let reply: Option<StreamReadReply> = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(READ_BATCH)
        .arg("BLOCK")
        .arg(BLOCK.as_millis() as u64)
        .arg("STREAMS")
        .arg(key)
        .arg(last.to_string())
        .query_async(conn)
        .await?;
    let ids = reply
        .into_iter()
        .flat_map(|reply| reply.keys)
        .flat_map(|stream| stream.ids);
    Ok(ids.filter_map(entry).collect())
}

async fn xrange(
    conn: &mut ConnectionManager,
    key: &str,
    start: &str,
    end: &str,
) -> redis::RedisResult<Vec<Entry>> {
    let reply: StreamRangeReply = redis::cmd("XRANGE")
        .arg(key)
        .arg(start)
        .arg(end)
        .query_async(conn)
        .await?;
    Ok(reply.ids.into_iter().filter_map(entry).collect())
}

/// The newest `count` entries, newest first.
async fn xrevrange(
    conn: &mut ConnectionManager,
    key: &str,
    count: usize,
) -> redis::RedisResult<Vec<Entry>> {
    let reply: StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await?;
    Ok(reply.ids.into_iter().filter_map(entry).collect())
}

fn parse_id(id: &str) -> Result<EventId, BackplaneError> {
    EventId::parse(id).ok_or_else(|| {
        let detail = (
            redis::ErrorKind::TypeError,
            "not a stream id",
            id.to_string(),
        );
        BackplaneError::from(redis::RedisError::from(detail))
    })
}

/// The event's fields, after `*` in `XADD`.
fn push_fields(cmd: &mut Cmd, event: &Event) {
    cmd.arg(FORMAT).arg("1");
    // "message" is what clients read for an event without a type: no field needed.
    let event_type = event.event_type();
    if event_type != "message" {
        cmd.arg("event").arg(event_type);
    }
    if event.has_data() {
        cmd.arg("data").arg(event.data());
    }
    if let Some(retry) = event.retry() {
        cmd.arg("retry").arg(retry.as_millis() as u64);
    }
    let comments: Vec<&str> = event.comments().collect();
    if !comments.is_empty() {
        cmd.arg("comment").arg(comments.join("\n"));
    }
}

/// The entry as an event. Every entry becomes one, so that every node holds the same ids:
/// an entry that is not a valid event in this crate's format (another writer's) becomes
/// an event with no field, which goes out as its `id` line alone and dispatches nothing.
/// `None` only for an id that is not a stream id, which Redis never gives.
fn entry(stream_id: StreamId) -> Option<Entry> {
    let id = EventId::parse(&stream_id.id)?;
    Some((id, event_of(&stream_id).unwrap_or_default()))
}

fn event_of(stream_id: &StreamId) -> Option<Event> {
    let field = |name: &str| {
        stream_id
            .map
            .get(name)
            .and_then(|value| String::from_redis_value(value).ok())
    };
    if field(FORMAT)? != "1" {
        return None;
    }
    let mut builder = Event::builder();
    if let Some(event_type) = field("event") {
        builder = builder.event(event_type);
    }
    if let Some(data) = field("data") {
        builder = builder.data(data);
    }
    if let Some(retry) = field("retry") {
        builder = builder.retry(Duration::from_millis(retry.parse().ok()?));
    }
    for comment in field("comment").iter().flat_map(|c| c.split('\n')) {
        builder = builder.comment(comment);
    }
    builder.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_id(id: &str, fields: &[(&str, &str)]) -> StreamId {
        let map = fields
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    redis::Value::BulkString(v.as_bytes().to_vec()),
                )
            })
            .collect();
        StreamId {
            id: id.to_string(),
            map,
        }
    }

    #[test]
    fn an_entry_in_this_format_makes_the_event_it_was_published_from() {
        let event = Event::builder()
            .event("tick")
            .data("a\nb")
            .retry(Duration::from_millis(1500))
            .comment("one")
            .comment("two")
            .build()
            .unwrap();
        let mut cmd = redis::cmd("XADD");
        push_fields(&mut cmd, &event);
        let args: Vec<String> = cmd
            .args_iter()
            .skip(1) // the command's name
            .filter_map(|arg| match arg {
                redis::Arg::Simple(bytes) => String::from_utf8(bytes.to_vec()).ok(),
                redis::Arg::Cursor => None,
            })
            .collect();
        let pairs: Vec<(&str, &str)> = args
            .chunks(2)
            .map(|pair| (pair[0].as_str(), pair[1].as_str()))
            .collect();
        let (id, back) = entry(stream_id("17-3", &pairs)).unwrap();
        assert_eq!(id, EventId::new(17, 3));
        assert_eq!(back.to_bytes(), event.to_bytes());
    }

    #[test]
    fn an_entry_of_another_writer_keeps_its_id_and_dispatches_nothing() {
        for fields in [
            &[("foo", "bar")][..],
            &[("sse", "2"), ("data", "x")],
            &[("sse", "1"), ("event", "a\nb")],
            &[("sse", "1"), ("retry", "soon")],
        ] {
            let (id, event) = entry(stream_id("5-0", fields)).unwrap();
            assert_eq!(id, EventId::new(5, 0));
            assert_eq!(event.to_bytes(), "", "{fields:?}");
        }
    }
}
