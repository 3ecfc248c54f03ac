//! The echo server on this framework: one tool, `echo`, that returns its
//! `message` as text, over stdio or Streamable HTTP.
//!
//! `echo-ours [--transport stdio|http] [--port N] [--max-message-bytes N]`. The server is built as
//! shipped: the audit log is on, and `init_stderr_logging` writes `tracing`
//! events to stderr at its default level. Over HTTP the connections are
//! accepted here, as `HttpServer` does, with `TCP_NODELAY` set on each.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

use mcp_bench::{Args, TransportArg, serve_hyper};
use mcp_server::prelude::*;
use mcp_server::transport::http::{ClientAddr, HttpConfig, McpService};

/// The benchmarked server.
#[derive(Debug, Clone, Copy, Default)]
struct Echo;

#[mcp_server(name = "echo-ours")]
impl Echo {
    /// Return the message, unchanged.
    #[mcp_tool(read_only)]
    async fn echo(
        &self,
        /// The text to send back.
        message: String,
    ) -> String {
        message
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("echo-ours: {e}");
            return ExitCode::from(2);
        }
    };
    mcp_server::transport::stdio::init_stderr_logging();
    let mut builder = Server::builder().definition(Echo);
    let mut config = HttpConfig::default();
    if let Some(bytes) = args.max_message_bytes {
        builder = builder.max_message_bytes(bytes);
        config = config.max_body_bytes(bytes);
    }
    let server = builder.build();
    let result = match args.transport {
        TransportArg::Stdio => server
            .serve(mcp_server::transport::Stdio)
            .await
            .map_err(|e| e.to_string()),
        TransportArg::Http => {
            let service = McpService::new(server, config);
            serve_hyper(args.port, move |peer, mut request| {
                request.extensions_mut().insert(ClientAddr(peer));
                let service = service.clone();
                async move { service.handle(request).await }
            })
            .await
            .map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo-ours: {e}");
            ExitCode::FAILURE
        }
    }
}
