//! Tool calls that become tasks, and `tasks/get`, `tasks/update`,
//! `tasks/cancel`.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use mcp_core::codec;
use mcp_core::jsonrpc::Request;
use mcp_core::tool::CallToolResult;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;

use crate::ask::InputRound;
use crate::audit::{self, AuditOutcome};
use crate::context::{Envelope, RequestContext, tasks_declared};
use crate::server::Server;
use crate::state::Unbound;
use crate::task::{TASKS_EXTENSION, TaskSlot};
use crate::tool::ToolCall;

use super::{encode, panic_message, parse_params, rounds::input_required};

/// Runs a task-capable tool for a client that declared the tasks
/// extension. Until the handler calls `ctx.start_task()` it is an ordinary
/// request (questions go back as an `InputRequiredResult`); after, the
/// request is answered with the task and the handler finishes in the
/// background, its outcome kept for `tasks/get`.
pub(super) async fn call_as_task(
    server: &Server,
    tool: crate::tool::ToolDef,
    call: ToolCall,
    context: RequestContext,
    slot: Arc<TaskSlot>,
    round: Option<(Arc<InputRound>, Unbound)>,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    let name = tool.name().to_owned();
    let work = tokio::spawn(AssertUnwindSafe(tool.call(call)).catch_unwind());
    // Until the task exists, the work belongs to this request.
    let mut guard = AbortOnDrop(Some(work.abort_handle()));
    let mut work = work;
    let parked = round.as_ref().map(|(r, _)| Arc::clone(r));
    let outcome = tokio::select! {
        biased;
        done = &mut work => Some(done),
        () = async {
            match &parked {
                Some(round) => round.parked().await,
                None => std::future::pending().await,
            }
        } => None,
        () = slot.started() => {
            // A task that could not be created fails the request; dropping
            // the guard stops the handler.
            let task = slot.outcome()?;
            if let Some(shared) = server.shared()
                && let Err(e) = task.share(shared).await
            {
                // Unreadable elsewhere, it must not run: the guard stops it.
                let error = ProtocolError::Internal(format!("{e}; the task was not started"));
                task.finish(Err(error.to_error_object(version)));
                return Err(error);
            }
            guard.0 = None;
            task.set_abort(work.abort_handle());
            let created = task.created();
            audit::note(AuditOutcome::Task);
            let server = server.clone();
            tokio::spawn(async move {
                let outcome = match work.await {
                    Ok(Ok(mut result)) => match context.take_escalation() {
                        Some(error) => Err(error.to_error_object(version)),
                        None => codec::encode_result(&mut result, version, None)
                            .ok()
                            .and_then(|raw| serde_json::from_str(raw.get()).ok())
                            .ok_or_else(|| ProtocolError::Internal("result could not be encoded".into()).to_error_object(version)),
                    },
                    Ok(Err(panic)) => {
                        tracing::error!(tool = %name, panic = panic_message(&panic), "task panicked");
                        Err(ProtocolError::Internal(format!("tool `{name}` failed")).to_error_object(version))
                    }
                    // Aborted: `tasks/cancel` already recorded it.
                    Err(_) => return,
                };
                task.finish(outcome);
                drop(server);
            });
            return codec::encode_value(created, version, None)
                .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")));
        }
    };
    if let Some(error) = context.take_escalation() {
        return Err(error);
    }
    let Some(done) = outcome else {
        return input_required(server, round, version);
    };
    let mut result = match done {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => {
            tracing::error!(tool = %name, panic = panic_message(&panic), "tool panicked");
            CallToolResult::error(format!("tool `{name}` failed: it panicked"))
        }
        Err(e) => {
            return Err(ProtocolError::Internal(format!(
                "tool `{name}` stopped: {e}"
            )));
        }
    };
    if result.is_error == Some(true) {
        audit::note(AuditOutcome::ToolError);
    }
    encode(&mut result, version, server)
}

/// Aborts the task it holds when dropped, so work whose caller has gone
/// (a dropped future, a closed connection) does not run on unobserved.
pub(crate) struct AbortOnDrop(pub(crate) Option<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

/// `tasks/get`, `tasks/update` and `tasks/cancel`.
pub(super) async fn tasks_method(
    server: &Server,
    request: &Request,
    envelope: &Envelope,
) -> Result<Box<RawValue>, ProtocolError> {
    if !tasks_declared(&envelope.capabilities) {
        let mut extensions = serde_json::Map::new();
        extensions.insert(TASKS_EXTENSION.into(), serde_json::json!({}));
        return Err(ProtocolError::MissingRequiredClientCapability(Box::new(
            mcp_core::lifecycle::ClientCapabilities {
                extensions: Some(extensions),
                ..Default::default()
            },
        )));
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct TaskParams {
        task_id: String,
        #[serde(default)]
        input_responses: Option<BTreeMap<String, serde_json::Value>>,
    }
    let params: TaskParams = parse_params(request.params.as_deref())?;
    // Another caller's task is answered exactly as an unknown one.
    let owner = envelope.task_owner();
    let unknown = || ProtocolError::InvalidParams(format!("unknown task `{}`", params.task_id));
    let version = envelope.version;
    let Some(task) = server.tasks().get(&params.task_id, &owner) else {
        let Some(shared) = server.shared() else {
            return Err(unknown());
        };
        let found = crate::task::remote(shared, &params.task_id, &owner)
            .await
            .map_err(super::subscriptions::shared_state_error)?;
        let task = found.ok_or_else(unknown)?;
        return remote_method(server, request, task, params.input_responses, version).await;
    };
    let ack = serde_json::json!({ "resultType": "complete" });
    let value = match request.method.as_str() {
        "tasks/get" => {
            return codec::encode_value(
                task.detailed(),
                version,
                Some(&server.info().implementation),
            )
            .map_err(|e| ProtocolError::Internal(format!("task could not be encoded: {e}")));
        }
        "tasks/update" => {
            task.answer(params.input_responses.unwrap_or_default());
            ack
        }
        _ => {
            task.cancel();
            ack
        }
    };
    serde_json::value::to_raw_value(&value)
        .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}

/// `tasks/get`, `tasks/update` and `tasks/cancel` of a task another
/// replica runs.
async fn remote_method(
    server: &Server,
    request: &Request,
    task: crate::task::RemoteTask,
    answers: Option<BTreeMap<String, serde_json::Value>>,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    let value = match request.method.as_str() {
        "tasks/get" => {
            return codec::encode_value(
                task.detailed(),
                version,
                Some(&server.info().implementation),
            )
            .map_err(|e| ProtocolError::Internal(format!("task could not be encoded: {e}")));
        }
        "tasks/update" => {
            task.answer(answers.unwrap_or_default()).await;
            serde_json::json!({ "resultType": "complete" })
        }
        _ => {
            task.cancel().await;
            serde_json::json!({ "resultType": "complete" })
        }
    };
    serde_json::value::to_raw_value(&value)
        .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_guard_aborts_its_work_and_disarming_it_does_not() {
        let work = tokio::spawn(std::future::pending::<()>());
        drop(AbortOnDrop(Some(work.abort_handle())));
        let ended = work.await.unwrap_err();
        assert!(ended.is_cancelled());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let work = tokio::spawn(async move { rx.await.is_ok() });
        let mut guard = AbortOnDrop(Some(work.abort_handle()));
        guard.0 = None;
        drop(guard);
        tx.send(()).unwrap();
        assert!(work.await.unwrap(), "the disarmed guard stopped its work");
    }
}
