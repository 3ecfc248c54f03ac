//! `suite`: the CRM, customer and job-search servers as one, over stdio
//! (the default) or HTTP.
//!
//! Env: `CRM_DATABASE_URL`, `CUSTOMER_DB_PATH`, `IAM_DATA_ROOT`,
//! `RAPIDAPI_KEY`, and the usual `MCP_TRANSPORT`, `HOST`, `PORT`,
//! `LOG_LEVEL`, `MCP_*` settings; flags `--transport`, `--host`, `--port`.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use mcp_server::transport::TransportArgs;

#[tokio::main]
async fn main() -> ExitCode {
    mcp_server::transport::stdio::init_stderr_logging();
    let transport = match TransportArgs::from_args() {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("suite: {e}");
            return ExitCode::from(2);
        }
    };
    let builder = match suite::builder(&suite::Config::from_env()).await {
        Ok(builder) => builder,
        Err(e) => {
            eprintln!("suite: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match builder
        .env_settings()
        .map_err(|e| e.to_string())
        .and_then(|b| b.try_build().map_err(|e| e.to_string()))
    {
        Ok(server) => server,
        Err(e) => {
            eprintln!("suite: {e}");
            return ExitCode::from(2);
        }
    };
    match server.serve(transport).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("suite: {e}");
            ExitCode::FAILURE
        }
    }
}
