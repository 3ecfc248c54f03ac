//! Graceful shutdown over real sockets: the grace period (readiness drops,
//! new work is refused, the listener still accepts), the drain of requests
//! in flight, and the error answer for those still running at the deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_server::prelude::*;
use mcp_server::transport::http::{HttpConfig, HttpServer, McpService};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, oneshot};

struct Fixture {
    gate: Arc<Semaphore>,
    /// How many calls have reached the gate.
    at_gate: Arc<AtomicUsize>,
}

#[mcp_server(name = "fixture", version = "1.0.0")]
impl Fixture {
    /// Wait until the test opens the gate.
    #[mcp_tool]
    async fn gated(&self) -> String {
        self.at_gate.fetch_add(1, Ordering::SeqCst);
        let _permit = self.gate.acquire().await;
        "through the gate".into()
    }

    /// Report progress, then never finish.
    #[mcp_tool]
    async fn stuck(&self, ctx: &RequestContext) -> String {
        ctx.progress(1.0, None, Some("started")).await;
        std::future::pending().await
    }

    /// Echo a text.
    #[mcp_tool]
    async fn echo(
        &self,
        /** The text. */
        text: String,
    ) -> String {
        text
    }
}

struct Running {
    addr: SocketAddr,
    service: McpService,
    gate: Arc<Semaphore>,
    at_gate: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(config: HttpConfig) -> Running {
    let gate = Arc::new(Semaphore::new(0));
    let at_gate = Arc::new(AtomicUsize::new(0));
    let fixture = Fixture {
        gate: Arc::clone(&gate),
        at_gate: Arc::clone(&at_gate),
    };
    let http = HttpServer::bind(fixture, "127.0.0.1:0", config)
        .await
        .unwrap();
    let addr = http.local_addr();
    let service = http.service().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        http.serve_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running {
        addr,
        service,
        gate,
        at_gate,
        stop: Some(stop),
        done,
    }
}

impl Running {
    /// Sends the shutdown signal; returns when it was sent.
    fn signal(&mut self) -> Instant {
        let _ = self.stop.take().unwrap().send(());
        Instant::now()
    }

    /// Waits until `n` requests are running.
    async fn running(&self, n: usize) {
        eventually(&format!("{n} requests running"), || async {
            self.service.stats().active_requests == n
        })
        .await;
    }
}

/// Polls `condition` until it holds, for at most ten seconds.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `future`'s output, within ten seconds.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A keep-alive HTTP/1.1 connection.
async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("127.0.0.1:{}", addr.port()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Full::new(body.into())).unwrap()
}

/// One request on its own connection; the body is left unread.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> hyper::Response<Incoming> {
    let mut sender = connect(addr).await;
    sender
        .send_request(request(addr, method, path, headers, body))
        .await
        .unwrap()
}

async fn json_body(response: hyper::Response<Incoming>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json, text/event-stream");
const ACCEPT_JSON: (&str, &str) = ("accept", "application/json");
const MODERN: (&str, &str) = ("mcp-protocol-version", "2026-07-28");

fn call(id: u64, tool: &str) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":{}}})
        .to_string()
}

fn stateless_call(id: u64, tool: &str) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":{},
    "_meta":{
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }}})
    .to_string()
}

fn initialize_body(version: &str) -> String {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name":"t","version":"1"}}})
    .to_string()
}

async fn initialize(addr: SocketAddr) -> String {
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT],
        initialize_body("2025-11-25"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string();
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &id)],
        initialized,
    )
    .await;
    assert_eq!(response.status(), 202);
    id
}

/// Reads SSE events until the one whose data has `"id"`; `None` if the
/// stream ends (or breaks) first.
async fn events_until_answer(response: hyper::Response<Incoming>) -> Option<Vec<Value>> {
    let mut body = response.into_body();
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.ok()?.into_data() else {
            continue;
        };
        buffer.push_str(std::str::from_utf8(&data).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for line in event.lines() {
                // The priming event of 2025-11-25 streams has empty data.
                if let Some(data) = line.strip_prefix("data: ").filter(|d| !d.is_empty()) {
                    events.push(serde_json::from_str::<Value>(data).unwrap());
                }
            }
        }
        if events.last().is_some_and(|e| e.get("id").is_some()) {
            return Some(events);
        }
    }
    None
}

/// Checks a 503 refusal of new work: `Retry-After` and a JSON-RPC error.
async fn assert_refused(response: hyper::Response<Incoming>, id: Value) {
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body = json_body(response).await;
    assert_eq!(body["id"], id, "{body}");
    assert_eq!(body["error"]["code"], -32603, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("server shutting down"), "{message}");
}

fn assert_shutdown_error(answer: &Value, id: u64) {
    assert_eq!(answer["id"], id, "{answer}");
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("server shutting down") && message.contains("deadline"),
        "{message}"
    );
}

#[tokio::test]
async fn during_the_grace_period_ready_is_503_and_new_work_is_refused_on_open_connections() {
    // A grace period far longer than the test: it never ends by itself.
    let mut server = start(HttpConfig::default().shutdown_grace(Duration::from_secs(600))).await;
    let addr = server.addr;
    assert_eq!(send(addr, "GET", "/ready", &[], "").await.status(), 200);
    let session = initialize(addr).await;
    let legacy = send(addr, "GET", "/sse", &[("accept", "text/event-stream")], "").await;
    assert_eq!(legacy.status(), 200);
    let mut kept_alive = connect(addr).await;
    let response = kept_alive
        .send_request(request(addr, "GET", "/health", &[], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    server.signal();
    // A new connection is still accepted, and readiness says draining.
    let deadline = Instant::now() + Duration::from_secs(10);
    let ready = loop {
        let stream = TcpStream::connect(addr)
            .await
            .expect("the listener still accepts during the grace period");
        drop(stream);
        let response = send(addr, "GET", "/ready", &[], "").await;
        if response.status() == 503 {
            break json_body(response).await;
        }
        assert!(Instant::now() < deadline, "/ready never answered 503");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(ready, json!({"status": "draining"}));
    assert!(server.service.stats().sessions >= 1);

    // Liveness stays up.
    assert_eq!(send(addr, "GET", "/health", &[], "").await.status(), 200);

    // New work is refused, with Retry-After and a JSON-RPC error: a new
    // session, a stateless request, a session's new request, new streams.
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT],
        initialize_body("2025-11-25"),
    )
    .await;
    assert!(response.headers().get("mcp-session-id").is_none());
    assert_refused(response, json!(0)).await;
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[
            JSON,
            ACCEPT,
            MODERN,
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ],
        stateless_call(7, "echo"),
    )
    .await;
    assert_refused(response, json!(7)).await;
    let in_session = [JSON, ACCEPT, ("mcp-session-id", session.as_str())];
    let response = send(addr, "POST", "/mcp", &in_session, call(8, "echo")).await;
    assert_refused(response, json!(8)).await;
    let response = send(
        addr,
        "GET",
        "/mcp",
        &[
            ("accept", "text/event-stream"),
            ("mcp-session-id", &session),
        ],
        "",
    )
    .await;
    assert_refused(response, Value::Null).await;
    let response = send(addr, "GET", "/sse", &[("accept", "text/event-stream")], "").await;
    assert_refused(response, Value::Null).await;

    // A connection opened before the signal gets the same answer, and is
    // told to close, so the client's retry takes a new connection.
    let response = kept_alive
        .send_request(request(addr, "POST", "/mcp", &in_session, call(9, "echo")))
        .await
        .unwrap();
    assert_eq!(response.headers()["connection"], "close");
    assert_refused(response, json!(9)).await;

    // What in-flight work may need still goes through: notifications, and
    // ending a session.
    let cancelled =
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}});
    let response = send(addr, "POST", "/mcp", &in_session, cancelled.to_string()).await;
    assert_eq!(response.status(), 202);
    let response = send(addr, "DELETE", "/mcp", &[("mcp-session-id", &session)], "").await;
    assert_eq!(response.status(), 200);

    drop(legacy);
    server.done.abort();
}

#[tokio::test]
async fn a_request_in_flight_finishes_with_its_real_result_after_the_listener_closes() {
    let config = HttpConfig::default()
        .shutdown_grace(Duration::ZERO)
        .shutdown_deadline(Duration::from_secs(60));
    let mut server = start(config).await;
    let addr = server.addr;
    let session = initialize(addr).await;
    let pending = tokio::spawn(async move {
        let response = send(
            addr,
            "POST",
            "/mcp",
            // JSON only: with SSE accepted, an answer later than
            // `stream_after` (50 ms, easily passed on a loaded machine)
            // would come as a stream.
            &[JSON, ACCEPT_JSON, ("mcp-session-id", &session)],
            call(1, "gated"),
        )
        .await;
        (response.status(), json_body(response).await)
    });
    server.running(1).await;
    server.signal();
    eventually("the listener to close", || async {
        TcpStream::connect(addr).await.is_err()
    })
    .await;

    server.gate.add_permits(1);
    let (status, body) = within("the answer", pending).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "through the gate");
    // Done as soon as the last request is: the deadline is not waited out.
    tokio::time::timeout(Duration::from_secs(30), server.done)
        .await
        .expect("the server stopped once its requests were done")
        .unwrap();
}

#[tokio::test]
async fn requests_still_running_at_the_deadline_get_an_error_answer() {
    let grace = Duration::from_millis(300);
    let deadline = Duration::from_millis(400);
    let config = HttpConfig::default()
        .shutdown_grace(grace)
        .shutdown_deadline(deadline);
    let mut server = start(config).await;
    let addr = server.addr;
    let session = initialize(addr).await;
    // A session's request answered with JSON, and a stateless one.
    let in_session = tokio::spawn({
        let session = session.clone();
        async move {
            let response = send(
                addr,
                "POST",
                "/mcp",
                &[JSON, ACCEPT_JSON, ("mcp-session-id", &session)],
                call(1, "stuck"),
            )
            .await;
            (response.status(), json_body(response).await)
        }
    });
    let stateless = tokio::spawn(async move {
        let response = send(
            addr,
            "POST",
            "/mcp",
            &[
                JSON,
                ACCEPT_JSON,
                MODERN,
                ("mcp-method", "tools/call"),
                ("mcp-name", "stuck"),
            ],
            stateless_call(2, "stuck"),
        )
        .await;
        (response.status(), json_body(response).await)
    });
    // The session's GET stream ends cleanly when the listener closes.
    let stream = send(
        addr,
        "GET",
        "/mcp",
        &[
            ("accept", "text/event-stream"),
            ("mcp-session-id", &session),
        ],
        "",
    )
    .await;
    assert_eq!(stream.status(), 200);
    server.running(2).await;

    let signalled = server.signal();
    let (status, body) = within("the session's answer", in_session).await.unwrap();
    assert_eq!(status, 200);
    assert_shutdown_error(&body, 1);
    let (status, body) = within("the stateless answer", stateless).await.unwrap();
    assert_eq!(status, 200);
    assert_shutdown_error(&body, 2);
    within("the GET stream's end", stream.into_body().collect())
        .await
        .expect("the GET stream ended cleanly");

    tokio::time::timeout(Duration::from_secs(30), server.done)
        .await
        .expect("the server stopped")
        .unwrap();
    let took = signalled.elapsed();
    assert!(
        took >= grace + deadline,
        "stopped {took:?} after the signal, before grace + deadline"
    );
}

#[tokio::test]
async fn a_streaming_post_still_running_at_the_deadline_ends_with_an_error_event() {
    let config = HttpConfig::default()
        .shutdown_grace(Duration::from_millis(100))
        .shutdown_deadline(Duration::from_millis(300));
    let mut server = start(config).await;
    let addr = server.addr;
    let session = initialize(addr).await;
    let body = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{
        "name":"stuck","arguments":{},"_meta":{"progressToken":"p"}}});
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &session)],
        body.to_string(),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");

    server.signal();
    let events = within("the final event", events_until_answer(response))
        .await
        .expect("the stream ended with an answer, not a cut");
    assert_eq!(events[0]["method"], "notifications/progress");
    assert_shutdown_error(events.last().unwrap(), 3);
    tokio::time::timeout(Duration::from_secs(30), server.done)
        .await
        .expect("the server stopped")
        .unwrap();
}

#[tokio::test]
async fn a_legacy_stream_delivers_answers_of_requests_in_flight_after_the_listener_closes() {
    let config = HttpConfig::default()
        .shutdown_grace(Duration::ZERO)
        .shutdown_deadline(Duration::from_secs(60));
    let mut server = start(config).await;
    let addr = server.addr;
    let response = send(addr, "GET", "/sse", &[("accept", "text/event-stream")], "").await;
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let endpoint = std::str::from_utf8(&first)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("data: ")
        .unwrap()
        .to_owned();
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let response = send(addr, "POST", &endpoint, &[JSON], init.to_string()).await;
    assert_eq!(response.status(), 202);
    let response = send(addr, "POST", &endpoint, &[JSON], call(2, "gated")).await;
    assert_eq!(response.status(), 202);
    eventually("the gated call to wait", || async {
        server.at_gate.load(Ordering::SeqCst) == 1
    })
    .await;

    server.signal();
    eventually("the listener to close", || async {
        TcpStream::connect(addr).await.is_err()
    })
    .await;
    server.gate.add_permits(1);
    let mut seen = String::new();
    while let Some(frame) = within("the stream's next event or end", body.frame()).await {
        if let Ok(data) = frame.expect("the stream ended cleanly").into_data() {
            seen.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
    assert!(seen.contains(r#""id":2,"result""#), "{seen}");
    assert!(seen.contains("through the gate"), "{seen}");
    tokio::time::timeout(Duration::from_secs(30), server.done)
        .await
        .expect("the server stopped")
        .unwrap();
}

#[tokio::test]
async fn an_embedded_service_drains_on_demand() {
    let gate = Arc::new(Semaphore::new(0));
    let config = HttpConfig::default()
        .shutdown_grace(Duration::from_millis(50))
        .shutdown_deadline(Duration::from_millis(50));
    let fixture = Fixture {
        gate,
        at_gate: Arc::default(),
    };
    let mcp = McpService::new(fixture, config);
    let post = |body: String| {
        http::Request::post("/mcp")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "stuck")
            .body(body)
            .unwrap()
    };
    let ready = || http::Request::get("/ready").body(String::new()).unwrap();
    assert_eq!(mcp.handle(ready()).await.status(), 200);
    let in_flight = tokio::spawn({
        let mcp = mcp.clone();
        let request = post(stateless_call(1, "stuck"));
        async move { mcp.handle(request).await }
    });
    eventually("the call to run", || async {
        mcp.stats().active_requests == 1
    })
    .await;

    let drained = mcp.drain();
    assert_eq!(mcp.handle(ready()).await.status(), 503);
    let refused = within("the refusal", mcp.handle(post(stateless_call(2, "stuck")))).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    drained.await;

    let answer = within("the answer", in_flight).await.unwrap();
    assert_eq!(answer.status(), 200);
    let bytes = answer.into_body().collect().await.unwrap().to_bytes();
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert_shutdown_error(&answer, 1);
}
