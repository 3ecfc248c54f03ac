//! Messages between replicas.

use std::fmt;

use futures_util::stream::BoxStream;
use mcp_core::jsonrpc::RequestId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreFuture;

/// Which list changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ListChange {
    /// `tools/list`.
    Tools,
    /// `prompts/list`.
    Prompts,
    /// `resources/list`.
    Resources,
}

/// What one replica tells the others. Every replica hears every message
/// and acts on those about what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum BusMessage {
    /// `Server::resource_updated(uri)` on some replica.
    ResourceUpdated {
        /// The replica that raised it, which has told its own sessions.
        origin: String,
        /// The resource.
        uri: String,
    },
    /// A list changed on some replica.
    ListChanged {
        /// The replica that raised it.
        origin: String,
        /// Which list.
        list: ListChange,
    },
    /// A client's answer (a JSON-RPC response or error) to a request the
    /// server sent on session `session`, posted to a replica that is not
    /// the one waiting for it.
    Answer {
        /// The session the question was asked on.
        session: String,
        /// The JSON-RPC response or error, as the client sent it.
        message: Value,
    },
    /// `notifications/cancelled` for request `request` of session `session`.
    Cancel {
        /// The session.
        session: String,
        /// The request to cancel.
        request: RequestId,
    },
    /// A session changed on one replica; others holding it apply the change.
    SessionChanged {
        /// The session.
        session: String,
        /// What changed.
        change: super::SessionChange,
    },
    /// The session ended (DELETE): replicas holding it close its streams.
    SessionEnded {
        /// The session.
        session: String,
    },
    /// `tasks/update` answers for a task run by another replica.
    TaskAnswers {
        /// The task.
        task: String,
        /// The answers, by question key.
        answers: std::collections::BTreeMap<String, Value>,
    },
    /// `tasks/cancel` for a task run by another replica.
    TaskCancel {
        /// The task.
        task: String,
    },
    /// A message a client POSTed for a legacy HTTP+SSE (2024-11-05) stream
    /// that another replica holds.
    LegacyMessage {
        /// The stream's session id.
        session: String,
        /// The JSON-RPC message or batch, as the client sent it.
        message: String,
        /// The identity the POST authenticated: the message acts with it.
        principal: Option<crate::auth::Principal>,
    },
}

/// The messages a replica hears, from when it subscribed on. A stream
/// that ends means the bus closed; subscribe again.
pub type BusSubscription = BoxStream<'static, BusMessage>;

/// Publish/subscribe between replicas. Delivery is at most once: a
/// replica that is not subscribed when a message is published misses it.
pub trait Bus: Send + Sync + fmt::Debug + 'static {
    /// Sends `message` to every subscribed replica (this one included).
    ///
    /// # Errors
    /// The bus could not take it.
    fn publish<'a>(&'a self, message: &'a BusMessage) -> StoreFuture<'a, ()>;

    /// Starts hearing messages.
    ///
    /// # Errors
    /// The bus could not be reached.
    fn subscribe(&self) -> StoreFuture<'_, BusSubscription>;
}
