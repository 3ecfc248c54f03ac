//! The REST API and MCP share one router and one store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

async fn start() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum_embed::app(axum_embed::Notes::default()))
            .await
            .unwrap();
    });
    addr
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (u16, hyper::HeaderMap, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json, text/event-stream");

#[tokio::test]
async fn rest_and_mcp_share_the_app() {
    let addr = start().await;

    let (status, _, _) = send(addr, "POST", "/api/notes", &[], "from the web".into()).await;
    assert_eq!(status, 201);

    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let (status, headers, _) = send(addr, "POST", "/mcp", &[JSON, ACCEPT], init.to_string()).await;
    assert_eq!(status, 200);
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let with_session = [JSON, ACCEPT, ("mcp-session-id", session.as_str())];

    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"from the model"}}});
    let (status, _, body) = send(addr, "POST", "/mcp", &with_session, call.to_string()).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["result"]["content"][0]["text"],
        "saved; 2 notes in all"
    );

    let (_, _, body) = send(addr, "GET", "/api/notes", &[], String::new()).await;
    assert_eq!(body, r#"["from the web","from the model"]"#);

    // A 2026-07-28 client needs no session.
    let list = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_notes",
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let (status, _, body) = send(
        addr,
        "POST",
        "/mcp",
        &[
            JSON,
            ACCEPT,
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "list_notes"),
        ],
        list.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["notes"],
        json!(["from the web", "from the model"])
    );

    // The app's own 404 handling is untouched; MCP's protections still apply.
    let (status, _, _) = send(addr, "GET", "/elsewhere", &[], String::new()).await;
    assert_eq!(status, 404);
    let (status, _, _) = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("origin", "https://evil.example.com")],
        init.to_string(),
    )
    .await;
    assert_eq!(status, 403);
}

/// Reads a streamed body until its first complete SSE event.
async fn first_event(body: &mut hyper::body::Incoming) -> String {
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !buffer.contains("\n\n") {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("the first event within 10 s")
            .expect("the stream stays open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buffer.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
    buffer
}

#[tokio::test]
async fn requests_pass_through_the_apps_layers_and_mcp_mounted_once() {
    let addr = start().await;

    // Streamable HTTP under the prefix: initialize, then a tool call, each
    // answered through the app's request-id layer.
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let (status, headers, _) = send(addr, "POST", "/mcp", &[JSON, ACCEPT], init.to_string()).await;
    assert_eq!(status, 200);
    let first_id: u64 = headers[axum_embed::REQUEST_ID]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let with_session = [JSON, ACCEPT, ("mcp-session-id", session.as_str())];
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"layered"}}});
    let (status, headers, body) =
        send(addr, "POST", "/mcp/", &with_session, call.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let second_id: u64 = headers[axum_embed::REQUEST_ID]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(second_id > first_id);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["result"]["content"][0]["text"],
        "saved; 1 notes in all"
    );
    // MCP's own hardening headers still come with its answers.
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // The legacy transport under the same prefix: the endpoint event names
    // the mounted path, and a POST there reaches the stream's session.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/mcp/sse")
        .header("host", addr.to_string())
        .header("accept", "text/event-stream")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key(axum_embed::REQUEST_ID));
    let mut events = response.into_body();
    let event = first_event(&mut events).await;
    assert!(event.starts_with("event: endpoint\n"), "{event}");
    let endpoint = event
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap()
        .to_owned();
    assert!(
        endpoint.starts_with("/mcp/messages?session_id="),
        "{endpoint}"
    );
    let (status, headers, _) = send(addr, "POST", &endpoint, &[JSON], init.to_string()).await;
    assert_eq!(status, 202);
    assert!(headers.contains_key(axum_embed::REQUEST_ID));
    let answer = first_event(&mut events).await;
    assert!(answer.contains(r#""protocolVersion""#), "{answer}");

    // Probes live under the prefix too; the app's root stays the app's.
    let (status, _, body) = send(addr, "GET", "/mcp/health", &[], String::new()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = send(addr, "GET", "/health", &[], String::new()).await;
    assert_eq!(status, 404);
    let (status, _, _) = send(addr, "GET", "/sse", &[ACCEPT], String::new()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn mcps_host_check_taken_as_a_layer_guards_the_rest_api_too() {
    let addr = start().await;
    // A page that rebinds its own name to 127.0.0.1 reaches neither side.
    let rebound = [("host", "evil.example.com")];
    let (status, headers, body) = send_as(addr, "GET", "/api/notes", &rebound).await;
    assert_eq!(status, 403, "{body}");
    assert!(headers.contains_key(axum_embed::REQUEST_ID));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["error"]["message"],
        "forbidden: host `evil.example.com` is not allowed"
    );
    let (status, _, _) = send_as(addr, "POST", "/mcp", &rebound).await;
    assert_eq!(status, 403);

    // Allowed by configuration, the name passes both.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let allowed = listener.local_addr().unwrap();
    let config =
        mcp_server::transport::http::HttpConfig::default().allowed_hosts(["notes.example.com"]);
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum_embed::app_with(axum_embed::Notes::default(), config),
        )
        .await
        .unwrap();
    });
    let named = [("host", "notes.example.com")];
    let (status, _, body) = send_as(allowed, "GET", "/api/notes", &named).await;
    assert_eq!((status, body.as_str()), (200, "[]"));
}

/// Sends a bodiless request with exactly these headers (no default Host).
async fn send_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, hyper::HeaderMap, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}
