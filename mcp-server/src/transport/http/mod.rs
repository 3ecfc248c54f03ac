//! MCP over HTTP on hyper: Streamable HTTP for every revision and the legacy
//! HTTP+SSE transport, on one listener or mounted in an existing app.
//!
//! - **Streamable HTTP** at `/mcp`. Clients of 2025-03-26 .. 2025-11-25
//!   `initialize` and get an `Mcp-Session-Id`; 2026-07-28 clients send
//!   self-describing requests with no session, checked against their
//!   `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers. A POST is
//!   answered with plain JSON when its response is the first thing ready,
//!   and with an SSE stream when a progress or log notification comes first.
//! - **Legacy HTTP+SSE** (2024-11-05): `GET /sse` streams, `POST
//!   /messages?session_id=...` delivers.
//! - `/health` and `/ready` for probes; `GET /` names the server and its
//!   endpoints.
//!
//! Defaults protect a local server: only loopback `Host` and `Origin`
//! values pass (DNS-rebinding protection), bodies, time, sessions and
//! concurrency are bounded, and [`HttpServer`] binds where it is told
//! (`127.0.0.1` in the examples of [`Http`](crate::transport::Http)) and shuts down
//! gracefully on SIGINT or SIGTERM.
//!
//! ```no_run
//! use mcp_server::prelude::*;
//! use mcp_server::transport::Http;
//!
//! struct Calc;
//!
//! #[mcp_server]
//! impl Calc {
//!     /// Add two integers.
//!     #[mcp_tool]
//!     async fn add(&self, a: i64, b: i64) -> i64 {
//!         a + b
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), mcp_server::ServerError> {
//!     Server::new(Calc).serve(Http::bind("127.0.0.1:3001")).await
//! }
//! ```

mod body;
mod config;
mod drain;
mod forwarded;
mod guard;
mod index;
mod legacy;
mod listener;
mod sessions;
mod shares;
mod streamable;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use mcp_core::jsonrpc::{ErrorObject, ErrorResponse, Message, RequestId, error_code};
use tokio::sync::Semaphore;

pub use body::McpBody;
pub use config::{HostPolicy, HttpConfig};
pub use forwarded::{Cidr, CidrError};
pub use listener::{HttpServer, shutdown_signal};

use crate::audit::AuditOutcome;
use crate::server::Server;
use sessions::Sessions;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The MCP HTTP endpoints as a hyper and tower service, to mount in an
/// existing application.
///
/// It answers the Streamable HTTP path (default `/mcp`), the legacy
/// `/sse` and `/messages` paths, `/health` and `/ready`, `GET /` with the
/// server's name, version and endpoints, and 404 for anything else; the request path is matched whole, so mount it where the
/// path is kept (axum: `route_service`, not `nest_service`).
///
/// ```
/// use mcp_server::prelude::*;
/// use mcp_server::transport::http::{HttpConfig, McpService};
///
/// /// Say hello.
/// #[mcp_tool]
/// async fn hello() -> String {
///     "hello".into()
/// }
///
/// fn main() {
///     let server = Server::builder().tool(hello::tool()).build();
///     let service = McpService::new(server, HttpConfig::default());
///     assert_eq!(service.stats().sessions, 0);
/// }
/// ```
///
/// Cheap to clone; clones share sessions and limits.
#[derive(Clone)]
pub struct McpService {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    server: Server,
    config: HttpConfig,
    sessions: Sessions,
    active_requests: Arc<AtomicUsize>,
    open_streams: Arc<AtomicUsize>,
    connection_tasks: Arc<AtomicUsize>,
    permits: Arc<Semaphore>,
    started: Instant,
    drain: drain::Drain,
}

/// What an [`McpService`] is holding right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpStats {
    /// Live sessions: Streamable HTTP sessions and legacy SSE connections.
    pub sessions: usize,
    /// Requests whose handlers are running.
    pub active_requests: usize,
    /// Open SSE streams.
    pub open_streams: usize,
    /// Legacy SSE connections still draining their requests.
    pub connection_tasks: usize,
}

impl McpService {
    /// A service for `server`.
    pub fn new(server: impl Into<Server>, config: HttpConfig) -> Self {
        let permits = Arc::new(Semaphore::new(config.max_concurrent_requests));
        let drain = drain::Drain::new(config.shutdown_grace, config.shutdown_deadline);
        Self {
            shared: Arc::new(Shared {
                server: server.into(),
                sessions: Sessions::new(&config),
                config,
                active_requests: Arc::default(),
                open_streams: Arc::default(),
                connection_tasks: Arc::default(),
                permits,
                started: Instant::now(),
                drain,
            }),
        }
    }

    /// What the service is holding right now.
    pub fn stats(&self) -> HttpStats {
        HttpStats {
            sessions: self.shared.sessions.count.load(Ordering::Acquire),
            active_requests: self.shared.active_requests.load(Ordering::Acquire),
            open_streams: self.shared.open_streams.load(Ordering::Acquire),
            connection_tasks: self.shared.connection_tasks.load(Ordering::Acquire),
        }
    }

    /// The server behind the service: to add or remove tools while serving.
    pub fn server(&self) -> &Server {
        &self.shared.server
    }

    /// The configuration in force.
    pub fn config(&self) -> &HttpConfig {
        &self.shared.config
    }

    /// Starts a graceful shutdown, and completes when the application should
    /// stop accepting connections: [`HttpServer`] calls it on SIGINT or
    /// SIGTERM, and an application that mounts the service itself calls it
    /// from its own shutdown signal.
    ///
    /// At once, `/ready` answers 503 (`{"status":"draining"}`) and new MCP
    /// work (`initialize`, requests, new streams) is refused with 503,
    /// `Retry-After` and a JSON-RPC error, including on connections already
    /// open; `/health` stays 200, and notifications, answers to the
    /// server's own requests and `DELETE` still go through, so requests in
    /// flight can finish. The returned future completes after
    /// [`HttpConfig::shutdown_grace`]; then long-lived streams end, and
    /// requests still running after a further
    /// [`HttpConfig::shutdown_deadline`] are stopped and answered with a
    /// JSON-RPC error ("server shutting down") instead of a cut connection.
    ///
    /// Await the future to its end: the streams and the deadline start
    /// when it completes. Calling it again is harmless; the grace period
    /// counts from the first call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_server::prelude::*;
    /// use mcp_server::transport::http::{HttpConfig, McpService};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let config = HttpConfig::default().shutdown_grace(Duration::from_millis(50));
    /// let mcp = McpService::new(Server::builder().build(), config);
    /// // In an axum app that mounts `mcp.clone()`:
    /// //     axum::serve(listener, app).with_graceful_shutdown(async move {
    /// //         shutdown_signal().await;
    /// //         mcp.drain().await;
    /// //     })
    /// let drained = mcp.drain();
    /// let ready = mcp.handle(http::Request::get("/ready").body(String::new()).unwrap()).await;
    /// assert_eq!(ready.status(), 503);
    /// drained.await; // the grace period is over: stop accepting connections
    /// # }
    /// ```
    pub fn drain(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        shared.drain.begin();
        async move {
            shared.drain.grace_over().await;
            shared.drain.close();
            // Long-lived streams (GET, legacy SSE, `subscriptions/listen`)
            // end now; requests get the deadline.
            shared.server.shutdown_signal().cancel();
        }
    }

    /// Handles one HTTP request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<McpBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let config = &self.shared.config;
        let http1 = request.version() < http::Version::HTTP_2;
        let cors_origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .filter(|o| cors_allowed(&config.cors_origins, o))
            .map(str::to_owned);
        let mut response = if request.method() == Method::OPTIONS && cors_origin.is_some() {
            preflight(request.headers())
        } else {
            let span = tracing::info_span!(
                "mcp.http",
                http.method = %request.method(),
                http.path = request.uri().path(),
                // Not a credential: a session is bound to its principal.
                session = request
                    .headers()
                    .get("mcp-session-id")
                    .and_then(|v| v.to_str().ok()),
                trace_id = tracing::field::Empty,
                parent_span_id = tracing::field::Empty,
            );
            if let Some(parent) = request
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .and_then(crate::trace::TraceParent::parse)
            {
                parent.record(&span);
                #[cfg(feature = "otel")]
                crate::telemetry::set_remote_parent(
                    &span,
                    &parent,
                    request
                        .headers()
                        .get("tracestate")
                        .and_then(|v| v.to_str().ok()),
                );
            }
            tracing::Instrument::instrument(self.route(request), span).await
        };
        if response.status() == StatusCode::FORBIDDEN
            && let Some(metadata) = config
                .authenticator
                .as_ref()
                .and_then(|a| a.resource_metadata())
        {
            point_at_metadata(&mut response, metadata);
        }
        secure(&mut response, cors_origin.as_deref());
        if http1 && self.shared.drain.is_draining() {
            // The client's next request takes a new connection, which a
            // load balancer sends to another replica.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }

    async fn route<B>(&self, request: Request<B>) -> Response<McpBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let shared = &self.shared;
        let config = &shared.config;
        let mut request = request;
        // Behind trusted proxies, the client is who they say; every later
        // look at the address (limits, caps, diagnostics) sees it.
        if let (Some(peer), Some(client)) = (peer_of(&request), client_of(config, &request))
            && client != peer
        {
            let addr = std::net::SocketAddr::new(client, 0);
            request.extensions_mut().insert(ClientAddr(addr));
        }
        let path = request.uri().path();
        // Probes come from load balancers with any Host; they reveal nothing.
        if path == "/health" {
            return health(shared, request.method());
        }
        if path == "/ready" {
            return ready(shared, request.method());
        }
        if config.metrics_path.as_deref() == Some(path) {
            if config.metrics_auth
                && let Some(authenticator) = &config.authenticator
                && let Err(e) = authenticator.authenticate(request.headers()).await
            {
                shared.server.metrics().auth_failures.inc();
                return unauthorized(&e, authenticator.resource_metadata());
            }
            return metrics(self, request.method());
        }
        // Before the Host check, as /health: name and version are what
        // /health tells, the paths are routes every client must know, and
        // load balancers probe `/` by default.
        if index::is_index(config, path)
            && let Some(response) = index::index(shared, request.method())
        {
            return response;
        }
        let mcp_path = path == config.path
            || (config.legacy_sse && (path == config.sse_path || path == config.messages_path));
        if let Err(response) = check_host_and_origin(config, request.headers(), request.uri()) {
            if mcp_path {
                audit_refusal(shared, &response, None, peer_of(&request));
            }
            return *response;
        }
        if config.diagnostics_path.as_deref() == Some(path) {
            match &config.authenticator {
                Some(authenticator) => {
                    if let Err(e) = authenticator.authenticate(request.headers()).await {
                        shared.server.metrics().auth_failures.inc();
                        return unauthorized(&e, authenticator.resource_metadata());
                    }
                }
                None if peer_of(&request).is_some_and(|ip| ip.is_loopback()) => {}
                None => {
                    return error(
                        StatusCode::FORBIDDEN,
                        None,
                        error_code::INVALID_REQUEST,
                        "forbidden: diagnostics are served to authenticated callers, or to loopback clients when the server has no authenticator",
                    );
                }
            }
            return diagnostics(self, request.method());
        }
        if path.starts_with(WELL_KNOWN_RESOURCE)
            && let Some(metadata) = config
                .authenticator
                .as_ref()
                .and_then(|a| a.resource_metadata())
            && metadata_path_matches(path, config)
        {
            return resource_metadata(metadata, request.method());
        }
        if !mcp_path {
            return empty(StatusCode::NOT_FOUND);
        }
        let mut request = request;
        let client = peer_of(&request);
        if let Some(authenticator) = &config.authenticator {
            match authenticator.authenticate(request.headers()).await {
                Ok(principal) => {
                    request.extensions_mut().insert(Arc::new(principal));
                }
                Err(e) => {
                    shared.server.metrics().auth_failures.inc();
                    let response = unauthorized(&e, authenticator.resource_metadata());
                    audit_refusal(shared, &response, None, client);
                    return response;
                }
            }
        }
        if let Some(name) = &config.tenant_header
            && let Some(value) = request.headers().get(name)
        {
            match tenant_principal(principal_of(&request), value) {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                }
                Err(response) => {
                    audit_refusal(shared, &response, principal_of(&request).as_deref(), client);
                    return *response;
                }
            }
        }
        let principal = principal_of(&request);
        let response = self.serve_mcp(request).await;
        audit_refusal(shared, &response, principal.as_deref(), client);
        response
    }

    /// The MCP endpoints, for an authenticated request.
    async fn serve_mcp<B>(&self, request: Request<B>) -> Response<McpBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let shared = &self.shared;
        let config = &shared.config;
        let path = request.uri().path();
        if path == config.path {
            return match *request.method() {
                Method::POST => streamable::post(shared, request).await,
                Method::GET => streamable::get(shared, &request),
                Method::DELETE => streamable::delete(shared, &request),
                _ => method_not_allowed("GET, POST, DELETE"),
            };
        }
        if config.legacy_sse && path == config.sse_path {
            return match *request.method() {
                Method::GET => legacy::stream(shared, request).await,
                _ => method_not_allowed("GET"),
            };
        }
        if config.legacy_sse && path == config.messages_path {
            return match *request.method() {
                Method::POST => legacy::post(shared, request).await,
                _ => method_not_allowed("POST"),
            };
        }
        empty(StatusCode::NOT_FOUND)
    }
}

impl fmt::Debug for McpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpService")
            .field("server", &self.shared.server.info().implementation.name)
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<McpBody>, Infallible>> + Send>>;

impl<B> hyper::service::Service<Request<B>> for McpService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

impl<B> tower_service::Service<Request<B>> for McpService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Load is shed per request (503), so the service is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        hyper::service::Service::call(self, request)
    }
}

fn health(shared: &Shared, method: &Method) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let info = &shared.server.info().implementation;
    let body = serde_json::json!({
        "status": "ok",
        "name": info.name,
        "version": info.version,
        "uptimeSeconds": shared.started.elapsed().as_secs(),
    });
    json(StatusCode::OK, body.to_string())
}

fn metrics(service: &McpService, method: &Method) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let stats = service.stats();
    let metrics = service.shared.server.metrics();
    let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    metrics.sessions.set(gauge(stats.sessions));
    metrics.open_streams.set(gauge(stats.open_streams));
    metrics.active_requests.set(gauge(stats.active_requests));
    let store_up = service
        .shared
        .server
        .options()
        .rate_limit
        .as_ref()
        .is_none_or(|l| l.store_reachable());
    metrics.rate_limit_store_up.set(i64::from(store_up));
    let mut response = Response::new(McpBody::full(metrics.render()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// What an operator needs to see at a glance; never a secret.
fn diagnostics(service: &McpService, method: &Method) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let shared = &service.shared;
    let server = &shared.server;
    let config = &shared.config;
    let options = server.options();
    let stats = service.stats();
    let info = &server.info().implementation;
    let revisions: serde_json::Map<String, serde_json::Value> = mcp_core::ProtocolVersion::ALL
        .iter()
        .map(|v| {
            (
                v.as_str().to_owned(),
                serde_json::json!(server.metrics().revision_count(*v)),
            )
        })
        .collect();
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let authentication = match &config.authenticator {
        None => serde_json::json!({ "enabled": false }),
        Some(a) => serde_json::json!({
            "enabled": true,
            "oauth": a.resource_metadata().map(|m| serde_json::json!({
                "resource": m.resource,
                "authorizationServers": m.authorization_servers,
                "scopesSupported": m.scopes_supported,
            })),
        }),
    };
    let document = serde_json::json!({
        "server": { "name": info.name, "version": info.version },
        "framework": { "name": "mcp-server", "version": env!("CARGO_PKG_VERSION") },
        "uptimeSeconds": shared.started.elapsed().as_secs(),
        "shuttingDown": shared.drain.is_draining(),
        "revisions": { "supported": mcp_core::ProtocolVersion::ALL.map(|v| v.as_str()), "requests": revisions },
        "load": {
            "sessions": stats.sessions,
            "activeRequests": stats.active_requests,
            "openStreams": stats.open_streams,
            "connectionTasks": stats.connection_tasks,
        },
        "definitions": {
            "tools": server.tools().defs().len(),
            "prompts": server.prompts().defs().len(),
            "resources": server.resources().defs().len(),
        },
        "configuration": {
            "path": config.path,
            "legacySse": config.legacy_sse,
            "hosts": format!("{:?}", config.hosts),
            "allowedOrigins": config.origins,
            "corsOrigins": config.cors_origins,
            "authentication": authentication,
            "tenantHeader": config.tenant_header.as_ref().map(http::HeaderName::as_str),
            "metricsPath": config.metrics_path,
            "maxBodyBytes": config.max_body_bytes,
            "requestTimeoutMs": millis(config.request_timeout),
            "maxConcurrentRequests": config.max_concurrent_requests,
            "maxSessions": config.max_sessions,
            "maxSessionsPerPrincipal": config.max_sessions_per_principal,
            "maxSessionsPerClient": config.max_sessions_per_client,
            "sessionIdleTimeoutMs": millis(config.session_idle_timeout),
            "shutdownGraceMs": millis(config.shutdown_grace),
            "shutdownDeadlineMs": millis(config.shutdown_deadline),
            "rateLimit": options.rate_limit.as_ref().map(|l| format!("{l:?}")),
            "rateLimitStoreReachable": options.rate_limit.as_ref().map(|l| l.store_reachable()),
            "toolTimeoutMs": options.tool_timeout.map(millis),
            "maxInFlightPerSession": options.max_in_flight,
            "maxMessageBytes": options.max_message_bytes,
            "audit": options.audit.is_some(),
        },
    });
    json(StatusCode::OK, document.to_string())
}

fn ready(shared: &Shared, method: &Method) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    if shared.drain.is_draining() {
        return json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"draining"}"#);
    }
    json(StatusCode::OK, r#"{"status":"ready"}"#)
}

fn cors_allowed(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// The answer to a CORS preflight from an allowed origin.
fn preflight(headers: &HeaderMap) -> Response<McpBody> {
    let mut response = empty(StatusCode::NO_CONTENT);
    let out = response.headers_mut();
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    // Echo what the browser asks for: MCP's own headers, Authorization and
    // any `Mcp-Param-*` a tool declares.
    if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// Headers every response carries: CORS for allowed browser origins, and
/// the usual hardening for an API that is never meant to be rendered.
fn secure(response: &mut Response<McpBody>, cors_origin: Option<&str>) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    if let Some(origin) = cors_origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("mcp-session-id, mcp-protocol-version, www-authenticate"),
        );
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
}

/// DNS-rebinding protection: a web page must not reach a local server by
/// pointing its own host name at 127.0.0.1, nor call it from its origin.
fn check_host_and_origin(
    config: &HttpConfig,
    headers: &HeaderMap,
    uri: &http::Uri,
) -> Result<(), Box<Response<McpBody>>> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str));
    if let Some(host) = host
        && !host_allowed(&config.hosts, host)
    {
        tracing::warn!(host, "rejected a request for a host not on the allow-list");
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            None,
            error_code::INVALID_REQUEST,
            format!("forbidden: host `{host}` is not allowed"),
        )));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(&config.origins, origin) && !cors_allowed(&config.cors_origins, origin) {
            tracing::warn!(
                origin,
                "rejected a request from an origin not on the allow-list"
            );
            return Err(Box::new(error(
                StatusCode::FORBIDDEN,
                None,
                error_code::INVALID_REQUEST,
                format!("forbidden: origin `{origin}` is not allowed"),
            )));
        }
    }
    Ok(())
}

/// The host part of `host[:port]`, brackets kept for IPv6.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn is_loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]"
}

fn host_allowed(policy: &HostPolicy, host: &str) -> bool {
    let name = host_name(host);
    match policy {
        HostPolicy::Any => true,
        HostPolicy::Loopback | HostPolicy::Auto => is_loopback_name(name),
        HostPolicy::List(allowed) => {
            is_loopback_name(name)
                || allowed.iter().any(|a| {
                    a.eq_ignore_ascii_case(host) || a.eq_ignore_ascii_case(name) || a == "*"
                })
        }
    }
}

fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    if allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false; // includes the opaque `null` origin
    };
    (scheme == "http" || scheme == "https") && is_loopback_name(host_name(rest))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Which response types the client accepts.
#[derive(Debug, Clone, Copy)]
struct Accept {
    json: bool,
    sse: bool,
}

impl Accept {
    fn of(headers: &HeaderMap) -> Self {
        let mut accept = Self {
            json: false,
            sse: false,
        };
        let values = headers.get_all(header::ACCEPT);
        let mut any_value = false;
        for value in values {
            any_value = true;
            for item in value.to_str().unwrap_or("").split(',') {
                let media = item.split(';').next().unwrap_or("").trim();
                match media.to_ascii_lowercase().as_str() {
                    "application/json" | "application/*" => accept.json = true,
                    "text/event-stream" | "text/*" => accept.sse = true,
                    "*/*" => {
                        accept.json = true;
                        accept.sse = true;
                    }
                    _ => {}
                }
            }
        }
        if !any_value {
            // No Accept header means anything goes.
            accept.json = true;
            accept.sse = true;
        }
        accept
    }
}

fn is_json_content(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_TYPE.as_str()).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Reads a JSON request body, within the size and time limits.
async fn read_json_body<B>(
    headers: &HeaderMap,
    body: B,
    config: &HttpConfig,
) -> Result<Bytes, Box<Response<McpBody>>>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if !is_json_content(headers) {
        return Err(Box::new(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: Content-Type must be application/json",
        )));
    }
    let too_large = || {
        Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            error_code::INVALID_REQUEST,
            format!(
                "invalid request: the body is larger than {} bytes",
                config.max_body_bytes
            ),
        ))
    };
    // A body declared too large is refused before any of it is read, rather
    // than waited for until the body timeout.
    let max = u64::try_from(config.max_body_bytes).unwrap_or(u64::MAX);
    let declared = header_str(headers, header::CONTENT_LENGTH.as_str())
        .and_then(|length| length.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > max) || body.size_hint().lower() > max {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, config.max_body_bytes);
    match tokio::time::timeout(config.body_timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            None,
            error_code::PARSE_ERROR,
            format!("parse error: the body could not be read: {e}"),
        ))),
        Err(_) => Err(Box::new(error(
            StatusCode::REQUEST_TIMEOUT,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: the body took too long to arrive",
        ))),
    }
}

fn with_content_type(
    mut response: Response<McpBody>,
    content_type: &'static str,
) -> Response<McpBody> {
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<McpBody> {
    let mut response = Response::new(McpBody::full(body));
    *response.status_mut() = status;
    with_content_type(response, "application/json")
}

fn message_json(status: StatusCode, message: &Message) -> Response<McpBody> {
    match serde_json::to_vec(message) {
        Ok(bytes) => json(status, bytes),
        Err(e) => {
            tracing::error!(error = %e, "response could not be encoded");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// A JSON-RPC error as the whole response.
fn error(
    status: StatusCode,
    id: Option<RequestId>,
    code: i32,
    message: impl Into<String>,
) -> Response<McpBody> {
    let message = Message::Error(ErrorResponse::new(id, ErrorObject::new(code, message)));
    message_json(status, &message)
}

fn empty(status: StatusCode) -> Response<McpBody> {
    let mut response = Response::new(McpBody::empty());
    *response.status_mut() = status;
    response
}

fn method_not_allowed(allow: &'static str) -> Response<McpBody> {
    let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn sse_response(body: body::SseBody) -> Response<McpBody> {
    let mut response = Response::new(McpBody::sse(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// 401 with a `WWW-Authenticate: Bearer` challenge, for a request that did
/// not authenticate (503 when credentials cannot be checked now). With
/// OAuth the challenge points at the protected resource metadata and names
/// the scopes to ask for, so a client can start the authorization flow.
fn unauthorized(
    e: &crate::auth::AuthError,
    metadata: Option<&crate::auth::ProtectedResourceMetadata>,
) -> Response<McpBody> {
    if let crate::auth::AuthError::Unavailable(_) = e {
        tracing::warn!(error = %e, "cannot authenticate a request");
        let mut response = error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            error_code::INTERNAL_ERROR,
            e.to_string(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    }
    tracing::info!(error = %e, "rejected an unauthenticated request");
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        None,
        error_code::INVALID_REQUEST,
        e.to_string(),
    );
    let mut challenge = String::from(r#"Bearer realm="mcp""#);
    if let Some(metadata) = metadata {
        challenge.push_str(&format!(
            r#", resource_metadata="{}""#,
            metadata.metadata_url()
        ));
        if !metadata.scopes_supported.is_empty() {
            challenge.push_str(&format!(
                r#", scope="{}""#,
                metadata.scopes_supported.join(" ")
            ));
        }
    }
    if !matches!(e, crate::auth::AuthError::Missing) {
        challenge.push_str(r#", error="invalid_token""#);
        // The description is ours (never token contents); quotes would
        // break the header.
        let description = e.to_string().replace(['"', '\\'], "'");
        challenge.push_str(&format!(r#", error_description="{description}""#));
    }
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

const WELL_KNOWN_RESOURCE: &str = "/.well-known/oauth-protected-resource";

/// The metadata lives at the well-known path, bare or suffixed with the
/// MCP endpoint's path (RFC 9728 §3.1).
fn metadata_path_matches(path: &str, config: &HttpConfig) -> bool {
    let suffix = &path[WELL_KNOWN_RESOURCE.len()..];
    suffix.is_empty() || suffix == config.path.trim_end_matches('/')
}

fn resource_metadata(
    metadata: &crate::auth::ProtectedResourceMetadata,
    method: &Method,
) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let body = serde_json::to_vec(metadata).unwrap_or_default();
    let mut response = json(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    // Public by design: browser-based clients must be able to read it.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// Adds `resource_metadata` to an `insufficient_scope` challenge.
fn point_at_metadata(
    response: &mut Response<McpBody>,
    metadata: &crate::auth::ProtectedResourceMetadata,
) {
    let Some(challenge) = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .filter(|c| c.contains("insufficient_scope") && !c.contains("resource_metadata"))
    else {
        return;
    };
    let challenge = format!(
        r#"{challenge}, resource_metadata="{}""#,
        metadata.metadata_url()
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
}

/// The address of the client that sent a request, when the listener knows
/// it. [`HttpServer`] attaches it; an embedding app may insert it too, so
/// rate limits of anonymous callers work per client and loopback clients
/// can read `/diagnostics`. With the `axum` feature, axum's `ConnectInfo`
/// serves as well (serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::SocketAddr);

/// The client's address: the connection's peer, or, when that is a
/// trusted proxy, the client its forwarding headers name.
fn client_of<B>(config: &HttpConfig, request: &Request<B>) -> Option<std::net::IpAddr> {
    let peer = peer_of(request)?;
    if config.trusted_proxies.is_empty() {
        return Some(peer);
    }
    Some(forwarded::client_address(
        peer,
        request.headers(),
        &config.trusted_proxies,
    ))
}

fn peer_of<B>(request: &Request<B>) -> Option<std::net::IpAddr> {
    let extensions = request.extensions();
    let addr = extensions.get::<ClientAddr>().map(|a| a.0);
    #[cfg(feature = "axum")]
    let addr = addr.or_else(|| {
        extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0)
    });
    addr.map(|a| a.ip())
}

/// The principal a request acts as once the trusted tenant header is
/// applied: the authenticated one with that tenant, or an anonymous
/// `tenant:<id>`.
fn tenant_principal(
    principal: Option<Arc<crate::auth::Principal>>,
    header: &HeaderValue,
) -> Result<Arc<crate::auth::Principal>, Box<Response<McpBody>>> {
    let tenant = header
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128 && !t.contains(char::is_control));
    let Some(tenant) = tenant else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            None,
            error_code::INVALID_REQUEST,
            "the tenant header must be a non-empty printable value of at most 128 bytes",
        )));
    };
    match principal {
        Some(principal) => match &principal.tenant {
            Some(own) if own == tenant => Ok(principal),
            Some(_) => {
                tracing::warn!(principal = %principal.id, "rejected a tenant header naming another tenant");
                Err(Box::new(error(
                    StatusCode::FORBIDDEN,
                    None,
                    error_code::INVALID_REQUEST,
                    "forbidden: the credentials belong to another tenant",
                )))
            }
            None => Ok(Arc::new((*principal).clone().with_tenant(tenant))),
        },
        None => Ok(Arc::new(
            crate::auth::Principal::new(format!("tenant:{tenant}"), std::iter::empty::<String>())
                .with_tenant(tenant),
        )),
    }
}

/// The principal the authenticator attached to a request, if any.
/// Marks a response that answers a request the router handled, whose
/// audit record is written already.
#[derive(Debug, Clone, Copy)]
pub(super) struct Audited;

/// Writes the audit record of an MCP request the transport refused before
/// the router saw it: a refusal not marked [`Audited`].
fn audit_refusal(
    shared: &Shared,
    response: &Response<McpBody>,
    principal: Option<&crate::auth::Principal>,
    client_address: Option<std::net::IpAddr>,
) {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Audited>().is_some()
    {
        return;
    }
    let (outcome, reason) = match status {
        StatusCode::UNAUTHORIZED => (AuditOutcome::Denied, "refused: no valid credential"),
        StatusCode::FORBIDDEN => (
            AuditOutcome::Denied,
            "refused: the Host, Origin or tenant is not allowed",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            AuditOutcome::RateLimited,
            "refused: over a rate, session or concurrency limit",
        ),
        StatusCode::SERVICE_UNAVAILABLE if shared.drain.is_draining() => (
            AuditOutcome::Shutdown,
            "refused: the server is shutting down",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            AuditOutcome::RateLimited,
            "refused: too many requests in progress",
        ),
        StatusCode::NOT_FOUND => (AuditOutcome::Error, "refused: unknown or expired session"),
        StatusCode::PAYLOAD_TOO_LARGE => (AuditOutcome::Error, "refused: the body is too large"),
        _ => (
            AuditOutcome::Error,
            status.canonical_reason().unwrap_or("refused"),
        ),
    };
    crate::audit::refused(
        &shared.server,
        &crate::audit::Refusal {
            outcome,
            http_status: status.as_u16(),
            reason,
            principal,
            client_address,
        },
    );
}

fn principal_of<B>(request: &Request<B>) -> Option<Arc<crate::auth::Principal>> {
    request
        .extensions()
        .get::<Arc<crate::auth::Principal>>()
        .cloned()
}

/// 503 with `Retry-After`, for load shedding.
fn busy(id: Option<RequestId>, what: &str) -> Response<McpBody> {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        error_code::INTERNAL_ERROR,
        format!("server busy: {what}; retry shortly"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// 429 with `Retry-After`, for a caller over one of its limits.
fn too_many_requests(
    id: Option<RequestId>,
    error: ErrorObject,
    retry_after_secs: u64,
) -> Response<McpBody> {
    let message = Message::Error(ErrorResponse::new(id, error));
    let mut response = message_json(StatusCode::TOO_MANY_REQUESTS, &message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// Takes a session-opening request (`initialize`, or a legacy SSE stream)
/// from the caller's rate limit, the one its tool calls count against;
/// `Err` is the 429 refusing it.
async fn check_session_rate(
    shared: &Shared,
    principal: Option<&crate::auth::Principal>,
    peer: Option<std::net::IpAddr>,
    id: Option<RequestId>,
) -> Result<(), Box<Response<McpBody>>> {
    match crate::router::check_caller_rate(&shared.server, principal, peer, None).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let retry_after = match e {
                mcp_core::ProtocolError::RateLimited { retry_after_secs } => retry_after_secs,
                _ => 1,
            };
            let error = e.to_error_object(mcp_core::ProtocolVersion::LATEST);
            Err(Box::new(too_many_requests(id, error, retry_after)))
        }
    }
}

/// Counts a running request until dropped.
struct Active(Arc<AtomicUsize>);

impl Active {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(counter))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        assert!(host_allowed(&HostPolicy::Loopback, "localhost:3000"));
        assert!(host_allowed(&HostPolicy::Loopback, "127.0.0.1"));
        assert!(host_allowed(&HostPolicy::Loopback, "[::1]:8080"));
        assert!(!host_allowed(&HostPolicy::Loopback, "evil.example.com"));
        assert!(!host_allowed(
            &HostPolicy::Loopback,
            "localhost.evil.com:80"
        ));
        let list = HostPolicy::List(vec!["mcp.example.com".into()]);
        assert!(host_allowed(&list, "mcp.example.com:443"));
        assert!(!host_allowed(&list, "other.example.com"));
        assert!(host_allowed(&HostPolicy::Any, "anything"));

        assert!(origin_allowed(&[], "http://localhost:5173"));
        assert!(origin_allowed(&[], "https://127.0.0.1"));
        assert!(!origin_allowed(&[], "null"));
        assert!(!origin_allowed(&[], "http://evil.example.com"));
        assert!(!origin_allowed(&[], "file://localhost"));
        let allowed = ["https://app.example.com".to_owned()];
        assert!(origin_allowed(&allowed, "https://app.example.com/"));
        assert!(!origin_allowed(&allowed, "https://app.example.com.evil"));
    }

    #[test]
    fn accept_header() {
        let mut headers = HeaderMap::new();
        let a = Accept::of(&headers);
        assert!(a.json && a.sse);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        let a = Accept::of(&headers);
        assert!(a.json && a.sse);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let a = Accept::of(&headers);
        assert!(a.json && !a.sse);
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        let a = Accept::of(&headers);
        assert!(!a.json && !a.sse);
    }
}
