use mcp_server::prelude::*;

struct Stats {
    count: u64,
}

struct S;

#[mcp_server]
impl S {
    /// Counts.
    #[mcp_tool]
    async fn stats(&self) -> Stats {
        Stats { count: 1 }
    }
}

fn main() {}
