//! A REST API for web clients, next to MCP on the same router: contacts,
//! companies, deals and activities, read (`GET`), created (`POST`, with an
//! `Idempotency-Key`), changed (`PATCH`, partial) and deleted (`DELETE`)
//! through the same [`Db`] functions as the tools, and described by an
//! OpenAPI 3.1 document at `GET /api/openapi.json` ([`openapi()`]).
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

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mcp_server::Server;
use mcp_server::audit::{AuditOutcome, AuditRecord, AuditSink};
use mcp_server::auth::Principal;
use mcp_server::transport::http::layers::MetricsLayer;
use mcp_server::transport::http::{HttpConfig, McpBody, McpService};
use sha2::{Digest, Sha256};

use crate::db::{CrmError, Db};
use crate::tenant::Tenancy;

mod extract;
mod openapi;
mod read;
mod write;

pub use openapi::document as openapi;

/// The largest request body the API reads: a contact with twenty tags or
/// an activity with a 10,000-character body is a few tens of kilobytes.
const MAX_BODY: usize = 256 * 1024;

impl IntoResponse for CrmError {
    fn into_response(self) -> Response {
        let status = match &self {
            CrmError::Invalid(_) => StatusCode::BAD_REQUEST,
            // The MCP side's refusal when no tenant is named; over REST
            // the request is authenticated, so it is not allowed (403).
            CrmError::TenantRequired => StatusCode::FORBIDDEN,
            CrmError::NotFound { .. } => StatusCode::NOT_FOUND,
            CrmError::Conflict(_) => StatusCode::CONFLICT,
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
    audit: Option<Arc<dyn AuditSink>>,
}

impl RestApi {
    /// The API over `db`, with tenancy off and no scopes required.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            tenancy: Tenancy::Off,
            read_scopes: Vec::new(),
            write_scopes: Vec::new(),
            audit: None,
        }
    }

    /// Where each request's audit record goes, once answered: give the
    /// MCP server's own sink (such as [`DbAudit`](crate::audit::DbAudit))
    /// so REST calls land in the same log as tool calls. The record's
    /// `method` is the HTTP method, its `target` the path, and
    /// `arguments_sha256` the body's digest. The record is written before
    /// the answer is sent, so no write is answered unrecorded. Default
    /// none.
    #[must_use]
    pub fn audit(mut self, sink: impl AuditSink) -> Self {
        self.audit = Some(Arc::new(sink));
        self
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
    /// `/api/deals`, `/api/activities` (with `/{id}`), the OpenAPI
    /// document at `/api/openapi.json`, MCP at `/mcp` (and the legacy
    /// `/sse`), `/health` and `/ready`.
    pub fn app(self, server: Server, config: HttpConfig) -> Router {
        self.router(McpService::new(server, config))
    }

    /// [`RestApi::app`] around a given MCP service, so the caller keeps a
    /// handle on it to [`drain`](McpService::drain) it at shutdown. The
    /// REST routes are checked with the service's authenticator, tenant
    /// header and rate limit; the OpenAPI document is public, as it tells
    /// nothing of the data.
    pub fn router(self, mcp: McpService) -> Router {
        let guard = Guard {
            api: self,
            mcp: mcp.clone(),
        };
        let api = Router::new()
            .route(
                "/api/contacts",
                get(read::contacts).post(write::create_contact),
            )
            .route(
                "/api/contacts/{id}",
                get(read::contact)
                    .patch(write::update_contact)
                    .delete(write::delete_contact),
            )
            .route(
                "/api/companies",
                get(read::companies).post(write::create_company),
            )
            .route(
                "/api/companies/{id}",
                get(read::company)
                    .patch(write::update_company)
                    .delete(write::delete_company),
            )
            .route("/api/deals", get(read::deals).post(write::create_deal))
            .route(
                "/api/deals/{id}",
                get(read::deal)
                    .patch(write::update_deal)
                    .delete(write::delete_deal),
            )
            .route(
                "/api/activities",
                get(read::activities).post(write::create_activity),
            )
            .route(
                "/api/activities/{id}",
                get(read::activity)
                    .patch(write::update_activity)
                    .delete(write::delete_activity),
            )
            // Around every route and method, including those answered 405,
            // so an unauthenticated caller learns nothing of the API.
            .layer(middleware::from_fn_with_state(guard, admit))
            // Outside the guard, so refusals count too: the REST API's
            // responses and their time in the server's /metrics
            // (`mcp_http_responses_total`, `mcp_http_response_seconds`).
            .layer(MetricsLayer::new(mcp.server()));
        Router::new()
            .route("/api/openapi.json", get(openapi_json))
            .merge(api)
            // Everything else is the MCP service's: /mcp, the legacy SSE
            // endpoints, probes, /metrics, /diagnostics, OAuth metadata.
            .fallback_service(mcp)
    }
}

/// `GET /api/openapi.json`.
async fn openapi_json() -> Response {
    axum::Json(openapi::document()).into_response()
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
/// handler gets the tenant's database. Every admitted request, answered or
/// refused for its scopes, is audited.
async fn admit(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let principal = match guard.mcp.authorize(&request).await {
        Ok(principal) => principal,
        Err(refusal) => return rest_refusal(refusal).await,
    };
    let api = &guard.api;
    let mut record = AuditRecord::new(request.method().as_str(), AuditOutcome::Ok);
    record.target = Some(request.uri().path().to_owned());
    record.read_only = Some(matches!(*request.method(), Method::GET | Method::HEAD));
    record.destructive = Some(request.method() == Method::DELETE);
    record.client_address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    if let Some(principal) = &principal {
        record.principal = Some(principal.id.clone());
        record.tenant.clone_from(&principal.tenant);
        record.issuer.clone_from(&principal.issuer);
    }
    let (request, digest) = match read_body(request).await {
        Ok(read) => read,
        Err(refusal) => return refusal,
    };
    record.arguments_sha256 = digest;
    let response = answer(api, principal.as_ref(), request, next).await;
    if let Some(sink) = &api.audit {
        let status = response.status();
        record.outcome = match status.as_u16() {
            200..=399 => AuditOutcome::Ok,
            401 | 403 => AuditOutcome::Denied,
            429 => AuditOutcome::RateLimited,
            _ => AuditOutcome::Error,
        };
        if record.outcome != AuditOutcome::Ok {
            record.error = Some(status.to_string());
        }
        record.http_status = Some(status.as_u16());
        record.time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        record.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        // A lost record is logged, not the caller's failure: the write
        // has happened.
        if let Err(e) = sink.write(std::slice::from_ref(&record)).await {
            tracing::error!(error = %e, "could not write a REST audit record");
        }
    }
    response
}

/// The request with its body read (at most [`MAX_BODY`], else 413), and
/// the body's SHA-256 digest when it has one.
async fn read_body(request: Request) -> Result<(Request, Option<String>), Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Err(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is too large: at most {MAX_BODY} bytes"),
        ));
    };
    let digest = (!bytes.is_empty()).then(|| {
        let mut hex = String::with_capacity(64);
        for byte in Sha256::digest(&bytes) {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    });
    Ok((Request::from_parts(parts, Body::from(bytes)), digest))
}

/// Checks the principal's scopes and tenant, then runs the handler.
async fn answer(
    api: &RestApi,
    principal: Option<&Principal>,
    mut request: Request,
    next: Next,
) -> Response {
    let required = if matches!(*request.method(), Method::GET | Method::HEAD) {
        &api.read_scopes
    } else {
        &api.write_scopes
    };
    if let Some(principal) = principal
        && !principal.has_scopes(required)
    {
        tracing::info!(principal = %principal.id, ?required, "refused a REST request lacking scopes");
        return RestError::InsufficientScope {
            required: required.clone(),
        }
        .into_response();
    }
    match api.scope(principal) {
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

/// The whole web application with tenancy off (see [`RestApi::app`]);
/// [`RestApi`] configures tenancy, scopes and auditing.
pub fn app(db: Db, server: Server, config: HttpConfig) -> Router {
    RestApi::new(db).app(server, config)
}
