//! `Server` and its builder.

mod builder;
mod error;
mod host;
mod mount;
mod options;
#[cfg(feature = "client")]
mod proxy;
mod readiness;
mod registry;
mod serve;
mod settings;
#[cfg(feature = "client")]
mod upstream;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};

use mcp_core::lifecycle::Implementation;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::state::StateKey;
use crate::task::TaskStore;
use crate::tool::ToolDef;

pub use builder::ServerBuilder;
pub use error::ServerError;
pub use mount::{DefinitionKind, DefinitionSource, MountError};
pub use serve::Transport;
pub use settings::SettingsError;

pub(crate) use crate::events::ServerEvent;
pub(crate) use options::ServerOptions;
pub(crate) use registry::{Keyed, Registry};
pub(crate) use settings::parse_duration_or_zero;

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
    /// See [`Transport::serve`].
    fn serve<T: Transport>(
        self,
        transport: T,
    ) -> impl Future<Output = Result<(), ServerError>> + Send {
        self.into_server().serve(transport)
    }
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
    /// What every result on the latest (stateless) revision ends with,
    /// written once; none if the info could not be serialized.
    pub(crate) result_tail: Option<mcp_core::codec::ResultTail>,
    tools: RwLock<Arc<Registry<ToolDef>>>,
    prompts: RwLock<Arc<Registry<PromptDef>>>,
    resources: RwLock<Arc<Registry<ResourceDef>>>,
    templates: RwLock<Arc<Registry<ResourceTemplateDef>>>,
    /// Servers composed into this one, followed as they change.
    mounts: Vec<Arc<mount::Mount>>,
    /// What went wrong composing them; `try_build` reports the first.
    mount_errors: Vec<MountError>,
    options: ServerOptions,
    /// The key of `options`, or the random source's failure to make one.
    state_key: Result<StateKey, getrandom::Error>,
    tasks: Arc<TaskStore>,
    metrics: crate::metrics::Metrics,
    audit: Option<crate::audit::AuditLog>,
    events: broadcast::Sender<ServerEvent>,
    /// State shared with other replicas, when configured.
    shared: Option<Arc<crate::store::shared::Shared>>,
    /// Cancelled when a transport shuts down gracefully, so long-lived
    /// streams (`subscriptions/listen`, SSE) can end cleanly.
    shutdown: CancellationToken,
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

    /// Removes a resource template by its URI template; returns whether
    /// there was one.
    pub fn remove_resource_template(&self, uri_template: &str) -> bool {
        let removed = Self::update(&self.inner.templates, |r| r.without(uri_template));
        if removed {
            self.notify(ServerEvent::ResourcesChanged);
        }
        removed
    }

    /// Tells clients subscribed to `uri` that the resource changed:
    /// `notifications/resources/updated` to 2025 sessions that called
    /// `resources/subscribe`, and on 2026-07-28 `subscriptions/listen`
    /// streams that asked for it.
    pub fn resource_updated(&self, uri: &str) {
        self.notify(ServerEvent::ResourceUpdated(Arc::from(uri)));
    }

    /// The names of the prompts, in the order `prompts/list` shows them.
    pub fn prompt_names(&self) -> Vec<String> {
        self.prompts()
            .defs()
            .iter()
            .map(|d| d.name().to_owned())
            .collect()
    }

    /// The URIs of the concrete resources, in the order `resources/list`
    /// shows them.
    pub fn resource_uris(&self) -> Vec<String> {
        self.resources()
            .defs()
            .iter()
            .map(|d| d.uri().to_owned())
            .collect()
    }

    /// The URI templates, in the order `resources/templates/list` shows them.
    pub fn resource_template_uris(&self) -> Vec<String> {
        self.resource_templates()
            .defs()
            .iter()
            .map(|d| d.template().uri_template.clone())
            .collect()
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
        if let Some(shared) = self.shared()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let message = crate::store::shared::bus_message(&shared.replica, &event);
            let shared = Arc::clone(shared);
            runtime.spawn(async move { shared.publish(message).await });
        }
        // No receivers just means no connection is open.
        let _ = self.inner.events.send(event);
    }

    /// The state shared with other replicas, its listener started.
    pub(crate) fn shared(&self) -> Option<&Arc<crate::store::shared::Shared>> {
        let shared = self.inner.shared.as_ref()?;
        if shared.start(&self.inner.events) {
            crate::task::listen(Arc::downgrade(&self.inner.tasks), shared.remote());
        }
        Some(shared)
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
        // A server built outside a runtime follows its mounts from here.
        mount::follow(self);
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
    /// application that serves through `transport::http::McpService`
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
