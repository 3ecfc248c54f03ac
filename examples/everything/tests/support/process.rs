//! The `everything` example started as a child process serving HTTP on a
//! free loopback port, for the tests that need the real binary.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `everything` over HTTP with `RUST_LOG=error` and `env` set, and
/// waits until it listens.
pub(crate) fn spawn_everything(env: &[(&str, &str)]) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_everything"))
        .args(["--transport", "http", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("the everything binary starts");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}
