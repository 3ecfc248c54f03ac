//! An embeddable Model Context Protocol server framework.
//!
//! Write plain async Rust functions; `#[mcp_server]` and `#[mcp_tool]` turn
//! them into MCP tools with JSON Schemas built from their types and doc
//! comments, served to every protocol revision from 2024-11-05 to 2026-07-28.
//!
//! ```no_run
//! use mcp_server::prelude::*;
//!
//! struct Calc;
//!
//! #[mcp_server]
//! impl Calc {
//!     /// Add two integers.
//!     #[mcp_tool]
//!     async fn add(&self, /** First addend. */ a: i64, /** Second addend. */ b: i64) -> i64 {
//!         a + b
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), mcp_server::ServerError> {
//!     Calc.serve(Stdio).await
//! }
//! ```
//!
//! # Architecture
//!
//! Each layer imports only the layers below it, with no cycle between
//! modules (`bash scripts/module-cycles.sh --check`, run by CI):
//!
//! ```text
//!  transport/   stdio · http · lines · stream · unix   testing · telemetry
//!      │  router::handle_request(Server, Wire, Request, Outbound) -> Answer
//!      ▼
//!  router/      mod (entry, panic net, method table) · envelope · lifecycle
//!               subscriptions · lists · calls · tasks · rounds · metering
//!      ▼
//!  server/      Server · builder · mounts · proxy · Transport · ServerError
//!      ▼
//!  tool · prompt · resource
//!      ▼
//!  context/     RequestContext, holding its server as a `Host`
//!      ▼
//!  session · ask · task · audit · completion · limit · state · metrics
//!  auth · store · outbound · events · capability · handler · schema
//!      ▼
//!  mcp_core: the protocol model
//! ```
//!
//! The API has a loop the modules do not: a server holds its handlers, a
//! handler receives a [`RequestContext`], and [`RequestContext::server`]
//! returns the server. The context holds its server only through `Host`,
//! the little it needs itself (the task store, the audit log, metrics),
//! and `RequestContext::server` is defined in the server module. The
//! [`Transport`](crate::transport::Transport) trait is the server's seam,
//! implemented by the transports; `Outbound`, `ServerEvent` and
//! `ClientCapability` have modules of their own so that the router never
//! imports a transport and sessions never import the server.
#![warn(missing_docs)]

mod arguments;
mod ask;
pub mod audit;
pub mod auth;
mod capability;
#[cfg(feature = "client")]
pub mod client;
mod completion;
mod context;
mod events;
mod handler;
mod json_members;
pub mod limit;
mod metrics;
mod outbound;
mod prompt;
mod random;
mod resource;
mod router;
pub mod schema;
mod server;
mod session;
mod state;
pub mod store;
mod task;
pub mod telemetry;
pub mod testing;
mod tool;
mod trace;
pub mod transport;

/// The guides' Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/transports.md")]
mod transports_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/server-features.md")]
mod server_features_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/security.md")]
mod security_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/operations.md")]
mod operations_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/macros.md")]
mod macros_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/apps.md")]
mod apps_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/troubleshooting.md")]
mod troubleshooting_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/migrating-from-rmcp.md")]
mod migrating_from_rmcp_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/getting-started.md")]
mod getting_started_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../docs/composition.md")]
mod composition_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use ask::{AskError, ElicitForm, Elicited};
pub use capability::{ClientCapability, MissingCapability};
pub use completion::{CompletionRequest, Completions};
pub use context::RequestContext;
pub use handler::{IntoToolResult, Structured, ToolArg, ToolResult};
pub use mcp_macros::{mcp_prompt, mcp_resource, mcp_server, mcp_tool};
pub use prompt::{IntoPromptResult, PromptCall, PromptDef};
pub use resource::{
    IntoResourceResult, ResourceCall, ResourceDef, ResourceError, ResourceTemplateDef,
    UriTemplateError,
};
pub use server::{
    DefinitionKind, DefinitionSource, ListKind, MountError, Server, ServerBuilder,
    ServerDefinition, ServerError, ServerInfo, SettingsError,
};
pub use tool::{ToolCall, ToolDef};

/// The protocol model: messages, revisions, errors and the codec.
pub use mcp_core as core;
pub use mcp_core::ProtocolVersion;
/// MCP Apps metadata (`io.modelcontextprotocol/ui`): see `docs/apps.md`.
pub use mcp_core::apps::{UiCsp, UiPermissions, UiResourceMeta, Visibility};
pub use mcp_core::content::Content;
pub use mcp_core::logging::LoggingLevel;

pub use schemars;
pub use serde;

/// Everything a server author needs, in one import.
pub mod prelude {
    pub use crate::transport::{Http, Stdio, Transport, TransportArgs};
    pub use crate::{
        Completions, Content, IntoToolResult, LoggingLevel, PromptCall, PromptDef, ProtocolVersion,
        RequestContext, ResourceCall, ResourceDef, ResourceError, ResourceTemplateDef, Server,
        ServerDefinition, Structured, ToolCall, ToolDef, ToolResult, mcp_prompt, mcp_resource,
        mcp_server, mcp_tool,
    };
    pub use mcp_core::prompt::PromptMessage;
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// Installs ring as the process's TLS crypto provider unless the
/// application installed another: reqwest is built without one of its own.
/// rustls 0.23.48 deprecates ring's provider for lacking post-quantum key
/// exchange; the alternative, aws-lc-rs, would bring cmake and a C
/// toolchain to every build, for clients that fetch JWKS, call APIs and
/// export spans. An application that wants it installs it first.
#[cfg(any(feature = "oauth", feature = "client", feature = "otel"))]
#[allow(deprecated)]
pub(crate) fn install_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Lower-case hexadecimal for ids and digests.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_two_lower_case_digits_per_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(super::hex(&[]), "");
    }
}
