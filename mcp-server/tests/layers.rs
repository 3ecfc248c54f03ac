//! The transport's concerns taken as tower layers: identity reaches the
//! tools through request extensions, refusals are the service's own, and
//! the service does not check again what a layer let through.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::BodyExt;
use mcp_server::auth::ApiKeys;
use mcp_server::prelude::*;
use mcp_server::transport::http::layers::{
    AuthLayer, ClientAddr, ClientAddrLayer, HostOriginLayer, TenantLayer,
};
use mcp_server::transport::http::{Cidr, HttpConfig, McpService};
use serde_json::{Value, json};
use tower::{Layer, Service, ServiceExt};

struct Who;

#[mcp_server(name = "who")]
impl Who {
    /// Who is calling, and for which tenant.
    #[mcp_tool(read_only)]
    async fn whoami(&self, ctx: &RequestContext) -> String {
        format!(
            "{} for {}",
            ctx.principal().map_or("nobody", |p| p.id.as_str()),
            ctx.tenant().unwrap_or("no tenant")
        )
    }
}

fn keys(key: &str) -> ApiKeys {
    ApiKeys::new().key("ci", key, Vec::<String>::new())
}

fn call(headers: &[(&str, &str)]) -> http::Request<String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "whoami",
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }});
    let mut request = http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "whoami");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body.to_string()).unwrap()
}

async fn answer<S, B>(service: S, request: http::Request<String>) -> (u16, http::HeaderMap, Value)
where
    S: Service<http::Request<String>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let response = service.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_principal_and_tenant_of_the_layers_reach_the_tool() {
    let mcp = McpService::new(Server::new(Who), HttpConfig::default());
    let stack = AuthLayer::new(keys("key-one"))
        .layer(TenantLayer::new(http::HeaderName::from_static("x-tenant")).layer(mcp));

    let (status, _, body) = answer(
        stack.clone(),
        call(&[("x-api-key", "key-one"), ("x-tenant", "acme")]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "ci for acme");

    let (status, _, body) = answer(stack.clone(), call(&[("x-api-key", "wrong")])).await;
    assert_eq!(status, 401, "{body}");
    // A malformed tenant never reaches the service.
    let (status, _, _) = answer(stack, call(&[("x-api-key", "key-one"), ("x-tenant", "  ")])).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_tenant_layer_from_config_believes_only_the_trusted_proxies() {
    let gateway: Cidr = "10.0.0.0/8".parse().unwrap();
    let config = HttpConfig::default()
        .tenant_header("x-tenant")
        .trusted_proxies([gateway]);
    let stack = || {
        TenantLayer::from_config(&config)
            .unwrap()
            .layer(McpService::new(Server::new(Who), HttpConfig::default()))
    };
    let from = |peer: &str| {
        let mut request = call(&[("x-tenant", "acme")]);
        let addr = std::net::SocketAddr::new(peer.parse().unwrap(), 40_000);
        request.extensions_mut().insert(ClientAddr(addr));
        request
    };
    // Another peer cannot name a tenant, nor one that names the gateway in
    // a forwarding header.
    let (status, _, body) = answer(stack(), from("192.0.2.7")).await;
    assert_eq!(status, 403, "{body}");
    let mut forged = from("192.0.2.7");
    forged.headers_mut().insert(
        "x-forwarded-for",
        http::HeaderValue::from_static("10.0.0.1"),
    );
    let (status, _, _) = answer(stack(), forged).await;
    assert_eq!(status, 403);
    // The gateway can.
    let (status, _, body) = answer(stack(), from("10.1.2.3")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "tenant:acme for acme");
    // Behind a ClientAddrLayer the client's address replaces the gateway's,
    // and the header is still the gateway's to set.
    let behind = ClientAddrLayer::new([gateway]).layer(stack());
    let mut forwarded = from("10.1.2.3");
    forwarded.headers_mut().insert(
        "x-forwarded-for",
        http::HeaderValue::from_static("203.0.113.9"),
    );
    let (status, _, body) = answer(behind, forwarded).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_layers_refusal_is_the_services_own() {
    let own = McpService::new(
        Server::new(Who),
        HttpConfig::default().authenticator(keys("key-one")),
    );
    let layered = AuthLayer::new(keys("key-one"))
        .layer(McpService::new(Server::new(Who), HttpConfig::default()));
    for headers in [vec![], vec![("x-api-key", "wrong")]] {
        let (own_status, own_headers, own_body) = answer(own.clone(), call(&headers)).await;
        let (status, headers, body) = answer(layered.clone(), call(&headers)).await;
        assert_eq!((status, &body), (own_status, &own_body));
        assert_eq!(headers["www-authenticate"], own_headers["www-authenticate"]);
    }

    let own = McpService::new(Server::new(Who), HttpConfig::default());
    let layered = HostOriginLayer::new(&HttpConfig::default())
        .layer(McpService::new(Server::new(Who), HttpConfig::default()));
    for headers in [
        vec![("origin", "https://evil.example.com")],
        vec![("host", "evil.example.com")],
    ] {
        let mut request = call(&[]);
        let mut again = call(&[]);
        for (name, value) in &headers {
            let value = http::HeaderValue::from_static(value);
            request.headers_mut().insert(*name, value.clone());
            again.headers_mut().insert(*name, value);
        }
        let (own_status, _, own_body) = answer(own.clone(), request).await;
        let (status, _, body) = answer(layered.clone(), again).await;
        assert_eq!(own_status, 403);
        assert_eq!((status, body), (own_status, own_body));
    }
}

#[tokio::test]
async fn what_a_layer_let_through_is_not_checked_again() {
    // The service would refuse this host and this key on its own.
    let config = HttpConfig::default().authenticator(keys("service-key"));
    let mcp = McpService::new(Server::new(Who), config);
    let named = || {
        let mut request = call(&[("x-api-key", "layer-key")]);
        request
            .headers_mut()
            .insert("host", http::HeaderValue::from_static("mcp.example.com"));
        request
    };
    let (status, _, _) = answer(mcp.clone(), named()).await;
    assert_eq!(status, 403);

    // In front of it, layers configured otherwise decide.
    let hosts = HttpConfig::default().allowed_hosts(["mcp.example.com"]);
    let stack = HostOriginLayer::new(&hosts).layer(AuthLayer::new(keys("layer-key")).layer(mcp));
    let (status, _, body) = answer(stack.clone(), named()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "ci for no tenant");
    // And they still refuse what they are configured to refuse.
    let (status, _, _) = answer(stack, call(&[("x-api-key", "service-key")])).await;
    assert_eq!(status, 401);
}
