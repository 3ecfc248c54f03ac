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
