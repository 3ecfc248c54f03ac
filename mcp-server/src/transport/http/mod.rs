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
mod connection;
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
use layers::auth::{authenticate, resolve_tenant, tenant_principal};
use layers::headers::{cors_origin, finish, preflight};
use layers::origin::check_host_and_origin;
use layers::peer::{client_of, peer_of};
use mount::Endpoint;
use probes::{diagnostics, health, metrics, ready};
use request::{Accept, header_str, read_json_body};
use responses::{
    WELL_KNOWN_RESOURCE, busy, empty, error, json, message_json, message_json_owned,
    metadata_path_matches, method_not_allowed, resource_metadata, sse_response, too_many_requests,
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
    /// Connections open on [`HttpServer`]'s listener.
    connections: AtomicUsize,
    permits: Arc<Semaphore>,
    started: Instant,
    drain: drain::Drain,
    /// Whether the service checks `Host` and `Origin`, credentials and the
    /// tenant header, and adds the browser headers itself: false for
    /// [`McpService::core`], behind layers that do.
    inline_checks: bool,
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
    /// Bytes of large request bodies held now, of
    /// [`HttpConfig::max_body_bytes_in_flight`].
    pub body_bytes: usize,
    /// Connections open on [`HttpServer`]'s listener, of
    /// [`HttpConfig::max_connections`] (0 where the service is served on
    /// another listener).
    pub connections: usize,
}

impl McpService {
    /// A service for `server`, with every check of `config`.
    ///
    /// It answers as the stack of [`layers`] that
    /// [`McpService::core`] documents, applying the same checks (the same
    /// functions) in the same order inline: a layer per concern would
    /// cost each request a boxed future and an extension more.
    pub fn new(server: impl Into<Server>, config: HttpConfig) -> Self {
        Self::build(server.into(), config, true)
    }

    /// The protocol alone, for a stack of [`layers`] that applies the
    /// checks in front: it does not check `Host` and `Origin`
    /// ([`HostOriginLayer`](layers::HostOriginLayer)), credentials
    /// ([`AuthLayer`](layers::AuthLayer)) or the tenant header
    /// ([`TenantLayer`](layers::TenantLayer)), and adds no CORS or
    /// hardening headers ([`SecurityHeadersLayer`](layers::SecurityHeadersLayer)).
    /// Everything else of `config` applies as in [`McpService::new`]: the
    /// paths, sessions, limits and probes.
    ///
    /// This stack, built from one `config`, answers every request as
    /// [`McpService::new`] with that `config` does; layers may be left out,
    /// reordered or replaced from there.
    ///
    /// ```
    /// use mcp_server::auth::ApiKeys;
    /// use mcp_server::prelude::*;
    /// use mcp_server::transport::http::layers::*;
    /// use mcp_server::transport::http::{HttpConfig, McpService};
    /// use tower::{ServiceBuilder, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server = Server::builder().build();
    /// let keys = ApiKeys::new().key("ci", "a-long-random-key", ["notes:read"]);
    /// let config = HttpConfig::default().authenticator(keys);
    /// // Outermost first: the order of the checks in `McpService::new`.
    /// let app = ServiceBuilder::new()
    ///     .layer(TraceLayer::new())
    ///     .layer(SecurityHeadersLayer::for_service(&config))
    ///     .layer(ClientAddrLayer::from_config(&config))
    ///     .layer(AuditLayer::new(&server))
    ///     .layer(HostOriginLayer::for_service(&config))
    ///     .layer(AuthLayer::for_service(&config).count_failures_in(&server))
    ///     .layer(TenantLayer::for_service(&config))
    ///     .layer(McpRequestLayer::from_config(&config))
    ///     .service(McpService::core(server, config));
    /// let get = |path: &str| http::Request::get(path).header("host", "localhost").body(String::new()).unwrap();
    /// // The probes are open, the MCP endpoint wants a key.
    /// assert_eq!(app.clone().oneshot(get("/health")).await.unwrap().status(), 200);
    /// let refused = app.oneshot(get("/mcp")).await.unwrap();
    /// assert_eq!(refused.status(), 401);
    /// assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
    /// # }
    /// ```
    pub fn core(server: impl Into<Server>, config: HttpConfig) -> Self {
        Self::build(server.into(), config, false)
    }

    fn build(server: Server, config: HttpConfig, inline_checks: bool) -> Self {
        let permits = Arc::new(Semaphore::new(config.max_concurrent_requests));
        let drain = drain::Drain::new(config.shutdown_grace, config.shutdown_deadline);
        let shared = Arc::new(Shared {
            server,
            sessions: Sessions::new(&config),
            config,
            active_requests: Arc::default(),
            open_streams: Arc::default(),
            connection_tasks: Arc::default(),
            connections: AtomicUsize::new(0),
            permits,
            started: Instant::now(),
            drain,
            inline_checks,
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
            body_bytes: self
                .shared
                .config
                .body_budget_bytes
                .saturating_sub(self.shared.config.body_budget.available_permits()),
            connections: self.shared.connections.load(Ordering::Acquire),
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

    /// Handles one HTTP request.
    ///
    /// The routing future, several kilobytes, is boxed: the future returned
    /// here stays small, so hyper's task for an HTTP/2 stream or an HTTP/1
    /// connection does not keep room for it while a response streams or a
    /// connection idles.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<McpBody>
    where
        B: http_body::Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let config = &self.shared.config;
        let http1 = request.version() < http::Version::HTTP_2;
        let inline = self.shared.inline_checks;
        let cors_origin = if inline {
            cors_origin(config, request.headers())
        } else {
            None
        };
        // The body is lent to the routing, so that what it leaves unread
        // can be read after it (see `request::drain`): unless the client
        // waits for `100 Continue` before it sends the body, which reading
        // it would ask for.
        let may_drain = !request.headers().contains_key(header::EXPECT);
        let (parts, body) = request.into_parts();
        let mut body = std::pin::pin!(body);
        let request = Request::from_parts(parts, body.as_mut());
        let mut response = if request.method() == Method::OPTIONS && cors_origin.is_some() {
            preflight(request.headers())
        } else if request.extensions().get::<layers::Traced>().is_some() {
            // A TraceLayer in front opened the request's span.
            Box::pin(self.route(request)).await
        } else {
            let span = request::span_of(&request);
            Box::pin(tracing::Instrument::instrument(self.route(request), span)).await
        };
        if !body.is_end_stream() {
            // A body refused as too slow (408) has had its time already.
            let deadline = tokio::time::Instant::now() + config.body_timeout;
            let drained = may_drain
                && response.status() != StatusCode::REQUEST_TIMEOUT
                && request::drain(body, deadline).await;
            if !drained && http1 {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
        }
        if inline {
            finish(config, &mut response, cors_origin.as_deref());
        }
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
        B: http_body::Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let shared = &self.shared;
        let config = &shared.config;
        let mut request = request;
        // Behind trusted proxies, the client is who they say; every later
        // look at the address (limits, caps, diagnostics) sees it.
        layers::peer::resolve_client(&config.trusted_proxies, &mut request);
        let Some((mounted, stripped)) = mount::locate(config, &request) else {
            return empty(StatusCode::NOT_FOUND);
        };
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
                && let Err(response) =
                    authenticate(&**authenticator, request.headers(), Some(&shared.server)).await
            {
                return response;
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
        let inline = shared.inline_checks;
        if inline
            && request
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
                    if let Err(response) =
                        authenticate(&**authenticator, request.headers(), Some(&shared.server))
                            .await
                    {
                        return response;
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
        if inline
            && request
                .extensions()
                .get::<layers::Authenticated>()
                .is_none()
            && let Some(authenticator) = &config.authenticator
        {
            match authenticate(&**authenticator, request.headers(), Some(&shared.server)).await {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                }
                Err(mut response) => {
                    audit_refusal(shared, &mut response, None, client);
                    return response;
                }
            }
        }
        if inline
            && request
                .extensions()
                .get::<layers::TenantResolved>()
                .is_none()
            && let Some(name) = &config.tenant_header
        {
            match resolve_tenant(name, &config.trusted_proxies, &request) {
                Ok(Some(principal)) => {
                    request.extensions_mut().insert(principal);
                }
                Ok(None) => {}
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
        B: http_body::Body<Data = Bytes> + Send,
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

fn principal_of<B>(request: &Request<B>) -> Option<Arc<crate::auth::Principal>> {
    request
        .extensions()
        .get::<Arc<crate::auth::Principal>>()
        .cloned()
}
