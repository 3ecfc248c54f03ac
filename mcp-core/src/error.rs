//! Protocol errors and their JSON-RPC codes, per revision.

use serde_json::json;

use crate::jsonrpc::{ErrorObject, error_code};
use crate::lifecycle::ClientCapabilities;
use crate::version::ProtocolVersion;

/// A request the server cannot process, as the protocol sees it.
///
/// Tool failures are not protocol errors: they are `isError` results.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The input is not valid JSON.
    #[error("parse error: {0}")]
    Parse(String),
    /// The JSON is not a valid JSON-RPC request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The method does not exist, or is not available on this revision.
    #[error("method not found: `{0}`")]
    MethodNotFound(String),
    /// The params are missing or wrong.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// The 2026-07-28 request envelope is incomplete: `_meta` lacks the
    /// protocol version or the client capabilities (-32602, HTTP 400).
    #[error("invalid params: {0}")]
    InvalidEnvelope(String),
    /// The named tool does not exist.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// A request came before the `initialize` handshake finished.
    #[error("the server is not initialized: send `initialize` first")]
    NotInitialized,
    /// The requested revision is not implemented (2026-07-28: -32022).
    #[error("unsupported protocol version `{requested}`")]
    UnsupportedProtocolVersion {
        /// What the client asked for.
        requested: String,
        /// What the server speaks.
        supported: Vec<ProtocolVersion>,
    },
    /// An HTTP header disagrees with the body (2026-07-28: -32020).
    #[error("header mismatch: {0}")]
    HeaderMismatch(String),
    /// The request needs a client capability the client did not declare (-32021).
    #[error("missing required client capability")]
    MissingRequiredClientCapability(Box<ClientCapabilities>),
    /// The resource does not exist (-32002 up to 2025-11-25, -32602 after).
    #[error("resource not found: `{uri}`")]
    ResourceNotFound {
        /// The URI asked for.
        uri: String,
    },
    /// The caller lacks a scope the request needs (HTTP 403).
    #[error("forbidden: this needs the scope(s) {}", required.join(", "))]
    InsufficientScope {
        /// Every scope the request needs.
        required: Vec<String>,
    },
    /// The caller exceeded its rate limit (HTTP 429).
    #[error("rate limit exceeded: retry in {retry_after_secs}s")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// The caller is over a limit other than its request rate, such as
    /// the number of tasks it may keep (-32011 with `retryAfterSeconds`,
    /// HTTP 429). The message names the limit.
    #[error("{message}")]
    LimitReached {
        /// What is over which limit, and what to do about it.
        message: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// Something failed inside the server.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProtocolError {
    /// The JSON-RPC error object for this error, as `version` expects it.
    pub fn to_error_object(&self, version: ProtocolVersion) -> ErrorObject {
        let message = self.to_string();
        match self {
            Self::Parse(_) => ErrorObject::new(error_code::PARSE_ERROR, message),
            Self::InvalidRequest(_) => ErrorObject::new(error_code::INVALID_REQUEST, message),
            Self::MethodNotFound(_) => ErrorObject::new(error_code::METHOD_NOT_FOUND, message),
            Self::InvalidParams(_)
            | Self::InvalidEnvelope(_)
            | Self::UnknownTool(_)
            | Self::NotInitialized => ErrorObject::new(error_code::INVALID_PARAMS, message),
            Self::UnsupportedProtocolVersion {
                requested,
                supported,
            } => {
                let data = json!({ "supported": supported, "requested": requested });
                if version.is_stateless() {
                    ErrorObject::new(error_code::UNSUPPORTED_PROTOCOL_VERSION, message)
                        .with_data(data)
                } else {
                    ErrorObject::new(error_code::INVALID_PARAMS, message).with_data(data)
                }
            }
            Self::HeaderMismatch(_) => ErrorObject::new(error_code::HEADER_MISMATCH, message),
            Self::MissingRequiredClientCapability(caps) => {
                ErrorObject::new(error_code::MISSING_REQUIRED_CLIENT_CAPABILITY, message)
                    .with_data(json!({ "requiredCapabilities": caps }))
            }
            Self::ResourceNotFound { uri } => {
                let code = if version.is_stateless() {
                    error_code::INVALID_PARAMS
                } else {
                    error_code::RESOURCE_NOT_FOUND
                };
                ErrorObject::new(code, message).with_data(json!({ "uri": uri }))
            }
            Self::InsufficientScope { required } => {
                ErrorObject::new(error_code::INSUFFICIENT_SCOPE, message)
                    .with_data(json!({ "requiredScopes": required }))
            }
            Self::RateLimited { retry_after_secs }
            | Self::LimitReached {
                retry_after_secs, ..
            } => ErrorObject::new(error_code::RATE_LIMITED, message)
                .with_data(json!({ "retryAfterSeconds": retry_after_secs })),
            Self::Internal(_) => ErrorObject::new(error_code::INTERNAL_ERROR, message),
        }
    }
}
