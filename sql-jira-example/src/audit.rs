//! The audit sink both servers use: every MCP request is written to the
//! `audit_logs` table, off the request path, and to the JSON log.

use mcp_server::audit::{AuditRecord, AuditSink, TracingAudit};

use crate::store::{Store, StoreError, timestamp};

/// Writes audit records to `audit_logs` (naming the server that wrote
/// them, since both servers may share one database) and to `tracing`.
#[derive(Debug, Clone)]
pub struct DbAudit {
    store: Store,
    server: &'static str,
}

impl DbAudit {
    /// A sink writing `server`'s records to `store`.
    pub fn new(store: Store, server: &'static str) -> Self {
        Self { store, server }
    }
}

impl AuditSink for DbAudit {
    fn record(&self, record: &AuditRecord) {
        TracingAudit.record(record);
        let store = self.store.clone();
        let server = self.server;
        let record = record.clone();
        // The insert runs beside the request so it never delays the answer.
        tokio::spawn(async move {
            if let Err(e) = write(&store, server, &record).await {
                tracing::error!(error = %e, "audit record could not be stored");
            }
        });
    }
}

/// Stores one audit record.
///
/// # Errors
/// The database failed.
pub async fn write(store: &Store, server: &str, record: &AuditRecord) -> Result<(), StoreError> {
    // Whole seconds since the epoch fit u64 for any real clock.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let time = timestamp(record.time.max(0.0).floor() as u64);
    sqlx::query(
        "INSERT INTO audit_logs (time, server, principal, tenant, request_id, protocol_version, method, target,
                                 read_only, destructive, arguments_sha256, outcome, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(time)
    .bind(server)
    .bind(record.principal.as_deref())
    .bind(record.tenant.as_deref())
    .bind(&record.request_id)
    .bind(&record.protocol_version)
    .bind(&record.method)
    .bind(&record.target)
    .bind(record.read_only.map(i64::from))
    .bind(record.destructive.map(i64::from))
    .bind(record.arguments_sha256.as_deref())
    .bind(&record.outcome)
    .bind(record.error.as_deref())
    .bind(record.duration_ms)
    .execute(store.pool())
    .await?;
    Ok(())
}
