//! `crm-mcp`: the CRM over stdio (the default) or HTTP with its REST API.
//!
//! Env: `DATABASE_URL` (default `sqlite://data/crm.db`), `MCP_TRANSPORT`,
//! `HOST`, `PORT`, `LOG_LEVEL`; flags `--transport`, `--host`, `--port`.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use crm_example::{Crm, Db};
use mcp_server::Server;
use mcp_server::transport::Transport;
use mcp_server::transport::http::{HostPolicy, shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    // LOG_LEVEL and LOG_FORMAT, to stderr: on stdio, stdout carries MCP.
    mcp_server::transport::stdio::init_stderr_logging();
    let transport = match Transport::from_args() {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("crm-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://data/crm.db".into());
    let db = match Db::connect(&url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("crm-mcp: cannot open the database: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = db.seed_if_empty().await {
        eprintln!("crm-mcp: cannot seed the database: {e}");
        return ExitCode::FAILURE;
    }
    let builder = Server::builder()
        .definition(Crm::new(db.clone()))
        .audit(crm_example::audit::DbAudit::new(db.clone()));
    let server = match builder.env_settings() {
        Ok(builder) => builder.build(),
        Err(e) => {
            eprintln!("crm-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match transport {
        Transport::Http { addr, mut config } => {
            async {
                let listener = tokio::net::TcpListener::bind(&addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
                let local = listener.local_addr().map_err(|e| e.to_string())?;
                if !local.ip().is_loopback() && !matches!(config.hosts(), HostPolicy::List(_)) {
                    config = config.host_policy(HostPolicy::Any);
                }
                tracing::info!("CRM on http://{local}: MCP at /mcp, REST at /api");
                axum::serve(listener, crm_example::rest::app(db, server, config))
                    .with_graceful_shutdown(shutdown_signal())
                    .await
                    .map_err(|e| e.to_string())
            }
            .await
        }
        other => server.serve(other).await.map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crm-mcp: {e}");
            ExitCode::FAILURE
        }
    }
}
