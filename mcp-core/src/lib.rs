//! The Model Context Protocol data model, for every revision from 2024-11-05
//! to 2026-07-28.
//!
//! This crate does no I/O. It holds the JSON-RPC envelope, every message type,
//! the error codes of each revision, and the codec that shapes outgoing
//! messages for the revision they go to.
//!
//! ```
//! use mcp_core::jsonrpc::Message;
//! use mcp_core::ProtocolVersion;
//!
//! let msg = Message::parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
//! assert_eq!(msg.method(), Some("tools/list"));
//! assert_eq!(ProtocolVersion::negotiate("2025-06-18"), ProtocolVersion::V2025_06_18);
//! ```
#![warn(missing_docs)]

pub mod apps;
pub mod client;
pub mod codec;
pub mod completion;
pub mod content;
pub mod error;
pub mod jsonrpc;
pub mod lifecycle;
pub mod logging;
pub mod meta;
pub mod method;
pub mod notification;
pub mod pagination;
pub mod prompt;
pub mod resource;
pub mod subscription;
pub mod tool;
pub mod uri_template;
pub mod version;

pub use error::ProtocolError;
pub use version::ProtocolVersion;
