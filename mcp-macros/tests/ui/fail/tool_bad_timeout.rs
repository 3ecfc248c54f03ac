use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Runs a report.
    #[mcp_tool(timeout = "30 seconds")]
    async fn report(&self) -> String {
        String::new()
    }
}

fn main() {}
