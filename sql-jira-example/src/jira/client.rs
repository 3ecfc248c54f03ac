//! The Jira Cloud REST API v3 client: basic auth with an e-mail address
//! and an API token, timeouts, retries of reads on 429 and 5xx (writes are
//! never retried: a lost answer must not create twice), and errors that
//! say what to fix.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::model::{
    Comment, Created, Issue, IssueUpdate, NewIssue, Project, SearchResult, Transition,
    comment_from_wire, issue_from_wire, to_adf,
};

/// The future a provider method returns: boxed, so the trait stays
/// object safe.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The fields a search or a read asks Jira for.
pub const FIELDS: &str =
    "summary,status,issuetype,project,assignee,priority,labels,description,created,updated";

/// Why Jira could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JiraError {
    /// The credentials were rejected, or lack a permission.
    #[error(
        "Jira refused the credentials (HTTP {0}): check JIRA_EMAIL, JIRA_API_TOKEN and the account's permissions"
    )]
    Auth(u16),
    /// No such issue or project (or not visible to the account).
    #[error("not found in Jira: {0}")]
    NotFound(String),
    /// Jira refused the request as invalid (its messages).
    #[error("Jira refused the request: {0}")]
    Invalid(String),
    /// Jira kept limiting the rate.
    #[error("Jira is limiting the request rate (HTTP 429): try again later")]
    RateLimited,
    /// Jira kept failing.
    #[error("Jira is failing (HTTP {0}): try again later")]
    Unavailable(u16),
    /// Jira did not answer in time.
    #[error("Jira did not answer within {0:?}")]
    Timeout(Duration),
    /// The request could not be sent.
    #[error("could not reach Jira: {0}")]
    Network(String),
    /// The answer was not what the API documents.
    #[error("Jira sent an answer this server cannot read: {0}")]
    Malformed(String),
}

/// What the tools need from Jira.
pub trait JiraApi: Send + Sync + 'static {
    /// Issues matching `jql`, a page at a time.
    fn search(
        &self,
        jql: String,
        max_results: u32,
        next_page_token: Option<String>,
    ) -> BoxFuture<Result<SearchResult, JiraError>>;
    /// One issue.
    fn issue(&self, key: String) -> BoxFuture<Result<Issue, JiraError>>;
    /// Creates an issue.
    fn create(&self, new: NewIssue) -> BoxFuture<Result<Created, JiraError>>;
    /// Changes an issue's fields.
    fn update(&self, key: String, update: IssueUpdate) -> BoxFuture<Result<(), JiraError>>;
    /// The transitions an issue can take now.
    fn transitions(&self, key: String) -> BoxFuture<Result<Vec<Transition>, JiraError>>;
    /// Moves an issue through a transition.
    fn transition(&self, key: String, transition_id: String) -> BoxFuture<Result<(), JiraError>>;
    /// Adds a comment.
    fn comment(&self, key: String, body: String) -> BoxFuture<Result<Comment, JiraError>>;
    /// Assigns an issue (`None`: unassigns it).
    fn assign(&self, key: String, account_id: Option<String>) -> BoxFuture<Result<(), JiraError>>;
    /// Projects whose key or name contains `query`.
    fn projects(
        &self,
        query: Option<String>,
        max_results: u32,
    ) -> BoxFuture<Result<Vec<Project>, JiraError>>;
    /// Whether this is the offline sample project rather than Jira.
    fn is_offline(&self) -> bool;
}

/// How to reach Jira.
#[derive(Debug, Clone)]
pub struct JiraConfig {
    /// The site, such as `https://your-domain.atlassian.net`.
    pub base_url: String,
    /// The account's e-mail address.
    pub email: String,
    /// Its API token.
    pub api_token: String,
    /// Per-request time limit.
    pub timeout: Duration,
    /// Attempts for reads answered 429 or 5xx.
    pub attempts: u32,
    /// The first backoff; it doubles after each attempt.
    pub backoff: Duration,
}

impl JiraConfig {
    /// The defaults for a site and credentials.
    pub fn new(
        base_url: impl Into<String>,
        email: impl Into<String>,
        api_token: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            email: email.into(),
            api_token: api_token.into(),
            timeout: Duration::from_secs(15),
            attempts: 3,
            backoff: Duration::from_millis(300),
        }
    }
}

/// The HTTP client for Jira Cloud.
#[derive(Debug, Clone)]
pub struct HttpJira {
    config: Arc<JiraConfig>,
    http: reqwest::Client,
}

impl HttpJira {
    /// A client with `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: JiraConfig) -> Result<Self, JiraError> {
        // ring is the TLS crypto provider; installing it twice is harmless.
        // Deprecated in rustls 0.23.48 (no post-quantum key exchange); ring
        // keeps the build free of aws-lc-rs's C toolchain.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("sql-jira-example/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JiraError::Network(e.to_string()))?;
        Ok(Self {
            config: Arc::new(config),
            http,
        })
    }

    /// Sends one request; reads (`GET`) and `PUT`s are retried on 429 and
    /// 5xx, `POST`s never. Returns the JSON body (`Null` when empty).
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Value, JiraError> {
        let url = format!("{}/rest/api/3{path}", self.config.base_url);
        let attempts = if method == Method::POST {
            1
        } else {
            self.config.attempts.max(1)
        };
        let mut last = 0;
        for attempt in 1..=attempts {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .basic_auth(&self.config.email, Some(&self.config.api_token))
                .header("Accept", "application/json")
                .query(query);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| self.transport(&e))?;
            let status = response.status().as_u16();
            if (status == 429 || status >= 500) && attempt < attempts {
                last = status;
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                let backoff = self.config.backoff * 2u32.saturating_pow(attempt - 1);
                let wait = retry_after.unwrap_or(backoff).min(Duration::from_secs(30));
                tracing::warn!(status, attempt, ?wait, "Jira busy; retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            let bytes = response.bytes().await.map_err(|e| self.transport(&e))?;
            let value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            };
            return match status {
                200..=299 => Ok(value),
                401 | 403 => Err(JiraError::Auth(status)),
                404 => Err(JiraError::NotFound(
                    messages(&value).unwrap_or_else(|| path.to_owned()),
                )),
                429 => Err(JiraError::RateLimited),
                400..=499 => Err(JiraError::Invalid(
                    messages(&value).unwrap_or_else(|| format!("HTTP {status}")),
                )),
                _ => Err(JiraError::Unavailable(status)),
            };
        }
        Err(if last == 429 {
            JiraError::RateLimited
        } else {
            JiraError::Unavailable(last)
        })
    }

    fn transport(&self, e: &reqwest::Error) -> JiraError {
        if e.is_timeout() {
            JiraError::Timeout(self.config.timeout)
        } else {
            JiraError::Network(e.to_string())
        }
    }
}

/// Jira's error messages: `errorMessages` and the per-field `errors`.
fn messages(value: &Value) -> Option<String> {
    let mut out: Vec<String> = value["errorMessages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(errors) = value["errors"].as_object() {
        out.extend(
            errors
                .iter()
                .map(|(field, m)| format!("{field}: {}", m.as_str().unwrap_or_default())),
        );
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// `/issue/{key}`, with the key checked so it cannot change the path.
fn issue_path(key: &str, rest: &str) -> Result<String, JiraError> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(format!("/issue/{key}{rest}"))
    } else {
        Err(JiraError::Invalid(format!(
            "`{key}` is not an issue key such as DEMO-1"
        )))
    }
}

impl JiraApi for HttpJira {
    fn search(
        &self,
        jql: String,
        max_results: u32,
        next_page_token: Option<String>,
    ) -> BoxFuture<Result<SearchResult, JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let mut query = vec![
                ("jql", jql),
                ("maxResults", max_results.to_string()),
                ("fields", FIELDS.to_owned()),
            ];
            if let Some(token) = next_page_token {
                query.push(("nextPageToken", token));
            }
            let value = this.send(Method::GET, "/search/jql", &query, None).await?;
            let issues = value["issues"]
                .as_array()
                .ok_or_else(|| JiraError::Malformed("no `issues` in the search answer".into()))?
                .iter()
                .map(issue_from_wire)
                .collect::<Result<Vec<_>, _>>()
                .map_err(JiraError::Malformed)?;
            let next_page_token = value["nextPageToken"].as_str().map(str::to_owned);
            Ok(SearchResult {
                is_last: value["isLast"]
                    .as_bool()
                    .unwrap_or(next_page_token.is_none()),
                issues,
                next_page_token,
            })
        })
    }

    fn issue(&self, key: String) -> BoxFuture<Result<Issue, JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let path = issue_path(&key, "")?;
            let value = this
                .send(Method::GET, &path, &[("fields", FIELDS.to_owned())], None)
                .await?;
            issue_from_wire(&value).map_err(JiraError::Malformed)
        })
    }

    fn create(&self, new: NewIssue) -> BoxFuture<Result<Created, JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let mut fields = json!({
                "project": {"key": new.project},
                "summary": new.summary,
                "issuetype": {"name": new.issue_type},
                "labels": new.labels,
            });
            if let Some(description) = &new.description {
                fields["description"] = to_adf(description);
            }
            if let Some(priority) = &new.priority {
                fields["priority"] = json!({"name": priority});
            }
            let value = this
                .send(Method::POST, "/issue", &[], Some(json!({"fields": fields})))
                .await?;
            serde_json::from_value(value).map_err(|e| JiraError::Malformed(e.to_string()))
        })
    }

    fn update(&self, key: String, update: IssueUpdate) -> BoxFuture<Result<(), JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let path = issue_path(&key, "")?;
            let mut fields = serde_json::Map::new();
            if let Some(summary) = update.summary {
                fields.insert("summary".into(), json!(summary));
            }
            if let Some(description) = update.description {
                fields.insert("description".into(), to_adf(&description));
            }
            if let Some(labels) = update.labels {
                fields.insert("labels".into(), json!(labels));
            }
            if let Some(priority) = update.priority {
                fields.insert("priority".into(), json!({"name": priority}));
            }
            let body = json!({"fields": fields});
            this.send(Method::PUT, &path, &[], Some(body))
                .await
                .map(drop)
        })
    }

    fn transitions(&self, key: String) -> BoxFuture<Result<Vec<Transition>, JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let path = issue_path(&key, "/transitions")?;
            let value = this.send(Method::GET, &path, &[], None).await?;
            Ok(value["transitions"]
                .as_array()
                .ok_or_else(|| JiraError::Malformed("no `transitions`".into()))?
                .iter()
                .map(|t| Transition {
                    id: t["id"].as_str().unwrap_or_default().to_owned(),
                    name: t["name"].as_str().unwrap_or_default().to_owned(),
                    to: t["to"]["name"].as_str().unwrap_or_default().to_owned(),
                })
                .collect())
        })
    }

    fn transition(&self, key: String, transition_id: String) -> BoxFuture<Result<(), JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let path = issue_path(&key, "/transitions")?;
            let body = json!({"transition": {"id": transition_id}});
            this.send(Method::POST, &path, &[], Some(body))
                .await
                .map(drop)
        })
    }

    fn comment(&self, key: String, body: String) -> BoxFuture<Result<Comment, JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let path = issue_path(&key, "/comment")?;
            let value = this
                .send(
                    Method::POST,
                    &path,
                    &[],
                    Some(json!({"body": to_adf(&body)})),
                )
                .await?;
            Ok(comment_from_wire(&value))
        })
    }

    fn assign(&self, key: String, account_id: Option<String>) -> BoxFuture<Result<(), JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let path = issue_path(&key, "/assignee")?;
            let body = json!({"accountId": account_id});
            this.send(Method::PUT, &path, &[], Some(body))
                .await
                .map(drop)
        })
    }

    fn projects(
        &self,
        query: Option<String>,
        max_results: u32,
    ) -> BoxFuture<Result<Vec<Project>, JiraError>> {
        let this = self.clone();
        Box::pin(async move {
            let mut params = vec![("maxResults", max_results.to_string())];
            if let Some(query) = query {
                params.push(("query", query));
            }
            let value = this
                .send(Method::GET, "/project/search", &params, None)
                .await?;
            Ok(value["values"]
                .as_array()
                .ok_or_else(|| JiraError::Malformed("no `values` in the project list".into()))?
                .iter()
                .map(|p| Project {
                    id: p["id"].as_str().unwrap_or_default().to_owned(),
                    key: p["key"].as_str().unwrap_or_default().to_owned(),
                    name: p["name"].as_str().unwrap_or_default().to_owned(),
                    project_type: p["projectTypeKey"].as_str().map(str::to_owned),
                })
                .collect())
        })
    }

    fn is_offline(&self) -> bool {
        false
    }
}
