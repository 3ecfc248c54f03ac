use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// The contact card.
    #[mcp_resource("ui://crm/contact", mime = "text/html")]
    async fn card(&self) -> &'static str {
        "<!doctype html>"
    }
}

fn main() {}
