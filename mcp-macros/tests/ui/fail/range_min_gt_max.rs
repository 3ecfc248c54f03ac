use mcp_server::prelude::*;

/// Lists.
#[mcp_tool]
async fn list(#[arg(range(min = 100, max = 1))] limit: u32) -> u32 {
    limit
}

fn main() {}
