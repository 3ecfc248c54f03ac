//! Runs a template read-only, within a time limit and a row cap.
//!
//! PostgreSQL: a transaction made `READ ONLY` with a `SET LOCAL
//! statement_timeout`, rolled back when done. SQLite: connections of their
//! own, opened read-only with `PRAGMA query_only`, and a progress handler
//! that interrupts a statement past its deadline.

use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{AnyPool, Column, Connection, Row, TypeInfo, ValueRef};

use super::templates::{Param, Template};
use crate::store::{Dialect, Store, StoreError};

/// How much one report may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most rows returned; more are cut and the report says so.
    pub row_cap: usize,
    /// How long the query may run.
    pub statement_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            row_cap: 500,
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// A report's rows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// The template that produced it.
    pub template: String,
    /// The columns, in order.
    pub columns: Vec<String>,
    /// The rows, each an object of column to value.
    pub rows: Vec<Map<String, Value>>,
    /// How many rows are returned.
    pub row_count: usize,
    /// Whether more rows matched than the row cap allows.
    pub truncated: bool,
    /// The row cap in force.
    pub row_cap: usize,
}

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// An argument is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The query ran past the statement timeout and was stopped.
    #[error(
        "the report took longer than {0:?} and was stopped: narrow it (a shorter date range, a category)"
    )]
    Timeout(Duration),
    /// The query tried to write; the read-only transaction refused it.
    #[error("refused: reports are read-only and this query tried to write")]
    ReadOnly,
    /// The database failed (the server log has its message).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where reports read from.
#[derive(Debug, Clone)]
pub enum Reader {
    /// PostgreSQL, through the store's pool, one read-only transaction per
    /// report.
    Postgres(AnyPool),
    /// SQLite, through read-only connections of its own.
    Sqlite(SqlitePool),
}

impl Reader {
    /// The reader for `store`'s database.
    ///
    /// # Errors
    /// The read-only SQLite connections cannot be opened.
    pub async fn open(store: &Store) -> Result<Self, StoreError> {
        match store.dialect() {
            Dialect::Postgres => Ok(Self::Postgres(store.pool().clone())),
            Dialect::Sqlite => {
                let options = SqliteConnectOptions::from_str(store.url())?
                    .read_only(true)
                    .pragma("query_only", "ON");
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await?;
                Ok(Self::Sqlite(pool))
            }
        }
    }

    /// Runs `template` for `tenant` with `params` (bound as `$2`, `$3`...).
    ///
    /// # Errors
    /// See [`ReportError`].
    pub async fn run(
        &self,
        template: &Template,
        tenant: &str,
        params: &[Param],
        limits: Limits,
    ) -> Result<Report, ReportError> {
        if params.len() != template.params.len() {
            return Err(ReportError::Invalid(format!(
                "{} takes {} parameters, got {}",
                template.name,
                template.params.len(),
                params.len()
            )));
        }
        let cap = limits.row_cap;
        let (rows, truncated) = match self {
            Self::Postgres(pool) => postgres(pool, template.postgres, tenant, params, limits).await,
            Self::Sqlite(pool) => sqlite(pool, template.sqlite, tenant, params, limits).await,
        }
        .map_err(|e| classify(e, limits.statement_timeout))?;
        Ok(Report {
            template: template.name.to_owned(),
            columns: template.columns.iter().map(|c| (*c).to_owned()).collect(),
            row_count: rows.len(),
            rows,
            truncated,
            row_cap: cap,
        })
    }

    /// Closes the reader's own connections.
    pub async fn close(&self) {
        if let Self::Sqlite(pool) = self {
            pool.close().await;
        }
    }
}

type Rows = (Vec<Map<String, Value>>, bool);

async fn postgres(
    pool: &AnyPool,
    sql: &str,
    tenant: &str,
    params: &[Param],
    limits: Limits,
) -> Result<Rows, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await?;
    // A number this server chose, not an argument.
    let ms = limits.statement_timeout.as_millis().max(1);
    sqlx::query(&format!("SET LOCAL statement_timeout = {ms}"))
        .execute(&mut *tx)
        .await?;
    let mut query = sqlx::query(sql).bind(tenant);
    for param in params {
        query = match param {
            Param::Text(text) => query.bind(text.clone()),
            Param::Integer(n) => query.bind(*n),
        };
    }
    let rows = collect(query.fetch(&mut *tx), limits.row_cap, any_row).await;
    // Nothing to keep: a read-only transaction ends in a rollback.
    tx.rollback().await?;
    rows
}

async fn sqlite(
    pool: &SqlitePool,
    sql: &str,
    tenant: &str,
    params: &[Param],
    limits: Limits,
) -> Result<Rows, sqlx::Error> {
    let mut connection = pool.acquire().await?;
    let deadline = Instant::now() + limits.statement_timeout;
    connection
        .lock_handle()
        .await?
        .set_progress_handler(1_000, move || Instant::now() < deadline);
    let rows = async {
        let mut tx = connection.begin().await?;
        let mut query = sqlx::query(sql).bind(tenant);
        for param in params {
            query = match param {
                Param::Text(text) => query.bind(text.clone()),
                Param::Integer(n) => query.bind(*n),
            };
        }
        let rows = collect(query.fetch(&mut *tx), limits.row_cap, sqlite_row).await;
        tx.rollback().await?;
        rows
    }
    .await;
    let removed = match connection.lock_handle().await {
        Ok(mut handle) => {
            handle.remove_progress_handler();
            true
        }
        Err(_) => false,
    };
    if !removed {
        // A connection whose deadline may still interrupt is not reused.
        drop(connection.detach());
    }
    rows
}

/// At most `cap` rows, and whether there were more.
async fn collect<'s, R>(
    mut stream: futures_util::stream::BoxStream<'s, Result<R, sqlx::Error>>,
    cap: usize,
    to_json: fn(&R) -> Result<Map<String, Value>, sqlx::Error>,
) -> Result<Rows, sqlx::Error> {
    let mut rows = Vec::new();
    while let Some(row) = stream.try_next().await? {
        if rows.len() == cap {
            return Ok((rows, true));
        }
        rows.push(to_json(&row)?);
    }
    Ok((rows, false))
}

fn any_row(row: &AnyRow) -> Result<Map<String, Value>, sqlx::Error> {
    let mut map = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            match raw.type_info().kind() {
                AnyTypeInfoKind::SmallInt => Value::from(row.try_get::<i16, _>(i)?),
                AnyTypeInfoKind::Integer => Value::from(row.try_get::<i32, _>(i)?),
                AnyTypeInfoKind::BigInt => Value::from(row.try_get::<i64, _>(i)?),
                AnyTypeInfoKind::Real => Value::from(row.try_get::<f32, _>(i)?),
                AnyTypeInfoKind::Double => Value::from(row.try_get::<f64, _>(i)?),
                AnyTypeInfoKind::Bool => Value::from(row.try_get::<bool, _>(i)?),
                AnyTypeInfoKind::Text => Value::from(row.try_get::<String, _>(i)?),
                AnyTypeInfoKind::Blob | AnyTypeInfoKind::Null => Value::Null,
            }
        };
        map.insert(column.name().to_owned(), value);
    }
    Ok(map)
}

fn sqlite_row(row: &SqliteRow) -> Result<Map<String, Value>, sqlx::Error> {
    let mut map = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            match raw.type_info().name() {
                "INTEGER" | "BOOLEAN" => Value::from(row.try_get::<i64, _>(i)?),
                "REAL" => Value::from(row.try_get::<f64, _>(i)?),
                "TEXT" => Value::from(row.try_get::<String, _>(i)?),
                _ => Value::Null,
            }
        };
        map.insert(column.name().to_owned(), value);
    }
    Ok(map)
}

/// A timeout or a refused write by name; anything else as a database error.
fn classify(e: sqlx::Error, timeout: Duration) -> ReportError {
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        let message = db.message().to_ascii_lowercase();
        // 57014: canceled by statement_timeout; SQLite 9: interrupted.
        if code == "57014" || code == "9" || message.contains("interrupted") {
            return ReportError::Timeout(timeout);
        }
        // 25006: read-only transaction; SQLite 8: read-only database.
        if code == "25006" || code == "8" || message.contains("readonly") {
            tracing::warn!(error = %db, "a report tried to write");
            return ReportError::ReadOnly;
        }
    }
    ReportError::Store(e.into())
}
