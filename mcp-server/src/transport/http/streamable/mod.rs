//! The Streamable HTTP endpoint: POST for messages, GET for the session's
//! stream of server messages, DELETE to end a session.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{HeaderMap, Request, Response, StatusCode};
use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{
    ErrorResponse, Incoming, Message, Notification, Request as RpcRequest, RequestId, error_code,
};
use mcp_core::meta::MetaOnly;
use mcp_core::method;
use mcp_core::notification;
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc, oneshot};
use tracing::Instrument as _;

use super::body::{self, SseBody, StreamGuard};
use super::drain::{self, Drain};
use super::request::BodyLimits;
use super::sessions::HttpSession;
use super::shares::Caller;
use super::{
    Accept, Active, Audited, BoxError, McpBody, McpRequest, Shared, busy, empty, error, header_str,
    message_json, message_json_owned, method_not_allowed, read_json_body, sse_response,
};
use crate::audit::Stop;
use crate::auth::Principal;
use crate::json_members;
use crate::router::{self, AbortOnDrop, Answer, AnswerStatus, Wire, WireHeaders};
use crate::server::ServerEvent;
use crate::transport::{Outbound, Outgoing};

use super::request::names::{self, PROTOCOL_VERSION, SESSION_ID};

pub(super) async fn post<B>(shared: &Arc<Shared>, request: Request<B>) -> Response<McpBody>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    let principal = super::principal_of(&request);
    let peer = super::peer_of(&request);
    let (parts, body) = request.into_parts();
    let accept = Accept::of(&parts.headers);
    if !accept.json && !accept.sse {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: Accept must allow application/json or text/event-stream",
        );
    }
    // What a large body holds of the bodies' budget: a request dispatched
    // takes it along, anything else gives it back once answered.
    let mut held = None;
    // An outer McpRequestLayer read and parsed the body already.
    let parsed = match parts.extensions.get::<McpRequest>() {
        Some(typed) => typed.take_incoming(),
        None => {
            let limits = BodyLimits::of(&shared.config);
            let bytes = match read_json_body(&parts.headers, body, limits).await {
                Ok(read) => {
                    held = read.held.into_permit();
                    read.bytes
                }
                Err(response) => return *response,
            };
            let not_utf8 = || {
                error(
                    StatusCode::BAD_REQUEST,
                    None,
                    error_code::PARSE_ERROR,
                    "parse error: the body is not valid UTF-8",
                )
            };
            if bytes.len() >= json_members::LARGE_PARAMS {
                // The body's own buffer (see `read_body`), so that large
                // params stay in it.
                let Ok(text) = String::from_utf8(Vec::from(bytes)) else {
                    return not_utf8();
                };
                Incoming::parse_owned(text)
            } else {
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    return not_utf8();
                };
                Incoming::parse(text)
            }
        }
    };
    let incoming = match parsed {
        Ok(incoming) => incoming,
        Err(e) => return message_json(StatusCode::BAD_REQUEST, &Message::Error(e)),
    };
    if shared.drain.is_draining()
        && let Some(response) = drain::refuse_new_work(&incoming)
    {
        return response;
    }
    let headers = &parts.headers;
    match incoming {
        Incoming::Single(message) if is_stateless(headers, &message) => {
            stateless(shared, message, headers, accept, principal, peer, held).await
        }
        Incoming::Single(message) => {
            stateful(shared, message, headers, accept, principal, peer, held).await
        }
        Incoming::Batch(items) => batch(shared, items, headers, principal).await,
    }
}

/// Whether a message speaks 2026-07-28 (or a revision newer than we know):
/// its header or its `_meta` says so. A stateful revision named in `_meta`
/// still needs its session.
fn is_stateless(headers: &HeaderMap, message: &Message) -> bool {
    let header = header_str(headers, &PROTOCOL_VERSION).map(str::trim);
    let header_version = header.map(str::parse::<ProtocolVersion>);
    if let Some(Ok(version)) = header_version
        && version.is_stateless()
    {
        return true;
    }
    let params = match message {
        Message::Request(request) => request.params.as_deref(),
        Message::Notification(notification) => notification.params.as_deref(),
        _ => None,
    };
    let meta_version = params
        .and_then(|raw| read_meta(raw.get()))
        .and_then(|m| m.meta)
        .and_then(|m| m.protocol_version);
    if let Some(meta_version) = meta_version {
        return !meta_version
            .parse::<ProtocolVersion>()
            .is_ok_and(|v| !v.is_stateless());
    }
    // An unknown version header without a session cannot be a session's
    // request; the stateless checks answer it precisely.
    matches!(header_version, Some(Err(_))) && header_str(headers, &SESSION_ID).is_none()
}

/// The `_meta` of `params`, where they may have one. Large params are
/// split rather than read whole: their `arguments` are passed over.
fn read_meta(params: &str) -> Option<MetaOnly> {
    if params.len() >= json_members::LARGE_PARAMS
        && let Some((_, rest)) = json_members::split_member(params, "arguments")
    {
        return serde_json::from_str(&rest).ok();
    }
    if !may_name_meta(params) {
        return None;
    }
    serde_json::from_str(params).ok()
}

/// Whether `params` may have a `_meta` member: they spell it out, or have
/// a `\u` escape that could spell it. Most have neither, and are not read
/// a second time (a full pass over a large call's arguments).
fn may_name_meta(params: &str) -> bool {
    let bytes = params.as_bytes();
    memchr::memmem::find(bytes, b"_meta").is_some() || memchr::memmem::find(bytes, b"\\u").is_some()
}

async fn stateless(
    shared: &Arc<Shared>,
    message: Message,
    headers: &HeaderMap,
    accept: Accept,
    principal: Option<Arc<Principal>>,
    peer: Option<std::net::IpAddr>,
    body: Option<OwnedSemaphorePermit>,
) -> Response<McpBody> {
    let Message::Request(request) = message else {
        // Notifications (and stray responses) need no answer; a stateless
        // request is cancelled by closing its stream, not by notification.
        return empty(StatusCode::ACCEPTED);
    };
    let wire_headers = WireHeaders {
        protocol_version: header_str(headers, &PROTOCOL_VERSION).map(str::to_owned),
        method: header_str(headers, &names::METHOD).map(str::to_owned),
        name: header_str(headers, &names::NAME).map(str::to_owned),
        params: headers
            .iter()
            .filter_map(|(name, value)| {
                let suffix = name.as_str().strip_prefix("mcp-param-")?;
                Some((suffix.to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        principal,
        peer,
    };
    let timeout =
        (request.method != method::SUBSCRIPTIONS_LISTEN).then_some(shared.config.request_timeout);
    dispatch(
        shared,
        request,
        Wire::Stateless(Arc::new(wire_headers)),
        accept,
        Dispatch {
            session: None,
            disconnect_cancels: true,
            timeout,
            body,
        },
    )
    .await
}

async fn stateful(
    shared: &Arc<Shared>,
    message: Message,
    headers: &HeaderMap,
    accept: Accept,
    principal: Option<Arc<Principal>>,
    peer: Option<std::net::IpAddr>,
    body: Option<OwnedSemaphorePermit>,
) -> Response<McpBody> {
    if let Message::Request(request) = &message
        && request.method == method::INITIALIZE
    {
        let Message::Request(request) = message else {
            return empty(StatusCode::INTERNAL_SERVER_ERROR);
        };
        if header_str(headers, &SESSION_ID).is_some() {
            // Minting a second session silently would leave the first one
            // holding its place until it expires.
            return error(
                StatusCode::BAD_REQUEST,
                Some(request.id),
                error_code::INVALID_REQUEST,
                "invalid request: `initialize` was sent with an Mcp-Session-Id header, but a session is already open; end it with DELETE, then send `initialize` without the header",
            );
        }
        return initialize(shared, request, principal, peer).await;
    }
    let id = match &message {
        Message::Request(request) => Some(request.id.clone()),
        _ => None,
    };
    let session = match session_of(shared, headers, id.clone(), principal.as_deref(), peer).await {
        Ok(session) => session,
        Err(response) => return *response,
    };
    match message {
        Message::Request(request) => {
            let limit = shared.server.options().max_in_flight;
            let cancellation = match session.start(&request.id, limit) {
                Ok(cancellation) => cancellation,
                Err(refusal) => {
                    let (status, error) = refusal.error(&request.id);
                    let mut response =
                        message_json(status, &Message::Error(ErrorResponse::new(id, error)));
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        response
                            .headers_mut()
                            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                    }
                    return response;
                }
            };
            let wire = Wire::Session {
                session: Arc::clone(&session.session),
                principal: principal.clone(),
            };
            let request_id = request.id.clone();
            let response = dispatch_with(
                shared,
                request,
                wire,
                accept,
                Dispatch {
                    session: Some(Arc::clone(&session)),
                    // A dropped stream is not a cancellation before 2026-07-28.
                    disconnect_cancels: false,
                    timeout: Some(shared.config.request_timeout),
                    body,
                },
                cancellation,
            )
            .await;
            if response.status() != StatusCode::OK {
                session.finish(&request_id);
            }
            response
        }
        Message::Notification(notification) => {
            on_notification(shared, &session, &notification).await;
            empty(StatusCode::ACCEPTED)
        }
        answer @ (Message::Response(_) | Message::Error(_)) => {
            super::replicas::answer(shared, &session, answer).await;
            empty(StatusCode::ACCEPTED)
        }
    }
}

async fn on_notification(shared: &Shared, session: &HttpSession, notification: &Notification) {
    match notification.method.as_str() {
        notification::INITIALIZED => {
            let change = crate::store::SessionChange::Initialized;
            if let Err(e) = session.session.change(change).await {
                tracing::warn!(error = %e, "`initialized` not shared with the other replicas");
            }
        }
        notification::CANCELLED => {
            if let Some(id) = crate::transport::cancelled_request(notification) {
                super::replicas::cancel(shared, session, id).await;
            }
        }
        other => tracing::debug!(method = other, "ignoring notification"),
    }
}

/// The session a request names, checked: 400 without one, 404 for an
/// unknown or ended one, 400 for a version header that disagrees with it.
async fn session_of(
    shared: &Shared,
    headers: &HeaderMap,
    id: Option<RequestId>,
    principal: Option<&Principal>,
    peer: Option<std::net::IpAddr>,
) -> Result<Arc<HttpSession>, Box<Response<McpBody>>> {
    let Some(session_id) = header_str(headers, &SESSION_ID) else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            id,
            error_code::INVALID_REQUEST,
            "invalid request: the Mcp-Session-Id header is missing; send `initialize` first",
        )));
    };
    // Another principal's session looks exactly like an unknown one.
    let session = match super::replicas::lookup(shared, session_id, principal, peer).await {
        Ok(session) => session,
        Err(e) => return Err(Box::new(super::replicas::unreachable(id, &e))),
    };
    let Some(session) = session else {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            id,
            error_code::INVALID_REQUEST,
            "invalid request: unknown or expired session; send `initialize` to start a new one",
        )));
    };
    if let Some(header) = header_str(headers, &PROTOCOL_VERSION) {
        let negotiated = session.session.version();
        if header.trim().parse::<ProtocolVersion>().ok() != negotiated {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                id,
                error_code::INVALID_REQUEST,
                format!(
                    "invalid request: the MCP-Protocol-Version header `{header}` does not match the session's protocol version {}",
                    negotiated.map_or("(none)", ProtocolVersion::as_str)
                ),
            )));
        }
    }
    Ok(session)
}

async fn initialize(
    shared: &Arc<Shared>,
    request: RpcRequest,
    principal: Option<Arc<Principal>>,
    peer: Option<std::net::IpAddr>,
) -> Response<McpBody> {
    if let Err(response) =
        super::check_session_rate(shared, principal.as_deref(), peer, Some(request.id.clone()))
            .await
    {
        return *response;
    }
    let caller = Caller::of(principal.as_deref(), peer);
    let pending = match shared.sessions.create(caller) {
        Ok(pending) => pending,
        Err(e) => return e.response(Some(request.id)),
    };
    let session = Arc::clone(pending.session());
    if let Some(principal) = &principal {
        session.session.bind_principal(Arc::clone(principal));
    }
    if let Some(peer) = peer {
        session.session.set_peer(peer);
    }
    let (tx, _) = mpsc::channel(1);
    let answer = router::handle_request(
        shared.server.clone(),
        Wire::Session {
            session: Arc::clone(&session.session),
            principal,
        },
        request,
        Outbound::new(tx),
        Stop {
            cancellation: session.closed.child_token(),
            shutdown: shared.server.shutdown_signal().clone(),
        },
        Some(shared.config.request_timeout),
    )
    .await;
    let ok = matches!(answer.message, Message::Response(_));
    let mut response = message_json(status_of(answer.status), &answer.message);
    response.extensions_mut().insert(Audited);
    if ok {
        if let Ok(value) = HeaderValue::from_str(&session.id) {
            response.headers_mut().insert(SESSION_ID.clone(), value);
        }
        if let Err(e) = super::replicas::register(shared, &session).await {
            return super::replicas::unreachable(answer_id(&answer.message), &e);
        }
        tracing::info!(session = %session.id, "session started");
        pending.commit();
    }
    response
}

/// The id a response answers.
fn answer_id(message: &Message) -> Option<RequestId> {
    match message {
        Message::Response(response) => Some(response.id.clone()),
        Message::Error(error) => error.id.clone(),
        _ => None,
    }
}

/// A JSON-RPC batch (2025-03-26 only): all requests run, and their answers
/// come back together as one JSON array.
async fn batch(
    shared: &Arc<Shared>,
    items: Vec<Result<Message, ErrorResponse>>,
    headers: &HeaderMap,
    principal: Option<Arc<Principal>>,
) -> Response<McpBody> {
    let session = match session_of(shared, headers, None, principal.as_deref(), None).await {
        Ok(session) => session,
        Err(response) => return *response,
    };
    if session.session.version() != Some(ProtocolVersion::V2025_03_26) {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: JSON-RPC batches are only allowed on protocol 2025-03-26",
        );
    }
    // A batch counts as one request against the concurrency limit.
    let Ok(_permit) = Arc::clone(&shared.permits).try_acquire_owned() else {
        return busy(None, "too many requests in progress");
    };
    let mut answers = Vec::new();
    let mut running = Vec::new();
    for item in items {
        match item {
            Ok(Message::Request(request)) => {
                let limit = shared.server.options().max_in_flight;
                let cancellation = match session.start(&request.id, limit) {
                    Ok(cancellation) => cancellation,
                    Err(refusal) => {
                        let (_, error) = refusal.error(&request.id);
                        answers.push(Message::Error(ErrorResponse::new(
                            Some(request.id.clone()),
                            error,
                        )));
                        continue;
                    }
                };
                let server = shared.server.clone();
                let wire = Wire::Session {
                    session: Arc::clone(&session.session),
                    principal: principal.clone(),
                };
                let active = Active::new(&shared.active_requests);
                let session = Arc::clone(&session);
                let timeout = shared.config.request_timeout;
                let drain = shared.drain.clone();
                running.push(tokio::spawn(
                    async move {
                        let _active = active;
                        let id = request.id.clone();
                        let (tx, _) = mpsc::channel(1);
                        let answer = run(
                            server,
                            wire,
                            request,
                            Outbound::new(tx),
                            cancellation,
                            Some(timeout),
                            &drain,
                        )
                        .await;
                        session.finish(&id);
                        answer
                    }
                    .in_current_span(),
                ));
            }
            Ok(Message::Notification(notification)) => {
                on_notification(shared, &session, &notification).await;
            }
            Ok(_) => {}
            Err(e) => answers.push(Message::Error(e)),
        }
    }
    for task in running {
        match task.await {
            Ok(Some(answer)) => answers.push(answer.message),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "a batch request task failed"),
        }
    }
    if answers.is_empty() {
        return empty(StatusCode::ACCEPTED);
    }
    match serde_json::to_vec(&answers) {
        Ok(bytes) => super::json(StatusCode::OK, bytes),
        Err(e) => {
            tracing::error!(error = %e, "batch response could not be encoded");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// How a request is run and answered.
mod answer;
mod resume;
mod stream;

use answer::*;
pub(crate) use stream::{delete, get};
