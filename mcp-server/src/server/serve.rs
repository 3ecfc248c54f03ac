//! The [`Transport`] seam: one way to serve, whatever carries the messages.
//!
//! It is defined here, with the server it serves, so that transports depend
//! on the server and never the reverse.

use std::future::Future;

use super::{Server, ServerError};

/// Something that serves a [`Server`] until it is done: stdin closes, the
/// byte stream ends, or the process is asked to stop.
///
/// Every transport of `mcp_server::transport` implements it (listed
/// below): stdio, Streamable HTTP with the legacy HTTP+SSE transport,
/// newline-delimited JSON-RPC over any `AsyncRead` and `AsyncWrite` pair
/// (a TCP or Unix socket, a child process's pipes, an in-memory duplex),
/// a Unix socket listener (each accepted connection its own session) and
/// `TransportArgs` (whichever the command line chose). Serve with
/// [`Server::serve`]:
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
/// as a `transport::Stream`.
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
