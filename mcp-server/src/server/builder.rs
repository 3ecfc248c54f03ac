//! [`ServerBuilder`]: a server's identity, definitions and options.

use std::sync::{Arc, RwLock};

use mcp_core::lifecycle::CacheScope;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::state::StateKey;
use crate::task::TaskStore;
use crate::tool::ToolDef;

use super::mount::{self, Composed};
use super::{
    ListKind, Server, ServerDefinition, ServerError, ServerInfo, ServerInner,
    options::ServerOptions, registry::Keyed, registry::Registry,
};

/// Builds a [`Server`].
///
/// ```
/// use mcp_server::prelude::*;
///
/// /// Add two integers.
/// #[mcp_tool]
/// async fn add(/** First addend. */ a: i64, /** Second addend. */ b: i64) -> i64 {
///     a + b
/// }
///
/// fn main() {
///     let server = Server::builder()
///         .name("calc")
///         .version("1.0.0")
///         .tool(add::tool())
///         .build();
///     assert_eq!(server.tool_names(), ["add"]);
/// }
/// ```
///
/// A free-function tool must be a module-level item: `#[mcp_tool]` puts a
/// module of the same name next to it, and a module inside a function body
/// cannot see that body's items.
#[derive(Debug, Default)]
pub struct ServerBuilder {
    pub(super) info: Option<ServerInfo>,
    pub(super) tools: Vec<ToolDef>,
    pub(super) prompts: Vec<PromptDef>,
    pub(super) resources: Vec<ResourceDef>,
    pub(super) templates: Vec<ResourceTemplateDef>,
    /// Servers to compose into this one, with their prefixes (empty for a
    /// proxy served under its own names).
    mounts: Vec<mount::Pending>,
    pub(super) options: ServerOptions,
}

/// Adds `def` to `defs`, replacing one with the same key.
fn upsert<D: Keyed>(defs: &mut Vec<D>, def: D) {
    match defs.iter().position(|d| d.key() == def.key()) {
        Some(i) => defs[i] = def,
        None => defs.push(def),
    }
}

/// `first` followed by `then`, later keys replacing earlier ones.
fn merged<D: Keyed>(first: Vec<D>, then: Vec<D>) -> Vec<D> {
    let mut defs = first;
    for def in then {
        upsert(&mut defs, def);
    }
    defs
}

impl ServerBuilder {
    pub(super) fn info_mut(&mut self) -> &mut ServerInfo {
        self.info.get_or_insert_with(|| {
            ServerInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        })
    }

    /// Takes identity, tools, prompts and resources from a `#[mcp_server]`
    /// type. Settings made after this call override its identity;
    /// definitions add to its own.
    #[must_use]
    pub fn definition<D: ServerDefinition>(mut self, definition: D) -> Self {
        let this = Arc::new(definition);
        self.info = Some(D::info());
        self.tools = merged(D::tools(&this), std::mem::take(&mut self.tools));
        self.prompts = merged(D::prompts(&this), std::mem::take(&mut self.prompts));
        self.resources = merged(D::resources(&this), std::mem::take(&mut self.resources));
        self.templates = merged(
            D::resource_templates(&this),
            std::mem::take(&mut self.templates),
        );
        self
    }

    /// The server's name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.info_mut().implementation.name = name.into();
        self
    }

    /// The server's version.
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.info_mut().implementation.version = version.into();
        self
    }

    /// A display title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info_mut().implementation.title = Some(title.into());
        self
    }

    /// Instructions for the model on how to use the server.
    #[must_use]
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.info_mut().instructions = Some(instructions.into());
        self
    }

    /// Adds a tool; a later tool with the same name replaces an earlier one.
    #[must_use]
    pub fn tool(mut self, tool: ToolDef) -> Self {
        upsert(&mut self.tools, tool);
        self
    }

    /// Adds a prompt; a later prompt with the same name replaces an earlier one.
    #[must_use]
    pub fn prompt(mut self, prompt: PromptDef) -> Self {
        upsert(&mut self.prompts, prompt);
        self
    }

    /// Adds a concrete resource.
    #[must_use]
    pub fn resource(mut self, resource: ResourceDef) -> Self {
        upsert(&mut self.resources, resource);
        self
    }

    /// Adds a resource template.
    #[must_use]
    pub fn resource_template(mut self, template: ResourceTemplateDef) -> Self {
        upsert(&mut self.templates, template);
        self
    }

    /// Mounts `server` under `prefix`: its tools and prompts are listed as
    /// `{prefix}_{name}`, its resources and templates as
    /// `{prefix}+{uri}` (`ui://` views as `ui://{prefix}/...`), and calls
    /// to them run its handlers with this server's request context
    /// (progress, logging, elicitation, cancellation). Its own settings
    /// (limits, audit, timeouts, page size) are not used: this server's
    /// apply. Tools, prompts and resources it adds or removes later, and
    /// the resources it reports updated, reach this server's clients.
    ///
    /// A name or URI defined twice keeps its first definition (this
    /// server's own, then mounts in order); [`try_build`](Self::try_build)
    /// reports it as [`MountError::Clash`](crate::MountError::Clash). See
    /// `docs/composition.md`.
    ///
    /// ```
    /// use mcp_server::prelude::*;
    ///
    /// let notes = Server::builder()
    ///     .resource(ResourceDef::new("notes://today", "today", None, |_call| async { "tea" }))
    ///     .build();
    /// let suite = Server::builder().mount("notes", notes).try_build().unwrap();
    /// assert_eq!(suite.resource_uris(), ["notes+notes://today"]);
    /// ```
    #[must_use]
    pub fn mount(mut self, prefix: impl Into<String>, server: impl Into<Server>) -> Self {
        self.mounts
            .push(mount::Pending::checked(prefix.into(), server.into()));
        self
    }

    /// Mounts `server` without a namespace (a proxy's definitions served
    /// as this server's own).
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(super) fn mount_unprefixed(mut self, server: Server) -> Self {
        self.mounts.push(mount::Pending::unprefixed(server));
        self
    }

    /// How many items one page of a list holds (default 100); longer lists
    /// are paged with opaque cursors.
    #[must_use]
    pub fn page_size(mut self, page_size: usize) -> Self {
        self.options.page_size = page_size.max(1);
        self
    }

    /// The caching hints 2026-07-28 clients get on `server/discover` and the
    /// lists (default one minute, public). Use `Private` when what the
    /// server lists depends on who asks.
    #[must_use]
    pub fn cache_hints(mut self, ttl: std::time::Duration, scope: CacheScope) -> Self {
        self.options.cache_ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.options.cache_scope = scope;
        self
    }

    /// Caching hints for one list, overriding [`ServerBuilder::cache_hints`]
    /// there: say a tool list that never changes can be kept for a day,
    /// while resources that differ per user are `Private`.
    #[must_use]
    pub fn list_cache_hints(
        mut self,
        list: ListKind,
        ttl: std::time::Duration,
        scope: CacheScope,
    ) -> Self {
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.options.list_hints.insert(list, (ttl, scope));
        self
    }

    /// Limits tool calls and completion requests per caller (the
    /// authenticated principal, else the client's IP address; one caller on
    /// stdio), and optionally per tool. Over the limit a request gets a
    /// -32011 error (HTTP 429 with `Retry-After`) before any handler runs.
    #[must_use]
    pub fn rate_limit(mut self, limit: crate::limit::RateLimit) -> Self {
        self.options.rate_limit = Some(Arc::new(limit));
        self
    }

    /// Where the audit log goes: one record per request (see
    /// [`audit`](crate::audit)). Default [`TracingAudit`](crate::audit::TracingAudit)
    /// (`tracing` events, target `mcp::audit`).
    #[must_use]
    pub fn audit(mut self, sink: impl crate::audit::AuditSink) -> Self {
        self.options.audit = Some(Arc::new(sink));
        self
    }

    /// How many audit records may wait for the sink (default 10,000).
    /// Requests never wait on the audit log: past this many, records are
    /// dropped and counted in `mcp_audit_records_dropped_total`.
    #[must_use]
    pub fn audit_queue(mut self, records: usize) -> Self {
        self.options.audit_queue = records.max(1);
        self
    }

    /// How long a tool call may run (default: no limit beyond the
    /// transport's request timeout). Tools with their own
    /// (`#[mcp_tool(timeout = "30s")]`) keep theirs. A call over the limit
    /// is stopped and answered with a tool error.
    #[must_use]
    pub fn tool_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.tool_timeout = Some(timeout);
        self
    }

    /// How many requests one session may run at once (default 64).
    ///
    /// On stdio (and each legacy SSE connection) further requests wait
    /// their turn in arrival order, and the connection stops reading while
    /// sixteen times the limit wait, so a pipelining client is slowed, not
    /// refused. On Streamable HTTP, where each request is its own POST, a
    /// request over the limit is refused with a -32011 error (HTTP 429)
    /// until some finish. A request stops counting before its answer is
    /// written. The HTTP transport's global limit covers all sessions
    /// together.
    #[must_use]
    pub fn max_in_flight_per_session(mut self, limit: usize) -> Self {
        self.options.max_in_flight = limit.max(1);
        self
    }

    /// The longest message accepted on stdio (default 4 MiB, as the HTTP
    /// transport's body limit); a longer line is answered with a parse
    /// error and skipped.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.options.max_message_bytes = bytes.max(1024);
        self
    }

    /// A dependency the HTTP transport's `/ready` probe checks, such as a
    /// database ping: while `check` fails or takes over two seconds,
    /// `/ready` answers 503 with `{"status":"not ready","failing":[name]}`
    /// (the error goes to the log, not to the prober), so a load balancer
    /// sends the replica no traffic until it recovers. An answer is reused
    /// for a second, however often the probe comes.
    ///
    /// ```
    /// use mcp_server::prelude::*;
    ///
    /// let server = Server::builder()
    ///     .readiness_check("database", || async { Ok::<(), String>(()) })
    ///     .build();
    /// # let _ = server;
    /// ```
    #[must_use]
    pub fn readiness_check<F, Fut>(mut self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Arc::make_mut(&mut self.options.readiness).add(name.into(), check);
        self
    }

    /// Turns the audit log off.
    #[must_use]
    pub fn no_audit(mut self) -> Self {
        self.options.audit = None;
        self
    }

    /// The secret 2026-07-28 `requestState`s are signed with. By default a
    /// random key per process; replicas behind one load balancer must share
    /// a secret (at least 32 random bytes), or a retry that lands on another
    /// replica is rejected.
    #[must_use]
    pub fn request_state_secret(mut self, secret: &[u8]) -> Self {
        self.options.state_key = Some(StateKey::from_secret(secret));
        self
    }

    /// How many 2026-07-28 tasks the server keeps for all callers together
    /// (default 10 000). When full, the task that finished longest ago
    /// is dropped to make room; with only unfinished tasks, a new one is
    /// refused with a -32011 error (HTTP 429).
    #[must_use]
    pub fn max_tasks(mut self, limit: usize) -> Self {
        self.options.tasks.total = limit.max(1);
        self
    }

    /// How many tasks one caller may keep (default 100): an authenticated
    /// principal within its tenant, else an anonymous connection (stdio)
    /// or, over stateless HTTP, a client address. At the limit its task
    /// that finished longest ago is dropped to make room; with only
    /// unfinished tasks, a new one is refused with a -32011 error (HTTP 429).
    #[must_use]
    pub fn max_tasks_per_caller(mut self, limit: usize) -> Self {
        self.options.tasks.per_caller = limit.max(1);
        self
    }

    /// How long a finished task stays readable through `tasks/get`
    /// (default one hour; its `ttlMs`). Unfinished tasks stay until they
    /// finish.
    #[must_use]
    pub fn task_retention(mut self, retention: std::time::Duration) -> Self {
        self.options.tasks.retention = retention;
        self
    }

    /// Shares sessions, tasks and notifications with the other replicas
    /// that use the same [`Stores`](crate::store::Stores) (Redis, with the
    /// `redis` feature: [`Stores::redis`](crate::store::Stores)). Without
    /// it all state stays in this process.
    pub fn stores(mut self, stores: crate::store::Stores) -> Self {
        self.options.stores = Some(stores);
        self
    }

    /// Replaces the random source, to exercise what a failing one does.
    #[cfg(test)]
    pub(crate) fn random_source(mut self, source: crate::random::Source) -> Self {
        self.options.random = source;
        self
    }

    /// Builds the server.
    ///
    /// Without a configured [`request_state_secret`](Self::request_state_secret)
    /// this draws the request-state key from the operating system's random
    /// source. Should that fail, the server is built without a key: the
    /// transports refuse to start ([`ServerError::Randomness`]) and a
    /// server embedded through `McpService` answers requests that need the
    /// key with an internal error. No predictable key is ever used. Use
    /// [`try_build`](Self::try_build) to learn of the failure here.
    pub fn build(self) -> Server {
        let server = self.assemble();
        for error in &server.inner.mount_errors {
            tracing::error!(%error, "composing servers");
        }
        if let Err(e) = &server.inner.state_key {
            tracing::error!(error = %e, "no randomness for the request-state key; the server will not serve");
        }
        server
    }

    /// [`build`](Self::build), failing when the request-state key cannot be
    /// made.
    ///
    /// # Errors
    /// [`ServerError::Randomness`]: the operating system's random source
    /// failed. [`ServerError::Mount`]: a mount's prefix is invalid, or two
    /// sources define the same name or URI.
    pub fn try_build(self) -> Result<Server, ServerError> {
        let server = self.assemble();
        if let Some(error) = server.inner.mount_errors.first() {
            return Err(ServerError::Mount(error.clone()));
        }
        server.check_ready()?;
        Ok(server)
    }

    fn assemble(mut self) -> Server {
        let info = self.info_mut().clone();
        let (events, _) = broadcast::channel(64);
        let state_key = match self.options.state_key.clone() {
            Some(key) => Ok(key),
            None => StateKey::generate(self.options.random),
        };
        let tasks = Arc::new(TaskStore::new(self.options.tasks, self.options.random));
        let shared = self.options.stores.clone().map(|stores| {
            // A replica id needs no secrecy; a clock-based one will do
            // where the random source failed.
            let replica = crate::random::id(self.options.random)
                .unwrap_or_else(|_| format!("r{}", crate::store::now_ms()));
            Arc::new(crate::store::shared::Shared::new(stores, replica))
        });
        let audit = self
            .options
            .audit
            .clone()
            .map(|sink| crate::audit::AuditLog::new(sink, self.options.audit_queue));
        let composed = mount::compose(
            Composed {
                tools: self.tools,
                prompts: self.prompts,
                resources: self.resources,
                templates: self.templates,
            },
            std::mem::take(&mut self.mounts),
        );
        let server = Server {
            inner: Arc::new(ServerInner {
                result_tail: mcp_core::codec::ResultTail::new(
                    mcp_core::ProtocolVersion::LATEST,
                    Some(&info.implementation),
                )
                .ok(),
                info,
                tools: RwLock::new(Arc::new(Registry::new(composed.defs.tools))),
                prompts: RwLock::new(Arc::new(Registry::new(composed.defs.prompts))),
                resources: RwLock::new(Arc::new(Registry::new(composed.defs.resources))),
                templates: RwLock::new(Arc::new(Registry::new(composed.defs.templates))),
                mounts: composed.mounts,
                mount_errors: composed.errors,
                options: self.options,
                state_key,
                tasks,
                metrics: crate::metrics::Metrics::new(),
                audit,
                events,
                shared,
                shutdown: CancellationToken::new(),
            }),
        };
        mount::follow(&server);
        server
    }
}
