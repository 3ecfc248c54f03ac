//! Serves the `unix-socket` example on the Unix socket named by the first
//! argument or `MCP_SOCKET_PATH`, until SIGINT or SIGTERM.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports bad arguments on stderr"
)]

use std::process::ExitCode;

#[cfg(unix)]
#[tokio::main]
async fn main() -> ExitCode {
    use mcp_server::prelude::*;
    use mcp_server::transport::UnixListener;
    use unix_socket::{Notes, SOCKET_PATH_VAR};

    let Some(path) = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os(SOCKET_PATH_VAR))
    else {
        eprintln!("usage: unix-socket PATH (or {SOCKET_PATH_VAR}=PATH unix-socket)");
        return ExitCode::from(2);
    };
    mcp_server::transport::stdio::init_stderr_logging();
    let listener = match UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("unix-socket: cannot listen on {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    match Server::from(Notes).serve(listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unix-socket: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("unix-socket: Unix sockets need a Unix system");
    ExitCode::FAILURE
}
