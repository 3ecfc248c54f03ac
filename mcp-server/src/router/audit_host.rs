//! The server as the audit log's host: its log, its metrics and what its
//! tools let a record say. Here rather than in the audit module, so the
//! audit log does not depend on the server.

use crate::audit::{AuditHost, AuditLog, ToolAudit};
use crate::metrics::Metrics;
use crate::server::Server;

impl AuditHost for Server {
    fn audit_log(&self) -> Option<&AuditLog> {
        Server::audit_log(self)
    }

    fn metrics(&self) -> &Metrics {
        Server::metrics(self)
    }

    fn tool_audit(&self, name: &str) -> Option<ToolAudit> {
        let tools = self.tools();
        let tool = tools.get(name)?;
        let annotations = tool.tool().annotations.as_ref();
        Some(ToolAudit {
            read_only: annotations.and_then(|a| a.read_only_hint),
            destructive: annotations.and_then(|a| a.destructive_hint),
            arguments: tool.audits_arguments(),
        })
    }
}
