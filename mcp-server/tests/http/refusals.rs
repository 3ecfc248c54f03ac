//! A request refused while its client still sends the body (413, 401) is
//! answered after the body is read, on a connection that stays open: hyper
//! closes a connection whose request body was not read, and a client still
//! writing then has the connection reset under it before it reads the
//! answer. A body declared too large to read, or one the client sends only
//! after `100 Continue`, is refused at once, and the connection closed.

use mcp_server::auth::ApiKeys;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

/// Writes `head` and `len` bytes of body on `stream` while reading the
/// answer; returns the answer's head (status line and headers, its body
/// read too) and whether every byte of the request was written.
async fn exchange(stream: &mut TcpStream, head: &str, len: usize) -> (String, bool) {
    let (mut reader, mut writer) = stream.split();
    let write = async {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len());
            writer.write_all(&chunk[..n]).await?;
            left -= n;
        }
        writer.flush().await
    };
    let read = async {
        let mut received = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if received.len() >= end + 4 + length {
                    return Ok::<_, std::io::Error>(head);
                }
            }
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            received.extend_from_slice(&buf[..n]);
        }
    };
    let (written, answer) =
        tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(write, read) })
            .await
            .expect("an answer within 20 s");
    let answer = answer.unwrap_or_else(|e| panic!("no answer (written: {written:?}): {e}"));
    (answer, written.is_ok())
}

fn post_head(addr: SocketAddr, len: usize, extra: &str) -> String {
    format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {len}\r\n{extra}\r\n",
        addr.port()
    )
}

/// The connection serves the next request.
async fn still_serves(stream: &mut TcpStream, addr: SocketAddr) {
    let head = format!(
        "GET /health HTTP/1.1\r\nhost: 127.0.0.1:{}\r\n\r\n",
        addr.port()
    );
    let (answer, written) = exchange(stream, &head, 0).await;
    assert!(written);
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_read_and_answered_413_on_a_connection_that_stays() {
    let server = start(HttpConfig::default().max_body_bytes(1 << 20)).await;
    let addr = server.addr;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for len in [8 << 20, 3 << 20] {
        let (answer, written) = exchange(&mut stream, &post_head(addr, len, ""), len).await;
        assert!(written, "the {len}-byte body could not be sent whole");
        assert!(answer.starts_with("http/1.1 413"), "{answer}");
        assert!(!answer.contains("connection: close"), "{answer}");
        still_serves(&mut stream, addr).await;
    }
    server.settles_to(0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_refused_before_its_body_is_read_has_its_body_read() {
    let keys = ApiKeys::new().key("reader", "reader-key-0123456789", ["notes:read"]);
    let server = start(HttpConfig::default().authenticator(keys)).await;
    let addr = server.addr;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let len = 3 << 20;
    let (answer, written) = exchange(&mut stream, &post_head(addr, len, ""), len).await;
    assert!(written, "the body could not be sent whole");
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    still_serves(&mut stream, addr).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_body_too_large_to_read_or_not_yet_sent_is_refused_at_once_and_the_connection_closed() {
    let server = start(
        HttpConfig::default()
            .max_body_bytes(1 << 20)
            .read_timeouts(Duration::from_secs(30), Duration::from_secs(60)),
    )
    .await;
    let addr = server.addr;
    for (len, extra) in [(100 << 20, ""), (8 << 20, "expect: 100-continue\r\n")] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // Only the head: the answer must come without the body.
        let (answer, written) = exchange(&mut stream, &post_head(addr, len, extra), 0).await;
        assert!(written);
        assert!(answer.starts_with("http/1.1 413"), "{extra}{answer}");
        assert!(answer.contains("connection: close"), "{extra}{answer}");
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the connection stays open");
    }
    server.shutdown().await;
}
