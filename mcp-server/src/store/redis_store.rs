//! The store traits in Redis: one hash per session, one JSON string per
//! task, a key per live replica, and one pub/sub channel for the bus.
//!
//! Every call is bounded in time, so an unreachable Redis is an error the
//! request reports, never a hang.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{
    Bus, BusMessage, BusSubscription, SessionChange, SessionRecord, SessionStore, StoreError,
    StoreFuture, TaskRecord, TaskStore, millis, now_ms,
};

/// How long one Redis call may take, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Marks the session used, only if it still exists.
const TOUCH: &str = r"
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'seen', ARGV[2])
  return 1
end
return 0
";

/// Sets or deletes one field of a session, only if it still exists.
const UPDATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == 'set' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3], 'seen', ARGV[5])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('HSET', KEYS[1], 'seen', ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
";

/// Sessions, tasks, heartbeats and the bus in one Redis.
pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    connection: tokio::sync::OnceCell<ConnectionManager>,
    touch: redis::Script,
    update: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unreachable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unreachable(e.to_string())
}

impl RedisStore {
    /// A store at `url` under keys starting `prefix:`. Connects on first use.
    ///
    /// # Errors
    /// [`StoreError::Config`]: `url` is not a Redis URL.
    pub fn new(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::Config(e.to_string()))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            connection: tokio::sync::OnceCell::new(),
            touch: redis::Script::new(TOUCH),
            update: redis::Script::new(UPDATE),
        })
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }

    fn channel(&self) -> String {
        format!("{}:bus", self.prefix)
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_secs(1)))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
            .map_err(unreachable)
    }

    /// Runs `call` on a connection within [`CALL_TIMEOUT`].
    async fn run<T, F>(&self, call: impl FnOnce(ConnectionManager) -> F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let work = async {
            let connection = self.connection().await?;
            call(connection).await.map_err(unreachable)
        };
        match tokio::time::timeout(CALL_TIMEOUT, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unreachable(format!(
                "no answer within {} s",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A session from its hash: the record as created, then the fields
/// changed since.
fn session_from(mut fields: HashMap<String, String>) -> Result<Option<SessionRecord>, StoreError> {
    let Some(record) = fields.remove("record") else {
        return Ok(None);
    };
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let mut record: SessionRecord = serde_json::from_str(&record).map_err(corrupt)?;
    for (field, value) in fields {
        match field.as_str() {
            "initialized" => record.initialized = true,
            "log_level" => record.log_level = Some(serde_json::from_str(&value).map_err(corrupt)?),
            "seen" => record.last_seen_ms = value.parse().unwrap_or(record.last_seen_ms),
            _ => {
                if let Some(uri) = field.strip_prefix("sub:") {
                    record.subscriptions.insert(uri.to_owned());
                }
            }
        }
    }
    Ok(Some(record))
}

impl SessionStore for RedisStore {
    fn create<'a>(&'a self, record: &'a SessionRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = self.key("session", &record.id);
            let body = json(record)?;
            self.run(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .hset(&key, "record", body)
                    .ignore()
                    .pexpire(&key, i64::try_from(millis(ttl)).unwrap_or(i64::MAX))
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
        })
    }

    fn get<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, Option<SessionRecord>> {
        Box::pin(async move {
            let key = self.key("session", id);
            let (fields,): (HashMap<String, String>,) = self
                .run(|mut c| async move {
                    redis::pipe()
                        .hgetall(&key)
                        .pexpire(&key, i64::try_from(millis(ttl)).unwrap_or(i64::MAX))
                        .ignore()
                        .query_async(&mut c)
                        .await
                })
                .await?;
            session_from(fields)
        })
    }

    fn touch<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.key("session", id);
            let found: i64 = self
                .run(|mut c| async move {
                    self.touch
                        .key(key)
                        .arg(millis(ttl))
                        .arg(now_ms())
                        .invoke_async(&mut c)
                        .await
                })
                .await?;
            Ok(found == 1)
        })
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        change: &'a SessionChange,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.key("session", id);
            let (op, field, value) = match change {
                SessionChange::Initialized => ("set", "initialized".to_owned(), "1".to_owned()),
                SessionChange::LogLevel(level) => ("set", "log_level".to_owned(), json(level)?),
                SessionChange::Subscribe(uri) => ("set", format!("sub:{uri}"), "1".to_owned()),
                SessionChange::Unsubscribe(uri) => ("del", format!("sub:{uri}"), String::new()),
            };
            let found: i64 = self
                .run(|mut c| async move {
                    self.update
                        .key(key)
                        .arg(op)
                        .arg(field)
                        .arg(value)
                        .arg(millis(ttl))
                        .arg(now_ms())
                        .invoke_async(&mut c)
                        .await
                })
                .await?;
            Ok(found == 1)
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.key("session", id);
            let removed: i64 = self.run(|mut c| async move { c.del(key).await }).await?;
            Ok(removed == 1)
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.run(|mut c| async move { redis::cmd("PING").query_async::<()>(&mut c).await })
                .await
        })
    }
}

impl TaskStore for RedisStore {
    fn put<'a>(&'a self, record: &'a TaskRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = self.key("task", &record.id);
            let body = json(record)?;
            self.run(|mut c| async move { c.pset_ex::<_, _, ()>(key, body, millis(ttl)).await })
                .await
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TaskRecord>> {
        Box::pin(async move {
            let key = self.key("task", id);
            let body: Option<String> = self.run(|mut c| async move { c.get(key).await }).await?;
            body.map(|body| {
                serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
        })
    }

    fn heartbeat<'a>(&'a self, replica: &'a str, lease: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = self.key("replica", replica);
            self.run(|mut c| async move { c.pset_ex::<_, _, ()>(key, 1, millis(lease)).await })
                .await
        })
    }

    fn alive<'a>(&'a self, replica: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.key("replica", replica);
            self.run(|mut c| async move { c.exists(key).await }).await
        })
    }
}

impl Bus for RedisStore {
    fn publish<'a>(&'a self, message: &'a BusMessage) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let body = json(message)?;
            let channel = self.channel();
            self.run(|mut c| async move { c.publish::<_, _, ()>(channel, body).await })
                .await
        })
    }

    fn subscribe(&self) -> StoreFuture<'_, BusSubscription> {
        Box::pin(async move {
            let channel = self.channel();
            let connect = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::time::timeout(CALL_TIMEOUT, connect)
                .await
                .map_err(|_| StoreError::Unreachable("no pub/sub connection in time".into()))?
                .map_err(unreachable)?;
            let stream = pubsub.into_on_message().filter_map(|message| async move {
                let body: String = message.get_payload().ok()?;
                match serde_json::from_str(&body) {
                    Ok(message) => Some(message),
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring an unreadable bus message");
                        None
                    }
                }
            });
            Ok(Box::pin(stream) as BusSubscription)
        })
    }
}
