//! Resumable SSE streams of sessions (2025-03-26 to 2025-11-25): a
//! request's messages go into the event store as they come, whether or not
//! its client is still connected, and every stream reads them back from
//! there. A client whose stream broke resumes it with `GET` and
//! `Last-Event-ID`, and receives what it missed, then the rest.

use std::io::Write as _;

use tokio_util::sync::CancellationToken;

use super::*;
use mcp_core::jsonrpc::ErrorObject;

use crate::store::shared::Shared as Stores;
use crate::transport::http::history::{EventId, EventStore, EventStoreError, Producer, StreamKey};

/// How long a reader waits on the store before looking again; the store
/// wakes it sooner when an event comes.
const WAIT: Duration = Duration::from_secs(30);

/// How often a reader waiting on another replica's stream checks that the
/// replica is still alive.
const PRODUCER_CHECK: Duration = Duration::from_secs(1);

/// A fresh stream id: `p` (a POST's stream) or `g` (the GET stream), then
/// 128 random bits.
pub(super) fn new_stream(kind: char) -> Option<Arc<str>> {
    match crate::transport::http::sessions::new_session_id() {
        Ok(id) => Some(format!("{kind}{id}").into()),
        Err(e) => {
            tracing::error!(error = %e, "no randomness for a stream id");
            None
        }
    }
}

/// The JSON data of an event.
pub(super) fn encode(outgoing: &Outgoing) -> Option<Bytes> {
    match outgoing {
        Outgoing::One(message) => encode_message(message),
        Outgoing::Batch(messages) => {
            let room = messages.iter().map(room_for).sum::<usize>() + 2;
            written(room, messages)
        }
    }
}

fn encode_message(message: &Message) -> Option<Bytes> {
    written(room_for(message), message)
}

/// `value` as JSON in a buffer of `room` bytes: sized once, so a large
/// result is not copied through doubling buffers, each up to twice its size.
fn written(room: usize, value: &impl serde::Serialize) -> Option<Bytes> {
    let mut buf = Vec::with_capacity(room);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => Some(buf.into()),
        Err(e) => {
            tracing::error!(error = %e, "outgoing message could not be encoded");
            None
        }
    }
}

/// Room for a message's JSON: a result's own length and its envelope.
fn room_for(message: &Message) -> usize {
    match message {
        Message::Response(response) => response.result.get().len() + 96,
        _ => 256,
    }
}

/// Where a request's events go: the store, then the client while it is
/// connected.
struct Sink<'a> {
    events: &'a dyn EventStore,
    key: &'a StreamKey,
    live: mpsc::Sender<Bytes>,
}

impl Sink<'_> {
    /// Stores one event, then sends it with its id to the connected client
    /// (waiting while it is slow, as the request would without a store).
    /// An event the store refused is still sent, without an id.
    async fn send(&self, data: Option<Bytes>) {
        let Some(data) = data else { return };
        let mut buf = Vec::with_capacity(data.len() + 64);
        match self.events.append(self.key, data.clone()).await {
            Ok(seq) => write_event(&mut buf, &self.key.stream, seq, &data),
            Err(e) => {
                tracing::error!(error = %e, session = %self.key.session, stream = %self.key.stream, "an SSE event could not be stored");
                buf.extend_from_slice(b"data: ");
                buf.extend_from_slice(&data);
                buf.extend_from_slice(b"\n\n");
            }
        }
        if !self.live.is_closed() {
            let _ = self.live.send(Bytes::from(buf)).await;
        }
    }
}

/// Moves a request's messages into its stream until its response (or its
/// cancellation), independently of the client's connection: while the
/// client is connected they reach it through `live`; once its stream
/// broke, they wait in the store for it to resume.
pub(super) fn pump(
    events: Arc<dyn EventStore>,
    key: StreamKey,
    queued: Vec<Outgoing>,
    answer: Option<Answer>,
    mut rx: mpsc::Receiver<Outgoing>,
    mut answer_rx: oneshot::Receiver<Answer>,
    live: mpsc::Sender<Bytes>,
) {
    tokio::spawn(
        async move {
            let sink = Sink {
                events: &*events,
                key: &key,
                live,
            };
            for outgoing in &queued {
                sink.send(encode(outgoing)).await;
            }
            let answer = match answer {
                Some(answer) => Some(answer),
                None => loop {
                    tokio::select! {
                        biased;
                        Some(outgoing) = rx.recv() => sink.send(encode(&outgoing)).await,
                        answer = &mut answer_rx => break answer.ok(),
                    }
                },
            };
            while let Ok(outgoing) = rx.try_recv() {
                sink.send(encode(&outgoing)).await;
            }
            if let Some(answer) = answer {
                sink.send(encode_message(&answer.message)).await;
            }
            if let Err(e) = events.finish(&key).await {
                tracing::error!(error = %e, session = %key.session, "an SSE stream could not be marked finished");
            }
        }
        .in_current_span(),
    );
}

/// The body of a POST's stream: the priming event, if any, then the events
/// as the pump sends them, until the response.
pub(super) fn live(
    first: Option<Bytes>,
    rx: mpsc::Receiver<Bytes>,
) -> impl futures_util::Stream<Item = Bytes> + Send {
    futures_util::stream::unfold((first, rx), |(first, mut rx)| async move {
        if let Some(first) = first {
            return Some((first, (None, rx)));
        }
        let event = rx.recv().await?;
        Some((event, (None, rx)))
    })
}

/// Writes `id: <stream>-<seq>` and the data as one SSE event.
fn write_event(buf: &mut Vec<u8>, stream: &str, seq: u64, data: &[u8]) {
    let _ = write!(buf, "id: {stream}-{seq}\ndata: ");
    buf.extend_from_slice(data);
    buf.extend_from_slice(b"\n\n");
}

/// The priming event: an id to resume from, before anything else, and how
/// long to wait before reconnecting.
pub(super) fn priming(stream: &str, seq: u64, retry: Duration) -> Bytes {
    Bytes::from(format!(
        "id: {stream}-{seq}\nretry: {}\ndata: \n\n",
        retry.as_millis()
    ))
}

/// Where a reader stops: the session ended or the server is stopping.
#[derive(Clone)]
pub(super) struct Ends {
    pub(super) closed: CancellationToken,
    pub(super) shutdown: CancellationToken,
    /// Sessions whose streams are primed (2025-11-25) get, when the server
    /// stops, a last event with the id to resume from and the `retry`
    /// delay, so their clients resume on another replica.
    pub(super) retry: Option<Duration>,
}

impl Ends {
    /// The last event of a stream the server stops: an id to resume from
    /// and how long to wait, when the session's streams are primed.
    pub(super) fn stopping(&self, stream: &str, seq: u64) -> Option<Bytes> {
        self.retry.map(|retry| priming(stream, seq, retry))
    }
}

struct Follow {
    events: Arc<dyn EventStore>,
    key: StreamKey,
    cursor: u64,
    first: Option<Bytes>,
    ends: Ends,
    stores: Option<Arc<Stores>>,
    /// When the producer was last found alive; `None`: not yet checked.
    checked: Option<tokio::time::Instant>,
    done: bool,
}

/// The SSE events of a stored stream after `cursor`, as they come, until
/// the stream is finished: the body of a resumed POST stream.
///
/// With shared `stores`, a stream produced by another replica that stopped
/// (its heartbeat lease ran out) before finishing it is ended here with an
/// error answering its request, so the client does not wait forever.
pub(super) fn follow(
    events: Arc<dyn EventStore>,
    key: StreamKey,
    cursor: u64,
    first: Option<Bytes>,
    ends: Ends,
    stores: Option<Arc<Stores>>,
) -> impl futures_util::Stream<Item = Bytes> + Send {
    let state = Follow {
        events,
        key,
        cursor,
        first,
        ends,
        stores,
        checked: None,
        done: false,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        if let Some(first) = state.first.take() {
            return Some((first, state));
        }
        if state.done {
            return None;
        }
        let next = next_page(&mut state).await?;
        Some((next, state))
    })
}

/// The next events of a followed stream, or its last words; `None` when
/// it ends without any.
async fn next_page(state: &mut Follow) -> Option<Bytes> {
    let Follow {
        events,
        key,
        cursor,
        ends,
        stores,
        checked,
        done,
        ..
    } = state;
    loop {
        let page = match events.read_after(key, *cursor).await {
            Ok(page) => page,
            Err(EventStoreError::UnknownStream) => return None,
            Err(e) => {
                // The client may resume once the store is back.
                tracing::error!(error = %e, session = %key.session, "an SSE stream's events could not be read");
                return None;
            }
        };
        if let Some(last) = page.events.last() {
            let mut buf = Vec::new();
            for event in &page.events {
                write_event(&mut buf, &key.stream, event.seq, &event.data);
            }
            *cursor = last.seq;
            return Some(Bytes::from(buf));
        }
        if page.finished {
            return None;
        }
        if let Some(stores) = stores
            && checked.is_none_or(|at| at.elapsed() >= PRODUCER_CHECK)
        {
            *checked = Some(tokio::time::Instant::now());
            if end_if_orphaned(&**events, key, stores).await {
                continue;
            }
        }
        tokio::select! {
            () = ends.closed.cancelled() => return None,
            () = ends.shutdown.cancelled() => {
                *done = true;
                return ends.stopping(&key.stream, *cursor);
            }
            waited = events.wait(key, *cursor, WAIT.min(PRODUCER_CHECK)) => {
                if let Err(e) = waited {
                    tracing::error!(error = %e, session = %key.session, "waiting on an SSE stream's events failed");
                    return None;
                }
            }
        }
    }
}

/// Ends the stream with an error answering its request when the replica
/// producing it stopped; whether the stream may hold a new event now.
async fn end_if_orphaned(events: &dyn EventStore, key: &StreamKey, stores: &Stores) -> bool {
    let producer = match events.producer(key).await {
        Ok(Some(producer)) if producer.replica != stores.replica => producer,
        Ok(_) => return false,
        Err(e) => {
            tracing::warn!(error = %e, session = %key.session, "an SSE stream's producer could not be read");
            return false;
        }
    };
    let alive = stores.stores.tasks.alive(&producer.replica).await;
    match stores.observe(alive) {
        Ok(true) => return false,
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, "whether a stream's replica is alive could not be checked");
            return false;
        }
    }
    let Some(data) = encode_message(&producer_stopped(&producer)) else {
        return false;
    };
    match events.finish_with(key, data).await {
        Ok(ended) => {
            if ended.is_some() {
                tracing::warn!(session = %key.session, stream = %key.stream, replica = %producer.replica, request = %producer.request, "ended a stream whose replica stopped before answering");
            }
            true
        }
        Err(e) => {
            tracing::error!(error = %e, session = %key.session, "a stream whose replica stopped could not be ended");
            false
        }
    }
}

/// The answer to a request whose replica stopped before answering it.
fn producer_stopped(producer: &Producer) -> Message {
    Message::Error(ErrorResponse::new(
        Some(producer.request.clone()),
        ErrorObject::new(
            error_code::INTERNAL_ERROR,
            "the server replica running this request stopped before answering; its work is lost: retry the request",
        ),
    ))
}

/// Stores one event of the GET stream and frames it with its id; the
/// sequence number, when it was stored.
pub(super) async fn get_event(
    events: &dyn EventStore,
    key: &StreamKey,
    message: &Message,
) -> (Bytes, Option<u64>) {
    let mut buf = Vec::new();
    let Some(data) = encode_message(message) else {
        return (Bytes::new(), None);
    };
    match events.append(key, data.clone()).await {
        Ok(seq) => {
            write_event(&mut buf, &key.stream, seq, &data);
            (Bytes::from(buf), Some(seq))
        }
        Err(e) => {
            // Sent anyway, without an id: it cannot be resumed from.
            tracing::error!(error = %e, session = %key.session, "a GET stream event could not be stored");
            body::message_event(&mut buf, message);
            (Bytes::from(buf), None)
        }
    }
}

/// What a `Last-Event-ID` asks for, checked against the session's streams:
/// the stream's events after the id, or the response refusing it.
pub(super) async fn resume_point(
    events: &dyn EventStore,
    session: &str,
    last_event_id: &str,
) -> Result<(EventId, StreamKey, Vec<u8>, bool), Box<Response<McpBody>>> {
    let refuse = || {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: the Last-Event-ID names no stream of this session (unknown, expired, or another session's); open a new stream without it",
        ))
    };
    let id = EventId::parse(last_event_id).ok_or_else(refuse)?;
    let key = StreamKey::new(session, Arc::clone(&id.stream));
    match events.read_after(&key, id.seq).await {
        Ok(page) => {
            let mut buf = Vec::new();
            let mut last = id.seq;
            for event in &page.events {
                write_event(&mut buf, &key.stream, event.seq, &event.data);
                last = event.seq;
            }
            let at = EventId {
                stream: Arc::clone(&id.stream),
                seq: last,
            };
            Ok((at, key, buf, page.finished))
        }
        Err(EventStoreError::UnknownStream) => Err(refuse()),
        Err(e) => {
            tracing::error!(error = %e, "the event store could not be read for a resumption");
            Err(Box::new(error(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                error_code::INTERNAL_ERROR,
                "the stream's history is unavailable right now; retry later",
            )))
        }
    }
}
