use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Adds.
    #[mcp_tool]
    async fn add(&mut self, a: i64) -> i64 {
        a
    }
}

fn main() {}
