//! The job-search MCP server.

use std::path::PathBuf;
use std::sync::Arc;

use mcp_server::prelude::*;

use crate::provider::{Job, JobProvider, ProviderError, SalaryEstimate, SearchQuery};

mod saved;

use saved::safe_job_id;
pub use saved::{SaveFormat, SavedJob, SavedJobs, job_markdown};

/// Jobs found by a search.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct JobSearch {
    /// Where they come from: `jsearch` or `offline sample dataset`.
    pub source: String,
    /// How many.
    pub count: usize,
    /// The jobs.
    pub jobs: Vec<Job>,
}

/// Salary estimates.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Salaries {
    /// Where they come from.
    pub source: String,
    /// The estimates, one per publisher or currency.
    pub estimates: Vec<SalaryEstimate>,
}

/// Why a call failed, for the model to read.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// The provider failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The input is wrong.
    #[error("{0}")]
    Invalid(String),
    /// Writing or reading a saved job failed.
    #[error("could not access saved jobs: {0}")]
    Storage(String),
}

/// The job-search server.
#[derive(Clone)]
pub struct Iam {
    provider: Arc<dyn JobProvider>,
    data_root: PathBuf,
}

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam")
            .field("offline", &self.provider.is_offline())
            .field("data_root", &self.data_root)
            .finish()
    }
}

impl Iam {
    /// A server over `provider`, saving jobs under `data_root`.
    pub fn new(provider: Arc<dyn JobProvider>, data_root: impl Into<PathBuf>) -> Self {
        Self {
            provider,
            data_root: data_root.into(),
        }
    }

    /// The instructions for the model, which say whether data is live.
    pub fn instructions(&self) -> String {
        let mut text = String::from(
            "Job search: search_jobs finds postings by role and place, get_job_details reads one, estimate_salary gives salary ranges, save_jobs keeps chosen jobs as files readable at iam://jobs/{job_id}. The prompts analyse the market, merge resumes, tailor a resume and write cover letters.",
        );
        if self.provider.is_offline() {
            text.push_str(" OFFLINE MODE: no RAPIDAPI_KEY is set, so results come from a small bundled sample dataset, not live postings.");
        }
        text
    }

    fn source(&self) -> String {
        if self.provider.is_offline() {
            "offline sample dataset".into()
        } else {
            "jsearch".into()
        }
    }
}

#[mcp_server(name = "iam-job-search", title = "Job search")]
impl Iam {
    /// Search job postings by role, with optional place and publisher.
    #[mcp_tool(read_only, open_world)]
    async fn search_jobs(
        &self,
        /// The role, such as "rust developer" or "data engineer".
        role: String,
        /// A city, such as "Berlin".
        city: Option<String>,
        /// An ISO country code, such as `us`, `de` or `gb`.
        country: Option<String>,
        /// Only postings from this publisher, such as LinkedIn or Indeed.
        publisher: Option<String>,
        /// How many jobs at most.
        #[arg(default = 5, range(min = 1, max = 20))]
        num_jobs: u32,
        /// Cut each description to this many characters (0 drops it).
        description_chars: Option<u32>,
    ) -> Result<Structured<JobSearch>, IamError> {
        if role.trim().is_empty() {
            return Err(IamError::Invalid("the role must not be empty".into()));
        }
        let query = SearchQuery {
            role: role.trim().to_owned(),
            city,
            country,
            publisher,
            num_jobs: num_jobs as usize,
        };
        let mut jobs = self.provider.search(query).await?;
        if let Some(limit) = description_chars {
            for job in &mut jobs {
                job.job_description = match (limit, job.job_description.take()) {
                    (0, _) | (_, None) => None,
                    (limit, Some(text)) => {
                        let cut: String = text.chars().take(limit as usize).collect();
                        Some(if cut.len() < text.len() {
                            format!("{cut}…")
                        } else {
                            cut
                        })
                    }
                };
            }
        }
        Ok(Structured(JobSearch {
            source: self.source(),
            count: jobs.len(),
            jobs,
        }))
    }

    /// The full posting for a job id from search_jobs.
    #[mcp_tool(read_only, open_world)]
    async fn get_job_details(
        &self,
        /** The job's id. */
        job_id: String,
    ) -> Result<Structured<Job>, IamError> {
        Ok(Structured(self.provider.details(job_id).await?))
    }

    /// Salary estimates for a job title in a place.
    #[mcp_tool(read_only, open_world)]
    async fn estimate_salary(
        &self,
        /// The job title, such as "rust developer".
        job_title: String,
        /// The place, such as "Berlin" or "remote".
        #[arg(default = "anywhere")]
        location: String,
    ) -> Result<Structured<Salaries>, IamError> {
        let estimates = self.provider.salary(job_title, location).await?;
        Ok(Structured(Salaries {
            source: self.source(),
            estimates,
        }))
    }

    /// Save jobs as files, readable later at iam://jobs/{job_id}.
    #[mcp_tool(idempotent)]
    async fn save_jobs(
        &self,
        /// The ids of the jobs to save, from search_jobs.
        job_ids: Vec<String>,
        /// `markdown` (default) or `json`.
        format: Option<SaveFormat>,
        ctx: &RequestContext,
    ) -> Result<Structured<SavedJobs>, IamError> {
        if job_ids.is_empty() {
            return Err(IamError::Invalid("give at least one job id".into()));
        }
        for id in &job_ids {
            safe_job_id(id)?;
        }
        // Fetch every job first: nothing is written unless all exist.
        let mut jobs = Vec::with_capacity(job_ids.len());
        for id in &job_ids {
            jobs.push(self.provider.details(id.clone()).await?);
        }
        let format = format.unwrap_or_default();
        let mut saved = Vec::new();
        for job in &jobs {
            let job = self.write_job(job, format).await?;
            ctx.server().resource_updated(&job.uri);
            saved.push(job);
        }
        ctx.server().resource_updated("iam://jobs");
        Ok(Structured(SavedJobs { saved }))
    }

    /// The saved jobs: ids and resource URIs.
    #[mcp_resource("iam://jobs", mime = "text/markdown", name = "saved-jobs")]
    async fn saved_index(&self) -> Result<String, ResourceError> {
        let ids = self
            .saved_ids()
            .await
            .map_err(|e| ResourceError::Failed(e.to_string()))?;
        let mut text = String::from("# Saved jobs\n\n");
        if ids.is_empty() {
            text.push_str("None yet: use save_jobs.\n");
        }
        for id in ids {
            text.push_str(&format!("- iam://jobs/{id}\n"));
        }
        Ok(text)
    }

    /// One saved job, as it was saved (Markdown or JSON).
    #[mcp_resource("iam://jobs/{job_id}", mime = "text/markdown", name = "saved-job")]
    async fn saved_job(
        &self,
        job_id: String,
    ) -> Result<mcp_server::core::content::ResourceContents, ResourceError> {
        let uri = format!("iam://jobs/{job_id}");
        let id = safe_job_id(&job_id).map_err(|e| ResourceError::Invalid(e.to_string()))?;
        for (extension, mime) in [("md", "text/markdown"), ("json", "application/json")] {
            let path = self.jobs_dir().join(format!("{id}.{extension}"));
            match tokio::fs::read_to_string(&path).await {
                Ok(text) => {
                    return Ok(mcp_server::core::content::ResourceContents::Text(
                        mcp_server::core::content::TextResourceContents {
                            uri,
                            mime_type: Some(mime.into()),
                            text,
                            meta: None,
                        },
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ResourceError::Failed(e.to_string())),
            }
        }
        Err(ResourceError::NotFound(uri))
    }

    /// Analyse the job market for a role: demand, employers, skills and pay.
    #[mcp_prompt(title = "Job market analysis")]
    async fn job_market_analysis(
        &self,
        /// The role.
        role: String,
        /// A city or country.
        location: Option<String>,
    ) -> Result<String, IamError> {
        let jobs = self
            .provider
            .search(SearchQuery {
                role: role.clone(),
                city: location.clone(),
                num_jobs: 10,
                ..SearchQuery::default()
            })
            .await?;
        let mut text = format!(
            "Analyse the job market for \"{role}\"{} using these {} postings ({}).\n\n",
            location
                .as_deref()
                .map(|l| format!(" in {l}"))
                .unwrap_or_default(),
            jobs.len(),
            self.source()
        );
        for job in &jobs {
            text.push_str(&format!(
                "- {} at {} ({}), {}: {}\n",
                job.job_title,
                job.employer_name,
                job.job_city.as_deref().unwrap_or("unknown"),
                match (job.job_min_salary, job.job_max_salary) {
                    (Some(a), Some(b)) => format!(
                        "{a:.0}–{b:.0} {}",
                        job.job_salary_currency.as_deref().unwrap_or("")
                    ),
                    _ => "salary not advertised".into(),
                },
                job.job_description
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(240)
                    .collect::<String>()
            ));
        }
        text.push_str("\nReport: how strong demand looks, which employers hire, the skills asked for most (ranked), salary ranges by seniority, remote share, and three concrete recommendations for a candidate. Say where the sample is too small to conclude.");
        Ok(text)
    }

    /// Merge several resumes of one person into a single, complete "resume mesh".
    #[mcp_prompt(title = "Resume mesh")]
    async fn resume_mesh(
        &self,
        /// The resumes, separated by a line containing only `---`.
        resumes: String,
    ) -> Result<String, IamError> {
        let parts: Vec<&str> = resumes
            .split("\n---\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() < 2 {
            return Err(IamError::Invalid(
                "give at least two resumes, separated by a line with ---".into(),
            ));
        }
        let mut text = format!(
            "Merge these {} resumes of the same person into one master resume (a \"resume mesh\"). Keep every distinct role, project, skill and achievement; merge duplicates, keeping the most specific wording and the numbers; order experience by date; flag contradictions (dates, titles) instead of guessing.\n",
            parts.len()
        );
        for (i, part) in parts.iter().enumerate() {
            text.push_str(&format!("\n## Resume {}\n\n{part}\n", i + 1));
        }
        Ok(text)
    }

    /// Tailor a resume to one job posting.
    #[mcp_prompt(title = "Job-specific resume")]
    async fn job_resume(
        &self,
        /// The job's id, from search_jobs.
        job_id: String,
        /// The candidate's resume (or resume mesh).
        resume: String,
    ) -> Result<String, IamError> {
        let job = self.provider.details(job_id).await?;
        Ok(format!(
            "Rewrite the resume below for this job. Lead with the experience that matches the requirements, use the posting's vocabulary where it is true of the candidate, quantify results, keep it to two pages, and do not invent anything.\n\n# The job\n\n{}\n# The resume\n\n{resume}\n",
            job_markdown(&job)
        ))
    }

    /// Write a cover letter for one job posting.
    #[mcp_prompt(title = "Cover letter")]
    async fn cover_letter(
        &self,
        /// The job's id, from search_jobs.
        job_id: String,
        /// The applicant's name.
        applicant_name: String,
        /// The applicant's resume, to draw on.
        resume: Option<String>,
    ) -> Result<String, IamError> {
        let job = self.provider.details(job_id).await?;
        Ok(format!(
            "Write a cover letter from {applicant_name} to {} for the role \"{}\". Three short paragraphs: why this company and role, two concrete matches between the candidate and the requirements, and a confident close. No clichés, under 300 words.\n\n# The job\n\n{}\n{}",
            job.employer_name,
            job.job_title,
            job_markdown(&job),
            resume
                .map(|r| format!("# The resume\n\n{r}\n"))
                .unwrap_or_default()
        ))
    }

    /// Find and save the best jobs for a role.
    #[mcp_prompt(title = "Save jobs")]
    async fn save_jobs_for(
        &self,
        /// The role.
        role: String,
        /// How many to save.
        count: Option<u32>,
    ) -> String {
        format!(
            "Use search_jobs for \"{role}\", read the most promising postings with get_job_details, pick the best {} (explain why in one line each), then call save_jobs with their ids and tell me the iam://jobs URIs.",
            count.unwrap_or(3)
        )
    }
}

/// The server for `iam`, with instructions that say whether data is live.
pub fn server(iam: Iam) -> Server {
    builder(iam).build()
}

/// The server's builder, for settings added on top (such as
/// [`ServerBuilder::env_settings`](mcp_server::ServerBuilder::env_settings)).
pub fn builder(iam: Iam) -> mcp_server::ServerBuilder {
    let instructions = iam.instructions();
    Server::builder().definition(iam).instructions(instructions)
}
