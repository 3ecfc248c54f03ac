use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Shows a contact.
    #[mcp_tool(ui = "https://crm.example.com/contact")]
    async fn show(&self) -> String {
        String::new()
    }
}

fn main() {}
