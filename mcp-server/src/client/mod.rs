//! An MCP client: talks to a server over stdio (a child process), any byte
//! stream, or Streamable HTTP, on every protocol revision, with a typed API
//! and callbacks for what the server asks (elicitation, sampling, roots).
//!
//! ```no_run
//! use mcp_server::client::{Client, ClientOptions};
//! use mcp_server::ProtocolVersion;
//!
//! # async fn run() -> Result<(), mcp_server::client::ClientError> {
//! let mut command = tokio::process::Command::new("crm-mcp");
//! command.env("DATABASE_URL", "sqlite::memory:");
//! let client = Client::spawn(command, ClientOptions::new(ProtocolVersion::V2025_11_25)).await?;
//! for tool in client.list_tools().await? {
//!     println!("{}", tool.name);
//! }
//! let found = client
//!     .call_tool("search_contacts", serde_json::json!({"query": "ada"}))
//!     .await?;
//! # let _ = found;
//! # Ok(())
//! # }
//! ```

mod api;
mod http;
mod lines;
mod peer;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{ErrorObject, RequestId};
use serde_json::{Value, json};

pub use api::RequestOptions;
pub use http::HttpOptions;

use peer::Peer;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with a JSON-RPC error.
    #[error("the server answered `{method}` with error {}: {}", .error.code, .error.message)]
    Rpc {
        /// The request.
        method: String,
        /// The server's error.
        error: ErrorObject,
    },
    /// No answer came in time.
    #[error("no answer to `{method}` within {timeout:?}")]
    Timeout {
        /// The request.
        method: String,
        /// How long the client waited.
        timeout: Duration,
    },
    /// The connection is closed.
    #[error("the connection to the server is closed")]
    Closed,
    /// The child process could not be started, or a stream failed.
    #[error("i/o with the server failed: {0}")]
    Io(#[from] std::io::Error),
    /// An HTTP exchange failed (connection, status, body).
    #[error("HTTP: {0}")]
    Http(String),
    /// The server's result is not what the method returns.
    #[error("`{method}` returned a malformed result: {message}")]
    Malformed {
        /// The request.
        method: String,
        /// What is wrong with it.
        message: String,
    },
    /// The request was cancelled by the caller.
    #[error("`{0}` was cancelled")]
    Cancelled(String),
}

impl ClientError {
    /// The JSON-RPC error object this failure is best described by, for a
    /// proxy that passes it on.
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            Self::Rpc { error, .. } => error.clone(),
            other => ErrorObject::new(
                mcp_core::jsonrpc::error_code::INTERNAL_ERROR,
                other.to_string(),
            ),
        }
    }
}

/// A request the server sends the client: `elicitation/create`,
/// `sampling/createMessage`, `roots/list`, `ping`.
#[derive(Debug, Clone)]
pub struct ServerRequest {
    /// The method.
    pub method: String,
    /// Its params (`null` when absent).
    pub params: Value,
    /// The client request it belongs to, when the transport tells (a
    /// Streamable HTTP response stream, a 2026-07-28 `InputRequiredResult`).
    pub related: Option<RequestId>,
}

/// What a [`ClientHandler`] answers with, in time.
pub type AnswerFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, ErrorObject>> + Send>>;

/// Answers what a server asks the client.
pub trait ClientHandler: Send + Sync + 'static {
    /// The capabilities the client declares (`elicitation`, `sampling`,
    /// `roots`), sent in `initialize` or in 2026-07-28 `_meta`.
    fn capabilities(&self) -> Value;

    /// Answers one request with its result, or a JSON-RPC error.
    fn handle(&self, request: ServerRequest) -> AnswerFuture;
}

/// How a client connects: the revision, who it is, what it answers.
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) version: ProtocolVersion,
    pub(crate) name: String,
    pub(crate) client_version: String,
    pub(crate) handler: Option<Arc<dyn ClientHandler>>,
    pub(crate) declared: Option<Value>,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("version", &self.version)
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Speaks `version`, answers nothing the server asks, waits a minute
    /// for each answer.
    pub fn new(version: ProtocolVersion) -> Self {
        Self {
            version,
            name: "mcp-server-client".into(),
            client_version: env!("CARGO_PKG_VERSION").into(),
            handler: None,
            declared: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// The `clientInfo` sent to the server.
    #[must_use]
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.name = name.into();
        self.client_version = version.into();
        self
    }

    /// Answers the server's requests with `handler` and declares its
    /// capabilities.
    #[must_use]
    pub fn handler(mut self, handler: impl ClientHandler) -> Self {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// How long to wait for an answer (default one minute).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Declares `capabilities` instead of the handler's: for a client
    /// whose handler is installed later, such as one handed to
    /// [`Server::proxy`](crate::Server::proxy).
    #[must_use]
    pub fn declare(mut self, capabilities: Value) -> Self {
        self.declared = Some(capabilities);
        self
    }

    /// Declares elicitation, sampling and roots: what a proxy passes on to
    /// its own clients.
    #[must_use]
    pub fn forwarding(self) -> Self {
        self.declare(json!({"elicitation": {}, "sampling": {}, "roots": {}}))
    }

    fn capabilities(&self) -> Value {
        if let Some(declared) = &self.declared {
            return declared.clone();
        }
        self.handler
            .as_ref()
            .map_or_else(|| json!({}), |h| h.capabilities())
    }

    fn info(&self) -> Value {
        json!({"name": self.name, "version": self.client_version})
    }
}

/// A connection to one MCP server.
pub struct Client {
    peer: Arc<Peer>,
    /// The `initialize` result (or the 2026-07-28 `server/discover` one).
    server: Value,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("version", &self.peer.version())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts `command` and talks to it over its stdin and stdout; its
    /// stderr is inherited. The child is killed when the client is dropped.
    ///
    /// # Errors
    /// The process could not be started, or the handshake failed.
    pub async fn spawn(
        command: tokio::process::Command,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let (link, incoming) = lines::Lines::spawn(command)?;
        Self::start(Box::new(link), incoming, options).await
    }

    /// Talks newline-delimited JSON-RPC over `reader` and `writer` (a
    /// socket, a pipe, [`transport::duplex`](crate::transport::duplex)).
    ///
    /// # Errors
    /// The handshake failed.
    pub async fn connect_io<R, W>(
        reader: R,
        writer: W,
        options: ClientOptions,
    ) -> Result<Self, ClientError>
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (link, incoming) = lines::Lines::new(reader, writer, None);
        Self::start(Box::new(link), incoming, options).await
    }

    /// Connects to a Streamable HTTP endpoint (`https://host/mcp`), falling
    /// back to the legacy HTTP+SSE transport when the server does not take
    /// a POST there, on stateful revisions.
    ///
    /// # Errors
    /// The server could not be reached, or the handshake failed.
    pub async fn connect_http(
        url: &str,
        http: HttpOptions,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let (link, incoming) = http::HttpLink::new(url, http, options.version)?;
        Self::start(Box::new(link), incoming, options).await
    }

    async fn start(
        link: Box<dyn peer::Link>,
        incoming: peer::Incoming,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let peer = Peer::new(link, options.clone());
        incoming.start(Arc::clone(&peer));
        let version = options.version;
        let server = if version.is_stateless() {
            peer.request("server/discover", json!({}), RequestOptions::default())
                .await?
        } else {
            let result = peer
                .request(
                    "initialize",
                    json!({
                        "protocolVersion": version.as_str(),
                        "capabilities": options.capabilities(),
                        "clientInfo": options.info(),
                    }),
                    RequestOptions::default(),
                )
                .await?;
            let agreed = result
                .get("protocolVersion")
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<ProtocolVersion>().ok())
                .filter(|v| !v.is_stateless())
                .ok_or_else(|| ClientError::Malformed {
                    method: "initialize".into(),
                    message: format!(
                        "the server offered {}, which this client does not speak",
                        result.get("protocolVersion").unwrap_or(&Value::Null)
                    ),
                })?;
            peer.set_version(agreed);
            peer.notify("notifications/initialized", Value::Null)
                .await?;
            peer.opened().await;
            result
        };
        Ok(Self { peer, server })
    }

    /// The revision spoken (after the server's counter-offer, if any).
    pub fn version(&self) -> ProtocolVersion {
        self.peer.version()
    }

    /// The server's `initialize` result, or its 2026-07-28
    /// `server/discover` result.
    pub fn server_result(&self) -> &Value {
        &self.server
    }

    /// The server's declared capabilities.
    pub fn server_capabilities(&self) -> &Value {
        &self.server["capabilities"]
    }

    /// The server's instructions, if any.
    pub fn instructions(&self) -> Option<&str> {
        self.server.get("instructions").and_then(Value::as_str)
    }

    /// The next notification the server sent outside any request's
    /// options (list changes, resource updates, log messages), or `None`
    /// once the connection is closed.
    pub async fn next_notification(&self) -> Option<Value> {
        self.peer.next_notification().await
    }

    /// Sends a request and waits for its result. On 2026-07-28 the
    /// client's `_meta` is added, and `InputRequiredResult`s are answered
    /// through the handler and retried.
    ///
    /// # Errors
    /// The server's error, a timeout, or a closed connection.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        self.peer
            .request(method, params, RequestOptions::default())
            .await
    }

    /// [`Client::request`] with progress, notifications and cancellation
    /// options.
    ///
    /// # Errors
    /// As for [`Client::request`]; [`ClientError::Cancelled`] when the
    /// token was cancelled (the server is told with
    /// `notifications/cancelled`).
    pub async fn request_with(
        &self,
        method: &str,
        params: Value,
        options: RequestOptions,
    ) -> Result<Value, ClientError> {
        self.peer.request(method, params, options).await
    }

    /// Answers the server's requests with `handler` from now on (the
    /// capabilities declared at connection stay).
    pub fn set_handler(&self, handler: Arc<dyn ClientHandler>) {
        self.peer.set_handler(handler);
    }

    /// Sends a notification.
    ///
    /// # Errors
    /// The connection is closed.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), ClientError> {
        self.peer.notify(method, params).await
    }
}
