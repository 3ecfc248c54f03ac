//! What a stateful connection negotiated in its `initialize` handshake.
//!
//! The 2026-07-28 revision carries this in every request's `_meta`; for the
//! older revisions the session stores it once and the router fills each
//! request's context from it, so handlers see the same thing on every revision.

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use mcp_core::ProtocolVersion;
use mcp_core::lifecycle::{ClientCapabilities, Implementation};
use mcp_core::logging::LoggingLevel;

/// What `initialize` settled.
#[derive(Debug, Clone)]
pub(crate) struct Negotiated {
    pub(crate) version: ProtocolVersion,
    pub(crate) client_info: Implementation,
    pub(crate) capabilities: ClientCapabilities,
}

/// One client's stateful session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    negotiated: RwLock<Option<Negotiated>>,
    initialized: AtomicBool,
    log_level: RwLock<Option<LoggingLevel>>,
}

impl Session {
    pub(crate) fn new() -> Self {
        Self::default()
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

    pub(crate) fn set_log_level(&self, level: LoggingLevel) {
        *self
            .log_level
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(level);
    }
}
