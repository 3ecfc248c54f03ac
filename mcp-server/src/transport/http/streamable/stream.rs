//! GET: the session's stream of server messages; DELETE: ending a session.

use super::*;

/// GET: the session's stream of messages that belong to no request, such
/// as list-change notifications. One per session.
pub(crate) fn get<B>(shared: &Arc<Shared>, request: &Request<B>) -> Response<McpBody> {
    let headers = request.headers();
    if header_str(headers, SESSION_ID).is_none() && is_stateless_header(headers) {
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
    let principal = super::super::principal_of(request);
    let session = match session_of(shared, headers, None, principal.as_deref()) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    if session.stream_open.swap(true, Ordering::AcqRel) {
        return error(
            StatusCode::CONFLICT,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: this session already has an open GET stream",
        );
    }
    let closing = Arc::clone(&session);
    let closing_in = Arc::clone(shared);
    let guard = StreamGuard::new(Arc::clone(&shared.open_streams)).on_close(move || {
        closing.stream_open.store(false, Ordering::Release);
        closing_in.sessions.touch(&closing);
    });
    let state = (
        shared.server.subscribe(),
        session,
        shared.server.shutdown_signal().clone(),
    );
    let events =
        futures_util::stream::unfold(state, |(mut events, session, shutdown)| async move {
            loop {
                let event = tokio::select! {
                    () = session.closed.cancelled() => return None,
                    () = shutdown.cancelled() => return None,
                    event = events.recv() => event,
                };
                let event = match event {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => ServerEvent::ToolsChanged,
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                let Some(message) = session.session.notification_for(&event) else {
                    continue;
                };
                let mut buf = Vec::new();
                body::message_event(&mut buf, &message);
                return Some((Bytes::from(buf), (events, session, shutdown)));
            }
        });
    sse_response(SseBody::new(events, Some(shared.config.keep_alive), guard))
}

/// DELETE: ends the session.
pub(crate) fn delete<B>(shared: &Arc<Shared>, request: &Request<B>) -> Response<McpBody> {
    let headers = request.headers();
    let Some(id) = header_str(headers, SESSION_ID) else {
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
    let principal = super::super::principal_of(request);
    let owned = shared
        .sessions
        .get(id)
        .is_some_and(|s| s.session.belongs_to(principal.as_deref()));
    if owned && shared.sessions.remove(id) {
        tracing::info!(session = id, "session ended by the client");
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
    header_str(headers, PROTOCOL_VERSION)
        .and_then(|v| v.trim().parse::<ProtocolVersion>().ok())
        .is_some_and(ProtocolVersion::is_stateless)
}
