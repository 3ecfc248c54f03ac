//! `_meta` keys and the per-request metadata a server reads from them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::lifecycle::{ClientCapabilities, Implementation};
use crate::logging::LoggingLevel;
use crate::version::ProtocolVersion;

/// The `_meta` key of the protocol version on every 2026-07-28 request.
pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key of the client's capabilities on every 2026-07-28 request.
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key of the client's implementation info (2026-07-28).
pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// The `_meta` key of the log level a 2026-07-28 request asks for.
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// The `_meta` key of the server's implementation info on 2026-07-28 results.
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// The `_meta` key tagging traffic of a `subscriptions/listen` stream.
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// The `_meta` key linking a message to a task (2025-11-25 tasks).
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";
/// The `_meta` key of the progress token a request opts in with.
pub const PROGRESS_TOKEN: &str = "progressToken";
/// W3C trace context.
pub const TRACEPARENT: &str = "traceparent";
/// W3C trace state.
pub const TRACESTATE: &str = "tracestate";
/// W3C baggage.
pub const BAGGAGE: &str = "baggage";

/// A progress token: a string or an integer chosen by the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProgressToken {
    /// An integer token.
    Number(i64),
    /// A string token.
    String(String),
}

/// What a server reads from a request's `_meta`.
///
/// Unknown keys are kept in `other`, so nothing the client sent is lost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestMeta {
    /// The token progress notifications for this request must carry.
    #[serde(
        rename = "progressToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_token: Option<ProgressToken>,
    /// The revision this request speaks (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol_version: Option<String>,
    /// What the client can do (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientCapabilities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_capabilities: Option<ClientCapabilities>,
    /// Who the client is (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_info: Option<Implementation>,
    /// The log level for this request (2026-07-28); absent means no log notifications.
    #[serde(
        rename = "io.modelcontextprotocol/logLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub log_level: Option<LoggingLevel>,
    /// W3C `traceparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// W3C `tracestate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    /// Every other key.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl RequestMeta {
    /// The revision named in `_meta`, if any, as a string (it may be unknown to us).
    pub fn requested_version(&self) -> Option<&str> {
        self.protocol_version.as_deref()
    }

    /// The named revision, if it is one we know.
    pub fn known_version(&self) -> Option<ProtocolVersion> {
        self.protocol_version
            .as_deref()
            .and_then(|v| v.parse().ok())
    }
}

/// A request's `params` reduced to the `_meta` member; other members are skipped.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetaOnly {
    /// The `_meta` member.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}
