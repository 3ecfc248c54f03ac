use mcp_server::prelude::*;

/// Echoes.
#[mcp_tool]
async fn echo<T: ToString>(value: String) -> String {
    value
}

fn main() {}
