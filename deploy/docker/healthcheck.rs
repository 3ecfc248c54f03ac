//! The container health check of the root `Dockerfile`.
//!
//! The runtime image (distroless `cc`) has no shell, curl or wget, so the
//! image carries this instead: a std-only program, compiled with `rustc`
//! in the build stage, that sends `GET <path>` to `127.0.0.1:$PORT` and
//! exits 0 on a `200` answer and 1 on anything else (no answer within 3 s,
//! a refused connection, another status).
//!
//! Usage: `healthcheck [PATH]`, PATH defaulting to `/health`; the port is
//! the server's own `PORT` (8080 in the image).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/health".into());
    let port = match std::env::var("PORT") {
        Ok(port) if !port.trim().is_empty() => match port.trim().parse::<u16>() {
            Ok(port) => port,
            Err(_) => {
                eprintln!("healthcheck: PORT `{port}` is not a port number");
                return ExitCode::FAILURE;
            }
        },
        _ => 8080,
    };
    match check(port, &path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(port: u16, path: &str) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: healthcheck\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("cannot send the request: {e}"))?;
    // Only the status line matters: read until its end.
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("no answer from {addr}{path}: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or("").trim();
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if line.starts_with("HTTP/") && status == "200" {
        Ok(())
    } else if line.is_empty() {
        Err(format!("{addr}{path}: empty answer"))
    } else {
        Err(format!("{addr}{path}: {line}"))
    }
}
