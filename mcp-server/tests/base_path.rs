//! A configured base path on plain hyper (`HttpServer`): every endpoint
//! lives under it, the legacy `endpoint` event names it, and nothing
//! answers outside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_server::prelude::*;
use mcp_server::transport::http::{HttpConfig, HttpServer};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Say hello.
#[mcp_tool]
async fn hello() -> &'static str {
    "hello"
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
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
    let body = Full::new(Bytes::from(body.to_owned()));
    sender
        .send_request(request.body(body).unwrap())
        .await
        .unwrap()
}

async fn json_of(response: hyper::Response<Incoming>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// The next SSE event of a stream: its name and data.
async fn next_event(body: &mut Incoming, buffer: &mut String) -> (String, String) {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in event.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !data.is_empty() || !name.is_empty() {
                return (name, data);
            }
            continue;
        }
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an SSE event in time")
            .expect("the stream is open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buffer.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
}

#[tokio::test]
async fn every_endpoint_lives_under_the_base_path() {
    let server = Server::builder().tool(hello::tool()).build();
    let config = HttpConfig::default()
        .base_path("/api/mcp/")
        .shutdown_grace(Duration::ZERO);
    let http = HttpServer::bind(server, "127.0.0.1:0", config)
        .await
        .unwrap();
    let addr = http.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        http.serve_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });

    // Streamable HTTP at the prefix, stateless.
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "hello",
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }})
    .to_string();
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "hello"),
    ];
    let response = send(addr, "POST", "/api/mcp", &headers, &call).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_of(response).await["result"]["content"][0]["text"],
        "hello"
    );
    // The configured path alone is outside the prefix now.
    let response = send(addr, "POST", "/mcp", &headers, &call).await;
    assert_eq!(response.status(), 404);
    for (path, status) in [
        ("/api/mcp/health", 200),
        ("/api/mcp/ready", 200),
        ("/health", 404),
        ("/api/mcpx/health", 404),
        ("/", 404),
    ] {
        let response = send(addr, "GET", path, &[], "").await;
        assert_eq!(response.status(), status, "{path}");
    }

    // The legacy stream names the messages endpoint under the prefix, and
    // a message posted there is answered on the stream.
    let response = send(
        addr,
        "GET",
        "/api/mcp/sse",
        &[("accept", "text/event-stream")],
        "",
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut buffer = String::new();
    let (name, endpoint) = next_event(&mut body, &mut buffer).await;
    assert_eq!(name, "endpoint");
    assert!(
        endpoint.starts_with("/api/mcp/messages?session_id="),
        "{endpoint}"
    );
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }})
    .to_string();
    let posted = send(
        addr,
        "POST",
        &endpoint,
        &[("content-type", "application/json")],
        &initialize,
    )
    .await;
    assert_eq!(posted.status(), 202);
    let (_, answer) = next_event(&mut body, &mut buffer).await;
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["protocolVersion"], "2024-11-05");
    drop(body);

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(15), done)
        .await
        .unwrap()
        .unwrap();
}
