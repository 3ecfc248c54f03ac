//! The audit sink both servers use: every MCP request is written to the
//! `audit_logs` table by the server's audit writer, a batch per
//! transaction, and to the JSON log.

use mcp_server::audit::{AuditError, AuditRecord, AuditSink, TracingAudit, WriteFuture};

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
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
        Box::pin(async move {
            TracingAudit.write(records).await?;
            write(&self.store, self.server, records)
                .await
                .map_err(|e| AuditError::Store(Box::new(e)))
        })
    }
}

/// Stores audit records, in one transaction.
///
/// # Errors
/// The database failed; none of the records is stored.
pub async fn write(store: &Store, server: &str, records: &[AuditRecord]) -> Result<(), StoreError> {
    let mut tx = store.pool().begin().await?;
    for record in records {
        // Whole seconds since the epoch fit u64 for any real clock.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let time = timestamp(record.time.max(0.0).floor() as u64);
        sqlx::query(
            "INSERT INTO audit_logs (time, server, principal, tenant, issuer, client_address, request_id,
                                     protocol_version, method, target, read_only, destructive,
                                     arguments_sha256, outcome, error, http_status, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(time)
        .bind(server)
        .bind(record.principal.as_deref())
        .bind(record.tenant.as_deref())
        .bind(record.issuer.as_deref())
        .bind(record.client_address.map(|a| a.to_string()))
        .bind(record.request_id.as_ref().map(ToString::to_string))
        .bind(record.protocol_version.map(|v| v.as_str()))
        .bind(record.method.as_deref())
        .bind(record.target.as_deref())
        .bind(record.read_only.map(i64::from))
        .bind(record.destructive.map(i64::from))
        .bind(record.arguments_sha256.as_deref())
        .bind(record.outcome.as_str())
        .bind(record.error.as_deref())
        .bind(record.http_status.map(i32::from))
        .bind(record.duration_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
