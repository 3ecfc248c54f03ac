//! A local mock of the Jira Cloud REST API v3, over a [`MemoryJira`]: the
//! endpoints the client uses, Jira's JSON shapes and error bodies, basic
//! auth, and a log of the requests it received, so tests can count the
//! calls that reached "Jira".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{JiraApi, JiraError};
use super::memory::MemoryJira;
use super::model::{IssueUpdate, NewIssue, comment_to_wire, from_adf, issue_to_wire};

#[derive(Clone)]
struct Mock {
    jira: MemoryJira,
    authorization: String,
    log: Arc<Mutex<Vec<String>>>,
    create_delay: Duration,
}

/// A running mock Jira on a loopback port.
#[derive(Debug, Clone)]
pub struct MockJira {
    addr: SocketAddr,
    jira: MemoryJira,
    log: Arc<Mutex<Vec<String>>>,
}

impl MockJira {
    /// Starts a mock accepting `email` and `token`, over the sample project;
    /// creating an issue takes `create_delay` (a slow Jira).
    ///
    /// # Errors
    /// No loopback port could be bound.
    pub async fn start(email: &str, token: &str, create_delay: Duration) -> std::io::Result<Self> {
        let jira = MemoryJira::sample();
        let log = Arc::new(Mutex::new(Vec::new()));
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"));
        let mock = Mock {
            jira: jira.clone(),
            authorization: format!("Basic {credentials}"),
            log: Arc::clone(&log),
            create_delay,
        };
        let app = Router::new()
            .route("/rest/api/3/search/jql", get(search))
            .route("/rest/api/3/issue", post(create))
            .route("/rest/api/3/issue/{key}", get(issue).put(update))
            .route(
                "/rest/api/3/issue/{key}/transitions",
                get(transitions).post(transition),
            )
            .route("/rest/api/3/issue/{key}/comment", post(comment))
            .route("/rest/api/3/issue/{key}/assignee", put(assign))
            .route("/rest/api/3/project/search", get(projects))
            .layer(middleware::from_fn_with_state(mock.clone(), check))
            .with_state(mock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the mock Jira stopped");
            }
        });
        Ok(Self { addr, jira, log })
    }

    /// Its base URL, for `JIRA_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its state, to inspect what the calls did.
    pub fn jira(&self) -> &MemoryJira {
        &self.jira
    }

    /// How many requests it answered that were exactly `METHOD /path`,
    /// such as `POST /rest/api/3/issue`.
    pub fn calls(&self, request: &str) -> usize {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|line| *line == request)
            .count()
    }
}

async fn check(State(mock): State<Mock>, request: Request, next: Next) -> Response {
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(mock.authorization.as_str());
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
        )
            .into_response();
    }
    mock.log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(format!("{} {}", request.method(), request.uri().path()));
    next.run(request).await
}

fn error(e: &JiraError) -> Response {
    let status = match e {
        JiraError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = match e {
        JiraError::NotFound(m) | JiraError::Invalid(m) => m.clone(),
        other => other.to_string(),
    };
    (
        status,
        axum::Json(json!({"errorMessages": [message], "errors": {}})),
    )
        .into_response()
}

fn answer(result: Result<Value, JiraError>, ok: StatusCode) -> Response {
    match result {
        Ok(Value::Null) => StatusCode::NO_CONTENT.into_response(),
        Ok(value) => (ok, axum::Json(value)).into_response(),
        Err(e) => error(&e),
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    jql: String,
    #[serde(rename = "maxResults")]
    max_results: Option<u32>,
    #[serde(rename = "nextPageToken")]
    next_page_token: Option<String>,
}

async fn search(State(mock): State<Mock>, Query(q): Query<SearchQuery>) -> Response {
    let result = mock
        .jira
        .search(q.jql, q.max_results.unwrap_or(50), q.next_page_token)
        .await
        .map(|page| {
            json!({
                "issues": page.issues.iter().map(issue_to_wire).collect::<Vec<_>>(),
                "nextPageToken": page.next_page_token,
                "isLast": page.is_last,
            })
        });
    answer(result, StatusCode::OK)
}

async fn issue(State(mock): State<Mock>, Path(key): Path<String>) -> Response {
    answer(
        mock.jira.issue(key).await.map(|i| issue_to_wire(&i)),
        StatusCode::OK,
    )
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        doc => Some(from_adf(doc)),
    }
}

fn labels(value: &Value) -> Option<Vec<String>> {
    value.as_array().map(|l| {
        l.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

async fn create(State(mock): State<Mock>, axum::Json(body): axum::Json<Value>) -> Response {
    if !mock.create_delay.is_zero() {
        tokio::time::sleep(mock.create_delay).await;
    }
    let fields = &body["fields"];
    let new = NewIssue {
        project: fields["project"]["key"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        summary: fields["summary"].as_str().unwrap_or_default().to_owned(),
        issue_type: fields["issuetype"]["name"]
            .as_str()
            .unwrap_or("Task")
            .to_owned(),
        description: text(&fields["description"]),
        labels: labels(&fields["labels"]).unwrap_or_default(),
        priority: fields["priority"]["name"].as_str().map(str::to_owned),
    };
    let result = mock.jira.create(new).await.map(|created| {
        json!({"id": created.id, "key": created.key, "self": format!("/rest/api/3/issue/{}", created.id)})
    });
    answer(result, StatusCode::CREATED)
}

async fn update(
    State(mock): State<Mock>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let fields = &body["fields"];
    let update = IssueUpdate {
        summary: fields["summary"].as_str().map(str::to_owned),
        description: text(&fields["description"]),
        labels: labels(&fields["labels"]),
        priority: fields["priority"]["name"].as_str().map(str::to_owned),
    };
    answer(
        mock.jira.update(key, update).await.map(|()| Value::Null),
        StatusCode::NO_CONTENT,
    )
}

async fn transitions(State(mock): State<Mock>, Path(key): Path<String>) -> Response {
    let result = mock.jira.transitions(key).await.map(|list| {
        json!({"transitions": list.iter().map(|t| json!({
            "id": t.id, "name": t.name, "to": {"name": t.to},
        })).collect::<Vec<_>>()})
    });
    answer(result, StatusCode::OK)
}

async fn transition(
    State(mock): State<Mock>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let id = body["transition"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    answer(
        mock.jira.transition(key, id).await.map(|()| Value::Null),
        StatusCode::NO_CONTENT,
    )
}

async fn comment(
    State(mock): State<Mock>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let text = from_adf(&body["body"]);
    let result = mock
        .jira
        .comment(key, text)
        .await
        .map(|c| comment_to_wire(&c));
    answer(result, StatusCode::CREATED)
}

async fn assign(
    State(mock): State<Mock>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let account = body["accountId"].as_str().map(str::to_owned);
    answer(
        mock.jira.assign(key, account).await.map(|()| Value::Null),
        StatusCode::NO_CONTENT,
    )
}

#[derive(Deserialize)]
struct ProjectQuery {
    query: Option<String>,
    #[serde(rename = "maxResults")]
    max_results: Option<u32>,
}

async fn projects(State(mock): State<Mock>, Query(q): Query<ProjectQuery>) -> Response {
    let result = mock
        .jira
        .projects(q.query, q.max_results.unwrap_or(50))
        .await
        .map(|list| {
            json!({
                "values": list.iter().map(|p| json!({
                    "id": p.id, "key": p.key, "name": p.name, "projectTypeKey": p.project_type,
                })).collect::<Vec<_>>(),
                "isLast": true,
            })
        });
    answer(result, StatusCode::OK)
}
