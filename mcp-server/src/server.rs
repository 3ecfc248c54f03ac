//! `Server` and its builder.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock, RwLock};

use mcp_core::ProtocolVersion;
use mcp_core::lifecycle::{CacheScope, Implementation};
use serde_json::value::RawValue;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::ServerError;
use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::state::StateKey;
use crate::task::{TaskLimits, TaskStore};
use crate::tool::ToolDef;

/// Who a server is and how to use it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    /// Name, version and the optional title, description, website and icons.
    pub implementation: Implementation,
    /// How to use this server, for the model.
    pub instructions: Option<String>,
}

impl ServerInfo {
    /// Info with a name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            implementation: Implementation {
                name: name.into(),
                version: version.into(),
                ..Implementation::default()
            },
            instructions: None,
        }
    }
}

/// A type whose methods are MCP tools. `#[mcp_server]` implements it.
pub trait ServerDefinition: Send + Sync + Sized + 'static {
    /// Who the server is. Defaults come from the defining crate's `Cargo.toml`.
    fn info() -> ServerInfo;

    /// The tools, in declaration order, each holding a handle to `this`.
    fn tools(this: &Arc<Self>) -> Vec<ToolDef>;

    /// The prompts, in declaration order.
    fn prompts(this: &Arc<Self>) -> Vec<PromptDef> {
        let _ = this;
        Vec::new()
    }

    /// The concrete resources, in declaration order.
    fn resources(this: &Arc<Self>) -> Vec<ResourceDef> {
        let _ = this;
        Vec::new()
    }

    /// The resource templates, in declaration order.
    fn resource_templates(this: &Arc<Self>) -> Vec<ResourceTemplateDef> {
        let _ = this;
        Vec::new()
    }

    /// A [`Server`] serving this definition.
    fn into_server(self) -> Server {
        Server::builder().definition(self).build()
    }

    /// Serves this definition on `transport` until it is done:
    /// `Calc.serve(Stdio).await`. See [`Server::serve`].
    ///
    /// # Errors
    /// See [`Transport::serve`](crate::transport::Transport::serve).
    fn serve<T: crate::transport::Transport>(
        self,
        transport: T,
    ) -> impl Future<Output = Result<(), ServerError>> + Send {
        self.into_server().serve(transport)
    }
}

/// Something that changed on the server, broadcast to every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerEvent {
    ToolsChanged,
    PromptsChanged,
    ResourcesChanged,
    ResourceUpdated(Arc<str>),
}

/// An environment variable [`ServerBuilder::env_settings`] cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name} `{value}`: {reason}")]
pub struct SettingsError {
    /// The variable.
    pub name: &'static str,
    /// Its value (redacted for secrets).
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// `500ms`, `30s`, `2m`, `1h`, or plain seconds; never zero.
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    parse_duration_or_zero(text).filter(|d| !d.is_zero())
}

/// [`parse_duration`], where zero (`0`, `0s`) is allowed.
pub(crate) fn parse_duration_or_zero(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let duration = match unit.trim() {
        "ms" => std::time::Duration::from_millis(number),
        "" | "s" => std::time::Duration::from_secs(number),
        "m" | "min" => std::time::Duration::from_secs(number.checked_mul(60)?),
        "h" => std::time::Duration::from_secs(number.checked_mul(3600)?),
        _ => return None,
    };
    Some(duration)
}

#[cfg(feature = "redis")]
fn redis_limit(
    limit: crate::limit::RateLimit,
    url: &str,
    prefix: &str,
) -> Result<crate::limit::RateLimit, String> {
    limit
        .redis_with_prefix(url, prefix)
        .map_err(|e| e.to_string())
}

/// `local` (the default) or `refuse`: what the limiter does while Redis
/// cannot be reached.
#[cfg(feature = "redis")]
fn when_unreachable(
    limit: crate::limit::RateLimit,
    policy: &str,
) -> Result<crate::limit::RateLimit, String> {
    use crate::limit::WhenUnreachable;
    match policy.trim() {
        "local" => Ok(limit.when_unreachable(WhenUnreachable::LimitLocally)),
        "refuse" => Ok(limit.when_unreachable(WhenUnreachable::Refuse)),
        _ => Err("expected `local` or `refuse`".into()),
    }
}

#[cfg(not(feature = "redis"))]
fn when_unreachable(
    _limit: crate::limit::RateLimit,
    _policy: &str,
) -> Result<crate::limit::RateLimit, String> {
    Err("this server was built without mcp-server's `redis` feature".into())
}

#[cfg(not(feature = "redis"))]
fn redis_limit(
    _limit: crate::limit::RateLimit,
    _url: &str,
    _prefix: &str,
) -> Result<crate::limit::RateLimit, String> {
    Err("this server was built without mcp-server's `redis` feature".into())
}

/// The lists a server serves, for per-list settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListKind {
    /// `tools/list`.
    Tools,
    /// `prompts/list`.
    Prompts,
    /// `resources/list`.
    Resources,
    /// `resources/templates/list`.
    ResourceTemplates,
}

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
        }
    }
}

/// An MCP server: its identity and its tools. Serve it over any transport.
///
/// Cheap to clone; clones share their tools.
///
/// ```no_run
/// use mcp_server::prelude::*;
///
/// struct Calc;
///
/// #[mcp_server]
/// impl Calc {
///     /// Add two integers.
///     #[mcp_tool]
///     async fn add(&self, /** First addend. */ a: i64, /** Second addend. */ b: i64) -> i64 {
///         a + b
///     }
/// }
///
/// # async fn run() -> Result<(), mcp_server::ServerError> {
/// Server::new(Calc).serve(Stdio).await
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<ServerInner>,
}

pub(crate) struct ServerInner {
    pub(crate) info: ServerInfo,
    tools: RwLock<Arc<Registry<ToolDef>>>,
    prompts: RwLock<Arc<Registry<PromptDef>>>,
    resources: RwLock<Arc<Registry<ResourceDef>>>,
    templates: RwLock<Arc<Registry<ResourceTemplateDef>>>,
    options: ServerOptions,
    /// The key of `options`, or the random source's failure to make one.
    state_key: Result<StateKey, getrandom::Error>,
    tasks: TaskStore,
    metrics: crate::metrics::Metrics,
    audit: Option<crate::audit::AuditLog>,
    events: broadcast::Sender<ServerEvent>,
    /// Cancelled when a transport shuts down gracefully, so long-lived
    /// streams (`subscriptions/listen`, SSE) can end cleanly.
    shutdown: CancellationToken,
}

/// A definition kept in a [`Registry`], under its name or URI.
pub(crate) trait Keyed: Clone {
    fn key(&self) -> &Arc<str>;
}

impl Keyed for ToolDef {
    fn key(&self) -> &Arc<str> {
        self.shared_name()
    }
}

impl Keyed for PromptDef {
    fn key(&self) -> &Arc<str> {
        self.shared_name()
    }
}

impl Keyed for ResourceDef {
    fn key(&self) -> &Arc<str> {
        self.shared_uri()
    }
}

impl Keyed for ResourceTemplateDef {
    fn key(&self) -> &Arc<str> {
        self.shared_key()
    }
}

/// An immutable snapshot of one kind of definition, swapped whole on change
/// so readers never hold a lock across an await.
pub(crate) struct Registry<D> {
    defs: Vec<D>,
    index: HashMap<Arc<str>, usize>,
    /// The first page of the list result, encoded once per revision.
    list_cache: [OnceLock<Box<RawValue>>; ProtocolVersion::ALL.len()],
}

impl<D: Keyed> Registry<D> {
    pub(crate) fn new(defs: Vec<D>) -> Self {
        let index = defs
            .iter()
            .enumerate()
            .map(|(i, def)| (Arc::clone(def.key()), i))
            .collect();
        Self {
            defs,
            index,
            list_cache: Default::default(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&D> {
        self.index.get(key).map(|&i| &self.defs[i])
    }

    pub(crate) fn defs(&self) -> &[D] {
        &self.defs
    }

    pub(crate) fn list_cache(&self, version: ProtocolVersion) -> &OnceLock<Box<RawValue>> {
        let i = ProtocolVersion::ALL
            .iter()
            .position(|v| *v == version)
            .unwrap_or(0);
        &self.list_cache[i]
    }

    /// A copy with `def` added, or replacing the one with its key.
    fn with(&self, def: D) -> Self {
        let mut defs = self.defs.clone();
        match defs.iter().position(|d| d.key() == def.key()) {
            Some(i) => defs[i] = def,
            None => defs.push(def),
        }
        Self::new(defs)
    }

    /// A copy without the definition under `key`, if there was one.
    fn without(&self, key: &str) -> Option<Self> {
        let i = *self.index.get(key)?;
        let mut defs = self.defs.clone();
        defs.remove(i);
        Some(Self::new(defs))
    }
}

impl Server {
    /// A server for a `#[mcp_server]` type.
    pub fn new<D: ServerDefinition>(definition: D) -> Self {
        definition.into_server()
    }

    /// A builder, for servers assembled from free-function tools or with
    /// their identity set by hand.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Who the server is.
    pub fn info(&self) -> &ServerInfo {
        &self.inner.info
    }

    /// Adds a tool, or replaces the one with the same name, and tells
    /// connected clients that the tool list changed.
    pub fn add_tool(&self, tool: ToolDef) {
        Self::update(&self.inner.tools, |r| Some(r.with(tool)));
        self.notify(ServerEvent::ToolsChanged);
    }

    /// Removes a tool by name and tells connected clients that the tool list
    /// changed. Returns whether there was such a tool.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = Self::update(&self.inner.tools, |r| r.without(name));
        if removed {
            self.notify(ServerEvent::ToolsChanged);
        }
        removed
    }

    /// Adds a prompt, or replaces the one with the same name, and tells
    /// connected clients that the prompt list changed.
    pub fn add_prompt(&self, prompt: PromptDef) {
        Self::update(&self.inner.prompts, |r| Some(r.with(prompt)));
        self.notify(ServerEvent::PromptsChanged);
    }

    /// Removes a prompt by name; returns whether there was one.
    pub fn remove_prompt(&self, name: &str) -> bool {
        let removed = Self::update(&self.inner.prompts, |r| r.without(name));
        if removed {
            self.notify(ServerEvent::PromptsChanged);
        }
        removed
    }

    /// Adds a resource, or replaces the one with the same URI, and tells
    /// connected clients that the resource list changed.
    pub fn add_resource(&self, resource: ResourceDef) {
        Self::update(&self.inner.resources, |r| Some(r.with(resource)));
        self.notify(ServerEvent::ResourcesChanged);
    }

    /// Removes a resource by URI; returns whether there was one.
    pub fn remove_resource(&self, uri: &str) -> bool {
        let removed = Self::update(&self.inner.resources, |r| r.without(uri));
        if removed {
            self.notify(ServerEvent::ResourcesChanged);
        }
        removed
    }

    /// Adds a resource template, or replaces the one with the same template.
    pub fn add_resource_template(&self, template: ResourceTemplateDef) {
        Self::update(&self.inner.templates, |r| Some(r.with(template)));
        self.notify(ServerEvent::ResourcesChanged);
    }

    /// Tells clients subscribed to `uri` that the resource changed:
    /// `notifications/resources/updated` to 2025 sessions that called
    /// `resources/subscribe`, and on 2026-07-28 `subscriptions/listen`
    /// streams that asked for it.
    pub fn resource_updated(&self, uri: &str) {
        self.notify(ServerEvent::ResourceUpdated(Arc::from(uri)));
    }

    /// The names of the tools, in the order `tools/list` shows them.
    pub fn tool_names(&self) -> Vec<String> {
        self.tools()
            .defs()
            .iter()
            .map(|d| d.name().to_owned())
            .collect()
    }

    fn notify(&self, event: ServerEvent) {
        // No receivers just means no connection is open.
        let _ = self.inner.events.send(event);
    }

    /// Swaps in `change(current)` unless it is `None`; returns whether it did.
    fn update<D: Keyed>(
        slot: &RwLock<Arc<Registry<D>>>,
        change: impl FnOnce(&Registry<D>) -> Option<Registry<D>>,
    ) -> bool {
        let mut guard = slot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match change(&guard) {
            Some(next) => {
                *guard = Arc::new(next);
                true
            }
            None => false,
        }
    }

    fn snapshot<D>(slot: &RwLock<Arc<Registry<D>>>) -> Arc<Registry<D>> {
        Arc::clone(
            &slot
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub(crate) fn tools(&self) -> Arc<Registry<ToolDef>> {
        Self::snapshot(&self.inner.tools)
    }

    pub(crate) fn prompts(&self) -> Arc<Registry<PromptDef>> {
        Self::snapshot(&self.inner.prompts)
    }

    pub(crate) fn resources(&self) -> Arc<Registry<ResourceDef>> {
        Self::snapshot(&self.inner.resources)
    }

    pub(crate) fn resource_templates(&self) -> Arc<Registry<ResourceTemplateDef>> {
        Self::snapshot(&self.inner.templates)
    }

    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn tasks(&self) -> &TaskStore {
        &self.inner.tasks
    }

    /// The key request states are signed with.
    ///
    /// # Errors
    /// The random source failed when the server was built: there is no
    /// key, and no state is signed or accepted.
    pub(crate) fn state_key(&self) -> Result<&StateKey, mcp_core::ProtocolError> {
        self.inner.state_key.as_ref().map_err(|e| {
            mcp_core::ProtocolError::Internal(format!(
                "request states cannot be signed: the operating system's random source failed ({e})"
            ))
        })
    }

    /// Whether the server can serve: the transports check this before
    /// accepting anything.
    ///
    /// # Errors
    /// [`ServerError::Randomness`]: the request-state key could not be made.
    pub(crate) fn check_ready(&self) -> Result<(), ServerError> {
        match self.inner.state_key {
            Ok(_) => Ok(()),
            Err(e) => Err(ServerError::Randomness(Box::new(e))),
        }
    }

    pub(crate) fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ServerEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn shutdown_signal(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    pub(crate) fn audit_log(&self) -> Option<&crate::audit::AuditLog> {
        self.inner.audit.as_ref()
    }

    /// Waits until every audit record of the requests answered so far is
    /// written by the sink (or given up on after its retries).
    ///
    /// The transports' graceful shutdowns do this before they return; an
    /// application that serves through [`McpService`](crate::transport::http::McpService)
    /// in its own server calls it after that server has stopped, before
    /// the process exits.
    pub async fn flush_audit(&self) {
        if let Some(log) = self.audit_log() {
            log.flush().await;
        }
    }
}

impl<D: ServerDefinition> From<D> for Server {
    fn from(definition: D) -> Self {
        definition.into_server()
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("info", &self.inner.info)
            .field("tools", &self.tool_names())
            .finish()
    }
}

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
    info: Option<ServerInfo>,
    tools: Vec<ToolDef>,
    prompts: Vec<PromptDef>,
    resources: Vec<ResourceDef>,
    templates: Vec<ResourceTemplateDef>,
    options: ServerOptions,
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
    fn info_mut(&mut self) -> &mut ServerInfo {
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

    /// Replaces the random source, to exercise what a failing one does.
    #[cfg(test)]
    pub(crate) fn random_source(mut self, source: crate::random::Source) -> Self {
        self.options.random = source;
        self
    }

    /// Applies the settings every server shares through its environment,
    /// so each deployment is configured the same way:
    ///
    /// - `MCP_RATE_LIMIT`: each caller's quota, such as `120/min`;
    ///   `MCP_RATE_LIMIT_BURST` its burst; `MCP_TOOL_RATE_LIMITS` quotas per
    ///   tool, such as `send_email=5/min,search=60/min`;
    /// - `REDIS_URL`: keep those limits in Redis, shared by every replica
    ///   (feature `redis`), under the key prefix `MCP_RATE_LIMIT_PREFIX`
    ///   (default `mcp:rl:<server name>`); `MCP_RATE_LIMIT_WHEN_UNREACHABLE`:
    ///   `local` (the default: each replica limits on its own while Redis
    ///   is down) or `refuse`;
    /// - `MCP_TOOL_TIMEOUT`: the default time limit of a tool call, such as
    ///   `30s`; `MCP_MAX_IN_FLIGHT`: requests in progress per session;
    ///   `MCP_MAX_MESSAGE_BYTES`: the longest stdio message;
    /// - `MCP_REQUEST_STATE_SECRET`: the secret replicas share to sign
    ///   2026-07-28 request states (at least 32 bytes);
    /// - `MCP_MAX_TASKS`, `MCP_MAX_TASKS_PER_CALLER`: how many 2026-07-28
    ///   tasks are kept in all and per caller; `MCP_TASK_RETENTION`: how
    ///   long a finished one stays readable, such as `1h`;
    /// - `MCP_AUDIT`: `off` turns the audit log off; `MCP_AUDIT_FILE`:
    ///   append it to this file as JSON lines instead of `tracing` events;
    ///   `MCP_AUDIT_QUEUE`: how many records may wait for the sink.
    ///
    /// Unset variables leave the builder as it is.
    ///
    /// # Errors
    /// A variable holds a value that cannot be used.
    pub fn env_settings(self) -> Result<Self, SettingsError> {
        self.settings_from(|name| std::env::var(name).ok())
    }

    /// [`ServerBuilder::env_settings`] from any lookup.
    ///
    /// # Errors
    /// A variable holds a value that cannot be used.
    pub fn settings_from(
        mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let invalid = |name: &'static str, value: String, reason: String| SettingsError {
            name,
            value,
            reason,
        };
        if let Some(quota) = var("MCP_RATE_LIMIT") {
            let mut parsed: crate::limit::Quota =
                quota.parse().map_err(|e: crate::limit::QuotaError| {
                    invalid("MCP_RATE_LIMIT", quota.clone(), e.to_string())
                })?;
            if let Some(burst) = var("MCP_RATE_LIMIT_BURST") {
                let n: u32 = burst.trim().parse().map_err(|_| {
                    invalid(
                        "MCP_RATE_LIMIT_BURST",
                        burst.clone(),
                        "expected a positive number".into(),
                    )
                })?;
                parsed = parsed.burst(n);
            }
            let mut limit = crate::limit::RateLimit::per_caller(parsed);
            if let Some(tools) = var("MCP_TOOL_RATE_LIMITS") {
                for entry in tools.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                    let bad =
                        |reason: String| invalid("MCP_TOOL_RATE_LIMITS", tools.clone(), reason);
                    let (tool, quota) = entry
                        .split_once('=')
                        .ok_or_else(|| bad(format!("`{entry}` is not tool=<count>/<period>")))?;
                    let quota = quota
                        .parse()
                        .map_err(|e: crate::limit::QuotaError| bad(e.to_string()))?;
                    limit = limit.tool(tool.trim(), quota);
                }
            }
            if let Some(url) = var("REDIS_URL") {
                // Servers sharing one Redis keep separate limits by default.
                let prefix = var("MCP_RATE_LIMIT_PREFIX")
                    .unwrap_or_else(|| format!("mcp:rl:{}", self.info_mut().implementation.name));
                limit = redis_limit(limit, &url, prefix.trim())
                    .map_err(|reason| invalid("REDIS_URL", "(redacted)".into(), reason))?;
                if let Some(policy) = var("MCP_RATE_LIMIT_WHEN_UNREACHABLE") {
                    limit = when_unreachable(limit, &policy).map_err(|reason| {
                        invalid("MCP_RATE_LIMIT_WHEN_UNREACHABLE", policy.clone(), reason)
                    })?;
                }
            }
            self = self.rate_limit(limit);
        } else if var("MCP_TOOL_RATE_LIMITS").is_some() {
            return Err(invalid(
                "MCP_TOOL_RATE_LIMITS",
                String::new(),
                "per-tool limits need MCP_RATE_LIMIT, the callers' quota".into(),
            ));
        }
        if let Some(timeout) = var("MCP_TOOL_TIMEOUT") {
            let parsed = parse_duration(&timeout).ok_or_else(|| {
                invalid(
                    "MCP_TOOL_TIMEOUT",
                    timeout.clone(),
                    "expected a duration such as 30s, 500ms or 2m".into(),
                )
            })?;
            self = self.tool_timeout(parsed);
        }
        if let Some(limit) = var("MCP_MAX_IN_FLIGHT") {
            let parsed: usize = limit
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    invalid(
                        "MCP_MAX_IN_FLIGHT",
                        limit.clone(),
                        "expected a positive number".into(),
                    )
                })?;
            self = self.max_in_flight_per_session(parsed);
        }
        if let Some(bytes) = var("MCP_MAX_MESSAGE_BYTES") {
            let parsed: usize = bytes
                .trim()
                .parse()
                .ok()
                .filter(|n| *n >= 1024)
                .ok_or_else(|| {
                    invalid(
                        "MCP_MAX_MESSAGE_BYTES",
                        bytes.clone(),
                        "expected a number of bytes, at least 1024".into(),
                    )
                })?;
            self = self.max_message_bytes(parsed);
        }
        if let Some(secret) = var("MCP_REQUEST_STATE_SECRET") {
            if secret.len() < 32 {
                return Err(invalid(
                    "MCP_REQUEST_STATE_SECRET",
                    "(redacted)".into(),
                    "must be at least 32 bytes".into(),
                ));
            }
            self = self.request_state_secret(secret.as_bytes());
        }
        let count = |name: &'static str| -> Result<Option<usize>, SettingsError> {
            let Some(value) = var(name) else {
                return Ok(None);
            };
            match value.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(invalid(name, value, "expected a positive number".into())),
            }
        };
        if let Some(limit) = count("MCP_MAX_TASKS")? {
            self = self.max_tasks(limit);
        }
        if let Some(limit) = count("MCP_MAX_TASKS_PER_CALLER")? {
            self = self.max_tasks_per_caller(limit);
        }
        if let Some(switch) = var("MCP_AUDIT") {
            match switch.trim() {
                "off" | "false" => self = self.no_audit(),
                "on" | "true" => {}
                _ => return Err(invalid("MCP_AUDIT", switch, "expected on or off".into())),
            }
        }
        if let Some(path) = var("MCP_AUDIT_FILE") {
            let sink = crate::audit::FileAudit::open(path.trim())
                .map_err(|e| invalid("MCP_AUDIT_FILE", path.clone(), e.to_string()))?;
            self = self.audit(sink);
        }
        if let Some(records) = count("MCP_AUDIT_QUEUE")? {
            self = self.audit_queue(records);
        }
        if let Some(retention) = var("MCP_TASK_RETENTION") {
            let parsed = parse_duration(&retention).ok_or_else(|| {
                invalid(
                    "MCP_TASK_RETENTION",
                    retention.clone(),
                    "expected a duration such as 1h, 30m or 90s".into(),
                )
            })?;
            self = self.task_retention(parsed);
        }
        Ok(self)
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
    /// failed.
    pub fn try_build(self) -> Result<Server, ServerError> {
        let server = self.assemble();
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
        let tasks = TaskStore::new(self.options.tasks, self.options.random);
        let audit = self
            .options
            .audit
            .clone()
            .map(|sink| crate::audit::AuditLog::new(sink, self.options.audit_queue));
        Server {
            inner: Arc::new(ServerInner {
                info,
                tools: RwLock::new(Arc::new(Registry::new(self.tools))),
                prompts: RwLock::new(Arc::new(Registry::new(self.prompts))),
                resources: RwLock::new(Arc::new(Registry::new(self.resources))),
                templates: RwLock::new(Arc::new(Registry::new(self.templates))),
                options: self.options,
                state_key,
                tasks,
                metrics: crate::metrics::Metrics::new(),
                audit,
                events,
                shutdown: CancellationToken::new(),
            }),
        }
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<ServerBuilder, SettingsError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Server::builder()
            .settings_from(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn environment_settings_are_checked() {
        let builder = settings(&[
            ("MCP_RATE_LIMIT", "120/min"),
            ("MCP_RATE_LIMIT_BURST", "10"),
            ("MCP_TOOL_RATE_LIMITS", "send=5/min, search=1/s"),
        ])
        .unwrap();
        let limit = format!("{:?}", builder.options.rate_limit);
        assert!(
            limit.contains("send") && limit.contains("memory"),
            "{limit}"
        );
        assert!(settings(&[]).unwrap().options.rate_limit.is_none());
        let error = |vars: &[(&str, &str)]| settings(vars).err().map(|e| e.name);
        assert_eq!(error(&[("MCP_RATE_LIMIT", "lots")]), Some("MCP_RATE_LIMIT"));
        assert_eq!(
            error(&[("MCP_RATE_LIMIT", "1/s"), ("MCP_RATE_LIMIT_BURST", "x")]),
            Some("MCP_RATE_LIMIT_BURST")
        );
        assert_eq!(
            error(&[("MCP_TOOL_RATE_LIMITS", "send=5/min")]),
            Some("MCP_TOOL_RATE_LIMITS")
        );
        assert_eq!(
            error(&[("MCP_RATE_LIMIT", "1/s"), ("MCP_TOOL_RATE_LIMITS", "send")]),
            Some("MCP_TOOL_RATE_LIMITS")
        );
        let builder = settings(&[
            ("MCP_TOOL_TIMEOUT", "1500ms"),
            ("MCP_MAX_IN_FLIGHT", "8"),
            ("MCP_MAX_MESSAGE_BYTES", "65536"),
        ])
        .unwrap();
        assert_eq!(
            builder.options.tool_timeout,
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(builder.options.max_in_flight, 8);
        assert_eq!(builder.options.max_message_bytes, 65536);
        assert_eq!(
            parse_duration("2m"),
            Some(std::time::Duration::from_secs(120))
        );
        assert_eq!(
            parse_duration("45"),
            Some(std::time::Duration::from_secs(45))
        );
        for bad in ["", "0s", "soon", "5 weeks", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(
            error(&[("MCP_TOOL_TIMEOUT", "soon")]),
            Some("MCP_TOOL_TIMEOUT")
        );
        assert_eq!(
            error(&[("MCP_MAX_IN_FLIGHT", "0")]),
            Some("MCP_MAX_IN_FLIGHT")
        );
        assert_eq!(
            error(&[("MCP_MAX_MESSAGE_BYTES", "10")]),
            Some("MCP_MAX_MESSAGE_BYTES")
        );
        let builder = settings(&[
            ("MCP_MAX_TASKS", "500"),
            ("MCP_MAX_TASKS_PER_CALLER", "5"),
            ("MCP_TASK_RETENTION", "10m"),
        ])
        .unwrap();
        assert_eq!(
            builder.options.tasks,
            TaskLimits {
                total: 500,
                per_caller: 5,
                retention: std::time::Duration::from_secs(600),
            }
        );
        assert_eq!(settings(&[]).unwrap().options.tasks, TaskLimits::default());
        for (name, bad) in [
            ("MCP_MAX_TASKS", "0"),
            ("MCP_MAX_TASKS_PER_CALLER", "many"),
            ("MCP_TASK_RETENTION", "forever"),
        ] {
            assert_eq!(error(&[(name, bad)]), Some(name));
        }
        let short = error(&[("MCP_REQUEST_STATE_SECRET", "short")]);
        assert_eq!(short, Some("MCP_REQUEST_STATE_SECRET"));
        let secret = settings(&[("MCP_REQUEST_STATE_SECRET", "x")]).unwrap_err();
        assert!(
            !secret.to_string().contains("`x`"),
            "secrets are not echoed"
        );
    }
}
