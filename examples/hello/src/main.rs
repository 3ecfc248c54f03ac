//! The hello MCP server: stdio by default, HTTP with `--transport http`.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use hello::Hello;
use mcp_server::prelude::*;

#[tokio::main]
async fn main() -> ExitCode {
    let transport = match TransportArgs::from_args() {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("hello: {e}");
            return ExitCode::from(2);
        }
    };
    let builder = match Server::builder().definition(Hello).env_settings() {
        Ok(builder) => builder,
        Err(e) => {
            eprintln!("hello: {e}");
            return ExitCode::from(2);
        }
    };
    let result = builder.build().serve(transport).await;
    // Spans still batched for an OpenTelemetry collector (feature otel).
    if let Err(e) = mcp_server::telemetry::shutdown().await {
        eprintln!("hello: could not flush the trace exporter: {e}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hello: {e}");
            ExitCode::FAILURE
        }
    }
}
