//! The bundled sample dataset.

use super::*;

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
            serde_json::from_str(include_str!("../../data/sample_jobs.json"))
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
