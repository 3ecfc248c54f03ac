//! `Server` and its builder.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock, RwLock};

use mcp_core::ProtocolVersion;
use mcp_core::lifecycle::Implementation;
use serde_json::value::RawValue;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::ServerError;
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

    /// A [`Server`] serving this definition.
    fn into_server(self) -> Server {
        Server::builder().definition(self).build()
    }

    /// Serves this definition over stdio until stdin closes.
    ///
    /// # Errors
    /// See [`Server::serve_stdio`].
    fn serve_stdio(self) -> impl Future<Output = Result<(), ServerError>> + Send {
        self.into_server().serve_stdio()
    }

    /// Serves this definition over HTTP at `addr` until SIGINT or SIGTERM.
    ///
    /// # Errors
    /// See [`Server::serve_http`].
    fn serve_http(
        self,
        addr: impl tokio::net::ToSocketAddrs + Send,
    ) -> impl Future<Output = Result<(), ServerError>> + Send {
        self.into_server().serve_http(addr)
    }
}

/// Something that changed on the server, broadcast to every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerEvent {
    ToolsChanged,
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
/// Server::new(Calc).serve_stdio().await
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<ServerInner>,
}

pub(crate) struct ServerInner {
    pub(crate) info: ServerInfo,
    tools: RwLock<Arc<ToolSet>>,
    events: broadcast::Sender<ServerEvent>,
    /// Cancelled when a transport shuts down gracefully, so long-lived
    /// streams (`subscriptions/listen`, SSE) can end cleanly.
    shutdown: CancellationToken,
}

/// An immutable snapshot of the tools, swapped whole on change so readers
/// never hold a lock across an await.
pub(crate) struct ToolSet {
    defs: Vec<ToolDef>,
    index: HashMap<Arc<str>, usize>,
    /// `tools/list` results, encoded once per revision.
    list_cache: [OnceLock<Box<RawValue>>; ProtocolVersion::ALL.len()],
}

impl ToolSet {
    fn new(defs: Vec<ToolDef>) -> Self {
        let index = defs
            .iter()
            .enumerate()
            .map(|(i, def)| (Arc::clone(def.shared_name()), i))
            .collect();
        Self {
            defs,
            index,
            list_cache: Default::default(),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&ToolDef> {
        self.index.get(name).map(|&i| &self.defs[i])
    }

    pub(crate) fn defs(&self) -> &[ToolDef] {
        &self.defs
    }

    pub(crate) fn list_cache(&self, version: ProtocolVersion) -> &OnceLock<Box<RawValue>> {
        let i = ProtocolVersion::ALL
            .iter()
            .position(|v| *v == version)
            .unwrap_or(0);
        &self.list_cache[i]
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
        self.update_tools(|defs| {
            match defs.iter().position(|d| d.name() == tool.name()) {
                Some(i) => defs[i] = tool,
                None => defs.push(tool),
            }
            true
        });
    }

    /// Removes a tool by name and tells connected clients that the tool list
    /// changed. Returns whether there was such a tool.
    pub fn remove_tool(&self, name: &str) -> bool {
        self.update_tools(|defs| {
            let before = defs.len();
            defs.retain(|d| d.name() != name);
            defs.len() != before
        })
    }

    /// The names of the tools, in the order `tools/list` shows them.
    pub fn tool_names(&self) -> Vec<String> {
        self.tools()
            .defs()
            .iter()
            .map(|d| d.name().to_owned())
            .collect()
    }

    fn update_tools(&self, change: impl FnOnce(&mut Vec<ToolDef>) -> bool) -> bool {
        let changed = {
            let mut guard = self
                .inner
                .tools
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut defs = guard.defs().to_vec();
            let changed = change(&mut defs);
            if changed {
                *guard = Arc::new(ToolSet::new(defs));
            }
            changed
        };
        if changed {
            // No receivers just means no connection is open.
            let _ = self.inner.events.send(ServerEvent::ToolsChanged);
        }
        changed
    }

    pub(crate) fn tools(&self) -> Arc<ToolSet> {
        Arc::clone(
            &self
                .inner
                .tools
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ServerEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn shutdown_signal(&self) -> &CancellationToken {
        &self.inner.shutdown
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
}

impl ServerBuilder {
    fn info_mut(&mut self) -> &mut ServerInfo {
        self.info.get_or_insert_with(|| {
            ServerInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        })
    }

    /// Takes identity and tools from a `#[mcp_server]` type. Settings made
    /// after this call override its identity; tools add to its tools.
    #[must_use]
    pub fn definition<D: ServerDefinition>(mut self, definition: D) -> Self {
        let this = Arc::new(definition);
        self.info = Some(D::info());
        let mut tools = D::tools(&this);
        tools.append(&mut self.tools);
        self.tools = tools;
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
        match self.tools.iter().position(|d| d.name() == tool.name()) {
            Some(i) => self.tools[i] = tool,
            None => self.tools.push(tool),
        }
        self
    }

    /// Builds the server.
    pub fn build(mut self) -> Server {
        let info = self.info_mut().clone();
        let (events, _) = broadcast::channel(16);
        Server {
            inner: Arc::new(ServerInner {
                info,
                tools: RwLock::new(Arc::new(ToolSet::new(self.tools))),
                events,
                shutdown: CancellationToken::new(),
            }),
        }
    }
}
