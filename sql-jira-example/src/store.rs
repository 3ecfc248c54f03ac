//! The database both servers keep their audit log and idempotency keys in
//! (and, for `sql-mcp`, the report data): SQLite by default, PostgreSQL
//! when the URL says so, through sqlx's `Any` driver (`$n` placeholders
//! work on both) and migrations written for each dialect, each with its
//! down migration.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The configuration is wrong (an unsupported URL, a bad version).
    #[error("{0}")]
    Invalid(String),
    /// A migration could not be applied; the database is left as it was.
    #[error("migration {version} failed: {reason}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// What went wrong.
        reason: String,
    },
    /// The database failed. Its message is logged where the error arises
    /// and kept from callers; it is the [`source`](std::error::Error::source).
    #[error("database error: the request could not be completed (the server log has the details)")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        Self::Database(e)
    }
}

/// Which SQL dialect the pool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// One migration: its version, name, and its up scripts per dialect and
/// its down script (the same for both).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The version, recorded in `schema_migrations`.
    pub version: i64,
    /// What it creates.
    pub name: &'static str,
    /// The up script for SQLite.
    pub sqlite: &'static str,
    /// The up script for PostgreSQL.
    pub postgres: &'static str,
    /// The down script: drops what the up script created and forgets the
    /// version.
    pub down: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/", $name, ".sqlite.sql")),
            postgres: include_str!(concat!("../migrations/", $name, ".postgres.sql")),
            down: include_str!(concat!("../migrations/", $name, ".down.sql")),
        }
    };
}

/// The tables both servers need: `audit_logs` and `idempotency_keys`.
pub const COMMON_MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_audit_logs"),
    migration!(2, "0002_idempotency_keys"),
];

/// `sql-mcp`'s: the common tables and the report data's schema.
pub const SQL_MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_audit_logs"),
    migration!(2, "0002_idempotency_keys"),
    migration!(3, "0003_reports"),
];

/// A database handle: a pool, its dialect and the URL it was opened with.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    url: String,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://...`), creating a
    /// SQLite file and its directory if needed, and applies `migrations`.
    ///
    /// # Errors
    /// The URL is unsupported, the database is unreachable, or a migration
    /// failed.
    pub async fn connect(url: &str, migrations: &[Migration]) -> Result<Self, StoreError> {
        install_default_drivers();
        let dialect = dialect_of(url)?;
        let sqlite = dialect == Dialect::Sqlite;
        let url = match dialect {
            Dialect::Postgres => url.to_owned(),
            Dialect::Sqlite => {
                let path = sqlite_path(url)?;
                if let Some(dir) = std::path::Path::new(path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    tokio::fs::create_dir_all(dir).await.map_err(|e| {
                        StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                format!("sqlite://{path}")
            }
        };
        let connect_url = if sqlite {
            format!("{url}?mode=rwc")
        } else {
            url.clone()
        };
        // SQLite has one writer: one connection serializes every write, so
        // concurrent requests and audit inserts never meet a locked file.
        // Reports read through their own read-only connections.
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 10 })
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *connection)
                            .await?;
                        // Readers do not wait for the writer, nor it for them.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *connection)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect_url)
            .await?;
        let store = Self { pool, dialect, url };
        store.migrate(migrations).await?;
        Ok(store)
    }

    /// The pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
    /// Whether the database answers a trivial query, for the readiness
    /// probe (`/ready`).
    ///
    /// # Errors
    /// The database is unreachable or refused the query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The dialect in use.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL the store was opened with (for SQLite, `sqlite://path`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        let mut connection = self.lock().await?;
        let result = self.migrate_on(&mut connection, migrations).await;
        self.unlock(connection, result.is_err()).await;
        result
    }

    async fn migrate_on(
        &self,
        connection: &mut AnyConnection,
        migrations: &[Migration],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .execute(&mut *connection)
        .await?;
        for migration in migrations {
            if applied(connection, migration.version).await? {
                continue;
            }
            let script = match self.dialect {
                Dialect::Sqlite => migration.sqlite,
                Dialect::Postgres => migration.postgres,
            };
            run_script(connection, script, Some(migration.version))
                .await
                .map_err(|e| StoreError::Migration {
                    version: migration.version,
                    reason: e.to_string(),
                })?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
        }
        Ok(())
    }

    /// Rolls back every applied migration of `migrations` above `target`,
    /// newest first, with its down script; returns the versions rolled
    /// back. `target` 0 drops every table the migrations created.
    ///
    /// # Errors
    /// A down script failed; the migrations after it stay rolled back.
    pub async fn migrate_down(
        &self,
        migrations: &[Migration],
        target: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut connection = self.lock().await?;
        let mut undone = Vec::new();
        let mut result = Ok(());
        for migration in migrations.iter().rev().filter(|m| m.version > target) {
            match applied(&mut connection, migration.version).await {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            if let Err(e) = run_script(&mut connection, migration.down, None).await {
                result = Err(StoreError::Migration {
                    version: migration.version,
                    reason: format!("rollback: {e}"),
                });
                break;
            }
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "rolled back migration"
            );
            undone.push(migration.version);
        }
        self.unlock(connection, result.is_err()).await;
        result.map(|()| undone)
    }

    /// A connection holding PostgreSQL's advisory lock, so replicas
    /// starting together never migrate at once.
    async fn lock(&self) -> Result<PoolConnection<Any>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_lock(7243012)")
                .execute(&mut *connection)
                .await?;
        }
        Ok(connection)
    }

    async fn unlock(&self, mut connection: PoolConnection<Any>, failed: bool) {
        let unlocked = match self.dialect {
            Dialect::Postgres => sqlx::query("SELECT pg_advisory_unlock(7243012)")
                .execute(&mut *connection)
                .await
                .map(drop),
            Dialect::Sqlite => Ok(()),
        };
        if failed || unlocked.is_err() {
            // A connection that may still hold the lock is never reused.
            drop(connection.detach());
        }
    }
}

/// Whether `version` is recorded as applied.
async fn applied(connection: &mut AnyConnection, version: i64) -> Result<bool, StoreError> {
    let row: Option<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *connection)
            .await?;
    Ok(row.is_some())
}

/// Runs a script's statements in one transaction; records `version` as
/// applied when given.
async fn run_script(
    connection: &mut AnyConnection,
    script: &str,
    version: Option<i64>,
) -> Result<(), sqlx::Error> {
    let mut tx = connection.begin().await?;
    for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    if let Some(version) = version {
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(timestamp(now_secs()))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// The dialect a URL names.
///
/// # Errors
/// Neither SQLite nor PostgreSQL.
pub fn dialect_of(url: &str) -> Result<Dialect, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Dialect::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Dialect::Sqlite)
    } else {
        Err(StoreError::Invalid(format!(
            "unsupported database URL `{url}`: use sqlite://path or postgres://..."
        )))
    }
}

/// The file a `sqlite:` URL names; in-memory databases are refused, since
/// reports read through connections of their own.
fn sqlite_path(url: &str) -> Result<&str, StoreError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory = path == ":memory:"
        || query
            .split('&')
            .any(|pair| pair.eq_ignore_ascii_case("mode=memory"));
    if memory || path.is_empty() {
        return Err(StoreError::Invalid(format!(
            "unsupported database URL `{url}`: give a SQLite file (sqlite://data/app.db); in-memory databases are not supported"
        )));
    }
    Ok(path)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A Unix time as ISO 8601 UTC (`YYYY-MM-DDTHH:MM:SSZ`), sortable as text
/// on both databases.
pub fn timestamp(secs: u64) -> String {
    // Out of range (after the year 9999) only with a broken clock.
    let t = i64::try_from(secs)
        .ok()
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `YYYY-MM-DD`.
pub(crate) fn date(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_times() {
        assert_eq!(dialect_of("postgres://x/y").unwrap(), Dialect::Postgres);
        assert_eq!(dialect_of("sqlite://a.db").unwrap(), Dialect::Sqlite);
        assert!(dialect_of("mysql://x").is_err());
        assert_eq!(
            sqlite_path("sqlite://data/a.db?mode=rwc").unwrap(),
            "data/a.db"
        );
        assert!(sqlite_path("sqlite::memory:").is_err());
        assert!(sqlite_path("sqlite://x?mode=memory").is_err());
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_709_210_096), "2024-02-29T12:34:56Z");
    }
}
