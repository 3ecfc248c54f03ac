//! Free-function tools registered on a builder.

use mcp_server::prelude::*;

/// Add two integers.
#[mcp_tool(read_only)]
async fn add(/** First addend. */ a: i64, /** Second addend. */ b: i64) -> i64 {
    a + b
}

mod tools {
    use mcp_server::prelude::*;

    /// Report progress.
    #[mcp_tool]
    pub async fn tick(ctx: &RequestContext) -> String {
        ctx.progress(1.0, None, None).await;
        "tick".into()
    }
}

fn main() {
    let server = Server::builder().tool(add::tool()).tool(tools::tick::tool()).build();
    assert_eq!(server.tool_names(), ["add", "tick"]);
    assert_eq!(add::tool().tool().description.as_deref(), Some("Add two integers."));
}
