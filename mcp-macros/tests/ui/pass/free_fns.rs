//! Free-function tools registered on a builder.

use mcp_server::prelude::*;

/// Add two integers.
#[mcp_tool(read_only)]
async fn add(/** First addend. */ a: i64, /** Second addend. */ b: i64) -> i64 {
    a + b
}

const NAME_MAX: usize = 200;

/// Greet someone.
#[mcp_tool]
async fn greet(
    #[arg(length(min = 1, max = NAME_MAX))] name: String,
    #[arg(length(max = 5))] nicknames: Option<Vec<String>>,
) -> String {
    format!("{name} {nicknames:?}")
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
    let server = Server::builder().tool(add::tool()).tool(tools::tick::tool()).tool(greet::tool()).build();
    assert_eq!(server.tool_names(), ["add", "tick", "greet"]);
    let greet = greet::tool();
    let schema = &greet.tool().input_schema;
    assert_eq!(schema["properties"]["name"]["minLength"], 1);
    assert_eq!(schema["properties"]["name"]["maxLength"], 200);
    assert_eq!(schema["properties"]["nicknames"]["maxItems"], 5);
    assert_eq!(add::tool().tool().description.as_deref(), Some("Add two integers."));
}
