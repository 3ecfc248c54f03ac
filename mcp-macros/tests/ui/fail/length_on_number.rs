use mcp_server::prelude::*;

/// Lists.
#[mcp_tool]
async fn list(#[arg(length(max = 10))] limit: u32) -> u32 {
    limit
}

fn main() {}
