use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// The contact card.
    #[mcp_resource("ui://crm/contact")]
    async fn card(&self) -> &'static str {
        "<!doctype html>"
    }

    /// Shows a contact.
    #[mcp_tool(ui = "ui://crm/contacts")]
    async fn show(&self) -> String {
        String::new()
    }
}

fn main() {}
