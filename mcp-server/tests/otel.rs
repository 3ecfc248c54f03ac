//! OpenTelemetry (feature `otel`): a caller's `traceparent`, from `_meta` or
//! the HTTP header, becomes the remote parent of the exported span.
#![cfg(feature = "otel")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
use mcp_server::transport::http::{HttpConfig, HttpServer};
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt as _;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Answer pong.
#[mcp_tool]
async fn ping_tool() -> &'static str {
    "pong"
}

fn server() -> Server {
    Server::builder().tool(ping_tool::tool()).build()
}

/// A subscriber exporting spans to memory, set for the current thread.
fn capture() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    tracing::subscriber::DefaultGuard,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let guard = tracing::subscriber::set_default(subscriber);
    (exporter, provider, guard)
}

fn finished(exporter: &InMemorySpanExporter, provider: &SdkTracerProvider, name: &str) -> SpanData {
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    spans
        .iter()
        .find(|span| span.name == name)
        .cloned()
        .unwrap_or_else(|| {
            let names: Vec<_> = spans.iter().map(|s| s.name.clone()).collect();
            panic!("no {name} span among {names:?}")
        })
}

fn assert_continues_the_callers_trace(span: &SpanData) {
    assert_eq!(
        span.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).unwrap(),
        "{span:?}"
    );
    assert_eq!(
        span.parent_span_id,
        SpanId::from_hex(CALLER_SPAN_ID).unwrap(),
        "{span:?}"
    );
    assert!(span.parent_span_is_remote, "{span:?}");
    assert!(span.span_context.is_sampled(), "{span:?}");
}

#[tokio::test]
async fn a_meta_traceparent_is_the_request_spans_remote_parent() {
    let (exporter, provider, _guard) = capture();
    let client = TestClient::connect(server(), ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    client
        .request(
            "tools/call",
            json!({
                "name": "ping_tool",
                "_meta": {"traceparent": TRACEPARENT, "tracestate": "vendor=value"},
            }),
        )
        .await
        .unwrap();
    let span = finished(&exporter, &provider, "mcp.request");
    assert_continues_the_callers_trace(&span);
    assert_eq!(
        span.span_context.trace_state().get("vendor"),
        Some("value"),
        "{span:?}"
    );

    // A large call's `_meta` is read as a small one's, its arguments
    // (which may mention a traceparent of their own) passed over; a request
    // other than a call is read whole.
    let pad = format!("traceparent {TRACEPARENT} ").repeat(2_000);
    for (method, params) in [
        (
            "tools/call",
            json!({"name": "ping_tool", "arguments": {"pad": pad}, "_meta": {"traceparent": TRACEPARENT}}),
        ),
        (
            "tools/call",
            json!({"_meta": {"traceparent": TRACEPARENT}, "arguments": {"pad": pad}, "name": "ping_tool"}),
        ),
        ("tools/list", json!({"_meta": {"traceparent": TRACEPARENT}})),
    ] {
        exporter.reset();
        client.request(method, params).await.unwrap();
        assert_continues_the_callers_trace(&finished(&exporter, &provider, "mcp.request"));
    }
    exporter.reset();
    client
        .request(
            "tools/call",
            json!({"name": "ping_tool", "arguments": {"pad": pad, "_meta": {"traceparent": TRACEPARENT}}}),
        )
        .await
        .unwrap();
    let span = finished(&exporter, &provider, "mcp.request");
    assert_eq!(span.parent_span_id, SpanId::INVALID, "{span:?}");

    // Without a traceparent, the request starts a trace of its own.
    exporter.reset();
    client
        .request("tools/call", json!({"name": "ping_tool"}))
        .await
        .unwrap();
    let span = finished(&exporter, &provider, "mcp.request");
    assert_ne!(
        span.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).unwrap()
    );
    assert_eq!(span.parent_span_id, SpanId::INVALID);

    // A caller that did not sample its trace gets none of its spans
    // exported (the default parent-based sampler).
    exporter.reset();
    client
        .request(
            "tools/call",
            json!({"name": "ping_tool", "_meta": {"traceparent": TRACEPARENT.replace("-01", "-00")}}),
        )
        .await
        .unwrap();
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert!(spans.iter().all(|s| s.name != "mcp.request"), "{spans:?}");
}

#[tokio::test]
async fn an_http_traceparent_is_the_http_spans_remote_parent() {
    let (exporter, provider, _guard) = capture();
    // No grace period: the test stops the server at once.
    let config = HttpConfig::default().shutdown_grace(std::time::Duration::ZERO);
    let http = HttpServer::bind(server(), "127.0.0.1:0", config)
        .await
        .unwrap();
    let addr = http.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        http.serve_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });

    let body = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "ping_tool",
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    })
    .to_string();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post("/mcp")
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "ping_tool")
        .header("traceparent", TRACEPARENT)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let answer = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        String::from_utf8_lossy(&answer).contains("pong"),
        "{answer:?}"
    );
    drop(sender);
    let _ = stop.send(());
    serving.await.unwrap();

    let http_span = finished(&exporter, &provider, "mcp.http");
    assert_continues_the_callers_trace(&http_span);
    // The request's span continues the same trace, under the HTTP span.
    let request_span = finished(&exporter, &provider, "mcp.request");
    assert_eq!(
        request_span.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).unwrap()
    );
    assert_eq!(
        request_span.parent_span_id,
        http_span.span_context.span_id()
    );
}
