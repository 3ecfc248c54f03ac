//! A first MCP server: typed tools over stdio.
//!
//! Run it with `cargo run -p hello`, or point Claude Desktop at the built
//! binary (see the README next to this file).
//!
//! ```
//! use hello::Hello;
//! use mcp_server::prelude::*;
//! use mcp_server::testing::TestClient;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let client = TestClient::connect(Hello, ProtocolVersion::V2025_11_25).await.unwrap();
//! let result = client.call_tool("greet", serde_json::json!({"name": "Ada"})).await.unwrap();
//! assert_eq!(result.content[0].as_text(), Some("Hello, Ada!"));
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use mcp_server::prelude::*;

/// The hello server. It holds no state; a real server keeps its database
/// pool or API client here and reaches it through `&self`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hello;

/// Counts of a text.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WordStats {
    /// Whitespace-separated words.
    pub words: u64,
    /// Unicode scalar values.
    pub characters: u64,
    /// Lines.
    pub lines: u64,
}

/// Why a division failed.
#[derive(Debug)]
pub struct DivideByZero;

impl fmt::Display for DivideByZero {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot divide by zero")
    }
}

#[mcp_server(
    name = "hello",
    title = "Hello MCP",
    instructions = "Small demonstration tools: greetings, arithmetic, text statistics and a countdown that reports progress."
)]
impl Hello {
    /// Say hello to someone.
    #[mcp_tool(read_only)]
    async fn greet(
        &self,
        /// Who to greet.
        name: String,
        /// Greeting word; defaults to "Hello".
        greeting: Option<String>,
    ) -> String {
        format!("{}, {name}!", greeting.as_deref().unwrap_or("Hello"))
    }

    /// Add two integers.
    #[mcp_tool(read_only, idempotent)]
    async fn add(
        &self,
        /// First addend.
        a: i64,
        /// Second addend.
        b: i64,
    ) -> i64 {
        a.saturating_add(b)
    }

    /// Count the words, characters and lines in a text.
    #[mcp_tool(read_only, idempotent, title = "Word statistics")]
    async fn word_stats(
        &self,
        /// The text to measure.
        text: String,
    ) -> Structured<WordStats> {
        Structured(WordStats {
            words: text.split_whitespace().count() as u64,
            characters: text.chars().count() as u64,
            lines: text.lines().count() as u64,
        })
    }

    /// Count down, reporting progress at every step.
    #[mcp_tool(read_only)]
    async fn countdown(
        &self,
        /// Number of steps.
        #[arg(default = 3, range(min = 1, max = 10))]
        steps: u32,
        ctx: &RequestContext,
    ) -> String {
        for step in 1..=steps {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let message = format!("step {step} of {steps}");
            ctx.progress(f64::from(step), Some(f64::from(steps)), Some(&message))
                .await;
        }
        format!("liftoff after {steps} steps")
    }

    /// Divide a by b.
    #[mcp_tool(read_only, idempotent)]
    async fn divide(
        &self,
        /// Dividend.
        a: f64,
        /// Divisor; must not be zero.
        b: f64,
    ) -> Result<f64, DivideByZero> {
        if b == 0.0 {
            return Err(DivideByZero);
        }
        Ok(a / b)
    }
}
