//! Where a request's messages to its client go: the one channel the router
//! writes to and a transport drains. It lives apart from both so that the
//! router never depends on a transport.

use mcp_core::jsonrpc::Message;
use tokio::sync::mpsc;

/// What a connection writes: one message, or the answer to a batch.
#[derive(Debug)]
pub(crate) enum Outgoing {
    One(Message),
    Batch(Vec<Message>),
}

/// Where messages for one request's client go. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    tx: mpsc::Sender<Outgoing>,
}

impl Outbound {
    pub(crate) fn new(tx: mpsc::Sender<Outgoing>) -> Self {
        Self { tx }
    }

    /// Sends a message; waits while the writer is behind. A closed connection
    /// drops it, since nobody is left to read it.
    pub(crate) async fn send(&self, message: Message) {
        if self.tx.send(Outgoing::One(message)).await.is_err() {
            tracing::debug!("connection closed; message dropped");
        }
    }

    /// Sends a message if the writer has room for it, or gives it back to
    /// be [`sent`](Self::send_later) when it has. A closed connection drops
    /// it, as [`send`](Self::send) does.
    pub(crate) fn try_send(&self, message: Message) -> Result<(), Outgoing> {
        match self.tx.try_send(Outgoing::One(message)) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Full(outgoing)) => Err(outgoing),
        }
    }

    /// Sends what [`try_send`](Self::try_send) gave back.
    pub(crate) async fn send_later(&self, outgoing: Outgoing) {
        if self.tx.send(outgoing).await.is_err() {
            tracing::debug!("connection closed; message dropped");
        }
    }

    /// Completes when nobody reads this outbound any more.
    pub(crate) async fn closed(&self) {
        self.tx.closed().await;
    }

    pub(crate) async fn send_batch(&self, messages: Vec<Message>) {
        if self.tx.send(Outgoing::Batch(messages)).await.is_err() {
            tracing::debug!("connection closed; batch response dropped");
        }
    }
}
