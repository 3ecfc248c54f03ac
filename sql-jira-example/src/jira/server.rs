//! `jira-mcp`'s MCP server: eight tools over a [`JiraApi`], the writes
//! with optional idempotency keys.

use std::sync::Arc;

use mcp_server::prelude::*;

use super::client::{JiraApi, JiraError};
use super::model::{Comment, Created, Issue, IssueUpdate, NewIssue, Project, SearchResult};
use crate::idempotency::{Idempotency, IdempotencyError};
use crate::tenant_of;

/// Why a Jira tool failed, for the model to read.
#[derive(Debug, thiserror::Error)]
pub enum JiraToolError {
    /// Jira refused or failed.
    #[error(transparent)]
    Jira(#[from] JiraError),
    /// An argument is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The idempotency key could not be used.
    #[error(transparent)]
    Idempotency(IdempotencyError<JiraError>),
}

impl From<IdempotencyError<JiraError>> for JiraToolError {
    fn from(e: IdempotencyError<JiraError>) -> Self {
        match e {
            IdempotencyError::Call(e) => Self::Jira(e),
            other => Self::Idempotency(other),
        }
    }
}

/// What `update_issue` changed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Updated {
    /// The issue.
    pub key: String,
    /// The fields given.
    pub fields: Vec<String>,
}

/// Where `transition_issue` moved an issue.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Transitioned {
    /// The issue.
    pub key: String,
    /// The transition taken.
    pub transition_id: String,
    /// The status it is in now.
    pub status: String,
}

/// Who `assign_issue` assigned.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Assigned {
    /// The issue.
    pub key: String,
    /// The assignee's account id; none when unassigned.
    pub account_id: Option<String>,
}

/// Projects.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProjectList {
    /// The projects.
    pub projects: Vec<Project>,
}

/// The Jira server.
#[derive(Clone)]
pub struct Jira {
    api: Arc<dyn JiraApi>,
    keys: Idempotency,
}

impl std::fmt::Debug for Jira {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jira")
            .field("offline", &self.api.is_offline())
            .finish_non_exhaustive()
    }
}

fn required(name: &str, value: &str) -> Result<(), JiraToolError> {
    if value.trim().is_empty() {
        return Err(JiraToolError::Invalid(format!(
            "`{name}` must not be empty"
        )));
    }
    Ok(())
}

impl Jira {
    /// Tools over `api`, with keyed writes remembered by `keys`.
    pub fn new(api: Arc<dyn JiraApi>, keys: Idempotency) -> Self {
        Self { api, keys }
    }

    /// The instructions for the model, which say whether Jira is live.
    pub fn instructions(&self) -> String {
        let mut text = String::from(
            "Jira Cloud: search_issues takes JQL, get_issue reads one issue, list_projects lists projects. \
             create_issue, update_issue, transition_issue, add_comment and assign_issue change Jira; give \
             each an idempotency_key so a retry never repeats the change.",
        );
        if self.api.is_offline() {
            text.push_str(
                " OFFLINE MODE: no Jira credentials are set, so this is an in-memory sample project \
                 (DEMO and OPS), not a real Jira; its JQL supports =, !=, ~ and is EMPTY joined by AND.",
            );
        }
        text
    }
}

#[mcp_server(name = "jira", title = "Jira")]
impl Jira {
    /// Search issues with JQL, such as `project = DEMO AND status = "To Do"`.
    #[mcp_tool(read_only, open_world)]
    async fn search_issues(
        &self,
        /// The JQL query.
        jql: String,
        /// How many issues per page.
        #[arg(default = 20, range(min = 1, max = 100))]
        max_results: u32,
        /// The `next_page_token` of the previous page, for the next one.
        next_page_token: Option<String>,
    ) -> Result<Structured<SearchResult>, JiraToolError> {
        required("jql", &jql)?;
        Ok(Structured(
            self.api.search(jql, max_results, next_page_token).await?,
        ))
    }

    /// Read one issue: summary, status, assignee, description and more.
    #[mcp_tool(read_only, open_world)]
    async fn get_issue(
        &self,
        /// The issue's key, such as DEMO-1.
        issue_key: String,
    ) -> Result<Structured<Issue>, JiraToolError> {
        Ok(Structured(self.api.issue(issue_key).await?))
    }

    /// Create an issue in a project.
    #[mcp_tool(destructive = false, idempotent = false, open_world)]
    async fn create_issue(
        &self,
        /// The project's key, such as DEMO.
        project: String,
        /// A one-line summary.
        summary: String,
        /// Task, Bug, Story...
        #[arg(default = "Task")]
        issue_type: String,
        /// The description, as plain text.
        description: Option<String>,
        /// Labels.
        labels: Option<Vec<String>>,
        /// The priority's name, such as High.
        priority: Option<String>,
        /// Any unique text; a retry with the same key returns the first result instead of creating again.
        idempotency_key: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Created>, JiraToolError> {
        required("project", &project)?;
        required("summary", &summary)?;
        let new = NewIssue {
            project: project.trim().to_owned(),
            summary,
            issue_type,
            description,
            labels: labels.unwrap_or_default(),
            priority,
        };
        let api = Arc::clone(&self.api);
        let keyed = new.clone();
        let created = self
            .keys
            .run(
                tenant_of(ctx),
                idempotency_key.as_deref(),
                "create_issue",
                &new,
                || api.create(keyed),
            )
            .await?;
        Ok(Structured(created))
    }

    /// Change an issue's summary, description, labels or priority; fields left out stay as they are.
    #[mcp_tool(destructive, idempotent, open_world)]
    async fn update_issue(
        &self,
        /// The issue's key, such as DEMO-1.
        issue_key: String,
        /// A new summary.
        summary: Option<String>,
        /// A new description, as plain text (replaces the old one).
        description: Option<String>,
        /// New labels (replace the old ones).
        labels: Option<Vec<String>>,
        /// A new priority's name.
        priority: Option<String>,
        /// Any unique text; a retry with the same key returns the first result instead of updating again.
        idempotency_key: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Updated>, JiraToolError> {
        let update = IssueUpdate {
            summary,
            description,
            labels,
            priority,
        };
        if update.is_empty() {
            return Err(JiraToolError::Invalid(
                "give at least one of summary, description, labels, priority".into(),
            ));
        }
        let mut fields = Vec::new();
        for (name, given) in [
            ("summary", update.summary.is_some()),
            ("description", update.description.is_some()),
            ("labels", update.labels.is_some()),
            ("priority", update.priority.is_some()),
        ] {
            if given {
                fields.push(name.to_owned());
            }
        }
        let api = Arc::clone(&self.api);
        let arguments = (&issue_key, &update);
        let result = Updated {
            key: issue_key.clone(),
            fields,
        };
        let key = issue_key.clone();
        let keyed = update.clone();
        let updated = self
            .keys
            .run(
                tenant_of(ctx),
                idempotency_key.as_deref(),
                "update_issue",
                &arguments,
                || async move { api.update(key, keyed).await.map(|()| result) },
            )
            .await?;
        Ok(Structured(updated))
    }

    /// Move an issue through its workflow, by transition id or name (such as Done).
    #[mcp_tool(destructive = false, idempotent = false, open_world)]
    async fn transition_issue(
        &self,
        /// The issue's key, such as DEMO-1.
        issue_key: String,
        /// The transition's id, its name, or the status it leads to.
        transition: String,
        /// Any unique text; a retry with the same key returns the first result instead of moving again.
        idempotency_key: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Transitioned>, JiraToolError> {
        required("transition", &transition)?;
        let api = Arc::clone(&self.api);
        let arguments = (&issue_key, &transition);
        let key = issue_key.clone();
        let wanted = transition.trim().to_owned();
        let moved = self
            .keys
            .run(
                tenant_of(ctx),
                idempotency_key.as_deref(),
                "transition_issue",
                &arguments,
                || async move {
                    let available = api.transitions(key.clone()).await?;
                    let Some(chosen) = available.iter().find(|t| {
                        t.id == wanted
                            || t.name.eq_ignore_ascii_case(&wanted)
                            || t.to.eq_ignore_ascii_case(&wanted)
                    }) else {
                        let names: Vec<String> = available
                            .iter()
                            .map(|t| format!("{} ({} → {})", t.id, t.name, t.to))
                            .collect();
                        return Err(JiraError::Invalid(format!(
                            "{key} has no transition `{wanted}`; available: {}",
                            if names.is_empty() {
                                "none".into()
                            } else {
                                names.join(", ")
                            }
                        )));
                    };
                    api.transition(key.clone(), chosen.id.clone()).await?;
                    Ok(Transitioned {
                        key,
                        transition_id: chosen.id.clone(),
                        status: chosen.to.clone(),
                    })
                },
            )
            .await?;
        Ok(Structured(moved))
    }

    /// Add a comment to an issue.
    #[mcp_tool(destructive = false, idempotent = false, open_world)]
    async fn add_comment(
        &self,
        /// The issue's key, such as DEMO-1.
        issue_key: String,
        /// The comment, as plain text.
        body: String,
        /// Any unique text; a retry with the same key returns the first result instead of commenting again.
        idempotency_key: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Comment>, JiraToolError> {
        required("body", &body)?;
        let api = Arc::clone(&self.api);
        let arguments = (&issue_key, &body);
        let (key, text) = (issue_key.clone(), body.clone());
        let comment = self
            .keys
            .run(
                tenant_of(ctx),
                idempotency_key.as_deref(),
                "add_comment",
                &arguments,
                || api.comment(key, text),
            )
            .await?;
        Ok(Structured(comment))
    }

    /// Assign an issue to an account, or unassign it (no account_id); replaces the current assignee.
    #[mcp_tool(destructive, idempotent, open_world)]
    async fn assign_issue(
        &self,
        /// The issue's key, such as DEMO-1.
        issue_key: String,
        /// The assignee's Atlassian account id; leave it out to unassign.
        account_id: Option<String>,
        /// Any unique text; a retry with the same key returns the first result instead of assigning again.
        idempotency_key: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Assigned>, JiraToolError> {
        let api = Arc::clone(&self.api);
        let account = account_id.filter(|a| !a.trim().is_empty());
        let arguments = (&issue_key, &account);
        let result = Assigned {
            key: issue_key.clone(),
            account_id: account.clone(),
        };
        let (key, keyed) = (issue_key.clone(), account.clone());
        let assigned = self
            .keys
            .run(
                tenant_of(ctx),
                idempotency_key.as_deref(),
                "assign_issue",
                &arguments,
                || async move { api.assign(key, keyed).await.map(|()| result) },
            )
            .await?;
        Ok(Structured(assigned))
    }

    /// List the projects the account can see, optionally those whose key or name contains a text.
    #[mcp_tool(read_only, open_world)]
    async fn list_projects(
        &self,
        /// Only projects whose key or name contains this.
        query: Option<String>,
        /// How many at most.
        #[arg(default = 50, range(min = 1, max = 100))]
        max_results: u32,
    ) -> Result<Structured<ProjectList>, JiraToolError> {
        let projects = self.api.projects(query, max_results).await?;
        Ok(Structured(ProjectList { projects }))
    }
}

/// The server's builder, with instructions that say whether Jira is live.
pub fn builder(jira: Jira) -> mcp_server::ServerBuilder {
    let instructions = jira.instructions();
    Server::builder()
        .definition(jira)
        .instructions(instructions)
}
