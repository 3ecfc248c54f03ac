use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Lists contacts.
    #[mcp_tool(readonly)]
    async fn list(&self) -> String {
        String::new()
    }
}

fn main() {}
