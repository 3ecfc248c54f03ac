use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Saves a field.
    #[mcp_tool(visibility = [])]
    async fn save(&self) -> String {
        String::new()
    }
}

fn main() {}
