//! The listener's connection limit: connections past it wait their turn in
//! the listen queue, and are served once another closes.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// The first bytes of what `stream` answers next.
async fn answer(stream: &mut TcpStream) -> String {
    let mut buf = vec![0; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Asks `stream` for `/health` and reads the answer's first bytes.
async fn health_on(stream: &mut TcpStream) -> String {
    stream.write_all(HEALTH).await.unwrap();
    answer(stream).await
}

/// Waits, within a bound, until `running` counts `open` connections.
async fn connections_settle_to(running: &Running, open: usize) {
    for _ in 0..100 {
        if running.service.stats().connections == open {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "connections did not settle to {open}: {:?}",
        running.service.stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_wait_until_one_closes() {
    let running = start(HttpConfig::default().max_connections(2)).await;
    let addr = running.addr;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    assert!(health_on(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(health_on(&mut second).await.starts_with("HTTP/1.1 200"));
    assert_eq!(running.service.stats().connections, 2);

    // A third connects (the kernel queues it) but is not taken up...
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(HEALTH).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), answer(&mut third)).await;
    assert!(early.is_err(), "served past the limit: {early:?}");
    // ... while the two it has keep being served.
    assert!(health_on(&mut first).await.starts_with("HTTP/1.1 200"));
    assert_eq!(running.service.stats().connections, 2);

    // One closes: the one waiting takes its place and gets its answer.
    drop(second);
    let late = tokio::time::timeout(Duration::from_secs(5), answer(&mut third))
        .await
        .expect("the waiting connection was served once another closed");
    assert!(late.starts_with("HTTP/1.1 200"), "{late}");
    assert_eq!(running.service.stats().connections, 2);

    // A client that connects and leaves gives its place back too.
    drop(first);
    drop(third);
    connections_settle_to(&running, 0).await;
    let mut again = TcpStream::connect(addr).await.unwrap();
    assert!(health_on(&mut again).await.starts_with("HTTP/1.1 200"));
    drop(again);
    connections_settle_to(&running, 0).await;
    running.settles_to(0).await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_at_its_connection_limit_still_shuts_down() {
    let running = start(HttpConfig::default().max_connections(1)).await;
    let mut held = TcpStream::connect(running.addr).await.unwrap();
    assert!(health_on(&mut held).await.starts_with("HTTP/1.1 200"));
    let mut waiting = TcpStream::connect(running.addr).await.unwrap();
    waiting.write_all(HEALTH).await.unwrap();
    // Stopping while the accept loop waits for a slot: the held connection
    // is closed, the waiting one is never taken up, and the server returns.
    running.shutdown().await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), held.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the held connection was not closed");
}

/// Reads until `stream` is closed by the server, within `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> bool {
    let mut rest = Vec::new();
    tokio::time::timeout(bound, stream.read_to_end(&mut rest))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_give_their_place_back() {
    let config = HttpConfig::default()
        .max_connections(1)
        .read_timeouts(Duration::from_millis(300), Duration::from_secs(30));
    let running = start(config).await;
    // A connection that never sends a byte is closed at the header timeout...
    let mut silent = TcpStream::connect(running.addr).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "a silent connection was kept open"
    );
    // ... so is one that sends part of the HTTP/2 preface and stalls...
    let mut stalled = TcpStream::connect(running.addr).await.unwrap();
    stalled.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    assert!(
        closed_within(&mut stalled, Duration::from_secs(5)).await,
        "a connection stalled in the HTTP/2 preface was kept open"
    );
    // ... or all of it and its settings, and then asks nothing...
    let mut quiet_h2 = TcpStream::connect(running.addr).await.unwrap();
    quiet_h2
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    assert!(
        closed_within(&mut quiet_h2, Duration::from_secs(5)).await,
        "an HTTP/2 connection that asked nothing was kept open"
    );
    // ... and one that sent a request and then sits idle.
    let mut idle = TcpStream::connect(running.addr).await.unwrap();
    assert!(health_on(&mut idle).await.starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut idle, Duration::from_secs(5)).await,
        "an idle keep-alive connection was kept open"
    );
    // Each gave its place back.
    let mut next = TcpStream::connect(running.addr).await.unwrap();
    assert!(health_on(&mut next).await.starts_with("HTTP/1.1 200"));
    drop(next);
    connections_settle_to(&running, 0).await;
    running.shutdown().await;
}

/// An HTTP/2 (prior knowledge) connection to `addr`: its sender, and its
/// task, which ends when the server closes the connection.
async fn http2(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    tokio::task::JoinHandle<()>,
) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, task)
}

fn h2_request(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: String,
) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::builder()
        .method(if body.is_empty() { "GET" } else { "POST" })
        .uri(format!(
            "http://127.0.0.1:{}{}",
            addr.port(),
            if body.is_empty() { "/health" } else { "/mcp" }
        ));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Full::new(Bytes::from(body))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_is_closed_once_quiet_but_not_while_it_waits_for_an_answer() {
    let config = HttpConfig::default()
        .max_connections(1)
        .read_timeouts(Duration::from_millis(300), Duration::from_secs(30));
    let running = start(config).await;
    let addr = running.addr;
    let (mut sender, closed) = http2(addr).await;
    let health = sender
        .send_request(h2_request(addr, &[], String::new()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // A call that runs 600 ms, twice the quiet time: the connection waits
    // for its answer, and is not closed under it.
    let headers = [
        JSON,
        ACCEPT,
        MODERN,
        ("mcp-method", "tools/call"),
        ("mcp-name", "slow"),
    ];
    let call = stateless(
        1,
        "tools/call",
        json!({"name":"slow","arguments":{"steps":6}}),
    );
    let response = sender
        .send_request(h2_request(addr, &headers, call))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = text(response).await;
    assert!(body.contains("done after 6 steps"), "{body}");
    // Quiet for longer than allowed, but busy: it still takes requests.
    let health = sender
        .send_request(h2_request(addr, &[], String::new()))
        .await
        .expect("the connection was closed while it waited for an answer");
    assert_eq!(health.status(), 200);
    // Then, with nothing in progress, the server sends GOAWAY and closes it.
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("a quiet HTTP/2 connection was kept open")
        .unwrap();
    // Its place is free again.
    let mut next = TcpStream::connect(addr).await.unwrap();
    assert!(health_on(&mut next).await.starts_with("HTTP/1.1 200"));
    drop(next);
    connections_settle_to(&running, 0).await;
    running.settles_to(0).await;
    running.shutdown().await;
}
