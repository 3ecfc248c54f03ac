use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Adds.
    #[mcp_tool]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn main() {}
