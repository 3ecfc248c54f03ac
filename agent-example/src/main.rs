//! `agent-mcp`: the workspace agent over stdio (the default) or HTTP.
//!
//! Flags: `--workspace DIR` (or `AGENT_WORKSPACE`), and the framework's
//! `--transport`, `--host`, `--port`. Env: `AGENT_DB`, `AGENT_MAX_READ_BYTES`,
//! `AGENT_MAX_WRITE_BYTES`, `AGENT_MAX_RESULTS`, `AGENT_MAX_TURNS`,
//! `AGENT_TIMEOUT`, `AGENT_MAX_TOKENS`, `AGENT_MAX_CONTEXT_BYTES`,
//! `AGENT_AUDIT_FILE`, and the framework's (`MCP_TRANSPORT`, `HOST`, `PORT` (3004 here),
//! `LOG_LEVEL`, `MCP_API_KEYS`, `MCP_RATE_LIMIT`, ...): see
//! docs/examples/agent.md.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use agent_example::{Agent, AgentServer, Config, Store, Workspace};
use mcp_server::Server;
use mcp_server::transport::{TransportArgs, TransportArgsError};

const WORKSPACE_USAGE: &str = "usage: agent-mcp --workspace DIR [options]
  --workspace DIR          the workspace the tools are confined to (env AGENT_WORKSPACE)
  the AGENT_* settings (database, caps, turns, timeout, audit file): docs/examples/agent.md";

/// The HTTP port when neither `--port` nor `PORT` gives one: not the
/// framework's 3001, which the CRM example uses.
const DEFAULT_PORT: &str = "3004";

/// `get(name)`, with [`DEFAULT_PORT`] for an unset or empty `PORT`.
fn env_or_default_port(name: &str, get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let value = get(name).filter(|v| !v.trim().is_empty());
    if name == "PORT" {
        value.or_else(|| Some(DEFAULT_PORT.to_owned()))
    } else {
        value
    }
}

/// Takes `--workspace DIR` or `--workspace=DIR` out of the arguments.
fn split_workspace(args: Vec<String>) -> Result<(Option<String>, Vec<String>), String> {
    let mut workspace = None;
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--workspace" {
            workspace = Some(args.next().ok_or("--workspace needs a directory")?);
        } else if let Some(dir) = arg.strip_prefix("--workspace=") {
            workspace = Some(dir.to_owned());
        } else {
            rest.push(arg);
        }
    }
    Ok((workspace, rest))
}

#[tokio::main]
async fn main() -> ExitCode {
    // LOG_LEVEL and LOG_FORMAT, to stderr: on stdio, stdout carries MCP.
    mcp_server::transport::stdio::init_stderr_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("agent-mcp: {message}");
            ExitCode::from(code)
        }
    }
}

async fn run() -> Result<(), (u8, String)> {
    let usage = |e: String| (2, e);
    let (workspace_flag, args) =
        split_workspace(std::env::args().skip(1).collect()).map_err(usage)?;
    let transport = TransportArgs::parse(args, |name| {
        env_or_default_port(name, |n| std::env::var(n).ok())
    })
    .map_err(|e| match e {
        TransportArgsError::Help => usage(format!("{WORKSPACE_USAGE}\n{e}")),
        e => usage(e.to_string()),
    })?;
    let config = Config::from_env(|name| std::env::var(name).ok(), workspace_flag)
        .map_err(|e| usage(e.to_string()))?;
    let workspace =
        Workspace::open(&config.workspace, config.limits).map_err(|e| usage(e.to_string()))?;
    let store = Store::open(&config.database).await.map_err(|e| {
        let cause = std::error::Error::source(&e)
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        (
            1,
            format!("cannot open the conversation database: {e}{cause}"),
        )
    })?;
    let audit = agent_example::audit::sink(config.audit_file.as_deref())
        .map_err(|e| (1, format!("cannot open AGENT_AUDIT_FILE: {e}")))?;
    if matches!(transport, TransportArgs::Http { .. }) {
        let keys = ["MCP_API_KEYS", "MCP_API_KEYS_FILE", "MCP_OAUTH_ISSUER"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        if !keys {
            tracing::warn!(
                "HTTP without MCP_API_KEYS or MCP_OAUTH_ISSUER: every caller is anonymous and shares one set of conversations"
            );
        }
    }
    let agent = Agent::new(workspace, store, config.agent);
    tracing::info!(workspace = %agent.workspace().root().display(), "serving the workspace");
    let builder = Server::builder()
        .definition(AgentServer::new(agent))
        .audit(audit);
    let server = builder
        .env_settings()
        .map_err(|e| usage(e.to_string()))?
        .build();
    let result = server
        .serve(transport)
        .await
        .map_err(|e| (1, e.to_string()));
    // Spans still batched for an OpenTelemetry collector (feature otel).
    if let Err(e) = mcp_server::telemetry::shutdown().await {
        tracing::warn!(error = %e, "could not flush the trace exporter");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(args: &[&str], port: Option<&str>) -> String {
        let env = |n: &str| (n == "PORT").then(|| port.map(str::to_owned)).flatten();
        TransportArgs::parse(args.iter().copied(), |n| env_or_default_port(n, env))
            .unwrap()
            .to_string()
    }

    #[test]
    fn http_defaults_to_a_port_of_its_own() {
        assert_eq!(
            url(&["--transport", "http"], None),
            "http://127.0.0.1:3004/mcp"
        );
        assert_eq!(
            url(&["--transport", "http"], Some(" ")),
            "http://127.0.0.1:3004/mcp"
        );
        assert_eq!(
            url(&["--transport", "http"], Some("8080")),
            "http://127.0.0.1:8080/mcp"
        );
        assert_eq!(
            url(&["--port", "9000"], Some("8080")),
            "http://127.0.0.1:9000/mcp"
        );
        assert_eq!(url(&[], None), "stdio");
    }
}
