use mcp_server::prelude::*;

struct Notes;

#[mcp_server]
impl Notes {
    /// One note.
    #[mcp_resource("notes://{id}/{/rev}")]
    async fn note(&self, id: u32) -> String {
        id.to_string()
    }

    /// Another note.
    #[mcp_resource("notes://{folder}/{id")]
    async fn other(&self, folder: String) -> String {
        folder
    }
}

fn main() {}
