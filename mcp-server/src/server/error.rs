//! Why a server could not be built or stopped serving.

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
    /// The operating system's random source failed, so the server has no
    /// key to sign 2026-07-28 request states with. It never falls back to a
    /// predictable one; configure a shared secret
    /// ([`ServerBuilder::request_state_secret`](crate::ServerBuilder::request_state_secret))
    /// or fix the source.
    #[error("the operating system's random source failed, so no request-state key could be made")]
    Randomness(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Servers could not be composed (see
    /// [`ServerBuilder::mount`](crate::ServerBuilder::mount)).
    #[error(transparent)]
    Mount(#[from] super::MountError),
}
