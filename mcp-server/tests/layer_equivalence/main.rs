//! `McpService::new` and the stack of public layers around
//! `McpService::core`, built from one `HttpConfig`, give the same answers:
//! one corpus of requests (good and bad `Host`, `Origin`, credentials,
//! tenant header, bodies, sessions, 2026-07-28 headers, rate limits, CORS,
//! probes, the legacy SSE pair) goes over real HTTP to both, and each
//! answer's status, security-relevant headers, session and JSON-RPC body
//! must match.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mcp_server::auth::ApiKeys;
use mcp_server::limit::{Quota, RateLimit};
use mcp_server::prelude::*;
use mcp_server::transport::http::layers::{
    AuditLayer, AuthLayer, ClientAddrLayer, HostOriginLayer, McpRequestLayer, MetricsLayer,
    RateLimitLayer, SecurityHeadersLayer, TenantLayer, TraceLayer,
};
use mcp_server::transport::http::{HttpConfig, McpService};
use serde_json::Value;
use tokio::net::TcpStream;
use tower::ServiceBuilder;

#[path = "../support/serve.rs"]
mod serve_support;

use serve_support::serve;

mod corpus;

use corpus::{Opens, Probe, corpus, echo, initialize, probe, stateless, stateless_echo};

struct Echo;

#[mcp_server(name = "equivalent")]
impl Echo {
    /// Says it back.
    #[mcp_tool(read_only)]
    async fn echo(&self, text: String) -> String {
        text
    }
}

const KEY: &str = "a-long-random-key";
const APP: &str = "https://app.example.com";

fn config() -> HttpConfig {
    HttpConfig::default()
        .authenticator(ApiKeys::new().key("ci", KEY, Vec::<String>::new()))
        .tenant_header("x-tenant")
        // The test's client, on loopback, is no trusted proxy.
        .trusted_proxies(["10.0.0.0/8".parse().unwrap()])
        .cors_origins([APP])
        .max_body_bytes(2048)
}

/// A caller may make many calls, but `echo` only one a minute.
fn limit() -> RateLimit {
    RateLimit::per_caller(Quota::per_minute(10_000)).tool("echo", Quota::per_minute(1))
}

/// The default service: every check inline, the rate limit in the server.
async fn default_service() -> SocketAddr {
    let server = Server::builder()
        .definition(Echo)
        .rate_limit(limit())
        .build();
    serve(McpService::new(server, config())).await
}

/// Where the explicit stack counts the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    /// In the server's router, as the default service does.
    InServer,
    /// In a `RateLimitLayer`, the server having none.
    InLayer,
}

/// The explicit stack: the checks as layers around the core.
async fn layered_service(limit_at: Limit) -> SocketAddr {
    let server = match limit_at {
        Limit::InServer => Server::builder().definition(Echo).rate_limit(limit()),
        Limit::InLayer => Server::builder().definition(Echo),
    }
    .build();
    let config = config();
    // One stack type for both: with the limit in the server, the layer's
    // quota is never reached.
    let rate = match limit_at {
        Limit::InServer => RateLimitLayer::new(RateLimit::per_caller(Quota::per_minute(1_000_000))),
        Limit::InLayer => RateLimitLayer::new(limit()).count_in(&server),
    };
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new())
        .layer(MetricsLayer::new(&server))
        .layer(SecurityHeadersLayer::for_service(&config))
        .layer(ClientAddrLayer::from_config(&config))
        .layer(AuditLayer::new(&server))
        .layer(HostOriginLayer::for_service(&config))
        .layer(AuthLayer::for_service(&config).count_failures_in(&server))
        .layer(TenantLayer::for_service(&config))
        .layer(McpRequestLayer::from_config(&config))
        .layer(rate)
        .service(McpService::core(server, config));
    serve(stack).await
}

/// What is compared of an answer.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    session: bool,
    body: Body,
}

#[derive(Debug, PartialEq)]
enum Body {
    Json(Value),
    Text(String),
    /// The first event of a stream, session ids blanked.
    Stream(String),
}

const COMPARED: [&str; 18] = [
    "www-authenticate",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
    "vary",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "content-security-policy",
    "retry-after",
    "allow",
    "content-type",
    "connection",
    "mcp-protocol-version",
    "cache-control",
    "location",
];

/// What a probe opened (a session id, a legacy endpoint's session), and
/// the stream to hold open while later probes use it.
struct Opened {
    id: Option<String>,
    stream: Option<hyper::body::Incoming>,
}

/// Sends `probe` on a connection of its own; `session` replaces `{session}`.
async fn send(addr: SocketAddr, probe: &Probe, session: &str) -> (Answer, Opened) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .method(probe.method)
        .uri(probe.path.replace("{session}", session));
    for (name, value) in &probe.headers {
        request = request.header(*name, value.replace("{session}", session));
    }
    let request = request
        .body(Full::new(Bytes::from(probe.body.clone())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = COMPARED
        .iter()
        .filter_map(|name| {
            let values: Vec<_> = response
                .headers()
                .get_all(*name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            (!values.is_empty()).then(|| (*name, values.join(", ")))
        })
        .collect();
    let new_session = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let stream = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let mut body = response.into_body();
    let (body, endpoint, held) = if stream {
        // Streams stay open: the first event is what tells them apart.
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        let first = String::from_utf8(first.to_vec()).unwrap();
        let endpoint = first
            .lines()
            .find_map(|line| line.strip_prefix("data: /messages?session_id="))
            .map(str::to_owned);
        let blanked = match &endpoint {
            Some(id) => first.replace(id.as_str(), "{session}"),
            None => first,
        };
        (Body::Stream(blanked), endpoint, Some(body))
    } else {
        let bytes = body.collect().await.unwrap().to_bytes();
        let body = match serde_json::from_slice(&bytes) {
            Ok(value) => Body::Json(value),
            Err(_) => Body::Text(String::from_utf8_lossy(&bytes).into_owned()),
        };
        (body, None, None)
    };
    let answer = Answer {
        status,
        headers,
        session: new_session.is_some(),
        body,
    };
    let opened = Opened {
        id: new_session.or(endpoint),
        stream: held,
    };
    (answer, opened)
}

/// Sends `corpus` to both, in order, asserting the same answers; the
/// status of each, by name.
async fn compare(
    default: SocketAddr,
    layered: SocketAddr,
    corpus: Vec<(Probe, Opens)>,
) -> Vec<(&'static str, u16)> {
    let (mut default_session, mut layered_session) = (String::new(), String::new());
    let mut statuses = Vec::new();
    // A legacy session lives as long as its stream.
    let mut streams = Vec::new();
    for (probe, opens) in corpus {
        let (expected, opened) = send(default, &probe, &default_session).await;
        let (actual, layered_opened) = send(layered, &probe, &layered_session).await;
        assert_eq!(actual, expected, "{}: the stack differs", probe.name);
        if opens != Opens::No {
            let name = probe.name;
            default_session = opened
                .id
                .unwrap_or_else(|| panic!("{name}: nothing opened"));
            layered_session = layered_opened.id.unwrap();
            streams.extend(opened.stream.into_iter().chain(layered_opened.stream));
        }
        statuses.push((probe.name, expected.status));
    }
    statuses
}

#[tokio::test]
async fn the_default_service_and_the_stack_of_layers_answer_alike() {
    let default = default_service().await;
    let layered = layered_service(Limit::InServer).await;
    let statuses = compare(default, layered, corpus()).await;
    // The corpus reaches every kind of answer it is meant to: a change
    // that refused everything alike would not pass.
    let status = |name: &str| statuses.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(status("health, foreign host"), 200);
    assert_eq!(status("index, foreign host"), 200);
    assert_eq!(status("unknown path"), 404);
    assert_eq!(status("foreign host"), 403);
    assert_eq!(status("foreign origin"), 403);
    assert_eq!(status("no key"), 401);
    assert_eq!(status("invalid key"), 401);
    assert_eq!(status("forged tenant"), 403);
    assert_eq!(status("preflight"), 204);
    assert_eq!(status("oversized body"), 413);
    assert_eq!(status("bad JSON"), 400);
    assert_eq!(status("wrong content type"), 415);
    assert_eq!(status("unknown session"), 404);
    assert_eq!(status("initialize, allowed origin"), 200);
    assert_eq!(status("tools/list in the session"), 200);
    assert_eq!(status("stateless call"), 200);
    assert_eq!(status("rate limit exceeded"), 429);
    assert_eq!(status("Mcp-Method mismatch"), 400);
    assert_eq!(status("legacy stream"), 200);
    assert_eq!(status("legacy initialize"), 202);
}

/// The rate limit moved from the server into a `RateLimitLayer`: the same
/// 200, then the same 429 with `Retry-After` and JSON-RPC error, in a
/// session and without. (The layer counts a request before the core
/// validates it, so only valid calls are compared.)
#[tokio::test]
async fn a_rate_limit_layer_answers_as_the_servers_own_limit() {
    let default = default_service().await;
    let layered = layered_service(Limit::InLayer).await;
    let session = |p: Probe| {
        p.header("mcp-session-id", "{session}")
            .header("mcp-protocol-version", "2025-11-25")
    };
    let corpus = vec![
        (
            stateless("first call", "tools/call", "echo", stateless_echo("first")),
            Opens::No,
        ),
        (
            stateless(
                "over the limit",
                "tools/call",
                "echo",
                stateless_echo("second"),
            ),
            Opens::No,
        ),
        (
            probe("initialize", "POST", "/mcp")
                .key()
                .json(initialize("2025-11-25")),
            Opens::Session,
        ),
        (
            session(
                probe("in the session, over the limit", "POST", "/mcp")
                    .key()
                    .json(echo(3, "third")),
            ),
            Opens::No,
        ),
        (
            session(
                probe("tools/list is free of the tool's limit", "POST", "/mcp")
                    .key()
                    .json(r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#),
            ),
            Opens::No,
        ),
    ];
    let statuses = compare(default, layered, corpus).await;
    let codes: Vec<u16> = statuses.iter().map(|(_, status)| *status).collect();
    assert_eq!(codes, [200, 429, 200, 429, 200]);
}
