//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout.
//!
//! stdout carries only MCP messages; logs go to stderr.

use crate::error::ServerError;
use crate::server::Server;

impl Server {
    /// Serves the server on stdin/stdout until stdin closes.
    ///
    /// Requests run concurrently; a protocol error is answered and never ends
    /// the session. If no `tracing` subscriber is installed, one that writes
    /// to stderr (filtered by `RUST_LOG`, default `info`) is installed, so
    /// nothing but MCP messages ever reaches stdout.
    ///
    /// # Errors
    /// Reading stdin or writing stdout failed.
    pub async fn serve_stdio(self) -> Result<(), ServerError> {
        init_stderr_logging();
        tracing::info!(
            name = %self.info().implementation.name,
            version = %self.info().implementation.version,
            "serving MCP on stdio"
        );
        let result = super::lines::serve(self, tokio::io::stdin(), tokio::io::stdout()).await;
        tracing::info!("stdin closed; stopped serving");
        result
    }
}

/// Installs a stderr `tracing` subscriber unless one is already set.
///
/// The filter comes from `RUST_LOG`, else `LOG_LEVEL`, else `info`; the
/// format from `LOG_FORMAT`: `json` (one JSON object per line, for log
/// pipelines), `compact`, or the default human-readable `pretty`. Logs go
/// to stderr because on stdio, stdout carries only MCP messages.
pub fn init_stderr_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .ok()
        .or_else(|| {
            std::env::var("LOG_LEVEL")
                .ok()
                .and_then(|level| tracing_subscriber::EnvFilter::try_new(level).ok())
        })
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    // Each init fails only when a subscriber exists, which is what we keep.
    let _ = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => builder.json().try_init(),
        Ok("compact") => builder.compact().try_init(),
        _ => builder.try_init(),
    };
}
