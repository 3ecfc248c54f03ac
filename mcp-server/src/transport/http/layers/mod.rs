//! The HTTP transport's production concerns as [`tower_layer::Layer`]s,
//! to take, leave out, reorder or replace around an
//! [`McpService`](super::McpService) or an application's own routes.
//!
//! [`McpService::new`](super::McpService::new) (and so
//! [`HttpServer`](super::HttpServer)) applies the same checks itself, with
//! the same functions, in the order of the stack below, from its
//! [`HttpConfig`](super::HttpConfig): a standalone server needs none of
//! these. [`McpService::core`](super::McpService::core) is the protocol
//! alone, for a stack that applies the checks as layers: built with the
//! `for_service` constructors from the same `HttpConfig`, that stack
//! answers as [`McpService::new`](super::McpService::new) does, and each
//! layer can then be left out, moved or replaced.
//!
//! Put a layer in front of [`McpService::new`](super::McpService::new)
//! when a check should also cover routes next to MCP, or should run earlier
//! in an application's stack: a request that passed [`HostOriginLayer`],
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
//! | [`SecurityHeadersLayer`] | hardening response headers; with `for_service`, CORS as the service answers browsers | never (a CORS preflight gets 204) |
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
//! request's extensions: put that one outside them. The stack
//! [`McpService::new`](super::McpService::new) amounts to, with the
//! server's [rate limit](crate::ServerBuilder::rate_limit) moved into a
//! layer:
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
//! let app = ServiceBuilder::new()
//!     .layer(TraceLayer::new())
//!     // An addition: `McpService::new` counts no responses by status.
//!     .layer(MetricsLayer::new(&server))
//!     .layer(SecurityHeadersLayer::for_service(&config))
//!     .layer(ClientAddrLayer::from_config(&config))
//!     .layer(AuditLayer::new(&server))
//!     .layer(HostOriginLayer::for_service(&config))
//!     .layer(AuthLayer::for_service(&config).count_failures_in(&server))
//!     .layer(TenantLayer::for_service(&config))
//!     .layer(McpRequestLayer::from_config(&config))
//!     .layer(RateLimitLayer::new(RateLimit::per_caller(Quota::per_minute(600))).count_in(&server))
//!     // Additions: `McpService::new` bounds each handler by
//!     // `HttpConfig::request_timeout` and queues for its permits instead.
//!     .layer(ConcurrencyLimitLayer::new(256))
//!     .layer(TimeoutLayer::new(Duration::from_secs(60)))
//!     .service(McpService::core(server, config));
//! # let _ = app;
//! ```
//!
//! Each layer's service is the generic [`Layered`] of it and the service
//! it wraps.

/// Implements [`Layer`](tower_layer::Layer) for a layer whose service is
/// the [`Layered`] of it.
macro_rules! layered {
    ($layer:ty) => {
        impl<S> tower_layer::Layer<S> for $layer {
            type Service = $crate::transport::http::layers::Layered<$layer, S>;

            fn layer(&self, inner: S) -> Self::Service {
                $crate::transport::http::layers::Layered {
                    layer: self.clone(),
                    inner,
                }
            }
        }
    };
}

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

/// The service of each of these layers: the service it wraps and the
/// layer's settings. [`Auth<S>`](Auth) is `Layered<AuthLayer, S>`, and so
/// on for every layer.
#[derive(Debug, Clone)]
pub struct Layered<L, S> {
    layer: L,
    inner: S,
}

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
