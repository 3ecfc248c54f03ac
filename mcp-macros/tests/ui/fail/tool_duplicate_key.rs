use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Lists contacts.
    #[mcp_tool(title = "List", title = "List contacts")]
    async fn list(&self) -> String {
        String::new()
    }
}

fn main() {}
