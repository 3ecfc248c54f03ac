use mcp_server::prelude::*;

struct DbPool;

struct S;

#[mcp_server]
impl S {
    /// Exports.
    #[mcp_tool]
    async fn export(&self, db: DbPool) -> String {
        let _ = db;
        String::new()
    }
}

fn main() {}
