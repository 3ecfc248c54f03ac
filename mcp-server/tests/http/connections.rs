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

/// Waits, within a bound, until `running` has `n` requests running.
async fn running_requests(running: &Running, n: usize) {
    for _ in 0..100 {
        if running.service.stats().active_requests == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{n} requests never ran: {:?}", running.service.stats());
}

/// Starts a 2026-07-28 call of the `slow` tool (`steps` of 100 ms) on a
/// connection of its own, kept open after the answer; the task ends with
/// the connection and the answer's text.
fn slow_call(addr: SocketAddr, steps: u32) -> tokio::task::JoinHandle<(TcpStream, String)> {
    tokio::spawn(async move {
        let call = stateless(
            1,
            "tools/call",
            json!({"name":"slow","arguments":{"steps":steps}}),
        );
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2026-07-28\r\n\
             Mcp-Method: tools/call\r\nMcp-Name: slow\r\nContent-Length: {}\r\n\r\n{call}",
            call.len()
        );
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        while !answer.contains("done after") {
            let mut buf = vec![0; 4096];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the answer: {answer}");
            answer.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        (stream, answer)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_limit_the_longest_idle_connection_makes_room() {
    let running = start(HttpConfig::default().max_connections(2)).await;
    let addr = running.addr;
    // One connection that never asks anything, one that asked and idles.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    connections_settle_to(&running, 1).await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(health_on(&mut idle).await.starts_with("HTTP/1.1 200"));
    assert_eq!(running.service.stats().connections, 2);

    // A newcomer is served at once: the oldest idle connection (the silent
    // one) is closed to make room, the other is kept.
    let mut newcomer = TcpStream::connect(addr).await.unwrap();
    let served = tokio::time::timeout(Duration::from_secs(5), health_on(&mut newcomer))
        .await
        .expect("the newcomer waited although a connection was idle");
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "the oldest idle connection was not closed"
    );
    assert!(health_on(&mut idle).await.starts_with("HTTP/1.1 200"));
    assert_eq!(running.service.stats().connections, 2);
    drop((idle, newcomer));
    connections_settle_to(&running, 0).await;
    running.shutdown().await;
}

/// A connection to `addr` from `from` (127.0.0.x: Linux routes all of
/// 127/8 to loopback).
async fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_limit_the_client_holding_the_most_connections_makes_room() {
    let running = start(HttpConfig::default().max_connections(3)).await;
    let addr = running.addr;
    // A client's connection, the longest open, idle between requests...
    let mut client = connect_from([127, 0, 0, 2], addr).await;
    assert!(health_on(&mut client).await.starts_with("HTTP/1.1 200"));
    // ... then two silent ones from another address.
    let mut flood = Vec::new();
    for open in 2..=3 {
        flood.push(connect_from([127, 0, 0, 1], addr).await);
        connections_settle_to(&running, open).await;
    }
    // A newcomer from a third address takes the place of the flooder's
    // oldest connection, not of the client's older one.
    let mut newcomer = connect_from([127, 0, 0, 3], addr).await;
    let served = tokio::time::timeout(Duration::from_secs(5), health_on(&mut newcomer))
        .await
        .expect("the newcomer waited although connections were idle");
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    assert!(
        closed_within(&mut flood[0], Duration::from_secs(5)).await,
        "the flooder's oldest connection was not closed"
    );
    assert!(health_on(&mut client).await.starts_with("HTTP/1.1 200"));
    assert_eq!(running.service.stats().connections, 3);
    drop((client, flood, newcomer));
    connections_settle_to(&running, 0).await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_limit_with_every_connection_busy_a_newcomer_waits_its_turn() {
    let running = start(HttpConfig::default().max_connections(2)).await;
    let addr = running.addr;
    let first = slow_call(addr, 8);
    let second = slow_call(addr, 8);
    running_requests(&running, 2).await;

    // Both connections are busy: none is closed for the newcomer, which
    // the kernel queues but the server does not take up...
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(HEALTH).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), answer(&mut third)).await;
    assert!(early.is_err(), "served past the limit: {early:?}");
    // ... and both calls are answered in full, their connections kept open.
    let (first, text) = first.await.unwrap();
    assert!(text.contains("done after 8 steps"), "{text}");
    let (second, text) = second.await.unwrap();
    assert!(text.contains("done after 8 steps"), "{text}");

    // Now idle, one of them makes room: the newcomer is answered long
    // before an idle connection would time out (30 s).
    let late = tokio::time::timeout(Duration::from_secs(5), answer(&mut third))
        .await
        .expect("the waiting connection was served once another went idle");
    assert!(late.starts_with("HTTP/1.1 200"), "{late}");
    drop((first, second));
    drop(third);
    connections_settle_to(&running, 0).await;
    running.settles_to(0).await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_waiting_for_room_still_shuts_down_and_finishes_its_calls() {
    let running = start(HttpConfig::default().max_connections(1)).await;
    let busy = slow_call(running.addr, 5);
    running_requests(&running, 1).await;
    let mut waiting = TcpStream::connect(running.addr).await.unwrap();
    waiting.write_all(HEALTH).await.unwrap();
    // Stopping while the accept loop waits for room: the call in progress
    // is answered, the waiting connection is never taken up, and the
    // server returns.
    running.shutdown().await;
    let (_, text) = busy.await.unwrap();
    assert!(text.contains("done after 5 steps"), "{text}");
    assert!(
        closed_within(&mut waiting, Duration::from_secs(5)).await,
        "the waiting connection was kept open"
    );
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
