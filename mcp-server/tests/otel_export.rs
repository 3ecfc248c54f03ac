//! OTLP export end to end (feature `otel`): `init_stderr_logging` with an
//! endpoint in the environment exports spans to it over HTTP/protobuf, and
//! `telemetry::shutdown` flushes them. The environment is process-wide, so
//! the exporting side runs in a child process: this test binary itself.
#![cfg(feature = "otel")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
use serde_json::json;

const CHILD: &str = "MCP_OTLP_EXPORT_CHILD";

/// Answer pong.
#[mcp_tool]
async fn ping_tool() -> &'static str {
    "pong"
}

/// A request received by the fake collector: path, content type, body.
type Received = Arc<Mutex<Vec<(String, String, Bytes)>>>;

#[tokio::test]
async fn spans_are_exported_over_otlp_and_flushed_on_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    let collector = {
        let received = Arc::clone(&received);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let received = Arc::clone(&received);
                let service =
                    hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                        let received = Arc::clone(&received);
                        async move {
                            let path = request.uri().path().to_owned();
                            let kind = request
                                .headers()
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            received.lock().unwrap().push((path, kind, body));
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::new(),
                            )))
                        }
                    });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        })
    };

    let exe = std::env::current_exe().unwrap();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(["--exact", "export_child", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"))
            .env("OTEL_SERVICE_NAME", "otlp-export-test")
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
    collector.abort();

    let received = received.lock().unwrap();
    let (path, kind, body) = received
        .first()
        .unwrap_or_else(|| panic!("nothing exported\n{stdout}\n{stderr}"));
    assert_eq!(path, "/v1/traces");
    assert_eq!(kind, "application/x-protobuf");
    let contains = |needle: &[u8]| {
        received
            .iter()
            .any(|(_, _, body)| body.windows(needle.len()).any(|w| w == needle))
    };
    // Strings are carried verbatim in protobuf: the span, its service.
    assert!(contains(b"mcp.request"), "{body:?}");
    assert!(contains(b"otlp-export-test"), "{body:?}");
    assert!(contains(&hex(TRACE_ID)), "{body:?}");
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The exporting side, run by the test above in a child process; does
/// nothing otherwise.
#[tokio::test]
async fn export_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    mcp_server::transport::stdio::init_stderr_logging();
    // As serving on `Stdio` does after the application: a no-op.
    mcp_server::transport::stdio::init_stderr_logging();
    let server = Server::builder().tool(ping_tool::tool()).build();
    let client = TestClient::connect(server, ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    client
        .request(
            "tools/call",
            json!({
                "name": "ping_tool",
                "_meta": {"traceparent": format!("00-{TRACE_ID}-00f067aa0ba902b7-01")},
            }),
        )
        .await
        .unwrap();
    drop(client);
    mcp_server::telemetry::shutdown().await.unwrap();
}
