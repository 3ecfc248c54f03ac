//! The conformance fixture server: `everything --transport http --port 3001`.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use mcp_server::transport::TransportArgs;

#[tokio::main]
async fn main() -> ExitCode {
    let transport = match TransportArgs::from_args() {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("everything: {e}");
            return ExitCode::from(2);
        }
    };
    let builder = match everything::builder().env_settings() {
        Ok(builder) => builder,
        Err(e) => {
            eprintln!("everything: {e}");
            return ExitCode::from(2);
        }
    };
    let result = builder.build().serve(transport).await;
    // Spans still batched for an OpenTelemetry collector (feature otel).
    if let Err(e) = mcp_server::telemetry::shutdown().await {
        eprintln!("everything: could not flush the trace exporter: {e}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("everything: {e}");
            ExitCode::FAILURE
        }
    }
}
