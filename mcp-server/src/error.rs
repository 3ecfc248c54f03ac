//! Errors of the server runtime.

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Reading from or writing to the transport failed.
    #[error("transport i/o failed")]
    Io(#[from] std::io::Error),
    /// A background task of the server failed.
    #[error("server task failed")]
    Task(#[from] tokio::task::JoinError),
}
