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
use mcp_server::transport::TransportArgs;
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
    start_with(HttpConfig::default().authenticator(two_keys())).await
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

/// Keys of three credentials: two of one identity (`ops` of tenant acme),
/// one with `notes:write` and one without, and `ops` of tenant globex.
fn tenant_keys() -> ApiKeys {
    ApiKeys::new()
        .tenant_key("ops", "acme", "acme-admin-key-0123456789", ["notes:write"])
        .tenant_key("ops", "acme", "acme-plain-key-0123456789", [""; 0])
        .tenant_key("ops", "globex", "globex-ops-key-0123456789", [""; 0])
}

const ACME_ADMIN: (&str, &str) = ("authorization", "Bearer acme-admin-key-0123456789");
const ACME_PLAIN: (&str, &str) = ("authorization", "Bearer acme-plain-key-0123456789");
const GLOBEX: (&str, &str) = ("authorization", "Bearer globex-ops-key-0123456789");

#[tokio::test]
async fn a_session_is_bound_to_the_whole_identity_and_each_request_acts_with_its_own_scopes() {
    let (addr, calls) = start_with(HttpConfig::default().authenticator(tenant_keys())).await;
    let (status, session) = open_as(addr, ACME_ADMIN).await;
    assert_eq!(status, 200);
    let session = session.unwrap();
    let call = |name: &str| {
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": name, "arguments": {"text": "x"}}})
        .to_string()
    };
    let on = |key| [key, ("mcp-session-id", session.as_str())];

    // The same principal id of another tenant sees no such session.
    for name in ["write", "tenant"] {
        let (status, _, _) = send(addr, "POST", "/mcp", &on(GLOBEX), call(name)).await;
        assert_eq!(status, 404, "{name}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // The same identity with a weaker credential keeps the session, but
    // not the scopes it was opened with.
    let (status, _, body) = send(addr, "POST", "/mcp", &on(ACME_PLAIN), call("write")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let (status, _, body) = send(addr, "POST", "/mcp", &on(ACME_PLAIN), call("tenant")).await;
    assert_eq!(
        (status, &body["result"]["content"][0]["text"]),
        (200, &json!("acme"))
    );
    let (status, _, body) = send(addr, "POST", "/mcp", &on(ACME_ADMIN), call("write")).await;
    assert_eq!(
        (status, &body["result"]["content"][0]["text"]),
        (200, &json!("wrote x"))
    );
}

/// The legacy SSE stream of `key`: its `/messages` path, and its events.
async fn open_legacy(
    addr: SocketAddr,
    key: (&str, &str),
) -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .uri("/sse")
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .header("accept", "text/event-stream")
        .header(key.0, key.1)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (endpoint_tx, endpoint_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut endpoint = Some(endpoint_tx);
        let mut buffer = String::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buffer.push_str(std::str::from_utf8(&data).unwrap());
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let data = event
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap_or("")
                    .to_owned();
                if event.contains("event: endpoint") {
                    if let Some(tx) = endpoint.take() {
                        let _ = tx.send(data);
                    }
                } else if let Ok(message) = serde_json::from_str(&data) {
                    let _ = tx.send(message);
                }
            }
        }
    });
    let path = endpoint_rx.await.unwrap();
    (path, rx)
}

#[tokio::test]
async fn legacy_messages_are_bound_to_the_identity_and_act_with_their_own_scopes() {
    let (addr, calls) = start_with(HttpConfig::default().authenticator(tenant_keys())).await;
    let (path, mut events) = open_legacy(addr, ACME_ADMIN).await;
    let post = async |key, body: Value| send(addr, "POST", &path, &[key], body.to_string()).await.0;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    assert_eq!(post(ACME_ADMIN, init).await, 202);
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer["id"], 1, "{answer}");
    let write = |id: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "write", "arguments": {"text": "x"}}})
    };

    // Another tenant's `ops` cannot post to the stream at all.
    assert_eq!(post(GLOBEX, write(2)).await, 404);
    // The same identity may, with its own (lesser) scopes.
    assert_eq!(post(ACME_PLAIN, write(3)).await, 202);
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refused["id"], 3, "{refused}");
    assert!(refused.get("error").is_some(), "{refused}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(post(ACME_ADMIN, write(4)).await, 202);
    let wrote = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wrote["result"]["content"][0]["text"], "wrote x", "{wrote}");
}

const READER: (&str, &str) = ("authorization", "Bearer reader-key-0123456789");
const WRITER: (&str, &str) = ("authorization", "Bearer writer-key-0123456789");

/// Sends `initialize` with `key`: the status and the session id, if any.
async fn open_as(addr: SocketAddr, key: (&str, &str)) -> (u16, Option<String>) {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let (status, headers, _) = send(addr, "POST", "/mcp", &[key], init.to_string()).await;
    let id = headers
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, id)
}

async fn ping_as(addr: SocketAddr, key: (&str, &str), session: &str) -> u16 {
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
    send(
        addr,
        "POST",
        "/mcp",
        &[key, ("mcp-session-id", session)],
        ping,
    )
    .await
    .0
}

fn two_keys() -> ApiKeys {
    ApiKeys::new()
        .key("reader", "reader-key-0123456789", ["notes:read"])
        .key(
            "writer",
            "writer-key-0123456789",
            ["notes:read", "notes:write"],
        )
}

#[tokio::test]
async fn a_session_flood_from_one_key_leaves_other_keys_working() {
    let (addr, _) = start_with(
        HttpConfig::default()
            .authenticator(two_keys())
            .max_sessions(10),
    )
    .await;
    let mut flood = Vec::new();
    for _ in 0..30 {
        if let (_, Some(id)) = open_as(addr, READER).await {
            flood.push(id);
        }
    }

    let (status, session) = open_as(addr, WRITER).await;
    assert_eq!(
        status, 200,
        "another key was locked out by a flood that filled the table"
    );
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}).to_string();
    let (status, _, body) = send(
        addr,
        "POST",
        "/mcp",
        &[WRITER, ("mcp-session-id", &session.unwrap())],
        call,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "hi (from writer)");

    // The flooding key recycled its own sessions, oldest first, and gave up
    // its least recently used one to the newcomer.
    assert_eq!(flood.len(), 30);
    assert_eq!(ping_as(addr, READER, &flood[0]).await, 404);
    assert_eq!(ping_as(addr, READER, &flood[20]).await, 404);
    assert_eq!(ping_as(addr, READER, &flood[21]).await, 200);
    assert_eq!(ping_as(addr, READER, &flood[29]).await, 200);
}

#[tokio::test]
async fn a_principal_at_its_cap_gives_up_its_own_least_recently_used_session() {
    let (addr, _) = start_with(
        HttpConfig::default()
            .authenticator(two_keys())
            .max_sessions_per_principal(3),
    )
    .await;
    let mut reader = Vec::new();
    for _ in 0..5 {
        let (status, id) = open_as(addr, READER).await;
        assert_eq!(status, 200);
        reader.push(id.unwrap());
    }
    assert_eq!(ping_as(addr, READER, &reader[0]).await, 404);
    assert_eq!(ping_as(addr, READER, &reader[1]).await, 404);
    // Used now, `reader[2]` outlives `reader[3]`.
    assert_eq!(ping_as(addr, READER, &reader[2]).await, 200);
    let (status, _) = open_as(addr, READER).await;
    assert_eq!(status, 200);
    assert_eq!(ping_as(addr, READER, &reader[3]).await, 404);
    assert_eq!(ping_as(addr, READER, &reader[2]).await, 200);

    // The other key has a cap of its own, untouched by the reader's.
    for _ in 0..3 {
        assert_eq!(open_as(addr, WRITER).await.0, 200);
    }
    assert_eq!(ping_as(addr, READER, &reader[4]).await, 200);
}

#[tokio::test]
async fn every_method_that_costs_work_is_metered_per_whole_identity() {
    use mcp_server::limit::{Quota, RateLimit};
    for method in [
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
    ] {
        // A server of its own per method, each with a fresh quota.
        let server = Server::builder()
            .definition(Notes {
                calls: Arc::default(),
            })
            .rate_limit(RateLimit::per_caller(Quota::per_minute(1).burst(2)))
            .build();
        let http = HttpServer::bind(
            server,
            "127.0.0.1:0",
            HttpConfig::default().authenticator(tenant_keys()),
        )
        .await
        .unwrap();
        let addr = http.local_addr();
        tokio::spawn(http.serve_until(std::future::pending()));
        let body = stateless(1, method, json!({}));
        let as_acme = [MODERN, ("mcp-method", method), ACME_ADMIN];
        let as_globex = [MODERN, ("mcp-method", method), GLOBEX];
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(send(addr, "POST", "/mcp", &as_acme, body.clone()).await.0);
        }
        // `ops` of another tenant is another caller, with its own quota.
        statuses.push(send(addr, "POST", "/mcp", &as_globex, body.clone()).await.0);
        assert_eq!(statuses, [200, 200, 429, 200], "{method}");
    }
}

#[tokio::test]
async fn anonymous_callers_behind_a_trusted_proxy_are_limited_by_their_own_address() {
    use mcp_server::limit::{Quota, RateLimit};
    async fn start(config: HttpConfig) -> SocketAddr {
        let server = Server::builder()
            .definition(Notes {
                calls: Arc::default(),
            })
            .rate_limit(RateLimit::per_caller(Quota::per_minute(1)))
            .build();
        let http = HttpServer::bind(server, "127.0.0.1:0", config)
            .await
            .unwrap();
        let addr = http.local_addr();
        tokio::spawn(http.serve_until(std::future::pending()));
        addr
    }
    let method = "tools/list";
    let body = stateless(1, method, json!({}));
    let from = |client| [MODERN, ("mcp-method", method), ("x-forwarded-for", client)];

    // This test's connections come from 127.0.0.1: the proxy.
    let behind =
        start(HttpConfig::default().trusted_proxies(["127.0.0.0/8".parse().unwrap()])).await;
    let mut statuses = Vec::new();
    for client in ["203.0.113.1", "203.0.113.2", "203.0.113.1"] {
        statuses.push(
            send(behind, "POST", "/mcp", &from(client), body.clone())
                .await
                .0,
        );
    }
    assert_eq!(statuses, [200, 200, 429], "one quota per forwarded client");

    // Not trusted: the header is the client's own word, and ignored.
    let direct = start(HttpConfig::default()).await;
    let mut statuses = Vec::new();
    for client in ["203.0.113.1", "203.0.113.2"] {
        statuses.push(
            send(direct, "POST", "/mcp", &from(client), body.clone())
                .await
                .0,
        );
    }
    assert_eq!(statuses, [200, 429], "a forged header buys no new quota");
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
    // Each tool's own latency, errors included.
    assert_eq!(
        value(r#"mcp_tool_call_duration_seconds_count{tool="echo"}"#),
        2.0
    );
    assert_eq!(
        value(r#"mcp_tool_call_duration_seconds_count{tool="write"}"#),
        1.0
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
    let (status, _, _) = send(addr, "POST", "/mcp", &headers, call.clone()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn behind_trusted_proxies_only_they_may_name_the_tenant() {
    let call = stateless(1, "tools/call", json!({"name": "tenant", "arguments": {}}));
    let mut headers = vec![MODERN, ("mcp-method", "tools/call"), ("mcp-name", "tenant")];
    headers.push(("x-tenant-id", "globex"));
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}})
    .to_string();
    let init_headers = [("x-tenant-id", "globex")];

    // The test connects from 127.0.0.1, which is not the gateway's network.
    let elsewhere: mcp_server::transport::http::Cidr = "10.0.0.0/8".parse().unwrap();
    let (addr, calls) = start_with(
        HttpConfig::default()
            .tenant_header("X-Tenant-Id")
            .trusted_proxies([elsewhere]),
    )
    .await;
    let (status, _, body) = send(addr, "POST", "/mcp", &headers, call.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("trusted proxy")
    );
    let (status, _, _) = send(addr, "POST", "/mcp", &init_headers, initialize.clone()).await;
    assert_eq!(
        status, 403,
        "a session cannot be opened for the tenant either"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Without the header the same peer is served, as nobody's tenant.
    headers.pop();
    let (status, _, body) = send(addr, "POST", "/mcp", &headers, call.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "none");

    // From the gateway's network, the header is the tenant.
    let loopback: mcp_server::transport::http::Cidr = "127.0.0.0/8".parse().unwrap();
    let (addr, _) = start_with(
        HttpConfig::default()
            .tenant_header("X-Tenant-Id")
            .trusted_proxies([loopback]),
    )
    .await;
    headers.push(("x-tenant-id", "globex"));
    let (status, _, body) = send(addr, "POST", "/mcp", &headers, call).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "globex");
    let (status, _, _) = send(addr, "POST", "/mcp", &init_headers, initialize).await;
    assert_eq!(status, 200);
}

mod oauth {
    //! OAuth access tokens from a real (local) authorization server that
    //! publishes its metadata and keys over HTTP.

    use std::sync::Mutex;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use hyper::service::service_fn;
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use mcp_server::auth::oauth::OAuthResourceServer;

    use super::*;

    const KEY_1: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUH4PfdA+TIodRGSe
j277XmUScRlY+fU+EYfPam8TN9+hRANCAARooKno2A4w1Lr4MGwf2NVcLNTR5Pi+
iHp0WAJwTrGrazZNO2nH67SmISutd/+qBMr+3nCE2aM1+N9frCl9eg0b
-----END PRIVATE KEY-----";
    const KEY_2: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgO/NS/5+dcT5WDatY
9VMlS3G7AvSHHZe4IH2nAQQwHqOhRANCAAQowPirn7zGlHXXZpSQeQ19tkcCnjUd
pyDogm9XAfb3eMewIrg/lSeV3Hwlwda+PPChXudV3pIqCvJ2nLy9Se7B
-----END PRIVATE KEY-----";

    fn signing_key(pem: &str) -> EncodingKey {
        EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()
    }

    fn public_jwk(pem: &str, kid: &str) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&signing_key(pem), Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        jwk
    }

    /// An authorization server: RFC 8414 metadata and a JWKS that tests
    /// can rotate, counting how often the keys are fetched.
    struct AuthServer {
        issuer: String,
        keys: Arc<Mutex<Vec<Jwk>>>,
        fetches: Arc<AtomicUsize>,
    }

    async fn auth_server(keys: Vec<Jwk>) -> AuthServer {
        auth_server_named(keys, "").await
    }

    /// An authorization server whose issuer identifier ends in `suffix`
    /// (`/` for Auth0's style); its metadata is at the well-known path
    /// without it.
    async fn auth_server_named(keys: Vec<Jwk>, suffix: &str) -> AuthServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = format!("{base}{suffix}");
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (state, count, named) = (Arc::clone(&keys), Arc::clone(&fetches), issuer.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (state, count, base, named) = (
                    Arc::clone(&state),
                    Arc::clone(&count),
                    base.clone(),
                    named.clone(),
                );
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let body = match request.uri().path() {
                        "/.well-known/oauth-authorization-server" => json!({
                            "issuer": named,
                            "jwks_uri": format!("{base}/jwks.json"),
                            "authorization_endpoint": format!("{base}/authorize"),
                            "token_endpoint": format!("{base}/token"),
                        })
                        .to_string(),
                        "/jwks.json" => {
                            count.fetch_add(1, Ordering::SeqCst);
                            let keys = state.lock().unwrap().clone();
                            serde_json::to_string(&JwkSet { keys }).unwrap()
                        }
                        _ => String::new(),
                    };
                    let status = if body.is_empty() { 404 } else { 200 };
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        AuthServer {
            issuer,
            keys,
            fetches,
        }
    }

    fn now() -> i64 {
        i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }

    fn token(pem: &str, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &signing_key(pem)).unwrap()
    }

    /// An MCP server that accepts the authorization server's tokens.
    async fn resource_server(
        issuer: &str,
        cooldown: Duration,
    ) -> (SocketAddr, Arc<AtomicUsize>, String) {
        // The resource URI names the port the server will get, so bind
        // first and build the configuration with the address.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let resource = format!("http://{addr}/mcp");
        let oauth = OAuthResourceServer::new(issuer, &resource)
            .unwrap()
            .scopes_supported(["notes:read", "notes:write"])
            .tenant_claim("org")
            .refresh_cooldown(cooldown);
        let calls = Arc::new(AtomicUsize::new(0));
        let http = HttpServer::bind(
            Notes {
                calls: Arc::clone(&calls),
            },
            &addr.to_string(),
            HttpConfig::default().authenticator(oauth),
        )
        .await
        .unwrap();
        tokio::spawn(http.serve_until(std::future::pending()));
        (addr, calls, resource)
    }

    fn claims(issuer: &str, audience: &str, scope: &str) -> Value {
        json!({
            "iss": issuer,
            "aud": audience,
            "sub": "user-42",
            "scope": scope,
            "org": "acme",
            "iat": now(),
            "exp": now() + 300,
        })
    }

    #[tokio::test]
    async fn bad_tokens_get_401_on_every_route_and_never_reach_a_handler() {
        let auth = auth_server(vec![public_jwk(KEY_1, "k1")]).await;
        let (addr, calls, resource) = resource_server(&auth.issuer, Duration::from_secs(5)).await;
        let metadata_url = format!("http://{addr}/.well-known/oauth-protected-resource/mcp");

        // RFC 9728: the metadata, at the path-suffixed and the bare URL.
        for path in [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ] {
            let (status, headers, doc) = send(addr, "GET", path, &[], String::new()).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(headers["content-type"], "application/json");
            assert_eq!(doc["resource"], resource.as_str());
            assert_eq!(doc["authorization_servers"], json!([auth.issuer]));
            assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
            assert_eq!(
                doc["scopes_supported"],
                json!(["notes:read", "notes:write"])
            );
        }

        let good = claims(&auth.issuer, &resource, "notes:read");
        let mut expired = good.clone();
        expired["exp"] = json!(now() - 120);
        let mut early = good.clone();
        early["nbf"] = json!(now() + 600);
        let mut foreign_audience = good.clone();
        foreign_audience["aud"] = json!("https://other.example.com/mcp");
        let mut foreign_issuer = good.clone();
        foreign_issuer["iss"] = json!("https://evil.example.com");
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &good,
            &EncodingKey::from_secret(b"guessable"),
        )
        .unwrap();
        let cases = [
            ("expired", token(KEY_1, "k1", &expired), "expired"),
            ("not yet valid", token(KEY_1, "k1", &early), "not valid yet"),
            (
                "audience",
                token(KEY_1, "k1", &foreign_audience),
                "another resource",
            ),
            (
                "issuer",
                token(KEY_1, "k1", &foreign_issuer),
                "another issuer",
            ),
            ("unknown key", token(KEY_2, "k1", &good), "signature"),
            ("HS256", hs256, "not accepted"),
            ("garbage", "not.a.jwt".to_owned(), "malformed"),
        ];
        let call = stateless(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        );
        let routing = [MODERN, ("mcp-method", "tools/call"), ("mcp-name", "echo")];
        for (what, token, why) in &cases {
            let bearer = format!("Bearer {token}");
            for (method, path) in [
                ("POST", "/mcp"),
                ("GET", "/sse"),
                ("POST", "/messages?session_id=x"),
            ] {
                let mut headers = routing.to_vec();
                headers.push(("authorization", &bearer));
                let (status, response, body) =
                    send(addr, method, path, &headers, call.clone()).await;
                assert_eq!(status, 401, "{what} on {method} {path}");
                let challenge = response["www-authenticate"].to_str().unwrap();
                assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
                assert!(
                    challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
                    "{challenge}"
                );
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains(why), "{what}: {message}");
            }
        }
        // No token at all: the challenge says where to get one.
        let (status, headers, _) = send(addr, "POST", "/mcp", &routing, call.clone()).await;
        assert_eq!(status, 401);
        assert_eq!(
            headers["www-authenticate"],
            format!(
                r#"Bearer realm="mcp", resource_metadata="{metadata_url}", scope="notes:read notes:write""#
            )
            .as_str()
        );
        // A token in X-API-Key is not a bearer token.
        let valid = token(KEY_1, "k1", &good);
        let mut headers = routing.to_vec();
        headers.push(("x-api-key", &valid));
        assert_eq!(
            send(addr, "POST", "/mcp", &headers, call.clone()).await.0,
            401
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0, "no handler ran");

        // A good token reaches the handler as its subject, with its tenant.
        let bearer = format!("Bearer {valid}");
        let mut headers = routing.to_vec();
        headers.push(("authorization", &bearer));
        let (status, _, body) = send(addr, "POST", "/mcp", &headers, call).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["content"][0]["text"], "hi (from user-42)");
        let tenant = stateless(2, "tools/call", json!({"name": "tenant", "arguments": {}}));
        let mut headers = vec![MODERN, ("mcp-method", "tools/call"), ("mcp-name", "tenant")];
        headers.push(("authorization", &bearer));
        let (_, _, body) = send(addr, "POST", "/mcp", &headers, tenant).await;
        assert_eq!(body["result"]["content"][0]["text"], "acme");

        // Without the scope a tool needs: 403 pointing at the metadata.
        let write = stateless(
            3,
            "tools/call",
            json!({"name": "write", "arguments": {"text": "x"}}),
        );
        let mut headers = vec![MODERN, ("mcp-method", "tools/call"), ("mcp-name", "write")];
        headers.push(("authorization", &bearer));
        let (status, response, _) = send(addr, "POST", "/mcp", &headers, write.clone()).await;
        assert_eq!(status, 403);
        assert_eq!(
            response["www-authenticate"],
            format!(
                r#"Bearer error="insufficient_scope", scope="notes:write", resource_metadata="{metadata_url}""#
            )
            .as_str()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // `scp` as a list works too.
        let mut writer = good.clone();
        writer["scope"] = Value::Null;
        writer["scp"] = json!(["notes:read", "notes:write"]);
        let bearer = format!("Bearer {}", token(KEY_1, "k1", &writer));
        headers.pop();
        headers.push(("authorization", &bearer));
        let (status, _, body) = send(addr, "POST", "/mcp", &headers, write).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(auth.fetches.load(Ordering::SeqCst), 1, "keys are cached");
    }

    #[tokio::test]
    async fn an_issuer_with_a_trailing_slash_is_compared_exactly() {
        let auth = auth_server_named(vec![public_jwk(KEY_1, "k1")], "/").await;
        assert!(auth.issuer.ends_with('/'));
        let (addr, _, resource) = resource_server(&auth.issuer, Duration::from_secs(5)).await;
        let (_, _, doc) = send(
            addr,
            "GET",
            "/.well-known/oauth-protected-resource",
            &[],
            String::new(),
        )
        .await;
        assert_eq!(doc["authorization_servers"], json!([auth.issuer]));

        let call = stateless(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        );
        let routing = [MODERN, ("mcp-method", "tools/call"), ("mcp-name", "echo")];
        let as_issued = token(KEY_1, "k1", &claims(&auth.issuer, &resource, ""));
        let trimmed = auth.issuer.trim_end_matches('/');
        let other_spelling = token(KEY_1, "k1", &claims(trimmed, &resource, ""));
        for (bearer, expected) in [(as_issued, 200), (other_spelling, 401)] {
            let bearer = format!("Bearer {bearer}");
            let mut headers = routing.to_vec();
            headers.push(("authorization", &bearer));
            let (status, _, body) = send(addr, "POST", "/mcp", &headers, call.clone()).await;
            assert_eq!(status, expected, "{body}");
        }

        // Configured without the slash, the metadata names another issuer:
        // the server says so instead of accepting look-alike tokens.
        let (addr, _, resource) = resource_server(trimmed, Duration::from_secs(5)).await;
        let bearer = format!(
            "Bearer {}",
            token(KEY_1, "k1", &claims(trimmed, &resource, ""))
        );
        let mut headers = routing.to_vec();
        headers.push(("authorization", &bearer));
        let (status, _, body) = send(addr, "POST", "/mcp", &headers, call).await;
        assert_eq!(status, 503, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("exactly as its metadata"), "{message}");
    }

    #[tokio::test]
    async fn rotated_keys_are_fetched_once_and_forged_ids_do_not_hammer_the_issuer() {
        let auth = auth_server(vec![public_jwk(KEY_1, "k1")]).await;
        let cooldown = Duration::from_millis(300);
        let (addr, calls, resource) = resource_server(&auth.issuer, cooldown).await;
        let call = stateless(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        );
        let status_with = |token: String| {
            let call = call.clone();
            async move {
                let bearer = format!("Bearer {token}");
                let headers = [
                    MODERN,
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "echo"),
                    ("authorization", bearer.as_str()),
                ];
                send(addr, "POST", "/mcp", &headers, call).await.0
            }
        };
        let good = claims(&auth.issuer, &resource, "");
        assert_eq!(status_with(token(KEY_1, "k1", &good)).await, 200);
        assert_eq!(auth.fetches.load(Ordering::SeqCst), 1);

        // The issuer rotates to a new key; the first token signed with it
        // makes the server fetch the keys again.
        *auth.keys.lock().unwrap() = vec![public_jwk(KEY_2, "k2")];
        tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
        assert_eq!(status_with(token(KEY_2, "k2", &good)).await, 200);
        assert_eq!(auth.fetches.load(Ordering::SeqCst), 2);
        assert_eq!(status_with(token(KEY_2, "k2", &good)).await, 200);
        assert_eq!(auth.fetches.load(Ordering::SeqCst), 2, "cached again");

        // The retired key no longer verifies, and a burst of forged key ids
        // costs at most one fetch per cooldown.
        for kid in ["k1", "forged-1", "forged-2", "forged-3", "forged-4"] {
            assert_eq!(status_with(token(KEY_1, kid, &good)).await, 401, "{kid}");
        }
        assert!(auth.fetches.load(Ordering::SeqCst) <= 3);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "only the good tokens' calls ran"
        );
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_503_not_401() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let (addr, calls, resource) = resource_server(&issuer, Duration::from_secs(5)).await;
        let bearer = format!(
            "Bearer {}",
            token(KEY_1, "k1", &claims(&issuer, &resource, ""))
        );
        let headers = [
            MODERN,
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
            ("authorization", bearer.as_str()),
        ];
        let call = stateless(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        );
        let (status, headers, _) = send(addr, "POST", "/mcp", &headers, call).await;
        assert_eq!(status, 503);
        assert!(headers.contains_key("retry-after"));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn diagnostics_need_credentials_and_hold_no_secrets() {
    let (addr, _) = start().await;
    let (status, _, _) = send(addr, "GET", "/diagnostics", &[], String::new()).await;
    assert_eq!(status, 401);
    let call = stateless(
        1,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    );
    let key = ("x-api-key", "reader-key-0123456789");
    let routing = [
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
        key,
    ];
    assert_eq!(send(addr, "POST", "/mcp", &routing, call).await.0, 200);

    let (status, headers, doc) = send(addr, "GET", "/diagnostics", &[key], String::new()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(doc["server"]["name"], "notes");
    assert!(doc["uptimeSeconds"].is_u64());
    assert_eq!(doc["revisions"]["requests"]["2026-07-28"], 1);
    assert_eq!(doc["revisions"]["requests"]["2024-11-05"], 0);
    assert_eq!(doc["revisions"]["supported"].as_array().unwrap().len(), 5);
    assert_eq!(doc["definitions"]["tools"], 3);
    assert_eq!(doc["configuration"]["authentication"]["enabled"], true);
    assert_eq!(doc["configuration"]["maxInFlightPerSession"], 64);
    let text = doc.to_string();
    assert!(
        !text.contains("reader-key") && !text.contains("writer-key"),
        "{text}"
    );

    // Without an authenticator, loopback clients may read it.
    let (addr, _) = start_with(HttpConfig::default()).await;
    let (status, _, doc) = send(addr, "GET", "/diagnostics", &[], String::new()).await;
    assert_eq!(status, 200);
    assert_eq!(doc["configuration"]["authentication"]["enabled"], false);

    // An embedding that does not say where a request came from gets 403.
    let service = mcp_server::transport::http::McpService::new(
        Notes {
            calls: Arc::default(),
        },
        HttpConfig::default(),
    );
    let request = hyper::Request::get("/diagnostics")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(service.handle(request).await.status(), 403);
}

/// `GET /metrics` on `addr` with these headers: the status.
async fn get_metrics(addr: SocketAddr, headers: &[(&str, &str)]) -> u16 {
    let (status, _, _) = send(addr, "GET", "/metrics", headers, String::new()).await;
    status
}

#[tokio::test]
async fn metrics_auth_from_the_environment_puts_metrics_behind_the_keys() {
    let env = |auth: &'static str| {
        move |name: &str| match name {
            "MCP_API_KEYS" => Some("scraper:scraper-key-0123456789".to_owned()),
            "MCP_METRICS_AUTH" => Some(auth.to_owned()),
            _ => None,
        }
    };
    let config = |auth| match TransportArgs::parse(["--port", "0"], env(auth)).unwrap() {
        TransportArgs::Http { config, .. } => config,
        other => panic!("http expected: {other:?}"),
    };

    let (addr, _) = start_with(config("true")).await;
    assert_eq!(get_metrics(addr, &[]).await, 401);
    assert_eq!(
        get_metrics(addr, &[("authorization", "Bearer wrong-key-0123456789")]).await,
        401
    );
    assert_eq!(
        get_metrics(addr, &[("authorization", "Bearer scraper-key-0123456789")]).await,
        200
    );
    assert_eq!(
        get_metrics(addr, &[("x-api-key", "scraper-key-0123456789")]).await,
        200
    );

    // Off (the library's default), the same keys leave /metrics open.
    let (addr, _) = start_with(config("false")).await;
    assert_eq!(get_metrics(addr, &[]).await, 200);
}
