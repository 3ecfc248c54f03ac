//! How a server serves: the options its builder sets.

use std::collections::HashMap;
use std::sync::Arc;

use mcp_core::lifecycle::CacheScope;

use crate::state::StateKey;
use crate::task::TaskLimits;

use super::ListKind;

/// How lists are served: page size and the 2026-07-28 caching hints.
#[derive(Debug, Clone)]
pub(crate) struct ServerOptions {
    pub(crate) page_size: usize,
    pub(crate) cache_ttl_ms: u64,
    pub(crate) cache_scope: CacheScope,
    /// Caching hints that differ from the server's, per list.
    pub(crate) list_hints: HashMap<ListKind, (u64, CacheScope)>,
    pub(crate) subscribe: bool,
    /// Signs 2026-07-28 `requestState`s: a configured secret's key, else
    /// one from `random` when the server is built.
    pub(crate) state_key: Option<StateKey>,
    /// Where keys and task ids come from.
    pub(crate) random: crate::random::Source,
    /// How many tasks are kept, and how long finished ones are.
    pub(crate) tasks: TaskLimits,
    /// Limits on tool calls and completions.
    pub(crate) rate_limit: Option<Arc<crate::limit::RateLimit>>,
    /// Where every request is recorded.
    pub(crate) audit: Option<Arc<dyn crate::audit::AuditSink>>,
    /// How many audit records may wait for the sink.
    pub(crate) audit_queue: usize,
    /// How long a tool call may run, unless the tool says otherwise.
    pub(crate) tool_timeout: Option<std::time::Duration>,
    /// How many requests one session (or stdio connection) may have in
    /// progress at once.
    pub(crate) max_in_flight: usize,
    /// The longest message a line-based transport (stdio) accepts.
    pub(crate) max_message_bytes: usize,
    /// State shared with other replicas; `None` keeps it in this process.
    pub(crate) stores: Option<crate::store::Stores>,
    /// What `/ready` checks besides the server's own state.
    pub(crate) readiness: Arc<super::readiness::Readiness>,
}

impl ServerOptions {
    /// The caching hints of `list`.
    pub(crate) fn hints(&self, list: ListKind) -> (u64, CacheScope) {
        self.list_hints
            .get(&list)
            .copied()
            .unwrap_or((self.cache_ttl_ms, self.cache_scope))
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            page_size: 100,
            cache_ttl_ms: 60_000,
            cache_scope: CacheScope::Public,
            list_hints: HashMap::new(),
            subscribe: true,
            state_key: None,
            random: crate::random::OS,
            tasks: TaskLimits::default(),
            rate_limit: None,
            audit: Some(Arc::new(crate::audit::TracingAudit)),
            audit_queue: 10_000,
            tool_timeout: None,
            max_in_flight: 64,
            max_message_bytes: 4 * 1024 * 1024,
            stores: None,
            readiness: Arc::default(),
        }
    }
}
