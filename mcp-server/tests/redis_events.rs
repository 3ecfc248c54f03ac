//! The Redis event store against a real Redis: the same contract as the
//! in-memory one, history shared by two store instances (two replicas),
//! bounds, and a broken stream resumed over real HTTP. Needs the Redis at
//! 127.0.0.1:6379 (or `TEST_REDIS_URL`) and fails loudly without it. Each
//! test keeps its keys under a prefix of its own.
// reqwest, the HTTP client here, comes with the `oauth` feature.
#![cfg(all(feature = "redis", feature = "oauth"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mcp_server::core::jsonrpc::RequestId;
use mcp_server::prelude::*;
use mcp_server::transport::http::history::{
    EventLimits, EventStore, EventStoreError, MemoryEventStore, Producer, RedisEventStore,
    StreamKey,
};
use mcp_server::transport::http::{HttpConfig, HttpServer};
use redis::AsyncCommands as _;
use serde_json::json;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A prefix no other test (or run) uses.
fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test:ev:{test}:{}:{nanos}", std::process::id())
}

/// Fails with a clear message when Redis is not there.
async fn require_redis() -> redis::aio::MultiplexedConnection {
    let url = redis_url();
    let client = redis::Client::open(url.as_str()).unwrap();
    let connection = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await;
    match connection {
        Ok(Ok(mut connection)) => {
            let pong: String = redis::cmd("PING")
                .query_async(&mut connection)
                .await
                .unwrap();
            assert_eq!(pong, "PONG", "{url} is not a Redis server");
            connection
        }
        Ok(Err(e)) => panic!("this test needs Redis at {url} (set TEST_REDIS_URL): {e}"),
        Err(_) => panic!("this test needs Redis at {url} (set TEST_REDIS_URL): no answer in 5 s"),
    }
}

async fn redis_store(prefix: &str, limits: EventLimits) -> RedisEventStore {
    RedisEventStore::new(&redis_url(), prefix, limits).unwrap()
}

/// What every event store does.
async fn contract(store: &dyn EventStore) {
    let key = StreamKey::new("session-a", "p1");
    store.open(&key).await.unwrap();
    let page = store.read_after(&key, 0).await.unwrap();
    assert!(page.events.is_empty() && !page.finished);
    for n in 1..=3u64 {
        let data = Bytes::from(format!("{{\"n\":{n},\"colon\":\"a:b\"}}"));
        assert_eq!(store.append(&key, data).await.unwrap(), n);
    }
    let page = store.read_after(&key, 1).await.unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [2, 3]
    );
    assert_eq!(page.events[0].data, "{\"n\":2,\"colon\":\"a:b\"}");
    store.finish(&key).await.unwrap();
    assert!(store.read_after(&key, 3).await.unwrap().finished);
    // Ids this stream never gave out, and other sessions' streams, are unknown.
    assert!(matches!(
        store.read_after(&key, 4).await,
        Err(EventStoreError::UnknownStream)
    ));
    assert!(matches!(
        store
            .read_after(&StreamKey::new("session-b", "p1"), 0)
            .await,
        Err(EventStoreError::UnknownStream)
    ));
    // A finished stream never makes its reader wait.
    tokio::time::timeout(
        Duration::from_secs(1),
        store.wait(&key, 3, Duration::from_secs(30)),
    )
    .await
    .expect("no wait on a finished stream")
    .unwrap();
    store.forget("session-a").await.unwrap();
    assert!(matches!(
        store.read_after(&key, 0).await,
        Err(EventStoreError::UnknownStream)
    ));
    producers(store).await;
}

/// A POST's stream names its producer, and ending it for a producer that
/// stopped adds one last event, once.
async fn producers(store: &dyn EventStore) {
    let key = StreamKey::new("session-c", "p2");
    let producer = Producer {
        replica: "replica-1".into(),
        request: RequestId::String("call:7".into()),
    };
    // Nothing is recorded for a stream that is not there.
    store.set_producer(&key, &producer).await.unwrap();
    assert_eq!(store.producer(&key).await.unwrap(), None);
    store.open(&key).await.unwrap();
    assert_eq!(store.producer(&key).await.unwrap(), None);
    store.set_producer(&key, &producer).await.unwrap();
    assert_eq!(store.producer(&key).await.unwrap(), Some(producer));
    store
        .append(&key, Bytes::from_static(b"{\"a\":1}"))
        .await
        .unwrap();
    let last = Bytes::from_static(b"{\"error\":1}");
    assert_eq!(
        store.finish_with(&key, last.clone()).await.unwrap(),
        Some(2)
    );
    assert_eq!(store.finish_with(&key, last).await.unwrap(), None);
    let page = store.read_after(&key, 1).await.unwrap();
    assert!(page.finished);
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].data, "{\"error\":1}");
    // A stream its producer finished is not ended again.
    let done = StreamKey::new("session-c", "p3");
    store.open(&done).await.unwrap();
    store.finish(&done).await.unwrap();
    let late = Bytes::from_static(b"{}");
    assert_eq!(store.finish_with(&done, late.clone()).await.unwrap(), None);
    assert_eq!(
        store
            .finish_with(&StreamKey::new("session-c", "p4"), late)
            .await
            .unwrap(),
        None
    );
    store.forget("session-c").await.unwrap();
}

#[tokio::test]
async fn both_stores_keep_the_same_contract() {
    let _redis = require_redis().await;
    contract(&MemoryEventStore::default()).await;
    let prefix = unique_prefix("contract");
    contract(&redis_store(&prefix, EventLimits::default()).await).await;
}

#[tokio::test]
async fn a_stream_written_by_one_replica_is_followed_from_another() {
    let _redis = require_redis().await;
    let prefix = unique_prefix("replicas");
    let a = Arc::new(redis_store(&prefix, EventLimits::default()).await);
    let b = redis_store(&prefix, EventLimits::default()).await;
    let key = StreamKey::new("s", "p9");
    a.open(&key).await.unwrap();
    let writer = {
        let a = Arc::clone(&a);
        let key = key.clone();
        tokio::spawn(async move {
            for n in 0..5 {
                a.append(&key, Bytes::from(format!("{n}"))).await.unwrap();
            }
            a.finish(&key).await.unwrap();
        })
    };
    // Replica B follows until the stream is finished, each event once.
    let mut seen = Vec::new();
    let mut cursor = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "followed in 10 s");
        let page = b.read_after(&key, cursor).await.unwrap();
        for event in &page.events {
            seen.push(event.data.clone());
            cursor = event.seq;
        }
        if page.finished && page.events.is_empty() {
            break;
        }
        b.wait(&key, cursor, Duration::from_secs(1)).await.unwrap();
    }
    writer.await.unwrap();
    assert_eq!(seen, ["0", "1", "2", "3", "4"]);
    b.forget("s").await.unwrap();
}

#[tokio::test]
async fn redis_keeps_the_newest_events_and_every_key_expires() {
    let mut redis = require_redis().await;
    let prefix = unique_prefix("bounds");
    let limits = EventLimits::default()
        .max_events_per_stream(10)
        .ttl(Duration::from_secs(60));
    let store = redis_store(&prefix, limits).await;
    let key = StreamKey::new("flood", "p1");
    for n in 0..500 {
        store
            .append(&key, Bytes::from(format!("{n}")))
            .await
            .unwrap();
    }
    let page = store.read_after(&key, 0).await.unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (491..=500).collect::<Vec<_>>()
    );
    let keys: Vec<String> = redis.keys(format!("{prefix}:*")).await.unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in &keys {
        let ttl: i64 = redis.pttl(key).await.unwrap();
        assert!(ttl > 0 && ttl <= 60_000, "{key}: {ttl}");
        let len: i64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(len < 4096, "{key} holds {len} bytes");
    }
    store.forget("flood").await.unwrap();
    let keys: Vec<String> = redis.keys(format!("{prefix}:*")).await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_not_a_hang() {
    let store = RedisEventStore::new("redis://127.0.0.1:1", "x", EventLimits::default()).unwrap();
    let key = StreamKey::new("s", "p1");
    let result = tokio::time::timeout(Duration::from_secs(15), store.append(&key, "1".into()))
        .await
        .expect("an answer within 15 s");
    assert!(matches!(result, Err(EventStoreError::Backend(_))));
}

/// Counts to `steps`, 50 ms a step, reporting progress at each.
struct Counter;

#[mcp_server(name = "counter", version = "1.0.0")]
impl Counter {
    /// Counts slowly.
    #[mcp_tool]
    async fn count(
        &self,
        /** Steps. */
        steps: u32,
        ctx: &RequestContext,
    ) -> String {
        for step in 1..=steps {
            tokio::time::sleep(Duration::from_millis(50)).await;
            ctx.progress(f64::from(step), Some(f64::from(steps)), None)
                .await;
        }
        format!("counted to {steps}")
    }
}

/// Reads SSE events (id, data) from a response until `stop` says so or the
/// stream ends.
async fn sse_events(
    response: &mut reqwest::Response,
    stop: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let raw: String = buffer.drain(..end + 2).collect();
            let id = raw.lines().find_map(|l| l.strip_prefix("id: "));
            let data = raw.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(id), Some(data)) = (id, data) {
                events.push((id.to_owned(), data.to_owned()));
                if stop(data) {
                    return events;
                }
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("an SSE chunk within 10 s")
            .unwrap();
        let Some(chunk) = chunk else { return events };
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn a_broken_stream_resumes_from_the_redis_history_over_http() {
    let _redis = require_redis().await;
    let prefix = unique_prefix("http");
    let store = Arc::new(redis_store(&prefix, EventLimits::default()).await);
    let config = HttpConfig::default()
        .event_store(Arc::clone(&store) as _)
        .shutdown_grace(Duration::ZERO);
    let server = HttpServer::bind(Counter, "127.0.0.1:0", config)
        .await
        .unwrap();
    let url = format!("http://{}/mcp", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        server
            .serve_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    // reqwest is built without a TLS provider of its own (plain HTTP here).
    // Deprecated in rustls 0.23.48 (no post-quantum key exchange); ring
    // keeps the build free of aws-lc-rs's C toolchain.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let post = |session: Option<&str>, body: serde_json::Value| {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        request.send()
    };
    let init = post(
        None,
        json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
    )
    .await
    .unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    post(
        Some(&session),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    )
    .await
    .unwrap();
    let mut call = post(
        Some(&session),
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{
            "name":"count","arguments":{"steps":8},"_meta":{"progressToken":"c"}}}),
    )
    .await
    .unwrap();
    // Up to the first progress, then the connection breaks.
    let seen = sse_events(&mut call, |data| data.contains("notifications/progress")).await;
    let last = seen.last().unwrap().0.clone();
    drop(call);

    let mut resumed = client
        .get(&url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("last-event-id", &last)
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 200);
    let rest = sse_events(&mut resumed, |data| data.contains("\"result\"")).await;
    let progress: Vec<u64> = seen
        .iter()
        .chain(&rest)
        .filter_map(|(_, data)| {
            let value: serde_json::Value = serde_json::from_str(data).ok()?;
            value["params"]["progress"].as_f64().map(|p| p as u64)
        })
        .collect();
    assert_eq!(progress, (1..=8).collect::<Vec<_>>());
    assert!(rest.last().unwrap().1.contains("counted to 8"), "{rest:?}");
    // The history is in Redis, under this test's prefix.
    let key = StreamKey::new(session.as_str(), last.rsplit_once('-').unwrap().0);
    assert!(store.read_after(&key, 0).await.unwrap().finished);
    store.forget(&session).await.unwrap();
    let _ = stop.send(());
    serving.await.unwrap();
}
