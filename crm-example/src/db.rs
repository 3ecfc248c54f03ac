//! The CRM's storage: SQLite by default, PostgreSQL when the URL says so,
//! through one set of queries (sqlx's `Any` driver; `$n` placeholders work
//! on both) and the same migrations written for each dialect.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Row};

use crate::idempotency::{self, Call};
use crate::limits;
use crate::model::{
    Activity, Company, Contact, ContactDetails, Deal, NewActivity, NewContact, NewDeal,
    PipelineStage, PipelineSummary, Stage, UpcomingTask,
};
use crate::tenant::DEFAULT_TENANT;

mod activities;
mod audit;
mod companies;
mod contacts;
mod deals;
mod migrate;
mod records;

/// Why a CRM operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// The input is wrong; nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// The input clashes with what is stored (a taken e-mail address or
    /// company name, a record still in use, an idempotency key used for
    /// another call); nothing was written.
    #[error("{0}")]
    Conflict(String),
    /// The record does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// `contact`, `company`, `deal`.
        kind: &'static str,
        /// The id asked for.
        id: i64,
    },
    /// Tenancy is required and the request names no tenant.
    #[error(
        "this CRM server keeps each tenant's data apart and requires a tenant, but the request names none: \
         connect with an API key issued for your tenant (an MCP_API_KEYS entry named `name@tenant`), \
         or through the gateway that sets the tenant header (MCP_TENANT_HEADER)"
    )]
    TenantRequired,
    /// A migration could not be applied; the database is left as it was.
    #[error("migration {version} failed: {reason}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// What went wrong.
        reason: String,
    },
    /// The database failed. Its message (SQL, constraint and column
    /// names) is logged where the error arises and kept from the caller,
    /// who learns only that the database failed; it is the
    /// [`source`](std::error::Error::source).
    #[error(
        "database error: the CRM database could not complete the request (the server log has the details)"
    )]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for CrmError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        Self::Database(e)
    }
}

/// `e`, or a clear refusal when it is a unique-constraint violation of the
/// e-mail address `email` (a concurrent write took it after the check).
fn email_taken(e: sqlx::Error, email: Option<&str>) -> CrmError {
    match (&e, email) {
        (sqlx::Error::Database(d), Some(email)) if d.is_unique_violation() => {
            CrmError::Conflict(format!(
                "another contact already has the e-mail address {}",
                email.trim()
            ))
        }
        _ => e.into(),
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

/// The CRM database, as one tenant sees it: every read and write of
/// contacts, companies, deals, activities and idempotency keys is confined
/// to [`tenant`](Self::tenant) ([`DEFAULT_TENANT`] unless
/// [`for_tenant`](Self::for_tenant) says otherwise). The audit log is
/// shared; each record names its own tenant.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    tenant: Arc<str>,
    idempotency_ttl: Duration,
    /// When expired idempotency keys are next purged (Unix seconds),
    /// shared by every handle on the pool.
    next_purge: Arc<AtomicU64>,
}

/// How often expired idempotency keys are purged.
const PURGE_EVERY: u64 = 600;

/// Now, as ISO 8601 UTC (`YYYY-MM-DDTHH:MM:SSZ`): sortable as text on both
/// databases.
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    timestamp(secs)
}

/// A Unix time as ISO 8601 UTC.
pub fn timestamp(secs: u64) -> String {
    // Out of range (after the year 9999) only with a broken clock.
    let t = i64::try_from(secs)
        .ok()
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The UTC timestamp `days` days from now (in the past when negative).
pub(crate) fn days_from_now(days: i64) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let shifted = i64::try_from(secs).unwrap_or(0) + days * 86_400;
    timestamp(u64::try_from(shifted).unwrap_or(0))
}

impl Db {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:` or
    /// `postgres://...`), creating a SQLite file and its directory if
    /// needed, and runs the migrations.
    ///
    /// An in-memory SQLite database (`sqlite::memory:`, `sqlite://:memory:`
    /// or any `mode=memory` URL) is this handle's own, and lives until the
    /// process exits.
    ///
    /// # Errors
    /// The database is unreachable, or a migration failed.
    pub async fn connect(url: &str) -> Result<Self, CrmError> {
        install_default_drivers();
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            return Err(CrmError::Invalid(format!(
                "unsupported database URL `{url}`: use sqlite://path, sqlite::memory: or postgres://..."
            )));
        };
        let sqlite = dialect == Dialect::Sqlite;
        let target = sqlite.then(|| SqliteTarget::of(url));
        let in_memory = target == Some(SqliteTarget::Memory);
        let url = match target {
            // Written as sqlx expects it: `sqlite://:memory:` does not parse
            // as a URL ("empty host").
            Some(SqliteTarget::Memory) => "sqlite::memory:".to_owned(),
            Some(SqliteTarget::File(path)) => {
                if let Some(dir) = std::path::Path::new(path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    tokio::fs::create_dir_all(dir).await.map_err(|e| {
                        CrmError::Invalid(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                format!("sqlite://{path}?mode=rwc")
            }
            None => url.to_owned(),
        };
        // SQLite has one writer: one connection serializes every statement,
        // so concurrent requests (and audit inserts) never meet a locked
        // database. PostgreSQL gets a real pool.
        let mut options = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 10 })
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if sqlite {
                        // Per connection, so it holds after a reconnect too.
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *connection)
                            .await?;
                    }
                    Ok(())
                })
            });
        if in_memory {
            // The database is its connection's: every new connection opens
            // an empty one, so the single connection is never let go.
            options = options
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = options.connect(&url).await?;
        let db = Self {
            pool,
            dialect,
            tenant: Arc::from(DEFAULT_TENANT),
            idempotency_ttl: idempotency::DEFAULT_TTL,
            next_purge: Arc::new(AtomicU64::new(0)),
        };
        db.migrate().await?;
        Ok(db)
    }

    /// The same database (the same pool), reading and writing only
    /// `tenant`'s rows.
    #[must_use]
    pub fn for_tenant(&self, tenant: &str) -> Self {
        Self {
            tenant: Arc::from(tenant),
            ..self.clone()
        }
    }

    /// How long idempotency keys are remembered
    /// ([`DEFAULT_TTL`](idempotency::DEFAULT_TTL), a day, unless set;
    /// at most [`MAX_TTL`](idempotency::MAX_TTL)). After that a key is
    /// free for a new call. Zero forgets keys as soon as their call ends.
    #[must_use]
    pub fn idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl.min(idempotency::MAX_TTL);
        self
    }

    /// The tenant whose rows this handle reads and writes.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the database answers a trivial query (`SELECT 1`), for the
    /// readiness probe.
    ///
    /// # Errors
    /// The database is unreachable or refused the query.
    pub async fn ping(&self) -> Result<(), CrmError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The dialect in use.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Seeds sample data into an empty database (no tenant has any
    /// company yet), always in the [`DEFAULT_TENANT`]; returns whether it
    /// did.
    ///
    /// # Errors
    /// The database failed.
    pub async fn seed_if_empty(&self) -> Result<bool, CrmError> {
        let companies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM companies")
            .fetch_one(&self.pool)
            .await?;
        if companies > 0 {
            return Ok(false);
        }
        crate::seed::seed(self).await?;
        Ok(true)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// `%text%`, trimmed and lower-cased, for `LIKE .. ESCAPE '\'`: the
/// wildcards `%` and `_` in `text` match themselves.
fn like(text: &str) -> String {
    format!("%{}%", escape_like(&text.trim().to_lowercase()))
}

/// `text` with `\`, `%` and `_` escaped by a backslash, for
/// `LIKE .. ESCAPE '\'` (on both databases: SQLite has no default escape
/// character, so every LIKE names it).
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Tags as stored: lower-case, trimmed, comma-separated, no duplicates.
fn normalize_tags(tags: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out.join(",")
}

/// What a `sqlite:` URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteTarget<'a> {
    /// A file, by its path (query parameters dropped).
    File(&'a str),
    /// An in-memory database.
    Memory,
}

impl<'a> SqliteTarget<'a> {
    fn of(url: &'a str) -> Self {
        let rest = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let memory_mode = query
            .split('&')
            .any(|pair| pair.eq_ignore_ascii_case("mode=memory"));
        if path == ":memory:" || memory_mode {
            Self::Memory
        } else {
            Self::File(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite::memory:?cache=shared",
            "sqlite://?mode=memory",
            "sqlite:crm?mode=memory&cache=shared",
        ] {
            assert_eq!(SqliteTarget::of(url), SqliteTarget::Memory, "{url}");
        }
        assert_eq!(
            SqliteTarget::of("sqlite://data/crm.db"),
            SqliteTarget::File("data/crm.db")
        );
        assert_eq!(
            SqliteTarget::of("sqlite:///tmp/crm.db?mode=rwc"),
            SqliteTarget::File("/tmp/crm.db")
        );
        assert_eq!(
            SqliteTarget::of("sqlite:crm.db"),
            SqliteTarget::File("crm.db")
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(like(" Ada%_\\ "), "%ada\\%\\_\\\\%");
        assert_eq!(
            normalize_tags(&["VIP".into(), " vip".into(), "".into(), "Partner".into()]),
            "vip,partner"
        );
    }
}
