//! Rate limits per caller and per tool, in front of the service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use mcp_core::method;
use tower_service::Service;

use super::peer::peer_of;
use super::{LayerBody, LayerFuture, Layered, forward, refused};
use crate::auth::Principal;
use crate::limit::RateLimit;
use crate::server::Server;
use crate::transport::http::McpRequest;
use crate::transport::http::responses::too_many_requests;

/// Rate limits as a layer: each MCP request (read by an
/// [`McpRequestLayer`](super::McpRequestLayer) in front) takes one from its
/// caller's quota, and a `tools/call` also from its tool's, as
/// [`RateLimit`] sets them, in memory or shared through Redis. The caller
/// is the principal an [`AuthLayer`](super::AuthLayer) or
/// [`TenantLayer`](super::TenantLayer) in front attached (the tenant is part
/// of it), else the client's network ([`ClientAddr`](super::ClientAddr)),
/// else the one local caller. Over a quota, 429 with `Retry-After` and the
/// JSON-RPC error the router answers with.
///
/// `ping`, notifications and answers are free, as are requests without a
/// typed [`McpRequest`] (streams, `DELETE`). A limit in this layer is its
/// own: give it a [`RateLimit`] other than the server's
/// ([`ServerBuilder::rate_limit`](crate::ServerBuilder::rate_limit)), or a
/// call would count twice.
///
/// ```
/// use std::time::Duration;
/// use mcp_server::limit::{Quota, RateLimit};
/// use mcp_server::transport::http::layers::{McpRequestLayer, RateLimitLayer};
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ok = tower::service_fn(|_: http::Request<_>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// });
/// let limits = RateLimit::per_caller(Quota::per_minute(100)).tool("search", Quota::per_minute(1));
/// let app = McpRequestLayer::new(1 << 20, Duration::from_secs(5))
///     .layer(RateLimitLayer::new(limits).layer(ok));
/// let search = || {
///     http::Request::post("/mcp")
///         .header("content-type", "application/json")
///         .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}"#.to_owned())
///         .unwrap()
/// };
/// assert_eq!(app.clone().oneshot(search()).await.unwrap().status(), 200);
/// assert_eq!(app.oneshot(search()).await.unwrap().status(), 429);
/// # }
/// ```
#[derive(Clone)]
pub struct RateLimitLayer {
    limit: Arc<RateLimit>,
    server: Option<Server>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// Limits requests by `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit: Arc::new(limit),
            server: None,
        }
    }

    /// Counts refusals in `server`'s `mcp_rate_limited_total`.
    #[must_use]
    pub fn count_in(mut self, server: &Server) -> Self {
        self.server = Some(server.clone());
        self
    }
}

layered!(RateLimitLayer);

/// The service of [`RateLimitLayer`].
pub type RateLimited<S> = Layered<RateLimitLayer, S>;

/// Whether a request costs one from its caller's quota.
fn is_costly(typed: &McpRequest) -> bool {
    typed
        .messages()
        .iter()
        .any(|m| m.id().is_some() && m.method().is_some_and(|name| name != method::PING))
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimited<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<LayerBody<ResBody>>;
    type Error = S::Error;
    type Future = LayerFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(typed) = request
            .extensions()
            .get::<McpRequest>()
            .filter(|typed| is_costly(typed))
            .cloned()
        else {
            return forward(self.inner.call(request));
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let principal = request.extensions().get::<Arc<Principal>>().cloned();
            let caller = crate::router::caller_key(principal.as_deref(), peer_of(&request));
            let tool = match typed.method() {
                Some(method::TOOLS_CALL) => typed.target(),
                _ => None,
            };
            if let Err(wait) = layer.limit.check(&caller, tool).await {
                tracing::info!(%caller, tool, ?wait, "rate limited");
                if let Some(server) = &layer.server {
                    server.metrics().rate_limited.inc();
                }
                let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let error = mcp_core::ProtocolError::RateLimited { retry_after_secs }
                    .to_error_object(mcp_core::ProtocolVersion::LATEST);
                return refused::<ResBody, S::Error>(too_many_requests(
                    typed.id().cloned(),
                    error,
                    retry_after_secs,
                ))
                .await;
            }
            forward(inner.call(request)).await
        })
    }
}
