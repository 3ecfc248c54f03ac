//! Where jobs come from: the JSearch API on RapidAPI, or a bundled sample
//! dataset when no key is configured.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The future a provider method returns: boxed, so the trait stays
/// object safe.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One job posting, as JSearch describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Job {
    /// JSearch's id for the posting.
    pub job_id: String,
    /// The title.
    pub job_title: String,
    /// The employer.
    pub employer_name: String,
    /// Where it was published (LinkedIn, Indeed, ...).
    #[serde(default)]
    pub job_publisher: Option<String>,
    /// City.
    #[serde(default)]
    pub job_city: Option<String>,
    /// ISO country code.
    #[serde(default)]
    pub job_country: Option<String>,
    /// FULLTIME, PARTTIME, CONTRACTOR or INTERN.
    #[serde(default)]
    pub job_employment_type: Option<String>,
    /// Whether it is remote.
    #[serde(default)]
    pub job_is_remote: Option<bool>,
    /// Lowest advertised salary.
    #[serde(default)]
    pub job_min_salary: Option<f64>,
    /// Highest advertised salary.
    #[serde(default)]
    pub job_max_salary: Option<f64>,
    /// Salary currency.
    #[serde(default)]
    pub job_salary_currency: Option<String>,
    /// YEAR, MONTH or HOUR.
    #[serde(default)]
    pub job_salary_period: Option<String>,
    /// When it was posted (UTC).
    #[serde(default)]
    pub job_posted_at_datetime_utc: Option<String>,
    /// Where to apply.
    #[serde(default)]
    pub job_apply_link: Option<String>,
    /// The full description.
    #[serde(default)]
    pub job_description: Option<String>,
}

/// A salary estimate for a title in a place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SalaryEstimate {
    /// The place.
    #[serde(default)]
    pub location: Option<String>,
    /// The title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Where the figure comes from.
    #[serde(default)]
    pub publisher_name: Option<String>,
    /// Low end.
    #[serde(default)]
    pub min_salary: Option<f64>,
    /// High end.
    #[serde(default)]
    pub max_salary: Option<f64>,
    /// Median.
    #[serde(default)]
    pub median_salary: Option<f64>,
    /// YEAR, MONTH or HOUR.
    #[serde(default)]
    pub salary_period: Option<String>,
    /// Currency.
    #[serde(default)]
    pub salary_currency: Option<String>,
}

/// A job search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SearchQuery {
    /// The role, such as "rust developer".
    pub role: String,
    /// A city.
    pub city: Option<String>,
    /// ISO country code, such as `us` or `de`.
    pub country: Option<String>,
    /// Only postings from this publisher (LinkedIn, Indeed, ...).
    pub publisher: Option<String>,
    /// How many jobs at most.
    pub num_jobs: usize,
}

/// Why the provider could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The API key was rejected.
    #[error("the job API rejected the key (HTTP {0}): check RAPIDAPI_KEY")]
    Auth(u16),
    /// The plan's request quota is used up.
    #[error(
        "the job API quota is exhausted (HTTP 429) after {0} attempts; try again later or upgrade the RapidAPI plan"
    )]
    Quota(u32),
    /// The API kept failing.
    #[error("the job API is failing (HTTP {status}) after {attempts} attempts")]
    Unavailable {
        /// The last status.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The API did not answer in time.
    #[error("the job API did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer was not what the API documents.
    #[error("the job API sent an answer this server cannot read: {0}")]
    Malformed(String),
    /// The request could not be sent.
    #[error("could not reach the job API: {0}")]
    Network(String),
    /// No such job.
    #[error("no job with id `{0}`")]
    NotFound(String),
}

/// A source of jobs.
pub trait JobProvider: Send + Sync + 'static {
    /// Jobs matching `query`.
    fn search(&self, query: SearchQuery) -> BoxFuture<Result<Vec<Job>, ProviderError>>;
    /// One job by id.
    fn details(&self, job_id: String) -> BoxFuture<Result<Job, ProviderError>>;
    /// Salary estimates for a title in a place.
    fn salary(
        &self,
        job_title: String,
        location: String,
    ) -> BoxFuture<Result<Vec<SalaryEstimate>, ProviderError>>;
    /// Whether this is the bundled offline dataset.
    fn is_offline(&self) -> bool;
}

#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    status: Option<String>,
    data: T,
}

/// The bundled sample dataset: works without a network or a key.
#[derive(Debug, Clone)]
pub struct OfflineProvider {
    jobs: Arc<Vec<Job>>,
}

impl OfflineProvider {
    /// The bundled dataset.
    ///
    /// # Errors
    /// The bundled file is malformed (a build problem, caught by the tests).
    pub fn bundled() -> Result<Self, ProviderError> {
        let envelope: Envelope<Vec<Job>> =
            serde_json::from_str(include_str!("../data/sample_jobs.json"))
                .map_err(|e| ProviderError::Malformed(e.to_string()))?;
        Ok(Self {
            jobs: Arc::new(envelope.data),
        })
    }
}

fn matches(job: &Job, query: &SearchQuery) -> bool {
    let words: Vec<String> = query
        .role
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let haystack = format!(
        "{} {} {}",
        job.job_title,
        job.employer_name,
        job.job_description.as_deref().unwrap_or("")
    )
    .to_lowercase();
    let eq = |a: &Option<String>, b: &Option<String>| match b {
        None => true,
        Some(b) => a
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(b.trim())),
    };
    words.iter().all(|w| haystack.contains(w.as_str()))
        && eq(&job.job_city, &query.city)
        && eq(&job.job_country, &query.country)
        && eq(&job.job_publisher, &query.publisher)
}

impl JobProvider for OfflineProvider {
    fn search(&self, query: SearchQuery) -> BoxFuture<Result<Vec<Job>, ProviderError>> {
        let jobs = Arc::clone(&self.jobs);
        Box::pin(async move {
            Ok(jobs
                .iter()
                .filter(|job| matches(job, &query))
                .take(query.num_jobs)
                .cloned()
                .collect())
        })
    }

    fn details(&self, job_id: String) -> BoxFuture<Result<Job, ProviderError>> {
        let jobs = Arc::clone(&self.jobs);
        Box::pin(async move {
            jobs.iter()
                .find(|job| job.job_id == job_id)
                .cloned()
                .ok_or(ProviderError::NotFound(job_id))
        })
    }

    fn salary(
        &self,
        job_title: String,
        location: String,
    ) -> BoxFuture<Result<Vec<SalaryEstimate>, ProviderError>> {
        let jobs = Arc::clone(&self.jobs);
        Box::pin(async move {
            let query = SearchQuery {
                role: job_title.clone(),
                num_jobs: usize::MAX,
                ..SearchQuery::default()
            };
            let mut by_currency: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
            for job in jobs.iter().filter(|job| matches(job, &query)) {
                if let (Some(min), Some(max), Some(currency)) = (
                    job.job_min_salary,
                    job.job_max_salary,
                    &job.job_salary_currency,
                ) {
                    by_currency
                        .entry(currency.clone())
                        .or_default()
                        .push((min, max));
                }
            }
            let mut estimates: Vec<SalaryEstimate> = by_currency
                .into_iter()
                .map(|(currency, ranges)| {
                    let n = ranges.len() as f64;
                    let min = ranges.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
                    let max = ranges.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
                    let median = ranges.iter().map(|r| (r.0 + r.1) / 2.0).sum::<f64>() / n;
                    SalaryEstimate {
                        location: Some(location.clone()),
                        job_title: Some(job_title.clone()),
                        publisher_name: Some("offline sample dataset".into()),
                        min_salary: Some(min),
                        max_salary: Some(max),
                        median_salary: Some(median.round()),
                        salary_period: Some("YEAR".into()),
                        salary_currency: Some(currency),
                    }
                })
                .collect();
            estimates.sort_by(|a, b| a.salary_currency.cmp(&b.salary_currency));
            Ok(estimates)
        })
    }

    fn is_offline(&self) -> bool {
        true
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_offline_dataset_searches() {
        let offline = OfflineProvider::bundled().unwrap();
        let jobs = offline
            .search(SearchQuery {
                role: "rust".into(),
                country: Some("DE".into()),
                num_jobs: 10,
                ..SearchQuery::default()
            })
            .await
            .unwrap();
        assert!(jobs.len() >= 3);
        assert!(jobs.iter().all(|j| j.job_country.as_deref() == Some("DE")));
        let one = offline.details(jobs[0].job_id.clone()).await.unwrap();
        assert_eq!(one, jobs[0]);
        assert!(offline.details("nope".into()).await.is_err());
        let salary = offline
            .salary("rust".into(), "Berlin".into())
            .await
            .unwrap();
        assert!(
            salary
                .iter()
                .any(|s| s.salary_currency.as_deref() == Some("EUR"))
        );
    }
}
