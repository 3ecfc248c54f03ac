use mcp_server::prelude::*;

struct Prompts;

#[mcp_server]
impl Prompts {
    /// Greet.
    #[mcp_prompt]
    async fn greet(&self) -> &'static str {
        "Say hello."
    }

    /// Greet, differently.
    #[mcp_prompt(name = "greet")]
    async fn greet_warmly(&self) -> &'static str {
        "Say hello warmly."
    }
}

fn main() {}
