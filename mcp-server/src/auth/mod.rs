//! Authentication for the HTTP transport: who is calling, and what they may
//! do. Pluggable behind [`Authenticator`]; [`ApiKeys`] is the built-in one.
//!
//! A principal is attached to every request it authenticates; handlers see
//! it through [`RequestContext::principal`](crate::RequestContext::principal),
//! tools that declare scopes are hidden from and refused to principals that
//! lack them, and a stateful session stays bound to the principal that
//! opened it (a session id is never a credential).

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::HeaderMap;
use serde::{Deserialize, Serialize};

#[cfg(feature = "oauth")]
pub mod oauth;

/// Who is calling: an identity, its scopes, and optionally a tenant.
///
/// Serialisable, so that replicas can hand a request and the identity it
/// acts with to one another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    /// A stable identifier, such as a key's name or a token's subject.
    pub id: String,
    /// What it may do, such as `crm:read` and `crm:write`.
    pub scopes: BTreeSet<String>,
    /// The tenant whose data it acts on, if the deployment has tenants.
    pub tenant: Option<String>,
    /// Who vouches for the identity: the OAuth issuer, or
    /// [`ApiKeys::ISSUER`] for an API key. The same id from two issuers is
    /// two identities.
    pub issuer: Option<String>,
}

impl Principal {
    /// A principal with an id and scopes.
    pub fn new<I, S>(id: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            id: id.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            tenant: None,
            issuer: None,
        }
    }

    /// The same principal as vouched for by `issuer`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Whether `other` is the same identity: id, tenant and issuer. Scopes
    /// are not part of it: they belong to each credential, and are checked
    /// on every request.
    pub fn same_identity(&self, other: &Principal) -> bool {
        self.id == other.id && self.tenant == other.tenant && self.issuer == other.issuer
    }

    /// The same principal acting for `tenant`.
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Whether it holds every scope in `required`.
    pub fn has_scopes<S: AsRef<str>>(&self, required: &[S]) -> bool {
        required.iter().all(|s| self.scopes.contains(s.as_ref()))
    }
}

/// Whether `caller` may use what `owner` opened (a session, a stream): both
/// anonymous, or the same identity.
pub(crate) fn same_owner(owner: Option<&Principal>, caller: Option<&Principal>) -> bool {
    match (owner, caller) {
        (None, None) => true,
        (Some(owner), Some(caller)) => owner.same_identity(caller),
        _ => false,
    }
}

/// The address that stands for one anonymous client: an IPv4 address
/// (IPv4-mapped IPv6 included) as it is, an IPv6 address by its /64, since
/// one host usually holds a whole /64.
pub(crate) fn client_network(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip.to_canonical() {
        std::net::IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            std::net::IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials were presented.
    #[error("authentication required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")]
    Missing,
    /// The credentials are not valid.
    #[error("invalid credentials: {0}")]
    Invalid(String),
    /// The credentials cannot be checked now (the authorization server's
    /// keys cannot be fetched): 503, worth retrying.
    #[error("credentials cannot be checked now: {0}")]
    Unavailable(String),
}

/// A boxed future borrowing the request's headers.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, AuthError>> + Send + 'a>>;

/// Decides who sent a request, from its headers.
pub trait Authenticator: Send + Sync + 'static {
    /// The principal behind these headers.
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthFuture<'a>;

    /// The protected resource metadata (RFC 9728) to publish, for
    /// authenticators that accept OAuth access tokens. The HTTP transport
    /// serves it and points 401 challenges at it.
    fn resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
        None
    }
}

/// Accepts what any of several authenticators accepts, tried in order:
/// say OAuth tokens for people and API keys for automation.
///
/// ```
/// use mcp_server::auth::{ApiKeys, AnyOf};
///
/// let auth = AnyOf::new()
///     .or(ApiKeys::new().key("ci", "a-long-random-key", ["crm:read"]))
///     .or(ApiKeys::new().key("ops", "another-long-key", ["crm:write"]));
/// ```
#[derive(Default)]
pub struct AnyOf {
    authenticators: Vec<Box<dyn Authenticator>>,
}

impl fmt::Debug for AnyOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyOf")
            .field("authenticators", &self.authenticators.len())
            .finish()
    }
}

impl AnyOf {
    /// None yet: rejects everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also accepts what `authenticator` accepts.
    #[must_use]
    pub fn or(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticators.push(Box::new(authenticator));
        self
    }
}

impl Authenticator for AnyOf {
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthFuture<'a> {
        Box::pin(async move {
            let mut failure = AuthError::Missing;
            for authenticator in &self.authenticators {
                match authenticator.authenticate(headers).await {
                    Ok(principal) => return Ok(principal),
                    // The most telling failure wins: unavailable, then
                    // invalid, then missing.
                    Err(e @ AuthError::Unavailable(_)) => failure = e,
                    Err(e @ AuthError::Invalid(_))
                        if !matches!(failure, AuthError::Unavailable(_)) =>
                    {
                        failure = e;
                    }
                    Err(_) => {}
                }
            }
            Err(failure)
        })
    }

    fn resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
        self.authenticators
            .iter()
            .find_map(|a| a.resource_metadata())
    }
}

/// Protected resource metadata (RFC 9728), served at
/// `/.well-known/oauth-protected-resource` and its path-suffixed form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// This server's canonical URI: the audience its tokens must name.
    pub resource: String,
    /// The issuers whose tokens it accepts.
    pub authorization_servers: Vec<String>,
    /// The scopes its tools use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How tokens may be sent: only the `Authorization` header.
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Where people can read about the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

impl ProtectedResourceMetadata {
    /// Where the document is published, by RFC 9728 §3.1: the well-known
    /// prefix inserted between the resource's host and its path.
    pub fn metadata_url(&self) -> String {
        metadata_url(&self.resource)
    }
}

fn metadata_url(resource: &str) -> String {
    let (scheme, rest) = resource.split_once("://").unwrap_or(("https", resource));
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let path = path.trim_end_matches('/');
    format!("{scheme}://{authority}/.well-known/oauth-protected-resource{path}")
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The credential a request presents: `Authorization: Bearer <token>`, or
/// `X-API-Key: <key>`.
pub fn presented_credential(headers: &HeaderMap) -> Option<&str> {
    if headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.to_str().is_ok())
    {
        return bearer_token(headers);
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

mod api_keys;
pub use api_keys::{ApiKeys, ApiKeysError};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_anonymous_client_is_one_address_or_one_ipv6_64() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        // Two IPv4 clients seen on a dual-stack listener stay two clients.
        assert_eq!(client_network(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_ne!(
            client_network(ip("::ffff:192.0.2.7")),
            client_network(ip("::ffff:192.0.2.8"))
        );
        assert_eq!(
            client_network(ip("2001:db8:1:2:aaaa::1")),
            client_network(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            client_network(ip("2001:db8:1:2::1")),
            client_network(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn owners_are_whole_identities() {
        let acme = Principal::new("ops", ["a"]).with_tenant("acme");
        let rescoped = Principal::new("ops", ["b"]).with_tenant("acme");
        let globex = Principal::new("ops", ["a"]).with_tenant("globex");
        let keyed = acme.clone().with_issuer(ApiKeys::ISSUER);
        assert!(same_owner(None, None));
        assert!(same_owner(Some(&acme), Some(&rescoped)));
        assert!(!same_owner(Some(&acme), Some(&globex)));
        assert!(!same_owner(Some(&acme), Some(&keyed)));
        assert!(!same_owner(Some(&acme), None) && !same_owner(None, Some(&acme)));
    }

    #[test]
    fn metadata_url_inserts_the_well_known_prefix() {
        assert_eq!(
            metadata_url("https://mcp.example.com/mcp"),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("https://mcp.example.com"),
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:3001/api/mcp/"),
            "http://127.0.0.1:3001/.well-known/oauth-protected-resource/api/mcp"
        );
    }
}
