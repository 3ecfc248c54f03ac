//! Reading and parsing an MCP request's body once, within limits.

use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{Either, Full};
use tower_service::Service;

use super::{LayerBody, LayerFuture, Layered, passed};
use crate::transport::http::request::{BodyLimits, is_json_content, read_json_body};
use crate::transport::http::{BoxError, HttpConfig, McpRequest};

/// The body of a request that went through [`McpRequestLayer`]: the bytes
/// it read, or the original body of a request it let through unread.
pub type McpRequestBody<B> = Either<Full<Bytes>, B>;

/// Reads the body of a JSON POST once, within a size and a time limit,
/// parses its JSON-RPC envelope once, and attaches the [`McpRequest`] to
/// the request, so the layers after it (rate limits by tool, audit,
/// scopes) and the [`McpService`](crate::transport::http::McpService)
/// read the typed request instead of the body.
///
/// A body over the limit gets 413, one that is slower than the limit 408,
/// one that cannot be read 400, each with the JSON-RPC error body the
/// service answers with. Requests that are not JSON POSTs pass unread
/// (the service answers those). The inner service sees the bytes again as
/// its body, without a copy. The response carries the [`McpRequest`] in its
/// extensions too, for the layers outside this one.
///
/// ```
/// use mcp_server::transport::http::McpRequest;
/// use mcp_server::transport::http::layers::McpRequestLayer;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = McpRequestLayer::new(100, std::time::Duration::from_secs(5)).layer(
///     tower::service_fn(|request: http::Request<_>| async move {
///         let tool = request.extensions().get::<McpRequest>().and_then(|r| r.target().map(str::to_owned));
///         Ok::<_, std::convert::Infallible>(http::Response::new(tool.unwrap_or_default()))
///     }),
/// );
/// let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}"#;
/// let post = |body: &str| {
///     http::Request::post("/mcp").header("content-type", "application/json").body(body.to_owned()).unwrap()
/// };
/// assert_eq!(app.clone().oneshot(post(call)).await.unwrap().status(), 200);
/// let big = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#, "x".repeat(100));
/// assert_eq!(app.oneshot(post(&big)).await.unwrap().status(), 413);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct McpRequestLayer {
    limits: BodyLimits,
}

impl McpRequestLayer {
    /// Bodies of at most `max_body_bytes`, arriving within `body_timeout`,
    /// and at most the default of [`HttpConfig::max_body_bytes_in_flight`]
    /// of large ones at once (this layer's own).
    pub fn new(max_body_bytes: usize, body_timeout: Duration) -> Self {
        let config = HttpConfig::default()
            .max_body_bytes(max_body_bytes)
            .read_timeouts(Duration::ZERO, body_timeout);
        Self::from_config(&config)
    }

    /// The limits of `config` ([`HttpConfig::max_body_bytes`],
    /// [`HttpConfig::read_timeouts`], [`HttpConfig::max_body_bytes_in_flight`],
    /// shared with the service built from the same config), the ones the
    /// service applies itself.
    pub fn from_config(config: &HttpConfig) -> Self {
        Self {
            limits: BodyLimits::of(config),
        }
    }
}

layered!(McpRequestLayer);

/// The service of [`McpRequestLayer`].
pub type McpRequestService<S> = Layered<McpRequestLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for McpRequestService<S>
where
    S: Service<Request<McpRequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: Send + 'static,
{
    type Response = Response<LayerBody<ResBody>>;
    type Error = S::Error;
    type Future = LayerFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if request.method() != Method::POST
            || !is_json_content(request.headers())
            || request.extensions().get::<McpRequest>().is_some()
        {
            let future = inner.call(request.map(Either::Right));
            return Box::pin(async move { future.await.map(passed) });
        }
        let limits = self.layer.limits.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            // Held until the inner service has answered.
            let (bytes, _held) = match read_json_body(&parts.headers, body, limits).await {
                Ok(read) => (read.bytes, read.held),
                Err(refusal) => return Ok(refusal.map(Either::Left)),
            };
            let typed = McpRequest::parse(&parts.headers, bytes.clone());
            parts.extensions.insert(typed.clone());
            let request = Request::from_parts(parts, Either::Left(Full::new(bytes)));
            let mut response = inner.call(request).await?;
            // For the layers outside this one (audit), on the way back.
            response.extensions_mut().insert(typed);
            Ok(passed(response))
        })
    }
}
