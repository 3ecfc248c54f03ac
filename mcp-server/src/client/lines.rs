//! Newline-delimited JSON-RPC over a byte stream: a child process's stdin
//! and stdout, a socket, an in-memory pipe.

use std::sync::{Arc, Weak};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

use super::ClientError;
use super::peer::{Incoming, Link, Peer};
use crate::handler::BoxFuture;

type Writer = Box<dyn AsyncWrite + Unpin + Send>;

pub(crate) struct Lines {
    writer: Arc<Mutex<Writer>>,
    /// Stops the reader, so a stream split in two halves closes.
    stop: tokio_util::sync::CancellationToken,
    /// Killed when the client goes.
    _child: Option<tokio::process::Child>,
}

impl Lines {
    pub(crate) fn spawn(
        mut command: tokio::process::Command,
    ) -> Result<(Self, Incoming), ClientError> {
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(ClientError::Io(std::io::Error::other(
                "the child process has no piped stdin or stdout",
            )));
        };
        Ok(Self::new(stdout, stdin, Some(child)))
    }

    pub(crate) fn new<R, W>(
        reader: R,
        writer: W,
        child: Option<tokio::process::Child>,
    ) -> (Self, Incoming)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let stop = tokio_util::sync::CancellationToken::new();
        let stopped = stop.clone();
        let incoming = Incoming::new(move |peer: Arc<Peer>| {
            tokio::spawn(read(reader, Arc::downgrade(&peer), stopped));
        });
        let link = Self {
            writer: Arc::new(Mutex::new(Box::new(writer))),
            stop,
            _child: child,
        };
        (link, incoming)
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Link for Lines {
    fn send(&self, _peer: &Arc<Peer>, message: Value) -> BoxFuture<Result<(), ClientError>> {
        let writer = Arc::clone(&self.writer);
        Box::pin(async move {
            let mut line = message.to_string();
            line.push('\n');
            let mut writer = writer.lock().await;
            writer
                .write_all(line.as_bytes())
                .await
                .map_err(|_| ClientError::Closed)?;
            writer.flush().await.map_err(|_| ClientError::Closed)
        })
    }
}

async fn read<R: AsyncRead + Unpin>(
    reader: R,
    peer: Weak<Peer>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut lines = BufReader::new(reader).lines();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            () = stop.cancelled() => return,
        };
        let Ok(Some(line)) = line else { break };
        let Some(peer) = peer.upgrade() else { return };
        match serde_json::from_str::<Value>(&line) {
            Ok(value) => peer.incoming(value, None),
            Err(e) => tracing::debug!(error = %e, "the server wrote a line that is not JSON"),
        }
    }
    if let Some(peer) = peer.upgrade() {
        peer.closed();
    }
}
