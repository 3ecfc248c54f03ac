//! Idempotency keys for calls with effects outside the database (a Jira
//! write): a call retried with the same key returns the first call's result
//! instead of calling again.
//!
//! The first call claims its key with an insert that only one caller can
//! win (the `(tenant, key)` primary key), then calls upstream, then stores
//! the result. Concurrent retries in one process wait for the first call
//! to finish (a lock per key) and read its result; a retry reaching
//! another replica while the first call is still running is told to retry
//! shortly. A failed call releases its key. Keys are per tenant, tied to
//! one tool and one set of arguments, and expire after a time to live
//! ([`DEFAULT_TTL`], or `JIRA_IDEMPOTENCY_TTL` / `IDEMPOTENCY_TTL`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::store::{Store, StoreError, now_secs, timestamp};

/// How long a key is remembered unless configured otherwise: a day.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3_600);
/// The longest time to live: ten years.
pub const MAX_TTL: Duration = Duration::from_secs(3_650 * 86_400);
/// The longest key, in characters.
pub const MAX_KEY: usize = 200;
/// How often expired keys are purged, in seconds.
const PURGE_EVERY: u64 = 600;

/// An `IDEMPOTENCY_TTL` that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid IDEMPOTENCY_TTL `{0}`: give a positive duration of at most 3650d, such as `24h`, `90m`, `7d` or `3600` (seconds)"
)]
pub struct InvalidTtl(pub String);

/// Parses a time to live: seconds, or a number followed by `s`, `m`, `h`
/// or `d`; at most [`MAX_TTL`].
///
/// # Errors
/// Not a positive duration.
pub fn parse_ttl(text: &str) -> Result<Duration, InvalidTtl> {
    let invalid = || InvalidTtl(text.to_owned());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(factor)
        .map(Duration::from_secs)
        .filter(|ttl| !ttl.is_zero() && *ttl <= MAX_TTL)
        .ok_or_else(invalid)
}

/// Why a keyed call failed.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError<E> {
    /// The key is too long, or was used by another tool or other arguments.
    #[error("{0}")]
    Invalid(String),
    /// The first call with this key is still running (on another replica).
    #[error("idempotency key `{0}` is in use by a call still in progress: retry shortly")]
    InProgress(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The call itself failed; its key was released.
    #[error(transparent)]
    Call(E),
}

type Locks = Mutex<HashMap<(String, String), Weak<tokio::sync::Mutex<()>>>>;

/// Runs keyed calls once. Clones share their locks.
#[derive(Debug, Clone)]
pub struct Idempotency {
    store: Store,
    ttl: Duration,
    locks: Arc<Locks>,
    next_purge: Arc<AtomicU64>,
}

impl Idempotency {
    /// Keys kept in `store`'s `idempotency_keys` table for `ttl`.
    pub fn new(store: Store, ttl: Duration) -> Self {
        Self {
            store,
            ttl: ttl.min(MAX_TTL),
            locks: Arc::default(),
            next_purge: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How long keys are remembered.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Runs `call` for `tenant`, once per `key`: without a key (absent or
    /// blank) it simply runs; with one, a repeat returns the stored result.
    ///
    /// # Errors
    /// See [`IdempotencyError`].
    pub async fn run<T, E, F, Fut>(
        &self,
        tenant: &str,
        key: Option<&str>,
        tool: &str,
        arguments: &impl Serialize,
        call: F,
    ) -> Result<T, IdempotencyError<E>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
            return call().await.map_err(IdempotencyError::Call);
        };
        if key.chars().take(MAX_KEY + 1).count() > MAX_KEY {
            return Err(IdempotencyError::Invalid(format!(
                "`idempotency_key` is too long: at most {MAX_KEY} characters"
            )));
        }
        let fingerprint = fingerprint(tool, arguments)?;
        self.purge_now_and_then().await;
        let lock = self.lock_for(tenant, key);
        let _held = lock.lock().await;
        if let Some(stored) = self.claim(tenant, key, tool, &fingerprint).await? {
            return serde_json::from_str(&stored).map_err(|e| {
                tracing::error!(error = %e, "a stored idempotent result cannot be decoded");
                IdempotencyError::Invalid(
                    "the result stored under this idempotency key cannot be read: use a new key"
                        .into(),
                )
            });
        }
        match call().await {
            Ok(value) => {
                let json = serde_json::to_string(&value).map_err(|e| {
                    IdempotencyError::Invalid(format!("the result cannot be encoded: {e}"))
                })?;
                sqlx::query(
                    "UPDATE idempotency_keys SET status = 'done', result = $1 WHERE tenant = $2 AND key = $3",
                )
                .bind(json)
                .bind(tenant)
                .bind(key)
                .execute(self.store.pool())
                .await
                .map_err(StoreError::from)?;
                Ok(value)
            }
            Err(e) => {
                // Nothing happened upstream that a retry must not repeat.
                sqlx::query("DELETE FROM idempotency_keys WHERE tenant = $1 AND key = $2")
                    .bind(tenant)
                    .bind(key)
                    .execute(self.store.pool())
                    .await
                    .map_err(StoreError::from)?;
                Err(IdempotencyError::Call(e))
            }
        }
    }

    /// Claims `key`, or returns the result a finished call stored under it.
    async fn claim<E>(
        &self,
        tenant: &str,
        key: &str,
        tool: &str,
        fingerprint: &str,
    ) -> Result<Option<String>, IdempotencyError<E>> {
        let now = now_secs();
        let created = timestamp(now);
        let expires = timestamp(now.saturating_add(self.ttl.as_secs()));
        let pool = self.store.pool();
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE tenant = $1 AND key = $2 AND expires_at <= $3",
        )
        .bind(tenant)
        .bind(key)
        .bind(&created)
        .execute(pool)
        .await
        .map_err(StoreError::from)?;
        let claimed: Option<String> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (tenant, key, tool, fingerprint, status, result, created_at, expires_at)
             VALUES ($1, $2, $3, $4, 'pending', '', $5, $6)
             ON CONFLICT (tenant, key) DO NOTHING RETURNING key",
        )
        .bind(tenant)
        .bind(key)
        .bind(tool)
        .bind(fingerprint)
        .bind(&created)
        .bind(&expires)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::from)?;
        if claimed.is_some() {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT tool, fingerprint, status, result FROM idempotency_keys WHERE tenant = $1 AND key = $2",
        )
        .bind(tenant)
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::from)?;
        // Released by a failed call between the insert and the read.
        let Some(row) = row else {
            return Err(IdempotencyError::InProgress(key.to_owned()));
        };
        let get = |column: &str| -> Result<String, IdempotencyError<E>> {
            row.try_get(column)
                .map_err(|e| IdempotencyError::Store(e.into()))
        };
        let used_by = get("tool")?;
        if used_by != tool {
            return Err(IdempotencyError::Invalid(format!(
                "idempotency key `{key}` was already used by `{used_by}`: use a new key for a new call"
            )));
        }
        if get("fingerprint")? != fingerprint {
            return Err(IdempotencyError::Invalid(format!(
                "idempotency key `{key}` was already used with different arguments: \
                 retry with the same arguments, or use a new key for a new call"
            )));
        }
        if get("status")? != "done" {
            return Err(IdempotencyError::InProgress(key.to_owned()));
        }
        Ok(Some(get("result")?))
    }

    /// This process's lock for one key, made on first use and dropped with
    /// its last holder.
    fn lock_for(&self, tenant: &str, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = (tenant.to_owned(), key.to_owned());
        if let Some(lock) = locks.get(&id).and_then(Weak::upgrade) {
            return lock;
        }
        locks.retain(|_, lock| lock.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(id, Arc::downgrade(&lock));
        lock
    }

    /// Deletes expired keys, at most every [`PURGE_EVERY`] seconds.
    async fn purge_now_and_then(&self) {
        let now = now_secs();
        let due = self.next_purge.load(Ordering::Relaxed);
        if now < due
            || self
                .next_purge
                .compare_exchange(due, now + PURGE_EVERY, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let purged = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
            .bind(timestamp(now))
            .execute(self.store.pool())
            .await;
        if let Err(e) = purged {
            tracing::warn!(error = %e, "expired idempotency keys could not be purged");
        }
    }
}

/// A digest of the tool and its arguments.
fn fingerprint<E>(tool: &str, arguments: &impl Serialize) -> Result<String, IdempotencyError<E>> {
    let json = serde_json::to_vec(arguments)
        .map_err(|e| IdempotencyError::Invalid(format!("arguments cannot be encoded: {e}")))?;
    let mut hasher = Sha256::new();
    hasher.update(tool.as_bytes());
    hasher.update([0]);
    hasher.update(&json);
    let mut out = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(out, "{byte:02x}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("24h"), Ok(DEFAULT_TTL));
        assert_eq!(parse_ttl(" 90m "), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3_600)));
        for bad in ["", "0", "h", "1w", "-1h", "1.5h", "3651d"] {
            assert_eq!(parse_ttl(bad), Err(InvalidTtl(bad.into())), "{bad}");
        }
    }

    #[test]
    fn fingerprints_differ_by_tool_and_arguments() {
        let a = fingerprint::<()>("t", &(1, "a")).unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, fingerprint::<()>("t", &(1, "b")).unwrap());
        assert_ne!(a, fingerprint::<()>("u", &(1, "a")).unwrap());
    }
}
