//! Where jobs come from: the JSearch API on RapidAPI, or a bundled sample
//! dataset when no key is configured.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod jsearch;
mod offline;

pub use jsearch::{JSearchConfig, JSearchProvider};
pub use offline::OfflineProvider;

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
