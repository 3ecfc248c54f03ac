use mcp_server::prelude::*;

struct S;

#[mcp_server]
impl S {
    /// Finds a contact.
    #[mcp_tool]
    async fn find(&self, email: String) -> String {
        email
    }

    /// Finds a contact by name.
    #[mcp_tool(name = "find")]
    async fn find_by_name(&self, name: String) -> String {
        name
    }
}

fn main() {}
