use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Works.
    #[mcp_tool]
    async fn work(&self, ctx: &RequestContext, again: &RequestContext) -> String {
        let _ = (ctx, again);
        String::new()
    }
}

fn main() {}
