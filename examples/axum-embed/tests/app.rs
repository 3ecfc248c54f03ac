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
