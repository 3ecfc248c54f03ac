use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Greets.
    #[mcp_tool]
    async fn greet(&self, name: &str) -> String {
        name.to_owned()
    }
}

fn main() {}
