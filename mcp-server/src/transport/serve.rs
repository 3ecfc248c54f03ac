//! The [`Transport`] seam: one way to serve, whatever carries the messages.

use std::future::Future;

use super::http::{HttpConfig, HttpServer};
use crate::error::ServerError;
use crate::server::Server;

/// Something that serves a [`Server`] until it is done: stdin closes, the
/// byte stream ends, or the process is asked to stop.
///
/// Implemented by [`Stdio`](super::Stdio), [`Http`] (Streamable HTTP and
/// legacy SSE), [`Stream`](super::Stream) (newline-delimited JSON-RPC over
/// any `AsyncRead` and `AsyncWrite` pair: a TCP or Unix socket, a child
/// process's pipes, an in-memory [`duplex`](super::duplex)),
/// [`UnixListener`](super::UnixListener) (each accepted connection its own
/// session) and [`TransportArgs`](super::TransportArgs) (whichever the
/// command line chose). Serve with [`Server::serve`]:
///
/// ```no_run
/// use mcp_server::prelude::*;
/// use mcp_server::transport::{Http, Stdio};
///
/// # async fn run(server: Server, other: Server) -> Result<(), mcp_server::ServerError> {
/// server.serve(Stdio).await?;
/// other.serve(Http::bind("127.0.0.1:3001")).await?;
/// # Ok(()) }
/// ```
///
/// A transport of another kind (a WebSocket, a message queue) adapts its
/// connection to a byte stream of newline-delimited messages and serves it
/// as a [`Stream`](super::Stream).
pub trait Transport: Send + Sized {
    /// Serves `server` on this transport until it is done.
    ///
    /// # Errors
    /// The transport failed (such as an I/O error on stdio, or an HTTP
    /// address that cannot be bound), or the server cannot serve at all
    /// ([`ServerError::Randomness`]).
    fn serve(self, server: Server) -> impl Future<Output = Result<(), ServerError>> + Send;
}

impl Server {
    /// Serves on `transport` until it is done: see [`Transport`].
    ///
    /// ```no_run
    /// # use mcp_server::prelude::*;
    /// # async fn run(server: Server) -> Result<(), Box<dyn std::error::Error>> {
    /// use mcp_server::transport::TransportArgs;
    ///
    /// server.serve(TransportArgs::from_args()?).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The transport failed; see [`Transport::serve`].
    pub fn serve<T: Transport>(
        self,
        transport: T,
    ) -> impl Future<Output = Result<(), ServerError>> + Send {
        transport.serve(self)
    }
}

/// Streamable HTTP (and the legacy HTTP+SSE transport) on an address, until
/// SIGINT or SIGTERM, then a graceful shutdown ([`HttpServer::serve`]).
///
/// Binding a non-loopback address (such as `0.0.0.0` in a container) turns
/// the loopback-only `Host` check off, since a public server is reached by
/// other names; set [`HttpConfig::allowed_hosts`] to keep it. To learn the
/// port the system picked for port 0, bind an [`HttpServer`] yourself.
///
/// ```no_run
/// # use mcp_server::prelude::*;
/// use mcp_server::transport::Http;
/// use mcp_server::transport::http::HttpConfig;
///
/// # async fn run(server: Server) -> Result<(), mcp_server::ServerError> {
/// let config = HttpConfig::default().path("/rpc");
/// server.serve(Http::bind("127.0.0.1:3001").config(config)).await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Http {
    addr: String,
    config: HttpConfig,
}

impl Http {
    /// HTTP on `addr` (`host:port`), with the default [`HttpConfig`]. The
    /// address is bound when served.
    pub fn bind(addr: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            config: HttpConfig::default(),
        }
    }

    /// Paths, security checks and limits in place of the defaults.
    #[must_use]
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// The address to bind.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The configuration it serves with.
    pub fn http_config(&self) -> &HttpConfig {
        &self.config
    }

    /// The address and the configuration.
    pub fn into_parts(self) -> (String, HttpConfig) {
        (self.addr, self.config)
    }
}

impl Transport for Http {
    /// Installs stderr logging as [`Stdio`](super::Stdio) does, binds, and
    /// serves until SIGINT or SIGTERM.
    async fn serve(self, server: Server) -> Result<(), ServerError> {
        super::stdio::init_stderr_logging();
        HttpServer::bind(server, self.addr, self.config)
            .await?
            .serve()
            .await
    }
}
