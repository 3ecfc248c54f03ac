//! GET: the session's stream of server messages; DELETE: ending a session.

use std::future::Future;

use super::*;

/// GET: the session's stream of messages that belong to no request, such
/// as list-change notifications. One per session.
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
    let session = match session_of(shared, headers, None, principal.as_deref(), peer).await {
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
