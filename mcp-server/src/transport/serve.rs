//! [`Http`]: serving on an address, the one-line way.

use super::http::{HttpConfig, HttpServer};
use crate::server::{Server, ServerError, Transport};

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
