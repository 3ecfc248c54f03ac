//! Over real HTTP with API keys: conversations belong to the key that
//! made them. The client speaks 2026-07-28 by hand, answering the server's
//! sampling questions (`InputRequiredResult`) with a scripted model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use agent_example::{AgentConfig, AgentServer};
use common::Fixture;
use mcp_server::auth::ApiKeys;
use mcp_server::transport::http::{HttpConfig, HttpServer};
use serde_json::{Value, json};

const ALICE: &str = "alice-key-0123456789";
const MALLORY: &str = "mallory-key-0123456789";

async fn serve(fx: &Fixture) -> SocketAddr {
    let keys = ApiKeys::parse(&format!("alice@acme:{ALICE}, mallory@acme:{MALLORY}")).unwrap();
    let server = mcp_server::Server::builder()
        .definition(AgentServer::new(fx.agent(AgentConfig::default()).await))
        .build();
    let http = HttpServer::bind(
        server,
        "127.0.0.1:0",
        HttpConfig::default().authenticator(keys),
    )
    .await
    .unwrap();
    let addr = http.local_addr();
    tokio::spawn(http.serve());
    addr
}

/// The model: it knows the code only if the conversation it is shown has it.
fn model(params: &Value) -> Value {
    let seen = params["messages"].to_string();
    let text = if seen.contains("1234") && seen.contains("what is the code") {
        "the code is 1234"
    } else if seen.contains("what is the code") {
        "I know nothing"
    } else {
        "noted"
    };
    json!({"role": "assistant", "content": {"type": "text", "text": text}, "model": "scripted"})
}

/// One POST to /mcp: the status and the JSON body.
async fn post(addr: SocketAddr, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method("POST")
        .uri("/mcp")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(hyper::body::Bytes::from(
            body.to_string(),
        )))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `tools/call` as `key`, answering sampling questions until a result comes.
async fn call(addr: SocketAddr, key: &str, tool: &str, arguments: Value) -> Value {
    let bearer = format!("Bearer {key}");
    let mut params = json!({
        "name": tool,
        "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"sampling": {}},
            "io.modelcontextprotocol/clientInfo": {"name": "http-test", "version": "1"},
        },
    });
    for round in 0..10 {
        let body = json!({"jsonrpc": "2.0", "id": round, "method": "tools/call", "params": params});
        let headers = [
            ("authorization", bearer.as_str()),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", tool),
        ];
        let (status, answer) = post(addr, &headers, &body).await;
        assert_eq!(status, 200, "{answer}");
        let result = answer["result"].clone();
        if result["resultType"] != "input_required" {
            assert_ne!(result["isError"], true, "{result}");
            return result["structuredContent"].clone();
        }
        let mut responses = serde_json::Map::new();
        for (k, request) in result["inputRequests"].as_object().unwrap() {
            assert_eq!(request["method"], "sampling/createMessage");
            responses.insert(k.clone(), model(&request["params"]));
        }
        params["inputResponses"] = Value::Object(responses);
        params["requestState"] = result["requestState"].clone();
    }
    panic!("`{tool}` still asked for input after ten rounds");
}

#[tokio::test]
async fn conversations_belong_to_the_key_that_made_them() {
    let fx = Fixture::new();
    let addr = serve(&fx).await;
    let ask = |key, prompt: &str| {
        call(
            addr,
            key,
            "ask_agent",
            json!({"conversation_id": "ops", "prompt": prompt}),
        )
    };
    assert_eq!(ask(ALICE, "the code is 1234").await["answer"], "noted");

    // Mallory, same tenant, same conversation id: none of Alice's messages.
    assert_eq!(
        ask(MALLORY, "what is the code?").await["answer"],
        "I know nothing"
    );
    let hers = call(
        addr,
        MALLORY,
        "get_conversation",
        json!({"conversation_id": "ops"}),
    )
    .await;
    assert!(!hers.to_string().contains("1234"), "{hers}");
    let deleted = call(
        addr,
        MALLORY,
        "delete_conversation",
        json!({"conversation_id": "ops"}),
    )
    .await;
    assert_eq!(deleted["deleted"], true);

    // Alice's conversation is whole and goes on.
    assert_eq!(
        ask(ALICE, "what is the code?").await["answer"],
        "the code is 1234"
    );
    let alices = call(
        addr,
        ALICE,
        "get_conversation",
        json!({"conversation_id": "ops"}),
    )
    .await;
    assert_eq!(alices["messages"].as_array().unwrap().len(), 4);

    // No key, no call.
    let (status, _) = post(addr, &[], &json!({})).await;
    assert_eq!(status, 401);
}
