//! Running handlers: `tools/call`, `prompts/get`, `resources/read` and
//! `completion/complete`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use mcp_core::client::InputRetry;
use mcp_core::codec;
use mcp_core::completion::{CompleteParams, CompleteResult, CompletionReference};
use mcp_core::jsonrpc::{Request, RequestId};
use mcp_core::lifecycle::CacheScope;
use mcp_core::meta::RequestMeta;
use mcp_core::method;
use mcp_core::prompt::GetPromptParams;
use mcp_core::resource::{ReadResourceResult, UriParams};
use mcp_core::tool::CallToolResult;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::arguments::Arguments;
use crate::audit::{self, AuditOutcome};
use crate::completion::{CompletionRequest, Completions};
use crate::context::{Envelope, RequestContext, tasks_declared};
use crate::json_members;
use crate::outbound::Outbound;
use crate::prompt::PromptCall;
use crate::server::Server;
use crate::state::Unbound;
use crate::task::TaskSlot;
use crate::tool::ToolCall;

use super::{
    WireHeaders, encode,
    headers::check_param_headers,
    lists::add_cache_hints,
    metering::{check_rate, tool_name},
    panic_message, parse_params,
    rounds::{input_required, open_round, open_round_with, run_parkable},
    tasks::call_as_task,
};

pub(super) async fn get_prompt(
    server: &Server,
    request: Request,
    envelope: Envelope,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, ProtocolError> {
    let params: GetPromptParams = parse_params(request.params.as_deref())?;
    let prompts = server.prompts();
    let Some(prompt) = prompts.get(&params.name) else {
        return Err(ProtocolError::InvalidParams(format!(
            "unknown prompt `{}`",
            params.name
        )));
    };
    let version = envelope.version;
    let mut envelope = envelope;
    let round = if version.is_stateless() {
        let arguments = params
            .arguments
            .as_ref()
            .and_then(|a| serde_json::value::to_raw_value(a).ok())
            .map(Arguments::from);
        let binding = Unbound::new(method::PROMPTS_GET, &params.name, arguments);
        Some(open_round(server, &request, &mut envelope, binding)?)
    } else {
        None
    };
    let context = RequestContext::new(request.id, server.clone(), envelope, outbound, cancellation);
    let call = PromptCall::new(params.arguments.unwrap_or_default(), context.clone());
    let outcome = run_parkable(
        round.as_ref().map(|(r, _)| r),
        AssertUnwindSafe(prompt.get(call)).catch_unwind(),
    )
    .await;
    if let Some(error) = context.take_escalation() {
        return Err(error);
    }
    let Some(outcome) = outcome else {
        return input_required(server, round, version);
    };
    let mut result = match outcome {
        Ok(result) => result?,
        Err(panic) => {
            tracing::error!(
                prompt = prompt.name(),
                panic = panic_message(&panic),
                "prompt panicked"
            );
            return Err(ProtocolError::Internal(format!(
                "prompt `{}` failed",
                prompt.name()
            )));
        }
    };
    encode(&mut result, version, server)
}

pub(super) async fn read_resource(
    server: &Server,
    request: Request,
    envelope: Envelope,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, ProtocolError> {
    let params: UriParams = parse_params(request.params.as_deref())?;
    let version = envelope.version;
    let mut envelope = envelope;
    let round = if version.is_stateless() {
        let binding = Unbound::new(method::RESOURCES_READ, &params.uri, None);
        Some(open_round(server, &request, &mut envelope, binding)?)
    } else {
        None
    };
    let parked = round.as_ref().map(|(r, _)| r);
    let context = RequestContext::new(request.id, server.clone(), envelope, outbound, cancellation);
    let resources = server.resources();
    let read = if let Some(resource) = resources.get(&params.uri) {
        run_parkable(
            parked,
            AssertUnwindSafe(resource.read(context.clone())).catch_unwind(),
        )
        .await
    } else {
        let templates = server.resource_templates();
        let matched = templates
            .defs()
            .iter()
            .find_map(|t| t.matches(&params.uri).map(|vars| (t, vars)));
        let Some((template, variables)) = matched else {
            return Err(ProtocolError::ResourceNotFound { uri: params.uri });
        };
        run_parkable(
            parked,
            AssertUnwindSafe(template.read(&params.uri, variables, context.clone())).catch_unwind(),
        )
        .await
    };
    if let Some(error) = context.take_escalation() {
        return Err(error);
    }
    let Some(read) = read else {
        return input_required(server, round, version);
    };
    let contents = match read {
        Ok(contents) => contents?,
        Err(panic) => {
            tracing::error!(uri = %params.uri, panic = panic_message(&panic), "resource handler panicked");
            return Err(ProtocolError::Internal(format!(
                "reading `{}` failed",
                params.uri
            )));
        }
    };
    let mut result = ReadResourceResult { contents };
    if version.is_stateless() {
        let mut value = serde_json::to_value(&result)
            .map_err(|e| ProtocolError::Internal(format!("contents could not be encoded: {e}")))?;
        // What a read returns may depend on who asks: not shared, not kept.
        add_cache_hints(&mut value, 0, CacheScope::Private);
        return codec::encode_value(value, version, Some(&server.info().implementation))
            .map_err(|e| ProtocolError::Internal(format!("contents could not be encoded: {e}")));
    }
    encode(&mut result, version, server)
}

pub(super) async fn complete(
    server: &Server,
    params: Option<&RawValue>,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    let params: CompleteParams = parse_params(params)?;
    let request = CompletionRequest {
        argument: params.argument.name.clone(),
        value: params.argument.value,
        context: params.context.map(|c| c.arguments).unwrap_or_default(),
    };
    let completer = match &params.reference {
        CompletionReference::Prompt { name } => {
            let prompts = server.prompts();
            let Some(prompt) = prompts.get(name) else {
                return Err(ProtocolError::InvalidParams(format!(
                    "unknown prompt `{name}`"
                )));
            };
            prompt.completer(&params.argument.name).cloned()
        }
        CompletionReference::Resource { uri } => {
            let templates = server.resource_templates();
            let Some(template) = templates.get(uri) else {
                return Err(ProtocolError::InvalidParams(format!(
                    "unknown resource template `{uri}`"
                )));
            };
            template.completer(&params.argument.name).cloned()
        }
    };
    let completions = match completer {
        Some(completer) => completer.complete(request).await,
        None => Completions::default(),
    };
    let mut result = CompleteResult {
        completion: completions.into_completion(),
    };
    encode(&mut result, version, server)
}

/// A `tools/call` whose params were read: the request's own params are
/// not kept (twice the memory of a large call) while the tool runs.
pub(super) struct ReadToolCall {
    pub(super) id: RequestId,
    pub(super) params: Box<ToolCallParams>,
}

impl ReadToolCall {
    /// `request` with its params as read already, or read now.
    pub(super) fn new(
        server: &Server,
        request: Request,
        read: Option<Box<ToolCallParams>>,
        called: &mut Option<Arc<str>>,
    ) -> Result<Self, ProtocolError> {
        let params = match read {
            Some(params) => params,
            None => read_tool_call(server, &request, called)?,
        };
        Ok(Self {
            id: request.id,
            params,
        })
    }
}

/// Runs a `tools/call`; `called` is set to the name of the registered tool
/// it names, for its metrics.
pub(super) async fn call_tool(
    server: &Server,
    call: ReadToolCall,
    envelope: Envelope,
    headers: Option<&WireHeaders>,
    outbound: Outbound,
    cancellation: CancellationToken,
    called: &mut Option<Arc<str>>,
) -> Result<Box<RawValue>, ProtocolError> {
    let ReadToolCall { id, params } = call;
    let tools = server.tools();
    let Some(tool) = tools.get(&params.name) else {
        return Err(ProtocolError::UnknownTool(params.name));
    };
    *called = Some(Arc::clone(tool.shared_name()));
    // App-only tools exist only for the views of an MCP Apps host.
    if tool.is_app_only() && !envelope.capabilities.renders_ui() {
        return Err(ProtocolError::UnknownTool(params.name));
    }
    let version = envelope.version;
    if let Some(principal) = envelope.principal.as_deref()
        && !principal.has_scopes(tool.scopes())
    {
        return Err(ProtocolError::InsufficientScope {
            required: tool.scopes().to_vec(),
        });
    }
    check_rate(server, &envelope, Some(tool.name())).await?;
    if let Some(headers) = headers
        && !tool.header_params().is_empty()
    {
        check_param_headers(
            tool.header_params(),
            headers,
            params.arguments.as_ref().map(Arguments::get),
        )?;
    }
    let mut envelope = envelope;
    let round = if version.is_stateless() {
        let binding = Unbound::new(method::TOOLS_CALL, &params.name, params.arguments.clone());
        let retry = InputRetry {
            input_responses: params.input_responses,
            request_state: params.request_state,
        };
        Some(open_round_with(server, retry, &mut envelope, binding)?)
    } else {
        None
    };
    if version.is_stateless() && tool.supports_tasks() && tasks_declared(&envelope.capabilities) {
        let slot = Arc::new(TaskSlot::new(envelope.task_owner()));
        envelope.task = Some(Arc::clone(&slot));
        let context = RequestContext::new(id, server.clone(), envelope, outbound, cancellation);
        let call = ToolCall::new(
            Arc::clone(tool.shared_name()),
            params.arguments,
            context.clone(),
        );
        return call_as_task(server, tool.clone(), call, context, slot, round, version).await;
    }
    let context = RequestContext::new(id, server.clone(), envelope, outbound, cancellation);
    let call = ToolCall::new(
        Arc::clone(tool.shared_name()),
        params.arguments,
        context.clone(),
    );
    let limit = tool.timeout().or(server.options().tool_timeout);
    let outcome = run_parkable(
        round.as_ref().map(|(r, _)| r),
        AssertUnwindSafe(timed(tool.name(), limit, tool.call(call))).catch_unwind(),
    )
    .await;
    if let Some(error) = context.take_escalation() {
        return Err(error);
    }
    let Some(outcome) = outcome else {
        return input_required(server, round, version);
    };
    let mut result = match outcome {
        Ok(result) => result,
        Err(panic) => {
            tracing::error!(
                tool = tool.name(),
                panic = panic_message(&panic),
                "tool panicked"
            );
            CallToolResult::error(format!("tool `{}` failed: it panicked", tool.name()))
        }
    };
    if result.is_error == Some(true) {
        audit::note(AuditOutcome::ToolError);
    }
    encode(&mut result, version, server)
}

/// `CallToolParams` with the retry fields of 2026-07-28 and the `_meta`
/// the router reads for the envelope: a call's params are read once.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolCallParams {
    #[serde(rename = "_meta", default)]
    pub(super) meta: Option<RequestMeta>,
    pub(super) name: String,
    #[serde(default)]
    arguments: Option<Arguments>,
    #[serde(default)]
    input_responses: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    request_state: Option<String>,
}

impl ToolCallParams {
    /// The params of a `tools/call`, when they are well formed. Boxed:
    /// they travel through the router's futures, which would each hold
    /// (and move) a copy of their `_meta`.
    ///
    /// Large params are split rather than parsed: their arguments, most of
    /// the call, are passed over once (the tool reads them) and left where
    /// they are. The params become the call's arguments, uncopied, and are
    /// taken from `request`: nothing else reads a tool call's params once
    /// they are read.
    pub(super) fn read(request: &mut Request) -> Option<Box<Self>> {
        if request.method != method::TOOLS_CALL {
            return None;
        }
        let params = request.params.as_deref()?.get();
        if params.len() >= json_members::LARGE_PARAMS
            && let Some((arguments, rest)) = json_members::split_member(params, "arguments")
        {
            let mut read: Box<Self> = serde_json::from_str(&rest).ok()?;
            let at = arguments.filter(|at| params.get(at.clone()) != Some("null"));
            if let (Some(at), Some(params)) = (at, request.params.take()) {
                read.arguments = Arguments::within(params, at);
            }
            return Some(read);
        }
        serde_json::from_str(params).ok()
    }

    /// The W3C trace context the call's `_meta` carries, if any.
    #[cfg(feature = "otel")]
    pub(super) fn trace_context(&self) -> Option<(&str, Option<&str>)> {
        let meta = self.meta.as_ref()?;
        Some((meta.traceparent.as_deref()?, meta.tracestate.as_deref()))
    }

    /// What the audit record says of the call.
    pub(super) fn named(&self) -> audit::Named<'_> {
        audit::Named {
            name: &self.name,
            arguments: self.arguments.as_ref(),
        }
    }
}

/// The params of a `tools/call` that were not read well formed before:
/// why they are not, with the registered tool they still name, if any.
fn read_tool_call(
    server: &Server,
    request: &Request,
    called: &mut Option<Arc<str>>,
) -> Result<Box<ToolCallParams>, ProtocolError> {
    if request.params.is_none() {
        *called = registered(server, request);
        return Err(ProtocolError::InvalidParams(
            "`tools/call` needs params with the tool `name`".into(),
        ));
    }
    parse_params(request.params.as_deref()).inspect_err(|_| {
        *called = registered(server, request);
    })
}

/// The registered tool a `tools/call` whose params are not well formed
/// still names, if any.
fn registered(server: &Server, request: &Request) -> Option<Arc<str>> {
    let name = tool_name(request);
    server
        .tools()
        .get(&name)
        .map(|tool| Arc::clone(tool.shared_name()))
}

/// A tool call, stopped after `limit`: dropping the handler's future
/// cancels its work, and the caller learns why.
pub(super) async fn timed(
    name: &str,
    limit: Option<std::time::Duration>,
    call: impl Future<Output = CallToolResult>,
) -> CallToolResult {
    let Some(limit) = limit else {
        return call.await;
    };
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(tool = name, ?limit, "tool call timed out");
            audit::note(AuditOutcome::Timeout);
            CallToolResult::error(format!(
                "tool `{name}` did not finish within {limit:?} and was stopped"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tool_past_its_limit_is_stopped_with_an_error_result() {
        let limit = Some(std::time::Duration::from_millis(10));
        let stopped = timed("slow", limit, std::future::pending()).await;
        assert_eq!(stopped.is_error, Some(true));
        let text = serde_json::to_string(&stopped.content).unwrap();
        assert!(text.contains("did not finish"), "{text}");
        // Within its limit, or with none, the tool's own result comes back.
        let quick = timed("quick", limit, async { CallToolResult::default() }).await;
        assert_ne!(quick.is_error, Some(true));
        let unlimited = timed("any", None, async { CallToolResult::error("own") }).await;
        let text = serde_json::to_string(&unlimited.content).unwrap();
        assert!(text.contains("own"), "{text}");
    }
}
