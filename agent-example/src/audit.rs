//! One audit sink for the server's tool calls and the agent loop's.

use std::path::Path;
use std::sync::Arc;

use mcp_server::audit::{AuditRecord, AuditSink, FileAudit, TracingAudit, WriteFuture};

/// An audit sink shared by the server (which records every MCP tool call)
/// and the agent (which records the tool calls of its loop).
#[derive(Debug, Clone)]
pub struct SharedAudit(pub Arc<dyn AuditSink>);

impl AuditSink for SharedAudit {
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
        self.0.write(records)
    }
}

/// Records as `tracing` events (target `mcp::audit`), and appended to
/// `file` as JSON lines when one is given.
#[derive(Debug)]
struct Both(FileAudit);

impl AuditSink for Both {
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
        Box::pin(async move {
            TracingAudit.write(records).await?;
            self.0.write(records).await
        })
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
