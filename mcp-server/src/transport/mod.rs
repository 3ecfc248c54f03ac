//! Transports carry JSON-RPC messages between a client and the router.
//!
//! Every one implements [`Transport`] and is served the same way:
//! `server.serve(transport).await`.

mod framing;
pub mod http;
mod lines;
mod log_time;
mod plain_fields;
mod plain_format;
mod requests;
mod select;
mod serve;
pub mod stdio;
mod stdio_pipes;
mod stream;
#[cfg(unix)]
mod unix;

pub use crate::server::Transport;
pub use select::{TransportArgs, TransportArgsError, USAGE};
pub use serve::Http;
pub use stdio::Stdio;
pub use stream::{Duplex, Stream, duplex};
#[cfg(unix)]
pub use unix::UnixListener;

pub(crate) use crate::outbound::{Outbound, Outgoing};

/// The request a `notifications/cancelled` names; `None` (logged) when the
/// notification is malformed.
pub(crate) fn cancelled_request(
    notification: &mcp_core::jsonrpc::Notification,
) -> Option<mcp_core::jsonrpc::RequestId> {
    let params = notification.params.as_deref().and_then(|raw| {
        serde_json::from_str::<mcp_core::notification::CancelledParams>(raw.get()).ok()
    });
    match params {
        Some(params) => {
            tracing::debug!(id = %params.request_id, reason = ?params.reason, "request cancelled");
            Some(params.request_id)
        }
        None => {
            tracing::debug!("ignoring a malformed cancellation");
            None
        }
    }
}

/// Polls a request's work once, in place: one that needs no I/O of its own
/// is done then, and needs no task. The waker is one that does nothing; a
/// future still pending registered it wherever it waits, and registers its
/// task's waker at its next poll, once moved into a task. A panic is caught
/// and given back, as a panicking task's would be.
pub(crate) fn poll_in_place<F: std::future::Future>(
    work: std::pin::Pin<&mut F>,
) -> Option<std::thread::Result<F::Output>> {
    use futures_util::FutureExt as _;
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .now_or_never()
}

/// A message posted to a legacy SSE connection, with who posted it: each
/// POST is authenticated on its own, and acts with its own credential.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) bytes: bytes::Bytes,
    pub(crate) principal: Option<std::sync::Arc<crate::auth::Principal>>,
}
