//! Resource subscriptions on stateful revisions and `subscriptions/listen`
//! on 2026-07-28.

use std::sync::Arc;

use mcp_core::codec;
use mcp_core::jsonrpc::{Message, Notification, Request};
use mcp_core::method;
use mcp_core::notification;
use mcp_core::resource::UriParams;
use mcp_core::subscription::{ListenParams, SubscriptionFilter};
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;
use tokio::sync::broadcast;

use crate::outbound::Outbound;
use crate::resource::{Watch, WatchChange};
use crate::server::{Server, ServerEvent};
use crate::session::Session;
use crate::store::SessionChange;

use super::{encode_empty, parse_params};

/// `subscriptions/listen`: acknowledges, then forwards the changes the client
/// asked for until the client goes away or the server shuts down.
pub(super) async fn listen(
    server: &Server,
    request: Request,
    version: ProtocolVersion,
    outbound: Outbound,
) -> Result<Box<RawValue>, ProtocolError> {
    let params: ListenParams = parse_params(request.params.as_deref())?;
    let subscription_id = serde_json::to_value(&request.id)
        .map_err(|e| ProtocolError::Internal(format!("subscription id: {e}")))?;
    // The acknowledgement names exactly what will be sent.
    let asked = params.notifications;
    let honored = SubscriptionFilter {
        tools_list_changed: asked.tools_list_changed,
        prompts_list_changed: asked.prompts_list_changed,
        resources_list_changed: asked.resources_list_changed,
        resource_subscriptions: if server.options().subscribe {
            asked.resource_subscriptions
        } else {
            Vec::new()
        },
    };
    let meta = serde_json::json!({ mcp_core::meta::SUBSCRIPTION_ID: subscription_id });
    let mut events = server.subscribe();
    outbound
        .send(notification_message(
            notification::SUBSCRIPTIONS_ACKNOWLEDGED,
            serde_json::json!({ "_meta": meta, "notifications": honored }),
        )?)
        .await;
    let shutdown = server.shutdown_signal().clone();
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => break,
            () = outbound.closed() => break,
            event = events.recv() => event,
        };
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => ServerEvent::ToolsChanged,
            Err(broadcast::error::RecvError::Closed) => break,
        };
        let (method, params) = match &event {
            ServerEvent::ToolsChanged if honored.tools_list_changed => (
                notification::TOOLS_LIST_CHANGED,
                serde_json::json!({ "_meta": meta }),
            ),
            ServerEvent::PromptsChanged if honored.prompts_list_changed => (
                notification::PROMPTS_LIST_CHANGED,
                serde_json::json!({ "_meta": meta }),
            ),
            ServerEvent::ResourcesChanged if honored.resources_list_changed => (
                notification::RESOURCES_LIST_CHANGED,
                serde_json::json!({ "_meta": meta }),
            ),
            ServerEvent::ResourceUpdated(uri)
                if honored.resource_subscriptions.iter().any(|u| **u == **uri) =>
            {
                (
                    notification::RESOURCES_UPDATED,
                    serde_json::json!({ "uri": &**uri, "_meta": meta }),
                )
            }
            _ => continue,
        };
        outbound.send(notification_message(method, params)?).await;
    }
    codec::encode_value(
        serde_json::json!({ "_meta": meta }),
        version,
        Some(&server.info().implementation),
    )
    .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}

pub(super) fn notification_message(
    method: &str,
    params: serde_json::Value,
) -> Result<Message, ProtocolError> {
    let params = serde_json::value::to_raw_value(&params)
        .map_err(|e| ProtocolError::Internal(format!("notification could not be encoded: {e}")))?;
    Ok(Message::Notification(Notification {
        method: method.to_owned(),
        params: Some(params),
    }))
}

/// The error of a request whose session change could not be shared.
pub(super) fn shared_state_error(error: crate::store::StoreError) -> ProtocolError {
    ProtocolError::Internal(format!("{error}; retry shortly"))
}

/// `resources/subscribe` and `resources/unsubscribe` (stateful revisions).
pub(super) async fn subscribe(
    server: &Server,
    session: &Arc<Session>,
    request: &Request,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    if !server.options().subscribe {
        return Err(ProtocolError::MethodNotFound(request.method.clone()));
    }
    let params: UriParams = parse_params(request.params.as_deref())?;
    let subscribe = request.method == method::RESOURCES_SUBSCRIBE;
    let change = if subscribe {
        SessionChange::Subscribe(params.uri.clone())
    } else {
        SessionChange::Unsubscribe(params.uri.clone())
    };
    session.change(change).await.map_err(shared_state_error)?;
    if let Some(watch) = watch_of(server, &params.uri) {
        watch
            .changed(WatchChange {
                uri: params.uri.clone(),
                outer: params.uri,
                session: Arc::downgrade(session),
                subscribe,
            })
            .await;
    }
    encode_empty(version, server)
}

/// The watch of the resource or template `uri` names, if it has one.
fn watch_of(server: &Server, uri: &str) -> Option<Watch> {
    if let Some(resource) = server.resources().get(uri) {
        return resource.watch().cloned();
    }
    let templates = server.resource_templates();
    templates
        .defs()
        .iter()
        .find(|t| t.matches(uri).is_some())
        .and_then(|t| t.watch().cloned())
}
