//! `iam-mcp`: the job-search server over stdio (default) or HTTP.
//!
//! Env: `RAPIDAPI_KEY`, `RAPIDAPI_HOST`, `IAM_DATA_ROOT` (`./data/iam`),
//! `MCP_TRANSPORT`, `HOST`, `PORT`, `LOG_LEVEL`.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use iam_example::server::Iam;
use mcp_server::transport::TransportArgs;

#[tokio::main]
async fn main() -> ExitCode {
    // LOG_LEVEL and LOG_FORMAT, to stderr: on stdio, stdout carries MCP.
    mcp_server::transport::stdio::init_stderr_logging();
    let transport = match TransportArgs::from_args() {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("iam-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    let provider = match iam_example::provider_from_env() {
        Ok(provider) => provider,
        Err(e) => {
            eprintln!("iam-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    if provider.is_offline() {
        tracing::warn!("RAPIDAPI_KEY is not set: serving the bundled sample dataset");
    }
    let data_root = std::env::var("IAM_DATA_ROOT").unwrap_or_else(|_| "./data/iam".into());
    let builder = match iam_example::server::builder(Iam::new(provider, data_root)).env_settings() {
        Ok(builder) => builder,
        Err(e) => {
            eprintln!("iam-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    let result = builder.build().serve(transport).await;
    // Spans still batched for an OpenTelemetry collector (feature otel).
    if let Err(e) = mcp_server::telemetry::shutdown().await {
        tracing::warn!(error = %e, "could not flush the trace exporter");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iam-mcp: {e}");
            ExitCode::FAILURE
        }
    }
}
