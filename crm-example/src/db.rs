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

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("../migrations/0001_init.sqlite.sql"),
        include_str!("../migrations/0001_init.postgres.sql"),
    ),
    (
        2,
        include_str!("../migrations/0002_audit.sqlite.sql"),
        include_str!("../migrations/0002_audit.postgres.sql"),
    ),
    (
        3,
        include_str!("../migrations/0003_tenants.sqlite.sql"),
        include_str!("../migrations/0003_tenants.postgres.sql"),
    ),
    (
        4,
        include_str!("../migrations/0004_idempotency.sqlite.sql"),
        include_str!("../migrations/0004_idempotency.postgres.sql"),
    ),
    (
        5,
        include_str!("../migrations/0005_audit_every_request.sqlite.sql"),
        include_str!("../migrations/0005_audit_every_request.postgres.sql"),
    ),
];

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

    /// The dialect in use.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    async fn migrate(&self) -> Result<(), CrmError> {
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

    async fn migrate_on(&self, connection: &mut AnyConnection) -> Result<(), CrmError> {
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

    // Companies.

    /// Companies whose name, domain or industry contains `query` (taken
    /// literally: `%` and `_` match themselves).
    ///
    /// # Errors
    /// The query is too long, or the database failed.
    pub async fn list_companies(
        &self,
        query: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Company>, CrmError> {
        limits::check_opt("query", query, limits::QUERY)?;
        let pattern = like(query.unwrap_or(""));
        let rows = sqlx::query(&format!(
            "{COMPANY} WHERE c.tenant = $1
               AND (LOWER(c.name) LIKE $2 ESCAPE '\\' OR LOWER(COALESCE(c.domain, '')) LIKE $2 ESCAPE '\\'
                    OR LOWER(COALESCE(c.industry, '')) LIKE $2 ESCAPE '\\')
             ORDER BY c.name LIMIT $3 OFFSET $4"
        ))
        .bind(self.tenant())
        .bind(pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Company::from_row).collect()
    }

    /// One company.
    ///
    /// # Errors
    /// No such company, or the database failed.
    pub async fn company(&self, id: i64) -> Result<Company, CrmError> {
        self.read_company(&self.pool, id).await
    }

    /// One company, through `executor` (the pool, or a transaction).
    async fn read_company<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        id: i64,
    ) -> Result<Company, CrmError> {
        let row = sqlx::query(&format!("{COMPANY} WHERE c.tenant = $1 AND c.id = $2"))
            .bind(self.tenant())
            .bind(id)
            .fetch_optional(executor)
            .await?
            .ok_or(CrmError::NotFound {
                kind: "company",
                id,
            })?;
        Company::from_row(&row)
    }

    /// Finds or creates a company of this tenant by name, inside `tx`.
    async fn company_id_for(&self, tx: &mut AnyConnection, name: &str) -> Result<i64, CrmError> {
        let find = async |tx: &mut AnyConnection| -> Result<Option<i64>, CrmError> {
            Ok(sqlx::query_scalar(
                "SELECT id FROM companies WHERE tenant = $1 AND LOWER(name) = LOWER($2) ORDER BY id LIMIT 1",
            )
            .bind(self.tenant())
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?)
        };
        if let Some(id) = find(&mut *tx).await? {
            return Ok(id);
        }
        // Concurrent calls may create the same company: the one that
        // loses the race (PostgreSQL makes it wait for the winner's commit)
        // inserts nothing and finds the winner's row instead.
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO companies (tenant, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, name) DO NOTHING RETURNING id",
        )
        .bind(self.tenant())
        .bind(name)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?;
        match created {
            Some(id) => Ok(id),
            None => find(tx).await?.ok_or_else(|| {
                CrmError::Conflict(format!(
                    "company `{name}` is being changed by another request: retry"
                ))
            }),
        }
    }

    // Contacts.

    /// Contacts matching `query` in name, e-mail, company or tags, and
    /// having `tag` if given (both taken literally: `%` and `_` match
    /// themselves).
    ///
    /// # Errors
    /// The query or tag is too long, or the database failed.
    pub async fn search_contacts(
        &self,
        query: &str,
        company_id: Option<i64>,
        tag: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Contact>, i64), CrmError> {
        limits::check("query", query, limits::QUERY)?;
        limits::check_opt("tag", tag, limits::TAG)?;
        let pattern = like(query);
        let tag = tag.map(|t| format!("%,{},%", escape_like(&t.trim().to_lowercase())));
        let filter =
            "FROM contacts p LEFT JOIN companies c ON c.tenant = p.tenant AND c.id = p.company_id
             WHERE p.tenant = $1
               AND (LOWER(p.first_name || ' ' || p.last_name) LIKE $2 ESCAPE '\\'
                    OR LOWER(COALESCE(p.email, '')) LIKE $2 ESCAPE '\\'
                    OR LOWER(COALESCE(c.name, '')) LIKE $2 ESCAPE '\\'
                    OR LOWER(p.tags) LIKE $2 ESCAPE '\\')
               AND ($3 IS NULL OR p.company_id = $3)
               AND ($4 IS NULL OR (',' || LOWER(p.tags) || ',') LIKE $4 ESCAPE '\\')";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {filter}"))
            .bind(self.tenant())
            .bind(&pattern)
            .bind(company_id)
            .bind(tag.as_deref())
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT p.*, c.name AS company {filter} ORDER BY p.last_name, p.first_name, p.id LIMIT $5 OFFSET $6"
        ))
        .bind(self.tenant())
        .bind(&pattern)
        .bind(company_id)
        .bind(tag.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let contacts = rows
            .iter()
            .map(Contact::from_row)
            .collect::<Result<_, _>>()?;
        Ok((contacts, total))
    }

    /// One contact.
    ///
    /// # Errors
    /// No such contact, or the database failed.
    pub async fn contact(&self, id: i64) -> Result<Contact, CrmError> {
        self.read_contact(&self.pool, id).await
    }

    /// One contact, through `executor` (the pool, or a transaction).
    async fn read_contact<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        id: i64,
    ) -> Result<Contact, CrmError> {
        let row = sqlx::query(
            "SELECT p.*, c.name AS company FROM contacts p LEFT JOIN companies c ON c.tenant = p.tenant AND c.id = p.company_id
             WHERE p.tenant = $1 AND p.id = $2",
        )
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or(CrmError::NotFound { kind: "contact", id })?;
        Contact::from_row(&row)
    }

    /// A contact with its company, open deals and recent activities.
    ///
    /// # Errors
    /// No such contact, or the database failed.
    pub async fn contact_details(&self, id: i64) -> Result<ContactDetails, CrmError> {
        let contact = self.contact(id).await?;
        let company = match contact.company_id {
            Some(company_id) => Some(self.company(company_id).await?),
            None => None,
        };
        let rows = sqlx::query(
            "SELECT d.*, c.name AS company FROM deals d JOIN companies c ON c.tenant = d.tenant AND c.id = d.company_id
             WHERE d.tenant = $1 AND d.contact_id = $2 AND d.stage NOT IN ('won','lost') ORDER BY d.expected_close, d.id",
        )
        .bind(self.tenant())
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let open_deals = rows.iter().map(Deal::from_row).collect::<Result<_, _>>()?;
        let rows = sqlx::query(
            "SELECT * FROM activities WHERE tenant = $1 AND contact_id = $2 ORDER BY created_at DESC, id DESC LIMIT 10",
        )
        .bind(self.tenant())
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let recent_activities = rows
            .iter()
            .map(Activity::from_row)
            .collect::<Result<_, _>>()?;
        Ok(ContactDetails {
            contact,
            company,
            open_deals,
            recent_activities,
        })
    }

    /// Creates a contact (and its company, if new) in one transaction.
    ///
    /// # Errors
    /// Invalid input, a duplicate e-mail, or the database failed.
    pub async fn create_contact(&self, new: &NewContact) -> Result<Contact, CrmError> {
        self.create_contact_once(new, None).await
    }

    /// [`create_contact`](Self::create_contact) under an idempotency key:
    /// a retry with the same key and arguments returns the first call's
    /// result, even while the first call is still running (it waits for
    /// it), and creates nothing. See [`crate::idempotency`].
    ///
    /// # Errors
    /// As `create_contact`; or the key was used by another tool or with
    /// other arguments.
    pub async fn create_contact_once(
        &self,
        new: &NewContact,
        key: Option<&str>,
    ) -> Result<Contact, CrmError> {
        new.validate()?;
        let call = Call::new(key, "create_contact", new)?;
        let mut tx = self.pool.begin().await?;
        if let Some(call) = &call
            && let Some(stored) = call
                .claim(&mut tx, self.tenant(), self.idempotency_ttl)
                .await?
        {
            return idempotency::decode(&stored);
        }
        if let Some(email) = &new.email {
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM contacts WHERE tenant = $1 AND LOWER(email) = LOWER($2)",
            )
            .bind(self.tenant())
            .bind(email.trim())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = taken {
                return Err(CrmError::Conflict(format!(
                    "contact {id} already has the e-mail address {}",
                    email.trim()
                )));
            }
        }
        let company_id = match new
            .company
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(company) => Some(self.company_id_for(&mut tx, company).await?),
            None => None,
        };
        let now = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (first_name, last_name, email, phone, title, company_id, tags, created_at, updated_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id",
        )
        .bind(new.first_name.trim())
        .bind(new.last_name.trim())
        .bind(new.email.as_deref().map(str::trim))
        .bind(new.phone.as_deref().map(str::trim))
        .bind(new.title.as_deref())
        .bind(company_id)
        .bind(normalize_tags(&new.tags))
        .bind(&now)
        .bind(self.tenant())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| email_taken(e, new.email.as_deref()))?;
        // Read back before the commit: what the caller is told is what
        // commits, and a failed read commits nothing.
        let contact = self.read_contact(&mut *tx, id).await?;
        if let Some(call) = &call {
            call.settle(&mut tx, self.tenant(), &contact).await?;
        }
        tx.commit().await?;
        self.purge_now_and_then().await;
        Ok(contact)
    }

    /// Changes the given fields of a contact.
    ///
    /// # Errors
    /// Invalid input, an e-mail address another contact has, or an
    /// unknown id (nothing written), or the database failed.
    pub async fn update_contact(
        &self,
        id: i64,
        change: &crate::model::ContactChange,
    ) -> Result<Contact, CrmError> {
        change.validate()?;
        let mut tx = self.pool.begin().await?;
        if let Some(email) = &change.email {
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM contacts WHERE tenant = $1 AND LOWER(email) = LOWER($2) AND id <> $3",
            )
            .bind(self.tenant())
            .bind(email.trim())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(other) = taken {
                return Err(CrmError::Conflict(format!(
                    "contact {other} already has the e-mail address {}",
                    email.trim()
                )));
            }
        }
        let company_id = match change.company.as_deref().map(str::trim) {
            Some("") | None => None,
            Some(company) => Some(self.company_id_for(&mut tx, company).await?),
        };
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE contacts SET
                first_name = COALESCE($1, first_name),
                last_name = COALESCE($2, last_name),
                email = COALESCE($3, email),
                phone = COALESCE($4, phone),
                title = COALESCE($5, title),
                company_id = COALESCE($6, company_id),
                tags = COALESCE($7, tags),
                updated_at = $8
             WHERE tenant = $9 AND id = $10 RETURNING id",
        )
        .bind(change.first_name.as_deref().map(str::trim))
        .bind(change.last_name.as_deref().map(str::trim))
        .bind(change.email.as_deref().map(str::trim))
        .bind(change.phone.as_deref().map(str::trim))
        .bind(change.title.as_deref())
        .bind(company_id)
        .bind(change.tags.as_ref().map(|t| normalize_tags(t)))
        .bind(now())
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| email_taken(e, change.email.as_deref()))?;
        if updated.is_none() {
            return Err(CrmError::NotFound {
                kind: "contact",
                id,
            });
        }
        let contact = self.read_contact(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Deletes a contact and its activities; their deals lose the contact.
    /// Returns the contact as it was.
    ///
    /// # Errors
    /// Unknown id, or the database failed.
    pub async fn delete_contact(&self, id: i64) -> Result<Contact, CrmError> {
        let mut tx = self.pool.begin().await?;
        let contact = self.read_contact(&mut *tx, id).await?;
        sqlx::query("DELETE FROM activities WHERE tenant = $1 AND contact_id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE deals SET contact_id = NULL WHERE tenant = $1 AND contact_id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM contacts WHERE tenant = $1 AND id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(contact)
    }

    // Deals.

    /// Deals, optionally by stage and owner, soonest expected close first.
    ///
    /// # Errors
    /// The database failed.
    pub async fn list_deals(
        &self,
        stage: Option<Stage>,
        owner: Option<&str>,
        company_id: Option<i64>,
    ) -> Result<Vec<Deal>, CrmError> {
        let rows = sqlx::query(
            "SELECT d.*, c.name AS company FROM deals d JOIN companies c ON c.tenant = d.tenant AND c.id = d.company_id
             WHERE d.tenant = $1
               AND ($2 IS NULL OR d.stage = $2) AND ($3 IS NULL OR LOWER(d.owner) = LOWER($3))
               AND ($4 IS NULL OR d.company_id = $4)
             ORDER BY d.expected_close, d.id",
        )
        .bind(self.tenant())
        .bind(stage.map(Stage::as_str))
        .bind(owner)
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Deal::from_row).collect()
    }

    /// One deal.
    ///
    /// # Errors
    /// No such deal, or the database failed.
    pub async fn deal(&self, id: i64) -> Result<Deal, CrmError> {
        self.read_deal(&self.pool, id).await
    }

    /// One deal, through `executor` (the pool, or a transaction).
    async fn read_deal<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        id: i64,
    ) -> Result<Deal, CrmError> {
        let row = sqlx::query(
            "SELECT d.*, c.name AS company FROM deals d JOIN companies c ON c.tenant = d.tenant AND c.id = d.company_id
             WHERE d.tenant = $1 AND d.id = $2",
        )
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or(CrmError::NotFound { kind: "deal", id })?;
        Deal::from_row(&row)
    }

    /// Creates a deal.
    ///
    /// # Errors
    /// Invalid input or unknown company or contact, or the database failed.
    pub async fn create_deal(&self, new: &NewDeal) -> Result<Deal, CrmError> {
        self.create_deal_once(new, None).await
    }

    /// [`create_deal`](Self::create_deal) under an idempotency key, as
    /// [`create_contact_once`](Self::create_contact_once).
    ///
    /// # Errors
    /// As `create_deal`; or the key was used by another tool or with other
    /// arguments.
    pub async fn create_deal_once(
        &self,
        new: &NewDeal,
        key: Option<&str>,
    ) -> Result<Deal, CrmError> {
        new.validate()?;
        let call = Call::new(key, "create_deal", new)?;
        let mut tx = self.pool.begin().await?;
        if let Some(call) = &call
            && let Some(stored) = call
                .claim(&mut tx, self.tenant(), self.idempotency_ttl)
                .await?
        {
            return idempotency::decode(&stored);
        }
        self.read_company(&mut *tx, new.company_id).await?;
        if let Some(contact_id) = new.contact_id {
            self.read_contact(&mut *tx, contact_id).await?;
        }
        let now = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deals (title, company_id, contact_id, stage, amount_cents, currency, expected_close, owner, created_at, updated_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id",
        )
        .bind(new.title.trim())
        .bind(new.company_id)
        .bind(new.contact_id)
        .bind(new.stage.unwrap_or(Stage::Lead).as_str())
        .bind(new.amount_cents())
        .bind(new.currency.as_deref().unwrap_or("USD").to_uppercase())
        .bind(new.expected_close.as_deref())
        .bind(new.owner.as_deref().unwrap_or("unassigned"))
        .bind(&now)
        .bind(self.tenant())
        .fetch_one(&mut *tx)
        .await?;
        let deal = self.read_deal(&mut *tx, id).await?;
        if let Some(call) = &call {
            call.settle(&mut tx, self.tenant(), &deal).await?;
        }
        tx.commit().await?;
        self.purge_now_and_then().await;
        Ok(deal)
    }

    /// Moves a deal to another stage.
    ///
    /// # Errors
    /// Unknown deal, or the database failed.
    pub async fn update_deal_stage(&self, id: i64, stage: Stage) -> Result<Deal, CrmError> {
        let mut tx = self.pool.begin().await?;
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE deals SET stage = $1, updated_at = $2 WHERE tenant = $3 AND id = $4 RETURNING id",
        )
        .bind(stage.as_str())
        .bind(now())
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if updated.is_none() {
            return Err(CrmError::NotFound { kind: "deal", id });
        }
        let deal = self.read_deal(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(deal)
    }

    /// Counts and amounts per stage, in pipeline order.
    ///
    /// # Errors
    /// The database failed.
    pub async fn pipeline_summary(&self) -> Result<PipelineSummary, CrmError> {
        let rows = sqlx::query(
            "SELECT stage, COUNT(*) AS deals, CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS amount_cents
             FROM deals WHERE tenant = $1 GROUP BY stage",
        )
        .bind(self.tenant())
        .fetch_all(&self.pool)
        .await?;
        let mut stages: Vec<PipelineStage> = Stage::ALL
            .iter()
            .map(|stage| PipelineStage {
                stage: *stage,
                deals: 0,
                amount: 0.0,
            })
            .collect();
        for row in rows {
            let stage: String = row.try_get("stage")?;
            let Ok(stage) = stage.parse::<Stage>() else {
                continue;
            };
            if let Some(entry) = stages.iter_mut().find(|s| s.stage == stage) {
                entry.deals = row.try_get("deals")?;
                let cents: i64 = row.try_get("amount_cents")?;
                entry.amount = cents as f64 / 100.0;
            }
        }
        let open: Vec<&PipelineStage> = stages.iter().filter(|s| s.stage.is_open()).collect();
        Ok(PipelineSummary {
            open_deals: open.iter().map(|s| s.deals).sum(),
            open_amount: open.iter().map(|s| s.amount).sum(),
            stages,
        })
    }

    // Activities.

    /// Records an activity.
    ///
    /// # Errors
    /// Invalid input or unknown contact or deal, or the database failed.
    pub async fn log_activity(&self, new: &NewActivity) -> Result<Activity, CrmError> {
        self.log_activity_once(new, None).await
    }

    /// [`log_activity`](Self::log_activity) under an idempotency key, as
    /// [`create_contact_once`](Self::create_contact_once).
    ///
    /// # Errors
    /// As `log_activity`; or the key was used by another tool or with
    /// other arguments.
    pub async fn log_activity_once(
        &self,
        new: &NewActivity,
        key: Option<&str>,
    ) -> Result<Activity, CrmError> {
        new.validate()?;
        let call = Call::new(key, "log_activity", new)?;
        let mut tx = self.pool.begin().await?;
        if let Some(call) = &call
            && let Some(stored) = call
                .claim(&mut tx, self.tenant(), self.idempotency_ttl)
                .await?
        {
            return idempotency::decode(&stored);
        }
        if let Some(contact_id) = new.contact_id {
            self.read_contact(&mut *tx, contact_id).await?;
        }
        if let Some(deal_id) = new.deal_id {
            self.read_deal(&mut *tx, deal_id).await?;
        }
        let row = sqlx::query(
            "INSERT INTO activities (kind, subject, body, contact_id, deal_id, due_at, done, owner, created_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) RETURNING *",
        )
        .bind(new.kind.as_str())
        .bind(new.subject.trim())
        .bind(new.body.as_deref())
        .bind(new.contact_id)
        .bind(new.deal_id)
        .bind(new.due_at.as_deref())
        .bind(new.owner.as_deref().unwrap_or("unassigned"))
        .bind(now())
        .bind(self.tenant())
        .fetch_one(&mut *tx)
        .await?;
        let activity = Activity::from_row(&row)?;
        if let Some(call) = &call {
            call.settle(&mut tx, self.tenant(), &activity).await?;
        }
        tx.commit().await?;
        self.purge_now_and_then().await;
        Ok(activity)
    }

    /// Open tasks due within `days`, overdue ones first.
    ///
    /// # Errors
    /// The database failed.
    pub async fn upcoming_tasks(
        &self,
        days: i64,
        owner: Option<&str>,
    ) -> Result<Vec<UpcomingTask>, CrmError> {
        let rows = sqlx::query(
            "SELECT a.*, p.first_name || ' ' || p.last_name AS contact_name
             FROM activities a LEFT JOIN contacts p ON p.tenant = a.tenant AND p.id = a.contact_id
             WHERE a.tenant = $1 AND a.kind = 'task' AND a.done = 0 AND a.due_at IS NOT NULL AND a.due_at <= $2
               AND ($3 IS NULL OR LOWER(a.owner) = LOWER($3))
             ORDER BY a.due_at, a.id",
        )
        .bind(self.tenant())
        .bind(days_from_now(days))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        let now = now();
        rows.iter()
            .map(|row| {
                let activity = Activity::from_row(row)?;
                let overdue = activity.due_at.as_deref().is_some_and(|d| d < now.as_str());
                Ok(UpcomingTask {
                    contact_name: row.try_get("contact_name")?,
                    overdue,
                    activity,
                })
            })
            .collect()
    }

    // Audit.

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
    async fn purge_now_and_then(&self) {
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

/// A company with its counts; callers add `WHERE` (the alias is `c`).
const COMPANY: &str = "SELECT c.id, c.name, c.domain, c.industry, c.created_at,
        (SELECT COUNT(*) FROM contacts p WHERE p.tenant = c.tenant AND p.company_id = c.id) AS contacts,
        (SELECT COUNT(*) FROM deals d WHERE d.tenant = c.tenant AND d.company_id = c.id AND d.stage NOT IN ('won','lost')) AS open_deals
     FROM companies c";

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
