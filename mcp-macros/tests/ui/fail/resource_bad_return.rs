use mcp_server::prelude::*;

struct Docs;

#[mcp_server]
impl Docs {
    /// A number.
    #[mcp_resource("docs://number")]
    async fn number(&self) -> u32 {
        7
    }
}

fn main() {}
