//! CORS and the hardening headers every response carries.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tower_service::Service;

use super::{LayerBody, LayerFuture, Layered, passed, refused};
use crate::transport::http::responses::{empty, point_at_metadata};
use crate::transport::http::{HttpConfig, McpBody};

pub(crate) fn cors_allowed(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// The answer to a CORS preflight from an allowed origin.
pub(crate) fn preflight(headers: &HeaderMap) -> Response<McpBody> {
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

/// The allowed CORS origin a browser request comes from.
pub(crate) fn cors_origin(config: &HttpConfig, headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| cors_allowed(&config.cors_origins, o))
        .map(str::to_owned)
}

/// What every answer of the service carries, whoever gave it: with OAuth, a
/// 403 points at the protected resource metadata; then the hardening and
/// CORS headers ([`secure`]).
pub(crate) fn finish<B>(
    config: &HttpConfig,
    response: &mut Response<B>,
    cors_origin: Option<&str>,
) {
    if response.status() == StatusCode::FORBIDDEN
        && let Some(metadata) = config
            .authenticator
            .as_ref()
            .and_then(|a| a.resource_metadata())
    {
        point_at_metadata(response, metadata);
    }
    secure(response.headers_mut(), cors_origin);
}

/// Headers every response carries: CORS for allowed browser origins, and
/// the usual hardening for an API that is never meant to be rendered.
pub(crate) fn secure(headers: &mut HeaderMap, cors_origin: Option<&str>) {
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

/// Adds the hardening headers of an API that is never meant to be
/// rendered (`X-Content-Type-Options`, `Referrer-Policy`,
/// `X-Frame-Options`, `Content-Security-Policy`) to every response, as
/// [`McpService`](crate::transport::http::McpService) does to its own.
///
/// ```
/// use mcp_server::transport::http::layers::SecurityHeadersLayer;
/// use tower::ServiceBuilder;
///
/// let service = ServiceBuilder::new()
///     .layer(SecurityHeadersLayer::new())
///     .service_fn(|_: http::Request<String>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
///     });
/// # let _ = service;
/// ```
#[derive(Debug, Clone, Default)]
pub struct SecurityHeadersLayer {
    config: Option<Arc<HttpConfig>>,
}

impl SecurityHeadersLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The headers [`McpService::new`](crate::transport::http::McpService::new)
    /// puts on its answers, from `config`: the hardening headers, CORS for
    /// the browser origins of [`HttpConfig::cors_origins`] (a preflight
    /// from one is answered 204 here), and, with an OAuth authenticator, a
    /// 403 pointing at the protected resource metadata. For a stack in
    /// front of [`McpService::core`](crate::transport::http::McpService::core);
    /// [`cors_layer`] is the same CORS for other routes.
    pub fn for_service(config: &HttpConfig) -> Self {
        Self {
            config: Some(Arc::new(config.clone())),
        }
    }
}

layered!(SecurityHeadersLayer);

/// The service of [`SecurityHeadersLayer`].
pub type SecurityHeaders<S> = Layered<SecurityHeadersLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SecurityHeaders<S>
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
        let config = self.layer.config.clone();
        let cors = config
            .as_deref()
            .and_then(|config| cors_origin(config, request.headers()));
        if let Some(config) = &config
            && request.method() == Method::OPTIONS
            && cors.is_some()
        {
            let mut response = preflight(request.headers());
            finish(config, &mut response, cors.as_deref());
            return refused(response);
        }
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            match &config {
                Some(config) => finish(config, &mut response, cors.as_deref()),
                None => secure(response.headers_mut(), None),
            }
            Ok(passed(response))
        })
    }
}

/// tower-http's [`CorsLayer`](tower_http::cors::CorsLayer) set up as the
/// MCP service answers browsers: the origins of
/// [`HttpConfig::cors_origins`] (`*` for any), the methods and exposed
/// headers of MCP, requested headers echoed, preflights cached ten minutes.
/// For the routes an application serves next to MCP, so one setting
/// governs both.
///
/// ```
/// use mcp_server::transport::http::HttpConfig;
/// use mcp_server::transport::http::layers::cors_layer;
///
/// let config = HttpConfig::default().cors_origins(["https://app.example.com"]);
/// let app: axum::Router = axum::Router::new()
///     .route("/api/notes", axum::routing::get(|| async { "[]" }))
///     .layer(cors_layer(&config));
/// # let _ = app;
/// ```
pub fn cors_layer(config: &HttpConfig) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};
    let origins: Arc<[String]> = config.cors_origins.clone().into();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin.to_str().is_ok_and(|o| cors_allowed(&origins, o))
        }))
        .allow_methods([
            http::Method::GET,
            http::Method::POST,
            http::Method::DELETE,
            http::Method::OPTIONS,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(ExposeHeaders::list([
            crate::transport::http::request::names::SESSION_ID.clone(),
            crate::transport::http::request::names::PROTOCOL_VERSION.clone(),
            header::WWW_AUTHENTICATE,
        ]))
        .max_age(Duration::from_secs(600))
}
