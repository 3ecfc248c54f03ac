//! A small MCP server meant to be served on a Unix socket, where every
//! connection is a session of its own.
//!
//! ```
//! use mcp_server::prelude::*;
//! use mcp_server::testing::TestClient;
//! use unix_socket::Notes;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let client = TestClient::connect(Notes, ProtocolVersion::V2025_11_25).await.unwrap();
//! let result = client.call_tool("add", serde_json::json!({"a": 2, "b": 3})).await.unwrap();
//! assert_eq!(result.content[0].as_text(), Some("5"));
//! # }
//! ```

use std::time::Duration;

use mcp_server::prelude::*;

/// The variable naming the socket's path when no argument does.
pub const SOCKET_PATH_VAR: &str = "MCP_SOCKET_PATH";

/// The server: a few stateless tools, one of them slow on purpose so that
/// a client can leave while a request is in flight.
#[derive(Debug, Clone, Copy, Default)]
pub struct Notes;

#[mcp_server(
    name = "unix-socket",
    title = "MCP over a Unix socket",
    instructions = "Small tools served on a Unix socket: echo, add, and wait."
)]
impl Notes {
    /// Echo a text back.
    #[mcp_tool(read_only, idempotent)]
    async fn echo(
        &self,
        /// The text to echo.
        text: String,
    ) -> String {
        text
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

    /// Wait for a while, then say how long.
    #[mcp_tool(read_only)]
    async fn wait(
        &self,
        /// How long to wait, in milliseconds.
        #[arg(range(min = 0, max = 60000))]
        millis: u64,
    ) -> String {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        format!("waited {millis} ms")
    }
}
