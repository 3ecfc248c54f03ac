//! Tasks, as every replica can read them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use mcp_core::client::InputRequest;
use mcp_core::jsonrpc::ErrorObject;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreFuture;

/// Who a task belongs to, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum TaskOwnerRecord {
    /// An authenticated identity.
    Principal {
        /// Its id.
        id: String,
        /// Its tenant.
        tenant: Option<String>,
        /// Its issuer.
        issuer: Option<String>,
    },
    /// An anonymous connection of one replica: only that replica finds it.
    Connection {
        /// The replica.
        replica: String,
        /// The connection's number there.
        serial: u64,
    },
    /// An anonymous stateless caller, by address.
    Address {
        /// Its address.
        ip: std::net::IpAddr,
    },
    /// Nobody identifiable: the task id alone guards the task.
    Unidentified,
}

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskState {
    /// Running.
    Working,
    /// Waiting for answers to its questions.
    InputRequired,
    /// Done, with this result.
    Completed {
        /// The result.
        result: Value,
    },
    /// Failed with this error.
    Failed {
        /// The error.
        error: ErrorObject,
    },
    /// Cancelled.
    Cancelled,
}

impl TaskState {
    /// Whether the task has ended.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Completed { .. } | Self::Failed { .. } | Self::Cancelled
        )
    }
}

/// One task, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task id.
    pub id: String,
    /// Who may see it.
    pub owner: TaskOwnerRecord,
    /// Where it stands.
    pub state: TaskState,
    /// Questions waiting for `tasks/update`.
    pub questions: BTreeMap<String, InputRequest>,
    /// The replica running its handler.
    pub replica: String,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When it last changed.
    pub updated_ms: u64,
    /// How long it stays readable once finished.
    pub retention_ms: u64,
}

/// Where tasks are kept, and which replicas are alive to run them.
pub trait TaskStore: Send + Sync + fmt::Debug + 'static {
    /// Stores (or replaces) a task; it lives for `ttl`.
    ///
    /// # Errors
    /// The store failed.
    fn put<'a>(&'a self, record: &'a TaskRecord, ttl: Duration) -> StoreFuture<'a, ()>;

    /// The task `id`, if it lives.
    ///
    /// # Errors
    /// The store failed or holds an unreadable record.
    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TaskRecord>>;

    /// Records that `replica` is alive for `lease`.
    ///
    /// # Errors
    /// The store failed.
    fn heartbeat<'a>(&'a self, replica: &'a str, lease: Duration) -> StoreFuture<'a, ()>;

    /// Whether `replica`'s last heartbeat is still within its lease.
    ///
    /// # Errors
    /// The store failed.
    fn alive<'a>(&'a self, replica: &'a str) -> StoreFuture<'a, bool>;
}
