//! The echo server on rmcp: one tool, `echo`, that returns its `message` as
//! text, over stdio or Streamable HTTP.
//!
//! `echo-rmcp [--transport stdio|http] [--port N] [--max-message-bytes N]`
//! (the last sets `max_request_body_bytes`). rmcp installs no
//! `tracing` subscriber; this one installs the same stderr subscriber at the
//! same default level (`info`, or `RUST_LOG`) as `echo-ours`. Over HTTP the
//! `StreamableHttpService` runs with its default configuration (sessions
//! on) behind the same hyper accept loop, with `TCP_NODELAY`.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;
use std::sync::Arc;

use mcp_bench::{Args, TransportArg, serve_hyper};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, ServiceExt as _, tool, tool_handler, tool_router};
use tower_service::Service as _;

/// The echo tool's arguments.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    message: String,
}

/// The benchmarked server.
#[derive(Debug, Clone)]
struct Echo {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Echo {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// Return the message, unchanged.
    #[tool(
        description = "Return the message, unchanged.",
        annotations(read_only_hint = true)
    )]
    async fn echo(&self, Parameters(EchoArgs { message }): Parameters<EchoArgs>) -> String {
        message
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve_stdio() -> Result<(), Box<dyn std::error::Error>> {
    let running = Echo::new().serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("echo-rmcp: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging();
    let result = match args.transport {
        TransportArg::Stdio => serve_stdio().await.map_err(|e| e.to_string()),
        TransportArg::Http => {
            let mut config = StreamableHttpServerConfig::default();
            if let Some(bytes) = args.max_message_bytes {
                config.max_request_body_bytes = bytes;
            }
            let service: StreamableHttpService<Echo, LocalSessionManager> =
                StreamableHttpService::new(
                    || Ok(Echo::new()),
                    Arc::new(LocalSessionManager::default()),
                    config,
                );
            serve_hyper(args.port, move |_peer, request| {
                let mut service = service.clone();
                async move {
                    match service.call(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                }
            })
            .await
            .map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo-rmcp: {e}");
            ExitCode::FAILURE
        }
    }
}
