//! Authentication and the trusted tenant header.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use mcp_core::jsonrpc::error_code;
use tower_service::Service;

use super::peer::from_trusted_proxy;
use super::{Authenticated, LayerBody, LayerFuture, Layered, TenantResolved, passed, refused};
use crate::auth::{Authenticator, Principal};
use crate::server::Server;
use crate::transport::http::mount::{Checked, checks};
use crate::transport::http::responses::{error, unauthorized};
use crate::transport::http::{Cidr, HttpConfig, McpBody};

/// The principal a request acts as once the trusted tenant header is
/// applied: the authenticated one with that tenant, or an anonymous
/// `tenant:<id>`.
pub(crate) fn tenant_principal(
    principal: Option<Arc<crate::auth::Principal>>,
    header: &HeaderValue,
    from_gateway: bool,
) -> Result<Arc<crate::auth::Principal>, Box<Response<McpBody>>> {
    if !from_gateway {
        tracing::warn!("rejected a tenant header from a peer that is no trusted proxy");
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            None,
            error_code::INVALID_REQUEST,
            "forbidden: the tenant header is accepted only from a trusted proxy",
        )));
    }
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

/// The request's principal as `authenticator` names it, or the refusal to
/// send (401 with its challenge, 503 when credentials cannot be checked
/// now), counted in `server`'s `mcp_auth_failures_total`: the service's
/// check and [`AuthLayer`]'s.
pub(crate) async fn authenticate(
    authenticator: &dyn Authenticator,
    headers: &HeaderMap,
    server: Option<&Server>,
) -> Result<Arc<Principal>, Response<McpBody>> {
    match authenticator.authenticate(headers).await {
        Ok(principal) => Ok(Arc::new(principal)),
        Err(e) => {
            if let Some(server) = server {
                server.metrics().auth_failures.inc();
            }
            Err(unauthorized(&e, authenticator.resource_metadata()))
        }
    }
}

/// The principal the trusted tenant `header` makes of `request`, `None`
/// when the request does not carry it: the service's check and
/// [`TenantLayer`]'s.
pub(crate) fn resolve_tenant<B>(
    header: &HeaderName,
    trusted_proxies: &[Cidr],
    request: &Request<B>,
) -> Result<Option<Arc<Principal>>, Box<Response<McpBody>>> {
    let Some(value) = request.headers().get(header) else {
        return Ok(None);
    };
    let principal = request.extensions().get::<Arc<Principal>>().cloned();
    let from_gateway = from_trusted_proxy(trusted_proxies, request);
    tenant_principal(principal, value, from_gateway).map(Some)
}

/// Names the principal a request acted as on its response too, for an
/// [`AuditLayer`](super::AuditLayer) around: the innermost layer's wins.
fn name_principal<B>(mut response: Response<B>, principal: Arc<Principal>) -> Response<B> {
    if response.extensions().get::<Arc<Principal>>().is_none() {
        response.extensions_mut().insert(principal);
    }
    response
}

/// Authentication as a layer: the request's credentials (API keys, OAuth
/// bearer tokens, any [`Authenticator`]) name its [`Principal`], attached
/// to the request as `Arc<Principal>`; a request that does not
/// authenticate gets 401 with a `WWW-Authenticate: Bearer` challenge
/// (pointing at the protected resource metadata with OAuth), 503 with
/// `Retry-After` when credentials cannot be checked now.
///
/// ```
/// use std::sync::Arc;
/// use mcp_server::auth::{ApiKeys, Principal};
/// use mcp_server::transport::http::layers::AuthLayer;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let keys = ApiKeys::new().key("ci", "a-long-random-key", ["notes:read"]);
/// let app = AuthLayer::new(keys).layer(tower::service_fn(|request: http::Request<String>| async move {
///     let principal = request.extensions().get::<Arc<Principal>>().map(|p| p.id.clone());
///     Ok::<_, std::convert::Infallible>(http::Response::new(principal.unwrap_or_default()))
/// }));
/// let anonymous = http::Request::get("/").body(String::new()).unwrap();
/// assert_eq!(app.clone().oneshot(anonymous).await.unwrap().status(), 401);
/// let ci = http::Request::get("/").header("x-api-key", "a-long-random-key").body(String::new()).unwrap();
/// assert_eq!(app.oneshot(ci).await.unwrap().status(), 200);
/// # }
/// ```
#[derive(Clone)]
pub struct AuthLayer {
    /// `None` only [`for_service`](Self::for_service) without an
    /// authenticator: requests pass.
    authenticator: Option<Arc<dyn Authenticator>>,
    server: Option<Server>,
    scope: Option<Arc<HttpConfig>>,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer").finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// Authenticates with `authenticator`.
    pub fn new(authenticator: impl Authenticator) -> Self {
        Self {
            authenticator: Some(Arc::new(authenticator)),
            server: None,
            scope: None,
        }
    }

    /// The authenticator of `config`, if it has one.
    pub fn from_config(config: &HttpConfig) -> Option<Self> {
        config.authenticator.as_ref().map(|authenticator| Self {
            authenticator: Some(Arc::clone(authenticator)),
            server: None,
            scope: None,
        })
    }

    /// The authenticator of `config` applied as
    /// [`McpService::new`](crate::transport::http::McpService::new) applies
    /// it: to the MCP endpoints of `config` only, so the probes, the index
    /// and the protected resource metadata stay open; without an
    /// authenticator every request passes. For a stack in front of
    /// [`McpService::core`](crate::transport::http::McpService::core).
    pub fn for_service(config: &HttpConfig) -> Self {
        Self {
            authenticator: config.authenticator.clone(),
            server: None,
            scope: Some(Arc::new(config.clone())),
        }
    }

    /// Counts refused credentials in `server`'s `mcp_auth_failures_total`.
    #[must_use]
    pub fn count_failures_in(mut self, server: &Server) -> Self {
        self.server = Some(server.clone());
        self
    }
}

layered!(AuthLayer);

/// The service of [`AuthLayer`].
pub type Auth<S> = Layered<AuthLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Auth<S>
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let Some(authenticator) = layer.authenticator.as_deref().filter(|_| {
                (layer.scope.as_ref())
                    .is_none_or(|scope| checks(scope, &request, Checked::Endpoint))
            }) else {
                return inner.call(request).await.map(passed);
            };
            let server = layer.server.as_ref();
            match authenticate(authenticator, request.headers(), server).await {
                Ok(principal) => {
                    let extensions = request.extensions_mut();
                    extensions.insert(Arc::clone(&principal));
                    extensions.insert(Authenticated);
                    let response = inner.call(request).await;
                    response.map(|response| passed(name_principal(response, principal)))
                }
                Err(refusal) => Ok(refusal.map(http_body_util::Either::Left)),
            }
        })
    }
}

/// The trusted tenant header as a layer (see
/// [`HttpConfig::tenant_header`]): the header names the request's tenant.
/// An authenticated [`Principal`] (from an [`AuthLayer`] in front) of
/// another tenant gets 403, one without a tenant takes the header's, and an
/// anonymous request acts as the principal `tenant:<id>`; a malformed
/// value gets 400. A request without the header passes unchanged.
///
/// Only for a deployment whose gateway sets the header itself: a client
/// can send any value.
#[derive(Debug, Clone)]
pub struct TenantLayer {
    /// `None` only [`for_service`](Self::for_service) without a tenant
    /// header: requests pass.
    header: Option<HeaderName>,
    trusted_proxies: Arc<[Cidr]>,
    scope: Option<Arc<HttpConfig>>,
}

impl TenantLayer {
    /// Reads the tenant from `header`, sent by any peer: for a server that
    /// only its gateway can reach.
    pub fn new(header: HeaderName) -> Self {
        Self {
            header: Some(header),
            trusted_proxies: Arc::from(Vec::new()),
            scope: None,
        }
    }

    /// The tenant header of `config`, if it has one; with
    /// [`HttpConfig::trusted_proxies`] set, a header from any other peer
    /// is refused with 403.
    pub fn from_config(config: &HttpConfig) -> Option<Self> {
        let header = config.tenant_header.clone()?;
        Some(Self {
            header: Some(header),
            trusted_proxies: config.trusted_proxies.iter().copied().collect(),
            scope: None,
        })
    }

    /// The tenant header of `config` applied as
    /// [`McpService::new`](crate::transport::http::McpService::new) applies
    /// it: to the MCP endpoints of `config` only, from the peers of
    /// [`HttpConfig::trusted_proxies`]; without a tenant header every
    /// request passes. For a stack in front of
    /// [`McpService::core`](crate::transport::http::McpService::core).
    pub fn for_service(config: &HttpConfig) -> Self {
        Self {
            header: config.tenant_header.clone(),
            trusted_proxies: config.trusted_proxies.iter().copied().collect(),
            scope: Some(Arc::new(config.clone())),
        }
    }
}

layered!(TenantLayer);

/// The service of [`TenantLayer`].
pub type Tenant<S> = Layered<TenantLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Tenant<S>
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
        let mut resolved = None;
        let layer = &self.layer;
        let header = layer.header.as_ref().filter(|_| {
            (layer.scope.as_ref()).is_none_or(|scope| checks(scope, &request, Checked::Endpoint))
        });
        if let Some(header) = header {
            match resolve_tenant(header, &layer.trusted_proxies, &request) {
                Ok(Some(principal)) => {
                    request.extensions_mut().insert(Arc::clone(&principal));
                    resolved = Some(principal);
                }
                Ok(None) => {}
                Err(response) => return refused(*response),
            }
        }
        request.extensions_mut().insert(TenantResolved);
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(passed(match resolved {
                Some(principal) => name_principal(response, principal),
                None => response,
            }))
        })
    }
}
