//! The transport-independent half of a client: request ids, waiting for
//! answers, routing what the server sends, answering what it asks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{ErrorObject, RequestId, error_code};
use mcp_core::meta;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use super::{ClientError, ClientHandler, ClientOptions, RequestOptions, ServerRequest};
use crate::handler::BoxFuture;

type Answer = Result<Value, ErrorObject>;

/// Carries messages to the server.
pub(crate) trait Link: Send + Sync {
    /// Sends one message. A transport that gets answers on the exchange
    /// itself (HTTP) hands them to `peer`.
    fn send(&self, peer: &Arc<Peer>, message: Value) -> BoxFuture<Result<(), ClientError>>;

    /// Called after the handshake: HTTP opens its stream for the server's
    /// own messages here.
    fn opened(&self, peer: &Arc<Peer>) {
        let _ = peer;
    }
}

/// Starts reading what the server sends, once the peer exists.
pub(crate) struct Incoming(Option<Box<dyn FnOnce(Arc<Peer>) + Send>>);

impl Incoming {
    pub(crate) fn new(start: impl FnOnce(Arc<Peer>) + Send + 'static) -> Self {
        Self(Some(Box::new(start)))
    }

    pub(crate) fn none() -> Self {
        Self(None)
    }

    pub(crate) fn start(self, peer: Arc<Peer>) {
        if let Some(start) = self.0 {
            start(peer);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct Peer {
    link: Box<dyn Link>,
    options: ClientOptions,
    version: RwLock<ProtocolVersion>,
    next_id: AtomicI64,
    pending: Mutex<HashMap<RequestId, oneshot::Sender<Answer>>>,
    progress: Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>,
    notify_tx: Mutex<Option<mpsc::UnboundedSender<Value>>>,
    notify_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    handler: RwLock<Option<Arc<dyn ClientHandler>>>,
}

impl Peer {
    pub(crate) fn new(link: Box<dyn Link>, options: ClientOptions) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            link,
            version: RwLock::new(options.version),
            handler: RwLock::new(options.handler.clone()),
            options,
            next_id: AtomicI64::new(1),
            pending: Mutex::default(),
            progress: Mutex::default(),
            notify_tx: Mutex::new(Some(tx)),
            notify_rx: tokio::sync::Mutex::new(rx),
        })
    }

    pub(crate) fn version(&self) -> ProtocolVersion {
        *self.version.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_version(&self, version: ProtocolVersion) {
        *self.version.write().unwrap_or_else(PoisonError::into_inner) = version;
    }

    pub(crate) fn set_handler(&self, handler: Arc<dyn ClientHandler>) {
        *self.handler.write().unwrap_or_else(PoisonError::into_inner) = Some(handler);
    }

    pub(crate) async fn opened(self: &Arc<Self>) {
        self.link.opened(self);
    }

    pub(crate) async fn next_notification(&self) -> Option<Value> {
        self.notify_rx.lock().await.recv().await
    }

    /// The connection ended: every waiting request fails.
    pub(crate) fn closed(&self) {
        lock(&self.pending).clear();
        lock(&self.progress).clear();
        lock(&self.notify_tx).take();
    }

    pub(crate) async fn notify(
        self: &Arc<Self>,
        method: &str,
        params: Value,
    ) -> Result<(), ClientError> {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        self.link.send(self, message).await
    }

    pub(crate) async fn request(
        self: &Arc<Self>,
        method: &str,
        params: Value,
        options: RequestOptions,
    ) -> Result<Value, ClientError> {
        let mut params = params;
        // 2026-07-28: questions come back as results; answer and retry.
        for _ in 0..10 {
            let result = self.request_once(method, params.clone(), &options).await?;
            if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
                return Ok(result);
            }
            let mut responses = Map::new();
            if let Some(requests) = result.get("inputRequests").and_then(Value::as_object) {
                for (key, request) in requests {
                    let asked = ServerRequest {
                        method: request["method"].as_str().unwrap_or_default().to_owned(),
                        params: request.get("params").cloned().unwrap_or(Value::Null),
                        related: None,
                    };
                    let answer = self.answer(asked).await.map_err(|error| ClientError::Rpc {
                        method: method.to_owned(),
                        error,
                    })?;
                    responses.insert(key.clone(), answer);
                }
            }
            if let Value::Object(map) = &mut params {
                map.insert("inputResponses".into(), Value::Object(responses));
                match result.get("requestState") {
                    Some(state) => map.insert("requestState".into(), state.clone()),
                    None => map.remove("requestState"),
                };
            }
        }
        Err(ClientError::Malformed {
            method: method.to_owned(),
            message: "the server still asked for input after ten rounds".into(),
        })
    }

    async fn request_once(
        self: &Arc<Self>,
        method: &str,
        params: Value,
        options: &RequestOptions,
    ) -> Result<Value, ClientError> {
        let id = RequestId::Number(self.next_id.fetch_add(1, Ordering::Relaxed));
        let token = options.progress.as_ref().map(|sink| {
            let token = format!("progress-{id}");
            lock(&self.progress).insert(token.clone(), sink.clone());
            token
        });
        let params = self.with_meta(params, token.as_deref());
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id.clone(), tx);
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        let _cleanup = Cleanup {
            peer: self,
            id: id.clone(),
            token,
        };
        self.link.send(self, message).await?;
        let cancelled = async {
            match &options.cancel {
                Some(token) => token.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let timeout = self.options.timeout;
        tokio::select! {
            answer = tokio::time::timeout(timeout, rx) => match answer {
                Ok(Ok(Ok(result))) => Ok(result),
                Ok(Ok(Err(error))) => Err(ClientError::Rpc { method: method.to_owned(), error }),
                Ok(Err(_)) => Err(ClientError::Closed),
                Err(_) => Err(ClientError::Timeout { method: method.to_owned(), timeout }),
            },
            () = cancelled => {
                // The server may stop working on it; the answer, if any, is dropped.
                let _ = self
                    .notify("notifications/cancelled", json!({"requestId": id, "reason": "cancelled by the client"}))
                    .await;
                Err(ClientError::Cancelled(method.to_owned()))
            }
        }
    }

    fn with_meta(&self, params: Value, progress: Option<&str>) -> Value {
        let version = self.version();
        if !version.is_stateless() && progress.is_none() {
            return params;
        }
        let mut params = match params {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let meta = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            if version.is_stateless() {
                meta.entry(meta::PROTOCOL_VERSION)
                    .or_insert_with(|| version.as_str().into());
                meta.entry(meta::CLIENT_CAPABILITIES)
                    .or_insert_with(|| self.options.capabilities());
                meta.entry(meta::CLIENT_INFO)
                    .or_insert_with(|| self.options.info());
            }
            if let Some(token) = progress {
                meta.insert("progressToken".into(), token.into());
            }
        }
        Value::Object(params)
    }

    async fn answer(&self, request: ServerRequest) -> Result<Value, ErrorObject> {
        if request.method == "ping" {
            return Ok(json!({}));
        }
        let handler = self
            .handler
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match handler {
            Some(handler) => handler.handle(request).await,
            None => Err(ErrorObject::new(
                error_code::METHOD_NOT_FOUND,
                format!("this client does not answer `{}`", request.method),
            )),
        }
    }

    /// Routes one message (or batch) from the server; `related` is the
    /// request whose exchange carried it, when the transport knows.
    pub(crate) fn incoming(self: &Arc<Self>, value: Value, related: Option<&RequestId>) {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        for item in items {
            self.route(item, related);
        }
    }

    fn route(self: &Arc<Self>, item: Value, related: Option<&RequestId>) {
        let id = item
            .get("id")
            .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
        let method = item
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match (method, id) {
            (Some(method), Some(id)) => {
                let peer = Arc::clone(self);
                let request = ServerRequest {
                    method,
                    params: item.get("params").cloned().unwrap_or(Value::Null),
                    related: related.cloned(),
                };
                tokio::spawn(async move {
                    let reply = match peer.answer(request).await {
                        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
                    };
                    if let Err(e) = peer.link.send(&peer, reply).await {
                        tracing::debug!(error = %e, "could not answer the server's request");
                    }
                });
            }
            (Some(method), None) => {
                if method == "notifications/progress"
                    && let Some(token) = item["params"]["progressToken"].as_str()
                    && let Some(sink) = lock(&self.progress).get(token)
                {
                    let _ = sink.send(item["params"].clone());
                    return;
                }
                if let Some(tx) = lock(&self.notify_tx).as_ref() {
                    let _ = tx.send(item);
                }
            }
            (None, Some(id)) => {
                let answer = match item.get("error") {
                    Some(error) => Err(serde_json::from_value(error.clone()).unwrap_or_else(|e| {
                        ErrorObject::new(
                            error_code::INTERNAL_ERROR,
                            format!("malformed error: {e}"),
                        )
                    })),
                    None => Ok(item.get("result").cloned().unwrap_or(Value::Null)),
                };
                if let Some(tx) = lock(&self.pending).remove(&id) {
                    let _ = tx.send(answer);
                }
            }
            (None, None) => {
                tracing::debug!(message = %item, "ignoring a message that is neither request, notification nor answer")
            }
        }
    }

    /// Fails the request `id` (an HTTP exchange that broke).
    pub(crate) fn fail(&self, id: &RequestId, error: ErrorObject) {
        if let Some(tx) = lock(&self.pending).remove(id) {
            let _ = tx.send(Err(error));
        }
    }
}

/// Forgets a request's waiter and progress token however it ends.
struct Cleanup<'a> {
    peer: &'a Peer,
    id: RequestId,
    token: Option<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        lock(&self.peer.pending).remove(&self.id);
        if let Some(token) = &self.token {
            lock(&self.peer.progress).remove(token);
        }
    }
}
