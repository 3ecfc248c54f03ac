//! Serving every connection to a Unix socket as its own session.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Transport;
use crate::server::{Server, ServerError};

/// What ends the accept loop.
type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A Unix socket listener: each accepted connection is served as its own
/// session of newline-delimited JSON-RPC, as on stdio, until SIGINT or
/// SIGTERM (or the signal given to [`UnixListener::shutdown_on`]).
///
/// On shutdown it stops accepting and removes the socket file; every
/// connection then reads no more requests, answers those in flight (those
/// still running ten seconds later are cancelled and answered with an
/// error) and closes.
///
/// ```no_run
/// # use mcp_server::prelude::*;
/// use mcp_server::transport::UnixListener;
///
/// # async fn run(server: Server) -> Result<(), mcp_server::ServerError> {
/// server.serve(UnixListener::bind("/run/my-server/mcp.sock")?).await
/// # }
/// ```
pub struct UnixListener {
    listener: tokio::net::UnixListener,
    socket: SocketFile,
    shutdown: Option<Signal>,
}

impl UnixListener {
    /// Binds a socket at `path`. A socket file left behind by a process
    /// that is gone is replaced; one a live server listens on is not.
    /// Must be called within a tokio runtime.
    ///
    /// # Errors
    /// The socket could not be bound ([`ServerError::Io`]), for instance
    /// because another server listens on `path` (`AddrInUse`).
    pub fn bind(path: impl AsRef<Path>) -> Result<Self, ServerError> {
        let path = path.as_ref();
        let listener = match tokio::net::UnixListener::bind(path) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && is_stale_socket(path) => {
                tracing::info!(path = %path.display(), "replacing a stale socket file");
                std::fs::remove_file(path)?;
                tokio::net::UnixListener::bind(path)?
            }
            other => other?,
        };
        Ok(Self {
            listener,
            socket: SocketFile(path.to_owned()),
            shutdown: None,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.socket.0
    }

    /// Shuts down when `signal` completes instead of on SIGINT or SIGTERM.
    #[must_use]
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }
}

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("path", &self.socket.0)
            .field("custom_shutdown", &self.shutdown.is_some())
            .finish()
    }
}

impl Transport for UnixListener {
    async fn serve(self, server: Server) -> Result<(), ServerError> {
        server.check_ready()?;
        let Self {
            listener,
            socket,
            shutdown,
        } = self;
        let mut shutdown = shutdown.unwrap_or_else(|| Box::pin(super::http::shutdown_signal()));
        tracing::info!(
            name = %server.info().implementation.name,
            path = %socket.0.display(),
            "serving MCP on a Unix socket"
        );
        let stop = CancellationToken::new();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let (reader, writer) = stream.into_split();
                        connections.spawn(super::lines::serve(
                            server.clone(),
                            reader,
                            writer,
                            stop.child_token(),
                        ));
                    }
                    Err(e) => {
                        // Usually out of file descriptors: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(done) = connections.join_next(), if !connections.is_empty() => ended(done),
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        drop(socket);
        tracing::info!(
            connections = connections.len(),
            "stopped accepting; draining connections"
        );
        stop.cancel();
        while let Some(done) = connections.join_next().await {
            ended(done);
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Logs how a connection ended: a client that goes away mid-message is
/// its own business, not the server's.
fn ended(done: Result<Result<(), ServerError>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => tracing::debug!("connection closed"),
        Ok(Err(e)) => tracing::debug!(error = %e, "connection ended with an error"),
        Err(e) => tracing::error!(error = %e, "a connection task failed"),
    }
}

/// Whether `path` is a socket nobody listens on.
fn is_stale_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    is_socket
        && matches!(
            std::os::unix::net::UnixStream::connect(path),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused
        )
}

/// The socket file, removed when the listener is done with it.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), error = %e, "socket file not removed");
        }
    }
}
