//! The history of Streamable HTTP SSE streams, so a client whose stream
//! broke can resume it with `GET` and `Last-Event-ID` (2025-03-26 to
//! 2025-11-25; 2026-07-28 has no resumable streams).
//!
//! Every SSE event of a session's streams is appended to an [`EventStore`]
//! before it is sent, under the stream it belongs to. Its SSE id,
//! `<stream>-<seq>`, names that stream, so a `Last-Event-ID` replays only the
//! stream that broke, and only within the session that holds it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mcp_core::jsonrpc::RequestId;

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::MemoryEventStore;
#[cfg(feature = "redis")]
pub use redis::RedisEventStore;

/// A boxed future of an [`EventStore`] operation.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, EventStoreError>> + Send + 'a>>;

/// Keeps the events of SSE streams for a while, so a broken stream can be
/// replayed from the last event its client saw.
///
/// Streams are named by [`StreamKey`]; events in one stream are numbered
/// from 1 by [`append`](EventStore::append). Implementations bound what they
/// keep (events per stream, age, total size): a replay may then start later
/// than asked, never with events of another stream.
///
/// ```
/// use std::time::Duration;
/// use mcp_server::transport::http::history::{EventStore, MemoryEventStore, StreamKey};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = MemoryEventStore::default();
/// let key = StreamKey::new("session-1", "p1");
/// store.open(&key).await?;
/// let first = store.append(&key, "{\"a\":1}".into()).await?;
/// store.append(&key, "{\"b\":2}".into()).await?;
/// store.finish(&key).await?;
/// let page = store.read_after(&key, first).await?;
/// assert_eq!(page.events.len(), 1);
/// assert!(page.finished);
/// // Another session never sees this stream.
/// assert!(store.read_after(&StreamKey::new("session-2", "p1"), 0).await.is_err());
/// # Ok::<(), mcp_server::transport::http::history::EventStoreError>(())
/// # }).unwrap();
/// ```
pub trait EventStore: Send + Sync + fmt::Debug + 'static {
    /// Starts a stream with no events, so it can be resumed before its
    /// first event (from its priming event).
    fn open<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, ()>;

    /// Appends one event's data (a JSON-RPC message, or an array of them)
    /// and returns its sequence number, one more than the last.
    fn append<'a>(&'a self, key: &'a StreamKey, data: Bytes) -> StoreFuture<'a, u64>;

    /// Marks the stream finished: no event follows its last one.
    fn finish<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, ()>;

    /// The events after sequence number `after`, oldest first, and whether
    /// the stream is finished; [`EventStoreError::UnknownStream`] when the
    /// store holds no such stream (never opened, expired, or forgotten).
    fn read_after<'a>(&'a self, key: &'a StreamKey, after: u64) -> StoreFuture<'a, Page>;

    /// Resolves once the stream may hold an event after `after` or be
    /// finished, or when `timeout` has passed, whichever comes first.
    fn wait<'a>(&'a self, key: &'a StreamKey, after: u64, timeout: Duration)
    -> StoreFuture<'a, ()>;

    /// Forgets every stream of a session (it ended).
    fn forget<'a>(&'a self, session: &'a str) -> StoreFuture<'a, ()>;

    /// Records which replica produces the stream, and for which request,
    /// so that a reader on another replica can end the stream if that
    /// replica stops before finishing it. The default records nothing, and
    /// such streams are not ended for their producer.
    fn set_producer<'a>(
        &'a self,
        key: &'a StreamKey,
        producer: &'a Producer,
    ) -> StoreFuture<'a, ()> {
        let _ = (key, producer);
        Box::pin(async { Ok(()) })
    }

    /// Who produces the stream, as [`set_producer`](EventStore::set_producer)
    /// recorded it; `None` when nothing was recorded.
    fn producer<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, Option<Producer>> {
        let _ = key;
        Box::pin(async { Ok(None) })
    }

    /// Appends `data` as the stream's last event and finishes the stream,
    /// unless it is finished already: the sequence number of the event, or
    /// `None` when the stream was finished (or is unknown). Stores shared
    /// between processes do both in one atomic step, so that two readers
    /// ending a stream whose producer stopped add one event between them.
    fn finish_with<'a>(&'a self, key: &'a StreamKey, data: Bytes) -> StoreFuture<'a, Option<u64>> {
        Box::pin(async move {
            match self.read_after(key, 0).await {
                Ok(page) if !page.finished => {}
                Ok(_) | Err(EventStoreError::UnknownStream) => return Ok(None),
                Err(e) => return Err(e),
            }
            let seq = self.append(key, data).await?;
            self.finish(key).await?;
            Ok(Some(seq))
        })
    }
}

/// Who produces a stream: the replica running the request whose messages
/// it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Producer {
    /// The replica's id, as its heartbeat names it in the shared stores.
    pub replica: String,
    /// The request the stream answers.
    pub request: RequestId,
}

/// One stream of one session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// The `Mcp-Session-Id` of the session the stream belongs to.
    pub session: Arc<str>,
    /// The stream, unique within the session.
    pub stream: Arc<str>,
}

impl StreamKey {
    /// The key of `stream` in `session`.
    pub fn new(session: impl Into<Arc<str>>, stream: impl Into<Arc<str>>) -> Self {
        Self {
            session: session.into(),
            stream: stream.into(),
        }
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its number in the stream, from 1.
    pub seq: u64,
    /// Its `data`: one line of JSON.
    pub data: Bytes,
}

/// What [`EventStore::read_after`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The events after the one asked for, oldest first.
    pub events: Vec<StoredEvent>,
    /// Whether the stream is finished (its last event is among the stored).
    pub finished: bool,
}

/// Why an [`EventStore`] operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventStoreError {
    /// The store holds no such stream for that session.
    #[error("no such stream in this session (unknown, expired or another session's)")]
    UnknownStream,
    /// The store's backend failed (Redis unreachable, say).
    #[error("the event store failed: {0}")]
    Backend(String),
}

/// How much an event store keeps.
///
/// ```
/// use std::time::Duration;
/// use mcp_server::transport::http::history::EventLimits;
///
/// let limits = EventLimits::default().ttl(Duration::from_secs(60)).max_events_per_stream(100);
/// assert_eq!(limits.events_per_stream(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLimits {
    pub(crate) per_stream: usize,
    pub(crate) ttl: Duration,
    pub(crate) total_bytes: usize,
}

impl Default for EventLimits {
    /// 1 000 events per stream, kept 5 minutes after the stream's last
    /// event, 64 MiB in all.
    fn default() -> Self {
        Self {
            per_stream: 1_000,
            ttl: Duration::from_secs(300),
            total_bytes: 64 * 1024 * 1024,
        }
    }
}

impl EventLimits {
    /// The most events kept per stream; older ones are dropped first.
    #[must_use]
    pub fn max_events_per_stream(mut self, events: usize) -> Self {
        self.per_stream = events.max(1);
        self
    }

    /// How long a stream is kept after its last event.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The most bytes of event data kept in all (in-memory store); the
    /// streams idle longest are dropped first.
    #[must_use]
    pub fn max_total_bytes(mut self, bytes: usize) -> Self {
        self.total_bytes = bytes;
        self
    }

    /// The most events kept per stream.
    pub fn events_per_stream(&self) -> usize {
        self.per_stream
    }

    /// How long a stream is kept after its last event.
    pub fn stream_ttl(&self) -> Duration {
        self.ttl
    }
}

/// The event store the environment asks for: with `REDIS_URL` (feature
/// `redis`), a [`RedisEventStore`] under `MCP_EVENT_PREFIX` (default
/// `mcp:ev`); `MCP_EVENT_TTL` (such as `5m`) and
/// `MCP_EVENT_MAX_PER_STREAM` bound either store. `None` when none is set.
pub(crate) fn from_env(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Arc<dyn EventStore>>, (&'static str, String)> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let mut limits = EventLimits::default();
    let mut custom = false;
    if let Some(ttl) = var("MCP_EVENT_TTL") {
        let parsed = crate::server::parse_duration_or_zero(&ttl)
            .filter(|d| !d.is_zero())
            .ok_or(("MCP_EVENT_TTL", ttl))?;
        limits = limits.ttl(parsed);
        custom = true;
    }
    if let Some(max) = var("MCP_EVENT_MAX_PER_STREAM") {
        let parsed: usize = max
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(("MCP_EVENT_MAX_PER_STREAM", max))?;
        limits = limits.max_events_per_stream(parsed);
        custom = true;
    }
    if let Some(url) = var("REDIS_URL") {
        #[cfg(feature = "redis")]
        {
            let prefix = var("MCP_EVENT_PREFIX").unwrap_or_else(|| "mcp:ev".into());
            let store = RedisEventStore::new(url.trim(), prefix.trim(), limits)
                .map_err(|_| ("REDIS_URL", "(redacted)".to_owned()))?;
            return Ok(Some(Arc::new(store)));
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = url;
            tracing::warn!(
                "REDIS_URL is set but mcp-server was built without its `redis` feature: SSE stream history stays in this process"
            );
        }
    }
    Ok(custom.then(|| Arc::new(MemoryEventStore::new(limits)) as Arc<dyn EventStore>))
}

/// An SSE event id: `<stream>-<seq>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventId {
    pub(crate) stream: Arc<str>,
    pub(crate) seq: u64,
}

impl EventId {
    /// Parses a `Last-Event-ID`; `None` for anything this server did not mint.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (stream, seq) = text.trim().rsplit_once('-')?;
        let valid = (2..=64).contains(&stream.len())
            && stream.bytes().all(|b| b.is_ascii_alphanumeric())
            && matches!(stream.as_bytes()[0], b'g' | b'p');
        if !valid || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            stream: stream.into(),
            seq: seq.parse().ok()?,
        })
    }

    /// Whether the id is of a session's GET stream (rather than a POST's).
    pub(crate) fn is_get_stream(&self) -> bool {
        self.stream.starts_with('g')
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.stream, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_environment_picks_the_store_and_its_bounds() {
        assert!(from_env(&env(&[])).unwrap().is_none());
        let store = from_env(&env(&[("MCP_EVENT_TTL", "1m")])).unwrap();
        assert!(format!("{store:?}").contains("MemoryEventStore"));
        assert_eq!(
            from_env(&env(&[("MCP_EVENT_TTL", "soon")])).unwrap_err().0,
            "MCP_EVENT_TTL"
        );
        assert_eq!(
            from_env(&env(&[("MCP_EVENT_MAX_PER_STREAM", "0")]))
                .unwrap_err()
                .0,
            "MCP_EVENT_MAX_PER_STREAM"
        );
        #[cfg(feature = "redis")]
        {
            let store = from_env(&env(&[("REDIS_URL", "redis://127.0.0.1:6379")])).unwrap();
            assert!(format!("{store:?}").contains("RedisEventStore"));
        }
    }

    #[test]
    fn event_ids_round_trip_and_refuse_what_was_not_minted() {
        let id = EventId::parse("pab12-7").expect("valid");
        assert_eq!(id.to_string(), "pab12-7");
        assert!(!id.is_get_stream());
        assert!(EventId::parse("g00-0").expect("valid").is_get_stream());
        for bad in [
            "",
            "7",
            "p-1",
            "xab-1",
            "pab-",
            "pab-1a",
            "p a-1",
            "pab-99999999999999999999999",
        ] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }
}
