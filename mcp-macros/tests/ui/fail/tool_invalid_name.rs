use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Searches the web.
    #[mcp_tool(name = "search the web")]
    async fn search(&self, query: String) -> String {
        query
    }
}

fn main() {}
