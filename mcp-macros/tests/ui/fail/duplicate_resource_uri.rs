use mcp_server::prelude::*;

struct Docs;

#[mcp_server]
impl Docs {
    /// The readme.
    #[mcp_resource("docs://readme")]
    async fn readme(&self) -> &'static str {
        "# Readme"
    }

    /// The readme again.
    #[mcp_resource("docs://readme")]
    async fn readme_again(&self) -> &'static str {
        "# Readme"
    }
}

fn main() {}
