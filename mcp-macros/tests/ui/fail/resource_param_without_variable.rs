use mcp_server::prelude::*;

struct Notes;

#[mcp_server]
impl Notes {
    /// One note.
    #[mcp_resource("notes://{id}")]
    async fn note(&self, id: u32, name: String) -> String {
        format!("{id} {name}")
    }
}

fn main() {}
