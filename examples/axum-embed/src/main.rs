//! The notes app with MCP embedded: `axum-embed` (env `HOST`, `PORT`).

use mcp_server::transport::http::shutdown_signal;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    mcp_server::transport::stdio::init_stderr_logging();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3002".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    let addr = listener.local_addr()?;
    tracing::info!("notes app on http://{addr}: REST at /api/notes, MCP at /mcp");
    axum::serve(listener, axum_embed::app(axum_embed::Notes::default()))
        .with_graceful_shutdown(shutdown_signal())
        .await
}
