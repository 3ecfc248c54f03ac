//! Attribute macros for `mcp-server`: `#[mcp_server]` and `#[mcp_tool]`.
//!
//! Use them through `mcp_server::prelude`; the runnable examples live in the
//! `mcp-server` docs. Each macro parses its input, validates it (collecting
//! every error, each spanned at the offending token), and only then expands.
#![warn(missing_docs)]

mod attr;
mod expand;
mod features;
mod model;
mod resource;
mod server;
mod ui;
mod validate;

use proc_macro::TokenStream;

/// Turns an inherent `impl` block into an MCP server.
///
/// Methods marked `#[mcp_tool]` become tools. Optional keys: `name`,
/// `version` (default: the crate's), `title`, `instructions`.
///
/// ```text
/// #[mcp_server(name = "crm", instructions = "CRM for contacts and deals")]
/// impl Crm {
///     /// Find a contact.
///     #[mcp_tool(read_only)]
///     async fn find(&self, /** Email address. */ email: String) -> Result<Structured<Contact>, CrmError> { .. }
/// }
/// ```
#[proc_macro_attribute]
pub fn mcp_server(attr: TokenStream, item: TokenStream) -> TokenStream {
    server::server(attr.into(), item.into()).into()
}

/// Marks an `async fn` as an MCP tool: a method inside a `#[mcp_server]`
/// impl block, or a free function (registered with
/// `Server::builder().tool(name::tool())`).
///
/// Keys: `name`, `title`, `description` (default: the doc comment),
/// `read_only`, `destructive`, `idempotent`, `open_world`, `icons = [..]`,
/// `task` (may continue as a task), `scopes("a", ..)` (required of
/// authenticated callers), `timeout = "30s"`, `audit_arguments` (the audit
/// log records argument values), `ui = "ui://.."` (the MCP Apps view
/// that renders its results; in a `#[mcp_server]` impl it must name a view
/// declared there), `visibility = ["model", "app"]` (`["app"]`: only views
/// may call it). Parameters take `#[arg(default = ..,
/// min = .., max = .., rename = "..", header = "..", complete = method)]`.
/// Every key is described in the macros guide (`docs/macros.md`).
#[proc_macro_attribute]
pub fn mcp_tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::free_tool(attr.into(), item.into()).into()
}

/// Marks an `async fn` as an MCP prompt: in a `#[mcp_server]` impl, or on a
/// free function (registered with `Server::builder().prompt(name::prompt())`).
/// Parameters are the prompt's arguments: strings on the wire, parsed with
/// `FromStr`; `Option<T>` is optional; `///` comments are descriptions.
#[proc_macro_attribute]
pub fn mcp_prompt(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::free_prompt(attr.into(), item.into()).into()
}

/// Marks an `async fn` as an MCP resource at a URI, or a family of
/// resources at an RFC 6570 URI template whose variables are the
/// function's parameters: `#[mcp_resource("notes://{id}", mime = "text/plain")]`.
///
/// A `ui://` URI makes it an MCP Apps view, served as
/// `text/html;profile=mcp-app`; `ui(csp(connect_domains = [..],
/// resource_domains = [..], frame_domains = [..], base_uri_domains = [..]),
/// permissions(camera, microphone, geolocation, clipboard_write), domain =
/// "..", prefers_border)` declares its `_meta.ui` (see `docs/apps.md`).
#[proc_macro_attribute]
pub fn mcp_resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::free_resource(attr.into(), item.into()).into()
}
