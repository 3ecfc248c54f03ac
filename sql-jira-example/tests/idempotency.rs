//! Idempotency keys with a short time to live, on SQLite and PostgreSQL:
//! an expired key is claimed again (the call runs again), and expired keys
//! are purged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::Db;
use sql_jira_example::idempotency::{Idempotency, IdempotencyError};
use sql_jira_example::store::{COMMON_MIGRATIONS, now_secs, timestamp};

const TTL: Duration = Duration::from_secs(1);

/// Runs a call under `key` that counts its runs and returns its run number.
async fn run(keys: &Idempotency, key: &str, runs: &Arc<AtomicU32>) -> u32 {
    let runs = Arc::clone(runs);
    let outcome: Result<u32, IdempotencyError<String>> = keys
        .run(
            "acme",
            Some(key),
            "create_issue",
            &"same arguments",
            || async move { Ok(runs.fetch_add(1, Ordering::SeqCst) + 1) },
        )
        .await;
    outcome.unwrap()
}

async fn stored(db: &Db, key: &str) -> i64 {
    db.count(&format!(
        "SELECT COUNT(*) FROM idempotency_keys WHERE key = '{key}'"
    ))
    .await
}

/// Waits (bounded) until the database's clock comparison sees `count` keys
/// expired.
async fn wait_expired(db: &Db, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let expired: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys WHERE expires_at <= $1")
                .bind(timestamp(now_secs()))
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        if expired == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{expired} keys expired, not {count}, after 10 s with a TTL of {TTL:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn expired_keys_are_claimed_again_and_purged(db: Db) {
    let keys = Idempotency::new(db.store.clone(), TTL);
    let runs = Arc::new(AtomicU32::new(0));

    // Within the TTL a repeat returns the stored result.
    assert_eq!(run(&keys, "a", &runs).await, 1);
    assert_eq!(run(&keys, "a", &runs).await, 1);
    assert_eq!(run(&keys, "b", &runs).await, 2);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(stored(&db, "a").await, 1);

    // Expired, the key is claimed again: the call runs again and its new
    // result is what a repeat now returns.
    wait_expired(&db, 2).await;
    assert_eq!(run(&keys, "a", &runs).await, 3);
    assert_eq!(run(&keys, "a", &runs).await, 3);
    assert_eq!(stored(&db, "a").await, 1);

    // Another process on the same database purges every expired key on
    // its first keyed call, not only the one it is asked about.
    wait_expired(&db, 2).await;
    let restarted = Idempotency::new(db.store.clone(), TTL);
    assert_eq!(run(&restarted, "c", &runs).await, 4);
    assert_eq!(stored(&db, "a").await, 0, "expired key a was not purged");
    assert_eq!(stored(&db, "b").await, 0, "expired key b was not purged");
    assert_eq!(stored(&db, "c").await, 1);
    db.finish().await;
}

#[tokio::test]
async fn expired_keys_on_sqlite() {
    expired_keys_are_claimed_again_and_purged(Db::sqlite(COMMON_MIGRATIONS).await).await;
}

#[tokio::test]
async fn expired_keys_on_postgres() {
    expired_keys_are_claimed_again_and_purged(Db::postgres(COMMON_MIGRATIONS).await).await;
}
