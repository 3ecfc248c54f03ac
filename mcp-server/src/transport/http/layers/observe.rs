//! Seeing what happens: audit records of refusals, a span per request, and
//! metrics of responses.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;

use super::Layered;
use super::peer::peer_of;
use crate::auth::Principal;
use crate::server::Server;
use crate::transport::http::McpRequest;
use crate::transport::http::audit::{Refused, audit_refused};

type Future<B, E> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response<B>, E>> + Send + 'static>>;

/// Writes an audit record (to the server's
/// [audit log](crate::ServerBuilder::audit)) for every request refused
/// by a layer inside it or by the service (401, 403, 408, 413, 429, 503,
/// 504, ...), once: what the router handled, or the service audited
/// already, is not written again. The record names the principal (from an
/// [`AuthLayer`](super::AuthLayer) or [`TenantLayer`](super::TenantLayer)
/// inside or outside it), the client's address, and the method, tool and
/// request id of the typed [`McpRequest`] when an
/// [`McpRequestLayer`](super::McpRequestLayer) read it.
#[derive(Clone)]
pub struct AuditLayer {
    server: Server,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer").finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// Writes to `server`'s audit log (nothing, when it has none).
    pub fn new(server: &Server) -> Self {
        Self {
            server: server.clone(),
        }
    }
}

layered!(AuditLayer);

/// The service of [`AuditLayer`].
pub type Audit<S> = Layered<AuditLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Audit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Future<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let principal = request.extensions().get::<Arc<Principal>>().cloned();
        let typed = request.extensions().get::<McpRequest>().cloned();
        let client_address = peer_of(&request);
        let server = self.layer.server.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            let principal = response
                .extensions()
                .get::<Arc<Principal>>()
                .cloned()
                .or(principal);
            let typed = typed.or_else(|| response.extensions().get::<McpRequest>().cloned());
            let draining = server.shutdown_signal().is_cancelled();
            audit_refused(
                &server,
                draining,
                &mut response,
                Refused {
                    principal: principal.as_deref(),
                    client_address,
                    request: typed.as_ref(),
                },
            );
            Ok(response)
        })
    }
}

/// A `tracing` span per request (`mcp.http`, with the method, the path and
/// the session), a child of the caller's W3C `traceparent` when it sends
/// one; the service's own span is then not opened again.
/// [`McpService`](crate::transport::http::McpService) opens the same span
/// itself when no layer did.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer {
    _private: (),
}

impl TraceLayer {
    /// A span per request.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Marks a request whose span a [`TraceLayer`] opened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Traced;

layered!(TraceLayer);

/// The service of [`TraceLayer`].
pub type Trace<S> = Layered<TraceLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Trace<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Future<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let span = crate::transport::http::request::span_of(&request);
        request.extensions_mut().insert(Traced);
        let response = span.in_scope(|| self.inner.call(request));
        Box::pin(tracing::Instrument::instrument(response, span))
    }
}

/// Counts responses by status in the server's metrics
/// (`mcp_http_responses_total{status="..."}`) and times them
/// (`mcp_http_response_seconds`), up to the start of the response.
#[derive(Clone)]
pub struct MetricsLayer {
    server: Server,
}

impl fmt::Debug for MetricsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsLayer").finish_non_exhaustive()
    }
}

impl MetricsLayer {
    /// Counts in `server`'s metrics, the ones its `/metrics` shows.
    pub fn new(server: &Server) -> Self {
        Self {
            server: server.clone(),
        }
    }
}

layered!(MetricsLayer);

/// The service of [`MetricsLayer`].
pub type Metrics<S> = Layered<MetricsLayer, S>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Metrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Future<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let server = self.layer.server.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            server
                .metrics()
                .http_response(response.status().as_u16(), started.elapsed());
            Ok(response)
        })
    }
}
