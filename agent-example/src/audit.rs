//! One audit sink for the server's tool calls and the agent loop's.

use std::path::Path;
use std::sync::Arc;

use mcp_server::audit::{AuditRecord, AuditSink, FileAudit, TracingAudit};

/// An audit sink shared by the server (which records every MCP tool call)
/// and the agent (which records the tool calls of its loop).
#[derive(Debug, Clone)]
pub struct SharedAudit(pub Arc<dyn AuditSink>);

impl AuditSink for SharedAudit {
    fn record(&self, record: &AuditRecord) {
        self.0.record(record);
    }
}

/// Records as `tracing` events (target `mcp::audit`), and appended to
/// `file` as JSON lines when one is given.
#[derive(Debug)]
struct Both(FileAudit);

impl AuditSink for Both {
    fn record(&self, record: &AuditRecord) {
        TracingAudit.record(record);
        self.0.record(record);
    }
}

/// The sink for `AGENT_AUDIT_FILE`: the log alone, or the log and the file.
///
/// # Errors
/// The file cannot be opened for appending.
pub fn sink(file: Option<&Path>) -> std::io::Result<SharedAudit> {
    Ok(SharedAudit(match file {
        None => Arc::new(TracingAudit),
        Some(path) => Arc::new(Both(FileAudit::open(path)?)),
    }))
}
