//! Routes each request to its handler, for whichever revision it speaks.
//!
//! The router first settles the request's envelope: the revision, the client
//! and its capabilities, and the log level, taken from `_meta` on 2026-07-28
//! and from the session on older revisions. Handlers below it never look at
//! where that came from.

mod audit_host;
mod calls;
mod envelope;
mod headers;
mod lifecycle;
mod lists;
mod metering;
mod rounds;
mod subscriptions;
mod tasks;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use mcp_core::codec;
use mcp_core::jsonrpc::{ErrorResponse, Message, Request, RequestId, Response};
use mcp_core::method;
use mcp_core::prompt::ListPromptsResult;
use mcp_core::resource::{ListResourceTemplatesResult, ListResourcesResult};
use mcp_core::tool::ListToolsResult;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::audit::{self, AuditOutcome, Stop};
use crate::auth::Principal;
use crate::context::Envelope;
use crate::outbound::Outbound;
use crate::server::{ListKind, Registry, Server};
use crate::session::Session;
use crate::tool::ToolDef;

use calls::{ReadToolCall, ToolCallParams, call_tool, complete, get_prompt, read_resource};
use envelope::route;
use lists::list;
use metering::{check_rate, is_metered};

pub(crate) use metering::{caller_key, check_caller_rate};
pub(crate) use tasks::AbortOnDrop;

/// A protocol error together with the revision whose codes it should use.
type Failure = (ProtocolError, ProtocolVersion);

/// How a request reached the router.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    /// A connection or session that may hold an `initialize` handshake:
    /// stdio, legacy SSE, a Streamable HTTP session. A request whose `_meta`
    /// names 2026-07-28 is still served statelessly.
    Session {
        session: Arc<Session>,
        /// Who sent this request, by its own credential: scopes and tenant
        /// come from here, never from the session's opener.
        principal: Option<Arc<Principal>>,
    },
    /// A 2026-07-28 request over Streamable HTTP, with the headers that must
    /// agree with its body.
    Stateless(Arc<WireHeaders>),
}

/// The Streamable HTTP headers a 2026-07-28 request is checked against.
#[derive(Debug, Clone, Default)]
pub(crate) struct WireHeaders {
    pub(crate) protocol_version: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) name: Option<String>,
    /// `Mcp-Param-*` headers: (lower-case suffix, value).
    pub(crate) params: Vec<(String, String)>,
    /// Who sent the request, when the transport authenticates.
    pub(crate) principal: Option<Arc<crate::auth::Principal>>,
    /// The client's address.
    pub(crate) peer: Option<std::net::IpAddr>,
}

/// A request's response, and how an HTTP transport should label it.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) message: Message,
    pub(crate) status: AnswerStatus,
}

/// The HTTP status the spec assigns to an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerStatus {
    Ok,
    BadRequest,
    NotFound,
    Forbidden,
    TooManyRequests(u64),
}

impl AnswerStatus {
    fn of(error: &ProtocolError, version: ProtocolVersion) -> Self {
        match error {
            ProtocolError::Parse(_) | ProtocolError::InvalidRequest(_) => Self::BadRequest,
            ProtocolError::InsufficientScope { .. } => Self::Forbidden,
            ProtocolError::RateLimited { retry_after_secs }
            | ProtocolError::LimitReached {
                retry_after_secs, ..
            } => Self::TooManyRequests(*retry_after_secs),
            _ if !version.is_stateless() => Self::Ok,
            ProtocolError::InvalidEnvelope(_)
            | ProtocolError::HeaderMismatch(_)
            | ProtocolError::UnsupportedProtocolVersion { .. }
            | ProtocolError::MissingRequiredClientCapability(_) => Self::BadRequest,
            ProtocolError::MethodNotFound(_) => Self::NotFound,
            _ => Self::Ok,
        }
    }
}

/// A request's span. Its id is recorded as a number or a string, as it was
/// sent: a JSON or OTLP exporter keeps the type, and a number is written
/// without `core::fmt`.
macro_rules! request_span {
    ($method:expr, $id:expr, $tool:expr) => {
        tracing::info_span!(
            "mcp.request",
            method = $method,
            id = $id,
            tool = $tool,
            trace_id = tracing::field::Empty,
            parent_span_id = tracing::field::Empty,
        )
    };
}

/// Handles one request and returns its response, within `timeout` when
/// there is one. Its audit record is written when it is answered, or, when
/// the transport drops this future first, with the reason `stop` gives.
pub(crate) async fn handle_request(
    server: Server,
    wire: Wire,
    request: Request,
    outbound: Outbound,
    stop: Stop,
    timeout: Option<std::time::Duration>,
) -> Answer {
    let id = request.id.clone();
    let mut request = request;
    // A tool call's params are read once, here, for its span, its record and
    // its handler; anything malformed is left for the handler to explain.
    let tool_params = ToolCallParams::read(&mut request);
    let tool = tool_params.as_deref().map(|params| params.name.as_str());
    let span = match &id {
        RequestId::Number(number) => request_span!(request.method.as_str(), *number, tool),
        RequestId::String(text) => request_span!(request.method.as_str(), text.as_str(), tool),
    };
    // The OpenTelemetry parent is fixed when the span is first entered; a
    // tool call's `_meta` is read already (its params may be gone).
    #[cfg(feature = "otel")]
    match tool_params.as_deref() {
        Some(params) => {
            if let Some((traceparent, tracestate)) = params.trace_context() {
                crate::telemetry::continue_trace(&span, traceparent, tracestate);
            }
        }
        None => crate::telemetry::continue_trace_from_params(&span, request.params.as_deref()),
    }
    let (session, principal, client) = match &wire {
        Wire::Session { session, principal } => {
            (Some(Arc::clone(session)), principal.clone(), session.peer())
        }
        Wire::Stateless(headers) => (None, headers.principal.clone(), headers.peer),
    };
    let fallback = session.as_ref().map_or(ProtocolVersion::LATEST, |s| {
        s.version().unwrap_or(ProtocolVersion::LATEST_STATEFUL)
    });
    let entry = audit::Entry::start(
        &server,
        &request,
        tool_params.as_deref().map(ToolCallParams::named),
        session
            .as_ref()
            .map_or(Some(ProtocolVersion::LATEST), |s| s.version()),
        principal.as_deref(),
        client,
        &stop,
    );
    let method = crate::metrics::method_name(&request.method);
    let started = std::time::Instant::now();
    // Boxed once, here: the routing future is large, and every wrapper
    // below would otherwise copy it.
    let routed = Box::pin(route(
        &server,
        wire,
        request,
        tool_params,
        outbound,
        stop.cancellation,
    ));
    let work = AssertUnwindSafe(audit::noting(routed))
        .catch_unwind()
        .instrument(span);
    let routed = match timeout {
        Some(limit) => tokio::time::timeout(limit, work).await.map_err(|_| limit),
        None => Ok(work.await),
    };
    let ok = matches!(routed, Ok(Ok((Ok(_), _))));
    server
        .metrics()
        .request(&method, ok, started.elapsed().as_secs_f64());
    let (outcome, notes) = match routed {
        Ok(Ok((outcome, notes))) => (outcome, notes),
        Ok(Err(panic)) => {
            tracing::error!(panic = panic_message(&panic), "request handler panicked");
            let error = ProtocolError::Internal("the request handler panicked".into());
            (Err((error, fallback)), audit::Notes::default())
        }
        Err(limit) => {
            tracing::warn!(id = %id, ?limit, "request timed out");
            let error = ProtocolError::Internal(format!(
                "the request took longer than {}s and was stopped",
                limit.as_secs()
            ));
            let notes = audit::Notes {
                outcome: Some(AuditOutcome::Timeout),
                ..audit::Notes::default()
            };
            (Err((error, fallback)), notes)
        }
    };
    // The revision is known once routed: a session's after `initialize`.
    let served = match &session {
        Some(session) => notes.version.or_else(|| session.version()),
        None => Some(ProtocolVersion::LATEST),
    };
    if let Some(version) = served {
        server.metrics().revision(version);
    }
    if let Some(entry) = entry {
        let (judged, error) = match &outcome {
            Ok(_) => (AuditOutcome::Ok, None),
            Err((error, _)) => (failure_outcome(error), Some(error.to_string())),
        };
        entry.finish(served, notes, notes.outcome.unwrap_or(judged), error);
    }
    match outcome {
        Ok(result) => Answer {
            message: Message::Response(Response { id, result }),
            status: AnswerStatus::Ok,
        },
        Err((error, version)) => {
            tracing::debug!(%error, "request failed");
            Answer {
                status: AnswerStatus::of(&error, version),
                message: Message::Error(ErrorResponse::new(
                    Some(id),
                    error.to_error_object(version),
                )),
            }
        }
    }
}

/// The audit outcome of a request answered with `error`.
fn failure_outcome(error: &ProtocolError) -> AuditOutcome {
    match error {
        ProtocolError::InsufficientScope { .. } => AuditOutcome::Denied,
        ProtocolError::RateLimited { .. } | ProtocolError::LimitReached { .. } => {
            AuditOutcome::RateLimited
        }
        _ => AuditOutcome::Error,
    }
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

fn parse_params<T: DeserializeOwned>(params: Option<&RawValue>) -> Result<T, ProtocolError> {
    let json = params.map_or("{}", RawValue::get);
    // Tracking the path costs on every value; it is only needed to say
    // where parsing failed, so the params are read again only then.
    if let Ok(parsed) = serde_json::from_str(json) {
        return Ok(parsed);
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = crate::tool::without_position(&e.into_inner());
        if path == "." {
            ProtocolError::InvalidParams(inner)
        } else {
            ProtocolError::InvalidParams(format!("`{path}`: {inner}"))
        }
    })
}

fn encode<T: serde::Serialize + codec::Shape>(
    result: &mut T,
    version: ProtocolVersion,
    server: &Server,
) -> Result<Box<RawValue>, ProtocolError> {
    let encoded = match &server.inner.result_tail {
        Some(tail) if version == ProtocolVersion::LATEST => codec::encode_result_with(result, tail),
        _ => {
            let info = version
                .is_stateless()
                .then_some(&server.info().implementation);
            codec::encode_result(result, version, info)
        }
    };
    encoded.map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}

fn encode_empty(version: ProtocolVersion, server: &Server) -> Result<Box<RawValue>, ProtocolError> {
    let info = version
        .is_stateless()
        .then_some(&server.info().implementation);
    codec::encode_value(serde_json::json!({}), version, info)
        .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}

/// The methods every revision serves the same way, given an envelope.
async fn dispatch(
    server: &Server,
    request: Request,
    tool_params: Option<Box<ToolCallParams>>,
    envelope: Envelope,
    headers: Option<&WireHeaders>,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, ProtocolError> {
    let version = envelope.version;
    let params = request.params.as_deref();
    if is_metered(&request.method) {
        check_rate(server, &envelope, None).await?;
    }
    match request.method.as_str() {
        method::TOOLS_LIST => {
            let tools = server.tools();
            let scoped = tools.defs().iter().any(|d| !d.scopes().is_empty());
            let principal = envelope.principal.as_deref().filter(|_| scoped);
            // A client without MCP Apps would show app-only tools to its model.
            let hide_app_only = !envelope.capabilities.renders_ui()
                && tools.defs().iter().any(ToolDef::is_app_only);
            let visible = if principal.is_some() || hide_app_only {
                Arc::new(Registry::new(
                    tools
                        .defs()
                        .iter()
                        // Tools the caller may not use are not shown.
                        .filter(|d| principal.is_none_or(|p| p.has_scopes(d.scopes())))
                        .filter(|d| !(hide_app_only && d.is_app_only()))
                        .cloned()
                        .collect(),
                ))
            } else {
                tools
            };
            list(
                server,
                ListKind::Tools,
                &visible,
                params,
                version,
                |d| d.tool().clone(),
                |tools, next_cursor| ListToolsResult { tools, next_cursor },
            )
        }
        method::TOOLS_CALL => {
            let started = std::time::Instant::now();
            let mut called = None;
            let result = match ReadToolCall::new(server, request, tool_params, &mut called) {
                Ok(call) => {
                    call_tool(
                        server,
                        call,
                        envelope,
                        headers,
                        outbound,
                        cancellation,
                        &mut called,
                    )
                    .await
                }
                Err(error) => Err(error),
            };
            // Only registered tools get their own series.
            let label = called.as_deref().unwrap_or("unknown");
            let outcome = match &result {
                Ok(_) => audit::noted().unwrap_or(AuditOutcome::Ok),
                Err(_) => AuditOutcome::Error,
            };
            server
                .metrics()
                .tool_call(label, outcome, started.elapsed());
            result
        }
        method::PROMPTS_LIST => list(
            server,
            ListKind::Prompts,
            &server.prompts(),
            params,
            version,
            |d| d.prompt().clone(),
            |prompts, next_cursor| ListPromptsResult {
                prompts,
                next_cursor,
            },
        ),
        // Boxed, as the other rarer branches: the largest branch sets the
        // size of every call's future.
        method::PROMPTS_GET => {
            Box::pin(get_prompt(
                server,
                request,
                envelope,
                outbound,
                cancellation,
            ))
            .await
        }
        method::RESOURCES_LIST => list(
            server,
            ListKind::Resources,
            &server.resources(),
            params,
            version,
            |d| d.resource().clone(),
            |resources, next_cursor| ListResourcesResult {
                resources,
                next_cursor,
            },
        ),
        method::RESOURCES_TEMPLATES_LIST => list(
            server,
            ListKind::ResourceTemplates,
            &server.resource_templates(),
            params,
            version,
            |d| d.template().clone(),
            |resource_templates, next_cursor| ListResourceTemplatesResult {
                resource_templates,
                next_cursor,
            },
        ),
        method::RESOURCES_READ => {
            Box::pin(read_resource(
                server,
                request,
                envelope,
                outbound,
                cancellation,
            ))
            .await
        }
        method::COMPLETION_COMPLETE => {
            check_rate(server, &envelope, None).await?;
            Box::pin(complete(server, params, version)).await
        }
        other => Err(ProtocolError::MethodNotFound(other.to_owned())),
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
