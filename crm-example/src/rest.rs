//! A small REST API for web clients, next to MCP on the same router.
//!
//! Every `/api` request passes the MCP service's own checks
//! ([`McpService::authorize`]): its authenticator (`MCP_API_KEYS`,
//! `MCP_API_KEYS_FILE`, `MCP_OAUTH_*`), its trusted tenant header
//! (`MCP_TENANT_HEADER`) and its per-caller rate limit, so one
//! configuration governs both. With tenancy required a request's tenant is
//! its principal's: the credential's own, or the trusted header's when the
//! server sits behind a gateway that sets it. Without an authenticator
//! (local development) requests are anonymous, and with tenancy required
//! only the trusted header can name a tenant.

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, body::Body};
use mcp_server::Server;
use mcp_server::auth::Principal;
use mcp_server::transport::http::{HttpConfig, McpBody, McpService};
use serde::Deserialize;

use crate::db::{CrmError, Db};
use crate::model::Stage;
use crate::tenant::Tenancy;

impl IntoResponse for CrmError {
    fn into_response(self) -> Response {
        let status = match &self {
            CrmError::Invalid(_) => StatusCode::BAD_REQUEST,
            // The MCP side's refusal when no tenant is named; over REST
            // the request is authenticated, so it is not allowed (403).
            CrmError::TenantRequired => StatusCode::FORBIDDEN,
            CrmError::NotFound { .. } => StatusCode::NOT_FOUND,
            // The database's own message was logged where it arose.
            CrmError::Migration { .. } | CrmError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error_response(status, &self.to_string())
    }
}

fn error_response(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// Why a REST request failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The CRM refused or failed.
    #[error(transparent)]
    Crm(#[from] CrmError),
    /// The principal lacks a scope the route needs (403).
    #[error("forbidden: this needs the scopes {}", .required.join(" "))]
    InsufficientScope {
        /// The scopes the route needs.
        required: Vec<String>,
    },
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        match self {
            Self::Crm(e) => e.into_response(),
            Self::InsufficientScope { ref required } => {
                let mut response = error_response(StatusCode::FORBIDDEN, &self.to_string());
                // The challenge the MCP side sends for a missing tool scope.
                let challenge = format!(
                    r#"Bearer error="insufficient_scope", scope="{}""#,
                    required.join(" ")
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
        }
    }
}

/// The REST API's settings: the database, whether tenancy is required, and
/// the scopes its reads and writes need. Who is calling, and for which
/// tenant, is the MCP service's to say (see the module documentation).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use crm_example::rest::RestApi;
/// use crm_example::{Crm, Db, Tenancy};
/// use mcp_server::auth::ApiKeys;
/// use mcp_server::transport::http::HttpConfig;
///
/// let db = Db::connect("sqlite://data/crm.db").await?;
/// let server = mcp_server::Server::new(Crm::new(db.clone()).tenancy(Tenancy::Required));
/// let keys = ApiKeys::parse("alice@acme:a-long-random-key:crm:read")?;
/// let app = RestApi::new(db)
///     .tenancy(Tenancy::Required)
///     .scopes(["crm:read"], ["crm:write"])
///     .app(server, HttpConfig::default().authenticator(keys));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RestApi {
    db: Db,
    tenancy: Tenancy,
    read_scopes: Vec<String>,
    write_scopes: Vec<String>,
}

impl RestApi {
    /// The API over `db`, with tenancy off and no scopes required.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            tenancy: Tenancy::Off,
            read_scopes: Vec::new(),
            write_scopes: Vec::new(),
        }
    }

    /// Whether requests must name a tenant and see only its rows; give
    /// the same as the [`Crm`](crate::Crm) it serves next to.
    #[must_use]
    pub fn tenancy(mut self, tenancy: Tenancy) -> Self {
        self.tenancy = tenancy;
        self
    }

    /// The scopes a principal needs for reads (`GET`, `HEAD`) and for
    /// everything else; without them, 403. Give the scopes the CRM's read
    /// and write tools declare, so a credential may do the same over both.
    /// Default none, as the tools declare none. Anonymous requests (no
    /// authenticator, no tenant header) are not checked.
    #[must_use]
    pub fn scopes<R, W, S>(mut self, read: R, write: W) -> Self
    where
        R: IntoIterator<Item = S>,
        W: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.read_scopes = read.into_iter().map(Into::into).collect();
        self.write_scopes = write.into_iter().map(Into::into).collect();
        self
    }

    /// The database as `principal` may see it.
    fn scope(&self, principal: Option<&Principal>) -> Result<Db, RestError> {
        let tenant = principal.and_then(|p| p.tenant.as_deref());
        self.tenancy
            .scope(&self.db, tenant)
            .ok_or(RestError::Crm(CrmError::TenantRequired))
    }

    /// The whole web application: `/api/contacts`, `/api/companies`,
    /// `/api/deals` (with `/{id}`), MCP at `/mcp` (and the legacy `/sse`),
    /// `/health` and `/ready`.
    pub fn app(self, server: Server, config: HttpConfig) -> Router {
        self.router(McpService::new(server, config))
    }

    /// [`RestApi::app`] around a given MCP service, so the caller keeps a
    /// handle on it to [`drain`](McpService::drain) it at shutdown. The
    /// REST routes are checked with the service's authenticator, tenant
    /// header and rate limit.
    pub fn router(self, mcp: McpService) -> Router {
        let guard = Guard {
            api: self,
            mcp: mcp.clone(),
        };
        Router::new()
            .route("/api/contacts", get(contacts))
            .route("/api/contacts/{id}", get(contact))
            .route("/api/companies", get(companies))
            .route("/api/companies/{id}", get(company))
            .route("/api/deals", get(deals))
            .route("/api/deals/{id}", get(deal))
            // Around every route and method, including those answered 405,
            // so an unauthenticated caller learns nothing of the API.
            .layer(middleware::from_fn_with_state(guard, admit))
            // Everything else is the MCP service's: /mcp, the legacy SSE
            // endpoints, probes, /metrics, /diagnostics, OAuth metadata.
            .fallback_service(mcp)
    }
}

/// What the REST routes are checked with.
#[derive(Clone)]
struct Guard {
    api: RestApi,
    mcp: McpService,
}

/// The database as the request's tenant sees it, once admitted.
#[derive(Clone)]
struct TenantDb(Db);

/// Authenticates the request, checks its scopes and finds its tenant; the
/// handler gets the tenant's database.
async fn admit(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let principal = match guard.mcp.authorize(&request).await {
        Ok(principal) => principal,
        Err(refusal) => return rest_refusal(refusal).await,
    };
    let api = &guard.api;
    let required = if matches!(*request.method(), Method::GET | Method::HEAD) {
        &api.read_scopes
    } else {
        &api.write_scopes
    };
    if let Some(principal) = &principal
        && !principal.has_scopes(required)
    {
        tracing::info!(principal = %principal.id, ?required, "refused a REST request lacking scopes");
        return RestError::InsufficientScope {
            required: required.clone(),
        }
        .into_response();
    }
    match api.scope(principal.as_ref()) {
        Ok(db) => {
            request.extensions_mut().insert(TenantDb(db));
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

/// The MCP service's refusal with its status and headers (the
/// `WWW-Authenticate` challenge, `Retry-After`), its JSON-RPC error body
/// turned into the REST API's `{"error": "..."}`.
async fn rest_refusal(refusal: axum::http::Response<McpBody>) -> Response {
    let (mut parts, body) = refusal.into_parts();
    // The service's error bodies are a few hundred bytes.
    let bytes = axum::body::to_bytes(Body::new(body), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| parts.status.to_string());
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut response = error_response(parts.status, &message);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
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
    Extension(TenantDb(db)): Extension<TenantDb>,
    Query(q): Query<ContactQuery>,
) -> Result<Response, RestError> {
    let limit = q.limit.clamp(1, 200);
    let (contacts, total) = db
        .search_contacts(&q.q, q.company_id, q.tag.as_deref(), limit, q.offset.max(0))
        .await?;
    Ok(axum::Json(serde_json::json!({ "total": total, "contacts": contacts })).into_response())
}

async fn contact(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Path(id): Path<i64>,
) -> Result<Response, RestError> {
    Ok(axum::Json(db.contact_details(id).await?).into_response())
}

async fn companies(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Query(q): Query<CompanyQuery>,
) -> Result<Response, RestError> {
    let companies = db
        .list_companies(q.q.as_deref(), q.limit.clamp(1, 200), q.offset.max(0))
        .await?;
    Ok(axum::Json(serde_json::json!({ "companies": companies })).into_response())
}

async fn company(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Path(id): Path<i64>,
) -> Result<Response, RestError> {
    Ok(axum::Json(db.company(id).await?).into_response())
}

async fn deals(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Query(q): Query<DealQuery>,
) -> Result<Response, RestError> {
    let stage = q.stage.as_deref().map(str::parse::<Stage>).transpose()?;
    let deals = db
        .list_deals(stage, q.owner.as_deref(), q.company_id)
        .await?;
    Ok(axum::Json(serde_json::json!({ "deals": deals })).into_response())
}

async fn deal(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Path(id): Path<i64>,
) -> Result<Response, RestError> {
    Ok(axum::Json(db.deal(id).await?).into_response())
}

/// The whole web application with tenancy off: `/api/contacts`,
/// `/api/companies`, `/api/deals` (with `/{id}`), MCP at `/mcp` (and the
/// legacy `/sse`), `/health` and `/ready`. [`RestApi`] configures tenancy.
pub fn app(db: Db, server: Server, config: HttpConfig) -> Router {
    RestApi::new(db).app(server, config)
}
