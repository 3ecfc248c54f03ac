//! The customer management server: HTTP on `PORT` (8080) by default,
//! stdio with `--transport stdio`. Env: `HOST`, `PORT`, `DB_PATH`
//! (`./data/customers.db`; `:memory:` for a throwaway database),
//! `LOG_LEVEL` (`info`), `DEBUG` (`true`: `debug` logs unless `RUST_LOG`
//! or `LOG_LEVEL` is set).
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::net::SocketAddr;
use std::process::ExitCode;

use customer::{Customers, Store};
use mcp_server::Server;
use mcp_server::transport::TransportArgs;
use mcp_server::transport::http::{HostPolicy, McpService, shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG, else LOG_LEVEL, else DEBUG's level, and LOG_FORMAT, to
    // stderr: on stdio, stdout carries MCP.
    let default_filter =
        match customer::logging::default_filter(std::env::var("DEBUG").ok().as_deref()) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!("customer: {e}");
                return ExitCode::from(2);
            }
        };
    mcp_server::transport::stdio::init_stderr_logging_with_default(default_filter);
    // This server's published contract is HTTP on port 8080.
    let env = |name: &str| {
        std::env::var(name).ok().or_else(|| match name {
            "MCP_TRANSPORT" => Some("http".into()),
            "PORT" => Some("8080".into()),
            _ => None,
        })
    };
    let transport = match TransportArgs::parse(std::env::args().skip(1), env) {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("customer: {e}");
            return ExitCode::from(2);
        }
    };
    let db_path = std::env::var("DB_PATH").unwrap_or_else(|_| "./data/customers.db".into());
    let store = match Store::open(&db_path).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("customer: cannot open the database at {db_path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let builder = match Server::builder()
        .definition(Customers::new(store))
        .env_settings()
    {
        Ok(builder) => builder,
        Err(e) => {
            eprintln!("customer: {e}");
            return ExitCode::from(2);
        }
    };
    let server = builder.build();
    let result = match transport {
        TransportArgs::Http { addr, config } => serve_http(server, &addr, config).await,
        other => server.serve(other).await.map_err(|e| e.to_string()),
    };
    // Spans still batched for an OpenTelemetry collector (feature otel).
    if let Err(e) = mcp_server::telemetry::shutdown().await {
        tracing::warn!(error = %e, "could not flush the trace exporter");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("customer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// MCP at `/mcp` (and the legacy `/sse`), `/health`, and the server's
/// description at `/`.
async fn serve_http(
    server: Server,
    addr: &str,
    mut config: mcp_server::transport::http::HttpConfig,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    if !local.ip().is_loopback() && !matches!(config.hosts(), HostPolicy::List(_)) {
        // Reached by other names than localhost (a container, a LAN).
        config = config.host_policy(HostPolicy::Any);
    }
    let mcp = McpService::new(server, config);
    let app = customer::http::router(mcp.clone());
    tracing::info!("customer server on http://{local}/mcp");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    // /ready turns 503 and new MCP work is refused for the grace period
    // (MCP_SHUTDOWN_GRACE); then the listener closes.
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        mcp.drain().await;
    })
    .await
    .map_err(|e| e.to_string())
}
