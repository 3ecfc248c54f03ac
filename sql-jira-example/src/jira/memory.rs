//! An in-memory Jira: the offline mode's sample project, and the state
//! behind the mock Jira server the tests talk to. It understands a small
//! subset of JQL: `field = value`, `field != value`, `field ~ text` and
//! `field is EMPTY` joined by `AND`, on project, key, status, assignee,
//! issuetype, priority, labels, summary and text; `ORDER BY` is accepted
//! and issues come newest first.

use std::sync::{Arc, Mutex, MutexGuard};

use super::client::BoxFuture;

use super::client::{JiraApi, JiraError};
use super::model::{
    Comment, Created, Issue, IssueUpdate, NewIssue, Project, SearchResult, Transition,
};
use crate::store::{now_secs, timestamp};

/// The workflow: (transition id, name, status it leads to).
pub const WORKFLOW: [(&str, &str, &str); 3] = [
    ("11", "To Do", "To Do"),
    ("21", "Start progress", "In Progress"),
    ("31", "Done", "Done"),
];

/// Known accounts: (account id, display name).
pub const ACCOUNTS: [(&str, &str); 2] = [
    ("557058:ada", "Ada Lovelace"),
    ("557058:grace", "Grace Hopper"),
];

#[derive(Debug, Default)]
struct State {
    projects: Vec<Project>,
    issues: Vec<Issue>,
    comments: Vec<(String, Comment)>,
    next_id: u64,
}

/// An in-memory Jira. Clones share their state.
#[derive(Debug, Clone, Default)]
pub struct MemoryJira {
    state: Arc<Mutex<State>>,
}

impl MemoryJira {
    /// The sample project `DEMO` with a few issues.
    pub fn sample() -> Self {
        let jira = Self::default();
        {
            let mut state = jira.lock();
            state.next_id = 10_000;
            state.projects.push(Project {
                id: "10000".into(),
                key: "DEMO".into(),
                name: "Demo project".into(),
                project_type: Some("software".into()),
            });
            state.projects.push(Project {
                id: "10001".into(),
                key: "OPS".into(),
                name: "Operations".into(),
                project_type: Some("business".into()),
            });
        }
        let samples = [
            (
                "DEMO",
                "Login page times out on slow networks",
                "Bug",
                "High",
            ),
            (
                "DEMO",
                "Export monthly sales report as CSV",
                "Story",
                "Medium",
            ),
            ("DEMO", "Upgrade the database driver", "Task", "Low"),
            ("OPS", "Rotate the API tokens", "Task", "High"),
        ];
        for (project, summary, issue_type, priority) in samples {
            let _ = jira.insert(&NewIssue {
                project: project.into(),
                summary: summary.into(),
                issue_type: issue_type.into(),
                description: Some(format!("{summary}.\nCreated as sample data.")),
                labels: vec!["sample".into()],
                priority: Some(priority.into()),
            });
        }
        jira
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn insert(&self, new: &NewIssue) -> Result<Created, JiraError> {
        let mut state = self.lock();
        if !state.projects.iter().any(|p| p.key == new.project) {
            return Err(JiraError::Invalid(format!(
                "project: project `{}` does not exist",
                new.project
            )));
        }
        if new.summary.trim().is_empty() {
            return Err(JiraError::Invalid(
                "summary: You must specify a summary of the issue.".into(),
            ));
        }
        state.next_id += 1;
        let number = state
            .issues
            .iter()
            .filter(|i| i.project == new.project)
            .count()
            + 1;
        let now = timestamp(now_secs());
        let issue = Issue {
            key: format!("{}-{number}", new.project),
            id: state.next_id.to_string(),
            summary: new.summary.clone(),
            status: "To Do".into(),
            issue_type: new.issue_type.clone(),
            project: new.project.clone(),
            assignee: None,
            assignee_name: None,
            priority: new.priority.clone().or_else(|| Some("Medium".into())),
            labels: new.labels.clone(),
            description: new.description.clone(),
            created: Some(now.clone()),
            updated: Some(now),
        };
        let created = Created {
            id: issue.id.clone(),
            key: issue.key.clone(),
        };
        state.issues.push(issue);
        Ok(created)
    }

    fn with_issue<T>(
        &self,
        key: &str,
        change: impl FnOnce(&mut Issue) -> Result<T, JiraError>,
    ) -> Result<T, JiraError> {
        let mut state = self.lock();
        let issue = state
            .issues
            .iter_mut()
            .find(|i| i.key.eq_ignore_ascii_case(key))
            .ok_or_else(|| JiraError::NotFound(format!("Issue does not exist: {key}")))?;
        change(issue)
    }

    /// Searches synchronously (for the mock server and offline mode).
    ///
    /// # Errors
    /// The JQL uses something outside the supported subset.
    pub fn find(&self, jql: &str, max: usize, start: usize) -> Result<SearchResult, JiraError> {
        let filter = Jql::parse(jql)?;
        let state = self.lock();
        let matching: Vec<&Issue> = state
            .issues
            .iter()
            .rev()
            .filter(|i| filter.matches(i))
            .collect();
        let page: Vec<Issue> = matching
            .iter()
            .skip(start)
            .take(max)
            .map(|i| (*i).clone())
            .collect();
        let end = start + page.len();
        let is_last = end >= matching.len();
        Ok(SearchResult {
            issues: page,
            next_page_token: (!is_last).then(|| end.to_string()),
            is_last,
        })
    }
}

/// Conditions of a JQL query, all of which must hold.
struct Jql(Vec<(String, String, String)>);

impl Jql {
    fn parse(jql: &str) -> Result<Self, JiraError> {
        let lower = jql.to_ascii_lowercase();
        let cut = lower.find("order by").unwrap_or(jql.len());
        let mut clauses = Vec::new();
        let body = &jql[..cut];
        let mut rest = body.trim();
        while !rest.is_empty() {
            let (clause, tail) = match rest.to_ascii_lowercase().find(" and ") {
                Some(at) => (&rest[..at], &rest[at + 5..]),
                None => (rest, ""),
            };
            clauses.push(Self::clause(clause.trim())?);
            rest = tail.trim();
        }
        Ok(Self(clauses))
    }

    fn clause(clause: &str) -> Result<(String, String, String), JiraError> {
        let unsupported = || {
            JiraError::Invalid(format!(
                "Error in the JQL Query: `{clause}` is not supported here (use field = value, field != value, field ~ text or field is EMPTY, joined by AND)"
            ))
        };
        let lower = clause.to_ascii_lowercase();
        if let Some(field) = lower.strip_suffix(" is empty") {
            return Ok((field.trim().to_owned(), "empty".into(), String::new()));
        }
        let (at, op) = ["!=", "=", "~"]
            .iter()
            .find_map(|op| clause.find(op).map(|at| (at, *op)))
            .ok_or_else(unsupported)?;
        let field = clause[..at].trim().to_ascii_lowercase();
        let value = clause[at + op.len()..]
            .trim()
            .trim_matches('"')
            .trim_matches('\'');
        let known = [
            "project",
            "key",
            "status",
            "assignee",
            "issuetype",
            "type",
            "priority",
            "labels",
            "summary",
            "text",
        ];
        if !known.contains(&field.as_str()) || value.is_empty() {
            return Err(unsupported());
        }
        Ok((field, op.to_owned(), value.to_owned()))
    }

    fn matches(&self, issue: &Issue) -> bool {
        self.0.iter().all(|(field, op, value)| {
            let values: Vec<String> = match field.as_str() {
                "project" => vec![issue.project.clone()],
                "key" => vec![issue.key.clone()],
                "status" => vec![issue.status.clone()],
                "assignee" => issue
                    .assignee
                    .iter()
                    .chain(&issue.assignee_name)
                    .cloned()
                    .collect(),
                "issuetype" | "type" => vec![issue.issue_type.clone()],
                "priority" => issue.priority.iter().cloned().collect(),
                "labels" => issue.labels.clone(),
                "summary" => vec![issue.summary.clone()],
                _ => vec![format!(
                    "{} {}",
                    issue.summary,
                    issue.description.as_deref().unwrap_or_default()
                )],
            };
            let eq = values.iter().any(|v| v.eq_ignore_ascii_case(value));
            match op.as_str() {
                "=" => eq,
                "!=" => !eq,
                "empty" => values.is_empty(),
                _ => values
                    .iter()
                    .any(|v| v.to_lowercase().contains(&value.to_lowercase())),
            }
        })
    }
}

/// Wraps a synchronous answer as the trait's future.
fn ready<T: Send + 'static>(value: Result<T, JiraError>) -> BoxFuture<Result<T, JiraError>> {
    Box::pin(std::future::ready(value))
}

impl JiraApi for MemoryJira {
    fn search(
        &self,
        jql: String,
        max_results: u32,
        next_page_token: Option<String>,
    ) -> BoxFuture<Result<SearchResult, JiraError>> {
        let start = next_page_token.and_then(|t| t.parse().ok()).unwrap_or(0);
        ready(self.find(&jql, max_results as usize, start))
    }

    fn issue(&self, key: String) -> BoxFuture<Result<Issue, JiraError>> {
        ready(self.with_issue(&key, |issue| Ok(issue.clone())))
    }

    fn create(&self, new: NewIssue) -> BoxFuture<Result<Created, JiraError>> {
        ready(self.insert(&new))
    }

    fn update(&self, key: String, update: IssueUpdate) -> BoxFuture<Result<(), JiraError>> {
        ready(self.with_issue(&key, |issue| {
            if let Some(summary) = update.summary {
                issue.summary = summary;
            }
            if let Some(description) = update.description {
                issue.description = Some(description);
            }
            if let Some(labels) = update.labels {
                issue.labels = labels;
            }
            if let Some(priority) = update.priority {
                issue.priority = Some(priority);
            }
            issue.updated = Some(timestamp(now_secs()));
            Ok(())
        }))
    }

    fn transitions(&self, key: String) -> BoxFuture<Result<Vec<Transition>, JiraError>> {
        ready(self.with_issue(&key, |issue| {
            Ok(WORKFLOW
                .iter()
                .filter(|(_, _, to)| *to != issue.status)
                .map(|(id, name, to)| Transition {
                    id: (*id).into(),
                    name: (*name).into(),
                    to: (*to).into(),
                })
                .collect())
        }))
    }

    fn transition(&self, key: String, transition_id: String) -> BoxFuture<Result<(), JiraError>> {
        ready(self.with_issue(&key, |issue| {
            let (_, _, to) = WORKFLOW
                .iter()
                .find(|(id, _, to)| *id == transition_id && *to != issue.status)
                .ok_or_else(|| {
                    JiraError::Invalid(format!(
                        "Transition id '{transition_id}' is not valid for this issue."
                    ))
                })?;
            issue.status = (*to).into();
            issue.updated = Some(timestamp(now_secs()));
            Ok(())
        }))
    }

    fn comment(&self, key: String, body: String) -> BoxFuture<Result<Comment, JiraError>> {
        let key = match self.with_issue(&key, |issue| Ok(issue.key.clone())) {
            Ok(key) => key,
            Err(e) => return ready(Err(e)),
        };
        let mut state = self.lock();
        state.next_id += 1;
        let comment = Comment {
            id: state.next_id.to_string(),
            body,
            author: Some("Sample user".into()),
            created: Some(timestamp(now_secs())),
        };
        state.comments.push((key, comment.clone()));
        ready(Ok(comment))
    }

    fn assign(&self, key: String, account_id: Option<String>) -> BoxFuture<Result<(), JiraError>> {
        let name = match &account_id {
            None => None,
            Some(id) => match ACCOUNTS.iter().find(|(a, _)| a == id) {
                Some((_, name)) => Some((*name).to_owned()),
                None => {
                    return ready(Err(JiraError::NotFound(format!(
                        "User '{id}' does not exist."
                    ))));
                }
            },
        };
        ready(self.with_issue(&key, |issue| {
            issue.assignee = account_id;
            issue.assignee_name = name;
            Ok(())
        }))
    }

    fn projects(
        &self,
        query: Option<String>,
        max_results: u32,
    ) -> BoxFuture<Result<Vec<Project>, JiraError>> {
        let query = query.unwrap_or_default().to_lowercase();
        let state = self.lock();
        ready(Ok(state
            .projects
            .iter()
            .filter(|p| {
                p.key.to_lowercase().contains(&query) || p.name.to_lowercase().contains(&query)
            })
            .take(max_results as usize)
            .cloned()
            .collect()))
    }

    fn is_offline(&self) -> bool {
        true
    }
}

/// The comments of an issue, oldest first (for tests and the mock).
pub fn comments_of(jira: &MemoryJira, key: &str) -> Vec<Comment> {
    jira.lock()
        .comments
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, c)| c.clone())
        .collect()
}
