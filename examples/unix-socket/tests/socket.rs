//! The unix-socket binary as clients see it: raw newline-delimited JSON-RPC
//! on real Unix socket connections, a client that leaves mid-request, a
//! second connection that keeps working, and a graceful SIGTERM.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, Command};

const DEADLINE: Duration = Duration::from_secs(15);

/// The server process, up once it logged that it serves.
struct Server {
    child: Child,
    socket: PathBuf,
    stderr: Lines<BufReader<tokio::process::ChildStderr>>,
}

impl Server {
    async fn start(name: &str) -> Self {
        let socket = std::env::temp_dir().join(format!("mcp-{}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let mut child = Command::new(env!("CARGO_BIN_EXE_unix-socket"))
            .env("MCP_SOCKET_PATH", &socket)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the unix-socket binary starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::time::timeout(DEADLINE, async {
            while let Some(line) = stderr.next_line().await.unwrap() {
                if line.contains("serving MCP on a Unix socket") {
                    return;
                }
            }
            panic!("the server exited before serving");
        })
        .await
        .expect("the server serves within the deadline");
        Self {
            child,
            socket,
            stderr,
        }
    }

    /// Sends SIGTERM and waits for the process to exit.
    async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().unwrap().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .expect("exits within the deadline")
            .unwrap();
        let mut rest = String::new();
        while let Some(line) = self.stderr.next_line().await.unwrap() {
            rest.push_str(&line);
            rest.push('\n');
        }
        (status, rest)
    }
}

struct Connection {
    lines: Lines<BufReader<OwnedReadHalf>>,
    writer: OwnedWriteHalf,
}

impl Connection {
    async fn open(socket: &Path) -> Self {
        let (reader, writer) = UnixStream::connect(socket).await.unwrap().into_split();
        Self {
            lines: BufReader::new(reader).lines(),
            writer,
        }
    }

    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await.unwrap();
    }

    /// The next message, or `None` once the server closed the connection.
    async fn recv(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(DEADLINE, self.lines.next_line())
            .await
            .expect("a message within the deadline")
            .unwrap()?;
        Some(serde_json::from_str(&line).unwrap())
    }

    async fn initialize(socket: &Path) -> Self {
        let mut connection = Self::open(socket).await;
        connection
            .send(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"}}}),
            )
            .await;
        let answer = connection.recv().await.unwrap();
        assert_eq!(answer["result"]["serverInfo"]["name"], "unix-socket");
        connection
            .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        connection
    }

    async fn call(&mut self, id: u64, tool: &str, arguments: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}))
            .await;
    }

    /// Pings and waits for the answer: every line sent before it has been
    /// read, so a request sent before is running.
    async fn ping(&mut self, id: u64) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "ping"}))
            .await;
        assert_eq!(self.recv().await.unwrap()["id"], id);
    }
}

fn text(answer: &Value) -> &str {
    answer["result"]["content"][0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn a_client_leaving_mid_request_does_not_disturb_another() {
    let server = Server::start("leave").await;
    let mut staying = Connection::initialize(&server.socket).await;
    let mut leaving = Connection::initialize(&server.socket).await;

    leaving.call(1, "wait", json!({"millis": 2000})).await;
    leaving.ping(2).await;
    // Gone with its request in flight, half a message written.
    leaving
        .writer
        .write_all(br#"{"jsonrpc":"2.0","#)
        .await
        .unwrap();
    drop(leaving);

    staying.call(1, "add", json!({"a": 2, "b": 3})).await;
    let answer = staying.recv().await.unwrap();
    assert_eq!((answer["id"].clone(), text(&answer)), (json!(1), "5"));
    // A new connection is a new session: it must initialize first.
    let mut fresh = Connection::open(&server.socket).await;
    fresh.call(7, "echo", json!({"text": "too early"})).await;
    let refused = fresh.recv().await.unwrap();
    assert_eq!(refused["id"], 7);
    assert!(refused["error"].is_object(), "{refused}");
    let mut fresh = Connection::initialize(&server.socket).await;
    fresh.call(8, "echo", json!({"text": "hi"})).await;
    assert_eq!(text(&fresh.recv().await.unwrap()), "hi");
    staying.call(2, "echo", json!({"text": "still here"})).await;
    assert_eq!(text(&staying.recv().await.unwrap()), "still here");

    let socket = server.socket.clone();
    let (status, _) = server.terminate().await;
    assert!(status.success(), "{status}");
    assert!(!socket.exists(), "the socket file is removed");
}

#[tokio::test]
async fn sigterm_answers_the_requests_in_flight_then_closes() {
    let server = Server::start("sigterm").await;
    let mut first = Connection::initialize(&server.socket).await;
    let mut second = Connection::initialize(&server.socket).await;
    first.call(1, "wait", json!({"millis": 500})).await;
    first.ping(2).await;
    second.call(1, "wait", json!({"millis": 300})).await;
    second.ping(2).await;

    let socket = server.socket.clone();
    let stopping = tokio::spawn(server.terminate());
    // Both requests in flight are answered, then each connection closes.
    for (connection, millis) in [(&mut first, 500), (&mut second, 300)] {
        let answer = connection.recv().await.unwrap();
        assert_eq!(answer["id"], 1);
        assert_eq!(text(&answer), format!("waited {millis} ms"));
        assert_eq!(connection.recv().await, None);
    }
    let (status, log) = stopping.await.unwrap();
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(!socket.exists());
    assert!(UnixStream::connect(&socket).await.is_err());
}

#[tokio::test]
async fn a_second_server_on_a_live_socket_fails() {
    let server = Server::start("busy").await;
    let output = Command::new(env!("CARGO_BIN_EXE_unix-socket"))
        .arg(&server.socket)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    // The first one still serves.
    let mut connection = Connection::initialize(&server.socket).await;
    connection.ping(1).await;
    let (status, _) = server.terminate().await;
    assert!(status.success());
}
