//! Streamable HTTP sessions shared with other replicas: each request
//! checks its session in the shared store (one round trip), a session
//! opened elsewhere is taken in, and what other replicas say about the
//! sessions held here (answers, cancellations, changes, endings) is acted
//! on.

use std::net::IpAddr;
use std::sync::{Arc, Weak};

use http::{Response, StatusCode};
use mcp_core::jsonrpc::{Incoming, Message, RequestId, error_code};

use super::sessions::HttpSession;
use super::shares::Caller;
use super::{McpBody, Shared};
use crate::auth::Principal;
use crate::session::Session;
use crate::store::{BusMessage, SessionRecord, StoreError};

/// The answer to a request whose session could not be checked.
pub(super) fn unreachable(id: Option<RequestId>, e: &StoreError) -> Response<McpBody> {
    let mut response = super::error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        error_code::INTERNAL_ERROR,
        format!("{e}; the session cannot be checked, retry shortly"),
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    response
}

/// The session `id`, for `principal`: the one held here while the store
/// says it lives, else the one the store holds. `Ok(None)` for unknown,
/// ended, expired and other principals' sessions alike.
pub(super) async fn lookup(
    shared: &Shared,
    id: &str,
    principal: Option<&Principal>,
    peer: Option<IpAddr>,
) -> Result<Option<Arc<HttpSession>>, StoreError> {
    let Some(store) = shared.server.shared() else {
        return Ok(shared
            .sessions
            .get(id)
            .filter(|s| s.session.belongs_to(principal)));
    };
    if id.starts_with(super::legacy_shared::KEY_PREFIX) {
        // A legacy stream's record: not a Streamable HTTP session.
        return Ok(None);
    }
    let ttl = store.stores.session_ttl;
    // Copies idle here go now and then; the store keeps the session.
    shared.sessions.sweep(false);
    if let Some(local) = shared.sessions.peek(id) {
        if !local.session.belongs_to(principal) {
            return Ok(None);
        }
        let touched = store.stores.sessions.touch(id, ttl).await;
        if store.observe(touched)? {
            shared.sessions.touch(&local);
            return Ok(Some(local));
        }
        // Ended on another replica, or expired: end it here too.
        shared.sessions.remove(id);
        return Ok(None);
    }
    let found = store.stores.sessions.get(id, ttl).await;
    let Some(record) = store.observe(found)? else {
        return Ok(None);
    };
    if !record.belongs_to(principal) {
        return Ok(None);
    }
    let session = Session::from_record(&record);
    session.link(Arc::clone(store), Arc::from(id));
    if let Some(peer) = peer {
        session.set_peer(peer);
    }
    let caller = Caller::of(principal, peer);
    match shared.sessions.adopt(id, caller, session) {
        Ok(session) => {
            tracing::debug!(session = id, "took in a session opened on another replica");
            Ok(Some(session))
        }
        Err(e) => {
            tracing::warn!(session = id, error = ?e, "no room for a session from another replica");
            Ok(None)
        }
    }
}

/// Stores a session whose handshake just succeeded, before its id is
/// given out.
pub(super) async fn register(shared: &Shared, session: &HttpSession) -> Result<(), StoreError> {
    let Some(store) = shared.server.shared() else {
        return Ok(());
    };
    let Some(record) = session.session.record(&session.id) else {
        return Ok(());
    };
    session
        .session
        .link(Arc::clone(store), Arc::clone(&session.id));
    create(store, &record).await
}

/// Stores a new session's record for its time to live, noting whether the
/// store answered (for readiness).
pub(super) async fn create(
    store: &crate::store::shared::Shared,
    record: &SessionRecord,
) -> Result<(), StoreError> {
    let created = store
        .stores
        .sessions
        .create(record, store.stores.session_ttl)
        .await;
    store.observe(created)
}

/// Ends session `id` everywhere.
pub(super) async fn end(shared: &Shared, id: &str) -> Result<bool, StoreError> {
    let local = shared.sessions.remove(id);
    let Some(store) = shared.server.shared() else {
        return Ok(local);
    };
    let removed = store.stores.sessions.remove(id).await;
    let removed = store.observe(removed)?;
    store
        .publish(BusMessage::SessionEnded {
            session: id.to_owned(),
        })
        .await;
    Ok(removed || local)
}

/// Hands a client's answer to the handler waiting for it, here or, over
/// the bus, on the replica that asked.
pub(super) async fn answer(shared: &Shared, session: &HttpSession, message: Message) {
    let forwarded = shared
        .server
        .shared()
        .map(|store| (Arc::clone(store), serde_json::to_value(&message)));
    if session.session.answer(message) {
        return;
    }
    match forwarded {
        Some((store, Ok(message))) => {
            store
                .publish(BusMessage::Answer {
                    session: session.id.to_string(),
                    message,
                })
                .await;
        }
        Some((_, Err(e))) => tracing::warn!(error = %e, "an answer could not be forwarded"),
        None => tracing::debug!("ignoring a response to no pending request"),
    }
}

/// Cancels request `request` here or, over the bus, where it runs.
pub(super) async fn cancel(shared: &Shared, session: &HttpSession, request: RequestId) {
    if session.cancel(&request) {
        return;
    }
    if let Some(store) = shared.server.shared() {
        store
            .publish(BusMessage::Cancel {
                session: session.id.to_string(),
                request,
            })
            .await;
    }
}

/// Acts on other replicas' messages about the sessions this service
/// holds, until the service is dropped.
pub(super) fn listen(shared: &Arc<Shared>) {
    let Some(store) = shared.server.shared() else {
        return;
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let mut remote = store.remote();
    let service: Weak<Shared> = Arc::downgrade(shared);
    tokio::spawn(async move {
        loop {
            let message = match remote.recv().await {
                Ok(message) => message,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "missed messages from other replicas");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let Some(shared) = service.upgrade() else {
                return;
            };
            on_message(&shared, &message);
        }
    });
}

fn on_message(shared: &Shared, message: &BusMessage) {
    match message {
        BusMessage::Answer { session, message } => {
            let Some(session) = shared.sessions.peek(session) else {
                return;
            };
            if let Ok(Incoming::Single(answer)) = Incoming::parse(&message.to_string()) {
                session.session.answer(answer);
            }
        }
        BusMessage::Cancel { session, request } => {
            if let Some(session) = shared.sessions.peek(session) {
                session.cancel(request);
            }
        }
        BusMessage::SessionChanged { session, change } => {
            if let Some(session) = shared.sessions.peek(session) {
                session.session.apply(change);
            }
        }
        BusMessage::SessionEnded { session } => {
            shared.sessions.remove(session);
        }
        BusMessage::LegacyMessage {
            session,
            message,
            principal,
        } => super::legacy_shared::deliver(shared, session, message, principal.as_ref()),
        _ => {}
    }
}
