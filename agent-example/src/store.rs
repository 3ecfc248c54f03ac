//! Conversations in SQLite, kept per owner across requests and restarts.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_server::RequestContext;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Connection, Row};

/// The schema, in order; each applied once and recorded in `schema_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/0001_conversations.sql"))];

/// Why the conversation store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another request added to the conversation while this one ran.
    #[error(
        "the conversation changed while this request ran (another request on the same conversation finished first); ask again"
    )]
    Conflict,
    /// A migration could not be applied.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// Which one.
        version: i64,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The database failed; the details are logged, not shown to callers.
    #[error(
        "the conversation store could not complete the request (the server log has the details)"
    )]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "conversation store error");
        Self::Database(e)
    }
}

/// Who a conversation belongs to: the request's authenticated principal
/// (its issuer, tenant and id), or the anonymous owner when the transport
/// authenticates no one (stdio, HTTP without keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Owner {
    /// Who vouches for the principal; empty when anonymous.
    pub issuer: String,
    /// The principal's tenant; empty when none.
    pub tenant: String,
    /// The principal's id; empty when anonymous.
    pub principal: String,
}

impl Owner {
    /// The anonymous owner.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// The owner of what a request creates.
    pub fn of(ctx: &RequestContext) -> Self {
        match ctx.principal() {
            Some(p) => Self {
                issuer: p.issuer.clone().unwrap_or_default(),
                tenant: p.tenant.clone().unwrap_or_default(),
                principal: p.id.clone(),
            },
            None => Self::anonymous(),
        }
    }
}

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The caller's prompts, and tool results fed back to the model.
    User,
    /// The model.
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said: a prompt, the model's reply, or a tool result.
    pub content: String,
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// The conversation store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating it and its directory) the SQLite file at `path`, and
    /// brings its schema up to date. `:memory:` is a throwaway database.
    ///
    /// # Errors
    /// The file cannot be opened or migrated.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let memory = path == Path::new(":memory:");
        if !memory && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let options = if memory {
            // Parsed, not set as a file name: sqlx gives `:memory:` its
            // meaning only when it parses it.
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else {
            SqliteConnectOptions::new().filename(path)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // One connection: SQLite has one writer, and `:memory:` is the
        // connection's own database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        for &(version, sql) in MIGRATIONS {
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                    .bind(version)
                    .fetch_optional(&mut *conn)
                    .await?;
            if applied.is_some() {
                continue;
            }
            let migration = |source| StoreError::Migration { version, source };
            let mut tx = conn.begin().await.map_err(migration)?;
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(migration)?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
                .bind(version)
                .bind(now())
                .execute(&mut *tx)
                .await
                .map_err(migration)?;
            tx.commit().await.map_err(migration)?;
        }
        Ok(())
    }

    /// The owner's conversation, oldest message first; empty when it does
    /// not exist (or belongs to someone else, which is the same thing).
    ///
    /// # Errors
    /// The database failed.
    pub async fn load(&self, owner: &Owner, id: &str) -> Result<Vec<Message>, StoreError> {
        let rows = sqlx::query(
            "SELECT role, content FROM messages \
             WHERE issuer = ? AND tenant = ? AND principal = ? AND conversation_id = ? ORDER BY seq",
        )
        .bind(&owner.issuer)
        .bind(&owner.tenant)
        .bind(&owner.principal)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(Message {
                    role: if role == "assistant" {
                        Role::Assistant
                    } else {
                        Role::User
                    },
                    content: row.try_get("content")?,
                })
            })
            .collect()
    }

    /// Appends `messages` to the owner's conversation, which must still hold
    /// exactly `expected` messages: a request that started from an older
    /// state is refused rather than interleaved.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the conversation changed; the database failed.
    pub async fn append(
        &self,
        owner: &Owner,
        id: &str,
        expected: usize,
        messages: &[Message],
    ) -> Result<(), StoreError> {
        let now = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO conversations (issuer, tenant, principal, conversation_id, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (issuer, tenant, principal, conversation_id) DO UPDATE SET updated_at = excluded.updated_at",
        )
        .bind(&owner.issuer)
        .bind(&owner.tenant)
        .bind(&owner.principal)
        .bind(id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages \
             WHERE issuer = ? AND tenant = ? AND principal = ? AND conversation_id = ?",
        )
        .bind(&owner.issuer)
        .bind(&owner.tenant)
        .bind(&owner.principal)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if usize::try_from(count).ok() != Some(expected) {
            return Err(StoreError::Conflict);
        }
        for (seq, message) in (expected..).zip(messages) {
            sqlx::query(
                "INSERT INTO messages (issuer, tenant, principal, conversation_id, seq, role, content, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&owner.issuer)
            .bind(&owner.tenant)
            .bind(&owner.principal)
            .bind(id)
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .bind(message.role.as_str())
            .bind(&message.content)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the owner's conversation; false when there was none.
    ///
    /// # Errors
    /// The database failed.
    pub async fn delete(&self, owner: &Owner, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM conversations \
             WHERE issuer = ? AND tenant = ? AND principal = ? AND conversation_id = ?",
        )
        .bind(&owner.issuer)
        .bind(&owner.tenant)
        .bind(&owner.principal)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Closes the database (tests reopen the file as a restart would).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
