//! The Unix socket listener: each connection its own session, a stale
//! socket file replaced, a live one left alone, and a graceful shutdown.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use mcp_server::Server;
use mcp_server::transport::{Transport, UnixListener};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

const DEADLINE: Duration = Duration::from_secs(10);

fn socket_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mcp-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

struct Client {
    lines: tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>,
    writer: tokio::net::unix::OwnedWriteHalf,
}

impl Client {
    async fn connect(path: &PathBuf) -> Self {
        let (reader, writer) = UnixStream::connect(path).await.unwrap().into_split();
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

    async fn receive(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(DEADLINE, self.lines.next_line())
            .await
            .expect("an answer within the deadline")
            .unwrap()?;
        Some(serde_json::from_str(&line).unwrap())
    }

    async fn initialize(&mut self) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}}),
        )
        .await;
        let answer = self.receive().await.unwrap();
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        answer
    }
}

#[tokio::test]
async fn connections_are_sessions_and_shutdown_removes_the_socket() {
    let path = socket_path("sessions");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = UnixListener::bind(&path).unwrap().shutdown_on(async {
        let _ = stopped.await;
    });
    assert_eq!(listener.path(), path);
    let serving = tokio::spawn(listener.serve(Server::builder().build()));

    let mut first = Client::connect(&path).await;
    let mut second = Client::connect(&path).await;
    assert_eq!(first.initialize().await["id"], 0);
    // A second session initializes on its own, with another revision.
    second
        .send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2024-11-05", "capabilities": {},
            "clientInfo": {"name": "other", "version": "1"}}}),
        )
        .await;
    let answer = second.receive().await.unwrap();
    assert_eq!(answer["result"]["protocolVersion"], "2024-11-05");
    first
        .send(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(first.receive().await.unwrap()["id"], 1);

    // A client that leaves does not disturb the other.
    drop(first);
    second
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .await;
    assert_eq!(second.receive().await.unwrap()["id"], 2);

    // Shutting down closes the open connection and the socket file.
    stop.send(()).unwrap();
    assert_eq!(second.receive().await, None);
    tokio::time::timeout(DEADLINE, serving)
        .await
        .expect("stops within the deadline")
        .unwrap()
        .unwrap();
    assert!(!path.exists(), "the socket file is removed");
}

#[tokio::test]
async fn a_stale_socket_is_replaced_and_a_live_one_is_not() {
    let path = socket_path("stale");
    // A socket file whose listener is gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let listener = UnixListener::bind(&path).expect("a stale socket is replaced");

    let error = UnixListener::bind(&path).expect_err("a live socket stays");
    assert!(
        matches!(&error, mcp_server::ServerError::Io(e) if e.kind() == std::io::ErrorKind::AddrInUse),
        "{error}"
    );
    // A regular file is never removed.
    let file = socket_path("regular-file");
    std::fs::write(&file, "keep me").unwrap();
    assert!(UnixListener::bind(&file).is_err());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    std::fs::remove_file(&file).unwrap();

    // Dropping an unserved listener removes its socket file.
    drop(listener);
    assert!(!path.exists());
}
