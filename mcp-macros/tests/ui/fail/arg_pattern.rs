use mcp_server::prelude::*;

/// Adds a pair.
#[mcp_tool]
async fn add((a, b): (i64, i64)) -> i64 {
    a + b
}

fn main() {}
