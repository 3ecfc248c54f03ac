//! Replicas sharing state through Redis at 127.0.0.1:6379: two HTTP servers
//! in one process, each with its own sessions table, one Redis between
//! them, as two processes behind a load balancer would be. Each test uses
//! its own key prefix, so they run in parallel.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_server::auth::ApiKeys;
use mcp_server::prelude::*;
use mcp_server::store::Stores;
use mcp_server::transport::http::{HttpConfig, HttpServer};
use serde_json::{Value, json};
use tokio::net::TcpStream;

const REDIS: &str = "redis://127.0.0.1:6379";
const BOUND: Duration = Duration::from_secs(10);

static CANCELLED: AtomicBool = AtomicBool::new(false);

struct Fixture;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Name {
    name: String,
}

#[mcp_server(name = "replicas", version = "1.0.0")]
impl Fixture {
    /// Echo a text.
    #[mcp_tool]
    async fn echo(
        &self,
        /** The text. */
        text: String,
    ) -> String {
        text
    }

    /// Ask the user for a name.
    #[mcp_tool]
    async fn ask(&self, ctx: &RequestContext) -> String {
        match ctx.elicit::<Name>("name", "Your name?").await {
            Ok(mcp_server::Elicited::Accepted(name)) => format!("hello {}", name.name),
            other => format!("no name: {other:?}"),
        }
    }

    /// Wait until cancelled.
    #[mcp_tool]
    async fn wait(&self, ctx: &RequestContext) -> String {
        ctx.cancelled().await;
        CANCELLED.store(true, Ordering::SeqCst);
        "cancelled".into()
    }
}

/// Fails with a clear message when Redis is not running.
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

fn prefix(test: &str) -> String {
    format!("mcp-test:{test}:{}", std::process::id())
}

async fn replica(stores: Stores, config: HttpConfig) -> (SocketAddr, Server) {
    let server = Server::builder().definition(Fixture).stores(stores).build();
    let http = HttpServer::bind(server.clone(), "127.0.0.1:0", config)
        .await
        .unwrap();
    let addr = http.local_addr();
    tokio::spawn(async move { http.serve().await });
    wait_ready(addr).await;
    (addr, server)
}

/// Two replicas on one Redis prefix.
async fn pair(test: &str, config: HttpConfig) -> (SocketAddr, SocketAddr, Server, Server) {
    redis_is_up().await;
    let prefix = prefix(test);
    // Short-lived, so what the tests leave in Redis goes soon.
    let stores = || {
        Stores::redis(REDIS, &prefix)
            .unwrap()
            .session_ttl(Duration::from_secs(60))
    };
    let (a, server_a) = replica(stores(), config.clone()).await;
    let (b, server_b) = replica(stores(), config).await;
    (a, b, server_a, server_b)
}

/// Until `/ready` says so: the replica hears the bus.
async fn wait_ready(addr: SocketAddr) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let response = send(addr, "GET", "/ready", &[], "").await;
        if response.status() == 200 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replica never ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> hyper::Response<Incoming> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("127.0.0.1:{}", addr.port()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    sender
        .send_request(request.body(Full::new(body.into())).unwrap())
        .await
        .unwrap()
}

async fn text(response: hyper::Response<Incoming>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json, text/event-stream");
const VERSION: &str = "2025-11-25";

async fn initialize(addr: SocketAddr, extra: &[(&str, &str)]) -> String {
    let body = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": VERSION, "capabilities": {"elicitation": {}},
        "clientInfo": {"name":"t","version":"1"}}});
    let mut headers = vec![JSON, ACCEPT];
    headers.extend_from_slice(extra);
    let response = send(addr, "POST", "/mcp", &headers, body.to_string()).await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = text(response).await;
    let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    let response = post(addr, &id, extra, &initialized).await;
    assert_eq!(response.status(), 202);
    id
}

async fn post(
    addr: SocketAddr,
    session: &str,
    extra: &[(&str, &str)],
    body: &Value,
) -> hyper::Response<Incoming> {
    let mut headers = vec![
        JSON,
        ("accept", "application/json"),
        ("mcp-session-id", session),
        ("mcp-protocol-version", VERSION),
    ];
    headers.extend_from_slice(extra);
    send(addr, "POST", "/mcp", &headers, body.to_string()).await
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":arguments}})
}

/// The JSON-RPC message of a response (JSON, or the last SSE `data:`).
async fn message(response: hyper::Response<Incoming>) -> Value {
    let body = text(response).await;
    let data = body
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .rfind(|data| !data.trim().is_empty())
        .map_or(body.as_str(), str::trim);
    serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Reads SSE events from `response` until one `matches`, within the bound.
async fn next_event(body: &mut Incoming, matches: impl Fn(&Value) -> bool) -> Value {
    let mut buffer = String::new();
    tokio::time::timeout(BOUND, async {
        loop {
            let frame = body.frame().await.expect("stream open").unwrap();
            if let Ok(data) = frame.into_data() {
                buffer.push_str(std::str::from_utf8(&data).unwrap());
            }
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                for line in event.lines() {
                    if let Some(data) = line.strip_prefix("data:")
                        && let Ok(value) = serde_json::from_str::<Value>(data.trim())
                        && matches(&value)
                    {
                        return value;
                    }
                }
            }
        }
    })
    .await
    .expect("the event arrived in time")
}

#[tokio::test]
async fn a_session_opened_on_one_replica_is_used_and_ended_on_another() {
    let (a, b, _, _) = pair("use", HttpConfig::default()).await;
    let session = initialize(a, &[]).await;
    let answer =
        message(post(b, &session, &[], &call(1, "echo", json!({"text": "hi"}))).await).await;
    assert_eq!(answer["result"]["content"][0]["text"], "hi", "{answer}");
    // Back on A, and again on B: both hold it now.
    let answer =
        message(post(a, &session, &[], &call(2, "echo", json!({"text": "a"}))).await).await;
    assert_eq!(answer["result"]["content"][0]["text"], "a", "{answer}");

    let deleted = send(
        b,
        "DELETE",
        "/mcp",
        &[
            ("mcp-session-id", &session),
            ("mcp-protocol-version", VERSION),
        ],
        "",
    )
    .await;
    assert_eq!(deleted.status(), 200);
    for replica in [a, b] {
        let response = post(
            replica,
            &session,
            &[],
            &call(3, "echo", json!({"text": "x"})),
        )
        .await;
        assert_eq!(response.status(), 404, "ended on every replica");
    }
}

#[tokio::test]
async fn forged_and_foreign_session_ids_are_refused_on_every_replica() {
    let keys = ApiKeys::new()
        .key("alice", "alice-key-0123456789", ["r"])
        .key("mallory", "mallory-key-0123456789", ["r"]);
    let (a, b, _, _) = pair("foreign", HttpConfig::default().authenticator(keys)).await;
    let alice = [("x-api-key", "alice-key-0123456789")];
    let mallory = [("x-api-key", "mallory-key-0123456789")];
    let session = initialize(a, &alice).await;
    for replica in [a, b] {
        let stolen = post(
            replica,
            &session,
            &mallory,
            &call(1, "echo", json!({"text": "x"})),
        )
        .await;
        assert_eq!(
            stolen.status(),
            404,
            "another principal's session is unknown"
        );
        let forged = post(
            replica,
            "0123456789abcdef0123456789abcdef",
            &alice,
            &call(2, "echo", json!({"text": "x"})),
        )
        .await;
        assert_eq!(forged.status(), 404, "a forged id is unknown");
        let deleted = send(
            replica,
            "DELETE",
            "/mcp",
            &[mallory[0], ("mcp-session-id", &session)],
            "",
        )
        .await;
        assert_eq!(deleted.status(), 404, "another principal cannot end it");
    }
    // Mallory's attempts on B did not give B a copy she could use, and
    // the session still works for Alice there.
    let answer =
        message(post(b, &session, &alice, &call(3, "echo", json!({"text": "ok"}))).await).await;
    assert_eq!(answer["result"]["content"][0]["text"], "ok", "{answer}");
}

#[tokio::test]
async fn concurrent_requests_on_one_session_across_replicas_all_succeed() {
    let (a, b, _, _) = pair("race", HttpConfig::default()).await;
    let session = initialize(a, &[]).await;
    let mut calls = Vec::new();
    for i in 0..40u64 {
        let replica = if i % 2 == 0 { a } else { b };
        let session = session.clone();
        calls.push(tokio::spawn(async move {
            let text = format!("n{i}");
            let answer = message(
                post(
                    replica,
                    &session,
                    &[],
                    &call(i + 10, "echo", json!({"text": text})),
                )
                .await,
            )
            .await;
            assert_eq!(
                answer["result"]["content"][0]["text"],
                text.as_str(),
                "{answer}"
            );
        }));
    }
    for call in calls {
        call.await.unwrap();
    }
}

#[tokio::test]
async fn a_resource_update_on_one_replica_reaches_a_subscriber_on_another() {
    let (a, b, server_a, _) = pair("updates", HttpConfig::default()).await;
    let session = initialize(a, &[]).await;
    // Subscribed through B, listening on B's GET stream; raised on A.
    let subscribe = json!({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"test://doc"}});
    let answer = message(post(b, &session, &[], &subscribe).await).await;
    assert!(answer.get("result").is_some(), "{answer}");
    let stream = send(
        b,
        "GET",
        "/mcp",
        &[
            ("accept", "text/event-stream"),
            ("mcp-session-id", &session),
            ("mcp-protocol-version", VERSION),
        ],
        "",
    )
    .await;
    assert_eq!(stream.status(), 200);
    let mut body = stream.into_body();
    // The GET stream is open once the response headers came; raise until
    // the notification arrives, since the stream may still be subscribing.
    let raise = tokio::spawn(async move {
        loop {
            server_a.resource_updated("test://doc");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let event = next_event(&mut body, |v| {
        v["method"] == "notifications/resources/updated"
    })
    .await;
    raise.abort();
    assert_eq!(event["params"]["uri"], "test://doc");
}

#[tokio::test]
async fn an_elicitation_from_one_replica_is_answered_through_another() {
    let (a, b, _, _) = pair("elicit", HttpConfig::default()).await;
    let session = initialize(a, &[]).await;
    let headers = [
        JSON,
        ACCEPT,
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", VERSION),
    ];
    let response = send(
        a,
        "POST",
        "/mcp",
        &headers,
        call(1, "ask", json!({})).to_string(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let question = next_event(&mut body, |v| v["method"] == "elicitation/create").await;
    let answer = json!({"jsonrpc":"2.0","id":question["id"],"result":{"action":"accept","content":{"name":"Ada"}}});
    let posted = post(b, &session, &[], &answer).await;
    assert_eq!(posted.status(), 202);
    let result = next_event(&mut body, |v| v["id"] == 1).await;
    assert_eq!(
        result["result"]["content"][0]["text"], "hello Ada",
        "{result}"
    );
}

#[tokio::test]
async fn a_cancellation_posted_to_one_replica_stops_the_handler_on_another() {
    let (a, b, _, _) = pair("cancel", HttpConfig::default()).await;
    let session = initialize(a, &[]).await;
    let headers = [
        JSON,
        ACCEPT,
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", VERSION),
    ];
    let running = {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        tokio::spawn(async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let response = send(
                a,
                "POST",
                "/mcp",
                &headers,
                call(7, "wait", json!({})).to_string(),
            )
            .await;
            text(response).await
        })
    };
    // Cancel until the handler on A has heard it: the call may not have
    // started when the first cancellation arrives.
    let cancel =
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}});
    tokio::time::timeout(BOUND, async {
        while !CANCELLED.load(Ordering::SeqCst) {
            let response = post(b, &session, &[], &cancel).await;
            assert_eq!(response.status(), 202);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the handler on A was cancelled");
    tokio::time::timeout(BOUND, running).await.unwrap().unwrap();
}

#[tokio::test]
async fn an_unreachable_redis_is_a_prompt_clear_error_and_not_ready() {
    let stores = Stores::redis("redis://127.0.0.1:1", "mcp-test:down").unwrap();
    let server = Server::builder().definition(Fixture).stores(stores).build();
    let http = HttpServer::bind(server, "127.0.0.1:0", HttpConfig::default())
        .await
        .unwrap();
    let addr = http.local_addr();
    tokio::spawn(async move { http.serve().await });
    let ready = send(addr, "GET", "/ready", &[], "").await;
    assert_eq!(ready.status(), 503);
    let body = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name":"t","version":"1"}}});
    let started = std::time::Instant::now();
    let response = tokio::time::timeout(
        BOUND,
        send(addr, "POST", "/mcp", &[JSON, ACCEPT], body.to_string()),
    )
    .await
    .expect("no hang");
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("mcp-session-id").is_none());
    let error = message(response).await;
    let text = error["error"]["message"].as_str().unwrap();
    assert!(text.contains("unreachable"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded: {:?}",
        started.elapsed()
    );
    let request = post(
        addr,
        "0123456789abcdef0123456789abcdef",
        &[],
        &call(1, "echo", json!({"text":"x"})),
    )
    .await;
    assert_eq!(request.status(), 503);
}

#[tokio::test]
async fn servers_sharing_memory_stores_behave_as_replicas() {
    let stores = Stores::memory();
    let (a, _) = replica(stores.clone(), HttpConfig::default()).await;
    let (b, _) = replica(stores, HttpConfig::default()).await;
    let session = initialize(a, &[]).await;
    let answer =
        message(post(b, &session, &[], &call(1, "echo", json!({"text": "mem"}))).await).await;
    assert_eq!(answer["result"]["content"][0]["text"], "mem", "{answer}");
    let deleted = send(b, "DELETE", "/mcp", &[("mcp-session-id", &session)], "").await;
    assert_eq!(deleted.status(), 200);
    let after = post(a, &session, &[], &call(2, "echo", json!({"text": "x"}))).await;
    assert_eq!(after.status(), 404);
}

#[path = "replicas/legacy.rs"]
mod legacy;
