//! Limits on time and on requests in flight, answered with JSON-RPC errors.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use mcp_core::jsonrpc::{RequestId, error_code};
use tokio::sync::Semaphore;
use tower_service::Service;

use super::{LayerBody, LayerFuture, Layered, passed, refused};
use crate::transport::http::McpRequest;
use crate::transport::http::responses::{busy, error};

fn request_id<B>(request: &Request<B>) -> Option<RequestId> {
    request
        .extensions()
        .get::<McpRequest>()
        .and_then(|typed| typed.id().cloned())
}

/// Answers a request whose response has not begun within `timeout` with
/// 504 and a JSON-RPC error naming the request's id (from the
/// [`McpRequest`], when an [`McpRequestLayer`](super::McpRequestLayer) is
/// in front), and drops the inner service's work: the client gets exactly
/// one answer. A response that has begun (an SSE stream) is not cut.
///
/// [`McpService`](crate::transport::http::McpService) bounds each
/// request's handler by [`HttpConfig::request_timeout`](crate::transport::http::HttpConfig::request_timeout)
/// itself; this layer bounds whatever it wraps.
///
/// ```
/// use std::time::Duration;
/// use mcp_server::transport::http::layers::TimeoutLayer;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let slow = tower::service_fn(|_: http::Request<String>| async {
///     std::future::pending::<Result<http::Response<String>, std::convert::Infallible>>().await
/// });
/// let app = TimeoutLayer::new(Duration::from_millis(10)).layer(slow);
/// let response = app.oneshot(http::Request::new(String::new())).await.unwrap();
/// assert_eq!(response.status(), 504);
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// Responses must begin within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

layered!(TimeoutLayer);

/// The service of [`TimeoutLayer`].
pub type Timeout<S> = Layered<TimeoutLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Timeout<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<LayerBody<ResBody>>;
    type Error = S::Error;
    type Future = LayerFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let id = request_id(&request);
        let limit = self.layer.timeout;
        let response = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, response).await {
                Ok(response) => response.map(passed),
                Err(_) => {
                    tracing::warn!(?limit, "request timed out");
                    let timed_out = error(
                        StatusCode::GATEWAY_TIMEOUT,
                        id,
                        error_code::INTERNAL_ERROR,
                        format!(
                            "the request took longer than {}s and was stopped",
                            limit.as_secs_f64()
                        ),
                    );
                    Ok(timed_out.map(http_body_util::Either::Left))
                }
            }
        })
    }
}

/// Lets at most `max` requests in flight through; one more gets 503 with
/// `Retry-After: 1` and a JSON-RPC error at once, rather than waiting, as
/// [`HttpConfig::max_concurrent_requests`](crate::transport::http::HttpConfig::max_concurrent_requests)
/// does in the service. A request counts until its response begins.
///
/// ```
/// use mcp_server::transport::http::layers::ConcurrencyLimitLayer;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ok = tower::service_fn(|_: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// });
/// let app = ConcurrencyLimitLayer::new(0).layer(ok);
/// let response = app.oneshot(http::Request::new(String::new())).await.unwrap();
/// assert_eq!(response.status(), 503);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ConcurrencyLimitLayer {
    permits: Arc<Semaphore>,
}

impl ConcurrencyLimitLayer {
    /// At most `max` requests in flight, across every service this layer
    /// wraps.
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
        }
    }
}

layered!(ConcurrencyLimitLayer);

/// The service of [`ConcurrencyLimitLayer`].
pub type ConcurrencyLimit<S> = Layered<ConcurrencyLimitLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ConcurrencyLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<LayerBody<ResBody>>;
    type Error = S::Error;
    type Future = LayerFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Ok(permit) = Arc::clone(&self.layer.permits).try_acquire_owned() else {
            return refused(busy(request_id(&request), "too many requests in progress"));
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            drop(permit);
            response.map(passed)
        })
    }
}
