//! `mcp-bridge URL`: serves, over stdio, what the MCP server at `URL`
//! (Streamable HTTP, or the legacy HTTP+SSE transport) serves, so a client
//! that only launches commands, such as Claude Desktop, reaches a deployed
//! server:
//!
//! ```json
//! {"mcpServers": {"crm": {
//!   "command": "mcp-bridge",
//!   "args": ["https://crm.example.com/mcp"],
//!   "env": {"MCP_BEARER_TOKEN": "..."}
//! }}}
//! ```
//!
//! Env: `MCP_BEARER_TOKEN` (sent as `Authorization: Bearer`), or
//! `MCP_API_KEY` (sent in `MCP_API_KEY_HEADER`, default `X-API-Key`);
//! `MCP_PROTOCOL_VERSION`, the revision spoken to the remote server
//! (default 2025-11-25); `LOG_LEVEL` (logs go to stderr). Calls, progress,
//! log messages, cancellation and the remote server's questions
//! (elicitation, sampling, roots) pass through; the bridge exits when
//! stdin closes.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments and failures on stderr"
)]

use std::process::ExitCode;

use mcp_server::ProtocolVersion;
use mcp_server::Server;
use mcp_server::client::{Client, ClientOptions, HttpOptions};
use mcp_server::transport::Stdio;

const USAGE: &str = "usage: mcp-bridge <https://host/mcp>\n\
    env: MCP_BEARER_TOKEN or MCP_API_KEY (header MCP_API_KEY_HEADER, default X-API-Key), \
    MCP_PROTOCOL_VERSION (default 2025-11-25), LOG_LEVEL";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The HTTP options and revision the environment asks for.
fn settings() -> Result<(HttpOptions, ProtocolVersion), String> {
    let mut http = HttpOptions::new();
    match (env("MCP_BEARER_TOKEN"), env("MCP_API_KEY")) {
        (Some(_), Some(_)) => {
            return Err("set MCP_BEARER_TOKEN or MCP_API_KEY, not both".into());
        }
        (Some(token), None) => http = http.bearer(token.trim()),
        (None, Some(key)) => {
            let header = env("MCP_API_KEY_HEADER").unwrap_or_else(|| "X-API-Key".into());
            http = http.header(header.trim(), key.trim());
        }
        (None, None) => {}
    }
    let version = match env("MCP_PROTOCOL_VERSION") {
        None => ProtocolVersion::V2025_11_25,
        Some(v) => v.trim().parse().map_err(|_| {
            let known: Vec<&str> = ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect();
            format!(
                "MCP_PROTOCOL_VERSION `{v}` is not a revision this bridge speaks ({})",
                known.join(", ")
            )
        })?,
    };
    Ok((http, version))
}

#[tokio::main]
async fn main() -> ExitCode {
    mcp_server::transport::stdio::init_stderr_logging();
    let mut args = std::env::args().skip(1);
    let url = match (args.next(), args.next()) {
        (Some(url), None) if url != "--help" && url != "-h" => url,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (http, version) = match settings() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("mcp-bridge: {e}");
            return ExitCode::from(2);
        }
    };
    let options = ClientOptions::new(version)
        .client_info("mcp-bridge", env!("CARGO_PKG_VERSION"))
        .forwarding();
    let client = match Client::connect_http(&url, http, options).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("mcp-bridge: cannot connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match Server::proxy(client).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("mcp-bridge: cannot list what {url} serves: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.serve(Stdio).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-bridge: {e}");
            ExitCode::FAILURE
        }
    }
}
