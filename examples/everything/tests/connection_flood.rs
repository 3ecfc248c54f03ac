//! A flood of connections that never send a request, past the server's
//! connection limit (`MCP_MAX_CONNECTIONS`), against the real binary: the
//! flood churns through its own places while another client, from another
//! address, is served at once, and the server never holds more than its
//! limit of connections or file descriptors for them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::Child;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

#[path = "support/process.rs"]
mod process;
use process::spawn_everything;

const LIMIT: usize = 64;
const FLOOD: usize = 4 * LIMIT;

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Self {
        let (child, addr) = spawn_everything(&[
            ("MCP_MAX_CONNECTIONS", &LIMIT.to_string()),
            // Long enough that no silent connection times out meanwhile:
            // what frees places here is the limit's own policy.
            ("MCP_HEADER_TIMEOUT", "120s"),
        ]);
        Self { child, addr }
    }

    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map_or(0, Iterator::count)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// One request on a connection of its own from `from`, closed after the
/// answer: its status line and body.
async fn request_from(
    from: [u8; 4],
    addr: SocketAddr,
    method_path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (String, String) {
    let mut stream = connect_from(from, addr).await;
    let mut head = format!("{method_path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, body.to_owned())
}

/// The server's diagnostics document, asked from `from`.
async fn diagnostics(from: [u8; 4], addr: SocketAddr) -> Value {
    let (status, body) = request_from(from, addr, "GET /diagnostics", &[], "").await;
    assert!(status.contains("200"), "{status}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_connections_past_the_limit_locks_nobody_out() {
    let server = Server::start();
    let addr = server.addr;
    let config = diagnostics([127, 0, 0, 2], addr).await;
    assert_eq!(config["configuration"]["maxConnections"], LIMIT);
    let baseline_fds = server.open_fds();

    // Four times the limit, from one address, none sending a byte: each
    // beyond the limit takes the place of the flood's own oldest.
    let mut flood = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        flood.push(connect_from([127, 0, 0, 1], addr).await);
    }

    // Meanwhile a client from elsewhere calls a tool, served at once.
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{
        "name":"greet","arguments":{"name":"flood"},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                 "io.modelcontextprotocol/clientCapabilities":{}}}})
    .to_string();
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "greet"),
    ];
    for _ in 0..5 {
        let answered = tokio::time::timeout(
            Duration::from_secs(10),
            request_from([127, 0, 0, 3], addr, "POST /mcp", &headers, &call),
        )
        .await
        .expect("the client was locked out by the flood");
        assert!(answered.0.contains("200"), "{answered:?}");
        assert!(answered.1.contains("flood"), "{answered:?}");
    }

    // Never more than the limit open, nor their file descriptors.
    let load = diagnostics([127, 0, 0, 2], addr).await;
    let open = load["load"]["connections"].as_u64().unwrap();
    assert!(
        open <= LIMIT as u64,
        "{open} connections open, limit {LIMIT}"
    );
    let fds = server.open_fds();
    assert!(
        fds <= baseline_fds + LIMIT + 2,
        "{fds} file descriptors, {baseline_fds} before the flood"
    );
    // The flood's oldest connections were closed to make room.
    let mut closed = 0;
    for stream in &mut flood[..LIMIT] {
        let mut rest = Vec::new();
        if tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
            .await
            .is_ok()
        {
            closed += 1;
        }
    }
    assert_eq!(closed, LIMIT, "the flood's oldest connections stay open");
}
