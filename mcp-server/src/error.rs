//! Errors of the server runtime.

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Reading from or writing to the transport failed (binding a busy
    /// port, a closed pipe).
    #[error("transport i/o failed: {0}")]
    Io(#[from] std::io::Error),
    /// A background task of the server failed.
    #[error("server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
