//! The hello MCP server on stdio.

use hello::Hello;
use mcp_server::prelude::*;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Hello.serve_stdio().await?;
    Ok(())
}
