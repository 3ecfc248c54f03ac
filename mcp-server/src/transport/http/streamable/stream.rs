//! GET: the session's stream of server messages; DELETE: ending a session.

use std::future::Future;

use super::*;
use crate::transport::http::history;

/// GET: the session's stream of messages that belong to no request, such
/// as list-change notifications (one per session), or, with
/// `Last-Event-ID`, the resumption of a stream that broke.
pub(crate) fn get<B>(
    shared: &Arc<Shared>,
    request: &Request<B>,
) -> impl Future<Output = Response<McpBody>> + Send + 'static {
    // Only what is sent along: a request body need not be `Sync`.
    let headers = request.headers().clone();
    let principal = super::super::principal_of(request);
    let peer = super::super::peer_of(request);
    let shared = Arc::clone(shared);
    async move { open_stream(&shared, &headers, principal, peer).await }
}

async fn open_stream(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    principal: Option<Arc<Principal>>,
    peer: Option<std::net::IpAddr>,
) -> Response<McpBody> {
    if header_str(headers, &SESSION_ID).is_none() && is_stateless_header(headers) {
        return method_not_allowed("POST");
    }
    if !Accept::of(headers).sse {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: the GET stream needs Accept: text/event-stream",
        );
    }
    if shared.drain.is_draining() {
        return drain::refused(None);
    }
    let session = match session_of(shared, headers, None, principal.as_deref(), peer).await {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let events = Arc::clone(&shared.config.event_store);
    let primed = session
        .session
        .version()
        .is_some_and(|v| v >= ProtocolVersion::V2025_11_25 && !v.is_stateless());
    let ends = resume::Ends {
        closed: session.closed.clone(),
        shutdown: shared.server.shutdown_signal().clone(),
        retry: primed.then_some(shared.config.sse_retry),
    };
    let mut replay = Vec::new();
    let mut stream = None;
    let mut cursor = 0;
    if let Some(last) = header_str(headers, &names::LAST_EVENT_ID) {
        let (at, key, missed, _) = match resume::resume_point(&*events, &session.id, last).await {
            Ok(point) => point,
            Err(response) => return *response,
        };
        tracing::debug!(session = %session.id, last_event_id = last, "resuming a stream");
        if !at.is_get_stream() {
            // A POST's stream: what it missed, then the rest, up to the
            // response. It is not the session's GET stream.
            let first = (!missed.is_empty()).then(|| Bytes::from(missed));
            let guard = StreamGuard::new(Arc::clone(&shared.open_streams));
            let stores = shared.server.shared().cloned();
            let body = resume::follow(events, key, at.seq, first, ends, stores);
            return sse_response(SseBody::new(body, Some(shared.config.keep_alive), guard));
        }
        replay = missed;
        stream = Some(key);
        cursor = at.seq;
    }
    if session.stream_open.swap(true, Ordering::AcqRel) {
        return error(
            StatusCode::CONFLICT,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: this session already has an open GET stream",
        );
    }
    let key = match stream {
        Some(key) => key,
        None => {
            let Some(stream) = resume::new_stream('g') else {
                session.stream_open.store(false, Ordering::Release);
                return empty(StatusCode::INTERNAL_SERVER_ERROR);
            };
            let key = history::StreamKey::new(Arc::clone(&session.id), stream);
            if let Err(e) = events.open(&key).await {
                tracing::error!(error = %e, "the GET stream could not be opened in the event store");
            }
            key
        }
    };
    let closing = Arc::clone(&session);
    let closing_in = Arc::clone(shared);
    let guard = StreamGuard::new(Arc::clone(&shared.open_streams)).on_close(move || {
        closing.stream_open.store(false, Ordering::Release);
        closing_in.sessions.touch(&closing);
    });
    let state = GetStream {
        server_events: shared.server.subscribe(),
        session,
        ends,
        events,
        key,
        cursor,
        replay: (!replay.is_empty()).then(|| Bytes::from(replay)),
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut state| async move {
        if let Some(replay) = state.replay.take() {
            return Some((replay, state));
        }
        if state.done {
            return None;
        }
        loop {
            let event = tokio::select! {
                () = state.ends.closed.cancelled() => return None,
                () = state.ends.shutdown.cancelled() => {
                    // Where to resume, on another replica.
                    state.done = true;
                    let last = state.ends.stopping(&state.key.stream, state.cursor)?;
                    return Some((last, state));
                }
                event = state.server_events.recv() => event,
            };
            let event = match event {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(_)) => ServerEvent::ToolsChanged,
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let Some(message) = state.session.session.notification_for(&event) else {
                continue;
            };
            let (bytes, seq) = resume::get_event(&*state.events, &state.key, &message).await;
            if let Some(seq) = seq {
                state.cursor = seq;
            }
            return Some((bytes, state));
        }
    });
    sse_response(SseBody::new(body, Some(shared.config.keep_alive), guard))
}

/// The session's GET stream as it goes.
struct GetStream {
    server_events: broadcast::Receiver<ServerEvent>,
    session: Arc<HttpSession>,
    ends: resume::Ends,
    events: Arc<dyn history::EventStore>,
    key: history::StreamKey,
    /// The last event sent, to resume from.
    cursor: u64,
    replay: Option<Bytes>,
    done: bool,
}

/// DELETE: ends the session.
pub(crate) fn delete<B>(
    shared: &Arc<Shared>,
    request: &Request<B>,
) -> impl Future<Output = Response<McpBody>> + Send + 'static {
    let headers = request.headers().clone();
    let principal = super::super::principal_of(request);
    let peer = super::super::peer_of(request);
    let shared = Arc::clone(shared);
    async move { end_session(&shared, &headers, principal, peer).await }
}

async fn end_session(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    principal: Option<Arc<Principal>>,
    peer: Option<std::net::IpAddr>,
) -> Response<McpBody> {
    let Some(id) = header_str(headers, &SESSION_ID) else {
        if is_stateless_header(headers) {
            return method_not_allowed("POST");
        }
        return error(
            StatusCode::BAD_REQUEST,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: the Mcp-Session-Id header is missing",
        );
    };
    let owned = match super::super::replicas::lookup(shared, id, principal.as_deref(), peer).await {
        Ok(session) => session.is_some(),
        Err(e) => return super::super::replicas::unreachable(None, &e),
    };
    // Only its owner may end a session: another caller learns nothing.
    let ended = owned
        && match super::super::replicas::end(shared, id).await {
            Ok(ended) => ended,
            Err(e) => return super::super::replicas::unreachable(None, &e),
        };
    if owned && ended {
        tracing::info!(session = id, "session ended by the client");
        let events = Arc::clone(&shared.config.event_store);
        let id = id.to_owned();
        // The history goes in the background: the answer need not wait.
        tokio::spawn(async move {
            if let Err(e) = events.forget(&id).await {
                tracing::warn!(error = %e, "an ended session's stream history could not be removed");
            }
        });
        empty(StatusCode::OK)
    } else {
        error(
            StatusCode::NOT_FOUND,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: unknown or expired session",
        )
    }
}

pub(super) fn is_stateless_header(headers: &HeaderMap) -> bool {
    header_str(headers, &PROTOCOL_VERSION)
        .and_then(|v| v.trim().parse::<ProtocolVersion>().ok())
        .is_some_and(ProtocolVersion::is_stateless)
}
