//! Two hello processes sharing one Redis enforce one rate limit together:
//! what several replicas behind a load balancer need. Needs the Redis at
//! 127.0.0.1:6379 (or `TEST_REDIS_URL`) and fails loudly without it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

fn redis_addr() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Fails with a clear message when Redis is not there.
async fn require_redis() {
    let url = redis_addr();
    let host = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut stream = match TcpStream::connect(&host).await {
        Ok(stream) => stream,
        Err(e) => panic!("this test needs Redis at {url} (set TEST_REDIS_URL): {e}"),
    };
    stream.write_all(b"PING\r\n").await.unwrap();
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"+PONG\r\n", "{url} is not a Redis server");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn replica(port: u16, prefix: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hello"))
        .args(["--transport", "http", "--port", &port.to_string()])
        .env("MCP_RATE_LIMIT", "4/min")
        .env("MCP_TOOL_RATE_LIMITS", "word_stats=2/min")
        .env("REDIS_URL", redis_addr())
        .env("MCP_RATE_LIMIT_PREFIX", prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the hello binary starts")
}

/// One HTTP/1.1 exchange; the status and the JSON body.
async fn post(port: u16, path: &str, tool: &str, body: &Value) -> (u16, String, Value) {
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n\
         Mcp-Method: tools/call\r\nMcp-Name: {tool}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

async fn wait_ready(port: u16) {
    for _ in 0..200 {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await {
            let request = format!(
                "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
            );
            if stream.write_all(request.as_bytes()).await.is_ok() {
                let mut response = String::new();
                let _ = stream.read_to_string(&mut response).await;
                if response.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replica on port {port} did not become healthy");
}

fn call(id: u64, tool: &str, arguments: &Value) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {
            "name": tool, "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    })
}

#[tokio::test]
async fn two_replicas_sharing_redis_enforce_one_limit() {
    require_redis().await;
    // A fresh key prefix per run, so concurrent runs do not share limits.
    let prefix = format!(
        "test:hello:{}:{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let ports = [free_port(), free_port()];
    let _replicas = ports.map(|port| replica(port, &prefix));
    for port in ports {
        wait_ready(port).await;
    }

    // A per-tool limit of 2 is shared: one call on each replica uses it up.
    let stats = json!({"text": "one two"});
    assert_eq!(
        post(
            ports[0],
            "/mcp",
            "word_stats",
            &call(1, "word_stats", &stats)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            ports[1],
            "/mcp",
            "word_stats",
            &call(2, "word_stats", &stats)
        )
        .await
        .0,
        200
    );
    let (status, head, body) = post(
        ports[0],
        "/mcp",
        "word_stats",
        &call(3, "word_stats", &stats),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(head.contains("retry-after:"), "{head}");
    assert_eq!(body["error"]["code"], -32011);
    assert!(body["error"]["data"]["retryAfterSeconds"].as_u64().unwrap() >= 1);

    // The caller's limit of 4 counts calls on both replicas: two were
    // taken above (the refused one took nothing), two more pass, then
    // neither replica admits another.
    let add = json!({"a": 1, "b": 2});
    assert_eq!(
        post(ports[1], "/mcp", "add", &call(4, "add", &add)).await.0,
        200
    );
    let (status, _, body) = post(ports[0], "/mcp", "add", &call(5, "add", &add)).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "3", "{body}");
    for (id, port) in [(6, ports[0]), (7, ports[1])] {
        let (status, _, body) = post(port, "/mcp", "add", &call(id, "add", &add)).await;
        assert_eq!(status, 429, "replica {port}: {body}");
    }
}
