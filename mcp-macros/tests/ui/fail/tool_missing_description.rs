use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    #[mcp_tool]
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn main() {}
