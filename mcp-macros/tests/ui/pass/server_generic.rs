//! A generic server with a where-clause, optional and defaulted arguments,
//! ranges, structured output, `Result` output and a context parameter.

use std::fmt::Display;

use mcp_server::prelude::*;

trait Repo: Send + Sync + 'static {
    fn name(&self) -> String;
}

struct Memory;

impl Repo for Memory {
    fn name(&self) -> String {
        "memory".into()
    }
}

struct Crm<R> {
    repo: R,
}

#[derive(Serialize, JsonSchema)]
struct Contact {
    name: String,
}

#[derive(Debug)]
struct NotFound;

impl Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not found")
    }
}

#[mcp_server(name = "crm", version = "1.2.3", title = "CRM", instructions = "Contacts.")]
impl<R> Crm<R>
where
    R: Repo,
{
    /// Search contacts.
    #[mcp_tool(read_only, open_world = false)]
    async fn search(
        &self,
        /// Free-text query.
        query: String,
        /// Maximum results.
        #[arg(default = 20, range(min = 1, max = 100))]
        limit: u32,
        /// Only this company.
        company: Option<String>,
    ) -> Structured<Vec<Contact>> {
        let _ = (limit, company);
        Structured(vec![Contact { name: format!("{query} in {}", self.repo.name()) }])
    }

    /// Fetch one contact.
    #[mcp_tool(name = "get_contact", title = "Get contact", icons = ["https://example.com/c.png"])]
    async fn get(&self, ctx: &RequestContext, /** Contact id. */ id: u64) -> Result<String, NotFound> {
        let _ = ctx.protocol_version();
        if id == 0 { Err(NotFound) } else { Ok(format!("contact {id}")) }
    }

    /// No arguments at all.
    #[mcp_tool(destructive, idempotent = false)]
    async fn reset(&self) {}

    fn helper(&self) -> usize {
        1
    }
}

fn main() {
    let server = Server::new(Crm { repo: Memory });
    assert_eq!(server.tool_names(), ["search", "get_contact", "reset"]);
    assert_eq!(server.info().implementation.name, "crm");
    let _ = Crm { repo: Memory }.helper();
}
