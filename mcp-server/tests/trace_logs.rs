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
    tracing::info!("pinged");
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
    let client = TestClient::connect(server.clone(), ProtocolVersion::V2026_07_28)
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
    server.flush_audit().await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The request's own log lines run in its span, which carries the
    // caller's trace.
    let in_span = lines
        .iter()
        .find(|l| l["span"]["name"] == "mcp.request")
        .unwrap_or_else(|| panic!("no line in the request's span: {logs}"));
    assert_eq!(
        in_span["span"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "{in_span}"
    );
    assert_eq!(in_span["span"]["parent_span_id"], "00f067aa0ba902b7");
    assert_eq!(in_span["span"]["tool"], "ping_tool");
    // The audit record, written off the request's path, names it too.
    let audit = lines
        .iter()
        .find(|l| l["target"] == "mcp::audit" && l["fields"]["method"] == "tools/call")
        .unwrap_or_else(|| panic!("no audit line in {logs}"));
    assert_eq!(
        audit["fields"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "{audit}"
    );
    assert_eq!(audit["fields"]["read_only"], Value::Null, "{audit}");
    assert_eq!(audit["fields"]["request_id"], 1, "{audit}");
    assert!(audit["fields"]["duration_ms"].is_f64(), "{audit}");
}
