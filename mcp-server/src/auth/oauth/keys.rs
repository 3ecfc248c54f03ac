//! The authorization server's signing keys: its JWKS, found through its
//! metadata, cached, and fetched again for an unknown `kid` at most once
//! per cooldown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

use super::{OAuthResourceServer, check_url};
use crate::auth::AuthError;

/// The keys of one fetch of the JWKS.
#[derive(Default)]
pub(super) struct KeyCache {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    /// Keys without a `kid`, tried in turn for tokens without one.
    anonymous: Vec<Arc<DecodingKey>>,
    fetched: Option<Instant>,
}

impl OAuthResourceServer {
    /// The keys that may have signed a token with `kid`; `refresh` fetches
    /// the JWKS first (at most once per cooldown).
    pub(super) async fn keys_for(
        &self,
        kid: Option<&str>,
        refresh: bool,
    ) -> Result<Vec<Arc<DecodingKey>>, AuthError> {
        let cached = self.cached();
        let stale = cached
            .fetched
            .is_none_or(|at| at.elapsed() >= self.cache_ttl);
        let cache = if stale || refresh {
            self.fetch_keys(cached.fetched.is_some()).await?
        } else {
            cached
        };
        Ok(match kid {
            Some(kid) => cache.by_kid.get(kid).cloned().into_iter().collect(),
            None => cache
                .anonymous
                .iter()
                .chain(cache.by_kid.values())
                .cloned()
                .collect(),
        })
    }

    fn cached(&self) -> Arc<KeyCache> {
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Fetches the JWKS unless another request just did. With keys already
    /// cached, a failed fetch keeps them.
    async fn fetch_keys(&self, have_keys: bool) -> Result<Arc<KeyCache>, AuthError> {
        let _guard = self.refresh.lock().await;
        {
            let last = self
                .last_refresh
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < self.refresh_cooldown) {
                let cached = self.cached();
                if cached.fetched.is_none() {
                    return Err(AuthError::Unavailable(
                        "the authorization server's keys could not be fetched; retry shortly"
                            .into(),
                    ));
                }
                return Ok(cached);
            }
        }
        let fetched = self.download_keys().await;
        *self
            .last_refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        match fetched {
            Ok(cache) => {
                let cache = Arc::new(cache);
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&cache);
                tracing::info!(
                    issuer = %self.issuer,
                    keys = cache.by_kid.len() + cache.anonymous.len(),
                    "fetched the authorization server's signing keys"
                );
                Ok(cache)
            }
            Err(e) if have_keys => {
                tracing::warn!(issuer = %self.issuer, error = %e, "cannot refresh the signing keys; keeping the cached ones");
                Ok(self.cached())
            }
            Err(e) => {
                tracing::error!(issuer = %self.issuer, error = %e, "cannot fetch the signing keys");
                Err(AuthError::Unavailable(format!(
                    "the authorization server's keys cannot be fetched: {e}"
                )))
            }
        }
    }

    async fn download_keys(&self) -> Result<KeyCache, String> {
        let uri = match &self.jwks_uri {
            Some(uri) => uri.clone(),
            None => self.discover_jwks_uri().await?,
        };
        let set: JwkSet = self.get_json(&uri).await?;
        let mut cache = KeyCache {
            fetched: Some(Instant::now()),
            ..KeyCache::default()
        };
        for jwk in &set.keys {
            // Encryption keys and symmetric keys never verify access tokens.
            if matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            ) || matches!(
                jwk.algorithm,
                jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)
            ) {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                tracing::debug!(kid = ?jwk.common.key_id, "skipped a JWK that cannot verify signatures");
                continue;
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    cache.by_kid.insert(kid.clone(), Arc::new(key));
                }
                None => cache.anonymous.push(Arc::new(key)),
            }
        }
        Ok(cache)
    }

    /// The JWKS URI from the issuer's RFC 8414 metadata, else its OpenID
    /// configuration.
    async fn discover_jwks_uri(&self) -> Result<String, String> {
        #[derive(Deserialize)]
        struct AuthServerMetadata {
            issuer: String,
            jwks_uri: Option<String>,
        }
        // Both well-known forms drop a terminating `/` of the issuer's path
        // (RFC 8414 §3.1, OpenID Connect Discovery §4).
        let base = self.issuer.trim_end_matches('/');
        let (origin, path) = match base.find("://").map(|i| i + 3) {
            Some(start) => match base[start..].find('/') {
                Some(i) => base.split_at(start + i),
                None => (base, ""),
            },
            None => (base, ""),
        };
        let candidates = [
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{base}/.well-known/openid-configuration"),
        ];
        let mut errors = Vec::new();
        for url in candidates {
            match self.get_json::<AuthServerMetadata>(&url).await {
                Ok(meta) if meta.issuer != self.issuer => {
                    errors.push(format!(
                        "{url} names the issuer `{}`, not `{}`; configure the issuer exactly as its metadata spells it",
                        meta.issuer, self.issuer
                    ));
                }
                Ok(AuthServerMetadata {
                    jwks_uri: Some(uri),
                    ..
                }) => {
                    check_url("the JWKS URI", &uri).map_err(|e| e.to_string())?;
                    return Ok(uri);
                }
                Ok(_) => errors.push(format!("{url} has no jwks_uri")),
                Err(e) => errors.push(e),
            }
        }
        Err(errors.join("; "))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {url}: {status}"));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("GET {url}: {e}"))
    }
}
