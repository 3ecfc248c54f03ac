//! Logs carry the caller's trace. In a test binary of its own: `tracing`
//! caches which callsites are enabled process-wide, so a scoped subscriber
//! here must not race other tests' (absent) subscribers for the same
//! callsites.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
use serde_json::{Value, json};

/// Answer pong.
#[mcp_tool]
async fn ping_tool() -> &'static str {
    "pong"
}

/// A `tracing` writer that keeps what it is given.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_callers_traceparent_continues_in_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = Server::builder().tool(ping_tool::tool()).build();
    let client = TestClient::connect(server, ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    client
        .request(
            "tools/call",
            json!({"name": "ping_tool", "_meta": {"traceparent": traceparent}}),
        )
        .await
        .unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The audit record is written inside the request's span, which carries
    // the caller's trace.
    let audit = logs
        .lines()
        .find(|l| l.contains("mcp::audit"))
        .unwrap_or_else(|| panic!("no audit line in {logs}"));
    let line: Value = serde_json::from_str(audit).unwrap();
    assert_eq!(
        line["span"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "{line}"
    );
    assert_eq!(line["span"]["parent_span_id"], "00f067aa0ba902b7");
    assert_eq!(line["span"]["tool"], "ping_tool");
}
