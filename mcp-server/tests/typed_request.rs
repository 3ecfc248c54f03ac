//! The body read and parsed once by `McpRequestLayer`: the layers after it
//! and the service see the typed request, and its refusals are the
//! service's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::BodyExt;
use mcp_server::prelude::*;
use mcp_server::transport::http::layers::{McpRequestBody, McpRequestLayer};
use mcp_server::transport::http::{HttpConfig, McpRequest, McpService};
use serde_json::{Value, json};
use tower::{Layer, Service, ServiceExt};

struct Echo;

#[mcp_server(name = "echo")]
impl Echo {
    /// Says it back.
    #[mcp_tool(read_only)]
    async fn echo(&self, text: String) -> String {
        text
    }
}

fn post(body: String, session_free: bool) -> http::Request<String> {
    let mut request = http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if session_free {
        request = request
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "echo");
    }
    request.body(body).unwrap()
}

fn call(text: &str) -> http::Request<String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "echo",
        "arguments": {"text": text},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }});
    post(body.to_string(), true)
}

async fn answer<S, B>(service: S, request: http::Request<String>) -> (u16, Value)
where
    S: Service<http::Request<String>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let response = service.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// An application's own layer between ours and the service: it records
/// what the typed request says.
fn spying(
    mcp: McpService,
    seen: Seen,
) -> impl Service<
    http::Request<McpRequestBody<String>>,
    Response = http::Response<mcp_server::transport::http::McpBody>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |request: http::Request<McpRequestBody<String>>| {
        let typed = request.extensions().get::<McpRequest>().cloned();
        seen.lock().unwrap().push((
            typed.as_ref().and_then(|t| t.method().map(str::to_owned)),
            typed.as_ref().and_then(|t| t.target().map(str::to_owned)),
        ));
        mcp.clone().oneshot(request)
    })
}

#[tokio::test]
async fn the_layers_after_it_see_the_typed_request_and_the_call_succeeds() {
    let mcp = McpService::new(Server::new(Echo), HttpConfig::default());
    let seen = Seen::default();
    let stack = McpRequestLayer::from_config(mcp.config()).layer(spying(mcp, Arc::clone(&seen)));
    let (status, body) = answer(stack.clone(), call("hi")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "hi");
    // A GET passes unread.
    let get = http::Request::get("/health").body(String::new()).unwrap();
    let (status, _) = answer(stack, get).await;
    assert_eq!(status, 200);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (Some("tools/call".to_owned()), Some("echo".to_owned())),
            (None, None)
        ]
    );
}

#[tokio::test]
async fn its_refusals_are_the_services_own() {
    let config = HttpConfig::default().max_body_bytes(256);
    let own = McpService::new(Server::new(Echo), config.clone());
    let layered =
        McpRequestLayer::from_config(&config).layer(McpService::new(Server::new(Echo), config));
    let cases = [
        (call(&"x".repeat(1000)), call(&"x".repeat(1000)), 413),
        (
            post("{\"jsonrpc\": ".into(), false),
            post("{\"jsonrpc\": ".into(), false),
            400,
        ),
        (
            post("[1, {}]".into(), false),
            post("[1, {}]".into(), false),
            400,
        ),
    ];
    for (one, other, expected) in cases {
        let (own_status, own_body) = answer(own.clone(), one).await;
        let (status, body) = answer(layered.clone(), other).await;
        assert_eq!(own_status, expected, "{own_body}");
        assert_eq!((status, body), (own_status, own_body));
    }
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_parse_error_either_way() {
    let config = HttpConfig::default();
    let own = McpService::new(Server::new(Echo), config.clone());
    let layered =
        McpRequestLayer::from_config(&config).layer(McpService::new(Server::new(Echo), config));
    let bad = || {
        http::Request::post("/mcp")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(Bytes::from_static(b"\xff\xfe")))
            .unwrap()
    };
    let own = own.oneshot(bad()).await.unwrap();
    let layered = layered.oneshot(bad()).await.unwrap();
    assert_eq!(own.status(), 400);
    assert_eq!(layered.status(), 400);
    let own = own.into_body().collect().await.unwrap().to_bytes();
    let layered = layered.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(own, layered);
}
