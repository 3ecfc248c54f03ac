//! Idempotency keys: a create retried with the same key returns the first
//! call's result instead of creating again.
//!
//! A keyed create claims its key inside the transaction that creates the
//! record, before creating it: the key's row and the record commit
//! together or not at all. The key is unique per tenant, so a concurrent
//! retry's claim meets the first one: PostgreSQL makes it wait until the
//! first transaction ends, and SQLite's single connection runs the calls
//! one after the other. Either way the retry then reads the first call's
//! result. A failed call stores nothing, so its key can be retried.
//!
//! Keys expire after a time to live ([`DEFAULT_TTL`], or
//! `CRM_IDEMPOTENCY_TTL`); an expired key is free for a new call.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::db::{CrmError, timestamp};
use crate::limits;

/// How long a key is remembered unless configured otherwise: a day.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3_600);

/// The longest time to live: ten years (expiry times stay four-digit
/// years, which sort as text).
pub const MAX_TTL: Duration = Duration::from_secs(3_650 * 86_400);

/// A `CRM_IDEMPOTENCY_TTL` that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid CRM_IDEMPOTENCY_TTL `{0}`: give a positive duration of at most 3650d, such as `24h`, `90m`, `7d` or `3600` (seconds)"
)]
pub struct InvalidTtl(pub String);

/// Parses a time to live: a number of seconds, or a number followed by
/// `s`, `m`, `h` or `d`; at most [`MAX_TTL`].
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

/// What one keyed call is: its key, its tool and a digest of its
/// arguments, so a key reused for anything else is refused.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    key: &'a str,
    tool: &'static str,
    fingerprint: String,
}

impl<'a> Call<'a> {
    /// The call of `tool` with `arguments` under `key`; `None` when there
    /// is no key (absent or blank).
    pub(crate) fn new(
        key: Option<&'a str>,
        tool: &'static str,
        arguments: &impl Serialize,
    ) -> Result<Option<Self>, CrmError> {
        let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
            return Ok(None);
        };
        limits::check("idempotency_key", key, limits::KEY)?;
        let json = serde_json::to_vec(arguments)
            .map_err(|e| CrmError::Invalid(format!("arguments cannot be encoded: {e}")))?;
        let mut fingerprint = String::with_capacity(64);
        for byte in Sha256::digest(&json) {
            let _ = write!(fingerprint, "{byte:02x}");
        }
        Ok(Some(Self {
            key,
            tool,
            fingerprint,
        }))
    }

    /// Claims the key for this call inside the caller's transaction, or
    /// returns the result the call that claimed it first stored.
    ///
    /// # Errors
    /// The key was used by another tool or with other arguments, or the
    /// database failed.
    pub(crate) async fn claim(
        &self,
        connection: &mut AnyConnection,
        tenant: &str,
        ttl: Duration,
    ) -> Result<Option<String>, CrmError> {
        let now = now_secs();
        let created = timestamp(now);
        let expires = timestamp(now.saturating_add(ttl.as_secs()));
        // A row can vanish between the claim and the read (it expired and
        // was purged): then the key is free again and the claim is retried.
        for _ in 0..3 {
            // An expired key is free for a new call.
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE tenant = $1 AND key = $2 AND expires_at <= $3",
            )
            .bind(tenant)
            .bind(self.key)
            .bind(&created)
            .execute(&mut *connection)
            .await?;
            // On PostgreSQL this waits while another transaction holds an
            // uncommitted claim of the same key, and conflicts once it commits.
            let claimed: Option<String> = sqlx::query_scalar(
                "INSERT INTO idempotency_keys (tenant, key, tool, fingerprint, result, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, '', $5, $6)
                 ON CONFLICT (tenant, key) DO NOTHING RETURNING key",
            )
            .bind(tenant)
            .bind(self.key)
            .bind(self.tool)
            .bind(&self.fingerprint)
            .bind(&created)
            .bind(&expires)
            .fetch_optional(&mut *connection)
            .await?;
            if claimed.is_some() {
                return Ok(None);
            }
            let row = sqlx::query(
                "SELECT tool, fingerprint, result FROM idempotency_keys WHERE tenant = $1 AND key = $2",
            )
            .bind(tenant)
            .bind(self.key)
            .fetch_optional(&mut *connection)
            .await?;
            let Some(row) = row else { continue };
            let tool: String = row.try_get("tool")?;
            let fingerprint: String = row.try_get("fingerprint")?;
            if tool != self.tool {
                return Err(CrmError::Conflict(format!(
                    "idempotency key `{}` was already used by `{tool}`: use a new key for a new call",
                    self.key
                )));
            }
            // Keys stored before fingerprints were kept have none.
            if !fingerprint.is_empty() && fingerprint != self.fingerprint {
                return Err(CrmError::Conflict(format!(
                    "idempotency key `{}` was already used with different arguments: \
                     retry with the same arguments, or use a new key for a new call",
                    self.key
                )));
            }
            return Ok(Some(row.try_get("result")?));
        }
        Err(CrmError::Conflict(format!(
            "idempotency key `{}` is in use by a call still in progress: retry shortly",
            self.key
        )))
    }

    /// Stores this call's result under its key, in the transaction that
    /// claimed it.
    ///
    /// # Errors
    /// The result cannot be encoded, or the database failed.
    pub(crate) async fn settle(
        &self,
        connection: &mut AnyConnection,
        tenant: &str,
        result: &impl Serialize,
    ) -> Result<(), CrmError> {
        let json = serde_json::to_string(result)
            .map_err(|e| CrmError::Invalid(format!("the result cannot be encoded: {e}")))?;
        sqlx::query("UPDATE idempotency_keys SET result = $1 WHERE tenant = $2 AND key = $3")
            .bind(json)
            .bind(tenant)
            .bind(self.key)
            .execute(&mut *connection)
            .await?;
        Ok(())
    }
}

/// Decodes a result stored by [`Call::settle`].
pub(crate) fn decode<T: serde::de::DeserializeOwned>(stored: &str) -> Result<T, CrmError> {
    serde_json::from_str(stored).map_err(|e| {
        tracing::error!(error = %e, "a stored idempotent result cannot be decoded");
        CrmError::Invalid(
            "the result stored under this idempotency key cannot be read: use a new key".into(),
        )
    })
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
        assert_eq!(parse_ttl("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_ttl("3650d"), Ok(MAX_TTL));
        for bad in [
            "",
            "0",
            "0h",
            "h",
            "1w",
            "-1h",
            "1.5h",
            "3651d",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_ttl(bad), Err(InvalidTtl(bad.into())), "{bad}");
        }
    }

    #[test]
    fn calls() {
        assert!(Call::new(None, "t", &1).unwrap().is_none());
        assert!(Call::new(Some("  "), "t", &1).unwrap().is_none());
        let a = Call::new(Some(" k "), "t", &(1, "a")).unwrap().unwrap();
        let b = Call::new(Some("k"), "t", &(1, "b")).unwrap().unwrap();
        assert_eq!(a.key, "k");
        assert_eq!(a.fingerprint.len(), 64);
        assert_ne!(a.fingerprint, b.fingerprint);
        assert!(Call::new(Some(&"k".repeat(201)), "t", &1).is_err());
    }
}
