//! Floods from one caller (sessions, `initialize` calls, oversized bodies)
//! leave every other caller served. Clients on other addresses bind their
//! sockets to 127.0.0.2, 127.0.0.3, ... (Linux routes all of 127/8 to
//! loopback).

use std::net::{IpAddr, Ipv4Addr};

use mcp_server::limit::{Quota, RateLimit};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

const FLOODER: [u8; 4] = [127, 0, 0, 1];

fn client(last: u8) -> [u8; 4] {
    [127, 0, 0, last]
}

/// [`send`] from a socket bound to `from`.
async fn send_from(
    from: [u8; 4],
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> hyper::Response<Incoming> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(from)), 0))
        .unwrap();
    let stream = socket.connect(addr).await.unwrap();
    send_on(stream, addr, method, path, headers, body).await
}

/// Waits, within a bound, until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}: timed out");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn init_body() -> String {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})
    .to_string()
}

/// Sends `initialize` from `from`: the response, and the session id when
/// one was opened.
async fn open_from(from: [u8; 4], addr: SocketAddr) -> (hyper::Response<Incoming>, Option<String>) {
    let response = send_from(from, addr, "POST", "/mcp", &[JSON, ACCEPT], init_body()).await;
    let id = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    (response, id)
}

/// Opens a session from `from`, which must succeed.
async fn session_from(from: [u8; 4], addr: SocketAddr) -> String {
    let (response, id) = open_from(from, addr).await;
    assert_eq!(response.status(), 200, "{}", text(response).await);
    id.unwrap()
}

/// The status of a `ping` on session `id`: 200 while it lives, 404 once
/// it is gone.
async fn ping(addr: SocketAddr, id: &str) -> u16 {
    let ping = json!({"jsonrpc":"2.0","id":"p","method":"ping"}).to_string();
    send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", id)],
        ping,
    )
    .await
    .status()
    .as_u16()
}

async fn echo(from: [u8; 4], addr: SocketAddr, id: &str, text_in: &str) -> Value {
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
        "params":{"name":"echo","arguments":{"text":text_in}}});
    let response = send_from(
        from,
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", id)],
        call.to_string(),
    )
    .await;
    assert_eq!(response.status(), 200);
    json_body(response).await
}

#[tokio::test]
async fn an_anonymous_session_flood_from_one_address_leaves_other_clients_served() {
    let server = start(HttpConfig::default().max_sessions(20)).await;
    let addr = server.addr;
    let mut flood = Vec::new();
    for _ in 0..60 {
        if let (_, Some(id)) = open_from(FLOODER, addr).await {
            flood.push(id);
        }
    }
    assert_eq!(server.service.stats().sessions, 20);

    // A newcomer is not locked out: it gets a session and calls tools.
    let (response, newcomer) = open_from(client(2), addr).await;
    assert_eq!(
        response.status(),
        200,
        "a newcomer was refused after one address filled the table: {}",
        text(response).await
    );
    let answer = echo(client(2), addr, &newcomer.unwrap(), "still served").await;
    assert_eq!(answer["result"]["content"][0]["text"], "still served");

    // The flooder paid: its least recently used idle session made way.
    assert_eq!(flood.len(), 60, "the flooder recycles its own sessions");
    assert_eq!(ping(addr, &flood[0]).await, 404);
    assert_eq!(ping(addr, &flood[40]).await, 404);
    assert_eq!(ping(addr, &flood[41]).await, 200);
    assert_eq!(ping(addr, &flood[59]).await, 200);
    assert_eq!(server.service.stats().sessions, 20);
    server.shutdown().await;
}

#[tokio::test]
async fn the_least_recently_used_idle_session_makes_way_and_busy_ones_never_do() {
    let server = start(HttpConfig::default().max_sessions(4)).await;
    let addr = server.addr;
    let streaming = session_from(FLOODER, addr).await;
    let working = session_from(FLOODER, addr).await;
    let opened_first = session_from(FLOODER, addr).await;
    let opened_last = session_from(FLOODER, addr).await;

    // Two sessions are busy: one holds its GET stream open, one runs a call
    // (its response starts with the first progress event, so it is running).
    let stream = send(
        addr,
        "GET",
        "/mcp",
        &[
            ("accept", "text/event-stream"),
            ("mcp-session-id", &streaming),
        ],
        "",
    )
    .await;
    assert_eq!(stream.status(), 200);
    let slow = json!({"jsonrpc":"2.0","id":"long","method":"tools/call",
        "params":{"name":"slow","arguments":{"steps":100},"_meta":{"progressToken":"t"}}});
    let call = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &working)],
        slow.to_string(),
    )
    .await;
    assert_eq!(content_type(&call), "text/event-stream");
    // Used last, `opened_first` is no longer the least recently used.
    assert_eq!(ping(addr, &opened_first).await, 200);

    let newcomer = session_from(client(2), addr).await;
    assert_eq!(ping(addr, &opened_last).await, 404, "the LRU idle one went");
    assert_eq!(ping(addr, &opened_first).await, 200);
    let _third = session_from(client(3), addr).await;
    assert_eq!(ping(addr, &opened_first).await, 404);

    // Only busy sessions are left to take from: a newcomer finds the
    // server full (503), and the caller holding them is over its share
    // (429), each with Retry-After.
    let (response, _) = open_from(client(4), addr).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let (response, _) = open_from(FLOODER, addr).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let refusal = json_body(response).await;
    assert_eq!(refusal["error"]["code"], -32011, "{refusal}");
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many sessions"),
        "{refusal}"
    );

    // The busy sessions live on, as does the newcomer's.
    assert_eq!(ping(addr, &streaming).await, 200);
    assert_eq!(ping(addr, &working).await, 200);
    assert_eq!(ping(addr, &newcomer).await, 200);

    // Once its call ends, `working` is idle, and its owner may replace it.
    let cancel =
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"long"}});
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &working)],
        cancel.to_string(),
    )
    .await;
    assert_eq!(response.status(), 202);
    drop(call);
    eventually("the cancelled call ends", || {
        server.service.stats().active_requests == 0
    })
    .await;
    let _replacement = session_from(FLOODER, addr).await;
    assert_eq!(ping(addr, &working).await, 404);
    assert_eq!(ping(addr, &streaming).await, 200);
    drop(stream);
    server.shutdown().await;
}

#[tokio::test]
async fn initialize_on_an_open_session_is_refused() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let id = initialize(addr, "2025-11-25").await;
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &id)],
        init_body(),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(!response.headers().contains_key("mcp-session-id"));
    let refusal = json_body(response).await;
    assert_eq!(refusal["error"]["code"], -32600);
    assert_eq!(refusal["id"], 0);
    let message = refusal["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("already open") && message.contains("DELETE"),
        "{message}"
    );
    assert_eq!(server.service.stats().sessions, 1);
    assert_eq!(ping(addr, &id).await, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_counts_initialize_and_sse_streams() {
    let server = Server::builder()
        .definition(Fixture)
        .rate_limit(RateLimit::per_caller(Quota::per_minute(3)))
        .build();
    let server = start_server(server, HttpConfig::default()).await;
    let addr = server.addr;
    for _ in 0..3 {
        session_from(FLOODER, addr).await;
    }
    let (response, id) = open_from(FLOODER, addr).await;
    assert_eq!(response.status(), 429, "the fourth initialize is refused");
    assert!(id.is_none());
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let refusal = json_body(response).await;
    assert_eq!(refusal["error"]["code"], -32011, "{refusal}");
    assert_eq!(refusal["id"], 0);
    let response = send_from(
        FLOODER,
        addr,
        "GET",
        "/sse",
        &[("accept", "text/event-stream")],
        "",
    )
    .await;
    assert_eq!(response.status(), 429);
    assert_eq!(server.service.stats().sessions, 3);

    // Another client has its own quota.
    session_from(client(2), addr).await;
    server.shutdown().await;
}

#[tokio::test]
async fn legacy_sse_sessions_count_against_the_same_caps() {
    let server = start(HttpConfig::default().max_sessions_per_client(2)).await;
    let addr = server.addr;
    let idle = session_from(FLOODER, addr).await;
    let sse = || async move {
        send_from(
            FLOODER,
            addr,
            "GET",
            "/sse",
            &[("accept", "text/event-stream")],
            "",
        )
        .await
    };
    let first = sse().await;
    assert_eq!(first.status(), 200);
    // At its cap, the client's idle Streamable HTTP session makes way.
    let second = sse().await;
    assert_eq!(second.status(), 200);
    assert_eq!(ping(addr, &idle).await, 404);
    // An open SSE stream is busy: nothing is left to give up.
    let third = sse().await;
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    // Other clients are not affected.
    let other = send_from(
        client(2),
        addr,
        "GET",
        "/sse",
        &[("accept", "text/event-stream")],
        "",
    )
    .await;
    assert_eq!(other.status(), 200);
    let streamable = session_from(client(2), addr).await;
    assert_eq!(server.service.stats().sessions, 4);

    drop((first, second, other));
    server.settles_to(1).await;
    assert_eq!(ping(addr, &streamable).await, 200);
    server.shutdown().await;
}

/// Sends only the head of a POST declaring a 100 MiB body; the status line
/// must arrive well before the 60 s body timeout.
async fn declared_oversize_is_refused_at_once(addr: SocketAddr, path: &str) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: 104857600\r\n\r\n",
        addr.port()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        while !received.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection closed without a response");
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .unwrap_or_else(|_| panic!("no answer to the oversized POST {path} within 5 s"));
    let status = String::from_utf8_lossy(&received);
    assert!(status.starts_with("HTTP/1.1 413"), "{path}: {status}");
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_before_it_is_read() {
    let server = start(
        HttpConfig::default()
            .max_body_bytes(1024)
            .read_timeouts(Duration::from_secs(30), Duration::from_secs(60)),
    )
    .await;
    let addr = server.addr;
    declared_oversize_is_refused_at_once(addr, "/mcp").await;

    let stream = send(addr, "GET", "/sse", &[("accept", "text/event-stream")], "").await;
    let mut body = stream.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let endpoint = std::str::from_utf8(&first)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("data: ")
        .unwrap()
        .to_owned();
    declared_oversize_is_refused_at_once(addr, &endpoint).await;

    // A body that grows past the limit without declaring it still gets 413.
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("transfer-encoding", "chunked")],
        vec![b' '; 4096],
    )
    .await;
    assert_eq!(response.status(), 413);
    drop(body);
    server.shutdown().await;
}
