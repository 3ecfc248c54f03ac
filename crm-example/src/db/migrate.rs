//! The schema migrations, one script per dialect, and applying them.

use super::*;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("../../migrations/0001_init.sqlite.sql"),
        include_str!("../../migrations/0001_init.postgres.sql"),
    ),
    (
        2,
        include_str!("../../migrations/0002_audit.sqlite.sql"),
        include_str!("../../migrations/0002_audit.postgres.sql"),
    ),
    (
        3,
        include_str!("../../migrations/0003_tenants.sqlite.sql"),
        include_str!("../../migrations/0003_tenants.postgres.sql"),
    ),
    (
        4,
        include_str!("../../migrations/0004_idempotency.sqlite.sql"),
        include_str!("../../migrations/0004_idempotency.postgres.sql"),
    ),
    (
        5,
        include_str!("../../migrations/0005_audit_every_request.sqlite.sql"),
        include_str!("../../migrations/0005_audit_every_request.postgres.sql"),
    ),
];

impl Db {
    pub(super) async fn migrate(&self) -> Result<(), CrmError> {
        let mut connection = self.pool.acquire().await?;
        if self.dialect == Dialect::Postgres {
            // Replicas starting together on an empty database would race
            // to create the same tables; one migrates, the others wait.
            sqlx::query("SELECT pg_advisory_lock(7243011)")
                .execute(&mut *connection)
                .await?;
        }
        let migrated = self.migrate_on(&mut connection).await;
        let unlocked = match self.dialect {
            Dialect::Postgres => sqlx::query("SELECT pg_advisory_unlock(7243011)")
                .execute(&mut *connection)
                .await
                .map(drop),
            Dialect::Sqlite => Ok(()),
        };
        if migrated.is_err() || unlocked.is_err() {
            // A connection that may still hold the lock, or may have foreign
            // key enforcement off, never goes back to the pool.
            drop(connection.detach());
        }
        migrated
    }

    pub(super) async fn migrate_on(&self, connection: &mut AnyConnection) -> Result<(), CrmError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .execute(&mut *connection)
        .await?;
        for (version, sqlite, postgres) in MIGRATIONS {
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *connection)
                    .await?;
            if applied.is_some() {
                continue;
            }
            match self.dialect {
                Dialect::Postgres => apply(connection, *version, postgres, false).await?,
                Dialect::Sqlite => {
                    // SQLite changes a table's constraints by rebuilding it,
                    // which needs foreign key enforcement off; that cannot
                    // change inside a transaction, so it is off around it
                    // and the keys are checked before the commit instead.
                    sqlx::query("PRAGMA foreign_keys = OFF")
                        .execute(&mut *connection)
                        .await?;
                    let applied = apply(connection, *version, sqlite, true).await;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *connection)
                        .await?;
                    applied?;
                }
            }
            tracing::info!(version, "applied migration");
        }
        Ok(())
    }
}

/// Applies one migration script on `connection` in a transaction,
/// checking SQLite's foreign keys before the commit when `check_keys`.
async fn apply(
    connection: &mut AnyConnection,
    version: i64,
    script: &str,
    check_keys: bool,
) -> Result<(), CrmError> {
    let mut tx = connection.begin().await?;
    for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    if check_keys {
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *tx)
            .await?;
        if !broken.is_empty() {
            return Err(CrmError::Migration {
                version,
                reason: format!("{} rows would break foreign keys", broken.len()),
            });
        }
    }
    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
        .bind(version)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
