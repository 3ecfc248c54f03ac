//! `jira-mcp`: Jira Cloud tools over stdio (the default) or HTTP, with
//! `GET /tools` next to MCP.
//!
//! `jira-mcp rollback <version>` rolls the database back to a migration
//! version (0: drops every table it created) and exits. The environment
//! is described in docs/examples/sql-jira.md.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use axum::Router;
use axum::routing::get;
use sql_jira_example::app::{self, Gateway};
use sql_jira_example::audit::DbAudit;
use sql_jira_example::idempotency::Idempotency;
use sql_jira_example::jira::{self, Jira};
use sql_jira_example::store::{COMMON_MIGRATIONS, Store};

const DEFAULT_DATABASE: &str = "sqlite://data/jira-mcp.db";

#[tokio::main]
async fn main() -> ExitCode {
    // LOG_LEVEL and LOG_FORMAT (json for structured logs), to stderr: on
    // stdio, stdout carries MCP.
    mcp_server::transport::stdio::init_stderr_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("jira-mcp: {message}");
            ExitCode::from(code)
        }
    }
}

async fn run() -> Result<(), (u8, String)> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE.into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("rollback") {
        return rollback(&url, args.get(1)).await;
    }
    let transport = app::transport_args(app::JIRA_PORT_VAR).map_err(|e| (2, e.to_string()))?;
    let ttl = app::idempotency_ttl().map_err(|e| (2, e))?;
    let api = jira::from_env().map_err(|e| (1, e.to_string()))?;
    if api.is_offline() {
        tracing::warn!(
            "JIRA_OFFLINE is set or JIRA_BASE_URL, JIRA_EMAIL or JIRA_API_TOKEN is missing: serving an in-memory sample project"
        );
    }
    let store = Store::connect(&url, COMMON_MIGRATIONS)
        .await
        .map_err(|e| (1, format!("cannot open the database: {}", report(&e))))?;
    let tools = Jira::new(api, Idempotency::new(store.clone(), ttl));
    let listing = app::tool_list(tools.clone());
    let pinged = store.clone();
    let builder = jira::builder(tools)
        .audit(DbAudit::new(store, "jira-mcp"))
        .readiness_check("database", move || {
            let store = pinged.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        });
    let server = app::env_settings(builder)
        .map_err(|e| (2, e.to_string()))?
        .build();
    let routes = Router::new().route(
        "/tools",
        get(move || {
            let listing = listing.clone();
            async move { axum::Json(listing) }
        }),
    );
    let result = app::serve(server, transport, routes, Gateway::from_env(), "Jira").await;
    // Spans still batched for an OpenTelemetry collector (feature otel).
    if let Err(e) = mcp_server::telemetry::shutdown().await {
        tracing::warn!(error = %e, "could not flush the trace exporter");
    }
    result.map_err(|e| (1, e))
}

async fn rollback(url: &str, target: Option<&String>) -> Result<(), (u8, String)> {
    let target: i64 = target
        .and_then(|t| t.parse().ok())
        .filter(|t| *t >= 0)
        .ok_or((
            2,
            "usage: jira-mcp rollback <version> (0 drops every table)".to_owned(),
        ))?;
    let store = Store::connect(url, &[])
        .await
        .map_err(|e| (1, format!("cannot open the database: {}", report(&e))))?;
    let undone = store
        .migrate_down(COMMON_MIGRATIONS, target)
        .await
        .map_err(|e| (1, report(&e)))?;
    tracing::info!(?undone, target, "rolled back");
    Ok(())
}

/// An error with its cause: the operator is told what the database said.
fn report(e: &sql_jira_example::store::StoreError) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}
