//! Authentication and the trusted tenant header.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use mcp_core::jsonrpc::error_code;
use tower_layer::Layer;
use tower_service::Service;

use super::peer::from_trusted_proxy;
use super::{Authenticated, LayerBody, LayerFuture, TenantResolved, passed, refused};
use crate::auth::{Authenticator, Principal};
use crate::server::Server;
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
    authenticator: Arc<dyn Authenticator>,
    server: Option<Server>,
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
            authenticator: Arc::new(authenticator),
            server: None,
        }
    }

    /// The authenticator of `config`, if it has one.
    pub fn from_config(config: &HttpConfig) -> Option<Self> {
        config.authenticator.as_ref().map(|authenticator| Self {
            authenticator: Arc::clone(authenticator),
            server: None,
        })
    }

    /// Counts refused credentials in `server`'s `mcp_auth_failures_total`.
    #[must_use]
    pub fn count_failures_in(mut self, server: &Server) -> Self {
        self.server = Some(server.clone());
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    layer: AuthLayer,
}

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
            let authenticator = &layer.authenticator;
            let outcome = authenticator.authenticate(request.headers()).await;
            match outcome {
                Ok(principal) => {
                    let principal = Arc::new(principal);
                    let extensions = request.extensions_mut();
                    extensions.insert(Arc::clone(&principal));
                    extensions.insert(Authenticated);
                    let response = inner.call(request).await;
                    response.map(|response| passed(name_principal(response, principal)))
                }
                Err(e) => {
                    if let Some(server) = &layer.server {
                        server.metrics().auth_failures.inc();
                    }
                    let response = unauthorized(&e, authenticator.resource_metadata());
                    Ok(response.map(http_body_util::Either::Left))
                }
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
    header: HeaderName,
    trusted_proxies: Arc<[Cidr]>,
}

impl TenantLayer {
    /// Reads the tenant from `header`, sent by any peer: for a server that
    /// only its gateway can reach.
    pub fn new(header: HeaderName) -> Self {
        Self {
            header,
            trusted_proxies: Arc::from(Vec::new()),
        }
    }

    /// The tenant header of `config`, if it has one; with
    /// [`HttpConfig::trusted_proxies`] set, a header from any other peer
    /// is refused with 403.
    pub fn from_config(config: &HttpConfig) -> Option<Self> {
        let header = config.tenant_header.clone()?;
        Some(Self {
            header,
            trusted_proxies: config.trusted_proxies.iter().copied().collect(),
        })
    }
}

impl<S> Layer<S> for TenantLayer {
    type Service = Tenant<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Tenant {
            inner,
            header: self.header.clone(),
            trusted_proxies: Arc::clone(&self.trusted_proxies),
        }
    }
}

/// The service of [`TenantLayer`].
#[derive(Debug, Clone)]
pub struct Tenant<S> {
    inner: S,
    header: HeaderName,
    trusted_proxies: Arc<[Cidr]>,
}

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
        if let Some(value) = request.headers().get(&self.header) {
            let principal = request.extensions().get::<Arc<Principal>>().cloned();
            let from_gateway = from_trusted_proxy(&self.trusted_proxies, &request);
            match tenant_principal(principal, value, from_gateway) {
                Ok(principal) => {
                    request.extensions_mut().insert(Arc::clone(&principal));
                    resolved = Some(principal);
                }
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
