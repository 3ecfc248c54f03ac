use mcp_server::prelude::*;

/// Echoes.
#[mcp_tool]
async fn echo(value: String) -> impl std::fmt::Display {
    value
}

fn main() {}
