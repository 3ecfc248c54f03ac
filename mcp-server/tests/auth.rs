//! Authentication over HTTP: API keys, scopes, and sessions bound to the
//! principal that opened them. Rejected requests never reach a handler.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mcp_server::auth::ApiKeys;
use mcp_server::prelude::*;
use mcp_server::transport::http::{HttpConfig, HttpServer};
use serde_json::{Value, json};

struct Notes {
    calls: Arc<AtomicUsize>,
}

#[mcp_server(name = "notes")]
impl Notes {
    /// Echo a text.
    #[mcp_tool(read_only)]
    async fn echo(
        &self,
        /** The text. */
        text: String,
        ctx: &RequestContext,
    ) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        format!(
            "{text} (from {})",
            ctx.principal().map_or("nobody", |p| p.id.as_str())
        )
    }

    /// The tenant the call acts for.
    #[mcp_tool(read_only)]
    async fn tenant(&self, ctx: &RequestContext) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        ctx.tenant().unwrap_or("none").to_owned()
    }

    /// Write a note.
    #[mcp_tool(scopes("notes:write"))]
    async fn write(
        &self,
        /** The note. */
        text: String,
    ) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        format!("wrote {text}")
    }
}

async fn start() -> (SocketAddr, Arc<AtomicUsize>) {
    let keys = ApiKeys::new()
        .key("reader", "reader-key-0123456789", ["notes:read"])
        .key(
            "writer",
            "writer-key-0123456789",
            ["notes:read", "notes:write"],
        );
    start_with(HttpConfig::default().authenticator(keys)).await
}

async fn start_with(config: HttpConfig) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let http = HttpServer::bind(
        Notes {
            calls: Arc::clone(&calls),
        },
        "127.0.0.1:0",
        config,
    )
    .await
    .unwrap();
    let addr = http.local_addr();
    tokio::spawn(http.serve_until(std::future::pending()));
    (addr, calls)
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (u16, hyper::HeaderMap, Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    if headers
        .get("content-type")
        .is_some_and(|v| v == "text/event-stream")
    {
        return (status, headers, Value::Null);
    }
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn stateless(id: u64, method: &str, params: Value) -> String {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

const MODERN: (&str, &str) = ("mcp-protocol-version", "2026-07-28");

#[tokio::test]
async fn requests_without_valid_credentials_never_reach_a_handler() {
    let (addr, calls) = start().await;
    let call = stateless(
        1,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    );
    let routing = [MODERN, ("mcp-method", "tools/call"), ("mcp-name", "echo")];

    let (status, headers, body) = send(addr, "POST", "/mcp", &routing, call.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], r#"Bearer realm="mcp""#);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("authentication required")
    );

    let mut wrong = routing.to_vec();
    wrong.push(("authorization", "Bearer not-a-key"));
    let (status, headers, _) = send(addr, "POST", "/mcp", &wrong, call.clone()).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    for (method, path) in [
        ("GET", "/mcp"),
        ("DELETE", "/mcp"),
        ("GET", "/sse"),
        ("POST", "/messages?session_id=x"),
    ] {
        let (status, _, _) = send(addr, method, path, &[], String::new()).await;
        assert_eq!(status, 401, "{method} {path}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no handler ran");

    // Probes stay open.
    let (status, _, _) = send(addr, "GET", "/health", &[], String::new()).await;
    assert_eq!(status, 200);

    // The right key reaches the handler, which knows who called.
    let mut good = routing.to_vec();
    good.push(("x-api-key", "reader-key-0123456789"));
    let (status, _, body) = send(addr, "POST", "/mcp", &good, call).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "hi (from reader)");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn scoped_tools_are_hidden_and_refused_without_the_scope() {
    let (addr, calls) = start().await;
    let list = stateless(1, "tools/list", json!({}));
    let names = |body: &Value| -> Vec<String> {
        body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let reader = [
        MODERN,
        ("mcp-method", "tools/list"),
        ("authorization", "Bearer reader-key-0123456789"),
    ];
    let (_, _, body) = send(addr, "POST", "/mcp", &reader, list.clone()).await;
    assert_eq!(names(&body), ["echo", "tenant"]);
    let writer = [
        MODERN,
        ("mcp-method", "tools/list"),
        ("authorization", "Bearer writer-key-0123456789"),
    ];
    let (_, _, body) = send(addr, "POST", "/mcp", &writer, list).await;
    assert_eq!(names(&body), ["echo", "tenant", "write"]);

    let call = stateless(
        2,
        "tools/call",
        json!({"name": "write", "arguments": {"text": "x"}}),
    );
    let reader = [
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "write"),
        ("authorization", "Bearer reader-key-0123456789"),
    ];
    let (status, headers, body) = send(addr, "POST", "/mcp", &reader, call.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(
        headers["www-authenticate"],
        r#"Bearer error="insufficient_scope", scope="notes:write""#
    );
    assert_eq!(
        body["error"]["data"]["requiredScopes"],
        json!(["notes:write"])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let writer = [
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "write"),
        ("authorization", "Bearer writer-key-0123456789"),
    ];
    let (status, _, body) = send(addr, "POST", "/mcp", &writer, call).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "wrote x");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_session_belongs_to_the_principal_that_opened_it() {
    let (addr, calls) = start().await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let writer = ("authorization", "Bearer writer-key-0123456789");
    let (status, headers, _) = send(addr, "POST", "/mcp", &[writer], init.to_string()).await;
    assert_eq!(status, 200);
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}}).to_string();

    // Another principal with a stolen session id sees no such session.
    let reader = ("authorization", "Bearer reader-key-0123456789");
    let (status, _, _) = send(
        addr,
        "POST",
        "/mcp",
        &[reader, ("mcp-session-id", &session)],
        call.clone(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = send(
        addr,
        "DELETE",
        "/mcp",
        &[reader, ("mcp-session-id", &session)],
        String::new(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let (status, _, body) = send(
        addr,
        "POST",
        "/mcp",
        &[writer, ("mcp-session-id", &session)],
        call,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "x (from writer)");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_per_caller() {
    use mcp_server::limit::{Quota, RateLimit};
    let calls = Arc::new(AtomicUsize::new(0));
    let server = Server::builder()
        .definition(Notes {
            calls: Arc::clone(&calls),
        })
        .rate_limit(
            RateLimit::per_caller(Quota::per_minute(60).burst(2))
                .tool("write", Quota::per_minute(1)),
        )
        .build();
    let keys = ApiKeys::new()
        .key("reader", "reader-key-0123456789", ["notes:read"])
        .key(
            "writer",
            "writer-key-0123456789",
            ["notes:read", "notes:write"],
        );
    let http = HttpServer::bind(
        server,
        "127.0.0.1:0",
        HttpConfig::default().authenticator(keys),
    )
    .await
    .unwrap();
    let addr = http.local_addr();
    tokio::spawn(http.serve_until(std::future::pending()));

    let echo = stateless(
        1,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "x"}}),
    );
    let reader = [
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
        ("authorization", "Bearer reader-key-0123456789"),
    ];
    for _ in 0..2 {
        let (status, _, _) = send(addr, "POST", "/mcp", &reader, echo.clone()).await;
        assert_eq!(status, 200);
    }
    let (status, headers, body) = send(addr, "POST", "/mcp", &reader, echo.clone()).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"]["code"], -32011);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the refused call never ran"
    );

    // Another principal has its own budget; a tool can have a stricter one.
    let write = stateless(
        2,
        "tools/call",
        json!({"name": "write", "arguments": {"text": "x"}}),
    );
    let writer = [
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "write"),
        ("authorization", "Bearer writer-key-0123456789"),
    ];
    let (status, _, _) = send(addr, "POST", "/mcp", &writer, write.clone()).await;
    assert_eq!(status, 200);
    let (status, headers, _) = send(addr, "POST", "/mcp", &writer, write).await;
    assert_eq!(status, 429);
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 50
    );
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let (addr, _) = start().await;
    let echo = stateless(
        1,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "x"}}),
    );
    let reader = [
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
        ("authorization", "Bearer reader-key-0123456789"),
    ];
    for _ in 0..2 {
        assert_eq!(
            send(addr, "POST", "/mcp", &reader, echo.clone()).await.0,
            200
        );
    }
    let write = stateless(
        2,
        "tools/call",
        json!({"name": "write", "arguments": {"text": "x"}}),
    );
    let refused = [
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "write"),
        ("authorization", "Bearer reader-key-0123456789"),
    ];
    assert_eq!(send(addr, "POST", "/mcp", &refused, write).await.0, 403);
    assert_eq!(send(addr, "POST", "/mcp", &[MODERN], echo).await.0, 401);

    // /metrics is open by default, like the probes.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/metrics")
        .header("host", "10.0.0.7:9090")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
    };
    assert_eq!(
        value(r#"mcp_tool_calls_total{tool="echo",outcome="ok"}"#),
        2.0
    );
    assert_eq!(
        value(r#"mcp_tool_calls_total{tool="write",outcome="error"}"#),
        1.0
    );
    assert_eq!(
        value(r#"mcp_requests_total{method="tools/call",outcome="ok"}"#),
        2.0
    );
    assert_eq!(value("mcp_auth_failures_total"), 1.0);
    assert_eq!(
        value(r#"mcp_request_duration_seconds_count{method="tools/call"}"#),
        3.0
    );
    assert_eq!(value("mcp_sessions"), 0.0);
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn tenants_come_from_the_key_or_the_trusted_header() {
    let keys =
        ApiKeys::parse("ops@acme:acme-key-0123456789:notes:read, staff:staff-key-0123456789")
            .unwrap();
    let (addr, calls) = start_with(
        HttpConfig::default()
            .authenticator(keys)
            .tenant_header("X-Tenant-Id"),
    )
    .await;
    let call = stateless(1, "tools/call", json!({"name": "tenant", "arguments": {}}));
    let routing = [MODERN, ("mcp-method", "tools/call"), ("mcp-name", "tenant")];
    let tenant_of = |headers: &'static [(&'static str, &'static str)]| {
        let mut all = routing.to_vec();
        all.extend_from_slice(headers);
        let call = call.clone();
        async move { send(addr, "POST", "/mcp", &all, call).await }
    };

    let (status, _, body) = tenant_of(&[("x-api-key", "acme-key-0123456789")]).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "acme");
    // A key without a tenant takes the gateway's.
    let (_, _, body) = tenant_of(&[
        ("x-api-key", "staff-key-0123456789"),
        ("x-tenant-id", "globex"),
    ])
    .await;
    assert_eq!(body["result"]["content"][0]["text"], "globex");
    let (_, _, body) = tenant_of(&[("x-api-key", "staff-key-0123456789")]).await;
    assert_eq!(body["result"]["content"][0]["text"], "none");
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // A tenant key cannot be pointed at another tenant, and the header
    // never stands in for credentials.
    let (status, _, body) = tenant_of(&[
        ("x-api-key", "acme-key-0123456789"),
        ("x-tenant-id", "globex"),
    ])
    .await;
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another tenant")
    );
    let (status, _, _) = tenant_of(&[("x-tenant-id", "globex")]).await;
    assert_eq!(status, 401);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "refused calls reach no handler"
    );

    // Without an authenticator the gateway's header is the tenant.
    let (addr, _) = start_with(HttpConfig::default().tenant_header("X-Tenant-Id")).await;
    let mut headers = routing.to_vec();
    headers.push(("x-tenant-id", "initech"));
    let (_, _, body) = send(addr, "POST", "/mcp", &headers, call.clone()).await;
    assert_eq!(body["result"]["content"][0]["text"], "initech");
    headers.pop();
    headers.push(("x-tenant-id", ""));
    let (status, _, _) = send(addr, "POST", "/mcp", &headers, call).await;
    assert_eq!(status, 400);
}
