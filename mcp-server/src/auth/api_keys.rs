//! [`ApiKeys`], the built-in authenticator: keys from code, a list or a
//! file, stored as digests.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use http::HeaderMap;

use super::{AuthError, AuthFuture, Authenticator, Principal, presented_credential};

/// API keys, stored as SHA-256 digests and compared in constant time.
///
/// ```
/// use mcp_server::auth::ApiKeys;
///
/// let keys = ApiKeys::new()
///     .key("ci-bot", "s3cr3t-key-for-ci", ["crm:read"])
///     .key("admin", "another-long-secret", ["crm:read", "crm:write"]);
/// assert_eq!(keys.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Vec<([u8; 32], Arc<Principal>)>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the digests, let alone the keys.
        f.debug_struct("ApiKeys")
            .field(
                "principals",
                &self
                    .keys
                    .iter()
                    .map(|(_, p)| p.id.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A key list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid API key entry {entry}: {reason}")]
pub struct ApiKeysError {
    /// Which entry (1-based).
    pub entry: usize,
    /// What is wrong.
    pub reason: String,
}

fn digest(key: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()).as_ref());
    out
}

/// Equal without revealing, through timing, where they differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A principal of an API key: vouched for by [`ApiKeys::ISSUER`].
fn key_principal<I, S>(name: impl Into<String>, scopes: I) -> Principal
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Principal::new(name, scopes).with_issuer(ApiKeys::ISSUER)
}

impl ApiKeys {
    /// The [`Principal::issuer`] of every API key's principal.
    pub const ISSUER: &'static str = "api-key";

    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key for principal `name` with `scopes`.
    #[must_use]
    pub fn key<I, S>(mut self, name: impl Into<String>, key: &str, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys
            .push((digest(key), Arc::new(key_principal(name, scopes))));
        self
    }

    /// Adds a key known only by its SHA-256 digest (hex), so the key itself
    /// never has to be stored in the configuration.
    ///
    /// # Errors
    /// `hex` is not 64 hexadecimal digits.
    pub fn hashed_key<I, S>(
        mut self,
        name: impl Into<String>,
        hex: &str,
        scopes: I,
    ) -> Result<Self, ApiKeysError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let digest = parse_hex(hex).ok_or_else(|| ApiKeysError {
            entry: self.keys.len() + 1,
            reason: "a sha256: digest must be 64 hexadecimal digits".into(),
        })?;
        self.keys
            .push((digest, Arc::new(key_principal(name, scopes))));
        Ok(self)
    }

    /// Adds a key for a principal that acts for `tenant`.
    #[must_use]
    pub fn tenant_key<I, S>(
        mut self,
        name: impl Into<String>,
        tenant: impl Into<String>,
        key: &str,
        scopes: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let principal = key_principal(name, scopes).with_tenant(tenant);
        self.keys.push((digest(key), Arc::new(principal)));
        self
    }

    /// Reads keys from a list: entries separated by `,` or new lines, each
    /// `name:key` or `name:key:scope+scope`, where `key` may be
    /// `sha256:<hex digest>` and `name` may be `name@tenant` for a key that
    /// acts for one tenant. Blank lines and `#` comments are skipped.
    ///
    /// ```
    /// use mcp_server::auth::ApiKeys;
    ///
    /// let keys = ApiKeys::parse(
    ///     "ci:long-random-key:crm:read+crm:write, viewer@acme:another-key:crm:read",
    /// )
    /// .unwrap();
    /// assert_eq!(keys.len(), 2);
    /// ```
    ///
    /// # Errors
    /// An entry without a name or key, or a bad digest.
    pub fn parse(list: &str) -> Result<Self, ApiKeysError> {
        let mut keys = Self::new();
        let entries = list
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'));
        for (i, entry) in entries.enumerate() {
            let fail = |reason: &str| ApiKeysError {
                entry: i + 1,
                reason: reason.to_owned(),
            };
            let (name, rest) = entry
                .split_once(':')
                .ok_or_else(|| fail("expected name:key[:scopes]"))?;
            let (key, scopes) = if let Some(hashed) = rest.strip_prefix("sha256:") {
                match hashed.split_once(':') {
                    Some((hex, scopes)) => (format!("sha256:{hex}"), scopes),
                    None => (rest.to_owned(), ""),
                }
            } else {
                match rest.split_once(':') {
                    Some((key, scopes)) => (key.to_owned(), scopes),
                    None => (rest.to_owned(), ""),
                }
            };
            if name.trim().is_empty() || key.trim().is_empty() {
                return Err(fail("the name and the key must not be empty"));
            }
            let scopes: Vec<&str> = scopes.split('+').filter(|s| !s.is_empty()).collect();
            let (name, tenant) = match name.trim().split_once('@') {
                Some((name, tenant)) if !name.is_empty() && !tenant.is_empty() => {
                    (name, Some(tenant))
                }
                Some(_) => return Err(fail("expected name@tenant")),
                None => (name.trim(), None),
            };
            keys = match key.strip_prefix("sha256:") {
                Some(hex) => keys.hashed_key(name, hex.trim(), scopes)?,
                None => keys.key(name, key.trim(), scopes),
            };
            if let (Some(tenant), Some((_, principal))) = (tenant, keys.keys.last_mut()) {
                *principal = Arc::new((**principal).clone().with_tenant(tenant));
            }
        }
        Ok(keys)
    }

    /// Keys from `MCP_API_KEYS`, or from the file `MCP_API_KEYS_FILE` names;
    /// `None` when neither is set.
    ///
    /// # Errors
    /// The file cannot be read, or an entry is malformed.
    pub fn from_env() -> Result<Option<Self>, ApiKeysError> {
        if let Ok(list) = std::env::var("MCP_API_KEYS") {
            return Self::parse(&list).map(Some);
        }
        match std::env::var("MCP_API_KEYS_FILE") {
            Ok(path) => Self::from_file(path).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Keys from a file in the [`ApiKeys::parse`] format.
    ///
    /// # Errors
    /// The file cannot be read, or an entry is malformed.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ApiKeysError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ApiKeysError {
            entry: 0,
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn check(&self, key: &str) -> Option<Arc<Principal>> {
        let presented = digest(key);
        // Every entry is compared, so timing does not reveal which matched.
        let mut found = None;
        for (stored, principal) in &self.keys {
            if constant_time_eq(stored, &presented) {
                found = Some(Arc::clone(principal));
            }
        }
        found
    }
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Authenticator for ApiKeys {
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthFuture<'a> {
        Box::pin(async move {
            let key = presented_credential(headers).ok_or(AuthError::Missing)?;
            self.check(key)
                .map(|p| (*p).clone())
                .ok_or_else(|| AuthError::Invalid("unknown API key".into()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_authenticate_by_digest() {
        let hex = crate::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"hashed-secret"));
        let keys = ApiKeys::parse(&format!(
            "# team keys\nci:plain-secret:crm:read+crm:write\nops@acme:sha256:{hex}:ops\nviewer:view-only"
        ))
        .unwrap();
        assert_eq!(keys.len(), 3);
        let mut headers = HeaderMap::new();
        assert_eq!(keys.authenticate(&headers).await, Err(AuthError::Missing));
        headers.insert("authorization", "Bearer plain-secret".parse().unwrap());
        let ci = keys.authenticate(&headers).await.unwrap();
        assert_eq!(ci.id, "ci");
        assert!(ci.has_scopes(&["crm:read", "crm:write"]));
        headers.clear();
        headers.insert("x-api-key", "hashed-secret".parse().unwrap());
        let ops = keys.authenticate(&headers).await.unwrap();
        assert_eq!(
            (ops.id.as_str(), ops.tenant.as_deref()),
            ("ops", Some("acme"))
        );
        assert_eq!(ci.tenant, None);
        headers.insert("x-api-key", "wrong".parse().unwrap());
        assert!(matches!(
            keys.authenticate(&headers).await,
            Err(AuthError::Invalid(_))
        ));
        assert!(ApiKeys::parse("nokey").is_err());
        assert!(ApiKeys::parse("x:sha256:abc").is_err());
        assert!(ApiKeys::parse("x@:key").is_err());
        assert!(!format!("{keys:?}").contains("secret"));
    }
}
