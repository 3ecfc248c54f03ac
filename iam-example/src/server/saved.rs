//! Saved jobs: one file per job under the data root, Markdown or JSON,
//! read back as `iam://jobs/{job_id}`.

use std::path::PathBuf;

use mcp_server::prelude::*;

use super::{Iam, IamError};
use crate::provider::Job;

/// How saved jobs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SaveFormat {
    /// A readable Markdown page per job.
    #[default]
    Markdown,
    /// The job's JSON.
    Json,
}

/// One saved job.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SavedJob {
    /// The job's id.
    pub job_id: String,
    /// Its resource URI, to read it back.
    pub uri: String,
    /// The file it was written to.
    pub path: String,
}

/// What `save_jobs` wrote.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SavedJobs {
    /// The saved jobs.
    pub saved: Vec<SavedJob>,
}

/// A job id safe to use as a file name: JSearch ids are base64-like.
pub(super) fn safe_job_id(job_id: &str) -> Result<&str, IamError> {
    let ok = !job_id.is_empty()
        && job_id.len() <= 128
        && !job_id.contains("..")
        && job_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=' | '.'));
    if ok {
        Ok(job_id)
    } else {
        Err(IamError::Invalid(format!("invalid job id `{job_id}`")))
    }
}

/// A job as a Markdown page.
pub fn job_markdown(job: &Job) -> String {
    let place = [job.job_city.as_deref(), job.job_country.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let salary = match (job.job_min_salary, job.job_max_salary) {
        (Some(min), Some(max)) => format!(
            "{min:.0}–{max:.0} {} per {}",
            job.job_salary_currency.as_deref().unwrap_or(""),
            job.job_salary_period
                .as_deref()
                .unwrap_or("year")
                .to_lowercase()
        ),
        _ => "not advertised".into(),
    };
    format!(
        "# {}\n\n- **Employer:** {}\n- **Location:** {}{}\n- **Type:** {}\n- **Salary:** {}\n- **Posted:** {}\n- **Source:** {}\n- **Apply:** {}\n- **Job id:** `{}`\n\n## Description\n\n{}\n",
        job.job_title,
        job.employer_name,
        if place.is_empty() { "unknown" } else { &place },
        if job.job_is_remote == Some(true) {
            " (remote)"
        } else {
            ""
        },
        job.job_employment_type.as_deref().unwrap_or("unknown"),
        salary,
        job.job_posted_at_datetime_utc
            .as_deref()
            .unwrap_or("unknown"),
        job.job_publisher.as_deref().unwrap_or("unknown"),
        job.job_apply_link.as_deref().unwrap_or("n/a"),
        job.job_id,
        job.job_description.as_deref().unwrap_or("(no description)"),
    )
}

impl Iam {
    pub(super) fn jobs_dir(&self) -> PathBuf {
        self.data_root.join("jobs")
    }

    pub(super) async fn saved_ids(&self) -> Result<Vec<String>, IamError> {
        let mut ids = Vec::new();
        let mut entries = match tokio::fs::read_dir(self.jobs_dir()).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(IamError::Storage(e.to_string())),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| IamError::Storage(e.to_string()))?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name
                .strip_suffix(".md")
                .or_else(|| name.strip_suffix(".json"))
                && !id.starts_with('.')
                && !ids.iter().any(|i| i == id)
            {
                ids.push(id.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Writes `job` in `format`: to a temporary file renamed into place, so
    /// a reader never sees half a file.
    pub(super) async fn write_job(
        &self,
        job: &Job,
        format: SaveFormat,
    ) -> Result<SavedJob, IamError> {
        let dir = self.jobs_dir();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| IamError::Storage(e.to_string()))?;
        let (extension, contents) = match format {
            SaveFormat::Markdown => ("md", job_markdown(job)),
            SaveFormat::Json => (
                "json",
                serde_json::to_string_pretty(job).map_err(|e| IamError::Storage(e.to_string()))?,
            ),
        };
        let id = safe_job_id(&job.job_id)?;
        let path = dir.join(format!("{id}.{extension}"));
        let partial = dir.join(format!(".{id}.{extension}.partial"));
        tokio::fs::write(&partial, contents)
            .await
            .map_err(|e| IamError::Storage(e.to_string()))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| IamError::Storage(e.to_string()))?;
        Ok(SavedJob {
            job_id: id.to_owned(),
            uri: format!("iam://jobs/{id}"),
            path: path.display().to_string(),
        })
    }
}
