//! Sessions of the stateful revisions, as every replica can read them.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use mcp_core::ProtocolVersion;
use mcp_core::lifecycle::{ClientCapabilities, Implementation};
use mcp_core::logging::LoggingLevel;
use serde::{Deserialize, Serialize};

use super::StoreFuture;
use crate::auth::Principal;

/// The identity a session is bound to: who opened it, never their
/// credential. Scopes are left out on purpose: each request acts with its
/// own token's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalBinding {
    /// The principal's id (a token's subject, a key's name).
    pub subject: String,
    /// Its tenant, if the deployment has tenants.
    pub tenant: Option<String>,
    /// Who vouched for it.
    pub issuer: Option<String>,
}

impl PrincipalBinding {
    /// The binding of `principal`.
    pub fn of(principal: &Principal) -> Self {
        Self {
            subject: principal.id.clone(),
            tenant: principal.tenant.clone(),
            issuer: principal.issuer.clone(),
        }
    }

    /// Whether `principal` is the identity bound.
    pub fn matches(&self, principal: &Principal) -> bool {
        self.subject == principal.id
            && self.tenant == principal.tenant
            && self.issuer == principal.issuer
    }

    /// A principal with this identity and no scopes.
    pub(crate) fn principal(&self) -> Principal {
        Principal {
            id: self.subject.clone(),
            scopes: BTreeSet::new(),
            tenant: self.tenant.clone(),
            issuer: self.issuer.clone(),
        }
    }
}

/// One session, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The `Mcp-Session-Id`.
    pub id: String,
    /// The revision `initialize` settled.
    pub version: ProtocolVersion,
    /// Who the client says it is.
    pub client_info: Implementation,
    /// What the client can do.
    pub capabilities: ClientCapabilities,
    /// Whether the client sent `notifications/initialized`.
    pub initialized: bool,
    /// The level `logging/setLevel` chose.
    pub log_level: Option<LoggingLevel>,
    /// Who opened the session, when the transport authenticates.
    pub principal: Option<PrincipalBinding>,
    /// URIs from `resources/subscribe`.
    pub subscriptions: BTreeSet<String>,
    /// When the session was opened, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When it was last used, in milliseconds since the Unix epoch.
    pub last_seen_ms: u64,
}

impl SessionRecord {
    /// Whether `principal` may use the session: the same identity that
    /// opened it, or no identity on both sides.
    pub fn belongs_to(&self, principal: Option<&Principal>) -> bool {
        match (&self.principal, principal) {
            (None, None) => true,
            (Some(binding), Some(principal)) => binding.matches(principal),
            _ => false,
        }
    }

    /// Applies a change.
    pub fn apply(&mut self, change: &SessionChange) {
        match change {
            SessionChange::Initialized => self.initialized = true,
            SessionChange::LogLevel(level) => self.log_level = Some(*level),
            SessionChange::Subscribe(uri) => {
                self.subscriptions.insert(uri.clone());
            }
            SessionChange::Unsubscribe(uri) => {
                self.subscriptions.remove(uri);
            }
        }
    }
}

/// What changes in a session after `initialize`. Each is applied alone,
/// so two replicas changing one session at once lose neither change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SessionChange {
    /// `notifications/initialized` arrived.
    Initialized,
    /// `logging/setLevel`.
    LogLevel(LoggingLevel),
    /// `resources/subscribe`.
    Subscribe(String),
    /// `resources/unsubscribe`.
    Unsubscribe(String),
}

/// Where sessions are kept. Every method that finds the session starts
/// its `ttl` again; an expired or removed session is gone for good.
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// Stores a new session.
    ///
    /// # Errors
    /// The store failed.
    fn create<'a>(&'a self, record: &'a SessionRecord, ttl: Duration) -> StoreFuture<'a, ()>;

    /// The session `id`, if it lives; its life starts again.
    ///
    /// # Errors
    /// The store failed or holds an unreadable record.
    fn get<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, Option<SessionRecord>>;

    /// Marks the session used now; false when it no longer lives (it was
    /// ended on another replica, or expired).
    ///
    /// # Errors
    /// The store failed.
    fn touch<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, bool>;

    /// Applies `change` to the session, if it lives; returns whether it did.
    ///
    /// # Errors
    /// The store failed.
    fn update<'a>(
        &'a self,
        id: &'a str,
        change: &'a SessionChange,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Ends the session; false when it did not live.
    ///
    /// # Errors
    /// The store failed.
    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;

    /// Whether the store answers, for readiness probes.
    ///
    /// # Errors
    /// It does not.
    fn ping(&self) -> StoreFuture<'_, ()>;
}
