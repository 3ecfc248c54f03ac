//! What every store implementation must do, checked on the in-memory ones
//! and on Redis at 127.0.0.1:6379 (feature `redis`), each under its own
//! key prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt as _;
use mcp_server::LoggingLevel;
use mcp_server::ProtocolVersion;
use mcp_server::auth::Principal;
use mcp_server::store::{
    Bus, BusMessage, PrincipalBinding, SessionChange, SessionRecord, SessionStore, Stores,
    TaskOwnerRecord, TaskRecord, TaskState, TaskStore,
};

const TTL: Duration = Duration::from_secs(60);

fn record(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        version: ProtocolVersion::V2025_11_25,
        client_info: mcp_server::core::lifecycle::Implementation {
            name: "client".into(),
            version: "1".into(),
            ..Default::default()
        },
        capabilities: mcp_server::core::lifecycle::ClientCapabilities::default(),
        initialized: false,
        log_level: None,
        principal: Some(PrincipalBinding::of(
            &Principal::new("alice", ["read"]).with_tenant("acme"),
        )),
        subscriptions: BTreeSet::new(),
        created_ms: 1,
        last_seen_ms: 1,
    }
}

async fn sessions_contract(store: &dyn SessionStore) {
    store.ping().await.unwrap();
    let id = "s-contract";
    assert!(store.get(id, TTL).await.unwrap().is_none());
    assert!(!store.touch(id, TTL).await.unwrap());
    let change = SessionChange::Initialized;
    assert!(
        !store.update(id, &change, TTL).await.unwrap(),
        "no session, no change"
    );
    assert!(
        store.get(id, TTL).await.unwrap().is_none(),
        "an update creates nothing"
    );

    store.create(&record(id), TTL).await.unwrap();
    assert!(store.touch(id, TTL).await.unwrap());
    for change in [
        SessionChange::Initialized,
        SessionChange::LogLevel(LoggingLevel::Warning),
        SessionChange::Subscribe("test://a".into()),
        SessionChange::Subscribe("test://b".into()),
        SessionChange::Unsubscribe("test://a".into()),
    ] {
        assert!(store.update(id, &change, TTL).await.unwrap());
    }
    let got = store.get(id, TTL).await.unwrap().unwrap();
    assert!(got.initialized);
    assert_eq!(got.log_level, Some(LoggingLevel::Warning));
    assert_eq!(got.subscriptions, BTreeSet::from(["test://b".to_owned()]));
    let alice = Principal::new("alice", ["other-scope"]).with_tenant("acme");
    assert!(got.belongs_to(Some(&alice)), "scopes do not matter");
    let other_tenant = Principal::new("alice", ["read"]).with_tenant("evil");
    assert!(!got.belongs_to(Some(&other_tenant)));
    assert!(!got.belongs_to(None));

    assert!(store.remove(id).await.unwrap());
    assert!(!store.remove(id).await.unwrap());
    assert!(store.get(id, TTL).await.unwrap().is_none());
    assert!(
        !store.touch(id, TTL).await.unwrap(),
        "a touch does not bring it back"
    );

    store
        .create(&record("s-short"), Duration::from_millis(50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        store.get("s-short", TTL).await.unwrap().is_none(),
        "expired"
    );
}

async fn tasks_contract(store: &dyn TaskStore) {
    let task = TaskRecord {
        id: "t-contract".into(),
        owner: TaskOwnerRecord::Unidentified,
        state: TaskState::Working,
        questions: BTreeMap::new(),
        replica: "r1".into(),
        created_ms: 1,
        updated_ms: 1,
        retention_ms: 1000,
    };
    assert!(store.get(&task.id).await.unwrap().is_none());
    store.put(&task, TTL).await.unwrap();
    assert_eq!(store.get(&task.id).await.unwrap().as_ref(), Some(&task));
    assert!(!store.alive("r1").await.unwrap());
    store
        .heartbeat("r1", Duration::from_millis(50))
        .await
        .unwrap();
    assert!(store.alive("r1").await.unwrap());
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!store.alive("r1").await.unwrap(), "the lease ran out");
}

async fn bus_contract(bus: &dyn Bus) {
    let mut first = bus.subscribe().await.unwrap();
    let mut second = bus.subscribe().await.unwrap();
    let message = BusMessage::ResourceUpdated {
        origin: "r1".into(),
        uri: "test://x".into(),
    };
    bus.publish(&message).await.unwrap();
    for stream in [&mut first, &mut second] {
        let heard = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("delivered in time");
        assert_eq!(heard.as_ref(), Some(&message));
    }
}

async fn contract(stores: &Stores) {
    sessions_contract(stores.sessions.as_ref()).await;
    tasks_contract(stores.tasks.as_ref()).await;
    bus_contract(stores.bus.as_ref()).await;
}

#[tokio::test]
async fn the_memory_stores_keep_the_contract() {
    contract(&Stores::memory()).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn the_redis_stores_keep_the_contract() {
    let prefix = format!("mcp-test:contract:{}", std::process::id());
    let stores = Stores::redis("redis://127.0.0.1:6379", &prefix).unwrap();
    if let Err(e) = stores.sessions.ping().await {
        panic!("this test needs Redis at 127.0.0.1:6379: {e}");
    }
    contract(&stores).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn an_unreachable_redis_fails_every_call_promptly() {
    let stores = Stores::redis("redis://127.0.0.1:1", "mcp-test:down").unwrap();
    let started = std::time::Instant::now();
    let error = stores.sessions.get("x", TTL).await.unwrap_err();
    assert!(error.to_string().contains("unreachable"), "{error}");
    assert!(stores.bus.subscribe().await.is_err());
    let error = stores.tasks.alive("r").await.unwrap_err();
    assert!(error.to_string().contains("unreachable"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
