//! What the remote server asks during a forwarded call (elicitation,
//! sampling, roots, log messages), asked of the local client whose call
//! caused it, and the call's progress and cancellation relayed.

use std::sync::{Arc, Mutex, PoisonError};

use mcp_core::jsonrpc::{ErrorObject, error_code};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ask::Elicited;
use crate::client::{ClientError, ClientHandler, RequestOptions, ServerRequest};
use crate::context::RequestContext;
use crate::handler::BoxFuture;

/// The local requests in progress, so the remote server's questions and
/// log messages reach the client whose call caused them.
#[derive(Clone, Default)]
pub(super) struct Forwarder {
    active: Arc<Mutex<Vec<(u64, RequestContext)>>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

/// Removes a request from the active ones when its call ends.
pub(super) struct Active {
    forwarder: Forwarder,
    id: u64,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.forwarder.lock().retain(|(id, _)| *id != self.id);
    }
}

impl Forwarder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, RequestContext)>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn enter(&self, ctx: &RequestContext) -> Active {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().push((id, ctx.clone()));
        Active {
            forwarder: self.clone(),
            id,
        }
    }

    /// The request the remote server's message most likely belongs to: the
    /// latest one still running.
    pub(super) fn current(&self) -> Option<RequestContext> {
        self.lock().last().map(|(_, ctx)| ctx.clone())
    }
}

fn ask_error(e: &crate::ask::AskError) -> ErrorObject {
    ErrorObject::new(error_code::INTERNAL_ERROR, e.to_string())
}

impl ClientHandler for Forwarder {
    fn capabilities(&self) -> Value {
        json!({"elicitation": {}, "sampling": {}, "roots": {}})
    }

    fn handle(&self, request: ServerRequest) -> crate::client::AnswerFuture {
        let ctx = self.current();
        let key = format!(
            "proxied-{}",
            self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Box::pin(async move {
            let Some(ctx) = ctx else {
                return Err(ErrorObject::new(
                    error_code::INTERNAL_ERROR,
                    format!("`{}` outside any call the proxy forwards", request.method),
                ));
            };
            let params = request.params;
            match request.method.as_str() {
                "elicitation/create" => {
                    let message = params["message"].as_str().unwrap_or_default().to_owned();
                    let schema = match &params["requestedSchema"] {
                        Value::Object(schema) => schema.clone(),
                        _ => serde_json::Map::new(),
                    };
                    match ctx.elicit_with_schema(&key, message, schema).await {
                        Ok(Elicited::Accepted(content)) => {
                            Ok(json!({"action": "accept", "content": content}))
                        }
                        Ok(Elicited::Declined) => Ok(json!({"action": "decline"})),
                        Ok(Elicited::Cancelled) => Ok(json!({"action": "cancel"})),
                        Err(e) => Err(ask_error(&e)),
                    }
                }
                "sampling/createMessage" => {
                    let params = serde_json::from_value(params)
                        .map_err(|e| ErrorObject::new(error_code::INVALID_PARAMS, e.to_string()))?;
                    let result = ctx.sample(&key, params).await.map_err(|e| ask_error(&e))?;
                    serde_json::to_value(result)
                        .map_err(|e| ErrorObject::new(error_code::INTERNAL_ERROR, e.to_string()))
                }
                "roots/list" => {
                    let roots = ctx.roots(&key).await.map_err(|e| ask_error(&e))?;
                    serde_json::to_value(roots)
                        .map_err(|e| ErrorObject::new(error_code::INTERNAL_ERROR, e.to_string()))
                }
                other => Err(ErrorObject::new(
                    error_code::METHOD_NOT_FOUND,
                    format!("the proxy does not forward `{other}`"),
                )),
            }
        })
    }
}

/// Runs `call` for the local request `ctx`: the remote server's progress
/// becomes `ctx`'s, and cancelling `ctx` cancels the remote request.
pub(super) async fn relay<T>(
    ctx: &RequestContext,
    call: impl FnOnce(RequestOptions) -> BoxFuture<Result<T, ClientError>>,
) -> Result<T, ClientError> {
    let (tx, mut progress) = mpsc::unbounded_channel::<Value>();
    let cancel = CancellationToken::new();
    let mut call = call(RequestOptions {
        progress: Some(tx),
        cancel: Some(cancel.clone()),
    });
    let mut cancelled = false;
    loop {
        tokio::select! {
            biased;
            Some(p) = progress.recv() => {
                let value = p["progress"].as_f64().unwrap_or_default();
                ctx.progress(value, p["total"].as_f64(), p["message"].as_str()).await;
            }
            () = ctx.cancelled(), if !cancelled => {
                cancelled = true;
                cancel.cancel();
            }
            result = &mut call => {
                // Progress that came in with the answer still goes first.
                while let Ok(p) = progress.try_recv() {
                    let value = p["progress"].as_f64().unwrap_or_default();
                    ctx.progress(value, p["total"].as_f64(), p["message"].as_str()).await;
                }
                return result;
            }
        }
    }
}
