//! Where protocol state lives when several replicas serve one deployment.
//!
//! By default every piece of state stays in the process that made it, as
//! it always has. Give a server [`Stores`] (built by hand, or
//! `Stores::redis` with the `redis` feature, or `REDIS_URL` through
//! [`ServerBuilder::env_settings`](crate::ServerBuilder::env_settings)) and the
//! state a client's next request may need on another replica is written
//! through to them:
//!
//! - [`SessionStore`]: each stateful session as a [`SessionRecord`]
//!   (revision, client info and capabilities, log level, the identity that
//!   opened it, its subscriptions), kept alive by use.
//! - [`TaskStore`]: each task as a [`TaskRecord`] (status, result,
//!   questions, owner, the replica running it), so `tasks/get` answers on
//!   any replica and a dead replica's tasks end as failed.
//! - [`Bus`]: what one replica must tell the others ([`BusMessage`]):
//!   resource updates and list changes, answers to server-to-client
//!   requests and cancellations, addressed by session.
//!
//! What is stored is plain serialisable data. What cannot leave a process
//! (channels, cancellation tokens, the handlers waiting for answers) stays
//! in the replica that holds it, keyed by session id, and is reached over
//! the bus.
//!
//! [`MemorySessions`], [`MemoryTasks`] and [`MemoryBus`] implement the
//! traits in memory: shared between two servers in one process, they
//! behave as Redis does between processes, which makes them the reference
//! for other implementations.
//!
//! ```
//! use mcp_server::Server;
//! use mcp_server::store::Stores;
//!
//! // Two servers sharing state, as two replicas sharing Redis would.
//! let stores = Stores::memory();
//! let a = Server::builder().name("a").version("1").stores(stores.clone()).build();
//! let b = Server::builder().name("b").version("1").stores(stores).build();
//! # drop((a, b));
//! ```

mod bus;
mod memory;
#[cfg(feature = "redis")]
mod redis_store;
mod session;
pub(crate) mod shared;
mod task;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use bus::{Bus, BusMessage, BusSubscription, ListChange};
pub use memory::{MemoryBus, MemorySessions, MemoryTasks};
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use session::{PrincipalBinding, SessionChange, SessionRecord, SessionStore};
pub use task::{TaskOwnerRecord, TaskRecord, TaskState, TaskStore};

/// What the store traits' methods return.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer in time or could not be reached.
    #[error("the shared state store is unreachable: {0}")]
    Unreachable(String),
    /// What the store holds could not be read back.
    #[error("the shared state store holds an unreadable record: {0}")]
    Corrupt(String),
    /// The store was misconfigured (a bad URL, say).
    #[error("invalid shared state store configuration: {0}")]
    Config(String),
}

/// The stores a server shares with its other replicas, and how long what
/// they hold lives.
#[derive(Clone, Debug)]
pub struct Stores {
    /// Sessions of the stateful revisions.
    pub sessions: Arc<dyn SessionStore>,
    /// Tasks.
    pub tasks: Arc<dyn TaskStore>,
    /// Messages between replicas.
    pub bus: Arc<dyn Bus>,
    /// How long an unused session lives (default 30 minutes). Each use
    /// starts it again.
    pub session_ttl: Duration,
    /// How long a replica counts as alive after its last heartbeat
    /// (default 15 seconds); it beats every third of that. A task whose
    /// replica is no longer alive is failed when it is next read.
    pub replica_lease: Duration,
}

impl Stores {
    /// Stores in this process's memory: for tests, and for servers in one
    /// process that should behave as replicas.
    pub fn memory() -> Self {
        Self::new(
            Arc::new(MemorySessions::default()),
            Arc::new(MemoryTasks::default()),
            Arc::new(MemoryBus::default()),
        )
    }

    /// Stores from three implementations, with the default lifetimes.
    pub fn new(
        sessions: Arc<dyn SessionStore>,
        tasks: Arc<dyn TaskStore>,
        bus: Arc<dyn Bus>,
    ) -> Self {
        Self {
            sessions,
            tasks,
            bus,
            session_ttl: Duration::from_secs(30 * 60),
            replica_lease: Duration::from_secs(15),
        }
    }

    /// Stores in Redis at `url` (such as `redis://cache:6379`), under keys
    /// that start with `prefix` (`mcp` by default through the settings).
    /// Nothing is connected until first use.
    ///
    /// # Errors
    /// [`StoreError::Config`]: the URL is not a Redis URL.
    #[cfg(feature = "redis")]
    pub fn redis(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let store = Arc::new(RedisStore::new(url, prefix)?);
        Ok(Self::new(store.clone(), store.clone(), store))
    }

    /// Sets how long an unused session lives.
    #[must_use]
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// Sets how long a replica counts as alive after its last heartbeat.
    #[must_use]
    pub fn replica_lease(mut self, lease: Duration) -> Self {
        self.replica_lease = lease;
        self
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// A duration in whole milliseconds, at least one.
#[cfg(feature = "redis")]
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
