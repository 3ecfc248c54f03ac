//! The CRM keeps its audit log in its own database, next to the data it
//! describes.

use mcp_server::audit::{AuditRecord, AuditSink, TracingAudit};

use crate::db::Db;

/// Writes audit records to the `audit_log` table, off the request path,
/// and to `tracing` as well.
#[derive(Debug, Clone)]
pub struct DbAudit {
    db: Db,
}

impl DbAudit {
    /// A sink writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

impl AuditSink for DbAudit {
    fn record(&self, record: &AuditRecord) {
        TracingAudit.record(record);
        let db = self.db.clone();
        let record = record.clone();
        // The insert runs beside the request so it never delays the answer.
        tokio::spawn(async move {
            if let Err(e) = db.write_audit(&record).await {
                tracing::error!(error = %e, "audit record could not be stored");
            }
        });
    }
}
