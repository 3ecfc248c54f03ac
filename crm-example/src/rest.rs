//! A small REST API for web clients, next to MCP on the same router.
//!
//! The REST API has no credentials of its own. With tenancy required it
//! learns the tenant from the same trusted header a gateway sets for MCP
//! (`MCP_TENANT_HEADER`), and refuses every request when that header is
//! not configured (403) or a request lacks it (400).

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mcp_server::Server;
use mcp_server::transport::http::{HttpConfig, McpService};
use serde::Deserialize;

use crate::db::{CrmError, Db};
use crate::model::Stage;
use crate::tenant::Tenancy;

impl IntoResponse for CrmError {
    fn into_response(self) -> Response {
        let status = match &self {
            CrmError::Invalid(_) | CrmError::TenantRequired => StatusCode::BAD_REQUEST,
            CrmError::NotFound { .. } => StatusCode::NOT_FOUND,
            // The database's own message was logged where it arose.
            CrmError::Migration { .. } | CrmError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error_response(status, &self)
    }
}

fn error_response(status: StatusCode, error: &dyn std::error::Error) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": error.to_string() })),
    )
        .into_response()
}

/// Why a REST request failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The CRM refused or failed.
    #[error(transparent)]
    Crm(#[from] CrmError),
    /// Tenancy is required and the request lacks a usable tenant header
    /// (400).
    #[error(
        "this CRM server keeps each tenant's data apart and requires a tenant: send the `{header}` header \
         naming it (the gateway in front of the server sets it), a non-empty printable value of at most 128 bytes"
    )]
    TenantHeaderMissing {
        /// The header that names the tenant.
        header: HeaderName,
    },
    /// Tenancy is required and no tenant header is configured, so the REST
    /// API cannot tell tenants apart (403).
    #[error(
        "this CRM server requires a tenant, and its REST API learns the tenant only from a trusted header, \
         which is not configured: set MCP_TENANT_HEADER on a server behind a gateway that sets it, \
         or use MCP at /mcp with an API key issued as `name@tenant`"
    )]
    NoTenantHeader,
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        match self {
            Self::Crm(e) => e.into_response(),
            Self::TenantHeaderMissing { .. } => error_response(StatusCode::BAD_REQUEST, &self),
            Self::NoTenantHeader => error_response(StatusCode::FORBIDDEN, &self),
        }
    }
}

/// The REST API's settings: the database, whether tenancy is required,
/// and the trusted header that names a request's tenant.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::http::HeaderName;
/// use crm_example::rest::RestApi;
/// use crm_example::{Crm, Db, Tenancy};
/// use mcp_server::transport::http::HttpConfig;
///
/// let db = Db::connect("sqlite://data/crm.db").await?;
/// let server = mcp_server::Server::new(Crm::new(db.clone()).tenancy(Tenancy::Required));
/// let app = RestApi::new(db)
///     .tenancy(Tenancy::Required)
///     .tenant_header(HeaderName::from_static("x-tenant-id"))
///     .app(server, HttpConfig::default().tenant_header("X-Tenant-Id"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RestApi {
    db: Db,
    tenancy: Tenancy,
    tenant_header: Option<HeaderName>,
}

impl RestApi {
    /// The API over `db`, with tenancy off.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            tenancy: Tenancy::Off,
            tenant_header: None,
        }
    }

    /// Whether requests must name a tenant and see only its rows; give
    /// the same as the [`Crm`](crate::Crm) it serves next to.
    #[must_use]
    pub fn tenancy(mut self, tenancy: Tenancy) -> Self {
        self.tenancy = tenancy;
        self
    }

    /// Trusts `header` to name the request's tenant, as
    /// [`HttpConfig::tenant_header`] does for MCP: only behind a gateway
    /// that sets it, never where clients reach the server directly.
    #[must_use]
    pub fn tenant_header(mut self, header: HeaderName) -> Self {
        self.tenant_header = Some(header);
        self
    }

    /// The database as a request with these headers may see it.
    fn scope(&self, headers: &HeaderMap) -> Result<Db, RestError> {
        if self.tenancy == Tenancy::Off {
            return Ok(self.db.clone());
        }
        let Some(header) = &self.tenant_header else {
            return Err(RestError::NoTenantHeader);
        };
        // The same rule as the MCP transport's for this header.
        let tenant = headers
            .get(header)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128 && !t.contains(char::is_control));
        self.tenancy
            .scope(&self.db, tenant)
            .ok_or_else(|| RestError::TenantHeaderMissing {
                header: header.clone(),
            })
    }

    /// The whole web application: `/api/contacts`, `/api/companies`,
    /// `/api/deals` (with `/{id}`), MCP at `/mcp` (and the legacy `/sse`),
    /// `/health` and `/ready`.
    pub fn app(self, server: Server, config: HttpConfig) -> Router {
        self.router(McpService::new(server, config))
    }

    /// [`RestApi::app`] around a given MCP service, so the caller keeps a
    /// handle on it to [`drain`](McpService::drain) it at shutdown.
    pub fn router(self, mcp: McpService) -> Router {
        Router::new()
            .route("/api/contacts", get(contacts))
            .route("/api/contacts/{id}", get(contact))
            .route("/api/companies", get(companies))
            .route("/api/companies/{id}", get(company))
            .route("/api/deals", get(deals))
            .route("/api/deals/{id}", get(deal))
            // Everything else is the MCP service's: /mcp, the legacy SSE
            // endpoints, probes, /metrics, /diagnostics, OAuth metadata.
            .fallback_service(mcp)
            .with_state(self)
    }
}

/// The database as the request's tenant sees it.
struct TenantDb(Db);

impl FromRequestParts<RestApi> for TenantDb {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, api: &RestApi) -> Result<Self, RestError> {
        api.scope(&parts.headers).map(Self)
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
    TenantDb(db): TenantDb,
    Query(q): Query<ContactQuery>,
) -> Result<Response, RestError> {
    let limit = q.limit.clamp(1, 200);
    let (contacts, total) = db
        .search_contacts(&q.q, q.company_id, q.tag.as_deref(), limit, q.offset.max(0))
        .await?;
    Ok(axum::Json(serde_json::json!({ "total": total, "contacts": contacts })).into_response())
}

async fn contact(TenantDb(db): TenantDb, Path(id): Path<i64>) -> Result<Response, RestError> {
    Ok(axum::Json(db.contact_details(id).await?).into_response())
}

async fn companies(
    TenantDb(db): TenantDb,
    Query(q): Query<CompanyQuery>,
) -> Result<Response, RestError> {
    let companies = db
        .list_companies(q.q.as_deref(), q.limit.clamp(1, 200), q.offset.max(0))
        .await?;
    Ok(axum::Json(serde_json::json!({ "companies": companies })).into_response())
}

async fn company(TenantDb(db): TenantDb, Path(id): Path<i64>) -> Result<Response, RestError> {
    Ok(axum::Json(db.company(id).await?).into_response())
}

async fn deals(TenantDb(db): TenantDb, Query(q): Query<DealQuery>) -> Result<Response, RestError> {
    let stage = q.stage.as_deref().map(str::parse::<Stage>).transpose()?;
    let deals = db
        .list_deals(stage, q.owner.as_deref(), q.company_id)
        .await?;
    Ok(axum::Json(serde_json::json!({ "deals": deals })).into_response())
}

async fn deal(TenantDb(db): TenantDb, Path(id): Path<i64>) -> Result<Response, RestError> {
    Ok(axum::Json(db.deal(id).await?).into_response())
}

/// The whole web application with tenancy off: `/api/contacts`,
/// `/api/companies`, `/api/deals` (with `/{id}`), MCP at `/mcp` (and the
/// legacy `/sse`), `/health` and `/ready`. [`RestApi`] configures tenancy.
pub fn app(db: Db, server: Server, config: HttpConfig) -> Router {
    RestApi::new(db).app(server, config)
}
