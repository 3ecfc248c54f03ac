//! The server over MCP: the tools' annotations and happy paths, and
//! `ask_agent` answered by a scripted client on each revision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agent_example::{AgentConfig, AgentServer};
use common::Fixture;
use mcp_server::ProtocolVersion;
use mcp_server::core::tool::CallToolResult;
use mcp_server::testing::{ClientScript, TestClient};
use serde_json::{Value, json};

async fn server(fx: &Fixture, config: AgentConfig) -> mcp_server::Server {
    let agent = fx.agent(config).await;
    mcp_server::Server::builder()
        .definition(AgentServer::new(agent))
        .build()
}

fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    result.structured_content.as_ref().unwrap()
}

fn error_text(result: &CallToolResult) -> String {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    result.content[0].as_text().unwrap_or_default().to_owned()
}

fn reply(text: &str) -> Value {
    json!({"role": "assistant", "content": {"type": "text", "text": text}, "model": "scripted"})
}

#[tokio::test]
async fn tools_are_listed_with_honest_annotations() {
    let fx = Fixture::new();
    let client = TestClient::connect(
        server(&fx, AgentConfig::default()).await,
        ProtocolVersion::V2025_11_25,
    )
    .await
    .unwrap();
    let tools = client.list_tools().await.unwrap();
    let mut seen: Vec<_> = tools
        .iter()
        .map(|t| {
            let a = t.annotations.clone().unwrap_or_default();
            (
                t.name.as_str(),
                a.read_only_hint.unwrap_or(false),
                a.destructive_hint.unwrap_or(true),
            )
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            ("ask_agent", false, true),
            ("delete_conversation", false, true),
            ("diff_files", true, false),
            ("get_conversation", true, false),
            ("list_files", true, false),
            ("read_file", true, false),
            ("search_files", true, false),
            ("write_file", false, true),
        ]
    );
}

#[tokio::test]
async fn the_file_tools_work_over_mcp() {
    let fx = Fixture::new();
    let client = TestClient::connect(
        server(&fx, AgentConfig::default()).await,
        ProtocolVersion::V2025_11_25,
    )
    .await
    .unwrap();
    let call = |name: &'static str, args: Value| client.call_tool(name, args);

    let written = call(
        "write_file",
        json!({"path": "docs/a.md", "content": "one\ntwo\n"}),
    )
    .await
    .unwrap();
    assert_eq!(ok(&written)["created"], true);
    let read = call("read_file", json!({"path": "docs/a.md"}))
        .await
        .unwrap();
    assert_eq!(ok(&read)["content"], "one\ntwo\n");
    let listed = call("list_files", json!({"recursive": true}))
        .await
        .unwrap();
    let paths: Vec<_> = ok(&listed)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].clone())
        .collect();
    assert_eq!(
        paths,
        [json!("docs"), json!("docs/a.md"), json!("notes.txt")]
    );
    let found = call("search_files", json!({"pattern": "^t.o$", "regex": true}))
        .await
        .unwrap();
    assert_eq!(
        ok(&found)["matches"],
        json!([{"path": "docs/a.md", "line": 2, "text": "two"}])
    );
    let found = call(
        "search_files",
        json!({"pattern": "HELLO", "case_insensitive": true}),
    )
    .await
    .unwrap();
    assert_eq!(ok(&found)["matches"][0]["path"], "notes.txt");
    let diff = call(
        "diff_files",
        json!({"path": "docs/a.md", "content": "one\nthree\n"}),
    )
    .await
    .unwrap();
    let text = ok(&diff)["diff"].as_str().unwrap().to_owned();
    assert!(text.contains("-two\n+three\n"), "{text}");
    let same = call(
        "diff_files",
        json!({"path": "docs/a.md", "against": "docs/a.md"}),
    )
    .await
    .unwrap();
    assert_eq!(ok(&same)["identical"], true);

    let refused = call("read_file", json!({"path": "../etc/passwd"}))
        .await
        .unwrap();
    assert!(error_text(&refused).contains("`..` is not allowed"));
    let bad_regex = call("search_files", json!({"pattern": "(", "regex": true}))
        .await
        .unwrap();
    assert!(error_text(&bad_regex).contains("invalid search pattern"));
}

#[tokio::test]
async fn ask_agent_samples_the_clients_model_on_every_revision() {
    for version in [
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ] {
        let fx = Fixture::new();
        let script = ClientScript::new().sample(reply(r#"{"final": "all done"}"#));
        let server = server(&fx, AgentConfig::default()).await;
        let client = TestClient::connect_scripted(server, version, script)
            .await
            .unwrap();
        let args = json!({"conversation_id": "conv-1", "prompt": "hello"});
        let answer = client.call_tool("ask_agent", args.clone()).await.unwrap();
        assert_eq!(ok(&answer)["answer"], "all done", "{version:?}");
        let again = client.call_tool("ask_agent", args).await.unwrap();
        assert_eq!(ok(&again)["messages"], 4, "{version:?}");
        let history = client
            .call_tool("get_conversation", json!({"conversation_id": "conv-1"}))
            .await
            .unwrap();
        assert_eq!(ok(&history)["messages"].as_array().unwrap().len(), 4);
        let deleted = client
            .call_tool("delete_conversation", json!({"conversation_id": "conv-1"}))
            .await
            .unwrap();
        assert_eq!(ok(&deleted)["deleted"], true);
    }
}

#[tokio::test]
async fn ask_agent_stops_at_the_turn_limit_over_mcp() {
    for version in [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28] {
        let fx = Fixture::new();
        let script =
            ClientScript::new().sample(reply(r#"{"tool": "list_files", "arguments": {}}"#));
        let config = AgentConfig {
            max_turns: 3,
            ..AgentConfig::default()
        };
        let client = TestClient::connect_scripted(server(&fx, config).await, version, script)
            .await
            .unwrap();
        let result = client
            .call_tool("ask_agent", json!({"conversation_id": "c", "prompt": "go"}))
            .await
            .unwrap();
        assert!(error_text(&result).contains("turn limit"), "{version:?}");
        let history = client
            .call_tool("get_conversation", json!({"conversation_id": "c"}))
            .await
            .unwrap();
        assert_eq!(
            ok(&history)["messages"].as_array().unwrap().len(),
            6,
            "{version:?}"
        );
    }
}

#[tokio::test]
async fn ask_agent_needs_sampling_and_a_sane_id() {
    let fx = Fixture::new();
    let client = TestClient::connect(
        server(&fx, AgentConfig::default()).await,
        ProtocolVersion::V2025_11_25,
    )
    .await
    .unwrap();
    let result = client
        .call_tool("ask_agent", json!({"conversation_id": "c", "prompt": "go"}))
        .await
        .unwrap();
    assert!(error_text(&result).contains("sampling"), "{result:?}");
    let result = client
        .call_tool(
            "ask_agent",
            json!({"conversation_id": "../c", "prompt": "go"}),
        )
        .await
        .unwrap();
    assert!(error_text(&result).contains("invalid conversation_id"));
    // Nothing was stored for the failed call.
    let history = client
        .call_tool("get_conversation", json!({"conversation_id": "c"}))
        .await
        .unwrap();
    assert_eq!(ok(&history)["messages"], json!([]));
}
