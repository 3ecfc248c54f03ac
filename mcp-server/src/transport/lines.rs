//! A connection of newline-delimited JSON-RPC messages: stdio, and the
//! in-memory pipe the test client uses.
//!
//! One reader loop frames and parses lines and runs each request, in a task
//! of its own once it waits on anything, so requests run concurrently (up to
//! the per-session limit; more wait their turn); one writer task owns the
//! output, so messages never interleave. A
//! protocol error is answered and the loop goes on; only EOF or an I/O error
//! ends the connection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{
    ErrorObject, ErrorResponse, Incoming, Message, Notification, Request, RequestId, error_code,
};
use mcp_core::notification;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::framing::{Frame, LineDecoder};
use super::requests::{Admission, Refused, Requests, Slot};
use crate::audit::Stop;
use crate::auth::Principal;
use crate::router::{self, Wire};
use crate::server::{Server, ServerError, ServerEvent};
use crate::session::Session;
use crate::transport::{Delivered, Outbound, Outgoing};

/// How long a closing connection waits for its audit records to be written.
const AUDIT_FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// How long in-flight requests may run on after the input closes.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Serves one connection until its input ends or `stop` is cancelled;
/// either way the requests in flight are drained before it returns.
pub(crate) async fn serve<R, W>(
    server: Server,
    reader: R,
    writer: W,
    stop: CancellationToken,
) -> Result<(), ServerError>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(256);
    let writer = tokio::spawn(write_loop(writer, rx));
    let max = server.options().max_message_bytes;
    let source = Source::Lines(FramedRead::new(reader, LineDecoder::new(max)));
    let result = run(server, source, tx, None, None, stop).await;
    writer.await??;
    result
}

/// Serves one connection whose messages arrive whole on `incoming` (the
/// legacy SSE transport's POSTs) and leave on `outgoing`, until `incoming`
/// closes.
pub(crate) async fn serve_messages(
    server: Server,
    incoming: mpsc::Receiver<Delivered>,
    outgoing: mpsc::Sender<Outgoing>,
    principal: Option<Arc<Principal>>,
    peer: Option<std::net::IpAddr>,
) {
    let source: Source<tokio::io::Empty> = Source::Messages(incoming);
    // A channel source never fails; it stops when its sender closes it.
    let _ = run(
        server,
        source,
        outgoing,
        principal,
        peer,
        CancellationToken::new(),
    )
    .await;
}

/// Where a connection's messages come from. Both kinds of
/// [`Source::next`] are cancel-safe: a frame half read stays in the
/// `FramedRead` buffer, a message not yet received stays in the channel.
enum Source<R> {
    Lines(FramedRead<R, LineDecoder>),
    Messages(mpsc::Receiver<Delivered>),
}

/// One message of the input, and who sent it when each message is
/// authenticated on its own.
enum Input {
    Message(Bytes, Option<Arc<Principal>>),
    TooLong,
}

impl<R: AsyncRead + Unpin> Source<R> {
    async fn next(&mut self) -> Option<std::io::Result<Input>> {
        match self {
            Self::Lines(lines) => Some(lines.next().await?.map(|frame| match frame {
                Frame::Line(line) => Input::Message(line.freeze(), None),
                Frame::TooLong => Input::TooLong,
            })),
            Self::Messages(rx) => rx
                .recv()
                .await
                .map(|delivered| Ok(Input::Message(delivered.bytes, delivered.principal))),
        }
    }
}

async fn run<R: AsyncRead + Unpin>(
    server: Server,
    mut source: Source<R>,
    tx: mpsc::Sender<Outgoing>,
    principal: Option<Arc<Principal>>,
    peer: Option<std::net::IpAddr>,
    stop: CancellationToken,
) -> Result<(), ServerError> {
    let outbound = Outbound::new(tx);
    let session = Arc::new(Session::new());
    if let Some(principal) = principal {
        session.bind_principal(principal);
    }
    if let Some(peer) = peer {
        session.set_peer(peer);
    }
    let options = server.options();
    let max = options.max_message_bytes;
    let requests = Requests::new(options.max_in_flight, max);
    let mut connection = Connection {
        server: server.clone(),
        session,
        outbound,
        tasks: JoinSet::new(),
        requests,
        stopping: server.shutdown_signal().child_token(),
    };
    let mut events = server.subscribe();
    let result = loop {
        // Every branch is cancel-safe: a branch that loses loses nothing.
        tokio::select! {
            // Too many waiting: read on once some finish.
            input = source.next(), if connection.requests.has_room() => match input {
                None => break Ok(()),
                Some(Ok(Input::Message(message, principal))) => {
                    connection.handle_line(&message, principal).await;
                }
                Some(Ok(Input::TooLong)) => {
                    connection.reply_error(None, ErrorObject::new(
                        error_code::PARSE_ERROR,
                        format!("parse error: message longer than {max} bytes"),
                    )).await;
                }
                Some(Err(e)) => break Err(ServerError::Io(e)),
            },
            Some(done) = connection.tasks.join_next(), if !connection.tasks.is_empty() => {
                connection.finished(done);
            }
            event = events.recv() => connection.on_event(event).await,
            // Read no more: what is in flight is drained as at end of input.
            () = stop.cancelled() => break Ok(()),
        }
        connection.start_ready();
    };
    connection.drain().await;
    // Every request is answered: their audit records go out before the
    // connection is done, within a bound should the sink hang.
    if tokio::time::timeout(AUDIT_FLUSH_DEADLINE, server.flush_audit())
        .await
        .is_err()
    {
        tracing::warn!("audit records still unwritten when the connection closed");
    }
    result
}

/// How many bytes of answers the writer gathers before it writes them.
const WRITE_BATCH: usize = 64 * 1024;

/// The largest write buffer kept between writes: one that grew for a large
/// message is given back rather than held for the connection's lifetime.
const KEPT_BUFFER: usize = 64 * 1024;

/// Writes every message that is ready in one write and one flush: under
/// load, answers that finish together cost one system call, not one each.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::Receiver<Outgoing>,
) -> Result<(), ServerError> {
    let mut buf = Vec::with_capacity(4096);
    while let Some(outgoing) = rx.recv().await {
        buf.clear();
        encode_line(&mut buf, &outgoing);
        while buf.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(outgoing) => encode_line(&mut buf, &outgoing),
                Err(_) => break,
            }
        }
        if buf.is_empty() {
            continue;
        }
        writer.write_all(&buf).await?;
        writer.flush().await?;
        if buf.capacity() > KEPT_BUFFER {
            buf = Vec::with_capacity(4096);
        }
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

/// Appends `outgoing` and its newline to `buf`; a message that cannot be
/// encoded is logged and leaves `buf` as it was.
fn encode_line(buf: &mut Vec<u8>, outgoing: &Outgoing) {
    let start = buf.len();
    let encoded = match outgoing {
        Outgoing::One(message) => serde_json::to_writer(&mut *buf, message),
        Outgoing::Batch(messages) => serde_json::to_writer(&mut *buf, messages),
    };
    match encoded {
        Ok(()) => buf.push(b'\n'),
        Err(e) => {
            buf.truncate(start);
            tracing::error!(error = %e, "outgoing message could not be encoded");
        }
    }
}

struct Connection {
    server: Server,
    session: Arc<Session>,
    outbound: Outbound,
    tasks: JoinSet<()>,
    requests: Requests,
    /// Cancelled when the server shuts down, or when this connection stops
    /// the requests it could not finish.
    stopping: CancellationToken,
}

impl Connection {
    async fn handle_line(&mut self, line: &[u8], principal: Option<Arc<Principal>>) {
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
            Ok(Incoming::Single(message)) => {
                self.handle_message(message, line.len(), principal).await;
            }
            Ok(Incoming::Batch(items)) => self.handle_batch(items, principal).await,
            Err(error) => self.outbound.send(Message::Error(error)).await,
        }
    }

    async fn handle_message(
        &mut self,
        message: Message,
        bytes: usize,
        principal: Option<Arc<Principal>>,
    ) {
        match message {
            Message::Request(request) if request.method == mcp_core::method::INITIALIZE => {
                // Answered before the next line is read, so a client that
                // pipelines requests behind `initialize` finds the session
                // ready. It runs no user code.
                let answer = router::handle_request(
                    self.server.clone(),
                    self.wire(principal),
                    request,
                    self.outbound.clone(),
                    self.stop(CancellationToken::new()),
                    None,
                )
                .await;
                self.outbound.send(answer.message).await;
            }
            Message::Request(request) => match self.requests.admit(request, bytes, principal) {
                Admission::Run(request, slot) => self.spawn(request, slot),
                Admission::Queued => {}
                Admission::DuplicateId(request) => {
                    let error = id_in_use(&request.id);
                    self.reply_error(Some(request.id), error).await;
                }
            },
            Message::Notification(notification) => self.handle_notification(notification),
            answer @ (Message::Response(_) | Message::Error(_)) => {
                if !self.session.answer(answer) {
                    tracing::debug!("ignoring a response to no pending request");
                }
            }
        }
    }

    /// Runs a request: [polled once here](super::poll_in_place), and in a
    /// task of its own (boxed, it moves as a pointer) only if it is still
    /// pending. Its slot is given back once its answer is handed to the
    /// writer; an answer the writer has no room for keeps its slot while it
    /// waits, so a client that reads no answers soon fills its slots and
    /// its queue and stops being read, rather than making the server hold
    /// an answer for every request it sends.
    fn spawn(&mut self, request: Request, slot: Slot) {
        let task = router::handle_request(
            self.server.clone(),
            self.wire(slot.principal().cloned()),
            request,
            self.outbound.clone(),
            self.stop(slot.cancellation().clone()),
            None,
        );
        let mut task = Box::pin(task);
        match super::poll_in_place(task.as_mut()) {
            Some(Ok(answer)) => match self.outbound.try_send(answer.message) {
                Ok(()) => slot.release(),
                // The writer is behind: the answer waits in a task, with its
                // slot, and the reader goes on.
                Err(waiting) => {
                    let outbound = self.outbound.clone();
                    self.tasks.spawn(async move {
                        outbound.send_later(waiting).await;
                        slot.release();
                    });
                }
            },
            // As a request task that panicked: no answer, the slot given back.
            Some(Err(_)) => {
                drop(slot);
                tracing::error!("a request task panicked outside its handler");
            }
            None => {
                let key = slot.key();
                let outbound = self.outbound.clone();
                let abort = self.tasks.spawn(async move {
                    let answer = task.await;
                    outbound.send(answer.message).await;
                    slot.release();
                });
                self.requests.set_task(&key, abort);
            }
        }
    }

    /// A batch (2025-03-26 only): every request in it runs, and their
    /// responses go back together as one array.
    async fn handle_batch(
        &mut self,
        items: Vec<Result<Message, ErrorResponse>>,
        principal: Option<Arc<Principal>>,
    ) {
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
        // Each request takes a slot of the connection's, as one sent alone
        // does, or is refused in the batch's answer: batches neither run
        // past the limit nor reuse the id of a request in progress, and
        // each can be cancelled.
        let mut running = Vec::new();
        let mut responses = Vec::new();
        for item in items {
            match item {
                Ok(Message::Request(request)) => {
                    match self.requests.start_now(&request.id, principal.clone()) {
                        Ok(slot) => {
                            let stop = self.stop(slot.cancellation().clone());
                            running.push((request, slot, stop));
                        }
                        Err(refused) => {
                            let error = match refused {
                                Refused::InUse => id_in_use(&request.id),
                                Refused::Full(limit) => crate::session::in_flight_error(limit),
                            };
                            responses
                                .push(Message::Error(ErrorResponse::new(Some(request.id), error)));
                        }
                    }
                }
                Ok(Message::Notification(n)) => self.handle_notification(n),
                Ok(_) => {}
                Err(error) => responses.push(Message::Error(error)),
            }
        }
        let server = self.server.clone();
        let wire = self.wire(principal);
        let outbound = self.outbound.clone();
        self.tasks.spawn(async move {
            let (calls, slots): (Vec<_>, Vec<_>) = running
                .into_iter()
                .map(|(request, slot, stop)| {
                    let call = router::handle_request(
                        server.clone(),
                        wire.clone(),
                        request,
                        outbound.clone(),
                        stop,
                        None,
                    );
                    (call, slot)
                })
                .unzip();
            let answers = futures_util::future::join_all(calls).await;
            // Given back before the answers are written, as for one request.
            slots.into_iter().for_each(Slot::release);
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
                self.requests.cancel(&id);
            }
            other => tracing::debug!(method = other, "ignoring notification"),
        }
    }

    /// What tells a request's audit record why it stopped unanswered.
    fn stop(&self, cancellation: CancellationToken) -> Stop {
        Stop {
            cancellation,
            shutdown: self.stopping.clone(),
        }
    }

    /// How a request of `principal` reaches the router on this connection.
    fn wire(&self, principal: Option<Arc<Principal>>) -> Wire {
        Wire::Session {
            session: Arc::clone(&self.session),
            principal,
        }
    }

    fn finished(&mut self, done: Result<(), tokio::task::JoinError>) {
        if let Err(e) = done
            && e.is_panic()
        {
            tracing::error!("a request task panicked outside its handler");
        }
    }

    /// Starts the waiting requests that have a slot now.
    fn start_ready(&mut self) {
        while let Some((request, slot)) = self.requests.next_ready() {
            self.spawn(request, slot);
        }
    }

    /// The input closed: lets the requests in progress and those waiting
    /// answer, within a deadline; the rest are stopped and answered with an
    /// error, so every request gets exactly one response.
    async fn drain(&mut self) {
        let drained = tokio::time::timeout(DRAIN_DEADLINE, async {
            loop {
                self.start_ready();
                if self.requests.is_idle() && self.tasks.is_empty() {
                    break;
                }
                match self.tasks.join_next().await {
                    Some(done) => self.finished(done),
                    // Nothing runs, yet requests wait: cannot happen, as a
                    // free slot starts the next one above.
                    None => break,
                }
            }
        })
        .await;
        if drained.is_ok() {
            return;
        }
        tracing::warn!(
            "requests still running {}s after the input closed were stopped",
            DRAIN_DEADLINE.as_secs()
        );
        // Their audit records say the shutdown stopped them.
        self.stopping.cancel();
        let stopped = self.requests.stop_all();
        // A client that no longer reads must not hold the process open.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            for id in stopped {
                let error = ErrorObject::new(
                    error_code::INTERNAL_ERROR,
                    format!(
                        "internal error: the connection closed and the request did not finish within {}s",
                        DRAIN_DEADLINE.as_secs()
                    ),
                );
                self.reply_error(Some(id), error).await;
            }
            // Tasks past their handler are writing their answer.
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        self.tasks.abort_all();
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

/// -32600 for a request whose id belongs to a request in progress.
fn id_in_use(id: &RequestId) -> ErrorObject {
    ErrorObject::new(
        error_code::INVALID_REQUEST,
        format!("invalid request: request id {id} is already in use by a request in progress"),
    )
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt as _;

    use super::*;
    use crate::router::fixtures::yielding_tool;

    /// How many of the lines `line(n)` makes a server with four slots reads
    /// from a client that never reads its answers, within three seconds.
    async fn read_from_a_client_that_reads_nothing(line: impl Fn(u32) -> String) -> u32 {
        let server = Server::builder()
            .tool(yielding_tool("yield"))
            .max_in_flight_per_session(4)
            .build();
        let (mut client, server_input) = tokio::io::duplex(16 * 1024);
        // Never read: the server's writer fills it and blocks.
        let (server_output, _unread) = tokio::io::duplex(4 * 1024);
        let serving = tokio::spawn(serve(
            server,
            server_input,
            server_output,
            CancellationToken::new(),
        ));
        let handshake = concat!(
            r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "\n",
        );
        client.write_all(handshake.as_bytes()).await.unwrap();
        let mut sent = 0u32;
        let sending = async {
            loop {
                client.write_all(line(sent).as_bytes()).await.unwrap();
                sent += 1;
            }
        };
        // It ends only if the server stops reading, which the unbounded
        // version never did (it read every line it was sent).
        let stopped = tokio::time::timeout(Duration::from_secs(3), sending).await;
        assert!(stopped.is_err());
        serving.abort();
        sent
    }

    /// A client that sends requests and never reads the answers must not
    /// make the server hold an answer for each: once the writer is full,
    /// the requests whose answers wait keep their slots, the rest wait in
    /// the bounded queue, and the connection stops being read. Both for
    /// requests answered at their first poll and for those answered from
    /// their own task.
    #[tokio::test]
    async fn a_client_that_never_reads_its_answers_stops_being_read() {
        let ping = |n| format!("{{\"jsonrpc\":\"2.0\",\"id\":{n},\"method\":\"ping\"}}\n");
        let call = |n| {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{n},\"method\":\"tools/call\",\"params\":{{\"name\":\"yield\"}}}}\n"
            )
        };
        // What the pipe into the server holds (16 KiB of lines), the
        // writer's channel (256) and batch (64 KiB of answers), the pipe out
        // (4 KiB), the slots (4) and the queue (64): at most some 2,600 (893
        // pings when measured). Unbounded, it read 250,000 pings in the
        // same time.
        for (kind, sent) in [
            ("pings", read_from_a_client_that_reads_nothing(ping).await),
            ("calls", read_from_a_client_that_reads_nothing(call).await),
        ] {
            assert!(
                sent < 4_000,
                "{sent} {kind} were read from a client that reads nothing"
            );
        }
    }
}
