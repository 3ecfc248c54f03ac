//! `sql-mcp`: read-only report templates over stdio (the default) or HTTP,
//! with `GET /templates` next to MCP.
//!
//! `sql-mcp rollback <version>` rolls the database back to a migration
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
use sql_jira_example::sql::{self, Limits, Reader, SqlReports};
use sql_jira_example::store::{SQL_MIGRATIONS, Store};

const DEFAULT_DATABASE: &str = "sqlite://data/sql-reports.db";

#[tokio::main]
async fn main() -> ExitCode {
    // LOG_LEVEL and LOG_FORMAT (json for structured logs), to stderr: on
    // stdio, stdout carries MCP.
    mcp_server::transport::stdio::init_stderr_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("sql-mcp: {message}");
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
    let transport = app::transport_args(app::SQL_PORT_VAR).map_err(|e| (2, e.to_string()))?;
    let defaults = Limits::default();
    let limits = Limits {
        row_cap: app::env_or("SQL_ROW_CAP", defaults.row_cap, |v| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| format!("`{v}` is not a number of rows from 1 to 100000"))
        })
        .map_err(|e| (2, e))?,
        statement_timeout: app::env_or(
            "SQL_STATEMENT_TIMEOUT",
            defaults.statement_timeout,
            app::parse_duration,
        )
        .map_err(|e| (2, e))?,
    };
    let store = Store::connect(&url, SQL_MIGRATIONS)
        .await
        .map_err(|e| (1, format!("cannot open the database: {}", report(&e))))?;
    sql::seed_if_empty(&store)
        .await
        .map_err(|e| (1, format!("cannot seed the database: {}", report(&e))))?;
    let reader = Reader::open(&store).await.map_err(|e| {
        (
            1,
            format!("cannot open the read-only connections: {}", report(&e)),
        )
    })?;
    let dialect = store.dialect();
    let pinged = store.clone();
    let builder = sql::builder(SqlReports::new(reader, dialect, limits))
        .audit(DbAudit::new(store.clone(), "sql-mcp"))
        .readiness_check("database", move || {
            let store = pinged.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        });
    let server = app::env_settings(builder)
        .map_err(|e| (2, e.to_string()))?
        .build();
    tracing::info!(row_cap = limits.row_cap, timeout = ?limits.statement_timeout, ?dialect, "reports ready");
    let routes = Router::new().route(
        "/templates",
        get(move || async move { axum::Json(sql::describe_all(dialect)) }),
    );
    let result = app::serve(
        server,
        transport,
        routes,
        Gateway::from_env(),
        "SQL reports",
    )
    .await;
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
            "usage: sql-mcp rollback <version> (0 drops every table)".to_owned(),
        ))?;
    let store = Store::connect(url, &[])
        .await
        .map_err(|e| (1, format!("cannot open the database: {}", report(&e))))?;
    let undone = store
        .migrate_down(SQL_MIGRATIONS, target)
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
