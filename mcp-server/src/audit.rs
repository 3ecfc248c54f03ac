//! The audit log: one record per tool call and per resource read, with who
//! did it, what, how it ended and how long it took. Argument values are
//! not recorded: a digest of them is, so a record can be matched to a
//! request without the log holding personal data. A tool whose arguments
//! hold nothing sensitive may opt in to having them recorded
//! (`#[mcp_tool(audit_arguments)]`).

use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// One audited operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// When it finished, seconds since the Unix epoch.
    pub time: f64,
    /// The authenticated principal, if any.
    pub principal: Option<String>,
    /// The principal's tenant, if any.
    pub tenant: Option<String>,
    /// The JSON-RPC request id.
    pub request_id: String,
    /// The protocol revision.
    pub protocol_version: String,
    /// `tools/call` or `resources/read`.
    pub method: String,
    /// The tool's name or the resource's URI.
    pub target: String,
    /// The tool was declared read-only.
    pub read_only: Option<bool>,
    /// The tool was declared destructive.
    pub destructive: Option<bool>,
    /// SHA-256 of the arguments as sent (hex).
    pub arguments_sha256: Option<String>,
    /// The arguments themselves (JSON), only for tools that opted in.
    pub arguments: Option<String>,
    /// `ok`, `tool_error`, `error`, `input_required` or `task`.
    pub outcome: String,
    /// The error message, for protocol errors.
    pub error: Option<String>,
    /// How long the handler took, in milliseconds.
    pub duration_ms: f64,
}

impl AuditRecord {
    pub(crate) fn digest(arguments: &str) -> String {
        crate::hex(&Sha256::digest(arguments.as_bytes()))
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

/// Where audit records go.
pub trait AuditSink: Send + Sync + fmt::Debug + 'static {
    /// Records one operation. Must not block for long: it runs on the
    /// request path.
    fn record(&self, record: &AuditRecord);
}

/// Audit records as `tracing` events (target `mcp::audit`), which the
/// subscriber formats, as JSON lines with a JSON formatter. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingAudit;

impl AuditSink for TracingAudit {
    fn record(&self, record: &AuditRecord) {
        tracing::info!(
            target: "mcp::audit",
            principal = record.principal.as_deref().unwrap_or("-"),
            tenant = record.tenant.as_deref().unwrap_or("-"),
            request_id = %record.request_id,
            method = %record.method,
            target_name = %record.target,
            read_only = ?record.read_only,
            destructive = ?record.destructive,
            arguments_sha256 = record.arguments_sha256.as_deref().unwrap_or("-"),
            arguments = record.arguments.as_deref(),
            outcome = %record.outcome,
            duration_ms = record.duration_ms,
            "audit"
        );
    }
}

/// Audit records appended to a file, one JSON object per line.
pub struct FileAudit {
    file: Mutex<std::fs::File>,
}

impl fmt::Debug for FileAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileAudit")
    }
}

impl FileAudit {
    /// Appends to `path`, creating it.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }
}

impl AuditSink for FileAudit {
    fn record(&self, record: &AuditRecord) {
        let Ok(mut line) = serde_json::to_vec(record) else {
            return;
        };
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // One write per record keeps lines whole; a failed write is logged,
        // not fatal to the request.
        if let Err(e) = file.write_all(&line) {
            tracing::error!(error = %e, "audit record could not be written");
        }
    }
}
