//! The hello binary as a client sees it: a child process on real stdio.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// stderr, drained as it comes so the server never blocks on a full pipe.
    stderr: tokio::task::JoinHandle<String>,
}

impl Process {
    fn spawn() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hello"))
            .env("RUST_LOG", "debug")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the hello binary starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut pipe = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut text).await;
            text
        });
        Self {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    async fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next line on stdout, which must be one JSON-RPC message.
    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.stdout.next_line())
            .await
            .expect("an answer within 10 s")
            .unwrap()
            .expect("stdout still open");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carried a non-JSON line {line:?}: {e}"))
    }
}

#[tokio::test]
async fn protocol_errors_are_answered_and_the_server_keeps_serving() {
    let mut p = Process::spawn();

    p.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .await;
    let before_init = p.recv().await;
    assert_eq!(before_init["id"], 1);
    assert_eq!(before_init["error"]["code"], -32602);

    p.send(r#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#).await;
    assert_eq!(p.recv().await["result"]["protocolVersion"], "2025-06-18");
    p.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;

    p.send("garbage").await;
    let garbage = p.recv().await;
    assert_eq!(
        (garbage["id"].clone(), garbage["error"]["code"].clone()),
        (Value::Null, json!(-32700))
    );

    p.send(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add""#)
        .await;
    assert_eq!(p.recv().await["error"]["code"], -32700);

    p.send(r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":"x"}}}"#).await;
    let wrong = p.recv().await;
    assert_eq!(wrong["id"], 4);
    assert_eq!(wrong["result"]["isError"], true);
    assert!(
        wrong["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("`b`")
    );

    p.send(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"arguments":{}}}"#)
        .await;
    assert_eq!(p.recv().await["error"]["code"], -32602);

    p.send(r#"{"jsonrpc":"2.0","id":6,"method":"no/such/method"}"#)
        .await;
    assert_eq!(p.recv().await["error"]["code"], -32601);

    p.send(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":40,"b":2}}}"#).await;
    let ok = p.recv().await;
    assert_eq!(ok["id"], 7);
    assert_eq!(ok["result"]["content"][0]["text"], "42");

    // EOF on stdin: a clean exit, with the logs on stderr.
    let Process {
        mut child,
        stdin,
        stderr,
        ..
    } = p;
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let stderr = stderr.await.unwrap();
    assert!(stderr.contains("serving MCP on stdio"), "{stderr}");
}

#[tokio::test]
async fn stateless_requests_work_without_a_handshake() {
    let mut p = Process::spawn();
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let discover =
        json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}});
    p.send(&discover.to_string()).await;
    let result = p.recv().await;
    assert_eq!(result["result"]["resultType"], "complete");
    assert_eq!(result["result"]["supportedVersions"][0], "2026-07-28");

    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "greet", "arguments": {"name": "Ada"}, "_meta": meta}});
    p.send(&call.to_string()).await;
    let result = p.recv().await;
    assert_eq!(result["result"]["content"][0]["text"], "Hello, Ada!");
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "hello"
    );
}

/// Claude Desktop writes a server's stderr to `mcp-server-NAME.log`: colour
/// escape codes there are noise, so a pipe gets plain text.
#[tokio::test]
async fn logs_into_a_pipe_are_plain_text() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hello"))
        .env("RUST_LOG", "debug")
        .env_remove("NO_COLOR")
        .env_remove("LOG_FORMAT")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the hello binary starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#).await.unwrap();
    stdin.write_all(b"\n").await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the server exits within 10 s once stdin closes")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("serving MCP on stdio"), "{stderr}");
    assert!(
        !output.stderr.contains(&0x1b),
        "ANSI escape codes in piped logs: {stderr:?}"
    );
}
