//! The MCP endpoint's checks for routes an application serves next to it,
//! so one configuration governs both.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Request, Response};
use mcp_core::jsonrpc::RequestId;

use super::{
    McpBody, McpService, Shared, authenticate, client_of, principal_of, tenant_principal,
    too_many_requests,
};
use crate::auth::Principal;

impl McpService {
    /// Checks a request to a route the application serves next to MCP on
    /// the same listener (say a REST API) as a request to the MCP endpoint
    /// is checked, and says who sent it.
    ///
    /// - With an [authenticator](super::HttpConfig::authenticator), a
    ///   request that does not authenticate gets 401 with the same
    ///   `WWW-Authenticate` challenge (503 when credentials cannot be
    ///   checked now).
    /// - With a trusted [tenant header](super::HttpConfig::tenant_header),
    ///   the header names the tenant: a credential of another tenant gets
    ///   403, and an anonymous request acts as the principal `tenant:<id>`.
    ///   Without that setting the header is ignored.
    /// - With a rate limit ([`ServerBuilder::rate_limit`](crate::ServerBuilder::rate_limit)),
    ///   the request counts against its caller's limit, the one its tool
    ///   calls count against; over it, 429 with `Retry-After`.
    ///
    /// `Ok(None)` is an anonymous request to a service without an
    /// authenticator. `Err` is the response to send instead, with a
    /// JSON-RPC error body. Scopes are the route's to check.
    ///
    /// ```
    /// use mcp_server::prelude::*;
    /// use mcp_server::auth::ApiKeys;
    /// use mcp_server::transport::http::{HttpConfig, McpService};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let keys = ApiKeys::new().key("ci", "a-long-random-key", ["crm:read"]);
    /// let mcp = McpService::new(Server::builder().build(), HttpConfig::default().authenticator(keys));
    /// let anonymous = http::Request::get("/api/contacts").body(()).unwrap();
    /// assert_eq!(mcp.authorize(&anonymous).await.unwrap_err().status(), 401);
    /// let ci = http::Request::get("/api/contacts")
    ///     .header("x-api-key", "a-long-random-key")
    ///     .body(())
    ///     .unwrap();
    /// let principal = mcp.authorize(&ci).await.unwrap().unwrap();
    /// assert!(principal.has_scopes(&["crm:read"]));
    /// # }
    /// ```
    pub fn authorize<'a, B>(
        &'a self,
        request: &'a Request<B>,
    ) -> impl Future<Output = Result<Option<Principal>, Response<McpBody>>> + Send + 'a {
        // Read now, so the future holds no reference to the body, which
        // need not be `Sync`.
        let headers = request.headers();
        let peer = client_of(&self.shared.config.trusted_proxies, request);
        let attached = principal_of(request);
        let from_gateway =
            super::layers::peer::from_trusted_proxy(&self.shared.config.trusted_proxies, request);
        async move {
            let shared = &self.shared;
            let config = &shared.config;
            let mut principal = match &config.authenticator {
                Some(authenticator) => {
                    Some(authenticate(&**authenticator, headers, Some(&shared.server)).await?)
                }
                // An embedding app may have authenticated the request itself.
                None => attached,
            };
            if let Some(name) = &config.tenant_header
                && let Some(value) = headers.get(name)
            {
                principal = Some(tenant_principal(principal, value, from_gateway).map_err(|r| *r)?);
            }
            check_session_rate(shared, principal.as_deref(), peer, None)
                .await
                .map_err(|r| *r)?;
            Ok(principal.map(Arc::unwrap_or_clone))
        }
    }
}

/// Takes a session-opening request (`initialize`, or a legacy SSE stream)
/// from the caller's rate limit, the one its tool calls count against;
/// `Err` is the 429 refusing it.
pub(super) async fn check_session_rate(
    shared: &Shared,
    principal: Option<&crate::auth::Principal>,
    peer: Option<std::net::IpAddr>,
    id: Option<RequestId>,
) -> Result<(), Box<Response<McpBody>>> {
    match crate::router::check_caller_rate(&shared.server, principal, peer, None).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let retry_after = match e {
                mcp_core::ProtocolError::RateLimited { retry_after_secs } => retry_after_secs,
                _ => 1,
            };
            let error = e.to_error_object(mcp_core::ProtocolVersion::LATEST);
            Err(Box::new(too_many_requests(id, error, retry_after)))
        }
    }
}

/// Counts a running request until dropped.
pub(super) struct Active(Arc<AtomicUsize>);

impl Active {
    pub(super) fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(counter))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
