//! The HTTP+SSE transport of 2024-11-05: the client holds `GET /sse` open,
//! learns from its first event (`endpoint`) where to POST, and every answer
//! comes back as a `message` event on that stream.
//!
//! Each stream is one connection, served by the same loop as stdio, so
//! concurrency, cancellation and batches behave exactly as there.
//!
//! In a graceful shutdown a stream outlives the listener: its input closes,
//! its requests in flight answer on it, and it ends once they have, or at
//! the shutdown deadline.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use mcp_core::jsonrpc::{Incoming, error_code};
use tokio::sync::mpsc;

use super::body::{self, SseBody, StreamGuard};
use super::drain;
use super::legacy_shared;
use super::request::BodyLimits;
use super::{Accept, BoxError, McpBody, McpRequest, Shared, error, read_json_body, sse_response};
use crate::transport::{Delivered, Outgoing, lines};

/// GET `/sse`: opens a connection and its stream.
pub(super) async fn stream<B>(shared: &Arc<Shared>, request: Request<B>) -> Response<McpBody> {
    if !Accept::of(request.headers()).sse {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: the SSE stream needs Accept: text/event-stream",
        );
    }
    if shared.drain.is_draining() {
        return drain::refused(None);
    }
    let (in_tx, in_rx) = mpsc::channel::<Delivered>(32);
    let (out_tx, out_rx) = mpsc::channel::<Outgoing>(256);
    let principal = super::principal_of(&request);
    let peer = super::peer_of(&request);
    // Under a prefix the client must POST where it reached the stream.
    let messages_path = match request.extensions().get::<super::mount::MountedAt>() {
        Some(mounted) => mounted.path(super::mount::MESSAGES),
        None => shared.config.messages_path.clone(),
    };
    drop(request);
    // Opening a stream opens a session: it counts against the caller's
    // rate limit and session caps as `initialize` does.
    if let Err(response) = super::check_session_rate(shared, principal.as_deref(), peer, None).await
    {
        return *response;
    }
    let id = match shared.sessions.open_legacy(in_tx, principal.as_ref(), peer) {
        Ok(id) => id,
        Err(e) => return e.response(None),
    };
    // Behind a balancer, a POST for this stream may land on another
    // replica: it finds the stream's owner in the shared store.
    if let Err(e) = legacy_shared::register(shared, &id, principal.as_deref()).await {
        shared.sessions.close_legacy(&id);
        return super::replicas::unreachable(None, &e);
    }
    tracing::info!(session = %id, "legacy SSE session started");
    let connections = Arc::clone(&shared.connection_tasks);
    connections.fetch_add(1, Ordering::AcqRel);
    let server = shared.server.clone();
    tokio::spawn(async move {
        lines::serve_messages(server, in_rx, out_tx, principal, peer).await;
        connections.fetch_sub(1, Ordering::AcqRel);
    });

    let mut first = Vec::new();
    body::named_event(
        &mut first,
        "endpoint",
        &format!("{messages_path}?session_id={id}"),
    );
    let state = StreamState {
        first: Some(first),
        out_rx,
        shared: Arc::clone(shared),
        id: Arc::clone(&id),
        input_open: true,
    };
    let events = futures_util::stream::unfold(state, |mut state| async move {
        if let Some(first) = state.first.take() {
            return Some((Bytes::from(first), state));
        }
        let shutdown = state.shared.server.shutdown_signal().clone();
        let expired = state.shared.drain.expired();
        tokio::pin!(expired);
        let outgoing = loop {
            tokio::select! {
                () = shutdown.cancelled(), if state.input_open => {
                    // No more input: the connection answers what it has
                    // in flight, then ends, which ends this stream.
                    state.input_open = false;
                    state.shared.sessions.close_legacy(&state.id);
                }
                () = &mut expired => return None,
                outgoing = state.out_rx.recv() => break outgoing?,
            }
        };
        let mut buf = Vec::new();
        body::outgoing_event(&mut buf, &outgoing, true);
        Some((Bytes::from(buf), state))
    });
    let shared_for_close = Arc::clone(shared);
    let guard = StreamGuard::new(Arc::clone(&shared.open_streams)).on_close(move || {
        // Forgetting the session drops its input, which ends the connection.
        shared_for_close.sessions.close_legacy(&id);
        legacy_shared::unregister(&shared_for_close, &id);
        tracing::info!(session = %id, "legacy SSE session ended");
    });
    sse_response(SseBody::new(events, Some(shared.config.keep_alive), guard))
}

/// What a legacy stream's events come from.
struct StreamState {
    /// The `endpoint` event, sent first.
    first: Option<Vec<u8>>,
    out_rx: mpsc::Receiver<Outgoing>,
    shared: Arc<Shared>,
    id: Arc<str>,
    input_open: bool,
}

/// POST `/messages?session_id=...`: hands one message to its connection;
/// the answer arrives on the stream.
pub(super) async fn post<B>(shared: &Arc<Shared>, request: Request<B>) -> Response<McpBody>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    let principal = super::principal_of(&request);
    let (parts, body) = request.into_parts();
    // The SDKs disagree on the parameter's name; accept both.
    let id = parts.uri.query().and_then(|query| {
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == "session_id" || key == "sessionId").then_some(value)
        })
    });
    let Some(id) = id else {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: the session_id query parameter is missing",
        );
    };
    // Another identity's stream looks exactly like an unknown one.
    let session = shared
        .sessions
        .legacy(id)
        .filter(|s| crate::auth::same_owner(s.owner.as_deref(), principal.as_deref()));
    // Held here: its record lives on while it is used. Not held here: it
    // may be held by another replica, which gets the message.
    let known = if let Some(session) = &session {
        legacy_shared::touch(shared, id, session.owner.as_deref())
            .await
            .map(|()| true)
    } else {
        legacy_shared::held_elsewhere(shared, id, principal.as_deref()).await
    };
    match known {
        Ok(true) => {}
        Ok(false) => return unknown_session(),
        Err(e) => return super::replicas::unreachable(None, &e),
    }
    let bytes = match read_message(shared, &parts, body).await {
        Ok(bytes) => bytes,
        Err(response) => return *response,
    };
    if shared.drain.is_draining()
        && let Some(refusal) = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| Incoming::parse(text).ok())
            .and_then(|incoming| drain::refuse_new_work(&incoming))
    {
        return refusal;
    }
    match session {
        Some(session) => {
            // The message acts with this POST's credential, not the stream's.
            let delivered = Delivered { bytes, principal };
            if session.incoming.send(delivered).await.is_err() {
                return error(
                    StatusCode::NOT_FOUND,
                    None,
                    error_code::INVALID_REQUEST,
                    "invalid request: the session's stream has closed",
                );
            }
        }
        None => {
            if let Err(e) = legacy_shared::forward(shared, id, &bytes, principal.as_deref()).await {
                return super::replicas::unreachable(None, &e);
            }
        }
    }
    let mut response = Response::new(McpBody::full("Accepted"));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

fn unknown_session() -> Response<McpBody> {
    error(
        StatusCode::NOT_FOUND,
        None,
        error_code::INVALID_REQUEST,
        "invalid request: unknown or closed session",
    )
}

/// The POSTed message: the one an outer `McpRequestLayer` read, or the
/// body read here within the limits; refused unless it is JSON.
async fn read_message<B>(
    shared: &Shared,
    parts: &http::request::Parts,
    body: B,
) -> Result<Bytes, Box<Response<McpBody>>>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    if let Some(typed) = parts.extensions.get::<McpRequest>() {
        if let Err(e) = typed.take_incoming()
            && e.error.code == error_code::PARSE_ERROR
        {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                None,
                e.error.code,
                e.error.message,
            )));
        }
        return Ok(typed.bytes().clone());
    }
    // The body is handed to the session's connection and answered 202, so
    // what it holds of the bodies' budget is given back here.
    let bytes = read_json_body(&parts.headers, body, BodyLimits::of(&shared.config))
        .await?
        .bytes;
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            None,
            error_code::PARSE_ERROR,
            format!("parse error: {e}"),
        )));
    }
    Ok(bytes)
}
