//! Routes each request to its handler, for whichever revision it speaks.
//!
//! The router first settles the request's envelope: the revision, the client
//! and its capabilities, and the log level, taken from `_meta` on 2026-07-28
//! and from the session on older revisions. Handlers below it never look at
//! where that came from.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use futures_util::FutureExt;
use mcp_core::client::InputRetry;
use mcp_core::codec;
use mcp_core::completion::{CompleteParams, CompleteResult, CompletionReference};
use mcp_core::jsonrpc::{ErrorResponse, Message, Notification, Request, Response};
use mcp_core::lifecycle::{
    CacheHints, CacheScope, DiscoverResult, InitializeParams, InitializeResult,
    ListChangedCapability, ResourcesCapability, ServerCapabilities,
};
use mcp_core::logging::SetLevelParams;
use mcp_core::meta::{MetaOnly, RequestMeta};
use mcp_core::method;
use mcp_core::notification;
use mcp_core::pagination::PaginatedParams;
use mcp_core::prompt::{GetPromptParams, ListPromptsResult};
use mcp_core::resource::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, UriParams,
};
use mcp_core::subscription::{ListenParams, SubscriptionFilter};
use mcp_core::tool::{CallToolParams, CallToolResult, ListToolsResult};
use mcp_core::{ProtocolError, ProtocolVersion};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::ask::InputRound;
use crate::audit::{self, AuditOutcome, Stop};
use crate::auth::Principal;
use crate::completion::{CompletionRequest, Completions};
use crate::context::{ClientLink, Envelope, LogPolicy, RequestContext, tasks_declared};
use crate::prompt::PromptCall;
use crate::server::{ListKind, Registry, Server, ServerEvent};
use crate::session::{Negotiated, Session};
use crate::state::{self, Binding};
use crate::task::{TASKS_EXTENSION, TaskSlot};
use crate::tool::ToolCall;
use crate::transport::Outbound;

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
    let span = tracing::info_span!(
        "mcp.request",
        method = %request.method,
        id = %id,
        tool = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        parent_span_id = tracing::field::Empty,
    );
    // The OpenTelemetry parent is fixed when the span is first entered.
    #[cfg(feature = "otel")]
    crate::telemetry::continue_trace_from_params(&span, request.params.as_deref());
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
        session
            .as_ref()
            .map_or(Some(ProtocolVersion::LATEST), |s| s.version()),
        principal.as_deref(),
        client,
        &stop,
    );
    let method = request.method.clone();
    let started = std::time::Instant::now();
    // Boxed once, here: the routing future is large, and every wrapper
    // below would otherwise copy it.
    let routed = Box::pin(route(&server, wire, request, outbound, stop.cancellation));
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

async fn route(
    server: &Server,
    wire: Wire,
    request: Request,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, Failure> {
    let (session, principal) = match wire {
        Wire::Stateless(headers) => {
            audit::note_version(ProtocolVersion::LATEST);
            let meta: MetaOnly = parse_params(request.params.as_deref())
                .map_err(|e| (e, ProtocolVersion::LATEST))?;
            return Box::pin(route_stateless(
                server,
                request,
                meta.meta.unwrap_or_default(),
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
    let meta: MetaOnly = parse_params(request.params.as_deref()).map_err(|e| (e, legacy))?;
    let meta = meta.meta.unwrap_or_default();
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
                    meta,
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
                set_level(&session, request.params.as_deref(), legacy, server)
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
        method::LOGGING_SET_LEVEL => set_level(&session, params, version, server),
        method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE => {
            subscribe(server, &session, &request, version)
        }
        _ => {
            Box::pin(dispatch(
                server,
                request,
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
fn record_trace(meta: &RequestMeta) {
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
enum Arrival<'a> {
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
async fn route_stateless(
    server: &Server,
    request: Request,
    meta: RequestMeta,
    arrival: Arrival<'_>,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, Failure> {
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
        check_routing_headers(headers, &request).map_err(fail)?;
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
    let result = match request.method.as_str() {
        method::SERVER_DISCOVER => discover(server, version),
        method::SUBSCRIPTIONS_LISTEN => {
            check_rate(server, &envelope, None).await.map_err(fail)?;
            listen(server, request, version, outbound).await
        }
        "tasks/get" | "tasks/update" | "tasks/cancel" => {
            check_rate(server, &envelope, None).await.map_err(fail)?;
            tasks_method(server, &request, &envelope)
        }
        _ => dispatch(server, request, envelope, headers, outbound, cancellation).await,
    };
    result.map_err(fail)
}

/// `Mcp-Method` must name the body's method, and `Mcp-Name` the tool,
/// prompt, resource or task the body addresses.
fn check_routing_headers(headers: &WireHeaders, request: &Request) -> Result<(), ProtocolError> {
    match headers.method.as_deref().map(str::trim) {
        Some(method) if method == request.method => {}
        Some(method) => {
            return Err(ProtocolError::HeaderMismatch(format!(
                "the Mcp-Method header says `{method}` but the body's method is `{}`",
                request.method
            )));
        }
        None => {
            return Err(ProtocolError::HeaderMismatch(
                "the Mcp-Method header is required".into(),
            ));
        }
    }
    let field = match request.method.as_str() {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        "tasks/get" | "tasks/update" | "tasks/cancel" => "taskId",
        _ => return Ok(()),
    };
    /// Only the fields `Mcp-Name` mirrors, borrowed when unescaped.
    #[derive(serde::Deserialize)]
    struct Named<'a> {
        #[serde(borrow, default)]
        name: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        uri: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default, rename = "taskId")]
        task_id: Option<std::borrow::Cow<'a, str>>,
    }
    let raw = request.params.as_deref().map_or("{}", RawValue::get);
    let named: Named<'_> = serde_json::from_str(raw)
        .map_err(|e| ProtocolError::InvalidParams(crate::tool::without_position(&e)))?;
    let body = match field {
        "name" => named.name.as_deref(),
        "uri" => named.uri.as_deref(),
        _ => named.task_id.as_deref(),
    };
    let header = headers
        .name
        .as_deref()
        .map(|h| decode_header_value(h.trim()));
    match (header, body) {
        (Some(Some(header)), Some(body)) if header == body => Ok(()),
        (Some(None), _) => Err(ProtocolError::HeaderMismatch(
            "the Mcp-Name header is not valid `=?base64?...?=`".into(),
        )),
        (None, _) => Err(ProtocolError::HeaderMismatch(format!(
            "the Mcp-Name header is required for `{}`",
            request.method
        ))),
        (Some(Some(header)), body) => Err(ProtocolError::HeaderMismatch(format!(
            "the Mcp-Name header says `{header}` but the body's `{field}` is `{}`",
            body.unwrap_or("(absent)")
        ))),
    }
}

/// Arguments declared `x-mcp-header` must be mirrored, equal, in their
/// `Mcp-Param-*` headers (2026-07-28), so proxies can route on them.
fn check_param_headers(
    declared: &[(String, String)],
    headers: &WireHeaders,
    arguments: Option<&RawValue>,
) -> Result<(), ProtocolError> {
    let arguments: serde_json::Map<String, serde_json::Value> = match arguments {
        Some(raw) => serde_json::from_str(raw.get()).unwrap_or_default(),
        None => serde_json::Map::new(),
    };
    for (suffix, property) in declared {
        let header = headers
            .params
            .iter()
            .find(|(s, _)| s == suffix)
            .map(|(_, v)| v.trim());
        let body = arguments.get(property);
        let Some(header) = header else {
            if body.is_some() {
                return Err(ProtocolError::HeaderMismatch(format!(
                    "the Mcp-Param-{suffix} header is required when `{property}` is given"
                )));
            }
            continue;
        };
        let Some(decoded) = decode_header_value(header) else {
            return Err(ProtocolError::HeaderMismatch(format!(
                "the Mcp-Param-{suffix} header is not valid `=?base64?...?=`"
            )));
        };
        let matches = match body {
            Some(serde_json::Value::String(s)) => *s == decoded,
            Some(serde_json::Value::Bool(b)) => decoded == if *b { "true" } else { "false" },
            Some(serde_json::Value::Number(n)) => match (n.as_i64(), decoded.parse::<i64>()) {
                (Some(body), Ok(header)) => body == header,
                _ => n
                    .as_f64()
                    .zip(decoded.parse::<f64>().ok())
                    .is_some_and(|(a, b)| a == b),
            },
            _ => false,
        };
        if !matches {
            return Err(ProtocolError::HeaderMismatch(format!(
                "the Mcp-Param-{suffix} header does not match the argument `{property}`"
            )));
        }
    }
    Ok(())
}

/// A header value as the client meant it: `=?base64?...?=` is decoded, as
/// 2026-07-28 requires for values that are not plain visible ASCII. `None`
/// when the encoding is broken.
pub(crate) fn decode_header_value(value: &str) -> Option<std::borrow::Cow<'_, str>> {
    use base64::Engine as _;
    let Some(encoded) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    else {
        return Some(std::borrow::Cow::Borrowed(value));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok().map(std::borrow::Cow::Owned)
}

/// `subscriptions/listen`: acknowledges, then forwards the changes the client
/// asked for until the client goes away or the server shuts down.
async fn listen(
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

fn notification_message(method: &str, params: serde_json::Value) -> Result<Message, ProtocolError> {
    let params = serde_json::value::to_raw_value(&params)
        .map_err(|e| ProtocolError::Internal(format!("notification could not be encoded: {e}")))?;
    Ok(Message::Notification(Notification {
        method: method.to_owned(),
        params: Some(params),
    }))
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

fn capabilities(server: &Server) -> ServerCapabilities {
    let has_prompts = !server.prompts().defs().is_empty();
    let has_resources =
        !server.resources().defs().is_empty() || !server.resource_templates().defs().is_empty();
    ServerCapabilities {
        tools: Some(ListChangedCapability {
            list_changed: Some(true),
        }),
        prompts: has_prompts.then_some(ListChangedCapability {
            list_changed: Some(true),
        }),
        resources: has_resources.then_some(ResourcesCapability {
            subscribe: Some(server.options().subscribe),
            list_changed: Some(true),
        }),
        completions: (has_prompts || has_resources).then(serde_json::Map::new),
        logging: Some(serde_json::Map::new()),
        extensions: server
            .tools()
            .defs()
            .iter()
            .any(crate::tool::ToolDef::supports_tasks)
            .then(|| {
                let mut extensions = serde_json::Map::new();
                extensions.insert(TASKS_EXTENSION.into(), serde_json::json!({}));
                extensions
            }),
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
        capabilities: capabilities(server),
        server_info: info.implementation.clone(),
        instructions: info.instructions.clone(),
    };
    encode(&mut result, version, server)
}

fn discover(server: &Server, version: ProtocolVersion) -> Result<Box<RawValue>, ProtocolError> {
    let info = server.info();
    let options = server.options();
    let mut result = DiscoverResult {
        supported_versions: ProtocolVersion::ALL
            .iter()
            .rev()
            .map(|v| v.as_str().to_owned())
            .collect(),
        capabilities: capabilities(server),
        instructions: info.instructions.clone(),
        cache: Some(CacheHints {
            ttl_ms: options.cache_ttl_ms,
            cache_scope: options.cache_scope,
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

/// `resources/subscribe` and `resources/unsubscribe` (stateful revisions).
fn subscribe(
    server: &Server,
    session: &Session,
    request: &Request,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    if !server.options().subscribe {
        return Err(ProtocolError::MethodNotFound(request.method.clone()));
    }
    let params: UriParams = parse_params(request.params.as_deref())?;
    if request.method == method::RESOURCES_SUBSCRIBE {
        session.subscribe(&params.uri);
    } else {
        session.unsubscribe(&params.uri);
    }
    encode_empty(version, server)
}

/// The methods every revision serves the same way, given an envelope.
async fn dispatch(
    server: &Server,
    request: Request,
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
            let visible = match envelope.principal.as_deref() {
                // Tools the caller may not use are not shown.
                Some(principal) if scoped => Arc::new(Registry::new(
                    tools
                        .defs()
                        .iter()
                        .filter(|d| principal.has_scopes(d.scopes()))
                        .cloned()
                        .collect(),
                )),
                _ => tools,
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
            let tool = tool_name(&request);
            let result =
                call_tool(server, request, envelope, headers, outbound, cancellation).await;
            // Only registered tools get their own series.
            let label = if server.tools().get(&tool).is_some() {
                tool.as_str()
            } else {
                "unknown"
            };
            let outcome = match &result {
                Ok(_) => audit::noted().map_or("ok", AuditOutcome::as_str),
                Err(_) => "error",
            };
            server.metrics().tool_call(label, outcome);
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

/// The name a `tools/call` asks for.
fn tool_name(request: &Request) -> String {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(default)]
        name: String,
    }
    let raw = request.params.as_deref().map_or("{}", RawValue::get);
    serde_json::from_str::<Named>(raw)
        .map(|n| n.name)
        .unwrap_or_default()
}

/// Whether a method costs enough work to take from the caller's rate limit
/// here. Tool calls and completions take it themselves (a tool call also
/// from its tool's quota); `ping` and notifications are free.
fn is_metered(method: &str) -> bool {
    matches!(
        method,
        method::TOOLS_LIST
            | method::PROMPTS_LIST
            | method::PROMPTS_GET
            | method::RESOURCES_LIST
            | method::RESOURCES_TEMPLATES_LIST
            | method::RESOURCES_READ
    )
}

/// Takes one request from the caller's rate limit: the principal, else the
/// client's address, else the one local caller.
async fn check_rate(
    server: &Server,
    envelope: &Envelope,
    tool: Option<&str>,
) -> Result<(), ProtocolError> {
    check_caller_rate(server, envelope.principal.as_deref(), envelope.peer, tool).await
}

/// [`check_rate`] for a caller known by its principal or address.
pub(crate) async fn check_caller_rate(
    server: &Server,
    principal: Option<&crate::auth::Principal>,
    peer: Option<std::net::IpAddr>,
    tool: Option<&str>,
) -> Result<(), ProtocolError> {
    let Some(limit) = &server.options().rate_limit else {
        return Ok(());
    };
    let caller = match (principal, peer) {
        // The whole identity: `ops` of two tenants are two callers.
        (Some(principal), _) => format!(
            "principal:{}\u{0}{}\u{0}{}",
            principal.issuer.as_deref().unwrap_or(""),
            principal.tenant.as_deref().unwrap_or(""),
            principal.id
        ),
        // One caller per client network, as for session caps.
        (None, Some(peer)) => format!("ip:{}", crate::auth::client_network(peer)),
        (None, None) => "local".to_owned(),
    };
    limit.check(&caller, tool).await.map_err(|wait| {
        tracing::info!(%caller, tool, ?wait, "rate limited");
        server.metrics().rate_limited.inc();
        ProtocolError::RateLimited {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

/// An opaque cursor: the offset of the next page, encoded.
fn encode_cursor(offset: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("page:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("page:")?
        .parse()
        .ok()
}

/// One page of a list, shaped for `version`, with caching hints on
/// 2026-07-28. The first page is encoded once per revision and kept.
fn list<D, I, R>(
    server: &Server,
    kind: ListKind,
    registry: &Registry<D>,
    params: Option<&RawValue>,
    version: ProtocolVersion,
    item: impl Fn(&D) -> I,
    result: impl FnOnce(Vec<I>, Option<String>) -> R,
) -> Result<Box<RawValue>, ProtocolError>
where
    D: crate::server::Keyed,
    R: serde::Serialize + codec::Shape,
{
    let params: PaginatedParams = parse_params(params)?;
    let defs = registry.defs();
    let offset = match params.cursor.as_deref() {
        None => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(offset) if offset < defs.len() => offset,
            _ => {
                return Err(ProtocolError::InvalidParams(format!(
                    "invalid cursor `{cursor}`: pass back a `nextCursor` from this list"
                )));
            }
        },
    };
    let cache = (offset == 0).then(|| registry.list_cache(version));
    if let Some(encoded) = cache.and_then(OnceLock::get) {
        return Ok(encoded.clone());
    }
    let page_size = server.options().page_size;
    let end = (offset + page_size).min(defs.len());
    let next_cursor = (end < defs.len()).then(|| encode_cursor(end));
    let mut result = result(defs[offset..end].iter().map(item).collect(), next_cursor);
    let encoded = if version.is_stateless() {
        codec::Shape::shape(&mut result, version);
        let mut value = serde_json::to_value(&result)
            .map_err(|e| ProtocolError::Internal(format!("list could not be encoded: {e}")))?;
        let (ttl_ms, scope) = server.options().hints(kind);
        add_cache_hints(&mut value, ttl_ms, scope);
        codec::encode_value(value, version, Some(&server.info().implementation))
            .map_err(|e| ProtocolError::Internal(format!("list could not be encoded: {e}")))?
    } else {
        encode(&mut result, version, server)?
    };
    Ok(match cache {
        Some(cache) => cache.get_or_init(|| encoded).clone(),
        None => encoded,
    })
}

fn add_cache_hints(value: &mut serde_json::Value, ttl_ms: u64, scope: CacheScope) {
    if let Some(object) = value.as_object_mut() {
        object.insert("ttlMs".into(), ttl_ms.into());
        object.insert(
            "cacheScope".into(),
            match scope {
                CacheScope::Public => "public",
                CacheScope::Private => "private",
            }
            .into(),
        );
    }
}

async fn get_prompt(
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
            .and_then(|a| serde_json::to_value(a).ok());
        let binding = Binding::new(method::PROMPTS_GET, &params.name, arguments.as_ref());
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

async fn read_resource(
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
        let binding = Binding::new(method::RESOURCES_READ, &params.uri, None);
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

async fn complete(
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

async fn call_tool(
    server: &Server,
    request: Request,
    envelope: Envelope,
    headers: Option<&WireHeaders>,
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
        check_param_headers(tool.header_params(), headers, params.arguments.as_deref())?;
    }
    let mut envelope = envelope;
    let round = if version.is_stateless() {
        let arguments = params
            .arguments
            .as_deref()
            .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok());
        let binding = Binding::new(method::TOOLS_CALL, &params.name, arguments.as_ref());
        Some(open_round(server, &request, &mut envelope, binding)?)
    } else {
        None
    };
    if version.is_stateless() && tool.supports_tasks() && tasks_declared(&envelope.capabilities) {
        let slot = Arc::new(TaskSlot::new(envelope.task_owner()));
        envelope.task = Some(Arc::clone(&slot));
        let context =
            RequestContext::new(request.id, server.clone(), envelope, outbound, cancellation);
        let call = ToolCall::new(
            Arc::clone(tool.shared_name()),
            params.arguments,
            context.clone(),
        );
        return call_as_task(server, tool.clone(), call, context, slot, round, version).await;
    }
    let context = RequestContext::new(request.id, server.clone(), envelope, outbound, cancellation);
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

/// A tool call, stopped after `limit`: dropping the handler's future
/// cancels its work, and the caller learns why.
async fn timed(
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

/// Runs a task-capable tool for a client that declared the tasks
/// extension. Until the handler calls `ctx.start_task()` it is an ordinary
/// request (questions go back as an `InputRequiredResult`); after, the
/// request is answered with the task and the handler finishes in the
/// background, its outcome kept for `tasks/get`.
async fn call_as_task(
    server: &Server,
    tool: crate::tool::ToolDef,
    call: ToolCall,
    context: RequestContext,
    slot: Arc<TaskSlot>,
    round: Option<(Arc<InputRound>, Binding)>,
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
fn tasks_method(
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
    let Some(task) = server.tasks().get(&params.task_id, &envelope.task_owner()) else {
        return Err(ProtocolError::InvalidParams(format!(
            "unknown task `{}`",
            params.task_id
        )));
    };
    let version = envelope.version;
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

/// On 2026-07-28, the answers a request brings (its `inputResponses` and
/// those in its signed `requestState`), installed in the envelope so the
/// handler's questions find them.
fn open_round(
    server: &Server,
    request: &Request,
    envelope: &mut Envelope,
    binding: Binding,
) -> Result<(Arc<InputRound>, Binding), ProtocolError> {
    let retry: InputRetry = parse_params(request.params.as_deref())?;
    let mut answers = match retry.request_state.as_deref() {
        Some(state) => state::open(server.state_key()?, state, &binding)?,
        None => BTreeMap::new(),
    };
    answers.extend(retry.input_responses.unwrap_or_default());
    let round = Arc::new(InputRound::new(answers));
    envelope.link = ClientLink::Round(Arc::clone(&round));
    Ok((round, binding))
}

/// Runs a handler; `None` when it parked on a question with no answer yet.
async fn run_parkable<T>(
    round: Option<&Arc<InputRound>>,
    work: impl Future<Output = T>,
) -> Option<T> {
    match round {
        None => Some(work.await),
        Some(round) => tokio::select! {
            biased;
            done = work => Some(done),
            () = round.parked() => None,
        },
    }
}

/// The `InputRequiredResult` for a parked handler: its questions, and a
/// signed state carrying every answer so far.
fn input_required(
    server: &Server,
    round: Option<(Arc<InputRound>, Binding)>,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    let Some((round, binding)) = round else {
        return Err(ProtocolError::Internal(
            "a handler waited for nothing".into(),
        ));
    };
    audit::note(AuditOutcome::InputRequired);
    let questions = round.take_questions();
    let state = state::seal(server.state_key()?, binding, round.answers.clone())?;
    let value = serde_json::json!({
        "resultType": "input_required",
        "inputRequests": questions,
        "requestState": state,
    });
    codec::encode_value(value, version, Some(&server.info().implementation))
        .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}
