//! Replicas of the `everything` binary sharing Redis, and a client for
//! them: raw HTTP/1.1 exchanges and SSE streams read event by event.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a replica counts as alive after its last heartbeat, here.
pub(crate) const LEASE: Duration = Duration::from_secs(2);
/// What the client may wait, at most, for an answer a dead replica owes:
/// the lease, the check period and the store's polling, with margin.
pub(crate) const ORPHAN_DEADLINE: Duration = Duration::from_secs(12);
pub(crate) const SESSION: &str = "2025-11-25";

pub(crate) fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub(crate) fn redis_host() -> String {
    redis_url()
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

pub(crate) async fn redis(command: &[&str]) -> Vec<u8> {
    let mut stream = TcpStream::connect(redis_host()).await.unwrap_or_else(|e| {
        panic!(
            "this test needs Redis at {} (set TEST_REDIS_URL): {e}",
            redis_url()
        )
    });
    let mut wire = format!("*{}\r\n", command.len());
    for part in command {
        wire.push_str(&format!("${}\r\n{part}\r\n", part.len()));
    }
    stream.write_all(wire.as_bytes()).await.unwrap();
    let mut reply = vec![0u8; 256];
    let n = stream.read(&mut reply).await.unwrap();
    reply.truncate(n);
    reply
}

/// Removes what a test left under `prefix`.
pub(crate) async fn cleanup(prefix: &str) {
    let script = "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n = n + 1 end return n";
    redis(&["EVAL", script, "0", &format!("{prefix}:*")]).await;
}

pub(crate) fn prefix(test: &str) -> String {
    format!("mcp-test:{test}:{}", std::process::id())
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) struct Replica {
    child: Child,
    pub(crate) port: u16,
}

impl Replica {
    pub(crate) async fn start(prefix: &str) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_everything"))
            .args(["--transport", "http", "--port", &port.to_string()])
            .env("REDIS_URL", redis_url())
            .env("MCP_STATE_PREFIX", format!("{prefix}:state"))
            .env("MCP_EVENT_PREFIX", format!("{prefix}:ev"))
            .env("MCP_REPLICA_LEASE", format!("{}ms", LEASE.as_millis()))
            .env("MCP_SHUTDOWN_GRACE", "0")
            .env("MCP_SHUTDOWN_DEADLINE", "10s")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the everything binary starts");
        let replica = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(response) = replica.send("GET", "/health", &[], "").await
                && response.status() == 200
            {
                return replica;
            }
            assert!(
                Instant::now() < deadline,
                "replica on {port} did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One request on a connection of its own; `None` when the exchange
    /// failed (no process listening, say).
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<hyper::Response<Incoming>> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).await.ok()?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        sender
            .send_request(
                request
                    .body(Full::new(Bytes::from(body.to_owned())))
                    .unwrap(),
            )
            .await
            .ok()
    }

    /// A POST of `message` on session `session`.
    pub(crate) async fn post(&self, session: &str, message: &Value) -> hyper::Response<Incoming> {
        self.send(
            "POST",
            "/mcp",
            &[
                ("mcp-session-id", session),
                ("mcp-protocol-version", SESSION),
            ],
            &message.to_string(),
        )
        .await
        .expect("the replica answers")
    }

    /// Opens a 2025-11-25 session that can elicit; its id.
    pub(crate) async fn session(&self) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": SESSION,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "replica-test", "version": "1"},
        }});
        let response = self
            .send("POST", "/mcp", &[], &init.to_string())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let _ = response.into_body().collect().await.unwrap();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(self.post(&id, &initialized).await.status(), 202);
        id
    }

    /// A stateless 2026-07-28 request from a client that supports tasks.
    pub(crate) async fn stateless(&self, method: &str, name: &str, params: Value) -> Value {
        let mut params = params;
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
        });
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = self
            .send(
                "POST",
                "/mcp",
                &[
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", method),
                    ("mcp-name", name),
                ],
                &body.to_string(),
            )
            .await
            .expect("the replica answers");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    pub(crate) fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// Waits for the process to exit, within `limit`; its status.
    pub(crate) async fn exited(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the replica did not exit in time"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One SSE event: its id, retry and data fields.
#[derive(Debug, Default)]
pub(crate) struct Event {
    pub(crate) id: Option<String>,
    pub(crate) retry: Option<u64>,
    pub(crate) data: String,
}

impl Event {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// Reads the SSE events of a response as they come.
pub(crate) struct Sse {
    body: Incoming,
    buf: String,
}

impl Sse {
    pub(crate) fn of(response: hyper::Response<Incoming>) -> Self {
        assert_eq!(response.status(), 200);
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Self {
            body: response.into_body(),
            buf: String::new(),
        }
    }

    /// The next event, `None` when the stream ended (or broke) first;
    /// panics after `limit`.
    pub(crate) async fn next(&mut self, limit: Duration) -> Option<Event> {
        tokio::time::timeout(limit, async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    let mut event = Event::default();
                    let mut data = Vec::new();
                    for line in block.lines() {
                        if let Some(id) = line.strip_prefix("id: ") {
                            event.id = Some(id.to_owned());
                        } else if let Some(retry) = line.strip_prefix("retry: ") {
                            event.retry = retry.parse().ok();
                        } else if let Some(value) = line.strip_prefix("data:") {
                            data.push(value.trim_start().to_owned());
                        }
                    }
                    event.data = data.join("\n");
                    // Keep-alive comments are not events.
                    if event.id.is_none() && event.retry.is_none() && event.data.is_empty() {
                        continue;
                    }
                    return Some(event);
                }
                match self.body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            self.buf.push_str(std::str::from_utf8(&data).unwrap());
                        }
                    }
                    Some(Err(_)) | None => return None,
                }
            }
        })
        .await
        .expect("no SSE event in time")
    }
}

pub(crate) fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

/// Resumes a stream on `replica` from `last_event_id`.
pub(crate) async fn resume(replica: &Replica, session: &str, last_event_id: &str) -> Sse {
    let response = replica
        .send(
            "GET",
            "/mcp",
            &[
                ("mcp-session-id", session),
                ("mcp-protocol-version", SESSION),
                ("last-event-id", last_event_id),
            ],
            "",
        )
        .await
        .expect("the replica answers");
    Sse::of(response)
}
