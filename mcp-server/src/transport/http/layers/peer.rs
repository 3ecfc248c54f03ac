//! Who is calling: the client's address, behind trusted proxies too.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use tower_service::Service;

use super::Layered;
use crate::transport::http::{Cidr, forwarded};

/// The address of the client that sent a request, when the listener knows
/// it. [`HttpServer`](crate::transport::http::HttpServer) attaches it; an embedding app may insert it too, so
/// rate limits of anonymous callers work per client and loopback clients
/// can read `/diagnostics`. With the `axum` feature, axum's `ConnectInfo`
/// serves as well (serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::SocketAddr);

/// The client's address: the connection's peer, or, when that is a
/// trusted proxy, the client its forwarding headers name.
pub(crate) fn client_of<B>(
    trusted_proxies: &[Cidr],
    request: &Request<B>,
) -> Option<std::net::IpAddr> {
    let peer = peer_of(request)?;
    if trusted_proxies.is_empty() {
        return Some(peer);
    }
    Some(forwarded::client_address(
        peer,
        request.headers(),
        trusted_proxies,
    ))
}

/// Behind trusted proxies, the client is who they say: attaches the
/// [`ClientAddr`] their forwarding headers name (`Forwarded`,
/// `X-Forwarded-For`), so every later look at the address (rate limits,
/// session caps, audit, diagnostics) sees the client rather than the
/// proxy. The connection's own address comes from a [`ClientAddr`] the
/// listener attached or, with the `axum` feature, axum's `ConnectInfo`.
#[derive(Debug, Clone)]
pub struct ClientAddrLayer {
    trusted_proxies: Arc<[Cidr]>,
}

impl ClientAddrLayer {
    /// Trusts the forwarding headers of connections from these networks
    /// (as [`HttpConfig::trusted_proxies`](crate::transport::http::HttpConfig::trusted_proxies)).
    pub fn new(trusted_proxies: impl IntoIterator<Item = Cidr>) -> Self {
        Self {
            trusted_proxies: trusted_proxies.into_iter().collect(),
        }
    }

    /// The trusted proxies of `config`
    /// ([`HttpConfig::trusted_proxies`](crate::transport::http::HttpConfig::trusted_proxies)).
    pub fn from_config(config: &crate::transport::http::HttpConfig) -> Self {
        Self::new(config.trusted_proxies.iter().copied())
    }
}

layered!(ClientAddrLayer);

/// The service of [`ClientAddrLayer`].
pub type ClientAddrService<S> = Layered<ClientAddrLayer, S>;

impl<S, ReqBody> Service<Request<ReqBody>> for ClientAddrService<S>
where
    S: Service<Request<ReqBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        resolve_client(&self.layer.trusted_proxies, &mut request);
        self.inner.call(request)
    }
}

/// Replaces the peer address by the client's, when a trusted proxy
/// forwarded the request.
pub(crate) fn resolve_client<B>(trusted_proxies: &[Cidr], request: &mut Request<B>) {
    let Some(peer) = peer_of(request) else {
        return;
    };
    if forwarded::is_trusted(trusted_proxies, peer) {
        request.extensions_mut().insert(ViaTrustedProxy);
    }
    if let Some(client) = client_of(trusted_proxies, request)
        && client != peer
    {
        let addr = std::net::SocketAddr::new(client, 0);
        request.extensions_mut().insert(ClientAddr(addr));
    }
}

/// The connection's peer was one of the trusted proxies (recorded before
/// [`ClientAddr`] is replaced by the client they name).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaTrustedProxy;

/// Whether headers only a gateway may set (the tenant header) can be
/// believed: from any peer when no trusted proxies are configured (the
/// server is then only reachable through its gateway, as documented),
/// otherwise only from one of them.
pub(crate) fn from_trusted_proxy<B>(trusted_proxies: &[Cidr], request: &Request<B>) -> bool {
    trusted_proxies.is_empty()
        || request.extensions().get::<ViaTrustedProxy>().is_some()
        || peer_of(request).is_some_and(|peer| forwarded::is_trusted(trusted_proxies, peer))
}

pub(crate) fn peer_of<B>(request: &Request<B>) -> Option<std::net::IpAddr> {
    let extensions = request.extensions();
    let addr = extensions.get::<ClientAddr>().map(|a| a.0);
    #[cfg(feature = "axum")]
    let addr = addr.or_else(|| {
        extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0)
    });
    addr.map(|a| a.ip())
}
