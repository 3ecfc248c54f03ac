//! The HTTP transport's production concerns as [`tower_layer::Layer`]s,
//! to take, leave out, reorder or replace around an
//! [`McpService`](super::McpService) or an application's own routes.
//!
//! [`McpService`](super::McpService) applies the same checks itself, in
//! the same order, from its [`HttpConfig`](super::HttpConfig), so a
//! standalone server needs none of these. Put one of them in front when a
//! check should also cover routes next to MCP, or should run earlier in an
//! application's stack: a request that passed [`HostOriginLayer`],
//! [`AuthLayer`] or [`TenantLayer`] is not checked again by the service,
//! and the identity they establish reaches the service and the tools
//! through request extensions: the [`Principal`](crate::auth::Principal)
//! as `Arc<Principal>`, the client's address as [`ClientAddr`].
//!
//! | Layer | Concern | Refuses with |
//! |---|---|---|
//! | [`McpRequestLayer`] | the body, read once within limits, parsed once into an [`McpRequest`](super::McpRequest) | 400, 408, 413 |
//! | [`ClientAddrLayer`] | the client's address behind trusted proxies | never |
//! | [`HostOriginLayer`] | DNS-rebinding protection (`Host`, `Origin`) | 403 |
//! | [`AuthLayer`] | API keys, OAuth bearer tokens, any [`Authenticator`](crate::auth::Authenticator) | 401, 503 |
//! | [`TenantLayer`] | the trusted tenant header | 400, 403 |
//! | [`SecurityHeadersLayer`] | hardening response headers | never |
//! | [`cors_layer`] | CORS, as tower-http's `CorsLayer` from [`HttpConfig::cors_origins`](super::HttpConfig::cors_origins) | never |
//! | [`RateLimitLayer`] | a [`RateLimit`](crate::limit::RateLimit) per principal, tenant or address, and per tool (in memory or Redis) | 429 |
//! | [`ConcurrencyLimitLayer`] | requests in flight | 503 |
//! | [`TimeoutLayer`] | time to the response | 504 |
//! | [`AuditLayer`] | an audit record of every refusal inside it | never |
//! | [`MetricsLayer`] | responses by status, and their time | never |
//! | [`TraceLayer`] | a `tracing` span per request | never |
//!
//! Refusals carry the same JSON-RPC error bodies, status codes and
//! `WWW-Authenticate` challenges as the service's own. A response that
//! passed through one of the refusing layers has the body [`LayerBody`]:
//! the layer's refusal or the inner service's body.
//!
//! Layers that need MCP knowledge (the tool a rate limit counts, the
//! method and tool of an audit record) read the typed
//! [`McpRequest`](super::McpRequest) an [`McpRequestLayer`] put in the
//! request's extensions: put that one outside them. A stack in the order
//! the service applies its own checks:
//!
//! ```
//! use std::time::Duration;
//! use mcp_server::prelude::*;
//! use mcp_server::limit::{Quota, RateLimit};
//! use mcp_server::transport::http::layers::*;
//! use mcp_server::transport::http::{HttpConfig, McpService};
//! use tower::ServiceBuilder;
//!
//! let server = Server::builder().build();
//! let config = HttpConfig::default();
//! let mcp = McpService::new(server.clone(), config.clone());
//! let app = ServiceBuilder::new()
//!     .layer(TraceLayer::new())
//!     .layer(MetricsLayer::new(&server))
//!     .layer(AuditLayer::new(&server))
//!     .layer(ClientAddrLayer::new(Vec::new()))
//!     .layer(HostOriginLayer::new(&config))
//!     .layer(McpRequestLayer::from_config(&config))
//!     .layer(RateLimitLayer::new(RateLimit::per_caller(Quota::per_minute(600))))
//!     .layer(ConcurrencyLimitLayer::new(256))
//!     .layer(TimeoutLayer::new(Duration::from_secs(60)))
//!     .service(mcp);
//! # let _ = app;
//! ```
//!
//! [`McpService`](super::McpService) alone (and so
//! [`HttpServer`](super::HttpServer)) applies the equivalent checks itself
//! from its [`HttpConfig`](super::HttpConfig) and the server's settings,
//! with the same answers: a layer in front replaces the service's own
//! check only where said above (Host/Origin, authentication, tenant); the
//! others add to the service's limits.

pub(crate) mod auth;
pub(crate) mod body;
pub(crate) mod headers;
pub(crate) mod limits;
pub(crate) mod observe;
pub(crate) mod origin;
pub(crate) mod peer;
pub(crate) mod rate;

use std::future::Future;
use std::pin::Pin;

use http::Response;
use http_body_util::Either;

pub use auth::{Auth, AuthLayer, Tenant, TenantLayer};
pub use body::{McpRequestBody, McpRequestLayer, McpRequestService};
pub use headers::{SecurityHeaders, SecurityHeadersLayer, cors_layer};
pub use limits::{ConcurrencyLimit, ConcurrencyLimitLayer, Timeout, TimeoutLayer};
pub(crate) use observe::Traced;
pub use observe::{Audit, AuditLayer, Metrics, MetricsLayer, Trace, TraceLayer};
pub use origin::{HostOrigin, HostOriginLayer};
pub use peer::{ClientAddr, ClientAddrLayer, ClientAddrService};
pub use rate::{RateLimitLayer, RateLimited};

use super::McpBody;

/// The body of a response from one of these layers: the layer's own
/// refusal, or the inner service's body.
pub type LayerBody<B> = Either<McpBody, B>;

/// The future of these layers' services.
pub type LayerFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<LayerBody<B>>, E>> + Send + 'static>>;

fn refused<B, E>(response: Response<McpBody>) -> LayerFuture<B, E>
where
    B: Send + 'static,
    E: Send + 'static,
{
    Box::pin(std::future::ready(Ok(response.map(Either::Left))))
}

fn passed<B>(response: Response<B>) -> Response<LayerBody<B>> {
    response.map(Either::Right)
}

/// Forwards a request the layer let through.
fn forward<F, B, E>(response: F) -> LayerFuture<B, E>
where
    F: Future<Output = Result<Response<B>, E>> + Send + 'static,
{
    Box::pin(async move { response.await.map(passed) })
}

/// Marks a request whose `Host` and `Origin` an outer [`HostOriginLayer`]
/// accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostOriginChecked;

/// Marks a request an outer [`AuthLayer`] authenticated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authenticated;

/// Marks a request whose tenant header an outer [`TenantLayer`] applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TenantResolved;
