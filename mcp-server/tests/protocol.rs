//! The runtime over the in-memory line transport: lifecycle on every
//! revision, protocol errors, cancellation, panics, progress and runtime
//! tool registration.

use std::time::Duration;

use mcp_server::core::jsonrpc::error_code;
use mcp_server::core::tool::{CallToolResult, Tool};
use mcp_server::prelude::*;
use mcp_server::schema::input_schema_for;
use mcp_server::testing::TestClient;
use serde_json::{Value, json};

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// First addend.
    a: i64,
    /// Second addend.
    b: i64,
}

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

fn tool(name: &str, schema: serde_json::Map<String, Value>) -> Tool {
    Tool {
        name: name.into(),
        title: None,
        description: Some(format!("The {name} tool.")),
        input_schema: schema,
        output_schema: None,
        annotations: None,
        icons: None,
        meta: None,
    }
}

fn add() -> ToolDef {
    ToolDef::new(
        tool("add", input_schema_for::<AddArgs>()),
        |call: ToolCall| async move {
            match call.arguments::<AddArgs>() {
                Ok(args) => (args.a + args.b).into_tool_result(),
                Err(invalid) => invalid,
            }
        },
    )
}

fn server() -> Server {
    let panics = ToolDef::new(
        tool("explode", input_schema_for::<NoArgs>()),
        |_call| async {
            panic!("boom");
            #[allow(unreachable_code)]
            CallToolResult::default()
        },
    );
    let sleeps = ToolDef::new(tool("sleep", input_schema_for::<NoArgs>()), |_call| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "woke".into_tool_result()
    });
    let progress = ToolDef::new(
        tool("progress", input_schema_for::<NoArgs>()),
        |call: ToolCall| async move {
            let ctx = call.context();
            for i in 1..=3 {
                ctx.progress(f64::from(i), Some(3.0), Some(&format!("step {i} of 3")))
                    .await;
            }
            // Not increasing: dropped.
            ctx.progress(2.0, Some(3.0), None).await;
            ctx.log(LoggingLevel::Info, None, "done").await;
            "done".into_tool_result()
        },
    );
    Server::builder()
        .name("test")
        .version("1.0.0")
        .tool(add())
        .tool(panics)
        .tool(sleeps)
        .tool(progress)
        .build()
}

fn text(result: &CallToolResult) -> &str {
    result.content[0].as_text().unwrap_or_default()
}

#[tokio::test]
async fn every_revision_lists_and_calls_tools() {
    for version in ProtocolVersion::ALL {
        let client = TestClient::connect(server(), version).await.unwrap();
        if let Some(init) = client.initialize_result() {
            assert_eq!(init["protocolVersion"], version.as_str());
            assert_eq!(init["serverInfo"]["name"], "test");
            assert_eq!(init["capabilities"]["tools"]["listChanged"], true);
        }
        let tools = client.list_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["add", "explode", "sleep", "progress"], "{version}");
        let result = client
            .call_tool("add", json!({"a": 2, "b": 3}))
            .await
            .unwrap();
        assert_eq!(text(&result), "5", "{version}");
        assert!(!result.is_error());
    }
}

#[tokio::test]
async fn stateless_results_carry_result_type_and_server_info() {
    let client = TestClient::connect(server(), ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let discover = client.request("server/discover", json!({})).await.unwrap();
    assert_eq!(discover["resultType"], "complete");
    assert_eq!(discover["supportedVersions"][0], "2026-07-28");
    assert!(discover["ttlMs"].is_u64());
    assert_eq!(
        discover["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "test"
    );
    let list = client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(list["resultType"], "complete");
    assert_eq!(list["cacheScope"], "public");
    let call = client
        .request(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 1}}),
        )
        .await
        .unwrap();
    assert_eq!(call["resultType"], "complete");
}

#[tokio::test]
async fn stateless_requests_need_capabilities_and_a_known_version() {
    let client = TestClient::connect_raw(server(), ProtocolVersion::V2025_11_25);
    let err = client
        .request(
            "tools/list",
            json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, error_code::INVALID_PARAMS);
    assert!(
        err.message.contains("clientCapabilities"),
        "{}",
        err.message
    );

    let err = client
        .request(
            "tools/list",
            json!({"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2099-01-01",
                "io.modelcontextprotocol/clientCapabilities": {}
            }}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, error_code::UNSUPPORTED_PROTOCOL_VERSION);
    let data = err.data.unwrap();
    assert_eq!(data["requested"], "2099-01-01");
    assert!(
        data["supported"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );
}

#[tokio::test]
async fn removed_methods_are_not_found_on_stateless() {
    let client = TestClient::connect(server(), ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    for method in ["initialize", "ping", "logging/setLevel"] {
        let err = client.request(method, json!({})).await.unwrap_err();
        assert_eq!(err.code, error_code::METHOD_NOT_FOUND, "{method}");
    }
}

#[tokio::test]
async fn negotiation_counter_offers_the_latest_stateful_revision() {
    let client = TestClient::connect_raw(server(), ProtocolVersion::V2025_11_25);
    let result = client
        .request(
            "initialize",
            json!({"protocolVersion": "1999-01-01", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}),
        )
        .await
        .unwrap();
    assert_eq!(result["protocolVersion"], "2025-11-25");
}

#[tokio::test]
async fn garbage_gets_errors_and_the_server_keeps_serving() {
    let client = TestClient::connect(server(), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();

    client.send_line("this is not json").await;
    let err = client.next_unmatched().await.unwrap();
    assert_eq!(err["error"]["code"], error_code::PARSE_ERROR);
    assert_eq!(err["id"], Value::Null);

    client
        .send_line(r#"{"jsonrpc":"2.0","id":7,"method":"tools/li"#)
        .await;
    let err = client.next_unmatched().await.unwrap();
    assert_eq!(err["error"]["code"], error_code::PARSE_ERROR);

    client.send_line(r#"{"jsonrpc":"2.0","id":8}"#).await;
    let err = client.next_unmatched().await.unwrap();
    assert_eq!(err["error"]["code"], error_code::INVALID_REQUEST);
    assert_eq!(err["id"], 8);

    client.send_line("42").await;
    let err = client.next_unmatched().await.unwrap();
    assert_eq!(err["error"]["code"], error_code::INVALID_REQUEST);

    let err = client
        .request("tools/unknown", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code, error_code::METHOD_NOT_FOUND);
    assert!(err.message.contains("tools/unknown"));

    let err = client
        .request("tools/call", json!({"arguments": {}}))
        .await
        .unwrap_err();
    assert_eq!(err.code, error_code::INVALID_PARAMS);
    assert!(err.message.contains("name"), "{}", err.message);

    let err = client
        .request("tools/call", json!({"name": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, error_code::INVALID_PARAMS);
    assert!(err.message.contains("nope"));

    let result = client
        .call_tool("add", json!({"a": 1, "b": "two"}))
        .await
        .unwrap();
    assert!(result.is_error());
    assert!(text(&result).contains("`b`"), "{}", text(&result));

    // Still serving.
    let result = client
        .call_tool("add", json!({"a": 40, "b": 2}))
        .await
        .unwrap();
    assert_eq!(text(&result), "42");
}

#[tokio::test]
async fn requests_before_initialize_are_refused_but_ping_works() {
    let client = TestClient::connect_raw(server(), ProtocolVersion::V2025_11_25);
    let err = client.request("tools/list", json!({})).await.unwrap_err();
    assert_eq!(err.code, error_code::INVALID_PARAMS);
    assert!(err.message.contains("initialize"), "{}", err.message);
    assert_eq!(
        client.request("ping", Value::Null).await.unwrap(),
        json!({})
    );
    let init = client
        .request(
            "initialize",
            json!({"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}),
        )
        .await
        .unwrap();
    assert_eq!(init["protocolVersion"], "2025-03-26");
    assert!(client.request("tools/list", json!({})).await.is_ok());
    let again = client
        .request(
            "initialize",
            json!({"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(again.code, error_code::INVALID_REQUEST);
}

#[tokio::test]
async fn a_panicking_tool_is_an_error_result() {
    let client = TestClient::connect(server(), ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    let result = client.call_tool("explode", json!({})).await.unwrap();
    assert!(result.is_error());
    assert!(text(&result).contains("panicked"));
    let result = client
        .call_tool("add", json!({"a": 1, "b": 2}))
        .await
        .unwrap();
    assert_eq!(text(&result), "3");
}

/// Starts a call of the 30-second `sleep` tool with id "slow", without waiting.
async fn start_slow_call(client: &TestClient) {
    client
        .send_line(
            r#"{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"sleep"}}"#,
        )
        .await;
}

#[tokio::test]
async fn cancellation_drops_the_handler_and_suppresses_the_response() {
    let client = TestClient::connect(server(), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();
    start_slow_call(&client).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    client
        .notify(
            "notifications/cancelled",
            json!({"requestId": "slow", "reason": "test"}),
        )
        .await;
    // The next answer is the ping's, not the cancelled call's.
    assert_eq!(
        client.request("ping", Value::Null).await.unwrap(),
        json!({})
    );
    let stray = tokio::time::timeout(Duration::from_millis(200), client.next_unmatched()).await;
    assert!(
        stray.is_err() || stray.unwrap().is_none(),
        "cancelled request answered"
    );
}

#[tokio::test]
async fn requests_run_concurrently() {
    let client = TestClient::connect(server(), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();
    start_slow_call(&client).await;
    let quick = tokio::time::timeout(
        Duration::from_secs(2),
        client.call_tool("add", json!({"a": 1, "b": 1})),
    )
    .await
    .expect("a slow tool blocked the connection")
    .unwrap();
    assert_eq!(text(&quick), "2");
}

#[tokio::test]
async fn progress_and_logs_follow_the_revision() {
    let client = TestClient::connect(server(), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();
    let result = client
        .call_tool_with_progress("progress", json!({}), "p1")
        .await
        .unwrap();
    assert_eq!(text(&result), "done");
    let notes = client.drain_notifications().await;
    let progress: Vec<&Value> = notes
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3, "{notes:?}");
    assert_eq!(progress[0]["params"]["progressToken"], "p1");
    assert_eq!(progress[2]["params"]["message"], "step 3 of 3");
    assert!(notes.iter().any(|n| n["method"] == "notifications/message"));

    // 2024-11-05 has no progress message.
    let old = TestClient::connect(server(), ProtocolVersion::V2024_11_05)
        .await
        .unwrap();
    old.call_tool_with_progress("progress", json!({}), "p2")
        .await
        .unwrap();
    let notes = old.drain_notifications().await;
    let first = notes
        .iter()
        .find(|n| n["method"] == "notifications/progress")
        .unwrap();
    assert!(first["params"].get("message").is_none());

    // 2026-07-28 without a log level gets no log messages.
    let modern = TestClient::connect(server(), ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    modern
        .call_tool_with_progress("progress", json!({}), "p3")
        .await
        .unwrap();
    let notes = modern.drain_notifications().await;
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["method"] == "notifications/progress")
            .count(),
        3
    );
    assert!(!notes.iter().any(|n| n["method"] == "notifications/message"));
}

#[tokio::test]
async fn set_level_filters_log_messages() {
    let client = TestClient::connect(server(), ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    client
        .request("logging/setLevel", json!({"level": "error"}))
        .await
        .unwrap();
    client.call_tool("progress", json!({})).await.unwrap();
    let notes = client.drain_notifications().await;
    assert!(
        !notes.iter().any(|n| n["method"] == "notifications/message"),
        "{notes:?}"
    );
    let err = client
        .request("logging/setLevel", json!({"level": "loud"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, error_code::INVALID_PARAMS);
}

#[tokio::test]
async fn tools_added_at_runtime_emit_list_changed() {
    let server = Server::builder().name("dyn").version("1").build();
    let client = TestClient::connect(server.clone(), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();
    assert!(client.list_tools().await.unwrap().is_empty());
    server.add_tool(add());
    let note = client.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/tools/list_changed");
    assert_eq!(client.list_tools().await.unwrap().len(), 1);
    assert!(server.remove_tool("add"));
    let note = client.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/tools/list_changed");
    assert!(client.list_tools().await.unwrap().is_empty());
}

#[tokio::test]
async fn batches_are_answered_on_2025_03_26_only() {
    let client = TestClient::connect(server(), ProtocolVersion::V2025_03_26)
        .await
        .unwrap();
    client
        .send_line(r#"[{"jsonrpc":"2.0","id":"a","method":"ping"},{"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}]"#)
        .await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let answer = client.next_unmatched().await.unwrap();
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    assert_eq!(ids, ["a", "b"]);

    let newer = TestClient::connect(server(), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();
    newer
        .send_line(r#"[{"jsonrpc":"2.0","id":"a","method":"ping"}]"#)
        .await;
    let err = newer.next_unmatched().await.unwrap();
    assert_eq!(err["error"]["code"], error_code::INVALID_REQUEST);
}

#[tokio::test]
async fn a_batch_takes_the_connections_slots_and_no_id_in_progress() {
    // A tool that says it started, and returns once the test lets it.
    let started = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let (starts, held) = (started.clone(), gate.clone());
    let wait = ToolDef::new(
        tool("wait", input_schema_for::<NoArgs>()),
        move |_call: ToolCall| {
            let (starts, held) = (starts.clone(), held.clone());
            async move {
                starts.add_permits(1);
                held.acquire().await.unwrap().forget();
                "released".into_tool_result()
            }
        },
    );
    let server = Server::builder()
        .tool(wait)
        .max_in_flight_per_session(2)
        .build();
    let client = TestClient::connect(server, ProtocolVersion::V2025_03_26)
        .await
        .unwrap();
    let call = |id: &str| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "wait"}});
    client.send_line(&call("held").to_string()).await;
    started.acquire().await.unwrap().forget();
    // One slot left: "held" is in progress, "x1" takes the slot, "x2" finds
    // none, and "x1" again is in progress.
    let batch = json!([
        {"jsonrpc": "2.0", "id": "held", "method": "ping"},
        call("x1"),
        call("x2"),
        {"jsonrpc": "2.0", "id": "x1", "method": "ping"},
    ]);
    client.send_line(&batch.to_string()).await;
    started.acquire().await.unwrap().forget();
    gate.add_permits(2);
    let mut answers = std::collections::BTreeMap::new();
    for _ in 0..5 {
        let answer = client.next_unmatched().await.unwrap();
        let id = answer["id"].as_str().unwrap().to_owned();
        let said = if answer["error"].is_object() {
            json!(answer["error"]["code"])
        } else {
            answer["result"]["content"][0]["text"].clone()
        };
        answers.entry(id).or_insert_with(Vec::new).push(said);
    }
    let expected = [
        (
            "held",
            vec![json!("released"), json!(error_code::INVALID_REQUEST)],
        ),
        (
            "x1",
            vec![json!("released"), json!(error_code::INVALID_REQUEST)],
        ),
        ("x2", vec![json!(error_code::RATE_LIMITED)]),
    ];
    for (id, mut said) in expected {
        let mut got = answers.remove(id).unwrap();
        got.sort_by_key(Value::to_string);
        said.sort_by_key(Value::to_string);
        assert_eq!(got, said, "{id}");
    }
    // The slots are given back: a batch filling both runs.
    client
        .send_line(&json!([call("y1"), call("y2")]).to_string())
        .await;
    gate.add_permits(2);
    for _ in 0..2 {
        let answer = client.next_unmatched().await.unwrap();
        assert_eq!(
            answer["result"]["content"][0]["text"], "released",
            "{answer}"
        );
    }
}

#[tokio::test]
async fn clean_exit_on_eof() {
    let client = TestClient::connect(server(), ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_pipelined_behind_initialize_find_the_session_ready() {
    let initialize = json!({
        "jsonrpc": "2.0", "id": "init", "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}},
    });
    let list = json!({"jsonrpc": "2.0", "id": "list", "method": "tools/list"});
    // Many tries: with the handshake handled concurrently, the second
    // request overtakes it now and then.
    for _ in 0..200 {
        let client = TestClient::connect_raw(server(), ProtocolVersion::V2025_11_25);
        // Written back to back, without waiting for the first answer.
        client.send_line(&initialize.to_string()).await;
        client.send_line(&list.to_string()).await;
        let mut answers = [
            client.next_unmatched().await.unwrap(),
            client.next_unmatched().await.unwrap(),
        ];
        answers.sort_by_key(|a| a["id"].as_str().map(str::to_owned));
        let [init, list_answer] = answers;
        assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
        assert!(list_answer["result"]["tools"].is_array(), "{list_answer}");
    }
}
