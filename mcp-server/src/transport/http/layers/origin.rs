//! `Host` and `Origin` checks: DNS-rebinding protection.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{self, HeaderMap};
use http::{Request, Response, StatusCode};
use mcp_core::jsonrpc::error_code;
use tower_service::Service;

use super::headers::cors_allowed;
use super::{HostOriginChecked, LayerBody, LayerFuture, Layered, forward, refused};
use crate::transport::http::mount::{Checked, checks};
use crate::transport::http::responses::error;
use crate::transport::http::{HostPolicy, HttpConfig, McpBody};

/// DNS-rebinding protection: a web page must not reach a local server by
/// pointing its own host name at 127.0.0.1, nor call it from its origin.
pub(crate) fn check_host_and_origin(
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
pub(crate) fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

pub(crate) fn is_loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]"
}

pub(crate) fn host_allowed(policy: &HostPolicy, host: &str) -> bool {
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

pub(crate) fn origin_allowed(allowed: &[String], origin: &str) -> bool {
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

/// DNS-rebinding protection as a layer: refuses with 403 and a JSON-RPC
/// error a request whose `Host` is not allowed by
/// [`HttpConfig::allowed_hosts`] (or [`HttpConfig::host_policy`]), or
/// whose `Origin` is neither loopback nor in
/// [`HttpConfig::allowed_origins`] or [`HttpConfig::cors_origins`].
///
/// [`HostPolicy::Auto`], the default, means loopback names only here: an
/// application bound to `0.0.0.0` and reached by its host name answers 403
/// until that name is allowed.
///
/// ```
/// use mcp_server::transport::http::HttpConfig;
/// use mcp_server::transport::http::layers::HostOriginLayer;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = HttpConfig::default().allowed_hosts(["notes.example.com"]);
/// let app = HostOriginLayer::new(&config).layer(tower::service_fn(|_: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// }));
/// let evil = http::Request::get("/").header("host", "evil.example.com").body(String::new()).unwrap();
/// assert_eq!(app.clone().oneshot(evil).await.unwrap().status(), 403);
/// let ok = http::Request::get("/").header("host", "notes.example.com").body(String::new()).unwrap();
/// assert_eq!(app.oneshot(ok).await.unwrap().status(), 200);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HostOriginLayer {
    config: Arc<HttpConfig>,
    scoped: bool,
}

impl HostOriginLayer {
    /// The checks `config` describes: its host policy, allowed origins and
    /// CORS origins.
    pub fn new(config: &HttpConfig) -> Self {
        Self {
            config: Arc::new(config.clone()),
            scoped: false,
        }
    }

    /// The same checks, applied as
    /// [`McpService::new`](crate::transport::http::McpService::new) applies
    /// them: not to `/health`, `/ready`, the metrics or the index, which
    /// load balancers reach with any `Host`, nor to a path outside
    /// [`HttpConfig::base_path`]. For a stack in front of
    /// [`McpService::core`](crate::transport::http::McpService::core).
    pub fn for_service(config: &HttpConfig) -> Self {
        Self {
            config: Arc::new(config.clone()),
            scoped: true,
        }
    }
}

layered!(HostOriginLayer);

/// The service of [`HostOriginLayer`].
pub type HostOrigin<S> = Layered<HostOriginLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HostOrigin<S>
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &self.layer.config;
        if self.layer.scoped && !checks(config, &request, Checked::HostOrigin) {
            return forward(self.inner.call(request));
        }
        if let Err(response) = check_host_and_origin(config, request.headers(), request.uri()) {
            return refused(*response);
        }
        request.extensions_mut().insert(HostOriginChecked);
        forward(self.inner.call(request))
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
}
