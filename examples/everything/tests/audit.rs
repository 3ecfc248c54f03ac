//! The audit log against the real `everything` binary: every request that
//! reaches the server leaves exactly one record, whatever its outcome
//! (answered, tool error, error, refused for its credential or a limit,
//! timed out, cancelled, abandoned, stopped by SIGTERM), and the records of
//! requests stopped by the shutdown are written before the process exits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Child;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

#[path = "support/process.rs"]
mod process;
use process::spawn_everything;

const KEY: &str = "alice-key-0123456789";
/// Longer than the test's stopped calls take to stop, short enough to wait
/// for once.
const TOOL_TIMEOUT: &str = "4s";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_leaves_one_record_whatever_its_outcome_sigterm_included() {
    let dir = std::env::temp_dir().join(format!("everything-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&log);
    let mut server = Everything::start(&log);
    let addr = server.addr;
    let mut expected: Vec<(&str, Option<&str>)> = Vec::new();

    // Refused before the router: no key, a wrong key, a foreign Origin.
    let status = post(addr, &[], &initialize(1)).await.0;
    assert_eq!(status, 401);
    expected.push(("denied", None));
    let status = post(
        addr,
        &[("x-api-key", "wrong-key-0123456789")],
        &initialize(1),
    )
    .await
    .0;
    assert_eq!(status, 401);
    expected.push(("denied", None));
    let status = post(
        addr,
        &[("x-api-key", KEY), ("origin", "https://evil.example")],
        &initialize(1),
    )
    .await
    .0;
    assert_eq!(status, 403);
    expected.push(("denied", None));

    // A session: answered, tool error, error, rate limited, malformed.
    let (status, headers, _) = post(addr, &[("x-api-key", KEY)], &initialize(1)).await;
    assert_eq!(status, 200);
    expected.push(("ok", Some("initialize")));
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let auth = [("x-api-key", KEY), ("mcp-session-id", session.as_str())];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(addr, &auth, &initialized).await.0, 202);
    post(addr, &auth, &request(2, "tools/list", json!({}))).await;
    expected.push(("ok", Some("tools/list")));
    for id in 3..6 {
        post(addr, &auth, &call(id, "test_simple_text", json!({}))).await;
    }
    // The tool's quota is two a minute.
    expected.extend([("ok", Some("tools/call")), ("ok", Some("tools/call"))]);
    expected.push(("rate_limited", Some("tools/call")));
    post(addr, &auth, &call(6, "test_error_handling", json!({}))).await;
    expected.push(("tool_error", Some("tools/call")));
    post(addr, &auth, &call(7, "no_such_tool", json!({}))).await;
    expected.push(("error", Some("tools/call")));
    let (status, _, _) = post_raw(addr, &auth, "{not json").await;
    assert_eq!(status, 400);
    expected.push(("error", None));

    // Timed out at the tool time limit, while the rest goes on.
    let slow = json!({"seconds": 60.0});
    let timed_out = tokio::spawn({
        let auth = owned(&auth);
        let slow = slow.clone();
        async move { post(addr, &borrowed(&auth), &call(8, "slow_compute", slow)).await }
    });
    expected.push(("timeout", Some("tools/call")));

    // Cancelled by the client.
    let cancelled = tokio::spawn({
        let auth = owned(&auth);
        let slow = slow.clone();
        async move { post(addr, &borrowed(&auth), &call(9, "slow_compute", slow)).await }
    });
    server.until_active(2).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 9, "reason": "changed my mind"}});
    assert_eq!(post(addr, &auth, &cancel).await.0, 202);
    cancelled.await.unwrap();
    expected.push(("cancelled", Some("tools/call")));

    // Abandoned: a 2026-07-28 client that closes its connection cancels.
    server.until_active(1).await;
    let body = stateless_call(10, "slow_compute", slow.clone()).to_string();
    let mut abandoned = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nx-api-key: {KEY}\r\n\
         mcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\nmcp-name: slow_compute\r\n\
         content-length: {}\r\n\r\n{body}",
        addr.port(),
        body.len()
    );
    abandoned.write_all(head.as_bytes()).await.unwrap();
    server.until_active(2).await;
    drop(abandoned);
    expected.push(("cancelled", Some("tools/call")));
    server.until_active(1).await;
    let (_, _, answer) = timed_out.await.unwrap();
    assert_eq!(answer["result"]["isError"], true, "{answer}");

    // Stopped by SIGTERM: the deadline answers it, the record says so.
    server.until_active(0).await;
    let stopped = tokio::spawn({
        let auth = owned(&auth);
        async move { post(addr, &borrowed(&auth), &call(11, "slow_compute", slow)).await }
    });
    server.until_active(1).await;
    server.terminate();
    let (_, _, answer) = stopped.await.unwrap();
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("server shutting down"), "{answer}");
    expected.push(("shutdown", Some("tools/call")));
    assert!(
        server.wait().success(),
        "the server exits cleanly on SIGTERM"
    );

    let records: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let seen = tally(records.iter().map(|r| {
        (
            r["outcome"].as_str().unwrap().to_owned(),
            r["method"].as_str().map(str::to_owned),
        )
    }));
    let wanted = tally(
        expected
            .iter()
            .map(|(o, m)| ((*o).to_owned(), m.map(str::to_owned))),
    );
    assert_eq!(seen, wanted, "records: {records:#?}");
    for record in &records {
        // Typed fields, and the identity of whoever got past the key check.
        assert!(record["duration_ms"].is_number(), "{record}");
        if record["outcome"] != "denied" {
            assert_eq!(record["principal"], "alice", "{record}");
            assert_eq!(record["tenant"], "acme", "{record}");
        }
        if record["method"] == "tools/call" {
            assert!(record["request_id"].is_number(), "{record}");
        }
        if record["target"] == "slow_compute" {
            assert_eq!(record["read_only"], true, "{record}");
            assert_eq!(record["arguments_sha256"].as_str().unwrap().len(), 64);
        }
        if record["method"].is_null() {
            assert!(record["http_status"].is_number(), "{record}");
        }
    }
    let stopped = records.iter().find(|r| r["outcome"] == "shutdown").unwrap();
    assert_eq!(stopped["request_id"], 11);
    let cancelled = records.iter().find(|r| r["request_id"] == 9).unwrap();
    assert_eq!(cancelled["outcome"], "cancelled");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tally(
    items: impl Iterator<Item = (String, Option<String>)>,
) -> BTreeMap<(String, Option<String>), usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    counts
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn borrowed(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn initialize(id: u64) -> Value {
    request(
        id,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "audit-test", "version": "1"}}),
    )
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

fn stateless_call(id: u64, tool: &str, arguments: Value) -> Value {
    request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }}),
    )
}

async fn post(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, hyper::HeaderMap, Value) {
    post_raw(addr, headers, &body.to_string()).await
}

/// One POST on its own connection: the status, the headers, and the JSON
/// answer (from a JSON body or the SSE event that carries it; null if none).
async fn post_raw(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, hyper::HeaderMap, Value) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::post("/mcp")
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(
            request
                .body(Full::new(Bytes::from(body.to_owned())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let answer = serde_json::from_str(&text).unwrap_or_else(|_| {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|m| m.get("id").is_some())
            .unwrap_or(Value::Null)
    });
    (status, headers, answer)
}

struct Everything {
    child: Child,
    addr: SocketAddr,
}

impl Everything {
    fn start(log: &std::path::Path) -> Self {
        let keys = format!("alice@acme:{KEY}");
        let (child, addr) = spawn_everything(&[
            ("MCP_AUDIT_FILE", log.to_str().expect("a UTF-8 path")),
            ("MCP_API_KEYS", &keys),
            ("MCP_RATE_LIMIT", "1000/min"),
            ("MCP_TOOL_RATE_LIMITS", "test_simple_text=2/min"),
            ("MCP_TOOL_TIMEOUT", TOOL_TIMEOUT),
            ("MCP_SHUTDOWN_GRACE", "0"),
            ("MCP_SHUTDOWN_DEADLINE", "300ms"),
        ]);
        Self { child, addr }
    }

    /// Polls `/diagnostics` until `n` requests are running.
    async fn until_active(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let active = self.active().await;
            if active == Some(n) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {n} requests running; {active:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn active(&self) -> Option<u64> {
        let stream = TcpStream::connect(self.addr).await.ok()?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(connection);
        let request = hyper::Request::get("/diagnostics")
            .header("host", format!("127.0.0.1:{}", self.addr.port()))
            .header("x-api-key", KEY)
            .body(Full::new(Bytes::new()))
            .ok()?;
        let response = sender.send_request(request).await.ok()?;
        let bytes = response.into_body().collect().await.ok()?.to_bytes();
        let diagnostics: Value = serde_json::from_slice(&bytes).ok()?;
        diagnostics["load"]["activeRequests"].as_u64()
    }

    fn terminate(&self) {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Everything {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
