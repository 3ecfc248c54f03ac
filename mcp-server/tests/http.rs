//! The HTTP transport over real sockets: Streamable HTTP on every revision,
//! legacy SSE, bad input, limits, disconnects and graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_server::prelude::*;
use mcp_server::transport::http::{HttpConfig, HttpServer, HttpStats, McpService};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

struct Fixture;

#[mcp_server(name = "fixture", version = "1.0.0")]
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

    /// Take `steps` steps of 100 ms, reporting progress at each.
    #[mcp_tool]
    async fn slow(
        &self,
        /** Steps. */
        steps: u32,
        ctx: &RequestContext,
    ) -> String {
        for step in 1..=steps {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ctx.progress(f64::from(step), Some(f64::from(steps)), None)
                .await;
        }
        format!("done after {steps} steps")
    }

    /// Look up a region, routed by header.
    #[mcp_tool]
    async fn region(
        &self,
        /** Region code. */
        #[arg(header = "Region")]
        code: String,
    ) -> String {
        code
    }
}

/// A tool added at run time.
#[mcp_tool]
async fn extra() -> &'static str {
    "extra"
}

struct Running {
    addr: SocketAddr,
    service: McpService,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

#[path = "http/connections.rs"]
mod connections;
#[path = "http/floods.rs"]
mod floods;
#[path = "http/large.rs"]
mod large;
#[path = "http/refusals.rs"]
mod refusals;
#[path = "http/resume.rs"]
mod resume;

async fn start(config: HttpConfig) -> Running {
    start_server(Fixture, config).await
}

async fn start_server(server: impl Into<Server>, config: HttpConfig) -> Running {
    // No grace period: these tests stop their servers at once (the
    // shutdown sequence has its own tests, in shutdown.rs).
    let config = config.shutdown_grace(Duration::ZERO);
    let http = HttpServer::bind(server, "127.0.0.1:0", config)
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
        stop: Some(stop),
        done,
    }
}

impl Running {
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), self.done)
            .await
            .expect("graceful shutdown finished")
            .unwrap();
    }

    /// Waits until the service holds nothing but `sessions` sessions.
    async fn settles_to(&self, sessions: usize) -> HttpStats {
        let mut stats = self.service.stats();
        for _ in 0..100 {
            stats = self.service.stats();
            if stats.active_requests == 0
                && stats.open_streams == 0
                && stats.connection_tasks == 0
                && stats.body_bytes == 0
                && stats.sessions == sessions
            {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the service did not settle: {stats:?}");
    }
}

/// One HTTP/1.1 request on its own connection; the response body is left
/// unread so streams can be consumed (or dropped) by the test.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> hyper::Response<Incoming> {
    let stream = TcpStream::connect(addr).await.unwrap();
    send_on(stream, addr, method, path, headers, body).await
}

/// One HTTP/1.1 request on a connection of its own.
async fn send_on(
    stream: TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> hyper::Response<Incoming> {
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

async fn json_body(response: hyper::Response<Incoming>) -> Value {
    serde_json::from_str(&text(response).await).unwrap()
}

const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json, text/event-stream");

fn content_type(response: &hyper::Response<Incoming>) -> &str {
    response
        .headers()
        .get("content-type")
        .map_or("", |v| v.to_str().unwrap())
}

async fn initialize(addr: SocketAddr, version: &str) -> String {
    let body = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name":"t","version":"1"}}});
    let response = send(addr, "POST", "/mcp", &[JSON, ACCEPT], body.to_string()).await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(id.len() >= 32 && id.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    let result = json_body(response).await;
    assert_eq!(result["result"]["protocolVersion"], version);
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

fn stateless(id: u64, method: &str, params: Value) -> String {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}).to_string()
}

const MODERN: (&str, &str) = ("mcp-protocol-version", "2026-07-28");

/// Reads SSE events until the one whose data has `"id"`, returning them all.
async fn read_events(response: hyper::Response<Incoming>) -> Vec<Value> {
    let mut body = response.into_body();
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap();
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.push_str(std::str::from_utf8(&data).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for line in event.lines() {
                // The priming event of 2025-11-25 streams has empty data.
                if let Some(data) = line.strip_prefix("data: ").filter(|d| !d.is_empty()) {
                    events.push(serde_json::from_str(data).unwrap());
                }
            }
        }
        if events.last().is_some_and(|e: &Value| e.get("id").is_some()) {
            break;
        }
    }
    events
}

#[tokio::test]
async fn stateful_session_lifecycle() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let id = initialize(addr, "2025-11-25").await;
    let session = [
        JSON,
        ACCEPT,
        ("mcp-session-id", id.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];

    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}});
    let response = send(addr, "POST", "/mcp", &session, call.to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/json");
    let answer = json_body(response).await;
    assert_eq!(answer["result"]["content"][0]["text"], "hi");

    // Progress comes first, so the answer switches to an SSE stream.
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{
        "name":"slow","arguments":{"steps":2},"_meta":{"progressToken":"p"}}});
    let response = send(addr, "POST", "/mcp", &session, call.to_string()).await;
    assert_eq!(content_type(&response), "text/event-stream");
    let events = read_events(response).await;
    let methods: Vec<_> = events
        .iter()
        .map(|e| e["method"].as_str().unwrap_or("response"))
        .collect();
    assert_eq!(
        methods,
        [
            "notifications/progress",
            "notifications/progress",
            "response"
        ]
    );
    assert_eq!(
        events[2]["result"]["content"][0]["text"],
        "done after 2 steps"
    );

    let response = send(addr, "DELETE", "/mcp", &session, "").await;
    assert_eq!(response.status(), 200);
    let list = json!({"jsonrpc":"2.0","id":3,"method":"tools/list"}).to_string();
    let response = send(addr, "POST", "/mcp", &session, list).await;
    assert_eq!(response.status(), 404, "a deleted session is gone");
    server.settles_to(0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_the_status_the_spec_names_and_the_server_keeps_serving() {
    let server = start(HttpConfig::default().max_body_bytes(64 * 1024)).await;
    let addr = server.addr;
    let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string();

    let response = send(addr, "POST", "/mcp", &[JSON, ACCEPT], "{not json").await;
    assert_eq!(response.status(), 400);
    assert_eq!(json_body(response).await["error"]["code"], -32700);

    let response = send(
        addr,
        "POST",
        "/mcp",
        &[("content-type", "text/plain"), ACCEPT],
        list.clone(),
    )
    .await;
    assert_eq!(response.status(), 415);

    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"pad":"{}"}}}}"#,
        "x".repeat(100_000)
    );
    let response = send(addr, "POST", "/mcp", &[JSON, ACCEPT], huge).await;
    assert_eq!(response.status(), 413);

    let response = send(addr, "POST", "/mcp", &[JSON, ACCEPT], list.clone()).await;
    assert_eq!(response.status(), 400, "no session id");
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", "nope")],
        list.clone(),
    )
    .await;
    assert_eq!(response.status(), 404, "unknown session id");

    let id = initialize(addr, "2025-06-18").await;
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[
            JSON,
            ACCEPT,
            ("mcp-session-id", &id),
            ("mcp-protocol-version", "1999-01-01"),
        ],
        list.clone(),
    )
    .await;
    assert_eq!(response.status(), 400, "a bad protocol version header");

    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("origin", "http://evil.example.com")],
        list.clone(),
    )
    .await;
    assert_eq!(response.status(), 403, "a foreign origin");
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post("/mcp")
        .header("host", "evil.example.com")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(list.clone())))
        .unwrap();
    assert_eq!(
        sender.send_request(request).await.unwrap().status(),
        403,
        "a rebound host"
    );

    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ("accept", "text/html")],
        list.clone(),
    )
    .await;
    assert_eq!(response.status(), 406);

    let response = send(addr, "PUT", "/mcp", &[JSON], list.clone()).await;
    assert_eq!(response.status(), 405);

    // After all that, the session still works.
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[
            JSON,
            ACCEPT,
            ("mcp-session-id", &id),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        list,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_body(response).await["result"]["tools"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    server.shutdown().await;
}

struct Panicky;

#[mcp_server(name = "panicky", version = "1.0.0")]
impl Panicky {
    /// Panic at the first poll.
    #[mcp_tool]
    async fn boom(&self) -> String {
        panic!("boom at the first poll")
    }

    /// Panic once a timer has fired.
    #[mcp_tool]
    async fn late_boom(&self) -> String {
        tokio::time::sleep(Duration::from_millis(10)).await;
        panic!("boom after a wait")
    }
}

/// A tool that panics, answered in place at its first poll or from a task
/// of its own after waiting, gets a tool error, and the server goes on:
/// nothing stays counted as running.
#[tokio::test]
async fn a_tool_panicking_at_its_first_poll_or_later_is_answered_and_the_server_goes_on() {
    let server = start_server(Panicky, HttpConfig::default()).await;
    let session = initialize(server.addr, "2025-11-25").await;
    let in_session = [
        JSON,
        ("accept", "application/json"),
        ("mcp-session-id", session.as_str()),
    ];
    for (id, tool) in [(1, "boom"), (2, "late_boom"), (3, "boom")] {
        let call = json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":{}}});
        let response = send(server.addr, "POST", "/mcp", &in_session, call.to_string()).await;
        assert_eq!(response.status(), 200, "{tool}");
        let body = json_body(response).await;
        assert_eq!(body["id"], id);
        assert_eq!(body["result"]["isError"], true, "{body}");
        let text = body["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("panicked"), "{text}");
    }
    let headers = [
        JSON,
        ACCEPT,
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "boom"),
    ];
    let call = stateless(4, "tools/call", json!({"name":"boom","arguments":{}}));
    let response = send(server.addr, "POST", "/mcp", &headers, call).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["result"]["isError"], true);
    server.settles_to(1).await;
    server.shutdown().await;
}

/// A body whose `_meta` names 2026-07-28 is a stateless request whatever the
/// version header says, however the key is spelled: the header must then
/// agree with it.
#[tokio::test]
async fn a_stateless_body_under_a_stateful_header_is_refused_however_meta_is_spelled() {
    let server = start(HttpConfig::default()).await;
    let plain = stateless(13, "tools/list", json!({}));
    let escaped = plain.replace(r#""_meta""#, r#""\u005fmeta""#);
    assert_ne!(plain, escaped);
    for body in [plain, escaped] {
        let headers = [
            JSON,
            ACCEPT,
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-method", "tools/list"),
        ];
        let response = send(server.addr, "POST", "/mcp", &headers, body.clone()).await;
        let status = response.status();
        let answer = json_body(response).await;
        assert_eq!(
            (status.as_u16(), &answer["error"]["code"]),
            (400, &json!(-32020)),
            "{body}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn stateless_requests_are_checked_in_order() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let post = |headers: Vec<(&'static str, &'static str)>, body: String| async move {
        let mut all = vec![JSON, ACCEPT];
        all.extend(headers);
        let response = send(addr, "POST", "/mcp", &all, body).await;
        let status = response.status().as_u16();
        (status, json_body(response).await)
    };

    let (status, body) = post(
        vec![MODERN, ("mcp-method", "tools/list")],
        json!({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}).to_string(),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"], &body["id"]),
        (400, &json!(-32602), &json!(7))
    );

    let mismatched = stateless(8, "tools/list", json!({})).replace("2026-07-28", "v999.0.0");
    let (status, body) = post(
        vec![MODERN, ("mcp-method", "tools/list")],
        mismatched.clone(),
    )
    .await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!(-32020)));

    let (status, body) = post(
        vec![
            ("mcp-protocol-version", "v999.0.0"),
            ("mcp-method", "tools/list"),
        ],
        mismatched,
    )
    .await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!(-32022)));
    assert_eq!(body["error"]["data"]["requested"], "v999.0.0");

    let (status, body) = post(
        vec![MODERN, ("mcp-method", "prompts/list")],
        stateless(9, "tools/list", json!({})),
    )
    .await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!(-32020)));

    let (status, body) = post(
        vec![MODERN, ("mcp-method", "ping")],
        stateless(10, "ping", json!({})),
    )
    .await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!(-32601)));

    let call = stateless(
        11,
        "tools/call",
        json!({"name":"echo","arguments":{"text":"x"}}),
    );
    let (status, _) = post(
        vec![MODERN, ("mcp-method", "tools/call"), ("mcp-name", "other")],
        call.clone(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = post(
        vec![
            MODERN,
            ("mcp-method", "tools/call"),
            ("mcp-name", "  echo "),
        ],
        call,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["resultType"], "complete");
    assert_eq!(body["result"]["content"][0]["text"], "x");

    // An argument marked `header` must be mirrored in Mcp-Param-*.
    let call = stateless(
        12,
        "tools/call",
        json!({"name":"region","arguments":{"code":"eu"}}),
    );
    let region = [MODERN, ("mcp-method", "tools/call"), ("mcp-name", "region")];
    let (status, body) = post(region.to_vec(), call.clone()).await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!(-32020)));
    let mut with_header = region.to_vec();
    with_header.push(("mcp-param-region", "=?base64?ZXU=?="));
    let (status, body) = post(with_header, call.clone()).await;
    assert_eq!(
        (status, &body["result"]["content"][0]["text"]),
        (200, &json!("eu"))
    );
    let mut wrong = region.to_vec();
    wrong.push(("mcp-param-region", "us"));
    let (status, _) = post(wrong, call).await;
    assert_eq!(status, 400);

    // A notification is accepted with no body; GET and DELETE are not for this wire.
    let note = json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})
        .to_string();
    let response = send(addr, "POST", "/mcp", &[JSON, ACCEPT, MODERN], note).await;
    assert_eq!(response.status(), 202);
    let response = send(addr, "GET", "/mcp", &[ACCEPT, MODERN], "").await;
    assert_eq!(response.status(), 405);
    server.settles_to(0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_leaves_nothing_behind() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;

    // 2026-07-28: closing the stream cancels the request at once.
    let call = stateless(
        1,
        "tools/call",
        json!({"name":"slow","arguments":{"steps":100}}),
    )
    .replace(r#""_meta":{"#, r#""_meta":{"progressToken":"p","#);
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[
            JSON,
            ACCEPT,
            MODERN,
            ("mcp-method", "tools/call"),
            ("mcp-name", "slow"),
        ],
        call,
    )
    .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(
        std::str::from_utf8(first.data_ref().unwrap())
            .unwrap()
            .contains("notifications/progress")
    );
    assert_eq!(server.service.stats().active_requests, 1);
    assert_eq!(server.service.stats().open_streams, 1);
    drop(body);
    server.settles_to(0).await;

    // 2025-11-25: a dropped stream is not a cancellation; the request
    // finishes, and then nothing is left but the session.
    let id = initialize(addr, "2025-11-25").await;
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{
        "name":"slow","arguments":{"steps":3},"_meta":{"progressToken":"p"}}});
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &id)],
        call.to_string(),
    )
    .await;
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    server.settles_to(1).await;
    let response = send(addr, "DELETE", "/mcp", &[("mcp-session-id", &id)], "").await;
    assert_eq!(response.status(), 200);
    server.settles_to(0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn legacy_sse_transport() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let response = send(addr, "GET", "/sse", &[("accept", "text/event-stream")], "").await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "text/event-stream");
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = std::str::from_utf8(&first).unwrap();
    assert!(
        first.starts_with("event: endpoint\ndata: /messages?session_id="),
        "{first}"
    );
    let endpoint = first
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
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"old"}}});
    let response = send(addr, "POST", &endpoint, &[JSON], call.to_string()).await;
    assert_eq!(response.status(), 202);

    let mut seen = String::new();
    while !seen.contains(r#""id":2"#) {
        let frame = body.frame().await.unwrap().unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
    assert!(seen.contains("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"2024-11-05\""));
    assert!(seen.contains(r#""text":"old""#));
    assert_eq!(server.service.stats().sessions, 1);

    let response = send(
        addr,
        "POST",
        "/messages?session_id=unknown",
        &[JSON],
        call.to_string(),
    )
    .await;
    assert_eq!(response.status(), 404);
    let response = send(addr, "POST", "/sse", &[JSON], call.to_string()).await;
    assert_eq!(
        response.status(),
        405,
        "new clients fall back to SSE on a 405"
    );

    drop(body);
    server.settles_to(0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn listen_streams_tool_list_changes() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let listen = stateless(
        5,
        "subscriptions/listen",
        json!({"notifications":{"toolsListChanged":true,"promptsListChanged":true}}),
    );
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, MODERN, ("mcp-method", "subscriptions/listen")],
        listen,
    )
    .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let mut body = response.into_body();
    let mut next_event = async || loop {
        let frame = body.frame().await.unwrap().unwrap();
        let data = frame.into_data().unwrap();
        let text = std::str::from_utf8(&data).unwrap().to_owned();
        if let Some(json) = text.strip_prefix("data: ") {
            return serde_json::from_str::<Value>(json.trim()).unwrap();
        }
    };
    let ack = next_event().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true, "promptsListChanged": true})
    );
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        5
    );

    // Changing the tool set reaches every open listen stream.
    server.service.server().add_tool(extra::tool());
    let changed = next_event().await;
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    assert_eq!(
        changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        5
    );

    // Shutting down ends the stream with the listen request's result.
    let stop = server.stop;
    let _ = stop.map(|s| s.send(()));
    let last = next_event().await;
    assert_eq!(last["id"], 5);
    assert_eq!(last["result"]["resultType"], "complete");
    tokio::time::timeout(Duration::from_secs(15), server.done)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let mut server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let id = initialize(addr, "2025-11-25").await;
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{"steps":3}}});
    let pending = tokio::spawn(async move {
        let response = send(
            addr,
            "POST",
            "/mcp",
            &[JSON, ACCEPT, ("mcp-session-id", &id)],
            call.to_string(),
        )
        .await;
        // A 2025-11-25 request still running after `stream_after` answers
        // on a resumable stream.
        assert_eq!(content_type(&response), "text/event-stream");
        (
            response.status(),
            read_events(response).await.pop().unwrap(),
        )
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = server.stop.take().unwrap().send(());
    let (status, body) = pending.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "done after 3 steps");
    tokio::time::timeout(Duration::from_secs(15), server.done)
        .await
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn batches_on_2025_03_26_and_load_shedding() {
    let server = start(HttpConfig::default().max_concurrent_requests(1)).await;
    let addr = server.addr;
    let id = initialize(addr, "2025-03-26").await;
    let session = [JSON, ACCEPT, ("mcp-session-id", id.as_str())];
    let batch = json!([
        {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}}},
        {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"x","progress":1}},
        {"jsonrpc":"2.0","id":2,"method":"ping"}
    ]);
    let response = send(addr, "POST", "/mcp", &session, batch.to_string()).await;
    assert_eq!(response.status(), 200);
    let answers = json_body(response).await;
    let ids: Vec<_> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(2)]);

    // One request at a time: a second one is shed with 503 and Retry-After.
    let slow = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow","arguments":{"steps":3}}});
    let first = tokio::spawn({
        let id = id.clone();
        async move {
            send(
                addr,
                "POST",
                "/mcp",
                &[JSON, ACCEPT, ("mcp-session-id", &id)],
                slow.to_string(),
            )
            .await
            .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let echo = json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"b"}}});
    let response = send(addr, "POST", "/mcp", &session, echo.to_string()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(first.await.unwrap(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let server = start(HttpConfig::default()).await;
    let response = send(server.addr, "GET", "/health", &[], "").await;
    assert_eq!(response.status(), 200);
    let health = json_body(response).await;
    assert_eq!(
        (health["status"].as_str(), health["name"].as_str()),
        (Some("ok"), Some("fixture"))
    );
    let response = send(server.addr, "GET", "/ready", &[], "").await;
    assert_eq!(response.status(), 200);
    let response = send(server.addr, "GET", "/nowhere", &[], "").await;
    assert_eq!(response.status(), 404);
    server.shutdown().await;

    // A dependency that fails, and one that never answers, keep the
    // server out of rotation, named but without their errors.
    let server = Server::builder()
        .definition(Fixture)
        .readiness_check("database", || async { Err("connection refused".into()) })
        .readiness_check("cache", || async { Ok(()) })
        .readiness_check("upstream", std::future::pending)
        .build();
    let server = start_server(server, HttpConfig::default()).await;
    let response = send(server.addr, "GET", "/ready", &[], "").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        json_body(response).await,
        json!({"status": "not ready", "failing": ["database", "upstream"]})
    );
    // Liveness is not readiness: /health stays 200.
    let response = send(server.addr, "GET", "/health", &[], "").await;
    assert_eq!(response.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn the_root_names_the_server_and_its_endpoints() {
    let server = start(HttpConfig::default()).await;
    let response = send(server.addr, "GET", "/", &[], "").await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/json");
    assert_eq!(
        json_body(response).await,
        json!({
            "name": "fixture",
            "version": "1.0.0",
            "endpoints": {
                "mcp": "/mcp",
                "sse": "/sse",
                "messages": "/messages",
                "health": "/health",
                "ready": "/ready",
                "metrics": "/metrics",
            },
        })
    );
    let response = send(server.addr, "HEAD", "/", &[], "").await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "");
    // Only GET and HEAD: anything else at `/` is an unknown route.
    let response = send(server.addr, "POST", "/", &[JSON], "{}").await;
    assert_eq!(response.status(), 404);
    // Like /health, whatever the Host: it tells no more than /health.
    let request = hyper::Request::get("/")
        .header("host", "elsewhere.example")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(server.service.handle(request).await.status(), 200);
    server.shutdown().await;

    // Only the endpoints configured; a route at `/` keeps `/`.
    let config = HttpConfig::default()
        .path("/rpc")
        .legacy_sse(false)
        .metrics_path(None);
    let server = start(config).await;
    let response = send(server.addr, "GET", "/", &[], "").await;
    assert_eq!(
        json_body(response).await["endpoints"],
        json!({"mcp": "/rpc", "health": "/health", "ready": "/ready"})
    );
    server.shutdown().await;
    let server = start(HttpConfig::default().path("/")).await;
    let response = send(server.addr, "GET", "/", &[], "").await;
    assert_ne!(response.status(), 200, "GET / is the MCP endpoint's");
    server.shutdown().await;
}

#[tokio::test]
async fn sessions_expire_when_idle_and_are_bounded() {
    let server = start(
        HttpConfig::default()
            .session_idle_timeout(Duration::from_millis(200))
            .max_sessions(1),
    )
    .await;
    let addr = server.addr;
    let id = initialize(addr, "2025-11-25").await;

    // The bound: a second session is refused while the first is busy (its
    // stream open); an idle one would have made way.
    let stream = send(
        addr,
        "GET",
        "/mcp",
        &[("accept", "text/event-stream"), ("mcp-session-id", &id)],
        "",
    )
    .await;
    assert_eq!(stream.status(), 200);
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let response = send(addr, "POST", "/mcp", &[JSON, ACCEPT], init.to_string()).await;
    assert_eq!(response.status(), 429);
    drop(stream);
    server.settles_to(1).await;

    // Idle past the timeout, the session is gone, and its slot is free.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string();
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &id)],
        list,
    )
    .await;
    assert_eq!(response.status(), 404);
    let response = send(addr, "POST", "/mcp", &[JSON, ACCEPT], init.to_string()).await;
    assert_eq!(response.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn quiet_streams_get_keep_alive_comments() {
    let server = start(HttpConfig::default().keep_alive(Duration::from_millis(100))).await;
    let id = initialize(server.addr, "2025-11-25").await;
    let response = send(
        server.addr,
        "GET",
        "/mcp",
        &[("accept", "text/event-stream"), ("mcp-session-id", &id)],
        "",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "text/event-stream");
    let mut body = response.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(2), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(frame.into_data().unwrap(), ": keep-alive\n\n");

    // A second GET stream on the same session is refused.
    let response = send(
        server.addr,
        "GET",
        "/mcp",
        &[("accept", "text/event-stream"), ("mcp-session-id", &id)],
        "",
    )
    .await;
    assert_eq!(response.status(), 409);

    // Tool list changes reach the session on its GET stream.
    server.service.server().add_tool(extra::tool());
    let mut seen = String::new();
    while !seen.contains("notifications/tools/list_changed") {
        let frame = body.frame().await.unwrap().unwrap();
        seen.push_str(std::str::from_utf8(&frame.into_data().unwrap()).unwrap());
    }
    drop(body);
    server.settles_to(1).await;
    server.shutdown().await;
}

#[tokio::test]
async fn http2_is_served_on_the_same_listener() {
    let server = start(HttpConfig::default()).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let body = stateless(
        1,
        "tools/call",
        json!({"name":"echo","arguments":{"text":"h2"}}),
    );
    let request = hyper::Request::post(format!("http://127.0.0.1:{}/mcp", server.addr.port()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "echo")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_body(response).await["result"]["content"][0]["text"],
        "h2"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn cancellation_stops_a_session_request() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let id = initialize(addr, "2025-11-25").await;
    let call = json!({"jsonrpc":"2.0","id":"long","method":"tools/call","params":{"name":"slow","arguments":{"steps":100}}});
    let pending = tokio::spawn({
        let id = id.clone();
        async move {
            let response = send(
                addr,
                "POST",
                "/mcp",
                &[JSON, ACCEPT, ("mcp-session-id", &id)],
                call.to_string(),
            )
            .await;
            text(response).await
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(server.service.stats().active_requests, 1);
    let cancel = json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"long","reason":"changed my mind"}});
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &id)],
        cancel.to_string(),
    )
    .await;
    assert_eq!(response.status(), 202);
    let answer = tokio::time::timeout(Duration::from_secs(2), pending)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !answer.contains("done after"),
        "the handler stopped: {answer}"
    );
    server.settles_to(1).await;
    server.shutdown().await;
}

#[tokio::test]
async fn cors_for_allowed_browser_origins_and_security_headers_everywhere() {
    let server = start(HttpConfig::default().cors_origins(["https://app.example.com"])).await;
    let addr = server.addr;
    let preflight = send(
        addr,
        "OPTIONS",
        "/mcp",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type, authorization, mcp-session-id",
            ),
        ],
        "",
    )
    .await;
    assert_eq!(preflight.status(), 204);
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(
        headers["access-control-allow-headers"],
        "content-type, authorization, mcp-session-id"
    );
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("DELETE")
    );

    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("origin", "https://app.example.com")],
        init.to_string(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        headers["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("mcp-session-id")
    );
    assert!(headers.contains_key("mcp-session-id"));

    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("origin", "https://other.example.com")],
        init.to_string(),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    for path in ["/health", "/mcp", "/nowhere"] {
        let response = send(addr, "GET", path, &[], "").await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
    }
    server.shutdown().await;
}
