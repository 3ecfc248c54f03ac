//! A connection of newline-delimited JSON-RPC messages: stdio, and the
//! in-memory pipe the test client uses.
//!
//! One reader loop parses lines and spawns a task per request, so requests
//! run concurrently; one writer task owns the output, so messages never
//! interleave. A protocol error is answered and the loop goes on; only EOF or
//! an I/O error ends the connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{
    ErrorObject, ErrorResponse, Incoming, Message, Notification, RequestId, error_code,
};
use mcp_core::notification;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{broadcast, mpsc};
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::error::ServerError;
use crate::router::{self, Wire};
use crate::server::{Server, ServerEvent};
use crate::session::Session;
use crate::transport::{Outbound, Outgoing};

/// How long in-flight requests may run on after the input closes.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

struct InFlight {
    abort: AbortHandle,
    cancellation: CancellationToken,
}

/// Serves one connection until its input ends.
pub(crate) async fn serve<R, W>(server: Server, reader: R, writer: W) -> Result<(), ServerError>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(256);
    let writer = tokio::spawn(write_loop(writer, rx));
    let result = run(
        server,
        Source::Lines(BufReader::new(reader)),
        tx,
        None,
        None,
    )
    .await;
    writer.await??;
    result
}

/// Serves one connection whose messages arrive whole on `incoming` (the
/// legacy SSE transport's POSTs) and leave on `outgoing`, until `incoming`
/// closes.
pub(crate) async fn serve_messages(
    server: Server,
    incoming: mpsc::Receiver<bytes::Bytes>,
    outgoing: mpsc::Sender<Outgoing>,
    principal: Option<Arc<crate::auth::Principal>>,
    peer: Option<std::net::IpAddr>,
) {
    let source: Source<tokio::io::Empty> = Source::Messages(incoming);
    // A channel source never fails.
    let _ = run(server, source, outgoing, principal, peer).await;
}

/// Where a connection's messages come from.
enum Source<R> {
    Lines(BufReader<R>),
    Messages(mpsc::Receiver<bytes::Bytes>),
}

impl<R: AsyncRead + Unpin> Source<R> {
    async fn next(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
        match self {
            Self::Lines(reader) => read_line(reader, buf, max).await,
            Self::Messages(rx) => Ok(match rx.recv().await {
                Some(message) => {
                    buf.clear();
                    buf.extend_from_slice(&message);
                    Line::Complete
                }
                None => Line::Eof,
            }),
        }
    }
}

async fn run<R: AsyncRead + Unpin>(
    server: Server,
    mut source: Source<R>,
    tx: mpsc::Sender<Outgoing>,
    principal: Option<Arc<crate::auth::Principal>>,
    peer: Option<std::net::IpAddr>,
) -> Result<(), ServerError> {
    let outbound = Outbound::new(tx);
    let session = Arc::new(Session::new());
    if let Some(principal) = principal {
        session.bind_principal(principal);
    }
    if let Some(peer) = peer {
        session.set_peer(peer);
    }
    let mut connection = Connection {
        server: server.clone(),
        session,
        outbound,
        tasks: JoinSet::new(),
        in_flight: HashMap::new(),
    };
    let mut events = server.subscribe();
    let mut line = Vec::new();
    let max = server.options().max_message_bytes;
    let result = loop {
        tokio::select! {
            read = source.next(&mut line, max) => match read {
                Ok(Line::Eof) => break Ok(()),
                Ok(Line::Complete) => connection.handle_line(&line).await,
                Ok(Line::TooLong) => {
                    connection.reply_error(None, ErrorObject::new(
                        error_code::PARSE_ERROR,
                        format!("parse error: message longer than {max} bytes"),
                    )).await;
                }
                Err(e) => break Err(ServerError::Io(e)),
            },
            Some(done) = connection.tasks.join_next_with_id(), if !connection.tasks.is_empty() => {
                connection.finished(done);
            }
            event = events.recv() => connection.on_event(event).await,
        }
    };
    // Input closed: let in-flight requests answer, within a deadline.
    let drained = tokio::time::timeout(DRAIN_DEADLINE, async {
        while let Some(done) = connection.tasks.join_next_with_id().await {
            connection.finished(done);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("requests still running at shutdown were cancelled");
        connection.tasks.abort_all();
    }
    result
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads one line into `buf` (without the newline), never holding more than
/// `max` bytes of it.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            // EOF: a last line without a newline still counts.
            return Ok(if too_long {
                Line::TooLong
            } else if buf.is_empty() {
                Line::Eof
            } else {
                Line::Complete
            });
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long && buf.len() + chunk.len() <= max {
            buf.extend_from_slice(chunk);
        } else {
            too_long = true;
            buf.clear();
        }
        let consumed = found.unwrap_or(available.len());
        reader.consume(consumed);
        if found.is_some() {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::Receiver<Outgoing>,
) -> Result<(), ServerError> {
    let mut buf = Vec::with_capacity(4096);
    while let Some(outgoing) = rx.recv().await {
        buf.clear();
        let encoded = match &outgoing {
            Outgoing::One(message) => serde_json::to_writer(&mut buf, message),
            Outgoing::Batch(messages) => serde_json::to_writer(&mut buf, messages),
        };
        if let Err(e) = encoded {
            tracing::error!(error = %e, "outgoing message could not be encoded");
            continue;
        }
        buf.push(b'\n');
        writer.write_all(&buf).await?;
        writer.flush().await?;
    }
    writer.shutdown().await.or_else(|e| {
        // Closing stdout of a process whose reader left is not an error.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    Ok(())
}

struct Connection {
    server: Server,
    session: Arc<Session>,
    outbound: Outbound,
    tasks: JoinSet<()>,
    in_flight: HashMap<RequestId, InFlight>,
}

impl Connection {
    async fn handle_line(&mut self, line: &[u8]) {
        let Ok(text) = std::str::from_utf8(line) else {
            self.reply_error(
                None,
                ErrorObject::new(
                    error_code::PARSE_ERROR,
                    "parse error: the message is not valid UTF-8",
                ),
            )
            .await;
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        match Incoming::parse(text) {
            Ok(Incoming::Single(message)) => self.handle_message(message).await,
            Ok(Incoming::Batch(items)) => self.handle_batch(items).await,
            Err(error) => self.outbound.send(Message::Error(error)).await,
        }
    }

    async fn handle_message(&mut self, message: Message) {
        match message {
            Message::Request(request) => {
                let id = request.id.clone();
                if self.in_flight.contains_key(&id) {
                    self.reply_error(
                        Some(id.clone()),
                        ErrorObject::new(
                            error_code::INVALID_REQUEST,
                            format!("invalid request: request id {id} is already in use by a request in progress"),
                        ),
                    )
                    .await;
                    return;
                }
                let limit = self.server.options().max_in_flight;
                if self.in_flight.len() >= limit {
                    self.reply_error(Some(id), crate::session::in_flight_error(limit))
                        .await;
                    return;
                }
                if request.method == mcp_core::method::INITIALIZE {
                    // Answered before the next line is read, so a client
                    // that pipelines requests behind `initialize` finds the
                    // session ready. It runs no user code.
                    let answer = router::handle_request(
                        self.server.clone(),
                        Wire::Session(Arc::clone(&self.session)),
                        request,
                        self.outbound.clone(),
                        CancellationToken::new(),
                    )
                    .await;
                    self.outbound.send(answer.message).await;
                    return;
                }
                let cancellation = CancellationToken::new();
                let outbound = self.outbound.clone();
                let task = router::handle_request(
                    self.server.clone(),
                    Wire::Session(Arc::clone(&self.session)),
                    request,
                    self.outbound.clone(),
                    cancellation.clone(),
                );
                let abort = self.tasks.spawn(async move {
                    let answer = task.await;
                    outbound.send(answer.message).await;
                });
                self.in_flight.insert(
                    id,
                    InFlight {
                        abort,
                        cancellation,
                    },
                );
            }
            Message::Notification(notification) => self.handle_notification(notification),
            answer @ (Message::Response(_) | Message::Error(_)) => self.session.answer(answer),
        }
    }

    /// A batch (2025-03-26 only): every request in it runs, and their
    /// responses go back together as one array.
    async fn handle_batch(&mut self, items: Vec<Result<Message, ErrorResponse>>) {
        if self.session.version() != Some(ProtocolVersion::V2025_03_26) {
            self.reply_error(
                None,
                ErrorObject::new(
                    error_code::INVALID_REQUEST,
                    "invalid request: JSON-RPC batches are only allowed on protocol 2025-03-26, after `initialize`",
                ),
            )
            .await;
            return;
        }
        let mut requests = Vec::new();
        let mut responses = Vec::new();
        for item in items {
            match item {
                Ok(Message::Request(request)) => requests.push(request),
                Ok(Message::Notification(n)) => self.handle_notification(n),
                Ok(_) => {}
                Err(error) => responses.push(Message::Error(error)),
            }
        }
        let server = self.server.clone();
        let session = Arc::clone(&self.session);
        let outbound = self.outbound.clone();
        self.tasks.spawn(async move {
            let answers = futures_util::future::join_all(requests.into_iter().map(|request| {
                router::handle_request(
                    server.clone(),
                    Wire::Session(Arc::clone(&session)),
                    request,
                    outbound.clone(),
                    CancellationToken::new(),
                )
            }))
            .await;
            responses.extend(answers.into_iter().map(|answer| answer.message));
            if !responses.is_empty() {
                outbound.send_batch(responses).await;
            }
        });
    }

    fn handle_notification(&mut self, notification: Notification) {
        match notification.method.as_str() {
            notification::INITIALIZED => self.session.mark_initialized(),
            notification::CANCELLED => {
                let Some(id) = super::cancelled_request(&notification) else {
                    return;
                };
                // Unknown ids are ignored: the request may have just finished.
                if let Some(in_flight) = self.in_flight.remove(&id) {
                    in_flight.cancellation.cancel();
                    in_flight.abort.abort();
                }
            }
            other => tracing::debug!(method = other, "ignoring notification"),
        }
    }

    fn finished(&mut self, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match &done {
            Ok((id, ())) => *id,
            Err(e) => e.id(),
        };
        if let Err(e) = &done
            && e.is_panic()
        {
            tracing::error!("a request task panicked outside its handler");
        }
        self.in_flight.retain(|_, f| f.abort.id() != id);
    }

    async fn on_event(&mut self, event: Result<ServerEvent, broadcast::error::RecvError>) {
        let event = match event {
            Ok(event) => event,
            // Missed events still mean "something changed".
            Err(broadcast::error::RecvError::Lagged(_)) => ServerEvent::ToolsChanged,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Some(message) = self.session.notification_for(&event) {
            self.outbound.send(message).await;
        }
    }

    async fn reply_error(&self, id: Option<RequestId>, error: ErrorObject) {
        self.outbound
            .send(Message::Error(ErrorResponse::new(id, error)))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_lines_and_bounds_them() {
        let input: &[u8] = b"one\nmuch-too-long\ntwo";
        let mut reader = BufReader::new(input);
        let mut buf = Vec::new();
        assert!(matches!(
            read_line(&mut reader, &mut buf, 8).await.unwrap(),
            Line::Complete
        ));
        assert_eq!(buf, b"one");
        // A line over the bound is skipped whole, and reading goes on.
        assert!(matches!(
            read_line(&mut reader, &mut buf, 8).await.unwrap(),
            Line::TooLong
        ));
        assert!(matches!(
            read_line(&mut reader, &mut buf, 8).await.unwrap(),
            Line::Complete
        ));
        assert_eq!(buf, b"two");
        assert!(matches!(
            read_line(&mut reader, &mut buf, 8).await.unwrap(),
            Line::Eof
        ));
    }
}
