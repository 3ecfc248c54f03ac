use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// The contact card.
    #[mcp_resource("ui://crm/contact/{id}")]
    async fn card(&self, id: String) -> String {
        id
    }
}

fn main() {}
