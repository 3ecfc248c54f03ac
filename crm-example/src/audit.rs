//! The CRM keeps its audit log in its own database, next to the data it
//! describes.

use mcp_server::audit::{AuditError, AuditRecord, AuditSink, TracingAudit, WriteFuture};

use crate::db::Db;

/// Writes audit records to the `audit_log` table, a batch per
/// transaction, and to `tracing` as well.
///
/// The server's audit writer calls it off the request path and waits for
/// each batch, so records in flight at a graceful shutdown are written
/// before the server stops.
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
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
        Box::pin(async move {
            TracingAudit.write(records).await?;
            self.db
                .write_audit(records)
                .await
                .map_err(|e| AuditError::Store(Box::new(e)))
        })
    }
}
