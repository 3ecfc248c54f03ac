use mcp_server::prelude::*;

/// Lists.
#[mcp_tool]
async fn list(#[arg(defualt = 20)] limit: u32) -> u32 {
    limit
}

fn main() {}
