//! 2026-07-28 tasks across replicas sharing Redis at 127.0.0.1:6379: a task
//! created on one replica is read, answered and cancelled on another, by
//! its owner only, and a task whose replica died ends as failed.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mcp_server::auth::ApiKeys;
use mcp_server::prelude::*;
use mcp_server::store::{Stores, TaskOwnerRecord, TaskRecord, TaskState, TaskStore as _};
use mcp_server::transport::http::{HttpConfig, HttpServer};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const REDIS: &str = "redis://127.0.0.1:6379";
const ALICE: &str = "alice-key-0123456789";
const BOB: &str = "bob-key-0123456789";

struct Jobs {
    gate: Arc<Semaphore>,
}

#[mcp_server(name = "jobs")]
impl Jobs {
    /// Waits until released, as a task.
    #[mcp_tool(task)]
    async fn wait(&self, ctx: &RequestContext) -> String {
        ctx.start_task().await;
        match self.gate.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return "gate closed".into(),
        }
        "released".into()
    }
}

async fn redis_is_up() {
    let client = redis::Client::open(REDIS).unwrap();
    let connected = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await;
    assert!(
        matches!(connected, Ok(Ok(_))),
        "these tests need Redis at 127.0.0.1:6379 (apt-get install redis-server, or docker run -p 6379:6379 redis)"
    );
}

/// Removes what a test left under `prefix`.
async fn cleanup(prefix: &str) {
    let client = redis::Client::open(REDIS).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    if !keys.is_empty() {
        redis::cmd("DEL")
            .arg(keys)
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
    }
}

fn prefix(test: &str) -> String {
    format!("mcp-test:{test}:{}", std::process::id())
}

async fn replica(prefix: &str, gate: &Arc<Semaphore>) -> SocketAddr {
    let keys = ApiKeys::new()
        .key("alice", ALICE, ["jobs"])
        .key("bob", BOB, ["jobs"]);
    let server = Server::builder()
        .definition(Jobs {
            gate: Arc::clone(gate),
        })
        .stores(Stores::redis(REDIS, prefix).unwrap())
        .build();
    let http = HttpServer::bind(
        server,
        "127.0.0.1:0",
        HttpConfig::default().authenticator(keys),
    )
    .await
    .unwrap();
    let addr = http.local_addr();
    tokio::spawn(http.serve_until(std::future::pending()));
    addr
}

/// A stateless 2026-07-28 POST as the holder of `key`.
async fn post(addr: SocketAddr, key: &str, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    });
    let name = params["name"]
        .as_str()
        .or(params["taskId"].as_str())
        .unwrap_or("")
        .to_owned();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method("POST")
        .uri("/mcp")
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .header("mcp-name", name)
        .header("x-api-key", key)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

async fn get(addr: SocketAddr, key: &str, id: &str) -> Value {
    post(addr, key, "tasks/get", json!({"taskId": id})).await
}

/// Polls `tasks/get` on `addr` until the status is `want`, within 10 s.
async fn until_status(addr: SocketAddr, id: &str, want: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let got = get(addr, ALICE, id).await;
            if got["result"]["status"] == want {
                return got["result"].clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("task {id} never became {want}"))
}

#[tokio::test]
async fn a_task_created_on_one_replica_is_read_and_cancelled_on_another_by_its_owner_only() {
    redis_is_up().await;
    let prefix = prefix("tasks");
    let gate = Arc::new(Semaphore::new(0));
    let a = replica(&prefix, &gate).await;
    let b = replica(&prefix, &gate).await;

    let created = post(
        a,
        ALICE,
        "tools/call",
        json!({"name": "wait", "arguments": {}}),
    )
    .await;
    let id = created["result"]["taskId"]
        .as_str()
        .expect("a task")
        .to_owned();
    let seen = get(b, ALICE, &id).await;
    assert_eq!(seen["result"]["status"], "working", "{seen}");
    // Bob cannot tell it from an unknown task, on either replica.
    for replica in [a, b] {
        let foreign = get(replica, BOB, &id).await;
        let unknown = get(replica, BOB, "0123456789abcdef0123456789abcdef").await;
        assert_eq!(
            foreign["error"]["code"], unknown["error"]["code"],
            "{foreign}"
        );
        let cancel = post(replica, BOB, "tasks/cancel", json!({"taskId": id})).await;
        assert!(cancel.get("error").is_some(), "{cancel}");
    }
    assert_eq!(get(b, ALICE, &id).await["result"]["status"], "working");

    // Finished on A, its result shows on B.
    gate.add_permits(1);
    let done = until_status(b, &id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "released", "{done}");

    // Another task, cancelled through B, stops on A.
    let created = post(
        a,
        ALICE,
        "tools/call",
        json!({"name": "wait", "arguments": {}}),
    )
    .await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let cancelled = post(b, ALICE, "tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(cancelled["result"]["resultType"], "complete", "{cancelled}");
    until_status(a, &id, "cancelled").await;
    until_status(b, &id, "cancelled").await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn a_task_whose_replica_died_is_failed_and_never_working_forever() {
    redis_is_up().await;
    let prefix = prefix("dead");
    let gate = Arc::new(Semaphore::new(0));
    let b = replica(&prefix, &gate).await;
    // What a replica killed mid-task leaves: its task, and no heartbeat.
    let store = mcp_server::store::RedisStore::new(REDIS, &prefix).unwrap();
    let record = TaskRecord {
        id: "deadbeefdeadbeefdeadbeefdeadbeef".into(),
        owner: TaskOwnerRecord::Principal {
            id: "alice".into(),
            tenant: None,
            issuer: Some(ApiKeys::ISSUER.into()),
        },
        state: TaskState::Working,
        questions: BTreeMap::new(),
        replica: "killed-replica".into(),
        created_ms: 1,
        updated_ms: 1,
        retention_ms: 60_000,
    };
    store.put(&record, Duration::from_secs(60)).await.unwrap();
    let failed = get(b, ALICE, &record.id).await;
    assert_eq!(failed["result"]["status"], "failed", "{failed}");
    let message = failed["result"]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("replica running this task stopped"),
        "{message}"
    );
    // And it stays failed.
    assert_eq!(
        get(b, ALICE, &record.id).await["result"]["status"],
        "failed"
    );
    cleanup(&prefix).await;
}
