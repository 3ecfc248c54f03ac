//! Stream history in Redis, shared by every replica, so a stream that
//! broke on one replica resumes on any other.
//!
//! Per stream, a hash `<prefix>:{<session>}:m:<stream>` (`next`, the last
//! sequence number given out, `fin`, and for a POST's stream `replica` and
//! `request`, who produces it) and a list
//! `<prefix>:{<session>}:e:<stream>` of `<seq>:<data>` entries trimmed to
//! the newest [`EventLimits::max_events_per_stream`]; per session, a set
//! `<prefix>:{<session>}:s` of its streams. Every key expires
//! [`EventLimits::ttl`] after the stream's last write. The braces keep a
//! session's keys in one Redis Cluster slot, so each script is atomic.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::watch;

use super::{
    EventLimits, EventStore, EventStoreError, Page, Producer, StoreFuture, StoredEvent, StreamKey,
};

/// How often a reader looks for events that another replica wrote.
const POLL: Duration = Duration::from_millis(100);

const OPEN: &str = r"
redis.call('HSETNX', KEYS[1], 'next', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
";

const APPEND: &str = r"
local seq = redis.call('HINCRBY', KEYS[1], 'next', 1)
redis.call('RPUSH', KEYS[2], seq .. ':' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return seq
";

const FINISH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'fin', 1)
end
return 1
";

const READ: &str = r"
local meta = redis.call('HMGET', KEYS[1], 'next', 'fin')
if not meta[1] then return false end
if tonumber(ARGV[1]) > tonumber(meta[1]) then return false end
return {meta[1], meta[2] or '0', redis.call('LRANGE', KEYS[2], 0, -1)}
";

const PRODUCE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'replica', ARGV[1], 'request', ARGV[2])
end
return 1
";

const FINISH_WITH: &str = r"
local meta = redis.call('HMGET', KEYS[1], 'next', 'fin')
if not meta[1] or meta[2] == '1' then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'next', 1)
redis.call('RPUSH', KEYS[2], seq .. ':' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('HSET', KEYS[1], 'fin', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return seq
";

const FORGET: &str = r"
local streams = redis.call('SMEMBERS', KEYS[1])
for _, stream in ipairs(streams) do
  redis.call('DEL', ARGV[1] .. ':m:' .. stream, ARGV[1] .. ':e:' .. stream)
end
redis.call('DEL', KEYS[1])
return #streams
";

/// Keeps stream history in Redis, for replicas behind a load balancer
/// without session affinity. Bounded per stream (events) and in age
/// (TTL); the total is Redis's own `maxmemory`.
///
/// ```no_run
/// use std::sync::Arc;
/// use mcp_server::transport::http::HttpConfig;
/// use mcp_server::transport::http::history::{EventLimits, RedisEventStore};
///
/// let store = RedisEventStore::new("redis://127.0.0.1:6379", "mcp:ev", EventLimits::default())?;
/// let config = HttpConfig::default().event_store(Arc::new(store));
/// # Ok::<(), mcp_server::transport::http::history::EventStoreError>(())
/// ```
pub struct RedisEventStore {
    client: redis::Client,
    prefix: String,
    limits: EventLimits,
    connection: tokio::sync::OnceCell<ConnectionManager>,
    scripts: Scripts,
    /// Bumped on every write of this process, so its own readers wake at
    /// once; events written by other replicas are found by polling.
    written: watch::Sender<u64>,
    reachable: AtomicBool,
}

struct Scripts {
    open: redis::Script,
    append: redis::Script,
    finish: redis::Script,
    read: redis::Script,
    forget: redis::Script,
    produce: redis::Script,
    finish_with: redis::Script,
}

impl std::fmt::Debug for RedisEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEventStore")
            .field("prefix", &self.prefix)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn backend(e: &redis::RedisError) -> EventStoreError {
    EventStoreError::Backend(e.to_string())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisEventStore {
    /// A store in the Redis at `url`, its keys under `prefix`.
    ///
    /// # Errors
    /// `url` is not a Redis URL. Redis itself is reached at first use.
    pub fn new(url: &str, prefix: &str, limits: EventLimits) -> Result<Self, EventStoreError> {
        let client = redis::Client::open(url).map_err(|e| backend(&e))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            limits,
            connection: tokio::sync::OnceCell::new(),
            scripts: Scripts {
                open: redis::Script::new(OPEN),
                append: redis::Script::new(APPEND),
                finish: redis::Script::new(FINISH),
                read: redis::Script::new(READ),
                forget: redis::Script::new(FORGET),
                produce: redis::Script::new(PRODUCE),
                finish_with: redis::Script::new(FINISH_WITH),
            },
            written: watch::Sender::new(0),
            reachable: AtomicBool::new(true),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, EventStoreError> {
        self.connection
            .get_or_try_init(|| async {
                // A stream waits on every write: give up quickly when Redis
                // is away rather than stall the request behind it.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_secs(2)))
                    .set_number_of_retries(2);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
            .map_err(|e| backend(&e))
    }

    fn session_prefix(&self, session: &str) -> String {
        format!("{}:{{{session}}}", self.prefix)
    }

    fn keys(&self, key: &StreamKey) -> [String; 3] {
        let p = self.session_prefix(&key.session);
        [
            format!("{p}:m:{}", key.stream),
            format!("{p}:e:{}", key.stream),
            format!("{p}:s"),
        ]
    }

    /// Logs an outage when it starts and when it ends.
    fn observe<T>(&self, result: redis::RedisResult<T>) -> Result<T, EventStoreError> {
        let ok = result.is_ok();
        if self.reachable.swap(ok, Ordering::Relaxed) != ok {
            if ok {
                tracing::info!("the Redis event store is reachable again");
            } else {
                tracing::error!(
                    "the Redis event store is unreachable: broken streams cannot be resumed"
                );
            }
        }
        result.map_err(|e| backend(&e))
    }

    fn wrote(&self) {
        self.written.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl EventStore for RedisEventStore {
    fn open<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let [meta, _, set] = self.keys(key);
            let result = self
                .scripts
                .open
                .key(meta)
                .key(set)
                .arg(&*key.stream)
                .arg(millis(self.limits.ttl))
                .invoke_async::<i64>(&mut connection)
                .await;
            self.observe(result).map(drop)
        })
    }

    fn append<'a>(&'a self, key: &'a StreamKey, data: Bytes) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let [meta, events, set] = self.keys(key);
            let result = self
                .scripts
                .append
                .key(meta)
                .key(events)
                .key(set)
                .arg(data.as_ref())
                .arg(&*key.stream)
                .arg(self.limits.per_stream)
                .arg(millis(self.limits.ttl))
                .invoke_async::<u64>(&mut connection)
                .await;
            let seq = self.observe(result)?;
            self.wrote();
            Ok(seq)
        })
    }

    fn finish<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let [meta, ..] = self.keys(key);
            let result = self
                .scripts
                .finish
                .key(meta)
                .invoke_async::<i64>(&mut connection)
                .await;
            self.observe(result)?;
            self.wrote();
            Ok(())
        })
    }

    fn read_after<'a>(&'a self, key: &'a StreamKey, after: u64) -> StoreFuture<'a, Page> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let [meta, events, _] = self.keys(key);
            let result = self
                .scripts
                .read
                .key(meta)
                .key(events)
                .arg(after)
                .invoke_async::<Option<(u64, u8, Vec<Vec<u8>>)>>(&mut connection)
                .await;
            let Some((_, finished, entries)) = self.observe(result)? else {
                return Err(EventStoreError::UnknownStream);
            };
            let mut page = Page {
                events: Vec::new(),
                finished: finished == 1,
            };
            for entry in entries {
                let Some(colon) = entry.iter().position(|&b| b == b':') else {
                    continue;
                };
                let seq = std::str::from_utf8(&entry[..colon])
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(seq) = seq.filter(|&seq| seq > after) {
                    let data = Bytes::from(entry).slice(colon + 1..);
                    page.events.push(StoredEvent { seq, data });
                }
            }
            Ok(page)
        })
    }

    fn wait<'a>(
        &'a self,
        _key: &'a StreamKey,
        _after: u64,
        timeout: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut written = self.written.subscribe();
            let _ = tokio::time::timeout(timeout.min(POLL), written.changed()).await;
            Ok(())
        })
    }

    fn forget<'a>(&'a self, session: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let prefix = self.session_prefix(session);
            let result = self
                .scripts
                .forget
                .key(format!("{prefix}:s"))
                .arg(prefix)
                .invoke_async::<i64>(&mut connection)
                .await;
            self.observe(result).map(drop)
        })
    }

    fn set_producer<'a>(
        &'a self,
        key: &'a StreamKey,
        producer: &'a Producer,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let request = serde_json::to_string(&producer.request)
                .map_err(|e| EventStoreError::Backend(e.to_string()))?;
            let mut connection = self.connection().await?;
            let [meta, ..] = self.keys(key);
            let result = self
                .scripts
                .produce
                .key(meta)
                .arg(&producer.replica)
                .arg(request)
                .invoke_async::<i64>(&mut connection)
                .await;
            self.observe(result).map(drop)
        })
    }

    fn producer<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, Option<Producer>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let [meta, ..] = self.keys(key);
            let result = redis::cmd("HMGET")
                .arg(meta)
                .arg("replica")
                .arg("request")
                .query_async::<(Option<String>, Option<String>)>(&mut connection)
                .await;
            let (Some(replica), Some(request)) = self.observe(result)? else {
                return Ok(None);
            };
            // A request id that does not read back is as good as none.
            Ok(serde_json::from_str(&request)
                .ok()
                .map(|request| Producer { replica, request }))
        })
    }

    fn finish_with<'a>(&'a self, key: &'a StreamKey, data: Bytes) -> StoreFuture<'a, Option<u64>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let [meta, events, _] = self.keys(key);
            let result = self
                .scripts
                .finish_with
                .key(meta)
                .key(events)
                .arg(data.as_ref())
                .arg(self.limits.per_stream)
                .arg(millis(self.limits.ttl))
                .invoke_async::<u64>(&mut connection)
                .await;
            let seq = self.observe(result)?;
            self.wrote();
            Ok((seq > 0).then_some(seq))
        })
    }
}
