use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// The contact card.
    #[mcp_resource("crm://contact", ui(prefers_border))]
    async fn card(&self) -> &'static str {
        "<!doctype html>"
    }
}

fn main() {}
