//! The shared audit log and the per-tenant idempotency keys.

use super::*;

impl Db {
    /// Appends audit records, in one transaction (to the shared log,
    /// whatever this handle's tenant: each record names its own).
    ///
    /// # Errors
    /// The database failed; none of the records is stored.
    pub async fn write_audit(
        &self,
        records: &[mcp_server::audit::AuditRecord],
    ) -> Result<(), CrmError> {
        let mut tx = self.pool.begin().await?;
        for record in records {
            let secs = record.time.max(0.0).floor();
            // Whole seconds since the epoch fit u64 for any real clock.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let time = timestamp(secs as u64);
            sqlx::query(
                "INSERT INTO audit_log (time, principal, tenant, issuer, client_address, request_id,
                                        protocol_version, method, target, read_only, destructive,
                                        arguments_sha256, outcome, error, http_status, duration_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(time)
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

    /// The most recent audit records of every tenant: (method, target,
    /// outcome), newest first; a request refused before it was read has
    /// neither method nor target.
    ///
    /// # Errors
    /// The database failed.
    pub async fn recent_audit(
        &self,
        limit: i64,
    ) -> Result<Vec<(Option<String>, Option<String>, String)>, CrmError> {
        let rows =
            sqlx::query("SELECT method, target, outcome FROM audit_log ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("method")?,
                    r.try_get("target")?,
                    r.try_get("outcome")?,
                ))
            })
            .collect()
    }

    // Idempotency.

    /// The result stored under this tenant's unexpired idempotency key by
    /// an earlier call of `tool`, if any.
    ///
    /// # Errors
    /// The key was used by another tool, or the database failed.
    pub async fn idempotent_result(
        &self,
        key: &str,
        tool: &str,
    ) -> Result<Option<String>, CrmError> {
        let row = sqlx::query(
            "SELECT tool, result FROM idempotency_keys WHERE tenant = $1 AND key = $2 AND expires_at > $3",
        )
        .bind(self.tenant())
        .bind(key)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let used_by: String = row.try_get("tool")?;
        if used_by != tool {
            return Err(CrmError::Invalid(format!(
                "idempotency key `{key}` was already used by `{used_by}`"
            )));
        }
        Ok(Some(row.try_get("result")?))
    }

    /// Deletes every tenant's expired idempotency keys; returns how many.
    /// Keyed creates call this now and then on their own.
    ///
    /// # Errors
    /// The database failed.
    pub async fn purge_expired_idempotency_keys(&self) -> Result<u64, CrmError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Purges expired idempotency keys if the last purge was long enough
    /// ago. Claims ignore an expired key anyway; this keeps the table small.
    pub(super) async fn purge_now_and_then(&self) {
        let now = idempotency::now_secs();
        let due = self.next_purge.load(Ordering::Relaxed);
        if now < due
            || self
                .next_purge
                .compare_exchange(due, now + PURGE_EVERY, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        match self.purge_expired_idempotency_keys().await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "purged expired idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired idempotency keys"),
        }
    }
}
