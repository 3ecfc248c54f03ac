//! The production concerns as a stack of tower layers in front of
//! `McpService`, over real HTTP: the stack serves, limits per principal and
//! per tool, audits refusals once, answers a timeout once, and a layer can
//! be moved or replaced by an application's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper_util::rt::TokioIo;
use mcp_server::audit::{AuditOutcome, AuditRecord, AuditSink, WriteFuture};
use mcp_server::auth::ApiKeys;
use mcp_server::limit::{Quota, RateLimit};
use mcp_server::prelude::*;
use mcp_server::transport::http::layers::{
    AuditLayer, AuthLayer, ConcurrencyLimitLayer, McpRequestLayer, MetricsLayer, RateLimitLayer,
    TimeoutLayer, TraceLayer,
};
use mcp_server::transport::http::{HttpConfig, McpBody, McpRequest, McpService};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

#[path = "support/serve.rs"]
mod serve_support;

use serve_support::serve;

const WAIT: Duration = Duration::from_secs(10);

struct Tools {
    started: mpsc::UnboundedSender<()>,
    dropped: mpsc::UnboundedSender<()>,
    release: Arc<Notify>,
}

/// Tells when dropped: the work of a request the client no longer waits for.
struct DropSignal(mpsc::UnboundedSender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[mcp_server(name = "stacked")]
impl Tools {
    /// Says it back.
    #[mcp_tool(read_only)]
    async fn echo(&self, text: String) -> String {
        text
    }

    /// Waits until released.
    #[mcp_tool(read_only)]
    async fn slow(&self) -> String {
        let _signal = DropSignal(self.dropped.clone());
        let _ = self.started.send(());
        self.release.notified().await;
        "released".into()
    }
}

struct Fixture {
    server: Server,
    started: mpsc::UnboundedReceiver<()>,
    dropped: mpsc::UnboundedReceiver<()>,
    release: Arc<Notify>,
    audit: mpsc::UnboundedReceiver<AuditRecord>,
}

#[derive(Debug, Clone)]
struct Records(mpsc::UnboundedSender<AuditRecord>);

impl AuditSink for Records {
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
        for record in records {
            let _ = self.0.send(record.clone());
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

fn fixture() -> Fixture {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = mpsc::unbounded_channel();
    let (audit_tx, audit) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let server = Server::builder()
        .definition(Tools {
            started: started_tx,
            dropped: dropped_tx,
            release: Arc::clone(&release),
        })
        .audit(Records(audit_tx))
        .build();
    Fixture {
        server,
        started,
        dropped,
        release,
        audit,
    }
}

fn call_body(tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool,
        "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }})
    .to_string()
}

/// One stateless `tools/call` on a connection of its own.
async fn call(addr: SocketAddr, key: &str, tool: &str, arguments: Value) -> (u16, Value) {
    post(addr, key, tool, call_body(tool, arguments)).await
}

async fn post(addr: SocketAddr, key: &str, tool: &str, body: String) -> (u16, Value) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = http::Request::post("/mcp")
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("x-api-key", key)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn get(addr: SocketAddr, key: &str, path: &str) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .header("x-api-key", key)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn keys() -> ApiKeys {
    ApiKeys::new()
        .key("alice", "alice-key", Vec::<String>::new())
        .key("bob", "bob-key", Vec::<String>::new())
}

/// The next audit record with `status`, skipping others.
async fn audited(audit: &mut mpsc::UnboundedReceiver<AuditRecord>, status: u16) -> AuditRecord {
    tokio::time::timeout(WAIT, async {
        loop {
            let record = audit.recv().await.expect("the audit log closed");
            if record.http_status == Some(status) {
                return record;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no audit record with status {status}"))
}

#[tokio::test]
async fn the_whole_stack_serves_and_limits_one_principal_while_another_gets_through() {
    let mut fixture = fixture();
    let server = fixture.server.clone();
    let mcp = McpService::new(server.clone(), HttpConfig::default());
    let limits = RateLimit::per_caller(Quota::per_minute(100).burst(100))
        .tool("echo", Quota::per_minute(3).burst(3));
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new())
        .layer(MetricsLayer::new(&server))
        .layer(AuditLayer::new(&server))
        .layer(McpRequestLayer::from_config(mcp.config()))
        .layer(AuthLayer::new(keys()))
        .layer(RateLimitLayer::new(limits).count_in(&server))
        .layer(ConcurrencyLimitLayer::new(64))
        .layer(TimeoutLayer::new(Duration::from_secs(30)))
        .service(mcp);
    let addr = serve(stack).await;

    for i in 0..3 {
        let (status, body) = call(addr, "alice-key", "echo", json!({"text": i.to_string()})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["content"][0]["text"], i.to_string());
    }
    // Alice floods past her quota for `echo`...
    for _ in 0..5 {
        let (status, body) = call(addr, "alice-key", "echo", json!({"text": "x"})).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["id"], 1);
        assert_eq!(body["error"]["code"], -32011);
    }
    // ... while Bob's calls still go through.
    let (status, body) = call(addr, "bob-key", "echo", json!({"text": "bob"})).await;
    assert_eq!(status, 200, "{body}");
    // Each refusal has its audit record, naming the caller and the tool.
    let record = audited(&mut fixture.audit, 429).await;
    assert_eq!(record.principal.as_deref(), Some("alice"));
    assert_eq!(record.target.as_deref(), Some("echo"));
    assert_eq!(record.method.as_deref(), Some("tools/call"));
    assert_eq!(record.outcome, AuditOutcome::RateLimited);
    // A wrong key is refused and audited.
    let (status, _) = call(addr, "nobody", "echo", json!({"text": "x"})).await;
    assert_eq!(status, 401);
    let record = audited(&mut fixture.audit, 401).await;
    assert_eq!(record.outcome, AuditOutcome::Denied);

    let (status, metrics) = get(addr, "bob-key", "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"mcp_http_responses_total{status="429"} 5"#),
        "{metrics}"
    );
    assert!(metrics.contains("mcp_rate_limited_total 5"), "{metrics}");
}

#[tokio::test]
async fn an_oversize_body_gets_413_and_an_audit_record() {
    let mut fixture = fixture();
    let server = fixture.server.clone();
    let config = HttpConfig::default().max_body_bytes(1024);
    let mcp = McpService::new(server.clone(), config.clone());
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(&server))
        .layer(AuthLayer::new(keys()))
        .layer(McpRequestLayer::from_config(&config))
        .service(mcp);
    let addr = serve(stack).await;
    let big = "x".repeat(4096);
    let (status, body) = call(addr, "alice-key", "echo", json!({ "text": big })).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], -32600);
    let record = audited(&mut fixture.audit, 413).await;
    assert_eq!(record.principal.as_deref(), Some("alice"));
    // A body within the limit is served.
    let (status, _) = call(addr, "alice-key", "echo", json!({"text": "small"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_timeout_answers_once_and_stops_the_work() {
    let mut fixture = fixture();
    let server = fixture.server.clone();
    let mcp = McpService::new(server.clone(), HttpConfig::default());
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(&server))
        .layer(McpRequestLayer::from_config(mcp.config()))
        .layer(TimeoutLayer::new(Duration::from_millis(200)))
        .service(mcp.clone());
    let addr = serve(stack).await;
    let (status, body) = call(addr, "k", "slow", json!({})).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["id"], 1);
    tokio::time::timeout(WAIT, fixture.started.recv())
        .await
        .unwrap();
    // The tool's work was dropped with the request: no second answer can
    // come, and nothing keeps running.
    tokio::time::timeout(WAIT, fixture.dropped.recv())
        .await
        .expect("the timed-out work was not stopped");
    let record = audited(&mut fixture.audit, 504).await;
    assert_eq!(record.outcome, AuditOutcome::Timeout);
    assert_eq!(record.target.as_deref(), Some("slow"));
    fixture.release.notify_waiters();
    assert_eq!(mcp.stats().active_requests, 0);
}

#[tokio::test]
async fn one_request_over_the_concurrency_limit_is_refused_at_once() {
    let mut fixture = fixture();
    let mcp = McpService::new(fixture.server.clone(), HttpConfig::default());
    let stack = ServiceBuilder::new()
        .layer(McpRequestLayer::from_config(mcp.config()))
        .layer(ConcurrencyLimitLayer::new(1))
        .service(mcp);
    let addr = serve(stack).await;
    let slow = tokio::spawn(async move { call(addr, "k", "slow", json!({})).await });
    tokio::time::timeout(WAIT, fixture.started.recv())
        .await
        .unwrap();
    let (status, body) = call(addr, "k", "echo", json!({"text": "x"})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["id"], 1);
    fixture.release.notify_waiters();
    let (status, body) = tokio::time::timeout(WAIT, slow).await.unwrap().unwrap();
    assert_eq!(
        (status, &body["result"]["content"][0]["text"]),
        (200, &json!("released"))
    );
    let (status, _) = call(addr, "k", "echo", json!({"text": "x"})).await;
    assert_eq!(status, 200);
}

/// An application's own layer in place of our rate limit: it refuses one
/// tool by the typed request's target.
#[derive(Clone)]
struct Forbid<S>(S);

impl<S, B> Service<http::Request<B>> for Forbid<S>
where
    S: Service<http::Request<B>, Response = http::Response<McpBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Either<Full<Bytes>, McpBody>>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let forbidden = request
            .extensions()
            .get::<McpRequest>()
            .and_then(McpRequest::target)
            == Some("slow");
        if forbidden {
            let mut response = http::Response::new(Either::Left(Full::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"not here"}}"#,
            ))));
            *response.status_mut() = http::StatusCode::FORBIDDEN;
            return Box::pin(std::future::ready(Ok(response)));
        }
        let response = self.0.call(request);
        Box::pin(async move { Ok(response.await?.map(Either::Right)) })
    }
}

#[tokio::test]
async fn a_layer_can_be_replaced_by_the_applications_own_and_moved() {
    let mut fixture = fixture();
    let server = fixture.server.clone();
    let mcp = McpService::new(server.clone(), HttpConfig::default());
    // Audit inside authentication this time, and our rate limit replaced.
    let stack = ServiceBuilder::new()
        .layer(McpRequestLayer::from_config(mcp.config()))
        .layer(AuthLayer::new(keys()))
        .layer(AuditLayer::new(&server))
        .layer_fn(Forbid)
        .service(mcp);
    let addr = serve(stack).await;
    let (status, body) = call(addr, "bob-key", "slow", json!({})).await;
    assert_eq!(status, 403, "{body}");
    let record = audited(&mut fixture.audit, 403).await;
    assert_eq!(record.principal.as_deref(), Some("bob"));
    assert_eq!(record.target.as_deref(), Some("slow"));
    let (status, body) = call(addr, "bob-key", "echo", json!({"text": "fine"})).await;
    assert_eq!(status, 200, "{body}");
    // Authentication outside the audit: its refusal is not audited here.
    let (status, _) = call(addr, "wrong", "echo", json!({"text": "x"})).await;
    assert_eq!(status, 401);
    assert!(fixture.started.try_recv().is_err());
}

#[tokio::test]
async fn layers_compose_without_a_server_in_between() {
    // The layers are plain tower layers: any service can sit inside.
    let ok = tower::service_fn(|request: http::Request<_>| async move {
        let typed = request.extensions().get::<McpRequest>().cloned();
        Ok::<_, Infallible>(http::Response::new(
            typed
                .and_then(|t| t.target().map(str::to_owned))
                .unwrap_or_default(),
        ))
    });
    let app = McpRequestLayer::new(1 << 16, WAIT).layer(TimeoutLayer::new(WAIT).layer(ok));
    let request = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .body(call_body("echo", json!({})))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "echo");
}

/// Two replicas, each with its own stack, share one Redis-backed limit:
/// a principal's quota for a tool is one across both. Needs the Redis at
/// 127.0.0.1:6379 (or `TEST_REDIS_URL`) and fails loudly without it.
#[cfg(feature = "redis")]
#[tokio::test]
async fn replicas_share_a_redis_limit_through_the_layer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let host = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap();
    let mut probe = TcpStream::connect(host)
        .await
        .unwrap_or_else(|e| panic!("this test needs Redis at {url} (set TEST_REDIS_URL): {e}"));
    probe.write_all(b"PING\r\n").await.unwrap();
    let mut reply = [0u8; 7];
    probe.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"+PONG\r\n", "{url} is not a Redis server");

    let prefix = format!(
        "layer-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let fixture = fixture();
        let mcp = McpService::new(fixture.server.clone(), HttpConfig::default());
        let limits = RateLimit::per_caller(Quota::per_minute(100).burst(100))
            .tool("echo", Quota::per_minute(2).burst(2))
            .redis_with_prefix(&url, &prefix)
            .unwrap();
        let stack = ServiceBuilder::new()
            .layer(McpRequestLayer::from_config(mcp.config()))
            .layer(AuthLayer::new(keys()))
            .layer(RateLimitLayer::new(limits))
            .service(mcp);
        replicas.push(serve(stack).await);
    }
    let statuses = [
        call(replicas[0], "alice-key", "echo", json!({"text": "1"}))
            .await
            .0,
        call(replicas[1], "alice-key", "echo", json!({"text": "2"}))
            .await
            .0,
        call(replicas[0], "alice-key", "echo", json!({"text": "3"}))
            .await
            .0,
        call(replicas[1], "alice-key", "echo", json!({"text": "4"}))
            .await
            .0,
    ];
    assert_eq!(statuses, [200, 200, 429, 429]);
    let (status, body) = call(replicas[1], "bob-key", "echo", json!({"text": "bob"})).await;
    assert_eq!(status, 200, "{body}");
}
