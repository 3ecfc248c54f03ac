//! `jira-mcp`: eight tools over the Jira Cloud REST API v3.

pub mod client;
pub mod memory;
pub mod mock;
pub mod model;
mod server;

use std::sync::Arc;

pub use client::{HttpJira, JiraApi, JiraConfig, JiraError};
pub use memory::MemoryJira;
pub use server::{Assigned, Jira, JiraToolError, ProjectList, Transitioned, Updated, builder};

/// The Jira the environment asks for: Jira Cloud at `JIRA_BASE_URL` with
/// `JIRA_EMAIL` and `JIRA_API_TOKEN`, or the offline sample project when
/// `JIRA_OFFLINE=true` or any of the three is missing.
///
/// # Errors
/// The HTTP client could not be built.
pub fn from_env() -> Result<Arc<dyn JiraApi>, JiraError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let offline = var("JIRA_OFFLINE").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    });
    match (
        offline,
        var("JIRA_BASE_URL"),
        var("JIRA_EMAIL"),
        var("JIRA_API_TOKEN"),
    ) {
        (false, Some(url), Some(email), Some(token)) => {
            Ok(Arc::new(HttpJira::new(JiraConfig::new(url, email, token))?))
        }
        _ => Ok(Arc::new(MemoryJira::sample())),
    }
}
