//! An OAuth 2.1 resource server: JWT access tokens checked against the
//! authorization server's published keys (JWKS), bound to this server as
//! their audience, and the protected resource metadata (RFC 9728) that
//! tells clients where to get them.
//!
//! Tokens are checked, never forwarded: a handler that calls another API
//! must get its own credentials for it (the MCP spec forbids token
//! passthrough, which would make this server a confused deputy).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use http::HeaderMap;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::{AuthError, AuthFuture, Authenticator, Principal, ProtectedResourceMetadata};

mod keys;

use keys::KeyCache;

/// The asymmetric algorithms accepted. Symmetric (`HS*`) tokens are never
/// accepted: the key would have to be shared with every resource server,
/// and a public key must never be usable as an HMAC secret.
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A configuration [`OAuthResourceServer::new`] cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthConfigError {
    /// A URL is not absolute, or not HTTPS where it must be.
    #[error("{what} must be an https:// URL (http:// only on loopback), got `{url}`")]
    InsecureUrl {
        /// Which setting.
        what: &'static str,
        /// Its value.
        url: String,
    },
    /// The HTTPS client could not be built.
    #[error("cannot build the HTTPS client: {0}")]
    Client(String),
}

/// Validates JWT access tokens for this server: signed by the issuer's keys
/// (fetched from its JWKS, cached, refreshed when a token names a key id
/// the cache lacks), issued by the issuer, for this resource as audience,
/// within `exp`/`nbf` with a small leeway. Scopes come from `scope` (space
/// separated) or `scp`; the principal's id from `sub` (else `client_id`);
/// the tenant from a claim you name.
///
/// ```no_run
/// use mcp_server::auth::oauth::OAuthResourceServer;
/// use mcp_server::transport::http::HttpConfig;
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let oauth = OAuthResourceServer::new("https://auth.example.com", "https://mcp.example.com/mcp")?
///     .scopes_supported(["crm:read", "crm:write"])
///     .tenant_claim("org_id");
/// let config = HttpConfig::default().authenticator(oauth);
/// # Ok(()) }
/// ```
pub struct OAuthResourceServer {
    metadata: ProtectedResourceMetadata,
    issuer: String,
    jwks_uri: Option<String>,
    tenant_claim: Option<String>,
    leeway: Duration,
    cache_ttl: Duration,
    refresh_cooldown: Duration,
    http: reqwest::Client,
    keys: RwLock<Arc<KeyCache>>,
    /// Held while fetching, so concurrent misses fetch once.
    refresh: tokio::sync::Mutex<()>,
    last_refresh: Mutex<Option<Instant>>,
}

impl fmt::Debug for OAuthResourceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthResourceServer")
            .field("issuer", &self.issuer)
            .field("resource", &self.metadata.resource)
            .field("jwks_uri", &self.jwks_uri)
            .field("tenant_claim", &self.tenant_claim)
            .finish_non_exhaustive()
    }
}

fn check_url(what: &'static str, url: &str) -> Result<(), OAuthConfigError> {
    let insecure = || OAuthConfigError::InsecureUrl {
        what,
        url: url.to_owned(),
    };
    if url.starts_with("https://") {
        return Ok(());
    }
    let rest = url.strip_prefix("http://").ok_or_else(insecure)?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    if matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        Ok(())
    } else {
        Err(insecure())
    }
}

impl OAuthResourceServer {
    /// Tokens from `issuer` for `resource`, this server's canonical URI
    /// (such as `https://mcp.example.com/mcp`), which they must name as
    /// audience. Both must be HTTPS (HTTP only on loopback, for tests).
    ///
    /// The issuer is compared exactly as given (RFC 8414, RFC 9068): give
    /// it as the authorization server's metadata spells its `issuer`, with
    /// the trailing slash if it has one (Auth0: `https://tenant.auth0.com/`).
    ///
    /// # Errors
    /// A URL is not HTTPS, or the HTTPS client cannot be built.
    pub fn new(issuer: &str, resource: &str) -> Result<Self, OAuthConfigError> {
        let issuer = issuer.trim().to_owned();
        let resource = resource.trim().to_owned();
        check_url("the issuer", &issuer)?;
        check_url("the resource", &resource)?;
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mcp-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OAuthConfigError::Client(e.to_string()))?;
        Ok(Self {
            metadata: ProtectedResourceMetadata {
                resource,
                authorization_servers: vec![issuer.clone()],
                scopes_supported: Vec::new(),
                bearer_methods_supported: vec!["header".into()],
                resource_name: None,
                resource_documentation: None,
            },
            issuer,
            jwks_uri: None,
            tenant_claim: None,
            leeway: Duration::from_secs(30),
            cache_ttl: Duration::from_secs(3600),
            refresh_cooldown: Duration::from_secs(5),
            http,
            keys: RwLock::default(),
            refresh: tokio::sync::Mutex::new(()),
            last_refresh: Mutex::new(None),
        })
    }

    /// The JWKS URL, when the issuer publishes no authorization server
    /// metadata (RFC 8414 or OpenID discovery) to find it from.
    ///
    /// # Errors
    /// The URL is not HTTPS.
    pub fn jwks_uri(mut self, uri: &str) -> Result<Self, OAuthConfigError> {
        check_url("the JWKS URI", uri)?;
        self.jwks_uri = Some(uri.to_owned());
        Ok(self)
    }

    /// The scopes advertised in the metadata, and asked for in 401
    /// challenges.
    #[must_use]
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metadata.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The claim naming the principal's tenant (such as `org_id`).
    #[must_use]
    pub fn tenant_claim(mut self, claim: impl Into<String>) -> Self {
        self.tenant_claim = Some(claim.into());
        self
    }

    /// Clock skew tolerated on `exp` and `nbf`. Default 30 seconds.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How long fetched keys are used before they are fetched again
    /// (default one hour); unknown key ids refresh them at once.
    #[must_use]
    pub fn key_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The least time between two key fetches (default 5 seconds): tokens
    /// naming unknown key ids refresh the keys at most this often, so
    /// forged tokens cannot make this server hammer the issuer.
    #[must_use]
    pub fn refresh_cooldown(mut self, cooldown: Duration) -> Self {
        self.refresh_cooldown = cooldown;
        self
    }

    /// The server's name in the metadata.
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.metadata.resource_name = Some(name.into());
        self
    }

    /// A page about the server, in the metadata.
    #[must_use]
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.metadata.resource_documentation = Some(url.into());
        self
    }

    /// The protected resource metadata this server publishes.
    pub fn metadata(&self) -> &ProtectedResourceMetadata {
        &self.metadata
    }

    async fn validate(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Invalid(format!("malformed token: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(AuthError::Invalid(format!(
                "tokens signed with {:?} are not accepted",
                header.alg
            )));
        }
        let mut keys = self.keys_for(header.kid.as_deref(), false).await?;
        if keys.is_empty() {
            keys = self.keys_for(header.kid.as_deref(), true).await?;
        }
        if keys.is_empty() {
            return Err(AuthError::Invalid(
                "the token's signing key is not among the issuer's keys".into(),
            ));
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.metadata.resource]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let mut last = None;
        for key in keys {
            match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
                Ok(data) => return self.principal(data.claims),
                Err(e) => last = Some(e),
            }
        }
        Err(AuthError::Invalid(match last {
            Some(e) => describe(&e),
            None => "the token could not be verified".into(),
        }))
    }

    fn principal(&self, claims: Claims) -> Result<Principal, AuthError> {
        let id = claims
            .sub
            .or(claims.client_id)
            .ok_or_else(|| AuthError::Invalid("the token names no subject".into()))?;
        let mut scopes: Vec<String> = claims
            .scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        match claims.scp {
            Some(Scp::List(list)) => scopes.extend(list),
            Some(Scp::Text(text)) => scopes.extend(text.split_whitespace().map(str::to_owned)),
            None => {}
        }
        let mut principal = Principal::new(id, scopes).with_issuer(self.issuer.clone());
        if let Some(claim) = &self.tenant_claim {
            principal.tenant = match claims.rest.get(claim) {
                Some(serde_json::Value::String(tenant)) if !tenant.is_empty() => {
                    Some(tenant.clone())
                }
                Some(serde_json::Value::Number(tenant)) => Some(tenant.to_string()),
                _ => None,
            };
        }
        Ok(principal)
    }
}

impl Authenticator for OAuthResourceServer {
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthFuture<'a> {
        Box::pin(async move {
            // RFC 6750 §2.1: the token travels in the Authorization header.
            let token = super::bearer_token(headers).ok_or(AuthError::Missing)?;
            self.validate(token).await
        })
    }

    fn resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
        Some(&self.metadata)
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
    scp: Option<Scp>,
    #[serde(flatten)]
    rest: HashMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scp {
    List(Vec<String>),
    Text(String),
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet".into(),
        ErrorKind::InvalidAudience => "the token was issued for another resource".into(),
        ErrorKind::InvalidIssuer => "the token was issued by another issuer".into(),
        ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token lacks the `{claim}` claim"),
        _ => format!("the token is not valid: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(check_url("x", "https://auth.example.com").is_ok());
        assert!(check_url("x", "http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("x", "http://localhost/jwks").is_ok());
        assert!(check_url("x", "http://auth.example.com").is_err());
        assert!(check_url("x", "http://localhost.evil.com/").is_err());
        assert!(check_url("x", "ftp://x").is_err());
    }
}
