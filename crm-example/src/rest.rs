//! A small REST API for web clients, next to MCP on the same router.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mcp_server::Server;
use mcp_server::transport::http::{HttpConfig, McpService};
use serde::Deserialize;

use crate::db::{CrmError, Db};
use crate::model::Stage;

impl IntoResponse for CrmError {
    fn into_response(self) -> Response {
        let status = match &self {
            CrmError::Invalid(_) | CrmError::TenantRequired => StatusCode::BAD_REQUEST,
            CrmError::NotFound { .. } => StatusCode::NOT_FOUND,
            CrmError::Migration { .. } | CrmError::Database(_) => {
                tracing::error!(error = %self, "database error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            axum::Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

#[derive(Debug, Deserialize)]
struct ContactQuery {
    #[serde(default)]
    q: String,
    company_id: Option<i64>,
    tag: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

fn default_limit() -> i64 {
    50
}

#[derive(Debug, Deserialize)]
struct CompanyQuery {
    q: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

#[derive(Debug, Deserialize)]
struct DealQuery {
    stage: Option<String>,
    owner: Option<String>,
    company_id: Option<i64>,
}

async fn contacts(
    State(db): State<Db>,
    Query(q): Query<ContactQuery>,
) -> Result<Response, CrmError> {
    let limit = q.limit.clamp(1, 200);
    let (contacts, total) = db
        .search_contacts(&q.q, q.company_id, q.tag.as_deref(), limit, q.offset.max(0))
        .await?;
    Ok(axum::Json(serde_json::json!({ "total": total, "contacts": contacts })).into_response())
}

async fn contact(State(db): State<Db>, Path(id): Path<i64>) -> Result<Response, CrmError> {
    Ok(axum::Json(db.contact_details(id).await?).into_response())
}

async fn companies(
    State(db): State<Db>,
    Query(q): Query<CompanyQuery>,
) -> Result<Response, CrmError> {
    let companies = db
        .list_companies(q.q.as_deref(), q.limit.clamp(1, 200), q.offset.max(0))
        .await?;
    Ok(axum::Json(serde_json::json!({ "companies": companies })).into_response())
}

async fn company(State(db): State<Db>, Path(id): Path<i64>) -> Result<Response, CrmError> {
    Ok(axum::Json(db.company(id).await?).into_response())
}

async fn deals(State(db): State<Db>, Query(q): Query<DealQuery>) -> Result<Response, CrmError> {
    let stage = q.stage.as_deref().map(str::parse::<Stage>).transpose()?;
    let deals = db
        .list_deals(stage, q.owner.as_deref(), q.company_id)
        .await?;
    Ok(axum::Json(serde_json::json!({ "deals": deals })).into_response())
}

async fn deal(State(db): State<Db>, Path(id): Path<i64>) -> Result<Response, CrmError> {
    Ok(axum::Json(db.deal(id).await?).into_response())
}

/// The whole web application: `/api/contacts`, `/api/companies`,
/// `/api/deals` (with `/{id}`), MCP at `/mcp` (and the legacy `/sse`),
/// `/health` and `/ready`.
pub fn app(db: Db, server: Server, config: HttpConfig) -> Router {
    let mcp = McpService::new(server, config);
    Router::new()
        .route("/api/contacts", get(contacts))
        .route("/api/contacts/{id}", get(contact))
        .route("/api/companies", get(companies))
        .route("/api/companies/{id}", get(company))
        .route("/api/deals", get(deals))
        .route("/api/deals/{id}", get(deal))
        .route_service("/mcp", mcp.clone())
        .route_service("/sse", mcp.clone())
        .route_service("/messages", mcp.clone())
        .route_service("/health", mcp.clone())
        .route_service("/ready", mcp)
        .with_state(db)
}
