//! The HTTP transport: one `tools/call` through the service in process
//! (the HTTP layer's own cost) and over a kept-alive loopback connection
//! (what a client sees), on the stateful and the stateless wire.
//!
//! `cargo bench -p mcp-server --bench http`

use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mcp_server::prelude::*;
use mcp_server::transport::http::{HttpConfig, HttpServer, McpService};
use tokio::sync::Mutex;

struct Bench;

#[mcp_server(name = "bench")]
impl Bench {
    /// Add two integers.
    #[mcp_tool]
    async fn add(
        &self,
        /** First addend. */
        a: i64,
        /** Second addend. */
        b: i64,
    ) -> i64 {
        a + b
    }
}

const STATELESS: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
const STATEFUL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

fn request(body: &'static str, session: Option<&str>) -> hyper::Request<Full<Bytes>> {
    let mut builder = hyper::Request::post("/mcp")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    builder = match session {
        Some(id) => builder.header("mcp-session-id", id),
        None => builder
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "add"),
    };
    match builder.body(Full::new(Bytes::from_static(body.as_bytes()))) {
        Ok(request) => request,
        Err(e) => panic!("bad request: {e}"),
    }
}

async fn session_id(service: &McpService) -> String {
    let response = service.handle(request(INITIALIZE, Some("-"))).await;
    match response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
    {
        Some(id) => id.to_owned(),
        None => panic!("no session id"),
    }
}

fn http(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("no runtime: {e}"),
    };

    let service = McpService::new(Bench, HttpConfig::default());
    let session = runtime.block_on(session_id(&service));
    let mut group = c.benchmark_group("http/in-process");
    group.bench_function("tools/call 2026-07-28", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = service.handle(request(STATELESS, None)).await;
            response.into_body().collect().await
        })
    });
    group.bench_function("tools/call 2025-11-25 session", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = service.handle(request(STATEFUL, Some(&session))).await;
            response.into_body().collect().await
        })
    });
    group.finish();

    let (addr, sender) = runtime.block_on(async {
        let server = match HttpServer::bind(Bench, "127.0.0.1:0", HttpConfig::default()).await {
            Ok(server) => server,
            Err(e) => panic!("bind failed: {e}"),
        };
        let addr = server.local_addr();
        tokio::spawn(server.serve_until(std::future::pending()));
        let stream = match tokio::net::TcpStream::connect(addr).await {
            Ok(stream) => stream,
            Err(e) => panic!("connect failed: {e}"),
        };
        let (sender, connection) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(pair) => pair,
                Err(e) => panic!("handshake failed: {e}"),
            };
        tokio::spawn(async move {
            // Ends when the sender is dropped at the end of the run.
            let _ = connection.await;
        });
        (addr, Arc::new(Mutex::new(sender)))
    });
    let mut group = c.benchmark_group(format!("http/loopback {addr}"));
    group.bench_function("tools/call 2026-07-28", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut sender = sender.lock().await;
            // HTTP/1.1 sends one request at a time on a connection.
            if let Err(e) = sender.ready().await {
                panic!("connection not ready: {e}");
            }
            match sender.send_request(request(STATELESS, None)).await {
                Ok(response) => response.into_body().collect().await.map(|_| ()),
                Err(e) => panic!("request failed: {e}"),
            }
        })
    });
    group.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
