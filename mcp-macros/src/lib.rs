//! Attribute macros for `mcp-server`. Use them through `mcp_server::prelude`.
#![warn(missing_docs)]

use proc_macro::TokenStream;

/// Turns an `impl` block into an MCP server.
#[proc_macro_attribute]
pub fn mcp_server(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Marks an async fn as an MCP tool.
#[proc_macro_attribute]
pub fn mcp_tool(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
