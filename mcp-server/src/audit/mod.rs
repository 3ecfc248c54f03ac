//! The audit log: one record per request that reaches the server, with who
//! sent it, what it asked, how it ended and how long it took, whether it
//! was answered, refused (401, 403, 429), timed out, cancelled, cut off by
//! a disconnect or stopped by a shutdown.
//!
//! Argument values are not recorded: a digest of them is, so a record can be
//! matched to a request without the log holding personal data. A tool whose
//! arguments hold nothing sensitive may opt in to having them recorded
//! (`#[mcp_tool(audit_arguments)]`).
//!
//! Records never wait on their sink: a request puts its record in a bounded
//! queue and goes on, and one writer task hands them to the
//! [`AuditSink`] in batches. A full queue drops the record and counts it
//! (`mcp_audit_records_dropped_total`); a graceful shutdown writes out the
//! queue before the server stops.

mod entry;
mod queue;
mod sinks;

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::RequestId;
use serde::Serialize;

pub(crate) use entry::{
    AuditHost, Entry, Named, Notes, Refusal, Stop, ToolAudit, note, note_trace, note_version,
    noted, noting, refused,
};
pub(crate) use queue::AuditLog;
pub use sinks::{FileAudit, TracingAudit};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditOutcome {
    /// Answered with a result.
    Ok,
    /// A tool call answered with a tool error (`isError: true`).
    ToolError,
    /// Answered with a JSON-RPC error, or refused as malformed.
    Error,
    /// Refused for its credential: none, an invalid one, one without the
    /// scope, another principal's session, a forbidden Host or Origin.
    Denied,
    /// Refused by a rate limit or a concurrency limit.
    RateLimited,
    /// Cancelled by the client, or abandoned by a client that went away.
    Cancelled,
    /// Stopped at its time limit.
    Timeout,
    /// Stopped, or refused, because the server was shutting down.
    Shutdown,
    /// Answered with questions for the client (2026-07-28).
    InputRequired,
    /// Answered with a task that runs on (2026-07-28).
    Task,
}

impl crate::metrics::CallOutcome for AuditOutcome {
    fn label(self) -> &'static str {
        self.as_str()
    }

    fn index(self) -> usize {
        match self {
            Self::Ok => 0,
            Self::ToolError => 1,
            Self::Error => 2,
            Self::Denied => 3,
            Self::RateLimited => 4,
            Self::Cancelled => 5,
            Self::Timeout => 6,
            Self::Shutdown => 7,
            Self::InputRequired => 8,
            Self::Task => 9,
        }
    }
}

impl AuditOutcome {
    /// The outcome's name in records and metrics, such as `rate_limited`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToolError => "tool_error",
            Self::Error => "error",
            Self::Denied => "denied",
            Self::RateLimited => "rate_limited",
            Self::Cancelled => "cancelled",
            Self::Timeout => "timeout",
            Self::Shutdown => "shutdown",
            Self::InputRequired => "input_required",
            Self::Task => "task",
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audited request. Serialized, it is one JSON object whose fields
/// keep their types: booleans, numbers, the request id as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// When it ended, seconds since the Unix epoch.
    pub time: f64,
    /// The authenticated principal, if any.
    pub principal: Option<String>,
    /// The principal's tenant, if any.
    pub tenant: Option<String>,
    /// Who vouched for the principal (an OAuth issuer), if anyone did.
    pub issuer: Option<String>,
    /// The client's address (over HTTP).
    pub client_address: Option<IpAddr>,
    /// The caller's W3C trace id, from the request's `_meta.traceparent`.
    pub trace_id: Option<String>,
    /// The JSON-RPC request id; none for a request refused before its body
    /// was read.
    pub request_id: Option<RequestId>,
    /// The protocol revision, once known.
    pub protocol_version: Option<ProtocolVersion>,
    /// The JSON-RPC method, such as `tools/call`; none for a request
    /// refused before its body was read.
    pub method: Option<Cow<'static, str>>,
    /// The tool or prompt name, or the resource URI.
    pub target: Option<String>,
    /// The tool was declared read-only.
    pub read_only: Option<bool>,
    /// The tool was declared destructive.
    pub destructive: Option<bool>,
    /// SHA-256 of the arguments as sent (hex).
    pub arguments_sha256: Option<String>,
    /// The arguments themselves, only for tools that opted in.
    pub arguments: Option<serde_json::Value>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why, for anything but success: the error message or the refusal.
    pub error: Option<String>,
    /// The HTTP status of a refusal made before the request was routed.
    pub http_status: Option<u16>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
}

impl AuditRecord {
    /// A record of `method` (such as `agent/tool`) that ended with
    /// `outcome`, its other fields empty: set those that apply, then hand
    /// it to [`RequestContext::audit`](crate::RequestContext::audit).
    pub fn new(method: impl Into<String>, outcome: AuditOutcome) -> Self {
        let mut record = Self::empty(outcome);
        record.method = Some(Cow::Owned(method.into()));
        record
    }

    pub(crate) fn empty(outcome: AuditOutcome) -> Self {
        Self {
            time: 0.0,
            principal: None,
            tenant: None,
            issuer: None,
            client_address: None,
            trace_id: None,
            request_id: None,
            protocol_version: None,
            method: None,
            target: None,
            read_only: None,
            destructive: None,
            arguments_sha256: None,
            arguments: None,
            outcome,
            error: None,
            http_status: None,
            duration_ms: 0.0,
        }
    }

    /// Names `principal` as the caller: its id, tenant and issuer.
    pub(crate) fn set_caller(&mut self, principal: &crate::auth::Principal) {
        self.principal = Some(principal.id.clone());
        self.tenant.clone_from(&principal.tenant);
        self.issuer.clone_from(&principal.issuer);
    }

    pub(crate) fn digest(arguments: &str) -> String {
        crate::hex(ring::digest::digest(&ring::digest::SHA256, arguments.as_bytes()).as_ref())
    }

    pub(crate) fn now() -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    pub(crate) fn millis(duration: Duration) -> f64 {
        duration.as_secs_f64() * 1000.0
    }
}

/// A sink could not take records.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Writing failed.
    #[error("audit records could not be written: {0}")]
    Io(#[from] std::io::Error),
    /// A record could not be encoded.
    #[error("an audit record could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
    /// The store behind the sink failed.
    #[error("the audit store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where audit records go.
///
/// The server's one writer task calls [`write`](Self::write) with the
/// records queued since the last call, oldest first, and waits for it
/// before the next batch; it never runs on a request's path, so it may
/// await I/O. A failed batch is retried twice, then dropped and counted.
pub trait AuditSink: Send + Sync + fmt::Debug + 'static {
    /// Writes `records`, in order.
    ///
    /// # Errors
    /// The records could not be written.
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a>;
}

/// What [`AuditSink::write`] returns.
pub type WriteFuture<'a> = Pin<Box<dyn Future<Output = Result<(), AuditError>> + Send + 'a>>;
