//! The 2026-07-28 tasks extension: a task belongs to the caller that
//! created it (another caller cannot tell it from an unknown id), ids are
//! unguessable, and the store is bounded per caller and in total.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mcp_server::auth::ApiKeys;
use mcp_server::core::jsonrpc::{ErrorObject, error_code};
use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
use mcp_server::transport::http::{HttpConfig, HttpServer};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Jobs that run as tasks: `wait` until the test releases it, `quick` at once.
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

    /// Finishes at once, as a task.
    #[mcp_tool(task)]
    async fn quick(&self, ctx: &RequestContext) -> String {
        ctx.start_task().await;
        "done".into()
    }
}

fn jobs() -> (Jobs, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    (
        Jobs {
            gate: Arc::clone(&gate),
        },
        gate,
    )
}

/// `params` with the 2026-07-28 envelope of a client that declared tasks.
fn with_meta(params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    });
    params
}

/// A task's id from the answer to the `tools/call` that created it.
fn task_id(result: &Value) -> String {
    assert_eq!(result["resultType"], "task", "{result}");
    result["taskId"].as_str().expect("a task id").to_owned()
}

/// The unknown-task answer, with the id asked about blanked out.
fn without_id(error: &ErrorObject, id: &str) -> Value {
    let mut error = serde_json::to_value(error).unwrap();
    let message = error["message"].as_str().unwrap().replace(id, "<id>");
    error["message"] = message.into();
    error
}

// ---- over HTTP, two principals ----

async fn start_http() -> (SocketAddr, Arc<Semaphore>) {
    let keys = ApiKeys::new()
        .key("alice", "alice-key-0123456789", ["jobs"])
        .key("bob", "bob-key-0123456789", ["jobs"]);
    let (jobs, gate) = jobs();
    let http = HttpServer::bind(
        jobs,
        "127.0.0.1:0",
        HttpConfig::default().authenticator(keys),
    )
    .await
    .unwrap();
    let addr = http.local_addr();
    tokio::spawn(http.serve_until(std::future::pending()));
    (addr, gate)
}

/// A stateless POST as the holder of `key`: its status and its JSON body.
async fn post(
    addr: SocketAddr,
    key: &str,
    method: &str,
    name: &str,
    params: Value,
) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": with_meta(params)});
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
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

const ALICE: &str = "alice-key-0123456789";
const BOB: &str = "bob-key-0123456789";

#[tokio::test]
async fn another_principal_cannot_tell_a_task_from_an_unknown_one() {
    let (addr, gate) = start_http().await;
    let (status, created) = post(
        addr,
        ALICE,
        "tools/call",
        "wait",
        json!({"name": "wait", "arguments": {}}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = task_id(&created["result"]);
    let unknown = "0123456789abcdef0123456789abcdef";

    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let params = json!({"taskId": id, "inputResponses": {}});
        let (status, theirs) = post(addr, BOB, method, &id, params).await;
        let params = json!({"taskId": unknown, "inputResponses": {}});
        let (unknown_status, nobodys) = post(addr, BOB, method, unknown, params).await;
        assert!(theirs.get("result").is_none(), "{method}: {theirs}");
        assert_eq!(status, unknown_status, "{method}");
        let theirs: ErrorObject = serde_json::from_value(theirs["error"].clone()).unwrap();
        let nobodys: ErrorObject = serde_json::from_value(nobodys["error"].clone()).unwrap();
        assert_eq!(
            without_id(&theirs, &id),
            without_id(&nobodys, unknown),
            "{method}"
        );
    }

    // Bob's cancel did nothing: the task is Alice's, and still running.
    let (_, got) = post(addr, ALICE, "tasks/get", &id, json!({"taskId": id})).await;
    assert_eq!(got["result"]["status"], "working", "{got}");
    gate.add_permits(1);
    let done = poll_http(addr, ALICE, &id).await;
    assert_eq!(done["result"]["content"][0]["text"], "released", "{done}");
}

/// Polls `tasks/get` until the task has ended, for at most ten seconds.
async fn poll_http(addr: SocketAddr, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, got) = post(addr, key, "tasks/get", id, json!({"taskId": id})).await;
        let status = got["result"]["status"].as_str().unwrap_or("").to_owned();
        if status != "working" && status != "input_required" {
            return got["result"].clone();
        }
        assert!(Instant::now() < deadline, "task {id} did not end: {got}");
        tokio::task::yield_now().await;
    }
}

// ---- in process, two sessions ----

async fn call(client: &TestClient, tool: &str) -> Result<Value, ErrorObject> {
    client
        .request(
            "tools/call",
            with_meta(json!({"name": tool, "arguments": {}})),
        )
        .await
}

async fn task(client: &TestClient, method: &str, id: &str) -> Result<Value, ErrorObject> {
    client
        .request(
            method,
            with_meta(json!({"taskId": id, "inputResponses": {}})),
        )
        .await
}

/// Polls `tasks/get` until the task has ended, for at most ten seconds.
async fn poll(client: &TestClient, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = task(client, "tasks/get", id).await.unwrap();
        if got["status"] != "working" && got["status"] != "input_required" {
            return got;
        }
        assert!(Instant::now() < deadline, "task {id} did not end: {got}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn another_session_cannot_tell_a_task_from_an_unknown_one() {
    let (jobs, gate) = jobs();
    let server = Server::new(jobs);
    let mine = TestClient::connect(server.clone(), ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let other = TestClient::connect(server, ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let id = task_id(&call(&mine, "wait").await.unwrap());
    let unknown = "0123456789abcdef0123456789abcdef";

    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let theirs = task(&other, method, &id).await.unwrap_err();
        let nobodys = task(&other, method, unknown).await.unwrap_err();
        assert_eq!(
            without_id(&theirs, &id),
            without_id(&nobodys, unknown),
            "{method}"
        );
    }
    assert_eq!(
        task(&mine, "tasks/get", &id).await.unwrap()["status"],
        "working"
    );
    gate.add_permits(1);
    assert_eq!(poll(&mine, &id).await["status"], "completed");
}

#[tokio::test]
async fn task_ids_are_128_bit_random_hex() {
    let (jobs, _gate) = jobs();
    let client = TestClient::connect(jobs, ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..20 {
        let id = task_id(&call(&client, "quick").await.unwrap());
        assert_eq!(id.len(), 32, "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{id}"
        );
        ids.insert(id);
    }
    assert_eq!(ids.len(), 20);
}

// ---- limits ----

/// A server with task limits set as a deployment sets them.
fn limited(jobs: Jobs, vars: &'static [(&'static str, &'static str)]) -> Server {
    Server::builder()
        .definition(jobs)
        .settings_from(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
        .build()
}

#[tokio::test]
async fn a_caller_at_its_task_limit_is_refused_until_one_finishes() {
    let (jobs, gate) = jobs();
    let server = limited(
        jobs,
        &[("MCP_MAX_TASKS_PER_CALLER", "2"), ("MCP_MAX_TASKS", "3")],
    );
    let alice = TestClient::connect(server.clone(), ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let bob = TestClient::connect(server, ProtocolVersion::V2026_07_28)
        .await
        .unwrap();

    let first = task_id(&call(&alice, "wait").await.unwrap());
    let second = task_id(&call(&alice, "wait").await.unwrap());
    let refused = call(&alice, "wait").await.unwrap_err();
    assert_eq!(refused.code, error_code::RATE_LIMITED, "{refused:?}");
    assert!(refused.message.contains("too many tasks"), "{refused:?}");
    assert_eq!(refused.data.as_ref().unwrap()["retryAfterSeconds"], 1);

    // Another caller has its own allowance, up to the server's.
    task_id(&call(&bob, "wait").await.unwrap());
    let full = call(&bob, "quick").await.unwrap_err();
    assert_eq!(full.code, error_code::RATE_LIMITED, "{full:?}");
    assert!(full.message.contains("the server holds 3"), "{full:?}");

    // A finished task makes room: it is dropped for the new one.
    gate.add_permits(1);
    let deadline = Instant::now() + Duration::from_secs(10);
    let (finished, running) = loop {
        let status = task(&alice, "tasks/get", &first).await.unwrap()["status"].clone();
        if status == "completed" {
            break (first, second);
        }
        let status = task(&alice, "tasks/get", &second).await.unwrap()["status"].clone();
        if status == "completed" {
            break (second, first);
        }
        assert!(Instant::now() < deadline, "neither task ended");
        tokio::task::yield_now().await;
    };
    let again = task_id(&call(&alice, "quick").await.unwrap());
    let gone = task(&alice, "tasks/get", &finished).await.unwrap_err();
    assert!(gone.message.contains("unknown task"), "{gone:?}");
    assert_eq!(
        task(&alice, "tasks/get", &running).await.unwrap()["status"],
        "working"
    );
    assert_eq!(poll(&alice, &again).await["status"], "completed");
    gate.add_permits(2);
}
