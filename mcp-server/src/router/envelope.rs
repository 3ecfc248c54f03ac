//! Settles a request's envelope: stateful sessions and stateless 2026-07-28
//! requests.

use std::sync::Arc;

use mcp_core::jsonrpc::Request;
use mcp_core::meta::{MetaOnly, RequestMeta};
use mcp_core::method;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::audit::{self};
use crate::auth::Principal;
use crate::context::{ClientLink, Envelope, LogPolicy};
use crate::outbound::Outbound;
use crate::server::Server;
use crate::session::Session;

use super::{
    Failure, ToolCallParams, Wire, WireHeaders, dispatch, encode_empty,
    headers::{StatelessParams, check_routing_headers},
    lifecycle::{discover, initialize, set_level},
    metering::check_rate,
    parse_params,
    subscriptions::{listen, subscribe},
    tasks::tasks_method,
};

pub(super) async fn route(
    server: &Server,
    wire: Wire,
    request: Request,
    mut tool_params: Option<Box<ToolCallParams>>,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, Failure> {
    let (session, principal) = match wire {
        Wire::Stateless(headers) => {
            audit::note_version(ProtocolVersion::LATEST);
            let params = match tool_params.as_mut() {
                Some(call) => StatelessParams::of_tool_call(call),
                None => parse_params(request.params.as_deref())
                    .map_err(|e| (e, ProtocolVersion::LATEST))?,
            };
            return Box::pin(route_stateless(
                server,
                request,
                tool_params,
                params,
                Arrival::Http(&headers),
                outbound,
                cancellation,
            ))
            .await;
        }
        Wire::Session { session, principal } => (session, principal),
    };
    let legacy = session
        .version()
        .unwrap_or(ProtocolVersion::LATEST_STATEFUL);
    let meta = match tool_params.as_mut() {
        Some(call) => call.meta.take(),
        None => {
            let read: MetaOnly =
                parse_params(request.params.as_deref()).map_err(|e| (e, legacy))?;
            read.meta
        }
    };
    let meta = meta.unwrap_or_default();
    record_trace(&meta);
    let method = request.method.as_str();

    if let Some(requested) = meta.requested_version() {
        match requested.parse::<ProtocolVersion>() {
            Ok(version) if version.is_stateless() => {
                audit::note_version(version);
                let arrival = Arrival::Session(&session, principal);
                return Box::pin(route_stateless(
                    server,
                    request,
                    tool_params,
                    StatelessParams::with_meta(meta),
                    arrival,
                    outbound,
                    cancellation,
                ))
                .await;
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
        return initialize(server, &session, request.params.as_deref()).map_err(|e| (e, legacy));
    }
    let Some(negotiated) = session.negotiated() else {
        // Legacy clients may ping and set the log level before initializing.
        return match method {
            method::PING => encode_empty(legacy, server),
            method::LOGGING_SET_LEVEL => {
                set_level(&session, request.params.as_deref(), legacy, server).await
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
        log: LogPolicy::Session(Arc::clone(&session)),
        link: ClientLink::Session(Arc::clone(&session)),
        task: None,
        principal,
        peer: session.peer(),
        connection: Some(session.serial()),
    };
    let params = request.params.as_deref();
    let result = match method {
        method::PING => encode_empty(version, server),
        method::LOGGING_SET_LEVEL => set_level(&session, params, version, server).await,
        method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE => {
            subscribe(server, &session, &request, version).await
        }
        _ => {
            Box::pin(dispatch(
                server,
                request,
                tool_params,
                envelope,
                None,
                outbound,
                cancellation,
            ))
            .await
        }
    };
    result.map_err(|e| (e, version))
}

/// Continues the caller's trace: `_meta.traceparent` goes on the request's
/// span (over one an HTTP header set on the span around it).
pub(super) fn record_trace(meta: &RequestMeta) {
    if let Some(parent) = meta
        .traceparent
        .as_deref()
        .and_then(crate::trace::TraceParent::parse)
    {
        parent.record(&tracing::Span::current());
        audit::note_trace(parent.trace_id);
    }
}

/// Where a 2026-07-28 request came from.
#[derive(Clone)]
pub(super) enum Arrival<'a> {
    /// A Streamable HTTP POST of its own, with the headers to check.
    Http(&'a WireHeaders),
    /// A connection that may also carry stateful sessions (stdio, legacy
    /// SSE, the in-process client), with who sent this request by its own
    /// credential.
    Session(&'a Arc<Session>, Option<Arc<Principal>>),
}

impl Arrival<'_> {
    fn headers(&self) -> Option<&WireHeaders> {
        match self {
            Self::Http(headers) => Some(headers),
            Self::Session(..) => None,
        }
    }

    fn principal(&self) -> Option<Arc<crate::auth::Principal>> {
        match self {
            Self::Http(headers) => headers.principal.clone(),
            Self::Session(_, principal) => principal.clone(),
        }
    }

    fn peer(&self) -> Option<std::net::IpAddr> {
        match self {
            Self::Http(headers) => headers.peer,
            Self::Session(session, _) => session.peer(),
        }
    }

    fn connection(&self) -> Option<u64> {
        match self {
            Self::Http(_) => None,
            Self::Session(session, _) => Some(session.serial()),
        }
    }
}

/// Serves a 2026-07-28 request, checking it in the order the spec's
/// conformance suite expects: the envelope, the version header, the version,
/// the routing headers, then the method.
pub(super) async fn route_stateless(
    server: &Server,
    request: Request,
    tool_params: Option<Box<ToolCallParams>>,
    mut params: StatelessParams,
    arrival: Arrival<'_>,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, Failure> {
    let meta = params.meta.take().unwrap_or_default();
    let headers = arrival.headers();
    record_trace(&meta);
    let fail = |e| (e, ProtocolVersion::LATEST);
    let Some(requested) = meta.requested_version() else {
        return Err(fail(ProtocolError::InvalidEnvelope(format!(
            "`_meta` must carry `{}`",
            mcp_core::meta::PROTOCOL_VERSION
        ))));
    };
    let Some(capabilities) = meta.client_capabilities.clone() else {
        return Err(fail(ProtocolError::InvalidEnvelope(format!(
            "`_meta` must carry `{}`",
            mcp_core::meta::CLIENT_CAPABILITIES
        ))));
    };
    if let Some(headers) = headers {
        match headers.protocol_version.as_deref().map(str::trim) {
            Some(header) if header == requested => {}
            Some(header) => {
                return Err(fail(ProtocolError::HeaderMismatch(format!(
                    "the MCP-Protocol-Version header says `{header}` but `_meta` says `{requested}`"
                ))));
            }
            None => {
                return Err(fail(ProtocolError::HeaderMismatch(
                    "the MCP-Protocol-Version header is required".into(),
                )));
            }
        }
    }
    let version = match requested.parse::<ProtocolVersion>() {
        Ok(version) if version.is_stateless() => version,
        _ => {
            return Err(fail(ProtocolError::UnsupportedProtocolVersion {
                requested: requested.to_owned(),
                supported: ProtocolVersion::ALL.to_vec(),
            }));
        }
    };
    if let Some(headers) = headers {
        check_routing_headers(headers, &request, &params).map_err(fail)?;
    }
    let envelope = Envelope {
        version,
        client_info: meta.client_info.clone(),
        capabilities,
        log: LogPolicy::Request(meta.log_level),
        meta,
        link: ClientLink::None,
        task: None,
        principal: arrival.principal(),
        peer: arrival.peer(),
        connection: arrival.connection(),
    };
    // The rarer branches are boxed: the largest branch sets the size of
    // this future, which every call moves into its box.
    let result = match request.method.as_str() {
        method::SERVER_DISCOVER => discover(server, version),
        method::SUBSCRIPTIONS_LISTEN => {
            check_rate(server, &envelope, None).await.map_err(fail)?;
            Box::pin(listen(server, request, version, outbound)).await
        }
        "tasks/get" | "tasks/update" | "tasks/cancel" => {
            check_rate(server, &envelope, None).await.map_err(fail)?;
            Box::pin(tasks_method(server, &request, &envelope)).await
        }
        // Boxed too, as on a session: this future stays small.
        _ => {
            Box::pin(dispatch(
                server,
                request,
                tool_params,
                envelope,
                headers,
                outbound,
                cancellation,
            ))
            .await
        }
    };
    result.map_err(fail)
}
