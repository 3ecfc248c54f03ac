use mcp_server::prelude::*;

/// Greets.
#[mcp_tool]
async fn greet(#[arg(length(min = 10, max = 2))] name: String) -> String {
    name
}

fn main() {}
