//! `crm-mcp`: the CRM over stdio (the default) or HTTP with its REST API.
//!
//! Env: `DATABASE_URL` (default `sqlite://data/crm.db`; `sqlite::memory:`
//! for a throwaway database; `postgres://...`), `CRM_TENANCY`
//! (`off` or `required`), `CRM_IDEMPOTENCY_TTL` (default `24h`),
//! `MCP_TRANSPORT`, `HOST`, `PORT`, `LOG_LEVEL`,
//! `MCP_API_KEYS`, `MCP_API_KEYS_FILE`, `MCP_OAUTH_*`, `MCP_TENANT_HEADER`,
//! `MCP_RATE_LIMIT` (MCP and REST alike), `CRM_REST_READ_SCOPES` and
//! `CRM_REST_WRITE_SCOPES` (the scopes REST reads and writes need,
//! separated by spaces or commas; default none); flags `--transport`, `--host`,
//! `--port`.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use crm_example::rest::RestApi;
use crm_example::{Crm, Db, Tenancy};
use mcp_server::Server;
use mcp_server::transport::TransportArgs;
use mcp_server::transport::http::{HostPolicy, McpService, shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    // LOG_LEVEL and LOG_FORMAT, to stderr: on stdio, stdout carries MCP.
    mcp_server::transport::stdio::init_stderr_logging();
    let transport = match TransportArgs::from_args() {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("crm-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    let tenancy = match std::env::var("CRM_TENANCY") {
        Err(std::env::VarError::NotPresent) => Tenancy::Off,
        Err(std::env::VarError::NotUnicode(value)) => {
            eprintln!("crm-mcp: invalid CRM_TENANCY {value:?}: use `off` or `required`");
            return ExitCode::from(2);
        }
        Ok(value) => match value.parse::<Tenancy>() {
            Ok(tenancy) => tenancy,
            Err(e) => {
                eprintln!("crm-mcp: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let idempotency_ttl = match std::env::var("CRM_IDEMPOTENCY_TTL") {
        Err(std::env::VarError::NotPresent) => crm_example::idempotency::DEFAULT_TTL,
        Err(std::env::VarError::NotUnicode(value)) => {
            eprintln!(
                "crm-mcp: invalid CRM_IDEMPOTENCY_TTL {value:?}: give a duration such as `24h`"
            );
            return ExitCode::from(2);
        }
        Ok(value) => match crm_example::idempotency::parse_ttl(&value) {
            Ok(ttl) => ttl,
            Err(e) => {
                eprintln!("crm-mcp: {e}");
                return ExitCode::from(2);
            }
        },
    };
    // TransportArgs::from_args read and checked it; REST goes by the same.
    let tenant_header = std::env::var("MCP_TENANT_HEADER").is_ok_and(|h| !h.trim().is_empty());
    if tenancy == Tenancy::Required {
        if !matches!(transport, TransportArgs::Http { .. }) {
            eprintln!(
                "crm-mcp: CRM_TENANCY=required needs --transport http: over stdio no request names a tenant"
            );
            return ExitCode::from(2);
        }
        let keys = ["MCP_API_KEYS", "MCP_API_KEYS_FILE", "MCP_OAUTH_ISSUER"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        if !keys && !tenant_header {
            tracing::warn!(
                "CRM_TENANCY=required without MCP_API_KEYS or MCP_TENANT_HEADER: no request can name a tenant, so every one is refused"
            );
        }
    }
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://data/crm.db".into());
    let db = match Db::connect(&url).await {
        Ok(db) => db.idempotency_ttl(idempotency_ttl),
        Err(e) => {
            eprintln!("crm-mcp: cannot open the database: {}", report(&e));
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = db.seed_if_empty().await {
        eprintln!("crm-mcp: cannot seed the database: {}", report(&e));
        return ExitCode::FAILURE;
    }
    let pinged = db.clone();
    let builder = Server::builder()
        .definition(Crm::new(db.clone()).tenancy(tenancy))
        .audit(crm_example::audit::DbAudit::new(db.clone()))
        .readiness_check("database", move || {
            let db = pinged.clone();
            async move { db.ping().await.map_err(|e| e.to_string()) }
        });
    let server = match builder.env_settings() {
        Ok(builder) => builder.build(),
        Err(e) => {
            eprintln!("crm-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match transport {
        TransportArgs::Http { addr, mut config } => {
            async {
                let listener = tokio::net::TcpListener::bind(&addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
                let local = listener.local_addr().map_err(|e| e.to_string())?;
                if !local.ip().is_loopback() && !matches!(config.hosts(), HostPolicy::List(_)) {
                    config = config.host_policy(HostPolicy::Any);
                }
                tracing::info!(%tenancy, "CRM on http://{local}: MCP at /mcp, REST at /api");
                // REST answers to MCP's authenticator, tenant header and
                // rate limit: one configuration for both.
                let rest = RestApi::new(db.clone())
                    .tenancy(tenancy)
                    .scopes(
                        scopes("CRM_REST_READ_SCOPES"),
                        scopes("CRM_REST_WRITE_SCOPES"),
                    )
                    .audit(crm_example::audit::DbAudit::new(db));
                let audited = server.clone();
                let mcp = McpService::new(server, config);
                let app = rest.router(mcp.clone());
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
                )
                // /ready turns 503 and new MCP work is refused for the grace
                // period (MCP_SHUTDOWN_GRACE); then the listener closes.
                .with_graceful_shutdown(async move {
                    shutdown_signal().await;
                    mcp.drain().await;
                })
                .await
                .map_err(|e| e.to_string())?;
                // The records of the last requests, stopped ones included.
                let flushed = std::time::Duration::from_secs(5);
                if tokio::time::timeout(flushed, audited.flush_audit())
                    .await
                    .is_err()
                {
                    tracing::warn!("audit records still unwritten 5s after the server stopped");
                }
                Ok(())
            }
            .await
        }
        other => server.serve(other).await.map_err(|e| e.to_string()),
    };
    // Spans still batched for an OpenTelemetry collector (feature otel).
    if let Err(e) = mcp_server::telemetry::shutdown().await {
        tracing::warn!(error = %e, "could not flush the trace exporter");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crm-mcp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The scopes an environment variable names, separated by spaces or
/// commas; none when it is unset.
fn scopes(name: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An error with its cause: the operator, unlike a tool's caller, is told
/// what the database said.
fn report(e: &crm_example::CrmError) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}
