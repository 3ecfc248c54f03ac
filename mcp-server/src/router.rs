//! Routes each request to its handler, for whichever revision it speaks.
//!
//! The router first settles the request's envelope: the revision, the client
//! and its capabilities, and the log level, taken from `_meta` on 2026-07-28
//! and from the session on older revisions. Handlers below it never look at
//! where that came from.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use mcp_core::codec;
use mcp_core::jsonrpc::{ErrorResponse, Message, Request, Response};
use mcp_core::lifecycle::{
    CacheHints, CacheScope, DiscoverResult, InitializeParams, InitializeResult,
    ListChangedCapability, ServerCapabilities,
};
use mcp_core::logging::SetLevelParams;
use mcp_core::meta::{MetaOnly, RequestMeta};
use mcp_core::method;
use mcp_core::pagination::PaginatedParams;
use mcp_core::tool::{CallToolParams, CallToolResult, ListToolsResult};
use mcp_core::{ProtocolError, ProtocolVersion};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::context::{Envelope, LogPolicy, RequestContext};
use crate::server::Server;
use crate::session::{Negotiated, Session};
use crate::tool::ToolCall;
use crate::transport::Outbound;

/// How long 2026-07-28 clients may cache `server/discover` and list results.
const LIST_TTL_MS: u64 = 60_000;

/// A protocol error together with the revision whose codes it should use.
type Failure = (ProtocolError, ProtocolVersion);

/// Handles one request and returns its response.
pub(crate) async fn handle_request(
    server: Server,
    session: Arc<Session>,
    request: Request,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Message {
    let id = request.id.clone();
    let span = tracing::info_span!("mcp.request", method = %request.method, id = %id);
    let routed = AssertUnwindSafe(route(&server, &session, request, outbound, cancellation))
        .catch_unwind()
        .instrument(span)
        .await;
    let outcome = match routed {
        Ok(outcome) => outcome,
        Err(panic) => {
            tracing::error!(panic = panic_message(&panic), "request handler panicked");
            Err((
                ProtocolError::Internal("the request handler panicked".into()),
                session
                    .version()
                    .unwrap_or(ProtocolVersion::LATEST_STATEFUL),
            ))
        }
    };
    match outcome {
        Ok(result) => Message::Response(Response { id, result }),
        Err((error, version)) => {
            tracing::debug!(%error, "request failed");
            Message::Error(ErrorResponse::new(Some(id), error.to_error_object(version)))
        }
    }
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

async fn route(
    server: &Server,
    session: &Arc<Session>,
    request: Request,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, Failure> {
    let legacy = session
        .version()
        .unwrap_or(ProtocolVersion::LATEST_STATEFUL);
    let meta: MetaOnly = parse_params(request.params.as_deref()).map_err(|e| (e, legacy))?;
    let meta = meta.meta.unwrap_or_default();
    let method = request.method.as_str();

    if let Some(requested) = meta.requested_version() {
        match requested.parse::<ProtocolVersion>() {
            Ok(version) if version.is_stateless() => {
                return route_stateless(server, request, meta, version, outbound, cancellation)
                    .await
                    .map_err(|e| (e, version));
            }
            Ok(_) => {} // a stateful revision named in `_meta`: the session decides
            Err(_) if session.version().is_some() => {}
            Err(_) => {
                return Err((
                    ProtocolError::UnsupportedProtocolVersion {
                        requested: requested.to_owned(),
                        supported: ProtocolVersion::ALL.to_vec(),
                    },
                    ProtocolVersion::LATEST,
                ));
            }
        }
    }

    if method == method::INITIALIZE {
        return initialize(server, session, request.params.as_deref()).map_err(|e| (e, legacy));
    }
    let Some(negotiated) = session.negotiated() else {
        // Legacy clients may ping and set the log level before initializing.
        return match method {
            method::PING => encode_empty(legacy, server),
            method::LOGGING_SET_LEVEL => {
                set_level(session, request.params.as_deref(), legacy, server)
            }
            _ => Err(ProtocolError::NotInitialized),
        }
        .map_err(|e| (e, legacy));
    };
    let version = negotiated.version;
    let envelope = Envelope {
        version,
        client_info: Some(negotiated.client_info),
        capabilities: negotiated.capabilities,
        meta,
        log: LogPolicy::Session(Arc::clone(session)),
    };
    let params = request.params.as_deref();
    let result = match method {
        method::PING => encode_empty(version, server),
        method::LOGGING_SET_LEVEL => set_level(session, params, version, server),
        method::TOOLS_LIST => list_tools(server, params, version),
        method::TOOLS_CALL => call_tool(server, request, envelope, outbound, cancellation).await,
        other => Err(ProtocolError::MethodNotFound(other.to_owned())),
    };
    result.map_err(|e| (e, version))
}

async fn route_stateless(
    server: &Server,
    request: Request,
    meta: RequestMeta,
    version: ProtocolVersion,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, ProtocolError> {
    let Some(capabilities) = meta.client_capabilities.clone() else {
        return Err(ProtocolError::InvalidParams(format!(
            "`_meta` must carry `{}` on protocol {version}",
            mcp_core::meta::CLIENT_CAPABILITIES
        )));
    };
    let envelope = Envelope {
        version,
        client_info: meta.client_info.clone(),
        capabilities,
        log: LogPolicy::Request(meta.log_level),
        meta,
    };
    match request.method.as_str() {
        method::SERVER_DISCOVER => discover(server, version),
        method::TOOLS_LIST => list_tools(server, request.params.as_deref(), version),
        method::TOOLS_CALL => call_tool(server, request, envelope, outbound, cancellation).await,
        other => Err(ProtocolError::MethodNotFound(other.to_owned())),
    }
}

fn parse_params<T: DeserializeOwned>(params: Option<&RawValue>) -> Result<T, ProtocolError> {
    let json = params.map_or("{}", RawValue::get);
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
    let info = version
        .is_stateless()
        .then_some(&server.info().implementation);
    codec::encode_result(result, version, info)
        .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}

fn encode_empty(version: ProtocolVersion, server: &Server) -> Result<Box<RawValue>, ProtocolError> {
    let info = version
        .is_stateless()
        .then_some(&server.info().implementation);
    codec::encode_value(serde_json::json!({}), version, info)
        .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        tools: Some(ListChangedCapability {
            list_changed: Some(true),
        }),
        logging: Some(serde_json::Map::new()),
        ..ServerCapabilities::default()
    }
}

fn initialize(
    server: &Server,
    session: &Session,
    params: Option<&RawValue>,
) -> Result<Box<RawValue>, ProtocolError> {
    if params.is_none() {
        return Err(ProtocolError::InvalidParams(
            "`initialize` needs params with `protocolVersion`, `capabilities` and `clientInfo`"
                .into(),
        ));
    }
    let params: InitializeParams = parse_params(params)?;
    let version = ProtocolVersion::negotiate(&params.protocol_version);
    let negotiated = Negotiated {
        version,
        client_info: params.client_info,
        capabilities: params.capabilities,
    };
    if !session.negotiate(negotiated) {
        return Err(ProtocolError::InvalidRequest(
            "the session is already initialized; `initialize` may be sent only once".into(),
        ));
    }
    tracing::info!(%version, requested = %params.protocol_version, "session initialized");
    let info = server.info();
    let mut result = InitializeResult {
        protocol_version: version.as_str().to_owned(),
        capabilities: capabilities(),
        server_info: info.implementation.clone(),
        instructions: info.instructions.clone(),
    };
    encode(&mut result, version, server)
}

fn discover(server: &Server, version: ProtocolVersion) -> Result<Box<RawValue>, ProtocolError> {
    let info = server.info();
    let mut result = DiscoverResult {
        supported_versions: ProtocolVersion::ALL
            .iter()
            .rev()
            .map(|v| v.as_str().to_owned())
            .collect(),
        capabilities: capabilities(),
        instructions: info.instructions.clone(),
        cache: Some(CacheHints {
            ttl_ms: LIST_TTL_MS,
            cache_scope: CacheScope::Public,
        }),
    };
    encode(&mut result, version, server)
}

fn set_level(
    session: &Session,
    params: Option<&RawValue>,
    version: ProtocolVersion,
    server: &Server,
) -> Result<Box<RawValue>, ProtocolError> {
    let params: SetLevelParams = parse_params(params)?;
    session.set_log_level(params.level);
    encode_empty(version, server)
}

fn list_tools(
    server: &Server,
    params: Option<&RawValue>,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    let params: PaginatedParams = parse_params(params)?;
    if let Some(cursor) = params.cursor {
        return Err(ProtocolError::InvalidParams(format!(
            "invalid cursor `{cursor}`"
        )));
    }
    let tools = server.tools();
    let cache = tools.list_cache(version);
    if let Some(encoded) = cache.get() {
        return Ok(encoded.clone());
    }
    let mut result = ListToolsResult {
        tools: tools.defs().iter().map(|d| d.tool().clone()).collect(),
        next_cursor: None,
    };
    let encoded = if version.is_stateless() {
        codec::Shape::shape(&mut result, version);
        let mut value = serde_json::to_value(&result)
            .map_err(|e| ProtocolError::Internal(format!("tool list could not be encoded: {e}")))?;
        if let Some(object) = value.as_object_mut() {
            object.insert("ttlMs".into(), LIST_TTL_MS.into());
            object.insert("cacheScope".into(), "public".into());
        }
        codec::encode_value(value, version, Some(&server.info().implementation))
            .map_err(|e| ProtocolError::Internal(format!("tool list could not be encoded: {e}")))?
    } else {
        encode(&mut result, version, server)?
    };
    Ok(cache.get_or_init(|| encoded).clone())
}

async fn call_tool(
    server: &Server,
    request: Request,
    envelope: Envelope,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, ProtocolError> {
    if request.params.is_none() {
        return Err(ProtocolError::InvalidParams(
            "`tools/call` needs params with the tool `name`".into(),
        ));
    }
    let params: CallToolParams = parse_params(request.params.as_deref())?;
    let tools = server.tools();
    let Some(tool) = tools.get(&params.name) else {
        return Err(ProtocolError::UnknownTool(params.name));
    };
    let version = envelope.version;
    tracing::Span::current().record("tool", params.name.as_str());
    let context = RequestContext::new(request.id, envelope, outbound, cancellation);
    let call = ToolCall::new(Arc::clone(tool.shared_name()), params.arguments, context);
    let mut result = match AssertUnwindSafe(tool.call(call)).catch_unwind().await {
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
    encode(&mut result, version, server)
}
