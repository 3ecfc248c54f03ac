//! The JSearch API on RapidAPI, with a small response cache.

use super::*;

/// How the JSearch client behaves.
#[derive(Debug, Clone)]
pub struct JSearchConfig {
    /// The RapidAPI key.
    pub api_key: String,
    /// The RapidAPI host header (default `jsearch.p.rapidapi.com`).
    pub host: String,
    /// Where requests go (default `https://{host}`); tests point it at a mock.
    pub base_url: String,
    /// Per-request time limit.
    pub timeout: Duration,
    /// Attempts for 429 and 5xx answers.
    pub attempts: u32,
    /// The first backoff; it doubles after each attempt.
    pub backoff: Duration,
    /// How long answers are cached.
    pub cache_ttl: Duration,
}

impl JSearchConfig {
    /// The defaults for `api_key` on `host`.
    pub fn new(api_key: impl Into<String>, host: impl Into<String>) -> Self {
        let host = host.into();
        Self {
            api_key: api_key.into(),
            base_url: format!("https://{host}"),
            host,
            timeout: Duration::from_secs(15),
            attempts: 3,
            backoff: Duration::from_millis(500),
            cache_ttl: Duration::from_secs(10 * 60),
        }
    }
}

type Cache = Mutex<HashMap<String, (Instant, serde_json::Value)>>;

/// The JSearch API client: timeouts, retries with backoff on 429 and 5xx,
/// clear errors, and a response cache.
#[derive(Debug, Clone)]
pub struct JSearchProvider {
    config: Arc<JSearchConfig>,
    http: reqwest::Client,
    cache: Arc<Cache>,
}

/// The most answers kept in the cache.
const CACHE_ENTRIES: usize = 256;

impl JSearchProvider {
    /// A client with `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built (no TLS roots).
    pub fn new(config: JSearchConfig) -> Result<Self, ProviderError> {
        // ring is the TLS crypto provider; installing it twice is harmless.
        // Deprecated in rustls 0.23.48 (no post-quantum key exchange); ring
        // keeps the build free of aws-lc-rs's C toolchain.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("iam-example/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Network(e.to_string()))?;
        Ok(Self {
            config: Arc::new(config),
            http,
            cache: Arc::default(),
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let url = format!("{}{path}", self.config.base_url);
        let key = format!(
            "{url}?{}",
            params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        );
        if let Some(value) = self.cached(&key) {
            return decode(value);
        }
        let mut last_status = 0;
        for attempt in 1..=self.config.attempts {
            let response = self
                .http
                .get(&url)
                .query(params)
                .header("X-RapidAPI-Key", &self.config.api_key)
                .header("X-RapidAPI-Host", &self.config.host)
                .send()
                .await;
            let response = match response {
                Ok(response) => response,
                Err(e) if e.is_timeout() => {
                    return Err(ProviderError::Timeout(self.config.timeout));
                }
                Err(e) => return Err(ProviderError::Network(e.to_string())),
            };
            let status = response.status().as_u16();
            if status == 401 || status == 403 {
                return Err(ProviderError::Auth(status));
            }
            if status == 429 || status >= 500 {
                last_status = status;
                if attempt < self.config.attempts {
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let backoff = self.config.backoff * 2u32.saturating_pow(attempt - 1);
                    let wait = retry_after.unwrap_or(backoff).min(Duration::from_secs(30));
                    tracing::warn!(status, attempt, ?wait, "job API busy; retrying");
                    tokio::time::sleep(wait).await;
                }
                continue;
            }
            if !response.status().is_success() {
                return Err(ProviderError::Unavailable {
                    status,
                    attempts: attempt,
                });
            }
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) if e.is_timeout() => {
                    return Err(ProviderError::Timeout(self.config.timeout));
                }
                Err(e) => return Err(ProviderError::Network(e.to_string())),
            };
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ProviderError::Malformed(format!("not JSON: {e}")))?;
            let decoded = decode::<T>(value.clone())?;
            self.store(key, value);
            return Ok(decoded);
        }
        if last_status == 429 {
            Err(ProviderError::Quota(self.config.attempts))
        } else {
            Err(ProviderError::Unavailable {
                status: last_status,
                attempts: self.config.attempts,
            })
        }
    }

    fn cached(&self, key: &str) -> Option<serde_json::Value> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.config.cache_ttl)
            .map(|(_, value)| value.clone())
    }

    fn store(&self, key: String, value: serde_json::Value) {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= CACHE_ENTRIES {
            let ttl = self.config.cache_ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), value));
    }
}

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ProviderError> {
    let envelope: Envelope<T> = serde_json::from_value(value)
        .map_err(|e| ProviderError::Malformed(format!("unexpected shape: {e}")))?;
    if let Some(status) = envelope.status.filter(|s| s != "OK") {
        return Err(ProviderError::Malformed(format!("status `{status}`")));
    }
    Ok(envelope.data)
}

impl JobProvider for JSearchProvider {
    fn search(&self, query: SearchQuery) -> BoxFuture<Result<Vec<Job>, ProviderError>> {
        let this = self.clone();
        Box::pin(async move {
            let mut text = query.role.clone();
            if let Some(city) = &query.city {
                text.push_str(" in ");
                text.push_str(city);
            }
            let mut params = vec![
                ("query", text),
                ("page", "1".to_owned()),
                ("num_pages", "1".to_owned()),
            ];
            if let Some(country) = &query.country {
                params.push(("country", country.to_lowercase()));
            }
            let jobs: Vec<Job> = this.get("/search", &params).await?;
            Ok(jobs
                .into_iter()
                .filter(|job| match &query.publisher {
                    None => true,
                    Some(p) => job
                        .job_publisher
                        .as_deref()
                        .is_some_and(|j| j.eq_ignore_ascii_case(p.trim())),
                })
                .take(query.num_jobs)
                .collect())
        })
    }

    fn details(&self, job_id: String) -> BoxFuture<Result<Job, ProviderError>> {
        let this = self.clone();
        Box::pin(async move {
            let jobs: Vec<Job> = this
                .get("/job-details", &[("job_id", job_id.clone())])
                .await?;
            jobs.into_iter()
                .next()
                .ok_or(ProviderError::NotFound(job_id))
        })
    }

    fn salary(
        &self,
        job_title: String,
        location: String,
    ) -> BoxFuture<Result<Vec<SalaryEstimate>, ProviderError>> {
        let this = self.clone();
        Box::pin(async move {
            this.get(
                "/estimated-salary",
                &[
                    ("job_title", job_title),
                    ("location", location),
                    ("location_type", "ANY".to_owned()),
                    ("years_of_experience", "ALL".to_owned()),
                ],
            )
            .await
        })
    }

    fn is_offline(&self) -> bool {
        false
    }
}
