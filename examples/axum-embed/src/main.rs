//! The notes app with MCP embedded: `axum-embed` (env `HOST`, `PORT`,
//! `MCP_ALLOWED_HOSTS`).

use mcp_server::transport::http::{HttpConfig, shutdown_signal};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    mcp_server::transport::stdio::init_stderr_logging();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3002".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    let addr = listener.local_addr()?;
    // Loopback names only unless told otherwise: bound to 0.0.0.0 and
    // reached by another name, every request would get 403.
    let mut config = HttpConfig::default();
    if let Ok(hosts) = std::env::var("MCP_ALLOWED_HOSTS") {
        let hosts: Vec<&str> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        config = config.allowed_hosts(hosts);
    }
    tracing::info!("notes app on http://{addr}: REST at /api/notes, MCP at /mcp");
    axum::serve(
        listener,
        axum_embed::app_with(axum_embed::Notes::default(), config),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}
