use mcp_server::prelude::*;

struct Draft;

#[mcp_server]
impl Draft {
    /// Draft an e-mail.
    #[mcp_prompt]
    async fn email(&self, /** Recipients. */ to: Vec<String>) -> String {
        to.join(", ")
    }
}

fn main() {}
