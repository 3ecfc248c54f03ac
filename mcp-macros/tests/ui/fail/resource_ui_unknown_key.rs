use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// The contact card.
    #[mcp_resource("ui://crm/contact", ui(cps(connect_domains = ["https://api.example.com"])))]
    async fn card(&self) -> &'static str {
        "<!doctype html>"
    }
}

fn main() {}
