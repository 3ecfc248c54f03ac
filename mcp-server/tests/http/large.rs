//! Large calls over real sockets: many at once, on sessions and without,
//! each answered with its own arguments and audited once with their digest
//! as sent; a client that leaves mid-call leaves its record and nothing else;
//! a large body counts against the bodies' budget for as long as its call
//! runs, also after its client left the call's stream.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;

use mcp_server::audit::{AuditOutcome, AuditRecord, AuditSink, WriteFuture};

use super::*;

#[derive(Debug, Default, Clone)]
struct Records(Arc<Mutex<Vec<AuditRecord>>>);

impl AuditSink for Records {
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
        self.0.lock().unwrap().extend_from_slice(records);
        Box::pin(std::future::ready(Ok(())))
    }
}

struct Large;

#[mcp_server(name = "large", version = "1.0.0")]
impl Large {
    /// Echo a text.
    #[mcp_tool]
    async fn echo(
        &self,
        /** The text. */
        text: String,
    ) -> String {
        text
    }

    /// Wait `ms` milliseconds, then say how long the text was.
    #[mcp_tool]
    async fn hold(
        &self,
        /** The text. */
        text: String,
        /** How long to wait. */
        ms: u64,
    ) -> String {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        text.len().to_string()
    }
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// About `len` bytes of text unlike any other `n`'s, with characters that
/// JSON escapes and characters it does not.
fn text_of(n: usize, len: usize) -> String {
    let unit = format!("{n}: \"quoted\" \\ back\nslash 日本 \u{1} ");
    unit.repeat(len / unit.len())
}

/// `tools/call` of `echo` with `text`, the params' members in an order
/// that depends on `n`.
fn echo_params(n: usize, text: &str) -> Value {
    if n.is_multiple_of(2) {
        json!({"name": "echo", "arguments": {"text": text}})
    } else {
        json!({"arguments": {"text": text}, "name": "echo"})
    }
}

async fn tool_text(response: hyper::Response<Incoming>) -> String {
    let status = response.status();
    if status != 200 {
        panic!("{status}: {:.300}", text(response).await);
    }
    let answer = if content_type(&response).starts_with("text/event-stream") {
        read_events(response).await.pop().unwrap()
    } else {
        json_body(response).await
    };
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("not a text result: {answer:.300}"))
        .to_owned()
}

/// A server of [`Large`] whose audit records are kept, served over HTTP
/// with bodies of up to 4 MiB.
async fn start_audited() -> (Records, Server, Running) {
    let records = Records::default();
    let mcp = Server::builder()
        .definition(Large)
        .audit(records.clone())
        .build();
    let server = start_server(mcp.clone(), HttpConfig::default().max_body_bytes(4 << 20)).await;
    (records, mcp, server)
}

#[tokio::test]
async fn large_calls_at_once_are_each_answered_and_audited_with_their_own_arguments() {
    const CALLS: usize = 12;
    const LEN: usize = 700_000;
    let (records, mcp, server) = start_audited().await;
    let addr = server.addr;
    let session = initialize(addr, "2025-11-25").await;

    let texts: Vec<String> = (0..CALLS).map(|n| text_of(n, LEN)).collect();
    let mut sent = Vec::new();
    let mut calls = tokio::task::JoinSet::new();
    for (n, text) in texts.iter().enumerate() {
        let params = echo_params(n, text);
        sent.push(serde_json::to_string(&params["arguments"]).unwrap());
        let (body, version) = if n.is_multiple_of(3) {
            (stateless(n as u64, "tools/call", params), "2026-07-28")
        } else {
            let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": params});
            (body.to_string(), "2025-11-25")
        };
        let session = session.clone();
        calls.spawn(async move {
            let mut headers = vec![JSON, ACCEPT, ("mcp-protocol-version", version)];
            if version == "2025-11-25" {
                headers.push(("mcp-session-id", session.as_str()));
            } else {
                headers.extend([("mcp-method", "tools/call"), ("mcp-name", "echo")]);
            }
            let response = send(addr, "POST", "/mcp", &headers, body).await;
            (n, tool_text(response).await)
        });
    }
    while let Some(done) = calls.join_next().await {
        let (n, echoed) = done.unwrap();
        assert!(echoed == texts[n], "call {n} got another call's text back");
    }

    mcp.flush_audit().await;
    let records = records.0.lock().unwrap().clone();
    let mut digests: Vec<String> = records
        .iter()
        .filter(|r| r.method.as_deref() == Some("tools/call"))
        .map(|r| {
            assert_eq!(r.outcome, AuditOutcome::Ok);
            r.arguments_sha256.clone().unwrap()
        })
        .collect();
    let mut expected: Vec<String> = sent.iter().map(|s| sha256_hex(s)).collect();
    digests.sort();
    expected.sort();
    assert_eq!(digests, expected, "each call audited once, as sent");
    server.settles_to(1).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_leaves_mid_call_is_audited_once_and_leaves_nothing_behind() {
    let (records, mcp, server) = start_audited().await;
    let addr = server.addr;
    let long = text_of(7, 2_000_000);
    let arguments = json!({"text": long, "ms": 60_000});
    // The client sends the whole body and, once the call runs, goes away
    // before the answer: on 2026-07-28 that cancels the call (a session's
    // request would run on, its answer kept for the client to resume).
    let body = stateless(
        1,
        "tools/call",
        json!({"name": "hold", "arguments": arguments}),
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\n\
         accept: application/json\r\nmcp-protocol-version: 2026-07-28\r\n\
         mcp-method: tools/call\r\nmcp-name: hold\r\ncontent-length: {}\r\n\r\n",
        addr.port(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    for _ in 0..200 {
        if server.service.stats().active_requests == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(server.service.stats().active_requests, 1, "the call runs");
    drop(stream);
    server.settles_to(0).await;

    // The server still serves, a large call included.
    let small = text_of(8, 100_000);
    let body = stateless(
        2,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": small}}),
    );
    let headers = [
        JSON,
        ACCEPT,
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
    ];
    let response = send(addr, "POST", "/mcp", &headers, body).await;
    assert!(tool_text(response).await == small);

    mcp.flush_audit().await;
    let records = records.0.lock().unwrap().clone();
    let calls: Vec<&AuditRecord> = records
        .iter()
        .filter(|r| r.method.as_deref() == Some("tools/call"))
        .collect();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(
        (calls[0].target.as_deref(), calls[0].outcome),
        (Some("hold"), AuditOutcome::Cancelled)
    );
    assert_eq!(
        calls[0].arguments_sha256.as_deref(),
        Some(sha256_hex(&serde_json::to_string(&arguments).unwrap()).as_str())
    );
    assert_eq!(calls[1].outcome, AuditOutcome::Ok);
    server.shutdown().await;
}

#[tokio::test]
async fn large_bodies_in_flight_are_bounded_over_all_connections() {
    let config = HttpConfig::default()
        .max_body_bytes(1 << 20)
        .max_body_bytes_in_flight(2 << 20);
    let server = start_server(Large, config).await;
    let addr = server.addr;
    let session = initialize(addr, "2025-11-25").await;
    let call = |n: usize| {
        json!({"jsonrpc": "2.0", "id": n, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": text_of(n, 650_000)}}})
        .to_string()
    };
    let headers = [JSON, ACCEPT, ("mcp-session-id", session.as_str())];

    // Two clients send most of a large body each, then stall: what the
    // server holds of them leaves less than a third body's worth.
    let mut stalled = Vec::new();
    for n in 0..2 {
        let body = call(n);
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\n\
             accept: application/json\r\nmcp-session-id: {session}\r\ncontent-length: {}\r\n\r\n",
            addr.port(),
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
            .write_all(&body.as_bytes()[..body.len() - 100_000])
            .await
            .unwrap();
        stalled.push((stream, body));
    }
    let sent: usize = stalled.iter().map(|(_, body)| body.len() - 100_000).sum();
    for _ in 0..400 {
        if server.service.stats().body_bytes >= sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        server.service.stats().body_bytes >= sent,
        "the bodies were read"
    );
    // A third large body is refused, at once and with a retry hint; a small
    // request is not.
    let refused = send(addr, "POST", "/mcp", &headers, call(2)).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let error = json_body(refused).await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bodies"),
        "{error}"
    );
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}).to_string();
    assert_eq!(
        send(addr, "POST", "/mcp", &headers, ping).await.status(),
        200
    );

    // The stalled bodies are finished and answered in full; then what they
    // held is free again.
    for (mut stream, body) in stalled {
        stream
            .write_all(&body.as_bytes()[body.len() - 100_000..])
            .await
            .unwrap();
        let mut answer = Vec::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            use tokio::io::AsyncReadExt;
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection closed before the answer");
            answer.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&answer);
            if text.starts_with("HTTP/1.1 200") && text.ends_with("}") {
                break;
            }
            assert!(!text.starts_with("HTTP/1.1 5"), "{text:.200}");
        }
    }
    let response = send(addr, "POST", "/mcp", &headers, call(3)).await;
    assert!(tool_text(response).await == text_of(3, 650_000));
    server.shutdown().await;
}

/// Starts a session's `hold` call of a 1 MB text, waiting `ms`, that
/// outlasts the time after which a session's answer streams: returns the
/// event-stream response (the tool still holding the large arguments),
/// the text, the body's length and the session id.
async fn streamed_hold(
    server: &Running,
    seed: usize,
    ms: u64,
) -> (hyper::Response<Incoming>, String, usize, String) {
    let session = initialize(server.addr, "2025-11-25").await;
    let long = text_of(seed, 1_000_000);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "hold", "arguments": {"text": long, "ms": ms}}})
    .to_string();
    let sent = body.len();
    let headers = [JSON, ACCEPT, ("mcp-session-id", session.as_str())];
    let response = send(server.addr, "POST", "/mcp", &headers, body).await;
    assert!(
        content_type(&response).starts_with("text/event-stream"),
        "{:?}",
        response.headers()
    );
    (response, long, sent, session)
}

#[tokio::test]
async fn a_large_call_answered_by_a_stream_holds_its_body_until_answered() {
    let (_, _, server) = start_audited().await;
    let (response, long, sent, _) = streamed_hold(&server, 9, 500).await;
    let held = server.service.stats().body_bytes;
    assert!(
        held >= sent,
        "{held} bytes held of a {sent}-byte body while it runs"
    );
    assert_eq!(tool_text(response).await, long.len().to_string());
    server.settles_to(1).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_session_call_whose_client_left_its_stream_counts_its_body_until_done() {
    let (_, _, server) = start_audited().await;
    let (response, _, sent, session) = streamed_hold(&server, 10, 60_000).await;
    // The client leaves; before 2026-07-28 its request runs on, with its
    // arguments, its answer kept for a client that resumes.
    drop(response);
    let mut stats = server.service.stats();
    for _ in 0..200 {
        stats = server.service.stats();
        if stats.connection_tasks == 0 && stats.open_streams == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        (
            stats.connection_tasks,
            stats.open_streams,
            stats.active_requests
        ),
        (0, 0, 1),
        "the stream is gone, the call runs: {stats:?}"
    );
    assert!(
        stats.body_bytes >= sent,
        "{} bytes counted of a {sent}-byte body whose call still runs",
        stats.body_bytes
    );
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 1}})
    .to_string();
    let headers = [JSON, ACCEPT, ("mcp-session-id", session.as_str())];
    let response = send(server.addr, "POST", "/mcp", &headers, cancel).await;
    assert_eq!(response.status(), 202);
    drop(response);
    server.settles_to(1).await;
    server.shutdown().await;
}
