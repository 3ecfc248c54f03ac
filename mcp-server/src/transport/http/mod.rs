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

mod audit;
mod body;
mod config;
mod drain;
mod forwarded;
mod guard;
pub mod history;
mod index;
pub mod layers;
mod legacy;
mod legacy_shared;
mod listener;
mod mount;
mod probes;
mod replicas;
mod request;
mod responses;
mod service;
mod sessions;
mod shares;
mod streamable;
mod typed;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use mcp_core::jsonrpc::error_code;
use tokio::sync::Semaphore;

pub use body::McpBody;
pub use config::{HostPolicy, HttpConfig};
pub use forwarded::{Cidr, CidrError};
pub use layers::ClientAddr;
pub use listener::{HttpServer, shutdown_signal};
pub use typed::{McpMessage, McpRequest};

use crate::server::Server;
use audit::{Audited, audit_refusal};
use guard::{Active, check_session_rate};
use layers::auth::tenant_principal;
use layers::headers::{cors_allowed, preflight, secure};
use layers::origin::check_host_and_origin;
use layers::peer::{client_of, peer_of};
use probes::{diagnostics, health, metrics, ready};
use request::{Accept, header_str, read_json_body};
use responses::{
    WELL_KNOWN_RESOURCE, busy, empty, error, json, message_json, metadata_path_matches,
    method_not_allowed, point_at_metadata, resource_metadata, sse_response, too_many_requests,
    unauthorized,
};
use sessions::Sessions;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The MCP HTTP endpoints as a hyper and tower service, to mount in an
/// existing application.
///
/// It answers the Streamable HTTP path (default `/mcp`), the legacy
/// `/sse` and `/messages` paths, `/health` and `/ready`, `GET /` with the
/// server's name, version and endpoints, and 404 for anything else.
///
/// Mounted once under a prefix with axum's `nest_service("/mcp", service)`,
/// paths are relative to the prefix: Streamable HTTP at `/mcp`, the legacy
/// transport at `/mcp/sse` and `/mcp/messages` (the `endpoint` event names
/// the mounted path), the protected resource metadata at
/// `/mcp/.well-known/oauth-protected-resource`, the probes at
/// `/mcp/health` and `/mcp/ready`. With `route_service` or hyper the
/// request path is matched whole against the configured paths, under
/// [`HttpConfig::base_path`] when one is set.
///
/// Embedded, the default [`HostPolicy::Auto`] accepts loopback host names
/// only: an app bound to `0.0.0.0` answers 403 to any other name until
/// [`HttpConfig::allowed_hosts`] names it. The checks are also available
/// as [`layers`], for the routes next to MCP.
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
        let shared = Arc::new(Shared {
            server: server.into(),
            sessions: Sessions::new(&config),
            config,
            active_requests: Arc::default(),
            open_streams: Arc::default(),
            connection_tasks: Arc::default(),
            permits,
            started: Instant::now(),
            drain,
        });
        replicas::listen(&shared);
        Self { shared }
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
            if request.extensions().get::<layers::Traced>().is_some() {
                // A TraceLayer in front opened the request's span.
                self.route(request).await
            } else {
                let span = request::span_of(&request);
                tracing::Instrument::instrument(self.route(request), span).await
            }
        };
        if response.status() == StatusCode::FORBIDDEN
            && let Some(metadata) = config
                .authenticator
                .as_ref()
                .and_then(|a| a.resource_metadata())
        {
            point_at_metadata(&mut response, metadata);
        }
        secure(response.headers_mut(), cors_origin.as_deref());
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
        layers::peer::resolve_client(&config.trusted_proxies, &mut request);
        let mut mounted = mount::MountedAt::of(&request);
        // Without a router that strips it, the configured prefix is ours to
        // strip; how much of the path it took.
        let mut stripped = 0;
        if mounted.is_none()
            && let Some(base) = &config.base_path
        {
            let full = request.uri().path();
            let Some((at, rest)) = mount::MountedAt::base(base, full) else {
                return empty(StatusCode::NOT_FOUND);
            };
            stripped = full.len() - rest.len();
            mounted = Some(at);
        }
        let nested = mounted.is_some();
        if let Some(mounted) = mounted {
            request.extensions_mut().insert(mounted);
        }
        let path = mount::logical_path(config, nested, &request.uri().path()[stripped..]);
        // Probes come from load balancers with any Host; they reveal nothing.
        if path == "/health" {
            return health(shared, request.method());
        }
        if path == "/ready" {
            return ready(shared, request.method()).await;
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
        if !nested
            && index::is_index(config, path)
            && let Some(response) = index::index(shared, request.method())
        {
            return response;
        }
        let endpoint = Endpoint::of(config, path);
        let mcp_path = endpoint.is_some();
        if request
            .extensions()
            .get::<layers::HostOriginChecked>()
            .is_none()
            && let Err(response) = check_host_and_origin(config, request.headers(), request.uri())
        {
            let mut response = *response;
            if mcp_path {
                audit_refusal(shared, &mut response, None, peer_of(&request));
            }
            return response;
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
        let Some(endpoint) = endpoint else {
            return empty(StatusCode::NOT_FOUND);
        };
        let mut request = request;
        let client = peer_of(&request);
        if request
            .extensions()
            .get::<layers::Authenticated>()
            .is_none()
            && let Some(authenticator) = &config.authenticator
        {
            match authenticator.authenticate(request.headers()).await {
                Ok(principal) => {
                    request.extensions_mut().insert(Arc::new(principal));
                }
                Err(e) => {
                    shared.server.metrics().auth_failures.inc();
                    let mut response = unauthorized(&e, authenticator.resource_metadata());
                    audit_refusal(shared, &mut response, None, client);
                    return response;
                }
            }
        }
        if request
            .extensions()
            .get::<layers::TenantResolved>()
            .is_none()
            && let Some(name) = &config.tenant_header
            && let Some(value) = request.headers().get(name)
        {
            let from_gateway = layers::peer::from_trusted_proxy(&config.trusted_proxies, &request);
            match tenant_principal(principal_of(&request), value, from_gateway) {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                }
                Err(response) => {
                    let mut response = *response;
                    let principal = principal_of(&request);
                    audit_refusal(shared, &mut response, principal.as_deref(), client);
                    return response;
                }
            }
        }
        let principal = principal_of(&request);
        let mut response = self.serve_mcp(endpoint, request).await;
        audit_refusal(shared, &mut response, principal.as_deref(), client);
        response
    }

    /// The MCP endpoints, for an authenticated request.
    async fn serve_mcp<B>(&self, endpoint: Endpoint, request: Request<B>) -> Response<McpBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let shared = &self.shared;
        match (endpoint, request.method().clone()) {
            (Endpoint::Streamable, Method::POST) => streamable::post(shared, request).await,
            (Endpoint::Streamable, Method::GET) => streamable::get(shared, &request).await,
            (Endpoint::Streamable, Method::DELETE) => streamable::delete(shared, &request).await,
            (Endpoint::Streamable, _) => method_not_allowed("GET, POST, DELETE"),
            (Endpoint::Sse, Method::GET) => legacy::stream(shared, request).await,
            (Endpoint::Sse, _) => method_not_allowed("GET"),
            (Endpoint::Messages, Method::POST) => legacy::post(shared, request).await,
            (Endpoint::Messages, _) => method_not_allowed("POST"),
        }
    }
}

/// Which MCP endpoint a request is for.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Streamable,
    Sse,
    Messages,
}

impl Endpoint {
    fn of(config: &HttpConfig, path: &str) -> Option<Self> {
        if path == config.path {
            Some(Self::Streamable)
        } else if config.legacy_sse && path == config.sse_path {
            Some(Self::Sse)
        } else if config.legacy_sse && path == config.messages_path {
            Some(Self::Messages)
        } else {
            None
        }
    }
}

fn principal_of<B>(request: &Request<B>) -> Option<Arc<crate::auth::Principal>> {
    request
        .extensions()
        .get::<Arc<crate::auth::Principal>>()
        .cloned()
}
