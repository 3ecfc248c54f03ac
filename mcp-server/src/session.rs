//! What a stateful connection negotiated in its `initialize` handshake.
//!
//! The 2026-07-28 revision carries this in every request's `_meta`; for the
//! older revisions the session stores it once and the router fills each
//! request's context from it, so handlers see the same thing on every revision.

use std::collections::HashSet;
use std::sync::{Mutex, RwLock};

use mcp_core::jsonrpc::{Message, Notification};
use mcp_core::notification;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mcp_core::ProtocolVersion;
use mcp_core::lifecycle::{ClientCapabilities, Implementation};
use mcp_core::logging::LoggingLevel;

use std::sync::Arc;

use crate::ask::PendingRequests;
use crate::auth::Principal;
use crate::events::ServerEvent;
use crate::store::{BusMessage, SessionChange, SessionRecord, StoreError};

/// What `initialize` settled.
#[derive(Debug, Clone)]
pub(crate) struct Negotiated {
    pub(crate) version: ProtocolVersion,
    pub(crate) client_info: Implementation,
    pub(crate) capabilities: ClientCapabilities,
}

/// One client's stateful session.
#[derive(Debug)]
pub(crate) struct Session {
    /// Unique in this process and never reused: it owns the tasks of an
    /// anonymous caller on this connection.
    serial: u64,
    negotiated: RwLock<Option<Negotiated>>,
    initialized: AtomicBool,
    log_level: RwLock<Option<LoggingLevel>>,
    /// URIs the client asked to hear about with `resources/subscribe`.
    subscriptions: Mutex<HashSet<String>>,
    /// Requests this server sent the client, awaiting answers.
    pub(crate) pending: PendingRequests,
    /// Who opened the session, when the transport authenticates.
    principal: std::sync::OnceLock<Arc<Principal>>,
    /// The client's address, for rate limits of anonymous callers.
    peer: std::sync::OnceLock<std::net::IpAddr>,
    /// Where the session is shared with other replicas, and its id there.
    link: std::sync::OnceLock<(Arc<crate::store::shared::Shared>, Arc<str>)>,
}

impl Session {
    pub(crate) fn new() -> Self {
        static SERIALS: AtomicU64 = AtomicU64::new(0);
        Self {
            serial: SERIALS.fetch_add(1, Ordering::Relaxed),
            negotiated: RwLock::default(),
            initialized: AtomicBool::default(),
            log_level: RwLock::default(),
            subscriptions: Mutex::default(),
            pending: PendingRequests::default(),
            principal: std::sync::OnceLock::new(),
            peer: std::sync::OnceLock::new(),
            link: std::sync::OnceLock::new(),
        }
    }

    /// A session opened on another replica, as its record stands.
    pub(crate) fn from_record(record: &SessionRecord) -> Self {
        let session = Self::new();
        session.negotiate(Negotiated {
            version: record.version,
            client_info: record.client_info.clone(),
            capabilities: record.capabilities.clone(),
        });
        if record.initialized {
            session.mark_initialized();
        }
        if let Some(level) = record.log_level {
            session.set_log_level(level);
        }
        for uri in &record.subscriptions {
            session.subscribe(uri);
        }
        if let Some(binding) = &record.principal {
            session.bind_principal(Arc::new(binding.principal()));
        }
        session
    }

    /// The record other replicas read, when the handshake is done.
    pub(crate) fn record(&self, id: &str) -> Option<SessionRecord> {
        let negotiated = self.negotiated()?;
        let now = crate::store::now_ms();
        Some(SessionRecord {
            id: id.to_owned(),
            version: negotiated.version,
            client_info: negotiated.client_info,
            capabilities: negotiated.capabilities,
            initialized: self.is_initialized(),
            log_level: self.log_level(),
            principal: self
                .principal
                .get()
                .map(|p| crate::store::PrincipalBinding::of(p)),
            subscriptions: self
                .subscriptions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .cloned()
                .collect(),
            created_ms: now,
            last_seen_ms: now,
        })
    }

    /// Shares the session through `shared` under `id`.
    pub(crate) fn link(&self, shared: Arc<crate::store::shared::Shared>, id: Arc<str>) {
        let _ = self.link.set((shared, id));
    }

    /// Applies a change made here or on another replica.
    pub(crate) fn apply(&self, change: &SessionChange) {
        match change {
            SessionChange::Initialized => self.mark_initialized(),
            SessionChange::LogLevel(level) => self.set_log_level(*level),
            SessionChange::Subscribe(uri) => self.subscribe(uri),
            SessionChange::Unsubscribe(uri) => self.unsubscribe(uri),
        }
    }

    /// Applies `change` here and, for a shared session, in the store and on
    /// the replicas holding it.
    ///
    /// # Errors
    /// The store could not be reached; the change holds only here.
    pub(crate) async fn change(&self, change: SessionChange) -> Result<(), StoreError> {
        self.apply(&change);
        let Some((shared, id)) = self.link.get() else {
            return Ok(());
        };
        let ttl = shared.stores.session_ttl;
        let written = shared.stores.sessions.update(id, &change, ttl).await;
        shared.observe(written)?;
        shared
            .publish(BusMessage::SessionChanged {
                session: id.to_string(),
                change,
            })
            .await;
        Ok(())
    }

    /// This session's number, unique in the process.
    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    pub(crate) fn negotiated(&self) -> Option<Negotiated> {
        self.negotiated
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn version(&self) -> Option<ProtocolVersion> {
        self.negotiated
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|n| n.version)
    }

    /// Records the handshake. Returns false if the session already had one.
    pub(crate) fn negotiate(&self, negotiated: Negotiated) -> bool {
        let mut guard = self
            .negotiated
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_some() {
            return false;
        }
        *guard = Some(negotiated);
        true
    }

    pub(crate) fn mark_initialized(&self) {
        self.initialized.store(true, Ordering::Release);
    }

    /// Whether the client confirmed the handshake with `notifications/initialized`.
    pub(crate) fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    pub(crate) fn log_level(&self) -> Option<LoggingLevel> {
        *self
            .log_level
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Binds the session to the principal that opened it.
    pub(crate) fn bind_principal(&self, principal: Arc<Principal>) {
        let _ = self.principal.set(principal);
    }

    pub(crate) fn set_peer(&self, peer: std::net::IpAddr) {
        let _ = self.peer.set(peer);
    }

    pub(crate) fn peer(&self) -> Option<std::net::IpAddr> {
        self.peer.get().copied()
    }

    /// Whether `principal` may use this session: the identity that opened
    /// it (id, tenant and issuer). Its scopes may differ: each request acts
    /// with its own credential's.
    pub(crate) fn belongs_to(&self, principal: Option<&Principal>) -> bool {
        crate::auth::same_owner(self.principal.get().map(Arc::as_ref), principal)
    }

    pub(crate) fn subscribe(&self, uri: &str) {
        self.subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(uri.to_owned());
    }

    pub(crate) fn unsubscribe(&self, uri: &str) {
        self.subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(uri);
    }

    pub(crate) fn is_subscribed(&self, uri: &str) -> bool {
        self.subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(uri)
    }

    /// What this session hears of a server event: list changes once it is
    /// initialized, resource updates for the URIs it subscribed to.
    pub(crate) fn notification_for(&self, event: &ServerEvent) -> Option<Message> {
        // Before the handshake completes a client expects nothing unasked.
        if !self.is_initialized() {
            return None;
        }
        let (method, params) = match event {
            ServerEvent::ToolsChanged => (notification::TOOLS_LIST_CHANGED, None),
            ServerEvent::PromptsChanged => (notification::PROMPTS_LIST_CHANGED, None),
            ServerEvent::ResourcesChanged => (notification::RESOURCES_LIST_CHANGED, None),
            ServerEvent::ResourceUpdated(uri) if self.is_subscribed(uri) => {
                let params =
                    serde_json::value::to_raw_value(&serde_json::json!({ "uri": &**uri })).ok()?;
                (notification::RESOURCES_UPDATED, Some(params))
            }
            ServerEvent::ResourceUpdated(_) => return None,
        };
        Some(Message::Notification(Notification {
            method: method.to_owned(),
            params,
        }))
    }

    /// Hands a client's response to the request of ours it answers;
    /// false when nothing here waited for it.
    pub(crate) fn answer(&self, message: Message) -> bool {
        let (id, answer) = match message {
            Message::Response(response) => {
                let value =
                    serde_json::from_str(response.result.get()).unwrap_or(serde_json::Value::Null);
                (Some(response.id), Ok(value))
            }
            Message::Error(error) => (error.id, Err(error.error)),
            _ => return false,
        };
        let Some(id) = id else {
            tracing::debug!("ignoring a client error without an id");
            return false;
        };
        self.pending.complete(&id, answer)
    }

    pub(crate) fn set_log_level(&self, level: LoggingLevel) {
        *self
            .log_level
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(level);
    }
}

/// -32011 with a retry hint: the session has `limit` requests in progress.
pub(crate) fn in_flight_error(limit: usize) -> mcp_core::jsonrpc::ErrorObject {
    mcp_core::jsonrpc::ErrorObject::new(
        mcp_core::jsonrpc::error_code::RATE_LIMITED,
        format!(
            "too many requests in progress on this session (limit {limit}); retry when some finish"
        ),
    )
    .with_data(serde_json::json!({ "retryAfterSeconds": 1 }))
}
